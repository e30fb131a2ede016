/*
 * Attachments (mailpipe-send --attach FILE[=NAME]): the files are opened
 * and measured before anything is sent, then the whole message, header,
 * body part and each file coded on the way, is written into a new spool
 * file in one streaming pass, so that everything after (SIZE, the queue,
 * dot-stuffing, retries) works on a complete message as it does without
 * attachments, and memory does not grow with the size of a file.
 */
#ifndef MAILPIPE_ATTACH_H
#define MAILPIPE_ATTACH_H

#include <stdbool.h>
#include <sys/types.h>

#include "compose.h"
#include "mimetype.h"
#include "spool.h"

struct attachment {
	const char *arg;	/* FILE or FILE=NAME as given */
	char *path;		/* the file read */
	char *name;		/* the name sent */
	int fd;
	off_t size;		/* when opened; the file must keep it */
	const char *type;	/* media type, without parameters */
	bool utf8_text;		/* a text type, valid UTF-8: charset=utf-8 */
	bool as_qp;		/* quoted-printable (smaller), else base64 */
};

struct attachments {
	struct attachment *items;
	size_t count;
	size_t alloc;
	struct mimetype_table types;
	/* --html FILE: the text/html alternative to the body (arg NULL when
	 * not given), opened, measured and read like the files. */
	struct attachment html;
};

/* Notes one --attach argument (not opened yet).  "-" (stdin is the
 * message) and "" are FAIL_USAGE. */
int attach_add(struct attachments *a, const char *arg);
/* Notes --html FILE (not opened yet): FAIL_USAGE for a second one, "-"
 * (stdin is the body) or "". */
int attach_html(struct attachments *a, const char *path);
/* Opens every file (and the --html file) and decides how it travels: its name (NAME, or the
 * file's name without its directories), its type (mime_types, NULL: the
 * system table) and its coding.  An argument that names an existing file
 * is that file; else FILE=NAME is split at the last "=".  FAIL_NOINPUT
 * for a file that cannot be opened or is not a regular file, FAIL_USAGE
 * for a name that cannot be sent, FAIL_TEMPORARY for a file that changed
 * size while being read. */
int attach_open(struct attachments *a, const char *mime_types);
/* Writes the message into a new spool *out: the header of compose_build()
 * for m and o (with its Content-* fields moved into the first part), the
 * body of in as the first part of a multipart/mixed, then each file.
 * With --html, the body and the HTML file are the two parts of a
 * multipart/alternative, which is the message (no files) or the first
 * part of the multipart/mixed.
 * *out holds a raw message (header and body).  Without attachments the
 * message is written as it is (the -s header with --cc and --reply-to,
 * kept whole for the queue).  FAIL_IO for the spool,
 * FAIL_NOINPUT and FAIL_TEMPORARY (size changed) for a file. */
int attach_compose(const struct spool *in, const struct parsed_message *m,
	const struct compose_options *o, struct attachments *a, struct spool *out);
void attach_free(struct attachments *a);

/* attach.c, for attach-compose.c: hands the file's bytes to use(), in
 * chunks of buf_size, exactly at->size of them: a file that ends earlier
 * or goes on is FAIL_TEMPORARY; use()'s -1 ends the reading. */
int attach_read(const struct attachment *at, char *buf, size_t buf_size,
	int (*use)(void *arg, const char *p, size_t n), void *arg);

#endif
