/*
 * stdin spooled to an unlinked temporary file before any connection is
 * made, so a slow producer never holds an SMTP session open and memory
 * does not grow with message size.  While copying, the facts the sender
 * needs are collected in the same pass.
 */
#ifndef MAILPIPE_SPOOL_H
#define MAILPIPE_SPOOL_H

#include <stdbool.h>
#include <sys/types.h>

struct body_facts {
	off_t size;
	bool has_8bit;
	bool has_nul;
	size_t longest_line;	/* octets, without the line ending */
	/* What SMTP DATA makes of these bytes as smtp_size_octets() counts
	 * them (dotstuff.h), when they start a line: every line ending (LF,
	 * CRLF or a lone CR) two octets, no dot doubled, a last line without
	 * its ending not completed.  Counted in the copy, so that the SIZE of
	 * a body sent as spooled needs no second pass over it (the body's
	 * figure is the one used: the header is rebuilt before it is sent). */
	off_t smtp_octets;
	bool ends_in_cr;	/* the last byte is a CR: a LF next is its CRLF's */
	bool open_line;		/* the last byte is neither CR nor LF */
};

struct spool {
	int fd;
	off_t size;
	off_t header_offset;	/* where the header starts (after an mbox "From ") */
	off_t body_offset;	/* where the body starts */
	struct body_facts header;	/* facts of bytes before body_offset */
	struct body_facts body;
};

/* Copies fd to EOF into a temporary file in $TMPDIR (or /tmp).  With
 * has_header, the header is the run of header fields (and their
 * continuation lines) at the start, after an mbox "From " line if there is
 * one; it ends at an empty line, which belongs to neither part, or at the
 * first line that is not a field, which starts the body.  Without
 * has_header everything is body.  Failures: FAIL_IO, FAIL_NOINPUT. */
int spool_read(int fd, bool has_header, struct spool *s);
/* The same facts for a file already spooled (a queued message): fd,
 * which the spool now owns, read from offset 0 to its end.  FAIL_IO. */
int spool_open_file(int fd, bool has_header, struct spool *s);
/* A new temporary file in $TMPDIR (or /tmp), already unlinked, for
 * reading and writing; -1 with errno set (nothing recorded). */
int spool_temporary(void);
/* pread() that retries; FAIL_IO on error.  Returns bytes read (0 at EOF). */
ssize_t spool_pread(const struct spool *s, void *buf, size_t n, off_t offset);
void spool_close(struct spool *s);

#endif
