/*
 * Retrieved-UIDL state, crash journal and lock.
 *
 * Why a journal and a state file: the state file is rewritten only once per
 * run (temp file, fsync, rename, fsync directory), which is cheap; the
 * journal records each batch before its files become visible in new/, so
 * that a SIGKILL at any moment leaves either "journaled, not renamed" (the
 * record is dropped at the next start and the message fetched again) or
 * "journaled and renamed" (the entry counts): never a message in the
 * Maildir that the state does not know, which would be fetched twice.  The
 * journal also records, before QUIT, which deletions were requested: a
 * crash between QUIT's +OK and the state save then leaves marked entries,
 * which the next run checks against the server before trusting them.
 *
 * Why nothing in the directory is followed through a link: the directory
 * may be a shared one by mistake, and mailpipe-fetch runs as root from
 * cron; a planted link must never make it truncate or overwrite a file
 * elsewhere, nor a planted state make it delete messages it never fetched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fs.h"
#include "statefile.h"
#include "status.h"
#include "uidl.h"
#include "xalloc.h"

/* A version 1 state was keyed by user@host:port: these ports are tried
 * besides the configured one, so that a change of TLS mode made before the
 * upgrade still finds it. */
static const unsigned legacy_ports[] = { 110, 995 };
#define LEGACY_MAX 3

struct legacy {
	char *base;
	int lockfd;
};

struct uidl_state {
	char *dir;
	int dirfd;		/* -1: read-only and the directory does not exist */
	bool write;
	char *base, *lock_base;	/* NAME.HASH of the state, of the lock */
	char *state_path, *journal_path;	/* full paths, for messages */
	int lockfd, journalfd;
	struct state_header key;	/* this run's identity and server */
	struct state_header last;	/* what the state file said */
	struct uidl_set set;
	struct journal_record *pending;	/* journal records not yet resolved */
	size_t pending_count, pending_alloc;
	struct legacy legacy[LEGACY_MAX];
	size_t legacy_count;
};

char *
uidl_default_dir(const char *state_dir)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	char *home, *dir;

	if (state_dir != NULL && state_dir[0] != '\0')
		return xstrdup(state_dir);
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/mailpipe", xdg);
	if ((home = fs_home_dir()) == NULL) {
		fail(FAIL_CONFIG, "no home directory (HOME is not set and the user has no "
		    "passwd entry); set state_dir");
		return NULL;
	}
	dir = xasprintf("%s/.local/state/mailpipe", home);
	free(home);
	return dir;
}

/* ---- names ---- */

/* The account name with anything but [A-Za-z0-9_-] as '_', cut at 64. */
static void
safe_name(const char *account, char out[65])
{
	size_t i;

	for (i = 0; account[i] != '\0' && i < 64; i++) {
		char ch = account[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';

		out[i] = ok ? ch : '_';
	}
	out[i] = '\0';
}

/* NAME.HEX, HEX the first 64 bits of SHA-256(text[0..len)). */
static char *
hashed_name(const char *account, const char *text, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char safe[65], hex[17];

	EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	safe_name(account, safe);
	return xasprintf("%s.%s", safe, hex);
}

/* The identity of version 2: account, user and Maildir, NUL-separated so
 * that no choice of names makes two identities one. */
static char *
identity_name(const char *account, const char *user, const char *maildir)
{
	char *text = xasprintf("mailpipe-fetch 2%c%s%c%s%c%s", '\0', account, '\0', user,
	    '\0', maildir ? maildir : "");
	size_t len = strlen("mailpipe-fetch 2") + strlen(account) + strlen(user) +
	    (maildir ? strlen(maildir) : 0) + 3;
	char *name = hashed_name(account, text, len);

	free(text);
	return name;
}

/* The name version 1 used for user@host:port. */
static char *
legacy_name(const char *account, const char *user, const char *host, unsigned port)
{
	char *text = xasprintf("%s@%s:%u", user, host, port);
	char *name = hashed_name(account, text, strlen(text));

	free(text);
	return name;
}

/* ---- files in the directory ---- */

static int
refuse_link(const char *dir, const char *name)
{
	return fail(FAIL_AUTH, "%s/%s is a symbolic link or not a regular file; refusing "
	    "to use it (remove it)", dir, name);
}

/* openat() in the state directory, never through a link; a link is
 * FAIL_AUTH, anything else -1 with errno set and nothing recorded. */
static int
open_in_dir(struct uidl_state *s, const char *base, const char *suffix, int flags)
{
	char *name = xasprintf("%s%s", base, suffix);
	int fd = openat(s->dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, 0600), saved;

	saved = errno;
	if (fd < 0 && saved == ELOOP)
		refuse_link(s->dir, name);
	free(name);
	errno = saved;
	return fd;
}

static bool
exists_in_dir(struct uidl_state *s, const char *base, const char *suffix)
{
	char *name = xasprintf("%s%s", base, suffix);
	struct stat st;
	bool found = fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;

	free(name);
	return found;
}

static void
unlink_in_dir(struct uidl_state *s, const char *base, const char *suffix)
{
	char *name = xasprintf("%s%s", base, suffix);

	unlinkat(s->dirfd, name, 0);
	free(name);
}

/* The directory, made durably (0700) when missing, and trusted only when
 * nobody but its owner, the caller or root, can write it. */
static int
open_dir(struct uidl_state *s)
{
	if (s->write && fs_mkdirs(s->dir, 0700) < 0)
		return fail(FAIL_CANTCREAT, "cannot create state directory %s: %s", s->dir,
		    strerror(errno));
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0 && !s->write && errno == ENOENT)
		return 0;
	if (s->dirfd < 0)
		return fail(FAIL_CANTCREAT, "cannot open state directory %s: %s", s->dir,
		    strerror(errno));
	if (fs_check_trusted_fd(s->dirfd, s->dir, FS_READERS_ANY) < 0)
		return fail_context("state directory");
	return 0;
}

/* flock()s base.lock (created if missing): one run per account. */
static int
lock_file(struct uidl_state *s, const char *base, int *fd_r)
{
	*fd_r = open_in_dir(s, base, ".lock", O_RDWR | O_CREAT);
	if (*fd_r < 0)
		return fail_class() == FAIL_AUTH ? -1 : fail(FAIL_CANTCREAT,
		    "cannot create lock file %s/%s.lock: %s", s->dir, base, strerror(errno));
	while (flock(*fd_r, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return fail(FAIL_TEMPORARY, "account %s is in use by another "
			    "mailpipe-fetch (lock %s/%s.lock); try again later",
			    s->key.account, s->dir, base);
		return fail(FAIL_IO, "cannot lock %s/%s.lock: %s", s->dir, base,
		    strerror(errno));
	}
	return 0;
}

/* ---- reading ---- */

static int
read_state_file(struct uidl_state *s, const char *base, struct state_header *h)
{
	char *path = xasprintf("%s/%s.state", s->dir, base);
	int fd = open_in_dir(s, base, ".state", O_RDONLY), rc;
	FILE *fp;

	if (fd < 0) {
		rc = errno == ENOENT ? 0 : fail_class() == FAIL_AUTH ? -1 :
		    fail(FAIL_IO, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL)
		xalloc_fail();
	rc = statefile_read(fp, path, h, &s->set);
	fclose(fp);
	free(path);
	return rc;
}

static bool
same_name(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A state file is only used for the identity it names. */
static int
load_state(struct uidl_state *s)
{
	if (read_state_file(s, s->base, &s->last) < 0)
		return -1;
	if (s->last.version == 0)
		return 0;	/* none yet */
	if (s->last.version != 2 || !same_name(s->last.account, s->key.account) ||
	    !same_name(s->last.user, s->key.user) || !same_name(s->last.maildir,
	    s->key.maildir))
		return fail(FAIL_IO, "%s belongs to another account, user or Maildir; "
		    "remove it", s->state_path);
	return 0;
}

static void
push_pending(struct uidl_state *s, const struct journal_record *r)
{
	s->pending = xgrow(s->pending, &s->pending_alloc, s->pending_count + 1,
	    sizeof *s->pending);
	s->pending[s->pending_count++] = *r;
}

static int
corrupt_journal(const char *path, unsigned long lineno)
{
	return fail(FAIL_IO, "%s is corrupt (line %lu: malformed entry); repair or remove "
	    "it", path, lineno);
}

/* Every complete line of a journal; a torn last line (no newline: that
 * write never completed) is ignored. */
static int
read_journal_lines(FILE *fp, const char *path, int version, struct uidl_state *s)
{
	struct journal_record r;
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	while (rc == 0 && (len = getline(&line, &cap, fp)) > 0 && line[len - 1] == '\n') {
		lineno++;
		line[len - 1] = '\0';
		if (journal_parse(line, version, &r))
			push_pending(s, &r);
		else
			rc = corrupt_journal(path, lineno);
	}
	if (rc == 0 && ferror(fp))
		rc = fail(FAIL_IO, "cannot read %s: %s", path, strerror(errno));
	free(line);
	return rc;
}

static int
load_journal(struct uidl_state *s, const char *base, int version)
{
	char *path = xasprintf("%s/%s.journal", s->dir, base);
	int fd = open_in_dir(s, base, ".journal", O_RDONLY), rc;
	FILE *fp;

	if (fd < 0) {
		rc = errno == ENOENT ? 0 : fail_class() == FAIL_AUTH ? -1 :
		    fail(FAIL_IO, "cannot read %s: %s", path, strerror(errno));
		free(path);
		return rc;
	}
	fp = fdopen(fd, "r");
	if (fp == NULL)
		xalloc_fail();
	rc = read_journal_lines(fp, path, version, s);
	fclose(fp);
	free(path);
	return rc;
}

/* The offset just after the journal's last newline (0 if none). */
static int
journal_good_length(struct uidl_state *s, off_t size, off_t *len_r)
{
	char buf[4096];
	off_t end = size;

	while (end > 0) {
		size_t n = end < (off_t)sizeof buf ? (size_t)end : sizeof buf;
		const char *nl;

		if (pread(s->journalfd, buf, n, end - (off_t)n) != (ssize_t)n)
			return fail(FAIL_IO, "cannot read %s: %s", s->journal_path,
			    strerror(errno));
		if ((nl = memrchr(buf, '\n', n)) != NULL) {
			*len_r = end - (off_t)n + (nl - buf) + 1;
			return 0;
		}
		end -= (off_t)n;
	}
	*len_r = 0;
	return 0;
}

/* Opens an existing journal for appending and cuts a torn last line (a
 * write that a crash interrupted), durably, before anything can be
 * appended to it. */
static int
open_existing_journal(struct uidl_state *s)
{
	struct stat st;
	off_t good;

	s->journalfd = open_in_dir(s, s->base, ".journal", O_RDWR | O_APPEND);
	if (s->journalfd < 0)
		return errno == ENOENT ? 0 : fail_class() == FAIL_AUTH ? -1 :
		    fail(FAIL_IO, "cannot open %s: %s", s->journal_path, strerror(errno));
	if (fstat(s->journalfd, &st) < 0)
		return fail(FAIL_IO, "cannot stat %s: %s", s->journal_path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return refuse_link(s->dir, strrchr(s->journal_path, '/') + 1);
	if (journal_good_length(s, st.st_size, &good) < 0)
		return -1;
	if (good == st.st_size)
		return 0;
	if (ftruncate(s->journalfd, good) < 0 || fdatasync(s->journalfd) < 0)
		return fail(FAIL_IO, "cannot cut the torn end of %s: %s", s->journal_path,
		    strerror(errno));
	return 0;
}

/* ---- version 1 ---- */

/* Takes over a version 1 state of this account, if there is one: loads it
 * as if it were ours (entries and journal); uidl_replay() saves it in the
 * new form and only then removes it. */
static int
load_legacy_one(struct uidl_state *s, unsigned port)
{
	struct legacy *l = &s->legacy[s->legacy_count];
	struct state_header h;
	char *base = legacy_name(s->key.account, s->key.user, s->key.host, port);

	if (!exists_in_dir(s, base, ".state") && !exists_in_dir(s, base, ".journal")) {
		free(base);
		return 0;
	}
	*l = (struct legacy){ .base = base, .lockfd = -1 };
	s->legacy_count++;
	if (s->write && lock_file(s, base, &l->lockfd) < 0)
		return -1;
	if (read_state_file(s, base, &h) < 0)
		return -1;
	state_header_free(&h);
	return load_journal(s, base, 1);
}

static int
load_legacy(struct uidl_state *s)
{
	unsigned ports[LEGACY_MAX] = { s->key.port, legacy_ports[0], legacy_ports[1] };

	if (s->key.maildir != NULL || s->key.host == NULL || s->last.version != 0 ||
	    exists_in_dir(s, s->base, ".journal"))
		return 0;	/* only the account's own state ever had a version 1 */
	for (size_t i = 0; i < LEGACY_MAX; i++) {
		bool tried = false;

		for (size_t j = 0; j < i; j++)
			tried |= ports[j] == ports[i];
		if (!tried && load_legacy_one(s, ports[i]) < 0)
			return -1;
	}
	return 0;
}

static void
remove_legacy(struct uidl_state *s)
{
	for (size_t i = 0; i < s->legacy_count; i++) {
		unlink_in_dir(s, s->legacy[i].base, ".journal");
		unlink_in_dir(s, s->legacy[i].base, ".state");
		unlink_in_dir(s, s->legacy[i].base, ".lock");
	}
	if (s->legacy_count > 0)
		fsync(s->dirfd);	/* best effort: a leftover is only read again */
}

/* ---- open, replay ---- */

static void
copy_key(struct state_header *h, const struct uidl_key *k)
{
	h->version = STATEFILE_VERSION;
	h->account = xstrdup(k->account);
	h->user = xstrdup(k->user ? k->user : "");
	h->maildir = k->maildir ? xstrdup(k->maildir) : NULL;
	h->host = k->host ? xstrdup(k->host) : NULL;
	h->port = k->port;
}

static struct uidl_state *
new_state(const char *dir, const struct uidl_key *k, bool write)
{
	struct uidl_state *s = xcalloc(1, sizeof *s);

	s->lockfd = s->dirfd = s->journalfd = -1;
	s->write = write;
	s->dir = xstrdup(dir);
	copy_key(&s->key, k);
	s->base = identity_name(s->key.account, s->key.user, s->key.maildir);
	s->lock_base = identity_name(s->key.account, s->key.user, NULL);
	s->state_path = xasprintf("%s/%s.state", dir, s->base);
	s->journal_path = xasprintf("%s/%s.journal", dir, s->base);
	return s;
}

static int
open_files(struct uidl_state *s)
{
	if (open_dir(s) < 0)
		return -1;
	if (s->dirfd < 0)
		return 0;	/* read-only, no directory: an empty state */
	if (s->write && (lock_file(s, s->lock_base, &s->lockfd) < 0 ||
	    open_existing_journal(s) < 0))
		return -1;
	if (load_state(s) < 0 || load_journal(s, s->base, STATEFILE_VERSION) < 0)
		return -1;
	return load_legacy(s);
}

int
uidl_open(const char *dir, const struct uidl_key *key, bool write,
	struct uidl_state **s_r)
{
	struct uidl_state *s = new_state(dir, key, write);

	if (open_files(s) < 0) {
		uidl_close(s);
		return -1;
	}
	*s_r = s;
	return 0;
}

/* R: counts when its file reached new/ or cur/, else its tmp file goes. */
static void
resolve_retrieved(struct uidl_state *s, struct maildir *md, struct journal_record *r)
{
	if (maildir_has(md, r->e.file)) {
		uidlset_add(&s->set, &r->e);
		return;
	}
	if (s->write)
		maildir_drop_tmp(md, r->e.file);
	uidl_entry_free(&r->e);
}

/* D: marks the entry.  A run journals its D records after all its R
 * records (just before QUIT), and the journal holds one run's records, so
 * all R records are resolved first and the set is sorted once. */
static void
resolve_delete(struct uidl_state *s, struct journal_record *r)
{
	struct uidl_entry *e = uidlset_find(&s->set, r->e.uidl);

	if (e != NULL)
		e->delete_requested = true;
	uidl_entry_free(&r->e);
}

int
uidl_replay(struct uidl_state *s, struct maildir *md)
{
	size_t n = s->pending_count;

	for (size_t i = 0; i < n; i++)
		if (s->pending[i].type == 'R')
			resolve_retrieved(s, md, &s->pending[i]);
	for (size_t i = 0; i < n; i++)
		if (s->pending[i].type == 'D')
			resolve_delete(s, &s->pending[i]);
	s->pending_count = 0;
	if (!s->write || (n == 0 && s->legacy_count == 0))
		return 0;
	if (uidl_save(s, false) < 0)
		return -1;
	remove_legacy(s);
	return 0;
}

/* ---- the set and the server ---- */

struct uidl_set *
uidl_entries(struct uidl_state *s)
{
	return &s->set;
}

void
uidl_last_server(const struct uidl_state *s, const char **host_r, unsigned *port_r)
{
	*host_r = s->last.host;
	*port_r = s->last.port;
}

/* ---- writing ---- */

/* The journal, for appending.  The first time it is created, the directory
 * is fsynced too: without its directory entry, the records fsynced into it
 * could vanish with it. */
static int
open_journal(struct uidl_state *s)
{
	if (s->journalfd >= 0)
		return 0;
	s->journalfd = open_in_dir(s, s->base, ".journal", O_WRONLY | O_CREAT | O_EXCL |
	    O_APPEND);
	if (s->journalfd < 0)
		return fail_class() == FAIL_AUTH ? -1 : fail(FAIL_IO, "cannot create %s: %s",
		    s->journal_path, strerror(errno));
	if (fsync(s->dirfd) < 0)
		return fail(FAIL_IO, "cannot fsync %s: %s", s->dir, strerror(errno));
	return 0;
}

static int
append_journal(struct uidl_state *s, char *text, size_t len)
{
	int rc = open_journal(s);

	if (rc == 0 && fs_write_all(s->journalfd, text, len) < 0)
		rc = fail(FAIL_IO, "cannot write %s: %s", s->journal_path, strerror(errno));
	if (rc == 0 && fdatasync(s->journalfd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s: %s", s->journal_path, strerror(errno));
	free(text);
	return rc;
}

int
uidl_journal(struct uidl_state *s, const struct uidl_entry *e, size_t n)
{
	size_t len;
	char *text;

	if (n == 0)
		return 0;
	text = journal_format_retrieved(e, n, &len);
	if (append_journal(s, text, len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct uidl_entry copy = e[i];

		copy.uidl = xstrdup(e[i].uidl);
		copy.file = xstrdup(e[i].file);
		copy.seen = true;
		uidlset_add(&s->set, &copy);
	}
	return 0;
}

int
uidl_journal_deletes(struct uidl_state *s, char *const *uidls, size_t n)
{
	struct uidl_entry *e;
	size_t len;
	char *text;

	if (n == 0)
		return 0;
	text = journal_format_deletes(uidls, n, &len);
	if (append_journal(s, text, len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((e = uidlset_find(&s->set, uidls[i])) != NULL)
			e->delete_requested = true;
	return 0;
}

/* Creates base.state.tmp exclusively; a leftover of a crashed save (never a
 * link: unlinkat removes the name, not what it points to) is replaced. */
static int
create_temp(struct uidl_state *s)
{
	int fd = open_in_dir(s, s->base, ".state.tmp", O_WRONLY | O_CREAT | O_EXCL);

	if (fd < 0 && errno == EEXIST) {
		unlink_in_dir(s, s->base, ".state.tmp");
		fd = open_in_dir(s, s->base, ".state.tmp", O_WRONLY | O_CREAT | O_EXCL);
	}
	if (fd < 0 && fail_class() != FAIL_AUTH)
		fail(FAIL_IO, "cannot create %s.tmp: %s", s->state_path, strerror(errno));
	return fd;
}

static int
write_temp(struct uidl_state *s)
{
	size_t len;
	char *text = statefile_format(&s->key, &s->set, &len);
	int fd = create_temp(s), rc = fd < 0 ? -1 : 0;

	if (rc == 0 && fs_write_all(fd, text, len) < 0)
		rc = fail(FAIL_IO, "cannot write %s.tmp: %s", s->state_path, strerror(errno));
	if (rc == 0 && fsync(fd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s.tmp: %s", s->state_path, strerror(errno));
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = fail(FAIL_IO, "cannot close %s.tmp: %s", s->state_path, strerror(errno));
	free(text);
	return rc;
}

/* Empties the journal once the state holds all it says.  Fsynced: a
 * journal that a crash kept would bring back entries forgotten since
 * (deleted on the server, their UIDLs free for other messages). */
static int
empty_journal(struct uidl_state *s)
{
	if (s->journalfd < 0)
		return 0;	/* there is none: not at open, and not since */
	if (ftruncate(s->journalfd, 0) < 0 || fdatasync(s->journalfd) < 0)
		return fail(FAIL_IO, "cannot empty %s: %s", s->journal_path, strerror(errno));
	return 0;
}

int
uidl_save(struct uidl_state *s, bool prune)
{
	char *tmp = xasprintf("%s.state.tmp", s->base), *name = xasprintf("%s.state", s->base);
	int rc;

	uidlset_compact(&s->set, prune);
	rc = write_temp(s);
	if (rc == 0 && renameat(s->dirfd, tmp, s->dirfd, name) < 0)
		rc = fail(FAIL_IO, "cannot rename %s.tmp: %s", s->state_path, strerror(errno));
	if (rc == 0 && fsync(s->dirfd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s: %s", s->dir, strerror(errno));
	if (rc < 0)
		unlinkat(s->dirfd, tmp, 0);
	free(tmp);
	free(name);
	return rc == 0 ? empty_journal(s) : -1;
}

static void
close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

void
uidl_close(struct uidl_state *s)
{
	if (s == NULL)
		return;
	uidlset_free(&s->set);
	for (size_t i = 0; i < s->pending_count; i++)
		uidl_entry_free(&s->pending[i].e);
	free(s->pending);
	for (size_t i = 0; i < s->legacy_count; i++) {
		close_fd(s->legacy[i].lockfd);
		free(s->legacy[i].base);
	}
	close_fd(s->journalfd);
	close_fd(s->dirfd);
	close_fd(s->lockfd);	/* releases the flock */
	state_header_free(&s->key);
	state_header_free(&s->last);
	free(s->state_path);
	free(s->journal_path);
	free(s->base);
	free(s->lock_base);
	free(s->dir);
	free(s);
}

const char *
uidl_state_path(const struct uidl_state *s)
{
	return s->state_path;
}
