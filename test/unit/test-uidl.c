/*
 * UIDL state: journal replay after a torn write or a crash between journal
 * and rename, atomic save, pruning, the lock, corrupt files, key separation.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir.h"
#include "status.h"
#include "uidl.h"
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

static struct uidl_state *
open_state(const char *host)
{
	struct uidl_state *s = NULL;

	fail_clear();
	if (uidl_open(statedir, "work", "alice", host, 995, &s) < 0)
		return NULL;
	return s;
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
	ok(uidl_count(s) == 0, "empty");
	a = staged(md, "message A\n");
	b = staged(md, "message B\n");
	e[0] = (struct uidl_entry){ .uidl = "UA", .file = (char *)maildir_msg_name(a),
		.size = 11, .fetched = 1000 };
	e[1] = (struct uidl_entry){ .uidl = "UB", .file = (char *)maildir_msg_name(b),
		.size = 11, .fetched = 1000 };
	ok(uidl_journal(s, e, 2) == 0, "journal two entries");
	ok(maildir_msg_commit(a) == 0 && maildir_sync_new(md) == 0, "only A is renamed");
	/* "SIGKILL": B stays in tmp/, nothing saved. */
	maildir_msg_free(a);	/* committed: only frees */
	uidl_close(s);
	journal = find_file(statedir, ".journal");
	ok(journal[0] != '\0', "journal file exists");
	snprintf(line, sizeof line, "UC 5 1000 %s", "1.M1P1Q1R1.torn");
	append(journal, line);	/* torn: no newline */
	ok((s = open_state("pop.example")) != NULL, "reopen after the crash");
	ok(uidl_replay(s, md, true) == 0, "replay");
	ok(uidl_lookup(s, "UA") != NULL, "A (renamed) counts as retrieved");
	ok(uidl_lookup(s, "UB") == NULL, "B (never renamed) is dropped");
	ok(uidl_lookup(s, "UC") == NULL, "the torn line is ignored");
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
	ok(uidl_lookup(s, "UZ") != NULL, "UZ known right after journaling");
	/* UA not seen by the server in this session: pruned. */
	ok(uidl_save(s, true) == 0, "save with prune");
	uidl_close(s);
	ok((s = open_state("pop.example")) != NULL, "reopen");
	ok(uidl_count(s) == 1 && uidl_lookup(s, "UZ") != NULL && uidl_lookup(s, "UA") == NULL,
	    "UA pruned, UZ kept");
	uidl_forget(s, "UZ");
	ok(uidl_lookup(s, "UZ") == NULL, "forget");
	uidl_close(s);

	ok((s = open_state("other.example")) != NULL, "another host: a separate state");
	ok(uidl_count(s) == 0, "which does not see the first host's UIDLs");
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
		fputs("mailpipe-fetch state 1\nU1 0 0 3.M3P3Q3R3.h\n", fp);
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
		append(p, "U1 0 0 ../../etc/passwd\n");
	}
	s = open_state("badjournal.example");
	ok(s == NULL && fail_class() == FAIL_IO, "a journal entry naming a path is refused");
}

int
main(void)
{
	char cmd[600];

	if (mkdtemp(root) == NULL)
		return 1;
	snprintf(statedir, sizeof statedir, "%s/state/mailpipe", root);
	snprintf(mdpath, sizeof mdpath, "%s/Maildir", root);
	test_valid();
	test_replay();
	test_save_prune_lock();
	test_corrupt();
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
