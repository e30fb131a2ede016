/*
 * UIDL state: journal replay after a torn write or a crash between journal
 * and rename, atomic save, pruning, the lock, corrupt files, key separation,
 * durable creation.  Then whole fetch runs (fetch_account() against a
 * scripted POP3 server on a loopback port, the same port every run, so
 * runs share the account's state) for what only shows over two runs:
 * reused and reset UIDLs, changed sizes, failed renames.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "fetch.h"
#include "maildir.h"
#include "net.h"
#include "status.h"
#include "uidl.h"
#include "faultfs.h"
#include "tap.h"

static char root[] = "/tmp/test-uidl.XXXXXX";
static char statedir[512], mdpath[512];

static int
count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), s = strlen(suffix);

		if (e->d_name[0] != '.' && l >= s && strcmp(e->d_name + l - s, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* The one file in dir ending in suffix, as a full path. */
static const char *
find_file(const char *dir, const char *suffix)
{
	static char path[1024];
	DIR *d = opendir(dir);
	struct dirent *e;

	path[0] = '\0';
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), s = strlen(suffix);

		if (l >= s && strcmp(e->d_name + l - s, suffix) == 0)
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
	}
	if (d != NULL)
		closedir(d);
	return path;
}

static void
append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (write(fd, text, strlen(text)) < 0)
		perror("write");
	close(fd);
}

/* Writes a message into tmp/ and returns it synced, not yet renamed. */
static struct maildir_msg *
staged(struct maildir *md, const char *body)
{
	struct maildir_msg *m = NULL;

	if (maildir_msg_begin(md, &m) < 0 || maildir_msg_write(m, body, strlen(body)) < 0 ||
	    maildir_msg_end(m) < 0 || maildir_sync_batch(md, &m, 1) < 0)
		return NULL;
	return m;
}

/* The state of account name (user alice, pop.example:995), for writing. */
static struct uidl_state *
open_state(const char *name)
{
	struct uidl_key key = { .account = name, .user = "alice", .host = "pop.example",
		.port = 995 };
	struct uidl_state *s = NULL;

	fail_clear();
	if (uidl_open(statedir, &key, true, &s) < 0)
		return NULL;
	return s;
}

static struct uidl_known *
lookup(struct uidl_state *s, const char *uidl)
{
	return uidlset_lookup(uidl_entries(s), uidl);
}

static size_t
count(struct uidl_state *s)
{
	return uidlset_count(uidl_entries(s));
}

static void
test_valid(void)
{
	char u70[71], u71[72];

	memset(u70, 'a', 70);
	u70[70] = '\0';
	memset(u71, 'a', 71);
	u71[71] = '\0';
	ok(uidl_valid("abc", 3), "plain UIDL valid");
	ok(uidl_valid("../../x", 7), "../../x is a valid UIDL (never a file name)");
	ok(uidl_valid("/", 1), "/ valid");
	ok(uidl_valid(u70, 70), "70 characters valid");
	ok(!uidl_valid(u71, 71), "71 characters invalid");
	ok(!uidl_valid("", 0), "empty invalid");
	ok(!uidl_valid("a b", 3), "space invalid");
	ok(!uidl_valid("a\x7f", 2), "DEL invalid");
	ok(!uidl_valid("\xc3\xa9", 2), "8-bit invalid");
}

/* Journal, then crash before the rename (entry dropped, tmp removed) or
 * after it (entry kept); then a torn last line. */
static void
test_replay(void)
{
	struct maildir *md;
	struct uidl_state *s;
	struct maildir_msg *a, *b;
	struct uidl_entry e[2];
	const char *journal;
	char line[600];

	ok(maildir_open(mdpath, true, &md) == 0, "Maildir");
	ok((s = open_state("pop.example")) != NULL, "open a fresh state");
	ok(count(s) == 0, "empty");
	a = staged(md, "message A\n");
	b = staged(md, "message B\n");
	e[0] = (struct uidl_entry){ .uidl = "UA", .file = (char *)maildir_msg_name(a),
		.size = 11, .fetched = 1000 };
	e[1] = (struct uidl_entry){ .uidl = "UB", .file = (char *)maildir_msg_name(b),
		.size = 11, .fetched = 1000 };
	ok(uidl_journal(s, e, 2) == 0, "journal two entries");
	ok(maildir_commit_batch(md, &a, 1) == 0, "only A is renamed");
	/* "SIGKILL": B stays in tmp/, nothing saved. */
	maildir_msg_free(a);	/* committed: only frees */
	uidl_close(s);
	journal = find_file(statedir, ".journal");
	ok(journal[0] != '\0', "journal file exists");
	snprintf(line, sizeof line, "R UC 5 1000 - %s", "1.M1P1Q1R1.torn");
	append(journal, line);	/* torn: no newline */
	ok((s = open_state("pop.example")) != NULL, "reopen after the crash");
	ok(uidl_replay(s, md) == 0, "replay");
	ok(lookup(s, "UA") != NULL, "A (renamed) counts as retrieved");
	ok(lookup(s, "UB") == NULL, "B (never renamed) is dropped");
	ok(lookup(s, "UC") == NULL, "the torn line is ignored");
	{
		char tmpdir[600];

		snprintf(tmpdir, sizeof tmpdir, "%s/tmp", mdpath);
		ok(count_suffix(tmpdir, "") == 0, "B's tmp file was removed");
	}
	{
		struct stat st;

		ok(stat(journal, &st) == 0 && st.st_size == 0, "journal emptied after replay");
	}
	uidl_close(s);
	maildir_msg_free(b);
	maildir_close(md);
}

/* Records of the targets other than a Maildir (deliver.c: =mda, =lmtp,
 * =mbox) count at replay without a Maildir; any other "=" name does not. */
static void
test_replay_targets(void)
{
	static const char *const files[] = { "=mda", "=lmtp", "=mbox", "=other" };
	struct uidl_entry e[4];
	struct uidl_state *s;
	char uidl[4][8];

	ok((s = open_state("targets.example")) != NULL, "open a state for the targets");
	for (size_t i = 0; i < 4; i++) {
		snprintf(uidl[i], sizeof uidl[i], "T%zu", i);
		e[i] = (struct uidl_entry){ .uidl = uidl[i], .file = (char *)files[i], .size = 5,
			.fetched = 1000 };
	}
	ok(uidl_journal(s, e, 4) == 0, "journal one entry per target");
	uidl_close(s);		/* "SIGKILL": nothing saved */
	ok((s = open_state("targets.example")) != NULL && uidl_replay(s, NULL) == 0,
	    "reopen and replay without a Maildir");
	ok(s != NULL && lookup(s, "T0") != NULL && lookup(s, "T1") != NULL &&
	    lookup(s, "T2") != NULL, "=mda, =lmtp and =mbox count as delivered");
	ok(s != NULL && lookup(s, "T3") == NULL, "=other does not");
	uidl_close(s);
}

static void
test_save_prune_lock(void)
{
	struct uidl_state *s, *s2;
	struct uidl_entry e = { .uidl = "UZ", .file = "2.M2P2Q2R2.h", .size = 1,
		.fetched = 2 };
	int rc;

	ok((s = open_state("pop.example")) != NULL, "open");
	s2 = open_state("pop.example");
	ok(s2 == NULL && fail_class() == FAIL_TEMPORARY, "second open: lock held, "
	    "FAIL_TEMPORARY (%s)", fail_reason());
	ok(uidl_journal(s, &e, 1) == 0, "journal UZ");
	ok(lookup(s, "UZ") != NULL, "UZ known right after journaling");
	/* UA not seen by the server in this session: pruned. */
	ok(uidl_save(s, true) == 0, "save with prune");
	uidl_close(s);
	ok((s = open_state("pop.example")) != NULL, "reopen");
	ok(count(s) == 1 && lookup(s, "UZ") != NULL && lookup(s, "UA") == NULL,
	    "UA pruned, UZ kept");
	uidlset_forget(uidl_entries(s), "UZ");
	ok(lookup(s, "UZ") == NULL, "forget");
	uidl_close(s);

	ok((s = open_state("other.example")) != NULL, "another account: a separate state");
	ok(count(s) == 0, "which does not see the first account's UIDLs");
	uidl_close(s);
	ok(count_suffix(statedir, ".lock") == 2, "one lock file per account key");
	rc = count_suffix(statedir, ".tmp");
	ok(rc == 0, "no temp file left by the atomic rewrite");
}

static void
test_corrupt(void)
{
	struct uidl_state *s;
	const char *path;

	ok((s = open_state("corrupt.example")) != NULL, "open");
	ok(uidl_save(s, false) == 0, "save an empty state");
	path = uidl_state_path(s);
	append(path, "garbage line\n");
	uidl_close(s);
	s = open_state("corrupt.example");
	ok(s == NULL && fail_class() == FAIL_IO, "data after the end line is an error: %s",
	    fail_reason());
	ok(strstr(fail_reason(), "corrupt") != NULL, "and says corrupt");

	ok((s = open_state("trunc.example")) != NULL, "open");
	{
		struct uidl_entry e = { .uidl = "U1", .file = "3.M3P3Q3R3.h" };

		ok(uidl_journal(s, &e, 1) == 0 && uidl_save(s, false) == 0, "save one entry");
	}
	{
		char p[1024];
		FILE *fp;

		snprintf(p, sizeof p, "%s", uidl_state_path(s));
		uidl_close(s);
		fp = fopen(p, "w");
		fputs("mailpipe-fetch state 2\naccount trunc.example\nuser alice\n"
		    "U1 0 0 - - 3.M3P3Q3R3.h\n", fp);
		fclose(fp);
	}
	s = open_state("trunc.example");
	ok(s == NULL && fail_class() == FAIL_IO, "a state without its end line is an error, "
	    "not an empty state");

	ok((s = open_state("badjournal.example")) != NULL, "open");
	{
		char p[1024];

		snprintf(p, sizeof p, "%s", uidl_state_path(s));
		strcpy(p + strlen(p) - strlen("state"), "journal");
		uidl_close(s);
		append(p, "R U1 0 0 - ../../etc/passwd\n");
	}
	s = open_state("badjournal.example");
	ok(s == NULL && fail_class() == FAIL_IO, "a journal entry naming a path is refused");
}

/* 2.4: the state directory is made durably, and so is the journal. */
static void
test_durable_creation(void)
{
	char parent[600], dir[700];
	struct uidl_state *s = NULL;
	struct uidl_entry e = { .uidl = "D1", .file = "5.M5P5Q5R5.h", .size = 1 };
	int before;

	snprintf(parent, sizeof parent, "%s/durable", root);
	snprintf(dir, sizeof dir, "%s/state", parent);
	faultfs_forget_syncs();
	fail_clear();
	ok(uidl_open(dir, &(struct uidl_key){ .account = "work", .user = "alice" }, true,
	    &s) == 0,
	    "open a state directory that does not exist yet");
	ok(faultfs_times_synced(root) >= 1 && faultfs_times_synced(parent) >= 1,
	    "the parent of each directory made was fsynced");
	before = faultfs_times_synced(dir);
	ok(uidl_journal(s, &e, 1) == 0, "the first journal entry creates the journal");
	ok(faultfs_times_synced(dir) > before, "and the state directory is fsynced after it");
	uidl_close(s);
}

/* 2.4: a journal that cannot be opened is a failure, never a 0 with a
 * failure recorded. */
static void
test_journal_unopenable(void)
{
	struct uidl_state *s;
	char journal[1100];
	int rc;

	ok((s = open_state("nojournal.example")) != NULL, "open");
	snprintf(journal, sizeof journal, "%s", uidl_state_path(s));
	strcpy(journal + strlen(journal) - strlen("state"), "journal");
	uidl_close(s);
	mkdir(journal, 0700);	/* a directory where the journal goes */
	fail_clear();
	s = open_state("nojournal.example");
	rc = s == NULL ? -1 : uidl_save(s, false);
	ok(rc < 0 && fail_class() == FAIL_IO, "a journal that cannot be opened is an error "
	    "(%s)", fail_reason());
	uidl_close(s);
	rmdir(journal);
}

/* 2.1: a torn journal tail is cut at open, so the next append starts on a
 * line of its own. */
static void
test_torn_then_append(void)
{
	struct uidl_state *s;
	struct maildir *md;
	struct maildir_msg *a, *b;
	struct uidl_entry e;
	char journal[1100];

	ok(maildir_open(mdpath, true, &md) == 0, "Maildir");
	ok((s = open_state("torn.example")) != NULL, "open");
	a = staged(md, "message A\n");
	e = (struct uidl_entry){ .uidl = "TA", .file = (char *)maildir_msg_name(a), .size = 10 };
	ok(uidl_journal(s, &e, 1) == 0 && maildir_commit_batch(md, &a, 1) == 0,
	    "A journaled and committed");
	snprintf(journal, sizeof journal, "%s", uidl_state_path(s));
	strcpy(journal + strlen(journal) - strlen("state"), "journal");
	uidl_close(s);		/* "SIGKILL" */
	append(journal, "T");	/* a write cut after one byte */
	ok((s = open_state("torn.example")) != NULL, "reopen after the torn write");
	b = staged(md, "message B\n");
	e = (struct uidl_entry){ .uidl = "B", .file = (char *)maildir_msg_name(b), .size = 10 };
	ok(uidl_journal(s, &e, 1) == 0 && maildir_commit_batch(md, &b, 1) == 0,
	    "B journaled (after the torn bytes) and committed");
	uidl_close(s);		/* "SIGKILL" again, before any save */
	s = open_state("torn.example");
	ok(s != NULL, "the journal still reads: %s", s ? "ok" : fail_reason());
	ok(s && uidl_replay(s, md) == 0, "replay");
	ok(s && lookup(s, "TA") && lookup(s, "B") && !lookup(s, "TB"),
	    "A and B retrieved; no entry glued from the torn bytes");
	uidl_close(s);
	maildir_msg_free(a);
	maildir_msg_free(b);
	maildir_close(md);
}

/* 2.2: UIDLs that look like the trailer. */
static void
test_trailer_lookalikes(void)
{
	struct uidl_state *s;
	struct uidl_entry e[3] = {
		{ .uidl = "end", .file = "6.M6P6Q6R6.h", .size = 5 },
		{ .uidl = "end5", .file = "7.M7P7Q7R7.h", .size = 20 },
		{ .uidl = "end0", .file = "8.M8P8Q8R8.h", .size = 0 },
	};

	ok((s = open_state("trailer.example")) != NULL, "open");
	ok(uidl_journal(s, e, 3) == 0 && uidl_save(s, false) == 0,
	    "save entries with UIDLs end, end5 and end0");
	uidl_close(s);
	s = open_state("trailer.example");
	ok(s != NULL, "the state reads back (%s)", s ? "ok" : fail_reason());
	ok(s && count(s) == 3 && lookup(s, "end") && lookup(s, "end5") &&
	    lookup(s, "end0"), "with all three entries");
	uidl_close(s);
}

/* 2.3: the reset heuristic on its own. */
static void
test_reset_heuristic(void)
{
	struct uidl_state *s;
	struct uidl_entry e[3] = {
		{ .uidl = "R1", .file = "9.M9P9Q1R9.h", .size = 100 },
		{ .uidl = "R2", .file = "9.M9P9Q2R9.h", .size = 100 },
		{ .uidl = "R3", .file = "9.M9P9Q3R9.h", .size = 300 },
	};
	unsigned long long same[] = { 300, 100, 100, 7 }, once[] = { 100, 300, 8 },
	    other[] = { 1, 2, 3 };

	ok((s = open_state("reset.example")) != NULL && uidl_journal(s, e, 3) == 0 &&
	    uidl_save(s, false) == 0, "a state of three");
	uidl_close(s);
	s = open_state("reset.example");
	ok(s && uidlset_reset_suspected(uidl_entries(s), same, 4), "same sizes, no UIDL known: a reset");
	ok(s && !uidlset_reset_suspected(uidl_entries(s), once, 3), "a size matches one entry only: 2 of 3");
	ok(s && !uidlset_reset_suspected(uidl_entries(s), other, 3), "other sizes: new mail");
	ok(s && !uidlset_reset_suspected(uidl_entries(s), same, 0), "an empty listing is no reset");
	ok(s && lookup(s, "R1") && !uidlset_reset_suspected(uidl_entries(s), same, 4),
	    "one UIDL known: no reset");
	uidl_close(s);
}

/* ---- identity, version 1, trust, read-only ---- */

static struct uidl_state *
open_key(const char *dir, const char *account, const char *user, const char *maildir,
	const char *host, unsigned port, bool write)
{
	struct uidl_key key = { .account = account, .user = user, .maildir = maildir,
		.host = host, .port = port };
	struct uidl_state *s = NULL;

	fail_clear();
	return uidl_open(dir, &key, write, &s) == 0 ? s : NULL;
}

/* The state follows account and user, not host or port; another Maildir
 * (--maildir) has its own state but shares the account's lock. */
static void
test_identity(void)
{
	struct uidl_entry e = { .uidl = "I1", .file = "11.M1P1Q1R1.h", .size = 3 };
	struct uidl_state *s, *s2;
	const char *host;
	unsigned port;

	s = open_key(statedir, "ident", "alice", NULL, "pop.example", 110, true);
	ok(s && uidl_journal(s, &e, 1) == 0 && uidl_save(s, false) == 0, "a state on port 110");
	uidl_close(s);
	s = open_key(statedir, "ident", "alice", NULL, "pop2.example", 995, true);
	ok(s && lookup(s, "I1") != NULL, "the same state on another host and port");
	uidl_last_server(s, &host, &port);
	ok(host && strcmp(host, "pop.example") == 0 && port == 110,
	    "which says where the last run fetched from");
	s2 = open_key(statedir, "ident", "alice", "/srv/other", "pop.example", 110, true);
	ok(s2 == NULL && fail_class() == FAIL_TEMPORARY,
	    "a --maildir run of the same account waits for the same lock");
	uidl_close(s);
	s = open_key(statedir, "ident", "alice", "/srv/other", "pop.example", 110, true);
	ok(s && count(s) == 0, "another Maildir: a state of its own");
	uidl_close(s);
	s = open_key(statedir, "ident", "bob", NULL, "pop.example", 110, true);
	ok(s && count(s) == 0, "another user: a state of its own");
	uidl_close(s);
}

/* The name version 1 gave user@host:port of an account. */
static void
legacy_base(const char *account, const char *key, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL);
	snprintf(out, size, "%s.%02x%02x%02x%02x%02x%02x%02x%02x", account, md[0], md[1],
	    md[2], md[3], md[4], md[5], md[6], md[7]);
}

/* A version 1 state (and journal) made on port 110 is taken over by a run
 * on port 995, then removed. */
static void
test_legacy(void)
{
	char dir[600], base[200], path[900], line[200];
	struct uidl_state *s;
	struct maildir *md;
	struct maildir_msg *m = NULL;

	snprintf(dir, sizeof dir, "%s/legacy-state", root);
	mkdir(dir, 0700);
	legacy_base("legacy", "alice@pop.example:110", base, sizeof base);
	ok(maildir_open(mdpath, true, &md) == 0 && (m = staged(md, "L2\n")) != NULL &&
	    maildir_commit_batch(md, &m, 1) == 0, "a message committed by the old version");
	snprintf(path, sizeof path, "%s/%s.state", dir, base);
	append(path, "mailpipe-fetch state 1\nL1 5 100 1.M1P1Q1R1.h\nend 1\n");
	snprintf(path, sizeof path, "%s/%s.journal", dir, base);
	snprintf(line, sizeof line, "L2 3 101 %s\n", maildir_msg_name(m));
	append(path, line);
	append(path, "L3 7 102 1.M9P9Q9R9.missing\n");
	s = open_key(dir, "legacy", "alice", NULL, "pop.example", 995, true);
	ok(s && uidl_replay(s, md) == 0, "opened on port 995 (%s)", s ? "ok" : fail_reason());
	ok(s && lookup(s, "L1") && lookup(s, "L2") && !lookup(s, "L3"),
	    "the old state and journal are taken over, the journal resolved");
	ok(count_suffix(dir, ".state") == 1 && strstr(find_file(dir, ".state"), base) == NULL,
	    "one state file left: the new one");
	ok(count_suffix(dir, ".journal") == 0 || strstr(find_file(dir, ".journal"), base) ==
	    NULL, "the old journal is gone");
	uidl_close(s);
	s = open_key(dir, "legacy", "alice", NULL, "pop.example", 995, true);
	ok(s && lookup(s, "L1") && lookup(s, "L2"), "and the new state holds it");
	uidl_close(s);
	/* Two version 1 states, for ports 110 and 995 (a TLS mode changed
	 * under version 1): both are taken over, their entries merged. */
	snprintf(dir, sizeof dir, "%s/legacy-two", root);
	mkdir(dir, 0700);
	legacy_base("two", "alice@pop.example:110", base, sizeof base);
	snprintf(path, sizeof path, "%s/%s.state", dir, base);
	append(path, "mailpipe-fetch state 1\nT1 5 100 1.M1P1Q1R1.h\nend 1\n");
	legacy_base("two", "alice@pop.example:995", base, sizeof base);
	snprintf(path, sizeof path, "%s/%s.state", dir, base);
	append(path, "mailpipe-fetch state 1\nT2 5 100 2.M1P1Q1R1.h\nT3 6 100 3.M1P1Q1R1.h\n"
	    "end 2\n");
	s = open_key(dir, "two", "alice", NULL, "pop.example", 995, true);
	ok(s && uidl_replay(s, md) == 0, "two version 1 states at once (%s)",
	    s ? "ok" : fail_reason());
	ok(s && lookup(s, "T1") && lookup(s, "T2") && lookup(s, "T3"),
	    "taken over together, no entry lost");
	ok(count_suffix(dir, ".state") == 1, "one state file left");
	uidl_close(s);
	maildir_msg_free(m);
	maildir_close(md);
}

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		perror(path);
	close(fd);
}

static bool
file_holds(const char *path, const char *text)
{
	char buf[256] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n >= 0 && strcmp(buf, text) == 0;
}

/* A state directory others may write is refused, whoever made it. */
static void
test_untrusted_dir(void)
{
	char dir[600];
	struct uidl_state *s;

	snprintf(dir, sizeof dir, "%s/shared-state", root);
	mkdir(dir, 0700);
	chmod(dir, 0777);
	s = open_key(dir, "work", "alice", NULL, "pop.example", 995, true);
	ok(s == NULL && fail_class() == FAIL_AUTH && strstr(fail_reason(), "writable by group or others"),
	    "a state directory others can write: 77 (%s)", fail_reason());
	uidl_close(s);
	chmod(dir, 0700);
	if (chown(dir, 4242, 4242) < 0)
		diag("chown: %s", strerror(errno));
	s = open_key(dir, "work", "alice", NULL, "pop.example", 995, true);
	ok(s == NULL && fail_class() == FAIL_AUTH && strstr(fail_reason(), "owned by uid 4242"),
	    "one that belongs to another user: 77 (%s)", fail_reason());
	uidl_close(s);
}

/* The base name (NAME.HASH) the state of account `account` takes, found by
 * opening it once in a scratch directory. */
static void
state_base_name(const char *account, char *name, size_t size)
{
	char scratch[600];
	struct uidl_state *s;

	snprintf(scratch, sizeof scratch, "%s/%s-scratch", root, account);
	s = open_key(scratch, account, "alice", NULL, "pop.example", 995, true);
	snprintf(name, size, "%s", strrchr(find_file(scratch, ".lock"), '/') + 1);
	name[strlen(name) - strlen(".lock")] = '\0';
	uidl_close(s);
}

/* Links planted where the lock, journal and state file go are never
 * followed: the run is refused and what they point to stays as it was. */
static void
test_planted_links(void)
{
	static const char *const suffixes[] = { ".lock", ".journal", ".state" };
	char dir[600], link[1000], target[700], name[300];
	struct uidl_state *s;

	state_base_name("links", name, sizeof name);
	for (size_t i = 0; i < 3; i++) {
		snprintf(dir, sizeof dir, "%s/links%zu", root, i);
		mkdir(dir, 0700);
		snprintf(target, sizeof target, "%s/precious%zu", root, i);
		write_file(target, "precious\n");
		snprintf(link, sizeof link, "%s/%s%s", dir, name, suffixes[i]);
		if (symlink(target, link) < 0)
			diag("symlink: %s", strerror(errno));
		s = open_key(dir, "links", "alice", NULL, "pop.example", 995, true);
		ok(s == NULL && fail_class() == FAIL_AUTH, "a link as %s: refused (%s)",
		    suffixes[i], fail_reason());
		ok(file_holds(target, "precious\n"), "and its target is untouched");
		uidl_close(s);
	}
	snprintf(dir, sizeof dir, "%s/links-tmp", root);
	mkdir(dir, 0700);
	snprintf(link, sizeof link, "%s/%s.state.tmp", dir, name);
	snprintf(target, sizeof target, "%s/precious-tmp", root);
	write_file(target, "precious\n");
	if (symlink(target, link) < 0)
		diag("symlink: %s", strerror(errno));
	s = open_key(dir, "links", "alice", NULL, "pop.example", 995, true);
	ok(s && uidl_save(s, false) == 0, "a link as the temp file is replaced by the save");
	ok(file_holds(target, "precious\n"), "its target untouched");
	uidl_close(s);
}

/* A FIFO (or any other non-regular file) planted as the lock, journal or
 * state file is refused at once: opening a FIFO to read it would wait for
 * a writer for ever. */
static void
test_planted_fifos(void)
{
	static const char *const suffixes[] = { ".lock", ".journal", ".state" };
	char dir[600], fifo[900], name[300];
	struct uidl_state *s;

	state_base_name("fifos", name, sizeof name);
	for (size_t i = 0; i < 3; i++) {
		snprintf(dir, sizeof dir, "%s/fifos%zu", root, i);
		mkdir(dir, 0700);
		snprintf(fifo, sizeof fifo, "%s/%s%s", dir, name, suffixes[i]);
		if (mkfifo(fifo, 0600) < 0)
			diag("mkfifo: %s", strerror(errno));
		alarm(20);	/* a blocked open is a failure, not a hung test */
		s = open_key(dir, "fifos", "alice", NULL, "pop.example", 995, true);
		alarm(0);
		ok(s == NULL && fail_class() == FAIL_AUTH &&
		    strstr(fail_reason(), "not a regular file") != NULL,
		    "a FIFO as %s: refused at once (%s)", suffixes[i], fail_reason());
		uidl_close(s);
	}
}

/* --list changes nothing: no directory made, no lock file, a torn journal
 * read as it is, not cut. */
static void
test_read_only(void)
{
	char dir[600], journal[900];
	struct uidl_state *s;
	struct stat st;
	off_t size;

	snprintf(dir, sizeof dir, "%s/ro-missing", root);
	s = open_key(dir, "ro", "alice", NULL, "pop.example", 995, false);
	ok(s && count(s) == 0 && stat(dir, &st) < 0, "a missing directory: an empty state, "
	    "nothing created");
	uidl_close(s);
	snprintf(dir, sizeof dir, "%s/ro", root);
	s = open_key(dir, "ro", "alice", NULL, "pop.example", 995, true);
	snprintf(journal, sizeof journal, "%s", uidl_state_path(s));
	strcpy(journal + strlen(journal) - strlen("state"), "journal");
	uidl_close(s);
	unlink(find_file(dir, ".lock"));
	append(journal, "R R1 5 1 - 1.M1P1Q1R1.h\nR R2 5");
	stat(journal, &st);
	size = st.st_size;
	s = open_key(dir, "ro", "alice", NULL, "pop.example", 995, false);
	ok(s != NULL, "opened read-only (%s)", s ? "ok" : fail_reason());
	ok(stat(journal, &st) == 0 && st.st_size == size, "the torn journal is not cut");
	ok(count_suffix(dir, ".lock") == 0, "no lock file is made");
	uidl_close(s);
}

/* ---- whole runs of fetch_account() against a scripted server ---- */

static int listen_fd, listen_fd2;
static unsigned listen_port, listen_port2;
static char transcript[1 << 20], errors[1 << 16], reason[1024];

struct box {
	int n;
	const char *uidl[8];		/* NULL: UIDL omits the number */
	unsigned size[8];
	bool quit_lost;			/* QUIT gets no answer */
	bool retr_refused[8];
	bool top;			/* TOP is answered (else -ERR) */
	unsigned gen[8];		/* another gen: another message, same UIDL */
	const char *tag[8];		/* in the Subject instead of the UIDL, so
					 * that renumbering keeps the header */
};

static const char *
subject_tag(const struct box *b, int i)
{
	return b->tag[i] ? b->tag[i] : b->uidl[i] ? b->uidl[i] : "-";
}

static void
send_str(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* The answer to one command: a constant, or the text made in buf. */
static const char *
answer(const struct box *b, const char *cmd, char *buf, size_t size)
{
	size_t o = 0;
	int k;

	if (strcmp(cmd, "STAT") == 0) {
		unsigned long total = 0;

		for (int i = 0; i < b->n; i++)
			total += b->size[i];
		snprintf(buf, size, "+OK %d %lu\r\n", b->n, total);
	} else if (strcmp(cmd, "UIDL") == 0 || strcmp(cmd, "LIST") == 0) {
		o += (size_t)snprintf(buf, size, "+OK\r\n");
		for (int i = 0; i < b->n; i++) {
			if (cmd[0] == 'U' && b->uidl[i] != NULL)
				o += (size_t)snprintf(buf + o, size - o, "%d %s\r\n", i + 1, b->uidl[i]);
			else if (cmd[0] == 'L')
				o += (size_t)snprintf(buf + o, size - o, "%d %u\r\n", i + 1, b->size[i]);
		}
		snprintf(buf + o, size - o, ".\r\n");
	} else if (sscanf(cmd, "RETR %d", &k) == 1 && k >= 1 && k <= b->n) {
		if (b->retr_refused[k - 1])
			return "-ERR [SYS/TEMP] locked\r\n";
		snprintf(buf, size, "+OK\r\nSubject: %d %s gen %u\r\n\r\nbody\r\n.\r\n", k,
		    subject_tag(b, k - 1), b->gen[k - 1]);
	} else if (b->top && sscanf(cmd, "TOP %d 0", &k) == 1 && k >= 1 && k <= b->n) {
		snprintf(buf, size, "+OK\r\nSubject: %d %s gen %u\r\n\r\n.\r\n", k,
		    subject_tag(b, k - 1), b->gen[k - 1]);
	} else if (strncmp(cmd, "DELE ", 5) == 0 || strncmp(cmd, "USER ", 5) == 0 ||
	    strncmp(cmd, "PASS ", 5) == 0 || strcmp(cmd, "RSET") == 0) {
		return "+OK\r\n";
	} else if (strcmp(cmd, "QUIT") == 0) {
		return b->quit_lost ? "" : "+OK bye\r\n";
	} else {
		return "-ERR\r\n";	/* CAPA too: an RFC 1939 server */
	}
	return buf;
}

static void __attribute__((noreturn))
serve_box(const struct box *b, const char *log_path, int listener)
{
	int fd = accept(listener, NULL, NULL);
	FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL, *log = fopen(log_path, "w");
	static char line[1024], buf[1 << 16];

	if (in == NULL || log == NULL)
		_exit(1);
	send_str(fd, "+OK fake POP3 ready\r\n");
	while (fgets(line, sizeof line, in) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		fprintf(log, "%s\n", line);
		fflush(log);
		send_str(fd, answer(b, line, buf, sizeof buf));
		if (strcmp(line, "QUIT") == 0)
			break;
	}
	_exit(0);
}

static void
slurp_into(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n = fp ? fread(buf, 1, size - 1, fp) : 0;

	buf[n] = '\0';
	if (fp != NULL)
		fclose(fp);
	unlink(path);
}

/* The peer is done when the client hung up; one that never saw a client
 * (a run that failed before connecting) is stopped. */
static void
reap(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

struct fetch_run {
	const char *name;		/* account: its own Maildir and state */
	bool keep, list;
	unsigned long long max_size;
	const char *host;		/* NULL: 127.0.0.1 */
	bool second_port;		/* the other listener */
	bool unreachable;		/* a port where nothing listens */
	const char *maildir;		/* --maildir */
};

/* A loopback port nothing listens on (bound, then closed). */
static unsigned
closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		abort();
	close(fd);
	return ntohs(sin.sin_port);
}

static char *
md_of(const char *name)
{
	static char path[700];

	snprintf(path, sizeof path, "%s/md-%s", root, name);
	return path;
}

/* Runs the account against box; the server's transcript goes into
 * transcript[], the client's stderr into errors[], the failure's reason
 * (what mailpipe-fetch would print last) into reason[]. */
static enum failure
run_fetch(const struct fetch_run *f, const struct box *b)
{
	char logp[700], errp[700], state[700];
	struct account a = {
		.kind = ACCOUNT_POP3, .name = (char *)f->name,
		.host = (char *)(f->host ? f->host : "127.0.0.1"),
		.port = f->unreachable ? closed_port() : f->second_port ? listen_port2 : listen_port,
		.tls = TLS_MODE_OFF,
		.user = (char *)"alice",
		.password = (char *)"pw", .auth = AUTH_USER, .timeout = 5,
		.maildir = md_of(f->name), .keep = f->keep, .state_dir = state,
		.max_size = f->max_size,
	};
	struct fetch_options o = { .keep = -1, .list = f->list, .maildir = f->maildir };
	int saved_err, saved_out = -1, fd, rc;
	pid_t pid;

	snprintf(logp, sizeof logp, "%s/server.log", root);
	snprintf(errp, sizeof errp, "%s/client.err", root);
	snprintf(state, sizeof state, "%s/fetch-state", root);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0)
		serve_box(b, logp, f->second_port ? listen_fd2 : listen_fd);
	saved_err = dup(2);
	fd = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	if (f->list) {		/* the listing is not TAP */
		saved_out = dup(1);
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		close(fd);
	}
	fail_clear();
	rc = fetch_account(&a, &o);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	if (saved_out >= 0) {
		dup2(saved_out, 1);
		close(saved_out);
	}
	snprintf(reason, sizeof reason, "%s", rc == 0 ? "" : fail_reason());
	reap(pid);
	slurp_into(logp, transcript, sizeof transcript);
	slurp_into(errp, errors, sizeof errors);
	return rc == 0 ? FAIL_NONE : fail_class();
}

static bool
sent(const char *line)
{
	char want[100];

	snprintf(want, sizeof want, "%s\n", line);
	for (const char *p = transcript; (p = strstr(p, want)) != NULL; p++)
		if (p == transcript || p[-1] == '\n')
			return true;
	return false;
}

/* True when the server got any command with this verb. */
static bool
sent_any(const char *verb)
{
	size_t n = strlen(verb);

	for (const char *p = transcript; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, verb, n) == 0 && p[n] == ' ')
			return true;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return false;
}

static int
in_new(const char *name)
{
	char path[800];

	snprintf(path, sizeof path, "%s/new", md_of(name));
	return count_suffix(path, "");
}

static void
show_run(void)
{
	diag("server got:\n%s", transcript);
	diag("client said:\n%s", errors);
}

/* 1.1: after QUIT +OK the deleted UIDLs are forgotten: a new message that
 * reuses one is retrieved, not deleted unseen.  When QUIT is lost, they are
 * kept, and the next run deletes them without retrieving them again. */
static void
test_fetch_reused_uidl(void)
{
	struct fetch_run f = { .name = "reuse", .keep = false };
	struct box b = { .n = 1, .uidl = { "a" }, .size = { 20 } };

	ok(run_fetch(&f, &b) == FAIL_NONE && sent("RETR 1") && sent("DELE 1") &&
	    in_new("reuse") == 1, "delete mode: a retrieved and deleted, QUIT +OK");
	ok(run_fetch(&f, &b) == FAIL_NONE && sent("RETR 1") && sent("DELE 1") &&
	    in_new("reuse") == 2, "a new message reusing UIDL a (same size) is retrieved "
	    "before it is deleted");
	if (!sent("RETR 1"))
		show_run();

	f.name = "quitlost";
	b.quit_lost = true;
	ok(run_fetch(&f, &b) == FAIL_TEMPORARY && sent("DELE 1") && in_new("quitlost") == 1,
	    "QUIT unanswered after DELE: 75");
	b.quit_lost = false;
	ok(run_fetch(&f, &b) == FAIL_NONE && !sent("RETR 1") && sent("DELE 1") &&
	    in_new("quitlost") == 1, "next run: deleted without a second retrieval");
}

/* 1.2: a known UIDL with another size: neither fetched nor deleted, 76.
 * In delete mode an entry survives only when QUIT was lost. */
static void
test_fetch_size_changed(void)
{
	struct fetch_run f = { .name = "changed-keep", .keep = true };
	struct box b = { .n = 2, .uidl = { "a", "b" }, .size = { 20, 30 } };

	ok(run_fetch(&f, &b) == FAIL_NONE && in_new(f.name) == 2, "keep: first run");
	b.size[0] = 25;
	ok(run_fetch(&f, &b) == FAIL_PROTOCOL && !sent("RETR 1") && in_new(f.name) == 2,
	    "keep: size of UIDL a changed: 76, not fetched");
	ok(strstr(errors, "message 1 UIDL a: server changed the message behind UIDL a") !=
	    NULL, "reported by number and UIDL");
	if (strstr(errors, "server changed") == NULL)
		show_run();

	f = (struct fetch_run){ .name = "changed-delete", .keep = false };
	b.size[0] = 20;
	b.quit_lost = true;
	ok(run_fetch(&f, &b) == FAIL_TEMPORARY && in_new(f.name) == 2,
	    "delete: first run, QUIT lost");
	b.size[0] = 25;
	b.quit_lost = false;
	ok(run_fetch(&f, &b) == FAIL_PROTOCOL && !sent("RETR 1") && !sent("DELE 1"),
	    "delete: size of UIDL a changed: 76, neither fetched nor deleted");
	ok(sent("DELE 2") && !sent("RETR 2") && in_new(f.name) == 2,
	    "message 2 (unchanged) deleted, not fetched again");
	ok(strstr(errors, "message 1 UIDL a: server changed the message behind UIDL a") !=
	    NULL, "reported by number and UIDL");
}

/* 1.3: a number LIST shows and UIDL omits is a per-message failure. */
static void
test_fetch_list_only(void)
{
	struct fetch_run f = { .name = "listonly", .keep = true };
	struct box b = { .n = 2, .uidl = { "a", NULL }, .size = { 20, 30 } };

	ok(run_fetch(&f, &b) == FAIL_PROTOCOL && sent("RETR 1") && !sent("RETR 2") &&
	    in_new("listonly") == 1, "message 2 without UIDL: 76, message 1 still fetched");
	ok(strstr(errors, "message 2: no UIDL") != NULL, "message 2 is named");
}

/* 1.4: naming a file in new/ failing in the middle of a batch. */
static void
test_fetch_rename_fails(void)
{
	struct fetch_run f = { .name = "rename", .keep = false };
	struct box b = { .n = 3, .uidl = { "a", "b", "c" }, .size = { 20, 20, 20 } };
	char newdir[800];
	struct maildir *md;

	ok(maildir_open(md_of(f.name), true, &md) == 0, "a Maildir");
	maildir_close(md);
	snprintf(newdir, sizeof newdir, "%s/new", md_of(f.name));
	faultfs_forget_syncs();
	/* The second message's name in new/: its link (the first link of the
	 * run is the probe's, in tmp/), or its rename without O_TMPFILE. */
	faultfs_fail_link_at = 3;
	faultfs_fail_rename_at = 2;
	ok(run_fetch(&f, &b) == FAIL_IO && in_new(f.name) == 1 && !sent_any("DELE"),
	    "the second link fails: 74, one file in new/, no DELE");
	ok(faultfs_times_synced(newdir) >= 1, "new/ was fsynced for the file already linked");
	faultfs_fail_link_at = faultfs_fail_rename_at = 0;
	ok(run_fetch(&f, &b) == FAIL_NONE && !sent("RETR 1") && sent("RETR 2") &&
	    sent("RETR 3") && sent("DELE 1") && in_new(f.name) == 3,
	    "next run: message 1 is known, 2 and 3 are retrieved, all deleted");

	f.name = "fsyncnew";
	ok(maildir_open(md_of(f.name), true, &md) == 0, "another Maildir");
	maildir_close(md);
	snprintf(newdir, sizeof newdir, "%s/new", md_of(f.name));
	faultfs_fail_fsync_of = faultfs_inode_of(newdir);
	ok(run_fetch(&f, &b) == FAIL_IO && in_new(f.name) == 0 && !sent_any("DELE"),
	    "fsync of new/ fails: 74, the links undone, no DELE");
	faultfs_fail_fsync_of = 0;
	ok(run_fetch(&f, &b) == FAIL_NONE && sent("RETR 1") && sent("RETR 3") &&
	    in_new(f.name) == 3, "next run retrieves all three, once each");
}

/* A suspected reset is checked with TOP against the header digests: new
 * messages that only have the sizes of those another client deleted are
 * fetched (the account no longer stalls), a renumbered mailbox is still
 * refused. */
static void
test_fetch_reset_checked(void)
{
	struct fetch_run f = { .name = "reset-sizes", .keep = true };
	struct box old = { .n = 2, .uidl = { "a", "b" }, .size = { 20, 20 }, .top = true,
		.tag = { "one", "two" } };
	struct box fresh = { .n = 2, .uidl = { "x", "y" }, .size = { 20, 20 }, .top = true,
		.tag = { "three", "four" } };
	struct box renumbered = old;

	renumbered.uidl[0] = "x";
	renumbered.uidl[1] = "y";
	ok(run_fetch(&f, &old) == FAIL_NONE && in_new(f.name) == 2, "keep: two retrieved");
	ok(run_fetch(&f, &fresh) == FAIL_NONE && sent("TOP 1 0") && sent("RETR 1") &&
	    sent("RETR 2") && in_new(f.name) == 4, "deleted by another client, two new "
	    "ones of the same sizes: TOP shows new headers, both fetched");
	if (!sent("RETR 1"))
		show_run();
	f.name = "reset-real";
	ok(run_fetch(&f, &old) == FAIL_NONE && in_new(f.name) == 2, "another account: two");
	ok(run_fetch(&f, &renumbered) == FAIL_PROTOCOL && sent("TOP 1 0") && !sent_any("RETR"),
	    "the same messages under new UIDLs: TOP shows a known header, refused (76)");
}

/* 2.3: a UIDL reset is refused and the state kept; an empty listing does
 * not prune. */
static void
test_fetch_uidl_reset(void)
{
	struct fetch_run f = { .name = "reset", .keep = true };
	struct box old = { .n = 3, .uidl = { "a", "b", "c" }, .size = { 10, 20, 30 } };
	struct box renamed = { .n = 3, .uidl = { "x", "y", "z" }, .size = { 30, 10, 20 } };
	struct box other = { .n = 3, .uidl = { "p", "q", "r" }, .size = { 11, 21, 31 } };
	struct box empty = { .n = 0 };

	ok(run_fetch(&f, &old) == FAIL_NONE && in_new(f.name) == 3, "three retrieved");
	ok(run_fetch(&f, &renamed) == FAIL_PROTOCOL && !sent_any("RETR") &&
	    in_new(f.name) == 3, "same sizes under new UIDLs: 76, nothing fetched");
	ok(strstr(reason, "the server's UIDLs all changed (a UIDL reset?); nothing fetched; "
	    "to fetch everything again remove ") != NULL && strstr(reason, ".state") != NULL,
	    "with a line that says what to do: %s", reason);
	ok(run_fetch(&f, &old) == FAIL_NONE && !sent_any("RETR"),
	    "the state was kept: the old UIDLs are still known");
	f.list = true;
	ok(run_fetch(&f, &renamed) == FAIL_NONE && strstr(errors, "UIDL reset") != NULL,
	    "--list shows the listing, with the warning");
	f.list = false;

	f.name = "newmail";
	ok(run_fetch(&f, &old) == FAIL_NONE && run_fetch(&f, &other) == FAIL_NONE &&
	    in_new(f.name) == 6, "other UIDLs with other sizes are new mail, fetched");

	f.name = "empty";
	ok(run_fetch(&f, &old) == FAIL_NONE && in_new(f.name) == 3, "three retrieved");
	ok(run_fetch(&f, &empty) == FAIL_NONE, "then an empty listing");
	ok(run_fetch(&f, &old) == FAIL_NONE && !sent_any("RETR") && in_new(f.name) == 3,
	    "the empty listing pruned nothing: no second copy");
}

/* --list's output in out: the count line, then messages 1..n in order,
 * each "NUM 20 uNUM new - ...". */
static bool
list_in_order(FILE *out, int n)
{
	char line[256], want[64];
	int i = 0;

	rewind(out);
	if (fgets(line, sizeof line, out) == NULL || strncmp(line, "200000 messages", 15) != 0)
		return false;
	while (fgets(line, sizeof line, out) != NULL) {
		i++;
		snprintf(want, sizeof want, "%d 20 u%d new - ", i, i);
		if (strncmp(line, want, strlen(want)) != 0)
			return false;
	}
	return i == n;
}

/* 3.1: 200,000 messages listed in descending order: --list shows each
 * once, in order, as new.  How long that takes is test/bench/state-load's
 * (a quadratic plan would not finish within the test's timeout). */
static void
test_fetch_many_reversed(void)
{
	enum { N = 200000 };
	char stat[64];
	char state[700], *uidl, *list;
	size_t ou = 0, ol = 0;
	struct account a;
	pid_t pid;
	int rc;

	uidl = malloc((size_t)N * 32 + 16);
	list = malloc((size_t)N * 32 + 16);
	if (uidl == NULL || list == NULL)
		abort();
	ou = (size_t)sprintf(uidl, "+OK\r\n");
	ol = (size_t)sprintf(list, "+OK\r\n");
	for (int i = N; i >= 1; i--) {
		ou += (size_t)sprintf(uidl + ou, "%d u%d\r\n", i, i);
		ol += (size_t)sprintf(list + ol, "%d 20\r\n", i);
	}
	strcpy(uidl + ou, ".\r\n");
	strcpy(list + ol, ".\r\n");
	snprintf(stat, sizeof stat, "+OK %d %d\r\n", N, 20 * N);
	snprintf(state, sizeof state, "%s/fetch-state", root);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		int fd = accept(listen_fd, NULL, NULL);
		FILE *in = fdopen(fd, "r");
		char line[256];

		send_str(fd, "+OK\r\n");
		while (in && fgets(line, sizeof line, in) != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			send_str(fd, strcmp(line, "STAT") == 0 ? stat :
			    strcmp(line, "UIDL") == 0 ? uidl : strcmp(line, "LIST") == 0 ? list :
			    strcmp(line, "CAPA") == 0 ? "-ERR\r\n" : "+OK\r\n");
			if (strcmp(line, "QUIT") == 0)
				break;
		}
		_exit(0);
	}
	a = (struct account){ .kind = ACCOUNT_POP3, .name = (char *)"many",
		.host = (char *)"127.0.0.1", .port = listen_port, .tls = TLS_MODE_OFF,
		.user = (char *)"alice", .password = (char *)"pw", .auth = AUTH_USER,
		.timeout = 20, .maildir = md_of("many"), .keep = true, .state_dir = state };
	{
		FILE *out = tmpfile();
		int saved = dup(1);

		dup2(fileno(out), 1);
		fail_clear();
		rc = fetch_account(&a, &(struct fetch_options){ .keep = -1, .list = true });
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		reap(pid);
		ok(rc == 0, "--list of 200,000 messages listed backwards (%s)", rc ? fail_reason() :
		    "ok");
		ok(list_in_order(out, N), "each once, in order, new");
		fclose(out);
	}
	free(uidl);
	free(list);
}

/* Runs f against b in a child that is killed with SIGKILL at its first
 * state save: after QUIT's +OK, before the state records it. */
static bool
run_killed_at_save(const struct fetch_run *f, const struct box *b)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	if ((pid = fork()) == 0) {
		faultfs_kill_at_state_save = 1;
		run_fetch(f, b);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/* Killed between QUIT +OK and the save, the deletions are in the journal
 * as requested: the next run checks the listed UIDL with TOP, and a new
 * message the server gave the old UIDL is retrieved, never deleted unseen
 * (delete mode) or skipped for ever (keep mode). */
static void
test_fetch_crash_after_quit(void)
{
	struct fetch_run f = { .name = "crash-reuse", .keep = false };
	struct box old = { .n = 1, .uidl = { "a" }, .size = { 20 }, .top = true };
	struct box reused = old;

	reused.gen[0] = 1;
	ok(run_killed_at_save(&f, &old) && in_new(f.name) == 1, "killed after QUIT +OK, "
	    "before the state save; the message is in new/");
	ok(run_fetch(&f, &reused) == FAIL_NONE && sent("TOP 1 0") && sent("RETR 1") &&
	    sent("DELE 1") && in_new(f.name) == 2, "a new message under the old UIDL: "
	    "checked with TOP, retrieved, then deleted");
	if (!sent("RETR 1"))
		show_run();

	f.name = "crash-same";
	ok(run_killed_at_save(&f, &old), "killed again, another account");
	ok(run_fetch(&f, &old) == FAIL_NONE && sent("TOP 1 0") && !sent("RETR 1") &&
	    sent("DELE 1") && in_new(f.name) == 1, "the same message still listed (QUIT "
	    "never took effect): deleted without a second retrieval");

	f.name = "crash-keep";
	ok(run_killed_at_save(&f, &old), "killed again, a third account");
	f.keep = true;
	ok(run_fetch(&f, &reused) == FAIL_NONE && sent("RETR 1") && in_new(f.name) == 2,
	    "keep mode: the new message under the old UIDL is retrieved, not skipped");
	ok(run_fetch(&f, &reused) == FAIL_NONE && !sent("RETR 1") && !sent("TOP 1 0"),
	    "and known from then on");
}

/* A port change keeps the state.  A host change keeps the deletions the
 * old host never confirmed, but acts on one only with proof: TOP shows
 * the header retrieved under its UIDL (the same mailbox under a new name:
 * deleted, not fetched twice); without TOP nothing proves it, so the
 * message is fetched (a copy too many at worst, never a message deleted
 * unseen).  Until a run has reached the new host and settled them, the
 * state keeps naming the old one. */
static void
test_fetch_server_change(void)
{
	struct fetch_run f = { .name = "moved", .keep = true };
	struct box b = { .n = 2, .uidl = { "a", "b" }, .size = { 20, 30 } };
	struct box proof = { .n = 2, .uidl = { "a", "b" }, .size = { 20, 30 }, .top = true };

	ok(run_fetch(&f, &b) == FAIL_NONE && in_new(f.name) == 2, "keep: two retrieved");
	f.second_port = true;
	ok(run_fetch(&f, &b) == FAIL_NONE && !sent_any("RETR") && in_new(f.name) == 2,
	    "another port (tls = implicit): nothing fetched again");

	f = (struct fetch_run){ .name = "newhost", .keep = false };
	b.quit_lost = true;
	ok(run_fetch(&f, &b) == FAIL_TEMPORARY && in_new(f.name) == 2,
	    "delete: QUIT lost, the deletions unconfirmed");
	b.quit_lost = false;
	f.host = "localhost";
	ok(run_fetch(&f, &b) == FAIL_NONE && sent("RETR 1") && sent("DELE 1"),
	    "another host without TOP: nothing proves the message is the one deleted, "
	    "so it is fetched, never deleted unseen");

	f = (struct fetch_run){ .name = "renamed", .keep = false };
	proof.quit_lost = true;
	ok(run_fetch(&f, &proof) == FAIL_TEMPORARY && in_new(f.name) == 2,
	    "delete: QUIT lost again, a second account");
	proof.quit_lost = false;
	f.host = "localhost";
	f.unreachable = true;
	ok(run_fetch(&f, &proof) == FAIL_TEMPORARY, "the new host cannot be reached");
	f.unreachable = false;
	ok(run_fetch(&f, &proof) == FAIL_NONE && sent("TOP 1 0") && sent("TOP 2 0") &&
	    !sent_any("RETR") && sent("DELE 1") && sent("DELE 2") && in_new(f.name) == 2,
	    "then reached: TOP proves both are the messages retrieved, deleted, not "
	    "fetched twice");
}

/* --maildir names another Maildir: a state of its own, so that emptying a
 * mailbox into it once gets the whole mailbox there. */
static void
test_fetch_maildir_option(void)
{
	struct fetch_run f = { .name = "mdopt", .keep = true };
	struct box b = { .n = 2, .uidl = { "a", "b" }, .size = { 20, 30 } };
	char other[800];

	ok(run_fetch(&f, &b) == FAIL_NONE && in_new(f.name) == 2, "keep into the account's "
	    "Maildir");
	f.maildir = md_of("mdopt");
	ok(run_fetch(&f, &b) == FAIL_NONE && !sent_any("RETR"), "--maildir naming that same "
	    "Maildir uses its state");
	snprintf(other, sizeof other, "%s", md_of("mdopt-other"));
	f.maildir = other;
	f.keep = false;
	ok(run_fetch(&f, &b) == FAIL_NONE && sent("RETR 1") && sent("RETR 2") &&
	    sent("DELE 1") && sent("DELE 2") && in_new("mdopt-other") == 2,
	    "--delete --maildir OTHER: the whole mailbox into OTHER, then deleted");
}

static void
start_listener(int *fd_r, unsigned *port_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd_r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd_r < 0 || bind(*fd_r, (struct sockaddr *)&sin, sizeof sin) < 0 ||
	    listen(*fd_r, 8) < 0 || getsockname(*fd_r, (struct sockaddr *)&sin, &len) < 0) {
		perror("listener");
		exit(1);
	}
	*port_r = ntohs(sin.sin_port);
}

int
main(void)
{
	char cmd[600];

	if (mkdtemp(root) == NULL)
		return 1;
	snprintf(statedir, sizeof statedir, "%s/state/mailpipe", root);
	snprintf(mdpath, sizeof mdpath, "%s/Maildir", root);
	signal(SIGPIPE, SIG_IGN);
	test_valid();
	test_replay();
	test_save_prune_lock();
	test_corrupt();
	test_durable_creation();
	test_journal_unopenable();
	test_torn_then_append();
	test_trailer_lookalikes();
	test_reset_heuristic();
	test_identity();
	test_legacy();
	test_untrusted_dir();
	test_planted_links();
	test_planted_fifos();
	test_read_only();
	start_listener(&listen_fd, &listen_port);
	start_listener(&listen_fd2, &listen_port2);
	test_fetch_reused_uidl();
	test_fetch_size_changed();
	test_fetch_list_only();
	test_fetch_rename_fails();
	test_fetch_uidl_reset();
	test_fetch_reset_checked();
	test_fetch_many_reversed();
	test_fetch_crash_after_quit();
	test_fetch_server_change();
	test_fetch_maildir_option();
	test_replay_targets();	/* last: its state would change the file counts above */
	{
		char *d;

		setenv("XDG_STATE_HOME", "/x/state", 1);
		d = uidl_default_dir(NULL);
		is_str(d, "/x/state/mailpipe", "XDG_STATE_HOME respected");
		free(d);
		unsetenv("XDG_STATE_HOME");
		setenv("HOME", "/home/u", 1);
		d = uidl_default_dir(NULL);
		is_str(d, "/home/u/.local/state/mailpipe", "default under ~/.local/state");
		free(d);
		d = uidl_default_dir("/srv/state");
		is_str(d, "/srv/state", "state_dir wins");
		free(d);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return done_testing();
}
