/*
 * The POP3 client (pop3.c over conn.c/proto.c, with dotstuff.c and sasl.c)
 * against a hostile server: the input is everything the server says, in
 * answer to one fixed session:
 *
 *   greeting, CAPA, login, STAT, LIST, UIDL, RETR 1 + RETR 2 (pipelined),
 *   TOP 1 0, DELE 1, RSET, QUIT
 *
 * Byte 0 chooses the chunk size (bits 0-2, see feeder_chunk_size()) and the
 * login (bits 3-4: auto, SASL PLAIN, USER/PASS, auto with credentials too
 * long for an inline AUTH PLAIN); the rest is the server's bytes.
 *
 * Checked: every failure is recorded with a class; -ERR to a per-message
 * command leaves the session usable (pop3_idle); a listing gives message
 * numbers 1..2^32-1 and UIDLs whose length is right; message bodies never
 * hold more bytes than the server sent.
 */
#include <stdbool.h>
#include <string.h>

#include "conn.h"
#include "feeder.h"
#include "fuzz_common.h"
#include "pop3.h"
#include "signals.h"
#include "status.h"

#define INPUT_MAX (64 * 1024)

struct sink_state {
	size_t total;
	size_t limit;
};

static int
sink(void *arg, const char *p, size_t n)
{
	struct sink_state *s = arg;

	FUZZ_CHECK(p != NULL && n > 0);
	s->total += n;
	FUZZ_CHECK(s->total <= s->limit);
	return 0;
}

static void
on_list(void *arg, unsigned long num, unsigned long long size)
{
	(void)arg;
	(void)size;
	FUZZ_CHECK(num >= 1 && num <= 0xffffffffUL);
}

static void
on_uidl(void *arg, unsigned long num, const char *uidl, size_t len)
{
	(void)arg;
	FUZZ_CHECK(num >= 1 && num <= 0xffffffffUL);
	FUZZ_CHECK(strlen(uidl) == len);
}

/* A call's result: 0 on, POP3_REFUSED on (session still usable), -1 stop. */
static bool
go_on(int rc, const struct pop3 *p)
{
	if (rc < 0) {
		FUZZ_CHECK(fail_class() != FAIL_NONE);
		return false;
	}
	if (rc == POP3_REFUSED)
		FUZZ_CHECK(fail_class() != FAIL_NONE);
	else
		FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(pop3_idle(p));
	fail_clear();
	return true;
}

static void
session(struct pop3 *p, unsigned login, struct sink_state *body)
{
	static const enum auth_method methods[] = { AUTH_AUTO, AUTH_PLAIN, AUTH_USER, AUTH_AUTO };
	char long_user[300];
	unsigned long count;
	unsigned long long size;
	int rc;

	memset(long_user, 'u', sizeof long_user - 1);
	long_user[sizeof long_user - 1] = '\0';
	if (!go_on(pop3_login(p, methods[login], login == 3 ? long_user : "alice",
	    "s3cret"), p))
		return;
	if (!go_on(pop3_stat(p, &count, &size), p) ||
	    !go_on(pop3_list(p, on_list, NULL), p) ||
	    !go_on(pop3_uidl(p, on_uidl, NULL), p))
		return;

	FUZZ_CHECK(pop3_send_retr(p, 1) == 0 && pop3_send_retr(p, 2) == 0);
	FUZZ_CHECK(!pop3_idle(p));
	rc = pop3_read_retr(p, sink, body);
	if (rc < 0)
		return;
	rc = pop3_read_retr(p, sink, body);
	if (!go_on(rc, p))
		return;
	if (!go_on(pop3_top(p, 1, 0, sink, body), p))
		return;
	FUZZ_CHECK(pop3_send_dele(p, 1) == 0);
	if (!go_on(pop3_read_dele(p), p))
		return;
	if (!go_on(pop3_rset(p), p))
		return;
	rc = pop3_quit(p);
	FUZZ_CHECK(rc == 0 || fail_class() == FAIL_TEMPORARY);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* As in the mains: the feeder may still be writing when the session has
 * closed its end, and that must be EPIPE, not the end of the fuzzer. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signals_ignore_sigpipe();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct timing timing = { .timeout_ms = 10000, .deadline_ms = 0 };
	struct sink_state body = { 0, 0 };
	struct feeder feeder;
	struct pop3 *p = NULL;
	struct conn *c;
	uint8_t flags;

	if (size < 1 || size > INPUT_MAX)
		return -1;
	flags = data[0];
	data++;
	size--;
	body.limit = size;

	fail_clear();
	c = conn_from_fd(feeder_start(&feeder, data, size, feeder_chunk_size(flags & 7)),
	    "pop.fuzz.example", &timing);
	if (pop3_open_conn(c, &p) < 0) {
		/* c is closed, or p holds it (a greeting or CAPA that failed) */
		FUZZ_CHECK(fail_class() != FAIL_NONE);
	} else {
		const struct pop3_caps *caps = pop3_caps(p);

		FUZZ_CHECK(caps->known || (!caps->stls && caps->sasl_mechs == 0 && !caps->uidl));
		FUZZ_CHECK(pop3_idle(p));
		session(p, (flags >> 3) & 3, &body);
	}
	pop3_close(p);
	feeder_stop(&feeder);
	fail_clear();
	return 0;
}
