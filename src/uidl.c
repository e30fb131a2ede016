/*
 * Retrieved-UIDL state, crash journal and lock.
 *
 * Why a journal and a state file: the state file is rewritten only once per
 * run (temp file, fsync, rename, fsync directory), which is cheap; the
 * journal records each batch before its files become visible in new/, so
 * that a SIGKILL at any moment leaves either "journaled, not renamed" (the
 * entry is dropped at the next start and the message fetched again) or
 * "journaled and renamed" (the entry counts): never a message in the
 * Maildir that the state does not know, which would be fetched twice.
 *
 * A torn last journal line (no newline: the run died inside the write) is
 * cut off when the journal is opened, before anything is appended after it
 * (otherwise the next entry would be glued to it); anything else that does
 * not parse is a corrupt file and an error, because treating it as empty
 * would fetch the whole mailbox again.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fs.h"
#include "status.h"
#include "uidl.h"
#include "xalloc.h"

#define STATE_HEADER "mailpipe-fetch state 1"
#define LINE_MAX_STATE 1024

struct uidl_state {
	char *dir;
	char *base;		/* dir/NAME.HASH */
	char *state_path, *journal_path;
	int dirfd, lockfd, journalfd;
	struct uidl_entry *entries;
	size_t count, alloc;
	bool sorted;
	size_t gone_count;	/* forgotten entries still in the array */
	unsigned long next_order;
	struct uidl_entry *pending;	/* journal entries not yet resolved */
	size_t pending_count, pending_alloc;
};

bool
uidl_valid(const char *uidl, size_t len)
{
	if (len == 0 || len > UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)uidl[i];

		if (ch < 0x21 || ch > 0x7e)
			return false;
	}
	return true;
}

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

/* NAME.HASH: the account name made safe as a file name, and the first 64
 * bits of SHA-256("user@host:port") in hex. */
static char *
base_name(const char *account, const char *user, const char *host, unsigned port)
{
	char *key = xasprintf("%s@%s:%u", user ? user : "", host ? host : "", port);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char safe[65], hex[17];
	size_t i;

	EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL);
	free(key);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	for (i = 0; account[i] != '\0' && i < sizeof safe - 1; i++) {
		char ch = account[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';

		safe[i] = ok ? ch : '_';
	}
	safe[i] = '\0';
	return xasprintf("%s.%s", safe, hex);
}

static int
take_lock(struct uidl_state *s, const char *account)
{
	char *path = xasprintf("%s.lock", s->base);

	s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		fail(FAIL_CANTCREAT, "cannot create lock file %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			fail(FAIL_TEMPORARY, "account %s is in use by another mailpipe-fetch "
			    "(lock %s); try again later", account, path);
		else
			fail(FAIL_IO, "cannot lock %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

static int
compare_uidl(const void *a, const void *b)
{
	return strcmp(((const struct uidl_entry *)a)->uidl,
	    ((const struct uidl_entry *)b)->uidl);
}

static void
entry_free(struct uidl_entry *e)
{
	free(e->uidl);
	free(e->file);
}

static void
push(struct uidl_entry **v, size_t *count, size_t *alloc, const struct uidl_entry *e)
{
	if (*count == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 256;
		*v = xrealloc(*v, *alloc * sizeof **v);
	}
	(*v)[*count] = *e;
	(*count)++;
}

static int
compare_entries(const void *a, const void *b)
{
	const struct uidl_entry *x = a, *y = b;
	int c = strcmp(x->uidl, y->uidl);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts by UIDL; of several entries for one UIDL the last added wins, and
 * forgotten entries go. */
static void
sort_entries(struct uidl_state *s)
{
	size_t kept = 0;

	if (s->sorted || s->count == 0)
		return;
	qsort(s->entries, s->count, sizeof *s->entries, compare_entries);
	for (size_t i = 0; i < s->count; i++) {
		if (i + 1 < s->count && strcmp(s->entries[i].uidl, s->entries[i + 1].uidl) == 0) {
			s->entries[i + 1].seen |= s->entries[i].seen;
			entry_free(&s->entries[i]);
			continue;
		}
		if (s->entries[i].gone) {
			entry_free(&s->entries[i]);
			continue;
		}
		s->entries[kept++] = s->entries[i];
	}
	s->count = kept;
	s->gone_count = 0;
	s->sorted = true;
}

/* Drops forgotten entries, keeping the order. */
static void
compact(struct uidl_state *s)
{
	size_t kept = 0;

	if (s->gone_count == 0)
		return;
	for (size_t i = 0; i < s->count; i++) {
		if (s->entries[i].gone)
			entry_free(&s->entries[i]);
		else
			s->entries[kept++] = s->entries[i];
	}
	s->count = kept;
	s->gone_count = 0;
}

static struct uidl_entry *
find(struct uidl_state *s, const char *uidl)
{
	struct uidl_entry key = { .uidl = (char *)uidl, .order = 0 };
	struct uidl_entry *e;

	sort_entries(s);
	if (s->count == 0)
		return NULL;
	e = bsearch(&key, s->entries, s->count, sizeof *s->entries, compare_uidl);
	return e != NULL && !e->gone ? e : NULL;
}

/* Adds e (taking its strings); it replaces an older entry for its UIDL. */
static void
add(struct uidl_state *s, struct uidl_entry *e)
{
	e->order = s->next_order++;
	e->gone = false;
	push(&s->entries, &s->count, &s->alloc, e);
	s->sorted = false;
}

/* "UIDL SIZE TIME FILE" into e (strings allocated); false when malformed. */
static bool
parse_entry(char *line, struct uidl_entry *e)
{
	char *f[4], *save = NULL, *end;
	int n = 0;

	for (char *t = strtok_r(line, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (n == 4)
			return false;
		f[n++] = t;
	}
	if (n != 4 || !uidl_valid(f[0], strlen(f[0])) || !maildir_name_valid(f[3]))
		return false;
	errno = 0;
	e->size = strtoull(f[1], &end, 10);
	if (errno != 0 || *end != '\0' || f[1][0] == '-')
		return false;
	e->fetched = strtoll(f[2], &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	e->uidl = xstrdup(f[0]);
	e->file = xstrdup(f[3]);
	e->seen = false;
	return true;
}

static int
corrupt(const char *path, unsigned long lineno, const char *what)
{
	return fail(FAIL_IO, "%s is corrupt (line %lu: %s); repair or remove it "
	    "(without it every message on the server counts as new)", path, lineno, what);
}

/* Reads one line of at most LINE_MAX_STATE bytes; returns its length
 * without the newline, -1 at EOF, -2 for a torn (unterminated) last line,
 * -3 for an overlong one. */
static long
read_line(FILE *fp, char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, fp) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n') {
		buf[len - 1] = '\0';
		return (long)len - 1;
	}
	return feof(fp) ? -2 : -3;
}

/* The trailer "end COUNT", exactly: two fields where an entry line has
 * four, so that a UIDL such as "end" or "end5" is never taken for it. */
static bool
parse_trailer(const char *line, unsigned long *count_r)
{
	char *end;

	if (strncmp(line, "end ", 4) != 0 || !isdigit((unsigned char)line[4]))
		return false;
	errno = 0;
	*count_r = strtoul(line + 4, &end, 10);
	return errno == 0 && *end == '\0';
}

static int
load_state_lines(struct uidl_state *s, FILE *fp)
{
	char buf[LINE_MAX_STATE + 2];
	unsigned long lineno = 1, expected;
	struct uidl_entry e;
	long len;

	if (read_line(fp, buf, sizeof buf) < 0 || strcmp(buf, STATE_HEADER) != 0)
		return corrupt(s->state_path, 1, "not a mailpipe-fetch state file");
	while ((len = read_line(fp, buf, sizeof buf)) >= 0) {
		lineno++;
		if (parse_trailer(buf, &expected)) {
			if (expected != s->count)
				return corrupt(s->state_path, lineno, "entry count mismatch");
			if (read_line(fp, buf, sizeof buf) != -1)
				return corrupt(s->state_path, lineno + 1, "data after the end");
			return 0;
		}
		if (!parse_entry(buf, &e))
			return corrupt(s->state_path, lineno, "malformed entry");
		add(s, &e);
	}
	return corrupt(s->state_path, lineno + 1, len == -3 ? "line too long" :
	    "truncated (no end line)");
}

static int
load_state(struct uidl_state *s)
{
	FILE *fp = fopen(s->state_path, "re");
	int rc;

	if (fp == NULL) {
		if (errno == ENOENT)
			return 0;
		return fail(FAIL_IO, "cannot read %s: %s", s->state_path, strerror(errno));
	}
	rc = load_state_lines(s, fp);
	if (rc == 0 && ferror(fp))
		rc = fail(FAIL_IO, "cannot read %s: %s", s->state_path, strerror(errno));
	fclose(fp);
	s->sorted = false;
	return rc;
}

static int
load_journal(struct uidl_state *s)
{
	FILE *fp = fopen(s->journal_path, "re");
	char buf[LINE_MAX_STATE + 2];
	unsigned long lineno = 0;
	struct uidl_entry e;
	long len;
	int rc = 0;

	if (fp == NULL)
		return errno == ENOENT ? 0 : fail(FAIL_IO, "cannot read %s: %s",
		    s->journal_path, strerror(errno));
	while (rc == 0 && (len = read_line(fp, buf, sizeof buf)) != -1) {
		lineno++;
		if (len == -2)
			break;		/* torn last line: that write never completed */
		if (len == -3 || !parse_entry(buf, &e))
			rc = corrupt(s->journal_path, lineno, "malformed entry");
		else
			push(&s->pending, &s->pending_count, &s->pending_alloc, &e);
	}
	fclose(fp);
	return rc;
}

/* The state directory, made durably (0700) when missing. */
static int
open_dir(struct uidl_state *s)
{
	if (fs_mkdirs(s->dir, 0700) < 0 ||
	    (s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(FAIL_CANTCREAT, "cannot create state directory %s: %s", s->dir,
		    strerror(errno));
	return 0;
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

	s->journalfd = open(s->journal_path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (s->journalfd < 0)
		return errno == ENOENT ? 0 : fail(FAIL_IO, "cannot open %s: %s",
		    s->journal_path, strerror(errno));
	if (fstat(s->journalfd, &st) < 0)
		return fail(FAIL_IO, "cannot stat %s: %s", s->journal_path, strerror(errno));
	if (journal_good_length(s, st.st_size, &good) < 0)
		return -1;
	if (good == st.st_size)
		return 0;
	if (ftruncate(s->journalfd, good) < 0 || fdatasync(s->journalfd) < 0)
		return fail(FAIL_IO, "cannot cut the torn end of %s: %s", s->journal_path,
		    strerror(errno));
	return 0;
}

int
uidl_open(const char *dir, const char *account, const char *user, const char *host,
	unsigned port, struct uidl_state **s_r)
{
	struct uidl_state *s = xcalloc(1, sizeof *s);
	char *name = base_name(account, user, host, port);

	s->lockfd = s->dirfd = s->journalfd = -1;
	s->dir = xstrdup(dir);
	s->base = xasprintf("%s/%s", dir, name);
	s->state_path = xasprintf("%s.state", s->base);
	s->journal_path = xasprintf("%s.journal", s->base);
	free(name);
	if (open_dir(s) < 0 || take_lock(s, account) < 0 || open_existing_journal(s) < 0 ||
	    load_state(s) < 0 || load_journal(s) < 0) {
		uidl_close(s);
		return -1;
	}
	*s_r = s;
	return 0;
}

int
uidl_replay(struct uidl_state *s, struct maildir *md, bool write)
{
	size_t n = s->pending_count;

	for (size_t i = 0; i < n; i++) {
		struct uidl_entry *e = &s->pending[i];

		if (maildir_has(md, e->file)) {
			add(s, e);
			continue;
		}
		if (write)
			maildir_drop_tmp(md, e->file);
		entry_free(e);
	}
	s->pending_count = 0;
	if (!write || n == 0)
		return 0;
	return uidl_save(s, false);
}

struct uidl_entry *
uidl_lookup(struct uidl_state *s, const char *uidl)
{
	struct uidl_entry *e = find(s, uidl);

	if (e != NULL)
		e->seen = true;
	return e;
}

void
uidl_forget(struct uidl_state *s, const char *uidl)
{
	struct uidl_entry *e = find(s, uidl);

	if (e == NULL)
		return;
	e->gone = true;
	s->gone_count++;
}

static int
compare_sizes(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* How many of a's n sizes have a partner in b's m (both sorted). */
static size_t
count_matches(const unsigned long long *a, size_t n, const unsigned long long *b, size_t m)
{
	size_t matched = 0, i = 0, j = 0;

	while (i < n && j < m) {
		if (a[i] == b[j]) {
			matched++;
			i++;
			j++;
		} else if (a[i] < b[j]) {
			i++;
		} else {
			j++;
		}
	}
	return matched;
}

bool
uidl_reset_suspected(struct uidl_state *s, const unsigned long long *sizes, size_t n)
{
	unsigned long long *mine, *theirs;
	size_t matched;

	sort_entries(s);
	compact(s);
	if (s->count < 2 || n == 0)
		return false;
	for (size_t i = 0; i < s->count; i++)
		if (s->entries[i].seen)
			return false;
	mine = xcalloc(s->count, sizeof *mine);
	theirs = xcalloc(n, sizeof *theirs);
	for (size_t i = 0; i < s->count; i++)
		mine[i] = s->entries[i].size;
	memcpy(theirs, sizes, n * sizeof *theirs);
	qsort(mine, s->count, sizeof *mine, compare_sizes);
	qsort(theirs, n, sizeof *theirs, compare_sizes);
	matched = count_matches(mine, s->count, theirs, n);
	free(mine);
	free(theirs);
	return matched * 10 >= s->count * 9;
}

static int
write_all(int fd, const char *p, size_t n, const char *path)
{
	if (fs_write_all(fd, p, n) < 0)
		return fail(FAIL_IO, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static char *
format_entries(const struct uidl_entry *e, size_t n, size_t *len_r)
{
	size_t len = 0, alloc = 256 * (n + 1);
	char *buf = xmalloc(alloc);

	for (size_t i = 0; i < n; i++) {
		size_t need = strlen(e[i].uidl) + strlen(e[i].file) + 64;

		if (len + need > alloc) {
			alloc = 2 * alloc + need;
			buf = xrealloc(buf, alloc);
		}
		len += (size_t)snprintf(buf + len, alloc - len, "%s %llu %lld %s\n", e[i].uidl,
		    e[i].size, e[i].fetched, e[i].file);
	}
	*len_r = len;
	return buf;
}

/* The journal, for appending.  The first time it is created, the directory
 * is fsynced too: without its directory entry, the entries fsynced into it
 * could vanish with it. */
static int
open_journal(struct uidl_state *s)
{
	if (s->journalfd >= 0)
		return 0;
	s->journalfd = open(s->journal_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND |
	    O_CLOEXEC, 0600);
	if (s->journalfd < 0)
		return fail(FAIL_IO, "cannot create %s: %s", s->journal_path, strerror(errno));
	if (fsync(s->dirfd) < 0)
		return fail(FAIL_IO, "cannot fsync %s: %s", s->dir, strerror(errno));
	return 0;
}

int
uidl_journal(struct uidl_state *s, const struct uidl_entry *e, size_t n)
{
	size_t len;
	char *buf;
	int rc;

	if (n == 0)
		return 0;
	if (open_journal(s) < 0)
		return -1;
	buf = format_entries(e, n, &len);
	rc = write_all(s->journalfd, buf, len, s->journal_path);
	free(buf);
	if (rc == 0 && fdatasync(s->journalfd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s: %s", s->journal_path, strerror(errno));
	if (rc < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct uidl_entry copy = e[i];

		copy.uidl = xstrdup(e[i].uidl);
		copy.file = xstrdup(e[i].file);
		copy.seen = true;
		add(s, &copy);
	}
	return 0;
}

static int
write_state_file(const char *tmp, const struct uidl_entry *e,
	size_t n)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char *body, trailer[64];
	size_t len;
	int rc;

	if (fd < 0)
		return fail(FAIL_IO, "cannot create %s: %s", tmp, strerror(errno));
	body = format_entries(e, n, &len);
	snprintf(trailer, sizeof trailer, "end %zu\n", n);
	rc = write_all(fd, STATE_HEADER "\n", strlen(STATE_HEADER) + 1, tmp);
	if (rc == 0)
		rc = write_all(fd, body, len, tmp);
	if (rc == 0)
		rc = write_all(fd, trailer, strlen(trailer), tmp);
	free(body);
	if (rc == 0 && fsync(fd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s: %s", tmp, strerror(errno));
	if (close(fd) < 0 && rc == 0)
		rc = fail(FAIL_IO, "cannot close %s: %s", tmp, strerror(errno));
	return rc;
}

/* Drops unseen entries (the server no longer lists them). */
static void
prune(struct uidl_state *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->count; i++) {
		if (s->entries[i].seen)
			s->entries[kept++] = s->entries[i];
		else
			entry_free(&s->entries[i]);
	}
	s->count = kept;
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
uidl_save(struct uidl_state *s, bool do_prune)
{
	char *tmp = xasprintf("%s.state.tmp", s->base);
	int rc;

	sort_entries(s);
	compact(s);
	if (do_prune)
		prune(s);
	rc = write_state_file(tmp, s->entries, s->count);
	if (rc == 0 && rename(tmp, s->state_path) < 0)
		rc = fail(FAIL_IO, "cannot rename %s: %s", tmp, strerror(errno));
	if (rc == 0 && fsync(s->dirfd) < 0)
		rc = fail(FAIL_IO, "cannot fsync %s: %s", s->dir, strerror(errno));
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc == 0 ? empty_journal(s) : -1;
}

void
uidl_close(struct uidl_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->count; i++)
		entry_free(&s->entries[i]);
	for (size_t i = 0; i < s->pending_count; i++)
		entry_free(&s->pending[i]);
	free(s->entries);
	free(s->pending);
	if (s->journalfd >= 0)
		close(s->journalfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd);	/* releases the flock */
	free(s->state_path);
	free(s->journal_path);
	free(s->base);
	free(s->dir);
	free(s);
}

size_t
uidl_count(const struct uidl_state *s)
{
	return s->count - s->gone_count;
}

const char *
uidl_state_path(const struct uidl_state *s)
{
	return s->state_path;
}
