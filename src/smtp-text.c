/*
 * The message text of SMTP DATA, read once per pass in large pieces: the
 * header from memory, the body from the spool (a local file, most likely
 * still in the page cache), each piece handed to a sink that stuffs it
 * onto the connection or counts it for SIZE.  A body sent as spooled is
 * not read for its SIZE at all: the spool counted its octets while it
 * copied them (spool.h), so a 50 MB message is read once after it is
 * written.  A body re-encoded on the way is counted here, stuffing nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "qp.h"
#include "smtp-text.h"
#include "xalloc.h"

/* Bytes of the spool read at a time: few system calls per message. */
#define READ_CHUNK 65536
/* Bytes quoted-printable encodes at a time (its output may be 8 times larger). */
#define QP_SLICE 4096
/* Bytes dot-stuffed at a time (the output may be twice as large). */
#define STUFF_CHUNK 16384
/* Stuffed text held back until this much is there, then handed on in
 * multiples of CONN_BUFFER_SIZE, the plaintext of the largest TLS record:
 * every record (and its write()) is full.  Stuffing grows each chunk a
 * little, and a chunk written as it came would go out as a full record
 * and a small one. */
#define WIRE_HELD (2 * CONN_BUFFER_SIZE)

/* Where the text goes: the wire, or a count for SIZE. */
typedef int text_sink(void *to, const char *p, size_t n);

/* The buffers of one pass, on the heap (~160 kB): a stack this deep is not
 * ours to take, and static buffers would be globals. */
struct text_buffers {
	char in[READ_CHUNK];
	char encoded[QP_OUT_MAX(QP_SLICE)];
	char wire[WIRE_HELD + 2 * STUFF_CHUNK + 1];
};

struct to_wire {
	struct conn *conn;
	struct smtp_stuffer *st;
	char *wire;
	size_t held;		/* stuffed bytes in wire, not yet written */
};

/* The whole records of what is held go to the connection (written at
 * once: conn_write() does not copy so much), the rest moves up. */
static int
write_whole_records(struct to_wire *w)
{
	size_t whole = w->held - w->held % CONN_BUFFER_SIZE;

	if (conn_write(w->conn, w->wire, whole) < 0)
		return -1;
	w->held -= whole;
	memmove(w->wire, w->wire + whole, w->held);
	return 0;
}

static int
stuff_to_wire(void *to, const char *p, size_t n)
{
	struct to_wire *w = to;

	while (n > 0) {
		size_t chunk = n < STUFF_CHUNK ? n : STUFF_CHUNK;

		w->held += smtp_stuff(w->st, p, chunk, w->wire + w->held);
		if (w->held >= WIRE_HELD && write_whole_records(w) < 0)
			return -1;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

struct size_count {
	struct smtp_stuffer st;
	long long octets;
};

static int
add_to_size(void *to, const char *p, size_t n)
{
	struct size_count *c = to;

	c->octets += smtp_size_octets(&c->st, p, n);
	return 0;
}

/* n bytes of the body, quoted-printable encoded a slice at a time. */
static int
encode_qp(struct qp_encoder *qp, const char *p, size_t n, struct text_buffers *b,
	text_sink *sink, void *to)
{
	while (n > 0) {
		size_t slice = n < QP_SLICE ? n : QP_SLICE;

		if (sink(to, b->encoded, qp_encode(qp, p, slice, b->encoded)) < 0)
			return -1;
		p += slice;
		n -= slice;
	}
	return 0;
}

static int
each_body_piece(const struct smtp_message *m, struct text_buffers *b, text_sink *sink,
	void *to)
{
	struct qp_encoder qp;
	off_t offset = m->body_offset;
	ssize_t n;

	qp_init(&qp);
	while ((n = spool_pread(m->spool, b->in, sizeof b->in, offset)) > 0) {
		offset += n;
		if (m->body_as_qp ? encode_qp(&qp, b->in, (size_t)n, b, sink, to) < 0 :
		    sink(to, b->in, (size_t)n) < 0)
			return -1;
	}
	if (n < 0)
		return -1;
	return m->body_as_qp ? sink(to, b->encoded, qp_finish(&qp, b->encoded)) : 0;
}

/* The text, piece by piece as the client has it (before stuffing). */
static int
each_piece(const struct smtp_message *m, struct text_buffers *b, text_sink *sink, void *to)
{
	if (sink(to, m->header, m->header_length) < 0)
		return -1;
	return each_body_piece(m, b, sink, to);
}

/* The body's size as the spool counted it while copying (spool.h), when
 * the body goes as spooled: from where the spool says it starts, not
 * re-encoded, after a header that ends its last line (so that the
 * body's first byte starts a line, as it did for the count). */
static bool
counted_by_spool(const struct smtp_message *m, long long *octets_r)
{
	const struct body_facts *f = &m->spool->body;

	if (m->body_as_qp || m->body_offset != m->spool->body_offset ||
	    (m->header_length > 0 && m->header[m->header_length - 1] != '\n'))
		return false;
	*octets_r = (long long)f->smtp_octets + (f->open_line ? 2 : 0);
	return true;
}

int
smtp_message_size(const struct smtp_message *m, long long *size_r)
{
	struct text_buffers *b;
	struct size_count count = { .octets = 0 };
	long long body;
	int rc;

	smtp_stuff_init(&count.st);
	if (counted_by_spool(m, &body)) {
		*size_r = smtp_size_octets(&count.st, m->header, m->header_length) + body;
		return 0;
	}
	b = xmalloc(sizeof *b);
	rc = each_piece(m, b, add_to_size, &count);
	free(b);
	if (rc < 0)
		return -1;
	/* A last line without its ending is completed by the end of DATA. */
	*size_r = count.octets + (count.st.at_line_start ? 0 : 2);
	return 0;
}

int
smtp_text_write(struct conn *c, const struct smtp_message *m, struct smtp_stuffer *st)
{
	struct text_buffers *b = xmalloc(sizeof *b);
	struct to_wire w = { .conn = c, .st = st, .wire = b->wire, .held = 0 };
	int rc = each_piece(m, b, stuff_to_wire, &w);

	if (rc == 0)
		rc = conn_write(c, w.wire, w.held);	/* the last, short record */
	free(b);
	return rc;
}
