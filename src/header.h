/*
 * What makes a line of a message header a header field, in one place for
 * the spool (which decides, byte by byte as stdin streams in, where the
 * header ends) and for compose.c (which splits the header it was given).
 * Both must agree, or a line the spool kept in the header could be copied
 * by compose as something else.
 *
 * A field starts with its name: printable US-ASCII but the colon (RFC 5322
 * 3.6.8, ftext), then the colon.  White space between the name and the
 * colon is the obsolete syntax RFC 5322 4.5.4 still asks readers to take.
 */
#ifndef MAILPIPE_HEADER_H
#define MAILPIPE_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* Where a line's start stands, fed one byte at a time to
 * header_field_scan() from HEADER_SCAN_START. */
enum header_scan {
	HEADER_SCAN_START,	/* nothing seen yet */
	HEADER_SCAN_NAME,	/* name bytes, no colon yet */
	HEADER_SCAN_NAME_SPACE,	/* "Name " : white space before the colon */
	HEADER_SCAN_FIELD,	/* the colon came: the line is a field (final) */
	HEADER_SCAN_NOT_FIELD,	/* anything else: the line is no field (final) */
};

/* ftext: a byte a field name may hold. */
bool header_is_name_byte(unsigned char ch);
/* WSP (RFC 5322 3.2.1): a space or a tab, which also starts a continuation
 * line. */
bool header_is_wsp(unsigned char ch);
/* The state after ch; a final state stays as it is. */
enum header_scan header_field_scan(enum header_scan state, unsigned char ch);
/* The length of "Name" when the len bytes of line start a field ("Name:"
 * or "Name :"), else 0. */
size_t header_field_name_length(const char *line, size_t len);

#endif
