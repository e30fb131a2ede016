/*
 * filesync: every file of a set synced, both ways (the io_uring and one
 * fdatasync() after another), sets larger than the ring, and a file that
 * cannot be synced reported by its index wherever it stands in the set,
 * with the sync's own error.  faultfs.c counts the C library's
 * fdatasync() calls: the ring's syncs are not among them.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultfs.h"
#include "filesync.h"
#include "tap.h"

#define FILES_MAX 150

static char root[] = "/tmp/test-filesync.XXXXXX";
static int fds[FILES_MAX];

static void __attribute__((noreturn))
bail(const char *what)
{
	diag("%s: %s", what, strerror(errno));
	exit(99);
}

static const char *
way_name(enum filesync_way way)
{
	return way == FILESYNC_RING ? "ring" : "each";
}

/* n regular files of a few octets each, open for writing, in fds. */
static void
make_files(int n)
{
	for (int i = 0; i < n; i++) {
		char path[64];

		snprintf(path, sizeof path, "%s/f%d", root, i);
		fds[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fds[i] < 0 || write(fds[i], "data\n", 5) != 5)
			bail(path);
	}
}

static void
close_files(int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* The C library's fdatasync() calls that syncing n files takes. */
static void
test_counts(struct filesync *fs, int n, int want_calls)
{
	size_t failed = 99;
	int calls = faultfs_fdatasync_calls;

	make_files(n);
	ok(filesync_all(fs, fds, (size_t)n, &failed) == 0 && failed == 99,
	    "%s: %d files synced", way_name(filesync_way(fs)), n);
	is_int(faultfs_fdatasync_calls - calls, want_calls, "%s: %d files, %d fdatasync() calls",
	    way_name(filesync_way(fs)), n, want_calls);
	close_files(n);
}

/* A pipe cannot be synced (EINVAL): put among n files at index bad, it is
 * the one reported. */
static void
test_unsyncable_at(struct filesync *fs, int n, int bad)
{
	int pipefd[2];
	int saved;
	size_t failed = 999;

	make_files(n);
	if (pipe(pipefd) < 0)
		bail("pipe");
	saved = fds[bad];
	fds[bad] = pipefd[1];
	errno = 0;
	ok(filesync_all(fs, fds, (size_t)n, &failed) < 0, "%s: a pipe among %d files fails",
	    way_name(filesync_way(fs)), n);
	is_int(errno, EINVAL, "%s: ... with the sync's error, EINVAL", way_name(filesync_way(fs)));
	is_int(failed, bad, "%s: ... and is named by its index", way_name(filesync_way(fs)));
	fds[bad] = saved;
	close(pipefd[0]);
	close(pipefd[1]);
	close_files(n);
}

static void
test_way(enum filesync_way way)
{
	struct filesync *fs = filesync_new(way);
	bool ring = filesync_way(fs) == FILESYNC_RING;

	test_counts(fs, 1, 1);
	test_counts(fs, 20, ring ? 0 : 20);
	test_counts(fs, 64, ring ? 0 : 64);
	test_counts(fs, 130, ring ? 0 : 130);
	test_unsyncable_at(fs, 20, 0);
	test_unsyncable_at(fs, 20, 11);
	test_unsyncable_at(fs, 20, 19);
	test_unsyncable_at(fs, 130, 100);
	is_int(filesync_way(fs), way == FILESYNC_RING && ring ? FILESYNC_RING : FILESYNC_EACH,
	    "%s: a file that cannot be synced does not give up the way", way_name(way));
	filesync_free(fs);
}

int
main(void)
{
	struct filesync *fs;

	if (mkdtemp(root) == NULL)
		bail("mkdtemp");
	fs = filesync_new(FILESYNC_EACH);
	is_int(filesync_way(fs), FILESYNC_EACH, "each is each");
	filesync_free(fs);
	fs = filesync_new(FILESYNC_RING);
	if (filesync_way(fs) == FILESYNC_RING)
		ok(1, "io_uring set up");
	else
		skip("io_uring is refused here (old kernel, seccomp, io_uring_disabled)");
	filesync_free(fs);
	filesync_free(NULL);
	test_way(FILESYNC_RING);
	test_way(FILESYNC_EACH);
	for (int i = 0; i < FILES_MAX; i++) {
		char path[64];

		snprintf(path, sizeof path, "%s/f%d", root, i);
		unlink(path);
	}
	rmdir(root);
	return done_testing();
}
