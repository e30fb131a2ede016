/*
 * Pure streaming transforms for message bodies: no I/O, no allocation, any
 * chunking of the input gives the same output (tests feed one byte at a
 * time).
 *
 * SMTP (RFC 5321 4.5.2): every line ending (LF, CRLF, or a CR not followed
 * by LF) becomes CRLF, and a line starting with "." gets another ".".
 * smtp_stuff_end() completes a last line without newline and appends the
 * terminator ".\r\n".
 *
 * POP3 (RFC 1939 3): the multi-line body after "+OK" is unstuffed, CRLF
 * becomes LF, and the terminator is detected wherever the segments split;
 * bytes after it are left unconsumed (they belong to the next response).
 * Only CRLF "." CRLF ends the body: bare LF and bare CR are data, written
 * unchanged, and a "." after them is data too (dotstuff.c says why).
 */
#ifndef MAILPIPE_DOTSTUFF_H
#define MAILPIPE_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_stuffer {
	bool at_line_start;
	bool after_cr;
};

void smtp_stuff_init(struct smtp_stuffer *s);
/* Transforms in[0..n) into out, which must hold at least 2 * n + 1 bytes;
 * returns the number of bytes written. */
size_t smtp_stuff(struct smtp_stuffer *s, const char *in, size_t n, char *out);
/* The RFC 1870 size of in[0..n): what smtp_stuff() would write, less the
 * dots it doubles ("CR-LF pairs, but not ... doubled quoting dots"),
 * counted, not written; the state moves on as smtp_stuff()'s would. */
long long smtp_size_octets(struct smtp_stuffer *s, const char *in, size_t n);
/* Writes the end of the message (at most 5 bytes) into out; returns its length. */
size_t smtp_stuff_end(struct smtp_stuffer *s, char *out);

struct pop3_unstuffer {
	int state;
	bool done;
};

void pop3_unstuff_init(struct pop3_unstuffer *u);
/* Consumes input up to and including the terminator, writing the body into
 * out (which must hold at least n + 2 bytes); sets *consumed_r and returns
 * the number of bytes written.  u->done becomes true once the terminating
 * line has been consumed. */
size_t pop3_unstuff(struct pop3_unstuffer *u, const char *in, size_t n, char *out,
	size_t *consumed_r);

#endif
