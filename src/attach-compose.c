/*
 * The message with its attachments, written once into a new spool file:
 * multipart/mixed, the body first (with --html, a multipart/alternative
 * of the body and the HTML file), then each file in base64 or
 * quoted-printable.  Memory stays a few fixed buffers whatever the files
 * weigh.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attach.h"
#include "base64-stream.h"
#include "fs.h"
#include "header.h"
#include "mimefield.h"
#include "qp.h"
#include "status.h"
#include "strbuf.h"
#include "xalloc.h"

/* Bytes read at a time, from the spool or a file. */
#define READ_CHUNK 16384
/* Bytes gathered before a write() to the new spool. */
#define OUT_CHUNK 65536
/* A boundary that turns up in the body as it stands is replaced; with
 * 128 random bits a second try is already beyond belief. */
#define BOUNDARY_TRIES 4

/* The buffers and coders of the one pass, on the heap. */
struct writer {
	int fd;
	size_t out_length;
	char out[OUT_CHUNK];
	char in[READ_CHUNK];
	char coded[QP_OUT_MAX(READ_CHUNK)];	/* also holds B64S_OUT_MAX(READ_CHUNK) */
	struct qp_encoder qp;
	struct b64s_encoder b64;
	bool qp_mode;
};

static int
flush_out(struct writer *w)
{
	if (fs_write_all(w->fd, w->out, w->out_length) < 0)
		return fail(FAIL_IO, "cannot write the message with its attachments to a "
		    "spool file: %s", strerror(errno));
	w->out_length = 0;
	return 0;
}

static int
put(struct writer *w, const char *p, size_t n)
{
	while (n > 0) {
		size_t room = sizeof w->out - w->out_length, take = n < room ? n : room;

		memcpy(w->out + w->out_length, p, take);
		w->out_length += take;
		p += take;
		n -= take;
		if (w->out_length == sizeof w->out && flush_out(w) < 0)
			return -1;
	}
	return 0;
}

static int
put_text(struct writer *w, const char *s)
{
	return put(w, s, strlen(s));
}

/* One chunk through the writer's coder. */
static int
put_coded(void *arg, const char *p, size_t n)
{
	struct writer *w = arg;

	return put(w, w->coded, w->qp_mode ? qp_encode(&w->qp, p, n, w->coded)
	    : b64s_encode(&w->b64, p, n, w->coded));
}

static int
finish_coded(struct writer *w)
{
	return put(w, w->coded, w->qp_mode ? qp_finish(&w->qp, w->coded)
	    : b64s_finish(&w->b64, w->coded));
}

/* Splits compose's header: the Content-* fields describe the body, so
 * they go into its part; MIME-Version is written anew; the rest stays. */
static void
split_header(const struct outgoing *h, struct strbuf *top, struct strbuf *part)
{
	struct strbuf *into = top;

	for (size_t i = 0; i < h->header_length;) {
		const char *line = h->header + i, *nl = memchr(line, '\n', h->header_length - i);
		size_t len = nl != NULL ? (size_t)(nl - line) + 1 : h->header_length - i;
		size_t name = header_field_name_length(line, len);

		if (len == 1)
			break;		/* the empty line that ends it */
		if (name > 0)
			into = strncasecmp(line, "Content-", strlen("Content-")) == 0 ? part :
			    name == strlen("MIME-Version") &&
			    strncasecmp(line, "MIME-Version", name) == 0 ? NULL : top;
		if (into != NULL)
			strbuf_append(into, line, len);
		i += len;
	}
}

/* Whether the body, as it will be sent, holds the text anywhere.  Chunks
 * overlap by the text's length, so no occurrence falls between two. */
static int
body_holds(struct writer *w, const struct spool *in, off_t offset, const char *text,
	bool *found)
{
	size_t len = strlen(text);
	ssize_t n = 0;

	*found = false;
	while (!*found && (n = spool_pread(in, w->in, sizeof w->in, offset)) > 0) {
		*found = memmem(w->in, (size_t)n, text, len) != NULL;
		if ((size_t)n < len || offset + n >= in->size)
			break;
		offset += n - (ssize_t)len + 1;
	}
	return n < 0 ? -1 : 0;
}

static int
choose_boundary(struct writer *w, const struct spool *in, const struct outgoing *h,
	char **boundary)
{
	bool found = false;

	for (int i = 0; i < BOUNDARY_TRIES; i++) {
		*boundary = mimefield_boundary();
		if (h->body_as_qp)
			return 0;	/* quoted-printable cannot hold "=_" */
		if (body_holds(w, in, h->body_offset, *boundary, &found) < 0)
			return -1;
		if (!found)
			return 0;
		free(*boundary);
		*boundary = NULL;
	}
	return fail(FAIL_DATA, "no MIME boundary absent from the message found");
}

/* The boundaries of one message: mixed around the body (or the
 * alternative) and the files, alt around the body and the HTML file;
 * NULL where that multipart is not there. */
struct boundaries {
	char *mixed, *alt;
};

static int
choose_boundaries(struct writer *w, const struct spool *in, const struct outgoing *h,
	const struct attachments *a, struct boundaries *b)
{
	if (a->count > 0 && choose_boundary(w, in, h, &b->mixed) < 0)
		return -1;
	if (a->html.arg != NULL && choose_boundary(w, in, h, &b->alt) < 0)
		return -1;
	return 0;
}

/* The message's header, then the first part's: the body's own fields.
 * With files and HTML, the first part of the multipart/mixed is the
 * multipart/alternative, whose first part is the body. */
static int
put_headers(struct writer *w, const struct outgoing *h, const struct boundaries *b)
{
	struct strbuf top = { 0 }, part = { 0 };
	const char *outer = b->mixed != NULL ? b->mixed : b->alt;
	int rc;

	split_header(h, &top, &part);
	strbuf_printf(&top, "MIME-Version: 1.0\nContent-Type: multipart/%s;\n"
	    " boundary=\"%s\"\n\n--%s\n", b->mixed != NULL ? "mixed" : "alternative", outer, outer);
	if (b->mixed != NULL && b->alt != NULL)
		strbuf_printf(&top, "Content-Type: multipart/alternative;\n boundary=\"%s\"\n\n"
		    "--%s\n", b->alt, b->alt);
	strbuf_printf(&part, "\n");
	rc = put(w, top.p, top.len) < 0 || put(w, part.p, part.len) < 0 ? -1 : 0;
	free(top.p);
	free(part.p);
	return rc;
}

/* The body as spooled, or quoted-printable when compose said so. */
static int
put_body(struct writer *w, const struct spool *in, const struct outgoing *h)
{
	off_t offset = h->body_offset;
	ssize_t n;

	w->qp_mode = true;
	qp_init(&w->qp);
	while ((n = spool_pread(in, w->in, sizeof w->in, offset)) > 0) {
		offset += n;
		if (h->body_as_qp ? put_coded(w, w->in, (size_t)n) < 0
		    : put(w, w->in, (size_t)n) < 0)
			return -1;
	}
	return n < 0 || (h->body_as_qp && finish_coded(w) < 0) ? -1 : 0;
}

/* A part's header (header_text), then the file coded as it decided. */
static int
put_coded_file(struct writer *w, const struct attachment *at, const char *header_text)
{
	w->qp_mode = at->as_qp;
	qp_init(&w->qp);
	b64s_init(&w->b64);
	if (put_text(w, header_text) < 0 ||
	    attach_read(at, w->in, sizeof w->in, put_coded, w) < 0 || finish_coded(w) < 0)
		return -1;
	return put_text(w, "\n");
}

static int
put_attachment(struct writer *w, const struct attachment *at, const char *boundary)
{
	char *filename = mimefield_filename(at->name);
	char *text = xasprintf("--%s\nContent-Type: %s%s\nContent-Transfer-Encoding: %s\n"
	    "Content-Disposition: attachment%s\n\n", boundary, at->type,
	    at->utf8_text ? "; charset=utf-8" : "", at->as_qp ? "quoted-printable" : "base64",
	    filename);
	int rc = put_coded_file(w, at, text);

	free(text);
	free(filename);
	return rc;
}

/* The HTML part, the last of the multipart/alternative, and its end. */
static int
put_html(struct writer *w, const struct attachment *html, const char *alt)
{
	char *text = xasprintf("--%s\nContent-Type: text/html%s\n"
	    "Content-Transfer-Encoding: %s\n\n", alt, html->utf8_text ? "; charset=utf-8" : "",
	    html->as_qp ? "quoted-printable" : "base64");
	char *end = xasprintf("--%s--\n", alt);
	int rc = put_coded_file(w, html, text) < 0 || put_text(w, end) < 0 ? -1 : 0;

	free(text);
	free(end);
	return rc;
}

static int
write_message(struct writer *w, const struct spool *in, const struct outgoing *h,
	const struct attachments *a)
{
	struct boundaries b = { NULL, NULL };
	char *end;
	int rc = choose_boundaries(w, in, h, a, &b);

	/* The line break before a boundary is the boundary's (RFC 2046
	 * 5.1.1): one more after each part, so that the part keeps its own. */
	if (rc == 0)
		rc = put_headers(w, h, &b) < 0 || put_body(w, in, h) < 0 ||
		    put_text(w, "\n") < 0 ? -1 : 0;
	if (rc == 0 && b.alt != NULL)
		rc = put_html(w, &a->html, b.alt);
	for (size_t i = 0; rc == 0 && i < a->count; i++)
		rc = put_attachment(w, &a->items[i], b.mixed);
	if (rc == 0 && b.mixed != NULL) {
		end = xasprintf("--%s--\n", b.mixed);
		rc = put_text(w, end);
		free(end);
	}
	if (rc == 0)
		rc = flush_out(w);
	free(b.mixed);
	free(b.alt);
	return rc;
}

/* Without attachments: the header and the body as they are.  An 8-bit
 * text body stays 8-bit; the send re-encodes it, as any raw message's,
 * for a server without 8BITMIME. */
static int
write_plain(struct writer *w, const struct spool *in, const struct outgoing *h)
{
	if (put(w, h->header, h->header_length) < 0 || put_body(w, in, h) < 0)
		return -1;
	return flush_out(w);
}

int
attach_compose(const struct spool *in, const struct parsed_message *m,
	const struct compose_options *o, struct attachments *a, struct spool *out)
{
	struct compose_options built = *o;
	struct writer *w = xmalloc(sizeof *w);
	struct outgoing h;
	int rc;

	/* A body part is made fit for any server now: the parts after it are
	 * 7-bit, and the message is built once, before any server is known. */
	built.server_8bitmime = a->count == 0 && a->html.arg == NULL;
	compose_build(m, &built, &h);
	w->out_length = 0;
	w->fd = spool_temporary();
	rc = w->fd < 0 ? fail(FAIL_IO, "cannot create a spool file: %s", strerror(errno))
	    : a->count == 0 && a->html.arg == NULL ? write_plain(w, in, &h)
	    : write_message(w, in, &h, a);
	if (rc == 0)
		rc = spool_open_file(w->fd, true, out);
	else
		fs_close(w->fd);
	compose_free(NULL, &h);
	free(w);
	return rc;
}
