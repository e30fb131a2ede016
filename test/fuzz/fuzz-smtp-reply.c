/*
 * SMTP reply reader (smtp-reply.c over conn.c/proto.c), fed hostile bytes.
 *
 * Input: byte 0 selects how the bytes arrive and how replies are read
 * (bits 0-2: chunk size, see feeder_chunk_size(); bit 3: which replies are
 * read as EHLO replies); the rest is what the "server" sends.  Replies are
 * read until the reader fails (EOF at the latest).  Every line is also given
 * to smtp_parse_reply_line() and smtp_note_capability() directly.
 */
#include <stdbool.h>
#include <string.h>

#include "conn.h"
#include "feeder.h"
#include "fuzz_common.h"
#include "proto.h"
#include "smtp.h"
#include "status.h"

#define INPUT_MAX (64 * 1024)

static void
check_caps(const struct smtp_caps *caps)
{
	/* Only AUTH sets the mechanism flags. */
	FUZZ_CHECK(caps->auth || caps->auth_mechs == 0);
}

static void
check_line(const char *line, size_t len, struct smtp_caps *caps)
{
	char *copy = malloc(len + 1);	/* exact size: ASan sees any overread */
	const char *text = NULL;
	bool last = false;
	int code = 0;

	memcpy(copy, line, len);
	copy[len] = '\0';
	if (smtp_parse_reply_line(copy, len, &code, &last, &text) == 0) {
		FUZZ_CHECK(code >= 200 && code <= 599);
		FUZZ_CHECK(len >= 3);
		FUZZ_CHECK(text >= copy + 3 && text <= copy + len);
		FUZZ_CHECK(last == (len == 3 || copy[3] == ' '));
		FUZZ_CHECK(len == 3 || copy[3] == ' ' || copy[3] == '-');
		smtp_note_capability(caps, text);
	}
	smtp_note_capability(caps, copy);
	check_caps(caps);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct timing timing = { .timeout_ms = 10000, .deadline_ms = 0 };
	struct smtp_caps direct = { 0 }, caps = { 0 };
	struct feeder feeder;
	struct conn *c;
	uint8_t flags;

	if (size < 1 || size > INPUT_MAX)
		return -1;	/* not added to the corpus */
	flags = data[0];
	data++;
	size--;

	/* The parsers on each line, without the transport. */
	for (size_t start = 0; start < size;) {
		const uint8_t *lf = memchr(data + start, '\n', size - start);
		size_t end = lf != NULL ? (size_t)(lf - data) : size;
		size_t len = end - start;

		if (len > 0 && data[start + len - 1] == '\r')
			len--;
		check_line((const char *)data + start, len, &direct);
		start = end + 1;
	}

	/* The whole reader over a socket. */
	fail_clear();
	c = conn_from_fd(feeder_start(&feeder, data, size, feeder_chunk_size(flags & 7)),
	    "fuzz.example", &timing);
	for (unsigned n = 0;; n++) {
		struct smtp_reply r;
		bool as_ehlo = ((flags >> 3) + n) & 1;

		memset(&r, 0xa5, sizeof r);
		if (smtp_read_reply(c, &r, as_ehlo ? &caps : NULL) < 0) {
			FUZZ_CHECK(fail_class() == FAIL_PROTOCOL || fail_class() == FAIL_TEMPORARY);
			break;
		}
		FUZZ_CHECK(fail_class() == FAIL_NONE);
		FUZZ_CHECK(r.code >= 200 && r.code <= 599);
		FUZZ_CHECK(memchr(r.text, '\0', sizeof r.text) != NULL);
		FUZZ_CHECK(strlen(r.text) >= 3);
		check_caps(&caps);
		/* The classification of a reply that is not what was wanted. */
		FUZZ_CHECK(smtp_refused(&r, "RCPT TO", FAIL_RECIPIENT) == -1);
		FUZZ_CHECK(fail_class() == (r.code >= 500 ? FAIL_RECIPIENT :
		    r.code >= 400 ? FAIL_TEMPORARY : FAIL_PROTOCOL));
		fail_clear();
	}
	feeder_stop(&feeder);
	conn_close(c);
	fail_clear();
	return 0;
}
