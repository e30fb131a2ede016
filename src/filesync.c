/*
 * filesync: the fdatasync() of a set of files, side by side on an
 * io_uring (filesync.h says why; maildir-msg.c has the measurements).
 *
 * The ring is driven with the raw system calls (no liburing): one
 * io_uring_enter() submits a set and waits for all of it.  Every sync
 * submitted is waited for before anything returns, so that no completion
 * of one set is left to be taken for one of the next, and none is
 * reported twice: a file whose sync failed is not synced again.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "filesync.h"
#include "xalloc.h"

/* Files synced side by side at most: a Maildir batch (64) in one go. */
#define RING_ENTRIES 64

struct ring {
	int fd;
	unsigned entries;
	void *sq_map, *cq_map;
	size_t sq_len, cq_len, sqes_len;
	struct io_uring_sqe *sqes;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
};

struct filesync {
	enum filesync_way way;
	struct ring ring;
};

static void *
map_ring(int fd, size_t len, long long offset)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
	    (off_t)offset);

	return p == MAP_FAILED ? NULL : p;
}

static void
ring_close(struct ring *r)
{
	if (r->sqes != NULL)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_map != NULL)
		munmap(r->cq_map, r->cq_len);
	if (r->sq_map != NULL)
		munmap(r->sq_map, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof *r);
	r->fd = -1;
}

static void
ring_point(struct ring *r, const struct io_uring_params *p)
{
	char *sq = r->sq_map, *cq = r->cq_map;

	r->entries = p->sq_entries;
	r->sq_tail = (unsigned *)(sq + p->sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p->sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p->sq_off.array);
	r->cq_head = (unsigned *)(cq + p->cq_off.head);
	r->cq_tail = (unsigned *)(cq + p->cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p->cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p->cq_off.cqes);
}

/* 0, or -1 where io_uring is refused or out of memory. */
static int
ring_open(struct ring *r)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof p);
	r->fd = (int)syscall(SYS_io_uring_setup, RING_ENTRIES, &p);
	if (r->fd < 0)
		return -1;
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sq_map = map_ring(r->fd, r->sq_len, IORING_OFF_SQ_RING);
	r->cq_map = map_ring(r->fd, r->cq_len, IORING_OFF_CQ_RING);
	r->sqes = map_ring(r->fd, r->sqes_len, IORING_OFF_SQES);
	if (r->sq_map == NULL || r->cq_map == NULL || r->sqes == NULL) {
		ring_close(r);
		return -1;
	}
	ring_point(r, &p);
	return 0;
}

/* Queues an fdatasync() of each of fds[0..k), k <= entries, tagged with
 * its index. */
static void
ring_queue(struct ring *r, const int *fds, unsigned k)
{
	unsigned tail = *r->sq_tail;

	for (unsigned i = 0; i < k; i++) {
		unsigned slot = (tail + i) & *r->sq_mask;
		struct io_uring_sqe *sqe = &r->sqes[slot];

		memset(sqe, 0, sizeof *sqe);
		sqe->opcode = IORING_OP_FSYNC;
		sqe->fd = fds[i];
		sqe->fsync_flags = IORING_FSYNC_DATASYNC;
		sqe->user_data = i;
		r->sq_array[slot] = slot;
	}
	__atomic_store_n(r->sq_tail, tail + k, __ATOMIC_RELEASE);
}

/* Takes the completions that are there; res[tag] gets each one's result.
 * Returns how many it took. */
static unsigned
ring_reap(struct ring *r, int *res, unsigned k)
{
	unsigned head = *r->cq_head, tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
	unsigned taken = 0;

	for (; head != tail; head++, taken++) {
		const struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];

		if (cqe->user_data < k)
			res[cqe->user_data] = cqe->res;
	}
	__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
	return taken;
}

/* Submits the k queued syncs and waits for every one submitted.  The
 * kernel takes them in order, so the first *submitted_r were.  -1 when
 * waiting itself failed (syncs may still be running), else 0. */
static int
ring_run(struct ring *r, int *res, unsigned k, unsigned *submitted_r)
{
	unsigned submitted = 0, done = 0;
	bool refused = false;

	while (done < submitted || (submitted < k && !refused)) {
		unsigned more = refused ? 0 : k - submitted;
		long rc = syscall(SYS_io_uring_enter, r->fd, more, submitted + more - done,
		    IORING_ENTER_GETEVENTS, NULL, 0);

		if (rc < 0 && errno != EINTR && more == 0)
			return -1;
		refused |= (rc < 0 && errno != EINTR) || (rc == 0 && more > 0);
		if (rc > 0)
			submitted += (unsigned)rc;
		done += ring_reap(r, res, k);
	}
	*submitted_r = submitted;
	return 0;
}

/* fdatasync() of each, one after another, stopping at the first failure;
 * its index in *failed_r. */
static int
sync_each(const int *fds, size_t n, size_t *failed_r)
{
	for (size_t i = 0; i < n; i++)
		if (fdatasync(fds[i]) < 0) {
			*failed_r = i;
			return -1;
		}
	return 0;
}

/* A ring that failed is given up for the rest of the run. */
static void
give_up_ring(struct filesync *fs)
{
	ring_close(&fs->ring);
	fs->way = FILESYNC_EACH;
}

static int
first_failure(const int *res, unsigned k, size_t *failed_r)
{
	for (unsigned i = 0; i < k; i++)
		if (res[i] < 0) {
			errno = -res[i];
			*failed_r = i;
			return -1;
		}
	return 0;
}

/* The ring's way for k <= RING_ENTRIES files.  Syncs the kernel did not
 * take are done one by one here (they never ran, so no error of theirs
 * was reported yet); a sync never reported counts as failed (EIO). */
static int
sync_ring(struct filesync *fs, const int *fds, unsigned k, size_t *failed_r)
{
	int res[RING_ENTRIES];
	unsigned submitted = 0;

	for (unsigned i = 0; i < k; i++)
		res[i] = -EIO;
	ring_queue(&fs->ring, fds, k);
	if (ring_run(&fs->ring, res, k, &submitted) < 0) {
		int err = errno;

		give_up_ring(fs);
		*failed_r = 0;
		errno = err;
		return -1;
	}
	if (submitted < k)
		give_up_ring(fs);	/* the rest are still queued in it */
	for (unsigned i = submitted; i < k; i++)
		res[i] = fdatasync(fds[i]) < 0 ? -errno : 0;
	return first_failure(res, k, failed_r);
}

struct filesync *
filesync_new(enum filesync_way want)
{
	struct filesync *fs = xcalloc(1, sizeof *fs);

	fs->ring.fd = -1;
	fs->way = want == FILESYNC_RING && ring_open(&fs->ring) == 0 ? FILESYNC_RING :
	    FILESYNC_EACH;
	return fs;
}

enum filesync_way
filesync_way(const struct filesync *fs)
{
	return fs->way;
}

int
filesync_all(struct filesync *fs, const int *fds, size_t n, size_t *failed_r)
{
	size_t at = 0, failed = 0;

	while (at < n) {
		size_t k = n - at < RING_ENTRIES ? n - at : RING_ENTRIES;
		int rc = fs->way == FILESYNC_RING && k > 1 ?
		    sync_ring(fs, fds + at, (unsigned)k, &failed) : sync_each(fds + at, k, &failed);

		if (rc < 0) {
			*failed_r = at + failed;
			return -1;
		}
		at += k;
	}
	return 0;
}

void
filesync_free(struct filesync *fs)
{
	if (fs == NULL)
		return;
	if (fs->way == FILESYNC_RING)
		ring_close(&fs->ring);
	free(fs);
}
