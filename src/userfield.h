/*
 * --header 'Name: value': one header field given on mailpipe-send's
 * command line, checked before anything is read, and the rule that says
 * what it does to the header compose builds.  A field is an argument a
 * caller may pass on from elsewhere, so it is checked strictly: exactly
 * one field, no line break or control byte in it, a name of RFC 5322
 * ftext, a value of UTF-8 text.
 *
 * The rule, by name (case does not matter):
 *   To, Cc, Bcc             refused: recipients are arguments, --cc, --bcc
 *   MIME-Version, Content-* refused: mailpipe-send writes the MIME fields
 *   From, Sender, Reply-To  replace the message's or the generated field;
 *                           addresses ASCII, display names any UTF-8
 *   Subject                 replaces the message's Subject (not with -s)
 *   Date, Message-ID,       replace the message's or the generated field;
 *   In-Reply-To, References ASCII only
 *   anything else           added after the message's fields; repeatable
 * A field that replaces may be given once.
 */
#ifndef MAILPIPE_USERFIELD_H
#define MAILPIPE_USERFIELD_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"
#include "strlist.h"

/* The longest field name (RFC 5322 2.1.1's 78 columns, less ": "). */
#define USERFIELD_NAME_MAX 76
/* The longest --header argument, in bytes. */
#define USERFIELD_MAX 4096
/* The longest run of ASCII without white space in a value: longer could
 * not be folded into a line of 998 octets (RFC 5322 2.1.1). */
#define USERFIELD_WORD_MAX 900

/* How the value is written. */
enum userfield_value {
	USERFIELD_TEXT,		/* unstructured: RFC 2047 words when not ASCII */
	USERFIELD_ADDRESSES,	/* an address list: display names encoded */
	USERFIELD_ASCII,	/* structured, ASCII only: as given */
};

struct userfield {
	size_t name_length;	/* the name starts the argument */
	const char *value;	/* after the colon and leading white space */
	enum userfield_value kind;
	bool replaces;		/* at most once: replaces the message's */
};

/* Checks the len bytes of one --header argument and describes it.
 * FAIL_USAGE, with a line naming what is wrong, when it is not one field
 * the rule allows; FAIL_DATA for an address that is not ASCII (that
 * needs SMTPUTF8, which this path does not use). */
int userfield_parse(const char *arg, size_t len, struct userfield *f);

/* Appends the field of arg (described by userfield_parse()) to t as
 * mailpipe-send writes it: text folded or encoded, an address list with
 * its display names encoded, structured ASCII folded at its spaces. */
void userfield_write(struct strbuf *t, const char *arg, const struct userfield *f);
/* Checks one argument (userfield_parse()) and adds it to fields; a second
 * field of a name that replaces is FAIL_USAGE. */
int userfield_add(struct strlist *fields, const char *arg);
/* -s and --header Subject, --reply-to and --header Reply-To, or -F and
 * --header From, given together: FAIL_USAGE. */
int userfield_conflicts(const struct strlist *fields, bool subject_given, bool reply_to_given,
	bool full_name_given);
/* Checks an address list given to option (--cc, --reply-to) that goes
 * into the header with its display names: FAIL_USAGE for a control byte
 * or bytes that are not UTF-8, FAIL_DATA for non-ASCII outside a display
 * name before <address> (an address or comment would need SMTPUTF8). */
int userfield_address_list(const char *option, const char *list);
/* Whether arg (a checked field) has this name. */
bool userfield_is(const char *arg, const char *name);
/* The field of fields called name, or NULL. */
const char *userfield_find(const struct strlist *fields, const char *name);

#endif
