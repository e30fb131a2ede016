/*
 * The fetch state: its directory, lock and state file, and the order of
 * operations at open, replay and save (the journal's records are in
 * uidl-journal.c, the take-over of a version 1 state in uidl-legacy.c).
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
#include "status.h"
#include "uidl-private.h"
#include "xalloc.h"

#define JOURNAL_READ_BUFFER 65536

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

/* Lower-case hex, as version 1 wrote it: its files are found by name. */
char *
uidl_hashed_name(const char *account, const char *text, size_t len)
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
	char *name = uidl_hashed_name(account, text, len);

	free(text);
	return name;
}

/* ---- files in the directory ---- */

int
uidl_refuse_link(const char *dir, const char *name)
{
	return fail(FAIL_AUTH, "%s/%s is a symbolic link or not a regular file; refusing "
	    "to use it (remove it)", dir, name);
}

/* openat() in the state directory, never through a link and never
 * waiting (O_NONBLOCK: a FIFO planted there would block a reader for
 * ever; it changes nothing for a regular file); anything but a regular
 * file is refused like a link.  A refusal is FAIL_AUTH (errno ELOOP),
 * anything else -1 with errno set and nothing recorded. */
int
uidl_open_in_dir(struct uidl_state *s, const char *base, const char *suffix, int flags)
{
	char *name = xasprintf("%s%s", base, suffix);
	int fd = openat(s->dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	int saved = errno;
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		close(fd);
		fd = -1;
		saved = ELOOP;
	}
	if (fd < 0 && saved == ELOOP)
		uidl_refuse_link(s->dir, name);
	free(name);
	errno = saved;
	return fd;
}

bool
uidl_exists_in_dir(struct uidl_state *s, const char *base, const char *suffix)
{
	char *name = xasprintf("%s%s", base, suffix);
	struct stat st;
	bool found = fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;

	free(name);
	return found;
}

void
uidl_unlink_in_dir(struct uidl_state *s, const char *base, const char *suffix)
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
int
uidl_lock_file(struct uidl_state *s, const char *base, int *fd_r)
{
	*fd_r = uidl_open_in_dir(s, base, ".lock", O_RDWR | O_CREAT);
	if (*fd_r < 0)
		return errno == ELOOP ? -1 : fail(FAIL_CANTCREAT,
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

int
uidl_fopen_in_dir(struct uidl_state *s, const char *base, const char *suffix,
	FILE **fp_r, char **path_r)
{
	int fd = uidl_open_in_dir(s, base, suffix, O_RDONLY);

	*fp_r = NULL;
	*path_r = xasprintf("%s/%s%s", s->dir, base, suffix);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return errno == ELOOP ? -1 : fail(FAIL_IO, "cannot read %s: %s", *path_r,
		    strerror(errno));
	if ((*fp_r = fdopen(fd, "r")) == NULL)
		xalloc_fail();
	/* A journal of a big first fetch is megabytes: read it in large pieces. */
	setvbuf(*fp_r, NULL, _IOFBF, JOURNAL_READ_BUFFER);
	return 0;
}

int
uidl_read_state_file(struct uidl_state *s, const char *base, struct state_header *h,
	bool backed)
{
	char *path = xasprintf("%s/%s.state", s->dir, base);
	int fd = uidl_open_in_dir(s, base, ".state", O_RDONLY), rc = 0;

	memset(h, 0, sizeof *h);
	if (fd < 0 && errno != ENOENT)
		rc = errno == ELOOP ? -1 : fail(FAIL_IO, "cannot read %s: %s", path,
		    strerror(errno));
	else if (fd >= 0)
		rc = statefile_read(fd, path, h, &s->set, backed ? &s->backing : NULL);
	if (fd >= 0 && (rc < 0 || !backed))
		close(fd);
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
	if (uidl_read_state_file(s, s->base, &s->last, true) < 0)
		return -1;
	if (s->last.version == 0)
		return 0;	/* none yet */
	s->set.changed = false;	/* the file says what the set holds */
	s->header_changed = !same_name(s->last.host, s->key.host) ||
	    s->last.port != s->key.port;
	if (s->last.version != 2 || !same_name(s->last.account, s->key.account) ||
	    !same_name(s->last.user, s->key.user) || !same_name(s->last.maildir,
	    s->key.maildir))
		return fail(FAIL_IO, "%s belongs to another account, user or Maildir; "
		    "remove it", s->state_path);
	return 0;
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
	s->header_changed = true;	/* until a state file is read */
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
	if (s->write && (uidl_lock_file(s, s->lock_base, &s->lockfd) < 0 ||
	    uidl_open_existing_journal(s) < 0))
		return -1;
	if (load_state(s) < 0 || uidl_load_journal(s, s->base, STATEFILE_VERSION) < 0)
		return -1;
	return uidl_load_legacy(s);
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

/* R: counts when its file reached new/ or cur/, else its tmp file goes.
 * A message handed to another target (uidl_file_is_target()) counts: its
 * record was written once the target had it.  Without a Maildir (the
 * target changed since), a Maildir file cannot be looked for: the message
 * is retrieved again rather than risk losing it. */
static void
resolve_retrieved(struct uidl_state *s, struct maildir *md, struct journal_record *r)
{
	if (uidl_file_is_target(r->e.file) || (md != NULL && maildir_has(md, r->e.file))) {
		uidlset_add(&s->set, &r->e);
		return;
	}
	if (s->write && md != NULL)
		maildir_drop_tmp(md, r->e.file);
	uidl_entry_free(&r->e);
}

/* D: marks the entry.  A run journals its D records after all its R
 * records (just before QUIT), and the journal holds one run's records, so
 * all R records are resolved first and the set is sorted once. */
static void
resolve_delete(struct uidl_state *s, struct journal_record *r)
{
	struct uidl_known *e = uidlset_find(&s->set, r->e.uidl);

	if (e != NULL) {
		e->delete_requested = true;
		uidlset_note_change(&s->set);
	}
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
	uidlset_note_change(&s->set);	/* the journal must be emptied */
	if (uidl_save(s, false) < 0)
		return -1;
	uidl_remove_legacy(s);
	return 0;
}

bool
uidl_file_is_target(const char *file)
{
	/* Only the names deliver.c writes: any other "=..." in a journal is
	 * not ours, and is not taken as a delivery. */
	return strcmp(file, UIDL_FILE_MDA) == 0 || strcmp(file, UIDL_FILE_LMTP) == 0 ||
	    strcmp(file, UIDL_FILE_MBOX) == 0;
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

void
uidl_set_server(struct uidl_state *s, const char *host, unsigned port)
{
	char *copy = host != NULL ? xstrdup(host) : NULL;

	if (!same_name(host, s->key.host) || port != s->key.port)
		s->header_changed = true;
	free(s->key.host);
	s->key.host = copy;
	s->key.port = port;
}

/* ---- writing ---- */

/* Creates base.state.tmp exclusively; a leftover of a crashed save (never a
 * link: unlinkat removes the name, not what it points to) is replaced. */
static int
create_temp(struct uidl_state *s)
{
	int fd = uidl_open_in_dir(s, s->base, ".state.tmp", O_WRONLY | O_CREAT | O_EXCL);

	if (fd < 0 && errno == EEXIST) {
		uidl_unlink_in_dir(s, s->base, ".state.tmp");
		fd = uidl_open_in_dir(s, s->base, ".state.tmp", O_WRONLY | O_CREAT | O_EXCL);
	}
	if (fd < 0 && errno != ELOOP)
		fail(FAIL_IO, "cannot create %s.tmp: %s", s->state_path, strerror(errno));
	return fd;
}

static int
write_temp(struct uidl_state *s)
{
	int fd = create_temp(s), rc = fd < 0 ? -1 : 0;
	char *path = xasprintf("%s.tmp", s->state_path);

	if (rc == 0 && statefile_write(fd, path, &s->key, &s->set) < 0)
		rc = -1;
	free(path);
	if (rc == 0 && fsync(fd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s.tmp: %s", s->state_path, strerror(errno));
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = fail(FAIL_IO, "cannot close %s.tmp: %s", s->state_path, strerror(errno));
	return rc;
}

/* True when the state file would say something else than it says: a
 * run that found nothing new (the nightly common case in a big mailbox)
 * then writes and fsyncs nothing.  Every change to the set sets its
 * changed flag (uidlset.h), and the journal is only written with one. */
static bool
save_needed(const struct uidl_state *s)
{
	return s->set.changed || s->header_changed;
}

int
uidl_save(struct uidl_state *s, bool prune)
{
	char *tmp, *name;
	int rc;

	uidlset_compact(&s->set, prune);
	if (!save_needed(s))
		return 0;
	tmp = xasprintf("%s.state.tmp", s->base);
	name = xasprintf("%s.state", s->base);
	rc = write_temp(s);
	if (rc == 0 && renameat(s->dirfd, tmp, s->dirfd, name) < 0)
		rc = fail(FAIL_IO, "cannot rename %s.tmp: %s", s->state_path, strerror(errno));
	if (rc == 0 && fsync(s->dirfd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s: %s", s->dir, strerror(errno));
	if (rc < 0)
		unlinkat(s->dirfd, tmp, 0);
	free(tmp);
	free(name);
	if (rc < 0 || uidl_empty_journal(s) < 0)
		return -1;
	s->set.changed = s->header_changed = false;
	return 0;
}

void
uidl_close(struct uidl_state *s)
{
	if (s == NULL)
		return;
	uidlset_free(&s->set);
	statefile_backing_free(s->backing);
	for (size_t i = 0; i < s->pending_count; i++)
		uidl_entry_free(&s->pending[i].e);
	free(s->pending);
	for (size_t i = 0; i < s->legacy_count; i++) {
		fs_close(s->legacy[i].lockfd);
		free(s->legacy[i].base);
	}
	fs_close(s->journalfd);
	fs_close(s->dirfd);
	fs_close(s->lockfd);	/* releases the flock */
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
