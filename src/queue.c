/*
 * The queue directory (layout, durability and locking are described in
 * queue.h): adding a message, claiming one, rewriting its envelope,
 * removing it or moving it to failed/.  Listing and tidying are in
 * queue-list.c; both share queue-private.h.
 *
 * Why a directory per message: the message and its envelope then appear
 * together with one rename, and move to failed/ together with another,
 * so no crash can leave a message without its envelope in the queue, or
 * the other way round.
 */
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
#include "random.h"
#include "status.h"
#include "xalloc.h"

/* How often a new id is drawn when one is taken (64 random bits: never). */
#define ID_TRIES 8
/* One read of the message while copying it in. */
#define COPY_CHUNK 65536

/* ---- the directory ---- */

int
queue_open(const char *dir, bool create, struct queue **q_r)
{
	struct queue *q = xcalloc(1, sizeof *q);

	q->path = xstrdup(dir);
	q->fd = q->failed_fd = -1;
	*q_r = q;
	if (create && fs_mkdirs(dir, 0700) < 0)
		return fail(FAIL_CANTCREAT, "cannot create queue directory %s: %s", dir,
		    strerror(errno));
	q->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->fd < 0 && !create && errno == ENOENT)
		return 0;
	if (q->fd < 0)
		return fail(FAIL_CANTCREAT, "cannot open queue directory %s: %s", dir,
		    strerror(errno));
	if (fs_check_trusted_fd(q->fd, dir, FS_READERS_ANY) < 0)
		return fail_context("queue_dir");
	return 0;
}

const char *
queue_path(const struct queue *q)
{
	return q->path;
}

void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	fs_close(q->fd);
	fs_close(q->failed_fd);
	free(q->path);
	free(q);
}

int
queue_write_error(const struct queue *q, const char *what)
{
	return fail(FAIL_IO, "cannot %s in the queue %s: %s", what, q->path, strerror(errno));
}

int
queue_failed_dir(struct queue *q, bool create)
{
	if (q->failed_fd >= 0)
		return 0;
	if (q->fd < 0)
		return 1;
	if (create && mkdirat(q->fd, QUEUE_FAILED_DIR, 0700) == 0 && fsync(q->fd) < 0)
		return queue_write_error(q, "make failed/");
	q->failed_fd = openat(q->fd, QUEUE_FAILED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (q->failed_fd < 0 && errno == ENOENT && !create)
		return 1;
	if (q->failed_fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? queue_refuse(q, QUEUE_FAILED_DIR) :
		    queue_write_error(q, "open failed/");
	if (fs_check_trusted_fd(q->failed_fd, q->path, FS_READERS_ANY) < 0)
		return fail_context("queue_dir failed/");
	return 0;
}

int
queue_refuse(const struct queue *q, const char *name)
{
	return fail(FAIL_AUTH, "%s/%s is a symbolic link or not a directory; refusing to "
	    "use it (remove it)", q->path, name);
}

/* ---- files in an entry ---- */

/* Creates name in dirfd exclusively (a leftover of a killed run is
 * removed first), writes the len bytes at text and fsyncs it.  -1 with
 * errno set. */
static int
write_new_file(int dirfd, const char *name, const char *text, size_t len)
{
	int fd, rc, saved;

	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	rc = fs_write_all(fd, text, len) < 0 || fsync(fd) < 0 ? -1 : 0;
	saved = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

/* The envelope e written as file name in dirfd.  -1 with errno set. */
static int
write_envelope(int dirfd, const char *name, const struct queue_envelope *e)
{
	size_t len;
	char *text = queue_envelope_format(e, &len);
	int rc = write_new_file(dirfd, name, text, len), saved = errno;

	free(text);
	errno = saved;
	return rc;
}

/* Removes an entry's files and then the entry; leftovers stay for
 * queue_tidy(). */
void
queue_unlink_entry(int base_fd, const char *name, int dirfd)
{
	static const char *const files[] = { QUEUE_ENVELOPE, QUEUE_ENVELOPE_NEW,
		QUEUE_MESSAGE };

	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		unlinkat(dirfd, files[i], 0);
	unlinkat(base_fd, name, AT_REMOVEDIR);
}

/* ---- adding ---- */

static void
new_id(char id[QUEUE_ID_LENGTH + 1])
{
	unsigned char bytes[QUEUE_ID_LENGTH / 2];

	random_bytes(bytes, sizeof bytes);
	for (size_t i = 0; i < sizeof bytes; i++)
		snprintf(id + 2 * i, 3, "%02x", bytes[i]);
}

/* Makes ID.new for a fresh id and opens it. */
static int
make_new_entry(struct queue *q, char id[QUEUE_ID_LENGTH + 1], char *name, size_t size)
{
	for (int i = 0; i < ID_TRIES; i++) {
		new_id(id);
		snprintf(name, size, "%s%s", id, QUEUE_NEW_SUFFIX);
		if (mkdirat(q->fd, name, 0700) == 0)
			return openat(q->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* The bytes of from, from offset 0 to its end, appended to to. */
static int
copy_message(int from, int to)
{
	char buf[COPY_CHUNK];
	off_t at = 0;

	for (;;) {
		ssize_t n = pread(from, buf, sizeof buf, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		if (fs_write_all(to, buf, (size_t)n) < 0)
			return -1;
		at += n;
	}
}

/* The message file, locked against queue_tidy() while it is written. */
static int
write_message(int dirfd, int from)
{
	int fd = openat(dirfd, QUEUE_MESSAGE, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600), saved;

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX) < 0 || copy_message(from, fd) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Everything of ID.new written and fsynced, then renamed to ID. */
static int
fill_and_publish(struct queue *q, int dirfd, const char *name, const char *id,
	const struct queue_envelope *e, int from)
{
	int msgfd = write_message(dirfd, from), rc;

	if (msgfd < 0)
		return -1;
	rc = write_envelope(dirfd, QUEUE_ENVELOPE, e) < 0 || fsync(dirfd) < 0 ||
	    renameat(q->fd, name, q->fd, id) < 0 ? -1 : 0;
	if (rc == 0 && fsync(q->fd) < 0) {
		int saved = errno;

		queue_unlink_entry(q->fd, id, dirfd);	/* not durably there: not there */
		errno = saved;
		rc = -1;
	}
	fs_close(msgfd);
	return rc;
}

int
queue_add(struct queue *q, const struct queue_envelope *e, int fd,
	char id_r[QUEUE_ID_LENGTH + 1])
{
	char name[QUEUE_ID_LENGTH + sizeof QUEUE_NEW_SUFFIX];
	int dirfd, rc, saved;

	if (q->fd < 0)
		return fail(FAIL_IO, "the queue %s is not open", q->path);
	dirfd = make_new_entry(q, id_r, name, sizeof name);
	if (dirfd < 0)
		return queue_write_error(q, "add a message");
	rc = fill_and_publish(q, dirfd, name, id_r, e, fd);
	saved = errno;
	if (rc < 0)
		queue_unlink_entry(q->fd, name, dirfd);
	close(dirfd);
	errno = saved;
	return rc < 0 ? queue_write_error(q, "add a message") : 0;
}

/* ---- claiming ---- */

/* The same directory as name in base, not a replacement or nothing. */
static bool
still_in_place(int base, const char *name, int dirfd)
{
	struct stat there, held;

	return fstatat(base, name, &there, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstat(dirfd, &held) == 0 && there.st_dev == held.st_dev &&
	    there.st_ino == held.st_ino;
}

/* Locks the message of the entry open at e->dirfd. */
static int
lock_message(struct queue_entry *e, int base)
{
	e->fd = openat(e->dirfd, QUEUE_MESSAGE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (e->fd < 0)
		return errno == ENOENT ? QUEUE_GONE : queue_write_error(e->q, "open a message");
	while (flock(e->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return QUEUE_BUSY;
		if (errno != EINTR)
			return queue_write_error(e->q, "lock a message");
	}
	return still_in_place(base, e->id, e->dirfd) ? QUEUE_CLAIMED : QUEUE_GONE;
}

static int
open_entry(struct queue_entry *e, int base)
{
	int rc;

	e->dirfd = openat(base, e->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (e->dirfd < 0 && errno == ENOENT)
		return QUEUE_GONE;
	if (e->dirfd < 0)
		return errno == ELOOP || errno == ENOTDIR ? queue_refuse(e->q, e->id) :
		    queue_write_error(e->q, "open a message");
	rc = lock_message(e, base);
	if (rc == QUEUE_CLAIMED)
		rc = queue_read_envelope(e->q, e->dirfd, e->id, &e->env);
	return rc;
}

int
queue_claim(struct queue *q, const char *id, bool failed, struct queue_entry **e_r)
{
	struct queue_entry *e;
	int rc;

	*e_r = NULL;
	if (!queue_is_id(id) || q->fd < 0)
		return QUEUE_GONE;
	if (failed && (rc = queue_failed_dir(q, false)) != 0)
		return rc > 0 ? QUEUE_GONE : -1;
	e = xcalloc(1, sizeof *e);
	*e = (struct queue_entry){ .q = q, .failed = failed, .fd = -1, .dirfd = -1 };
	memcpy(e->id, id, QUEUE_ID_LENGTH + 1);
	rc = open_entry(e, failed ? q->failed_fd : q->fd);
	if (rc == QUEUE_CLAIMED)
		*e_r = e;
	else
		queue_release(e);
	return rc;
}

/* ---- what becomes of a claimed message ---- */

int
queue_update(struct queue_entry *e)
{
	if (write_envelope(e->dirfd, QUEUE_ENVELOPE_NEW, &e->env) < 0 ||
	    renameat(e->dirfd, QUEUE_ENVELOPE_NEW, e->dirfd, QUEUE_ENVELOPE) < 0) {
		int saved = errno;

		/* Cut short by a full disk: the old envelope stands, and its
		 * unfinished successor must not keep the space. */
		unlinkat(e->dirfd, QUEUE_ENVELOPE_NEW, 0);
		errno = saved;
		return queue_write_error(e->q, "update a message's envelope");
	}
	if (fsync(e->dirfd) < 0)
		return queue_write_error(e->q, "update a message's envelope");
	return 0;
}

int
queue_remove(struct queue_entry *e)
{
	int base = e->failed ? e->q->failed_fd : e->q->fd;

	if (unlinkat(e->dirfd, QUEUE_ENVELOPE, 0) < 0 || fsync(e->dirfd) < 0)
		return queue_write_error(e->q, "remove a message");
	queue_unlink_entry(base, e->id, e->dirfd);
	fsync(base);	/* the envelope's removal is durable already */
	return 0;
}

int
queue_move_failed(struct queue_entry *e)
{
	if (queue_failed_dir(e->q, true) != 0)
		return -1;
	if (renameat(e->q->fd, e->id, e->q->failed_fd, e->id) < 0 ||
	    fsync(e->q->failed_fd) < 0 || fsync(e->q->fd) < 0)
		return queue_write_error(e->q, "move a message to failed/");
	e->failed = true;
	return 0;
}

void
queue_release(struct queue_entry *e)
{
	if (e == NULL)
		return;
	fs_close(e->fd);	/* the lock goes with it */
	fs_close(e->dirfd);
	queue_envelope_free(&e->env);
	free(e);
}
