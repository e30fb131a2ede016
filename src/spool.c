/*
 * The spool: one pass over stdin that stores the bytes and measures them.
 * The file is unlinked at once, so nothing is left behind on any exit path,
 * SIGKILL included.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "header.h"
#include "spool.h"
#include "status.h"

/* What one read() from stdin asks for. */
#define READ_CHUNK 65536

/* An mbox "From " line before the header is not part of the message. */
static const char mbox_prefix[] = "From ";
#define MBOX_PREFIX_LENGTH (sizeof mbox_prefix - 1)

/*
 * Where the scanner is.  In the header, each line is classified by its first
 * bytes: a field name and a colon (header.h decides), white space (a
 * continuation), an empty line (the end of the header) or anything else
 * (the first body line).
 * Until a line is classified its facts are kept apart, so that they can be
 * counted on the side it turns out to belong to.
 */
enum scan_state {
	FIRST_LINE,		/* might be an mbox "From " line */
	MBOX_LINE,		/* skipping it */
	HEADER_LINE_START,
	FIELD_NAME,		/* maybe a field: header_field_scan() is deciding */
	HEADER_LINE,		/* a field or continuation: the rest is header */
	BODY,
};

struct scan {
	enum scan_state state;
	enum header_scan field;		/* in FIELD_NAME: how far the name got */
	size_t first_line_length;	/* bytes of the first line seen (mbox check) */
	size_t line_length;		/* octets in the current line so far */
	off_t line_start;		/* offset of the current header line */
	struct body_facts line;		/* facts of an unclassified line */
};

/* What byte ch adds to the SMTP octets: a line ending is CRLF, and a LF
 * right after a CR is the end of the line the CR ended. */
static void
note_smtp_octets(struct body_facts *f, unsigned char ch)
{
	if (ch == '\r' || ch == '\n')
		f->smtp_octets += ch == '\n' && f->ends_in_cr ? 0 : 2;
	else
		f->smtp_octets++;
	f->ends_in_cr = ch == '\r';
	f->open_line = ch != '\r' && ch != '\n';
}

static void
note_byte(struct body_facts *f, size_t *line_length, unsigned char ch)
{
	note_smtp_octets(f, ch);
	if (ch == '\n') {
		*line_length = 0;
		return;
	}
	if (ch != '\r' && ++*line_length > f->longest_line)
		f->longest_line = *line_length;
	f->has_8bit |= ch >= 0x80;
	f->has_nul |= ch == '\0';
}

static void
merge_facts(struct body_facts *into, const struct body_facts *f)
{
	into->has_8bit |= f->has_8bit;
	into->has_nul |= f->has_nul;
	if (f->longest_line > into->longest_line)
		into->longest_line = f->longest_line;
	into->smtp_octets += f->smtp_octets;
	if (f->smtp_octets > 0) {	/* f has bytes: its last byte is the last */
		into->ends_in_cr = f->ends_in_cr;
		into->open_line = f->open_line;
	}
}

/* A byte of a line that may be a field: its name and colon decide. */
static enum scan_state
after_name_byte(struct scan *sc, unsigned char ch)
{
	sc->field = header_field_scan(sc->field, ch);
	if (sc->field == HEADER_SCAN_FIELD)
		return HEADER_LINE;
	return sc->field == HEADER_SCAN_NOT_FIELD ? BODY : FIELD_NAME;
}

/* The line so far was no header line: it and the rest are body. */
static void
start_body(struct spool *s, struct scan *sc, off_t line_start)
{
	s->body_offset = line_start;
	merge_facts(&s->body, &sc->line);
	sc->state = BODY;
}

/* Classifies the header line that byte ch (at offset at) is part of. */
static void
scan_header_byte(struct spool *s, struct scan *sc, unsigned char ch, off_t at)
{
	switch (sc->state) {
	case HEADER_LINE_START:
		memset(&sc->line, 0, sizeof sc->line);
		sc->line_start = at;
		if (ch == '\n' || ch == '\r') {
			if (ch == '\n') {	/* the empty line: header done */
				s->body_offset = at + 1;
				sc->state = BODY;
			}
			return;
		}
		sc->field = HEADER_SCAN_START;
		sc->state = header_is_wsp(ch) ? HEADER_LINE : after_name_byte(sc, ch);
		break;
	case FIELD_NAME:
		sc->state = after_name_byte(sc, ch);
		break;
	default:
		break;
	}
	if (sc->state == BODY) {
		note_byte(&sc->line, &sc->line_length, ch);
		start_body(s, sc, sc->line_start);
		return;
	}
	note_byte(&sc->line, &sc->line_length, ch);
	if (ch == '\n') {
		merge_facts(&s->header, &sc->line);
		sc->state = HEADER_LINE_START;
	}
}

/* The first line: an mbox "From " line is skipped. */
static void
scan_first_line_byte(struct spool *s, struct scan *sc, unsigned char ch, off_t at)
{
	if (sc->state == FIRST_LINE && sc->first_line_length < MBOX_PREFIX_LENGTH &&
	    ch == (unsigned char)mbox_prefix[sc->first_line_length]) {
		if (++sc->first_line_length == MBOX_PREFIX_LENGTH)
			sc->state = MBOX_LINE;
		return;
	}
	if (sc->state == MBOX_LINE) {
		if (ch == '\n') {
			s->header_offset = at + 1;
			sc->state = HEADER_LINE_START;
		}
		return;
	}
	/* Not an mbox line: classify what was held back, then this byte. */
	sc->state = HEADER_LINE_START;
	for (size_t i = 0; i < sc->first_line_length; i++)
		scan_header_byte(s, sc, (unsigned char)mbox_prefix[i], (off_t)i);
	if (sc->state == BODY)
		note_byte(&s->body, &sc->line_length, ch);
	else
		scan_header_byte(s, sc, ch, at);
}

/* Whether any of p[0..n) has its high bit set, eight bytes at a time. */
static bool
any_8bit(const unsigned char *p, size_t n)
{
	uint64_t any = 0, word;
	size_t i = 0;

	for (; i + sizeof word <= n; i += sizeof word) {
		memcpy(&word, p + i, sizeof word);
		any |= word;
	}
	for (; i < n; i++)
		any |= p[i];
	return (any & UINT64_C(0x8080808080808080)) != 0;
}

/* The octets of p[0..n) that count towards a line's length: all but CR. */
static size_t
line_octets(const unsigned char *p, size_t n)
{
	const unsigned char *cr = memchr(p, '\r', n);
	size_t octets = n;

	for (; cr != NULL; cr = memchr(cr + 1, '\r', n - (size_t)(cr + 1 - p)))
		octets--;
	return octets;
}

/* The body's bytes, whole lines at a time: what note_byte() learns, at
 * memchr() speed (the body is nearly all of a large message).  Each byte
 * is an SMTP octet; a CR is two (CRLF), and so is a LF, unless it follows
 * a CR (then it is none). */
static void
scan_body(struct body_facts *f, size_t *line_length, const unsigned char *p, size_t n)
{
	const unsigned char *start = p;

	if (n == 0)
		return;
	f->has_8bit |= any_8bit(p, n);
	f->has_nul |= memchr(p, '\0', n) != NULL;
	f->smtp_octets += (off_t)n;
	while (n > 0) {
		const unsigned char *lf = memchr(p, '\n', n);
		size_t part = lf != NULL ? (size_t)(lf - p) : n;
		size_t octets = line_octets(p, part);

		f->smtp_octets += (off_t)(part - octets);	/* the CRs */
		*line_length += octets;
		if (*line_length > f->longest_line)
			f->longest_line = *line_length;
		if (lf != NULL) {
			bool after_cr = lf > start ? lf[-1] == '\r' : f->ends_in_cr;

			f->smtp_octets += after_cr ? -1 : 1;
			*line_length = 0;
			part++;
		}
		p += part;
		n -= part;
	}
	f->ends_in_cr = p[-1] == '\r';
	f->open_line = p[-1] != '\r' && p[-1] != '\n';
}

static void
scan_chunk(struct spool *s, struct scan *sc, const unsigned char *p, size_t n)
{
	size_t i = 0;

	for (; i < n && sc->state != BODY; i++) {
		off_t at = s->size + (off_t)i;

		if (sc->state == FIRST_LINE || sc->state == MBOX_LINE)
			scan_first_line_byte(s, sc, p[i], at);
		else
			scan_header_byte(s, sc, p[i], at);
	}
	scan_body(&s->body, &sc->line_length, p + i, n - i);
	s->size += (off_t)n;
}

int
spool_temporary(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE: create and unlink at once. */
	char path[PATH_MAX];
	int len = snprintf(path, sizeof path, "%s/mailpipe-XXXXXX", dir);

	if (len < 0 || (size_t)len >= sizeof path)
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}


/* The facts of the part the scan was in when the bytes ended. */
static void
finish_scan(struct spool *s, struct scan *sc)
{
	if (sc->state != BODY) {	/* a header without a body */
		merge_facts(&s->header, &sc->line);
		s->body_offset = s->size;
	}
	s->header.size = s->body_offset - s->header_offset;
	s->body.size = s->size - s->body_offset;
}

int
spool_read(int fd, bool has_header, struct spool *s)
{
	unsigned char buf[READ_CHUNK];
	struct scan sc = { .state = has_header ? FIRST_LINE : BODY };

	memset(s, 0, sizeof *s);
	s->fd = spool_temporary();
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
		if (fs_write_all(s->fd, buf, (size_t)n) < 0)
			return fail(FAIL_IO, "cannot spool the message: %s", strerror(errno));
		scan_chunk(s, &sc, buf, (size_t)n);
	}
	finish_scan(s, &sc);
	return 0;
}

int
spool_open_file(int fd, bool has_header, struct spool *s)
{
	unsigned char buf[READ_CHUNK];
	struct scan sc = { .state = has_header ? FIRST_LINE : BODY };
	ssize_t n;

	memset(s, 0, sizeof *s);
	s->fd = fd;
	while ((n = spool_pread(s, buf, sizeof buf, s->size)) > 0)
		scan_chunk(s, &sc, buf, (size_t)n);
	if (n < 0)
		return -1;
	finish_scan(s, &sc);
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
	fs_close(s->fd);
	s->fd = -1;
}
