/*
 * The spool: one pass over stdin that stores the bytes and measures them.
 * The file is unlinked at once, so nothing is left behind on any exit path,
 * SIGKILL included.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "status.h"

struct scan {
	bool in_header;
	size_t line_length;	/* octets in the current line so far */
	bool line_has_text;	/* anything but CR in the current line */
};

static void
note_byte(struct body_facts *f, struct scan *sc, unsigned char ch)
{
	if (ch == '\n') {
		sc->line_length = 0;
		sc->line_has_text = false;
		return;
	}
	if (ch != '\r') {
		sc->line_has_text = true;
		if (++sc->line_length > f->longest_line)
			f->longest_line = sc->line_length;
	}
	f->has_8bit |= ch >= 0x80;
	f->has_nul |= ch == '\0';
}

static void
scan_chunk(struct spool *s, struct scan *sc, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sc->in_header) {
			/* An empty line (LF or CRLF alone) ends the header. */
			if (p[i] == '\n' && !sc->line_has_text) {
				sc->in_header = false;
				s->body_offset = s->size + (off_t)i + 1;
				sc->line_length = 0;
				continue;
			}
			note_byte(&s->header, sc, p[i]);
		} else {
			note_byte(&s->body, sc, p[i]);
		}
	}
	s->size += (off_t)n;
}

static int
open_temporary(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: create and unlink at once. */
	char path[4096];
	int len = snprintf(path, sizeof path, "%s/mailpipe-XXXXXX", dir);

	if (len < 0 || (size_t)len >= sizeof path)
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail(FAIL_IO, "cannot spool the message: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
spool_read(int fd, bool has_header, struct spool *s)
{
	unsigned char buf[65536];
	struct scan sc = { .in_header = has_header };

	memset(s, 0, sizeof *s);
	s->fd = open_temporary();
	if (s->fd < 0)
		return fail(FAIL_IO, "cannot create a spool file: %s", strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(FAIL_NOINPUT, "cannot read the message: %s", strerror(errno));
		if (n == 0)
			break;
		if (write_all(s->fd, buf, (size_t)n) < 0)
			return -1;
		scan_chunk(s, &sc, buf, (size_t)n);
	}
	if (sc.in_header)
		s->body_offset = s->size;	/* a header without a body */
	s->header.size = s->body_offset;
	s->body.size = s->size - s->body_offset;
	return 0;
}

ssize_t
spool_pread(const struct spool *s, void *buf, size_t n, off_t offset)
{
	for (;;) {
		ssize_t got = pread(s->fd, buf, n, offset);

		if (got >= 0)
			return got;
		if (errno != EINTR)
			return fail(FAIL_IO, "cannot read the spool file: %s", strerror(errno));
	}
}

void
spool_close(struct spool *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
