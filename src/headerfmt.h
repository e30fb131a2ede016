/*
 * The text of the header fields mailpipe-send writes itself (-s, -F,
 * --cc, --reply-to, --header): RFC 2047 encoded-words for what is not
 * ASCII, display names as phrases, and folding, so that every line of
 * such a field stays within 78 columns (RFC 5322 2.1.1) unless one ASCII
 * word is longer.
 *
 * Encoded-words are "B" (base64), never "Q": a B word's length depends
 * only on its byte count, so a word can be cut to fit a line exactly and
 * always between two UTF-8 sequences, and the same word is valid in a
 * display name and in unstructured text, where Q allows different
 * characters.  The charset is UTF-8; a word holds at most
 * HEADERFMT_WORD_BYTES bytes (72 characters: RFC 2047's limit is 75), and
 * fewer when that fills its line.  A display name of up to 45 bytes is
 * one word (on a line of its own if need be), since python's email
 * package (3.11, policy.default) reads a space between two encoded-words
 * of a phrase, which RFC 2047 6.2 says to ignore; a longer name is more
 * words, read right by RFC 2047 decoders (and python's decode_header()).
 * An address field may fold right after its name; unstructured text
 * never does (python reads that as a leading space), so its first word
 * holds at least one UTF-8 sequence and a field name of more than 56
 * characters can make that first line longer than 78 columns.  A line
 * with one ASCII word longer than the line is longer too.
 *
 * Output lines end in LF (the SMTP stuffer makes them CRLF).
 */
#ifndef MAILPIPE_HEADERFMT_H
#define MAILPIPE_HEADERFMT_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"
#include "strlist.h"

#define HEADERFMT_FOLD_WIDTH 78
#define HEADERFMT_WORD_BYTES 45
/* Plain ASCII text up to this long may go into a field as it is. */
#define HEADERFMT_PLAIN_MAX 900

/* Printable ASCII (no control byte, no 8-bit byte), at most max bytes. */
bool headerfmt_is_plain(const char *s, size_t max);
/* Appends "Name: value\n", the value unstructured text: ASCII folded at
 * its spaces, anything else (and text holding "=?") as encoded-words. */
void headerfmt_text_field(struct strbuf *t, const char *name, const char *value);
/* Appends "Name: value\n", value printable ASCII of a structured field
 * (Date, Message-ID), folded at its spaces, never encoded. */
void headerfmt_ascii_field(struct strbuf *t, const char *name, const char *value);
/* Appends "Name: a, b\n" from address lists (each item one list, such as
 * "Name <a@b>, c@d"), each element's display name written as a phrase
 * (encoded-words when not ASCII, else quoted when it must be), folded
 * between elements and words. */
void headerfmt_address_field(struct strbuf *t, const char *name, const struct strlist *lists);
/* Appends "Name: Display <address>\n" (display NULL or "": the address
 * alone), folded like an address field. */
void headerfmt_mailbox_field(struct strbuf *t, const char *name, const char *display,
	const char *address);
/* Whether an address list holds non-ASCII bytes only in display names
 * before an angle-bracketed address (what the writer above can encode);
 * addresses, comments and elements without "<" must be ASCII. */
bool headerfmt_address_list_ok(const char *list);

#endif
