/*
 * The -t header scanner of mailpipe-send: compose_parse() and
 * compose_recipients() (compose.c, address.c) on an arbitrary message.
 * fuzz-compose runs them too but checks what is built; this target checks
 * the recipients the envelope would get:
 *
 *   - none of them holds a CR, LF or NUL (a line break in an address would
 *     put a command of the input's choosing on the SMTP wire);
 *   - an address that address_is_sendable() accepts has no octet below
 *     0x21, no '<' or '>' and no DEL (what RCPT TO:<...> can carry);
 *   - a message with no To, Cc or Bcc field name gives no recipient;
 *   - the scan is deterministic: a second scan gives the same list.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "compose.h"
#include "fuzz_common.h"
#include "spool.h"
#include "status.h"
#include "strlist.h"

#define INPUT_MAX (64 * 1024)

static int
pipe_with(const uint8_t *data, size_t size)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0) {
		perror("pipe2");
		abort();
	}
	if (size > 65536)
		fcntl(fds[1], F_SETPIPE_SZ, (int)size);
	if (size > 0 && write(fds[1], data, size) != (ssize_t)size) {
		perror("write to pipe");
		abort();
	}
	close(fds[1]);
	return fds[0];
}

/* True when some line starts with To:, Cc: or Bcc: (any case, blanks
 * before the colon allowed), the only fields the scanner reads. */
static bool
names_a_recipient_field(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "to", "cc", "bcc" };

	for (size_t i = 0; i < size; i++) {
		if (i > 0 && data[i - 1] != '\n')
			continue;
		for (size_t n = 0; n < 3; n++) {
			size_t len = strlen(names[n]);

			if (size - i > len && strncasecmp((const char *)data + i, names[n], len) == 0)
				return true;
		}
	}
	return false;
}

static void
check_recipient(const char *r)
{
	FUZZ_CHECK(strpbrk(r, "\r\n") == NULL);
	if (address_is_sendable(r))
		for (const unsigned char *p = (const unsigned char *)r; *p != '\0'; p++)
			FUZZ_CHECK(*p > ' ' && *p != '<' && *p != '>' && *p != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool s;
	struct parsed_message m;
	struct strlist first = { 0 }, again = { 0 };
	int fd;

	if (size > INPUT_MAX)
		return -1;
	fd = pipe_with(data, size);
	fail_clear();
	if (spool_read(fd, true, &s) < 0)
		abort();
	close(fd);
	if (compose_parse(&s, &m) == 0) {
		compose_recipients(&m, &first);
		compose_recipients(&m, &again);
		FUZZ_CHECK(first.count == again.count);
		for (size_t i = 0; i < first.count; i++) {
			FUZZ_CHECK(strcmp(first.items[i], again.items[i]) == 0);
			check_recipient(first.items[i]);
		}
		FUZZ_CHECK(first.count == 0 || names_a_recipient_field(data, size));
		strlist_free(&first);
		strlist_free(&again);
		compose_free(&m, NULL);
	}
	spool_close(&s);
	fail_clear();
	return 0;
}
