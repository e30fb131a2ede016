#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"

const struct timing peer_patience = { .timeout_ms = 10000, .deadline_ms = 0 };

void
peer_wait_drained(int fd)
{
	for (int spins = 0; spins < 200000; spins++) {
		int queued = 0;

		if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued == 0)
			return;
		if (spins < 1000)
			sched_yield();
		else
			usleep(50);
	}
}

struct conn *
peer_bytewise(const char *data, size_t n, bool hold_open, pid_t *pid_r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fflush(stdout);
	*pid_r = fork();
	if (*pid_r < 0)
		abort();
	if (*pid_r == 0) {
		char ch;

		close(sv[0]);
		for (size_t i = 0; i < n; i++) {
			if (send(sv[1], data + i, 1, MSG_NOSIGNAL) != 1)
				_exit(0);
			peer_wait_drained(sv[1]);
		}
		while (hold_open && recv(sv[1], &ch, 1, 0) > 0)
			;
		_exit(0);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	return conn_from_fd(sv[0], "peer", &peer_patience);
}

void
peer_end(struct conn *c, pid_t pid)
{
	conn_close(c);
	waitpid(pid, NULL, 0);
}

int
peer_spool_text(const char *data, size_t n, bool has_header, struct spool *s)
{
	char path[] = "/tmp/mailpipe-test.XXXXXX";
	int fd = mkstemp(path), rc;

	if (fd < 0)
		abort();
	unlink(path);
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, data + off, n - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	lseek(fd, 0, SEEK_SET);
	rc = spool_read(fd, has_header, s);
	close(fd);
	return rc;
}
