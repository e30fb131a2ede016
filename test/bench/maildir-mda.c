/*
 * maildir-mda: the MDA that scripts/bench-fetch gives fetchmail, which has
 * no Maildir delivery of its own.  A shell script (fork + cat + mv per
 * message) made fetchmail's figure the cost of three processes a message;
 * this is one small process that does what mpop and getmail do in their own
 * process: the message into tmp/, fsync, rename into new/.  Like them it
 * does not sync the directory.
 *
 * Usage: maildir-mda MAILDIR < MESSAGE      (exit 0 once the file is in new/)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int copy_stdin(int fd)
{
	static char buf[65536];
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) > 0)
		for (ssize_t done = 0, w; done < n; done += w)
			if ((w = write(fd, buf + done, (size_t)(n - done))) <= 0)
				return -1;
	return n < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	char tmp[4096], new[4096];
	struct timespec now;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: maildir-mda MAILDIR < MESSAGE\n");
		return 64;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	/* Unique within the benchmark: one delivery per process. */
	snprintf(tmp, sizeof(tmp), "%s/tmp/%lld.%09ldP%d.bench", argv[1], (long long)now.tv_sec,
		 now.tv_nsec, (int)getpid());
	snprintf(new, sizeof(new), "%s/new/%s", argv[1], strrchr(tmp, '/') + 1);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || copy_stdin(fd) != 0 || fsync(fd) != 0 || close(fd) != 0 ||
	    rename(tmp, new) != 0) {
		perror("maildir-mda");
		return 75;
	}
	return 0;
}
