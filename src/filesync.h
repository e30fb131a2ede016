/*
 * filesync: the data of a set of files made durable at once, as an
 * fdatasync() of each would, but without paying one disk-cache flush per
 * file and without syncing anybody else's data (no syncfs()).
 *
 * The fdatasync()s of a set are submitted together on an io_uring and
 * run side by side in the kernel: files whose write-back was started
 * earlier (sync_file_range) share one journal commit, and the cache
 * flushes of the others merge in the block layer.  One after another
 * each would wait for a flush of its own.  Where io_uring is refused (an
 * old kernel, a container's seccomp filter, kernel.io_uring_disabled),
 * each file gets a plain fdatasync(), one after another: slower, just as
 * durable.  filesync.c has the measurements.
 *
 * The guarantee is fdatasync()'s for every file, no more (not the file's
 * name: that is the caller's directory fsync) and no less.
 */
#ifndef MAILPIPE_FILESYNC_H
#define MAILPIPE_FILESYNC_H

#include <stddef.h>

/* How a set is made durable. */
enum filesync_way {
	FILESYNC_RING,	/* the fdatasync()s submitted together on an io_uring */
	FILESYNC_EACH,	/* one fdatasync() after another */
};

struct filesync;

/* A syncer that uses the way asked for where it can: FILESYNC_RING falls
 * back to FILESYNC_EACH where io_uring is refused.  Never fails. */
struct filesync *filesync_new(enum filesync_way want);
/* The way it uses now (a ring that failed is given up for EACH). */
enum filesync_way filesync_way(const struct filesync *fs);
/* fdatasync() of fds[0..n), every one waited for before it returns.  0
 * when all succeeded; else -1 with errno set to the error of the first
 * file (in the order of fds) that failed and *failed_r its index (no
 * failure recorded: the caller knows what the files are).  A file that
 * failed is never synced a second time: a second fdatasync() would find
 * the write-back error already reported and return 0 for lost data. */
int filesync_all(struct filesync *fs, const int *fds, size_t n, size_t *failed_r);
/* NULL is allowed. */
void filesync_free(struct filesync *fs);

#endif
