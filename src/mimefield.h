/*
 * The small pieces of MIME an attachment's part header needs: the file
 * name as a Content-Disposition parameter (RFC 2183, RFC 2231 when it is
 * not ASCII), a random boundary, and the UTF-8 check that decides whether
 * a text file is sent as text.
 */
#ifndef MAILPIPE_MIMEFIELD_H
#define MAILPIPE_MIMEFIELD_H

#include <stdbool.h>
#include <stddef.h>

/* The longest file name sent, in bytes (that of most file systems). */
#define MIMEFIELD_NAME_MAX 255

/* Whether name can be sent as a file name: 1 to MIMEFIELD_NAME_MAX bytes
 * of valid UTF-8, no control character, no "/". */
bool mimefield_name_ok(const char *name);
/* The filename parameter(s) for a name that mimefield_name_ok() accepts,
 * each after "; " and a folded line break: `filename="..."` for printable
 * ASCII that fits a line quoted, else RFC 2231 `filename*=utf-8''%XX...`, split into numbered
 * sections (`filename*0*=`, ...) so that no line passes 78 columns, and
 * never inside a UTF-8 sequence.  New string. */
char *mimefield_filename(const char *name);
/* A new random boundary: "=_" (which neither base64 nor quoted-printable
 * can produce) and 32 hex digits.  New string. */
char *mimefield_boundary(void);

/* A streaming UTF-8 validator (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), which also notes NUL bytes. */
struct utf8_check {
	unsigned need;		/* continuation bytes still to come */
	unsigned char lower, upper;	/* the range of the next one */
	bool bad;
	bool has_nul;
};
void utf8_check_init(struct utf8_check *u);
void utf8_check_feed(struct utf8_check *u, const void *p, size_t n);
/* Valid and complete UTF-8 without a NUL byte: text. */
bool utf8_check_is_text(const struct utf8_check *u);

#endif
