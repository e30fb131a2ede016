/*
 * The header side of a message: parsing the header of a raw message
 * (recipients for -t, what is missing), and building the header that is
 * actually sent: Bcc removed, Date / Message-ID / From added when missing,
 * bare local names qualified, and MIME fields for -s or for a text body
 * that has to be re-encoded quoted-printable to travel.
 */
#ifndef MAILPIPE_COMPOSE_H
#define MAILPIPE_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include "spool.h"
#include "strlist.h"

/* The longest header accepted from stdin; the body is unlimited. */
#define HEADER_MAX (1024 * 1024)

struct header_field {
	char *text;		/* the whole field, folding kept, no final newline */
	size_t length;		/* of text: a NUL byte in a field is data */
	size_t name_length;
	size_t value_offset;	/* just after the colon */
};

struct parsed_message {
	struct header_field *fields;
	size_t count;
	size_t fields_alloc;	/* room in fields, in fields */
	off_t body_offset;
	struct body_facts body;
	bool header_8bit;
};

struct compose_options {
	const char *from;		/* envelope sender, for From: if missing */
	const char *full_name;		/* -F, or NULL */
	const char *subject;		/* -s, or NULL for a raw message */
	const struct strlist *to;	/* -s: the To: header */
	const struct strlist *cc;	/* -s: the Cc: header, or NULL */
	const char *reply_to;		/* -s: the Reply-To: value, or NULL */
	const char *domain;		/* qualifies bare local names, or NULL */
	const char *host_domain;	/* this host's domain name, or NULL */
	/* The Date and Message-ID values a message without them gets (NULL:
	 * made now), so that every attempt of a queued message is the same
	 * message (compose_date(), compose_message_id()). */
	const char *date;
	const char *message_id;
	/* --header fields, each checked (userfield.h), or NULL: the rule of
	 * userfield.h says which replace a field and which are added. */
	const struct strlist *headers;
	bool server_8bitmime;
};

struct outgoing {
	char *header;		/* the header block and its empty line, LF endings */
	size_t header_length;
	off_t body_offset;
	bool body_as_qp;	/* re-encode the body while sending */
	bool sent_unfit;	/* the wire cannot carry it as is; sent unchanged */
	bool eight_bit;		/* what goes on the wire has 8-bit octets */
};

/* Reads and splits the header of a raw message in the spool.  Input that
 * does not start with a header field is taken as a body without header.
 * FAIL_DATA for a header larger than HEADER_MAX. */
int compose_parse(const struct spool *s, struct parsed_message *m);
/* The unfolded value of the first field called name, or NULL; new string. */
char *compose_field_value(const struct parsed_message *m, const char *name);
/* Appends the addresses of To, Cc and Bcc (for -t). */
void compose_recipients(const struct parsed_message *m, struct strlist *out);
/* Builds what is sent, for -s (m from a spool without header) or a raw
 * message. */
void compose_build(const struct parsed_message *m, const struct compose_options *o,
	struct outgoing *out);
void compose_free(struct parsed_message *m, struct outgoing *out);

/* A Date value for now, "Mon, 02 Jan 2006 15:04:05 -0700"; new string. */
char *compose_date(void);
/* A new Message-ID value, "<TIME.RANDOM.mailpipe@DOMAIN>", DOMAIN that of
 * from, else host_domain, else "mailpipe.invalid"; new string. */
char *compose_message_id(const char *from, const char *host_domain);

#endif
