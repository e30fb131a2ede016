/*
 * Address-list scanner (address.c) on arbitrary header values.
 *
 * The input, cut at its first NUL, is an address list.  Checked:
 *  - address_list_qualify(list, "example.com") extracts to the same
 *    addresses as list, except that each one without "@" has
 *    "@example.com" appended; an address is never cut: one longer than
 *    ADDR_MAX (998) extracts as TOO_LONG (which is not sendable), also
 *    when qualification made it so;
 *  - qualifying is idempotent;
 *  - address_is_sendable() agrees with its definition on every address;
 *  - address_resolve() of the first addresses, with the input itself as the
 *    aliases file, either fails with FAIL_USAGE or gives distinct sendable
 *    addresses that all have an "@".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "address.h"
#include "fuzz_common.h"
#include "status.h"
#include "strlist.h"

#define INPUT_MAX (64 * 1024)
#define DOMAIN "example.com"
#define ADDR_MAX 998		/* address.c's limit for one extracted address */
#define TOO_LONG "<address too long>"	/* address.c's stand-in */
#define RESOLVE_MAX 32		/* each bare name rescans the aliases file */

static char aliases_path[4096];

static void
cleanup(void)
{
	unlink(aliases_path);
}

static void
write_aliases(const uint8_t *data, size_t size)
{
	int fd;

	if (aliases_path[0] == '\0') {
		const char *dir = getenv("TMPDIR");

		snprintf(aliases_path, sizeof aliases_path, "%s/fuzz-aliases-XXXXXX",
		    dir != NULL && *dir != '\0' ? dir : "/tmp");
		fd = mkstemp(aliases_path);
		if (fd < 0) {
			perror("mkstemp");
			abort();
		}
		close(fd);
		atexit(cleanup);
	}
	fuzz_write_file(aliases_path, data, size);
}

static void
check_resolve(const uint8_t *data, size_t size, const struct strlist *plain)
{
	struct strlist rcpts = { 0 };

	for (size_t i = 0; i < plain->count && i < RESOLVE_MAX; i++)
		strlist_push(&rcpts, plain->items[i]);
	write_aliases(data, size);
	fail_clear();
	if (address_resolve(&rcpts, aliases_path, DOMAIN) < 0) {
		FUZZ_CHECK(fail_class() == FAIL_USAGE);
	} else {
		for (size_t i = 0; i < rcpts.count; i++) {
			FUZZ_CHECK(address_is_sendable(rcpts.items[i]));
			FUZZ_CHECK(strchr(rcpts.items[i], '@') != NULL);
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(strcasecmp(rcpts.items[i], rcpts.items[j]) != 0);
		}
	}
	fail_clear();
	strlist_free(&rcpts);
}

static bool
sendable_reference(const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || n > 998)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)a[i];

		if (ch <= ' ' || ch == '<' || ch == '>' || ch == 0x7f)
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strlist plain = { 0 }, qualified = { 0 };
	char *list, *q, *qq;

	if (size > INPUT_MAX)
		return -1;
	list = malloc(size + 1);
	memcpy(list, data, size);
	list[size] = '\0';

	address_list_extract(list, &plain);
	q = address_list_qualify(list, DOMAIN);
	address_list_extract(q, &qualified);

	/*
	 * Regression seeds corpus-address/regress-long-*: an address longer
	 * than ADDR_MAX used to be cut silently, and qualification then went
	 * by the cut copy ("x{1000}@example.org" became
	 * "x{1000}@example.org@example.com").
	 */
	FUZZ_CHECK(qualified.count == plain.count);
	for (size_t i = 0; i < plain.count; i++) {
		const char *p = plain.items[i], *a = qualified.items[i];
		size_t pl = strlen(p);

		FUZZ_CHECK(pl > 0 && pl <= ADDR_MAX);
		FUZZ_CHECK(address_is_sendable(p) == sendable_reference(p));
		if (strcmp(p, TOO_LONG) == 0 || strchr(p, '@') != NULL) {
			FUZZ_CHECK(strcmp(a, p) == 0);
		} else if (pl + strlen("@" DOMAIN) > ADDR_MAX) {
			FUZZ_CHECK(strcmp(a, TOO_LONG) == 0);
		} else {
			FUZZ_CHECK(strncmp(a, p, pl) == 0);
			FUZZ_CHECK(strcmp(a + pl, "@" DOMAIN) == 0);
		}
	}
	FUZZ_CHECK(!address_is_sendable(TOO_LONG));

	qq = address_list_qualify(q, DOMAIN);
	FUZZ_CHECK(strcmp(qq, q) == 0);

	check_resolve(data, size, &plain);

	free(qq);
	free(q);
	free(list);
	strlist_free(&plain);
	strlist_free(&qualified);
	return 0;
}
