/* See feeder.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "feeder.h"

static void __attribute__((noreturn))
die(const char *what)
{
	perror(what);
	abort();
}

/* True once the reader has taken everything queued, or we must stop. */
static bool
wait_drained(struct feeder *f)
{
	for (;;) {
		int queued = 0;

		if (atomic_load(&f->stop))
			return false;
		if (ioctl(f->watch_fd, SIOCINQ, &queued) < 0)
			die("feeder: SIOCINQ");
		if (queued == 0)
			return true;
		sched_yield();
	}
}

static void *
writer(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;

	for (unsigned k = 0; off < f->size; k++) {
		size_t n = k < 256 ? f->chunk : FEEDER_CHUNK_MAX;

		if (n > f->size - off)
			n = f->size - off;
		if (!wait_drained(f))
			return NULL;
		while (n > 0) {
			ssize_t w = write(f->writer_fd, f->data + off, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return NULL;	/* reader gone: nothing more to do */
			off += (size_t)w;
			n -= (size_t)w;
		}
	}
	shutdown(f->writer_fd, SHUT_WR);	/* EOF for the reader */
	return NULL;
}

int
feeder_start(struct feeder *f, const uint8_t *data, size_t size, size_t chunk)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		die("feeder: socketpair");
	f->reader_fd = fds[0];
	f->writer_fd = fds[1];
	f->watch_fd = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
	if (f->watch_fd < 0)
		die("feeder: dup");
	f->data = data;
	f->size = size;
	f->chunk = chunk == 0 || chunk > FEEDER_CHUNK_MAX ? FEEDER_CHUNK_MAX : chunk;
	atomic_init(&f->stop, false);
	if (pthread_create(&f->thread, NULL, writer, f) != 0)
		die("feeder: pthread_create");
	return f->reader_fd;
}

void
feeder_stop(struct feeder *f)
{
	atomic_store(&f->stop, true);
	/* The writer may be in write() only with an empty queue and a chunk
	 * far below the socket buffer, so it cannot block there. */
	pthread_join(f->thread, NULL);
	close(f->writer_fd);
	close(f->watch_fd);
}

size_t
feeder_chunk_size(uint8_t selector)
{
	static const size_t sizes[] = { FEEDER_CHUNK_MAX, 1, 2, 3, 7, 64, 511, 4096 };

	return sizes[selector % (sizeof sizes / sizeof sizes[0])];
}
