/*
 * Looking at the queue without claiming anything: the listing (for
 * --queue and for the order of a flush) and the tidying of what killed
 * runs left.  An envelope is replaced by rename, so reading it unlocked
 * always sees one whole version.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "queue-private.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

/* An envelope is a few lines per recipient; anything bigger is not one. */
#define ENVELOPE_MAX (4 * 1024 * 1024)
/* How long a message being added may lie unlocked before it counts as
 * left by a killed run. */
#define ABANDONED_AFTER 3600

bool
queue_is_id(const char *name)
{
	return strlen(name) == QUEUE_ID_LENGTH &&
	    strspn(name, "0123456789abcdef") == QUEUE_ID_LENGTH;
}

/* The whole small file at fd into *text_r (NUL-terminated), or -1 with
 * errno set (EFBIG when it is too big to be an envelope). */
static int
read_small_file(int fd, char **text_r, size_t *len_r)
{
	struct strbuf b = { 0 };
	char buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || b.len + (size_t)n > ENVELOPE_MAX) {
			free(strbuf_take(&b, NULL));
			errno = n < 0 ? errno : EFBIG;
			return -1;
		}
		strbuf_append(&b, buf, (size_t)n);
	}
	*text_r = strbuf_take(&b, len_r);
	return 0;
}

int
queue_read_envelope(const struct queue *q, int dirfd, const char *id,
	struct queue_envelope *e)
{
	int fd = openat(dirfd, QUEUE_ENVELOPE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;
	char *text, *name;
	size_t len;

	if (fd < 0 && errno == ENOENT)
		return QUEUE_GONE;
	if (fd < 0 || read_small_file(fd, &text, &len) < 0) {
		fs_close(fd);
		return queue_write_error(q, "read an envelope");
	}
	close(fd);
	name = xasprintf("%s/%s/%s", q->path, id, QUEUE_ENVELOPE);
	rc = queue_envelope_parse(text, len, name, e) < 0 ? -1 : QUEUE_CLAIMED;
	free(name);
	free(text);
	return rc;
}

/* ---- the listing ---- */

/* The size of the entry's message, and when it was written: the message
 * is never changed once written, so its mtime orders the messages queued
 * within one second of each other. */
static void
message_facts(int dirfd, struct queue_item *item)
{
	struct stat st;

	if (fstatat(dirfd, QUEUE_MESSAGE, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	item->size = (long long)st.st_size;
	item->written_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

/* Adds the entry name of base to l, or nothing when it has gone. */
static void
list_entry(const struct queue *q, int base, const char *name, struct queue_list *l)
{
	struct queue_item item = { .size = -1 };
	int dirfd = openat(base, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = dirfd < 0 ? (errno == ENOENT ? QUEUE_GONE : queue_refuse(q, name)) :
	    queue_read_envelope(q, dirfd, name, &item.env);

	memcpy(item.id, name, QUEUE_ID_LENGTH + 1);
	if (rc < 0)
		item.problem = xstrdup(fail_reason());
	if (rc != QUEUE_GONE) {
		if (dirfd >= 0)
			message_facts(dirfd, &item);
		l->items = xgrow(l->items, &l->alloc, l->count + 1, sizeof *l->items);
		l->items[l->count++] = item;
	} else {
		queue_envelope_free(&item.env);
	}
	fs_close(dirfd);
}

/* Oldest first: by the first attempt, then by when the message was
 * written (several a second); the id decides between equals, so the order
 * is stable. */
static int
by_age(const void *a, const void *b)
{
	const struct queue_item *x = a, *y = b;

	if (x->env.created != y->env.created)
		return x->env.created < y->env.created ? -1 : 1;
	if (x->written_ns != y->written_ns)
		return x->written_ns < y->written_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The entries of the directory open at base. */
static int
list_dir(const struct queue *q, int base, struct queue_list *l)
{
	int fd = dup(base);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		fs_close(fd);
		return queue_write_error(q, "list the messages");
	}
	rewinddir(d);	/* the offset is shared with base */
	while ((de = readdir(d)) != NULL)
		if (queue_is_id(de->d_name))
			list_entry(q, base, de->d_name, l);
	closedir(d);
	if (l->count > 1)	/* an empty queue has no array: qsort() must not see NULL */
		qsort(l->items, l->count, sizeof *l->items, by_age);
	return 0;
}

int
queue_list(struct queue *q, bool failed, struct queue_list *l)
{
	int rc;

	memset(l, 0, sizeof *l);
	if (q->fd < 0)
		return 0;
	if (!failed)
		return list_dir(q, q->fd, l);
	rc = queue_failed_dir(q, false);
	return rc != 0 ? (rc > 0 ? 0 : -1) : list_dir(q, q->failed_fd, l);
}

void
queue_list_free(struct queue_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		queue_envelope_free(&l->items[i].env);
		free(l->items[i].problem);
	}
	free(l->items);
	memset(l, 0, sizeof *l);
}

/* ---- tidying ---- */

/* Whether no run holds the message of the entry open at dirfd (one
 * without a message file is held by nobody). */
static bool
unheld(int dirfd)
{
	int fd = openat(dirfd, QUEUE_MESSAGE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool free_to_take = fd < 0 ? errno == ENOENT : flock(fd, LOCK_EX | LOCK_NB) == 0;

	fs_close(fd);
	return free_to_take;
}

static bool
abandoned(const char *name, int dirfd, int64_t now)
{
	struct stat st;
	size_t len = strlen(name), suffix = strlen(QUEUE_NEW_SUFFIX);

	if (queue_is_id(name))		/* an entry is abandoned without envelope */
		return faccessat(dirfd, QUEUE_ENVELOPE, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT;
	return len == QUEUE_ID_LENGTH + suffix && strcmp(name + QUEUE_ID_LENGTH,
	    QUEUE_NEW_SUFFIX) == 0 && fstat(dirfd, &st) == 0 &&
	    now - (int64_t)st.st_mtime >= ABANDONED_AFTER;
}

static void
tidy_entry(struct queue *q, const char *name, int64_t now)
{
	int dirfd = openat(q->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dirfd < 0)
		return;
	if (abandoned(name, dirfd, now) && unheld(dirfd))
		queue_unlink_entry(q->fd, name, dirfd);
	close(dirfd);
}

void
queue_tidy(struct queue *q, int64_t now)
{
	int fd = q->fd >= 0 ? dup(q->fd) : -1;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (d == NULL) {
		fs_close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && strcmp(de->d_name, QUEUE_FAILED_DIR) != 0)
			tidy_entry(q, de->d_name, now);
	closedir(d);
}
