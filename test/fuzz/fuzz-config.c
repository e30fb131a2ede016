/*
 * mailpipe.ini loader (config.c, config-read.c, config-keys.c + inih) on
 * arbitrary file contents.
 *
 * The input is written to a private (0600) temporary file and loaded with
 * an explicit path, so no environment variable or real config file is
 * consulted.  Checked: failures are FAIL_CONFIG with a "FILE:LINE:" or
 * "FILE:" reason; a loaded config has accounts whose invariants hold; the
 * account lookups and endpoint_of() work on it; config_free() leaves
 * nothing behind (LeakSanitizer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "endpoint.h"
#include "fuzz_common.h"
#include "status.h"

#define INPUT_MAX (64 * 1024)

static char path[4096];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

static void
make_path(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(path, sizeof path, "%s/fuzz-config-XXXXXX", dir);
	fd = mkstemp(path);	/* mode 0600 */
	if (fd < 0) {
		perror("mkstemp");
		abort();
	}
	close(fd);
	atexit(cleanup);
	/* Deterministic "~/" expansion. */
	setenv("HOME", "/home/fuzz", 1);
}

static void
check_account(const struct account *a)
{
	struct endpoint ep;

	FUZZ_CHECK(a->kind == ACCOUNT_SMTP || a->kind == ACCOUNT_POP3);
	FUZZ_CHECK(a->name != NULL && a->name[0] != '\0');
	FUZZ_CHECK(a->host != NULL && a->host[0] != '\0');
	FUZZ_CHECK(a->port >= 1 && a->port <= 65535);
	FUZZ_CHECK(a->timeout >= 1);
	FUZZ_CHECK(a->deadline >= 0);
	FUZZ_CHECK(a->tls == TLS_MODE_OFF || a->tls == TLS_MODE_STARTTLS ||
	    a->tls == TLS_MODE_IMPLICIT);
	if (a->kind == ACCOUNT_SMTP)
		FUZZ_CHECK(a->auth != AUTH_USER && a->maildir == NULL && a->state_dir == NULL);
	else
		FUZZ_CHECK(a->auth != AUTH_NONE && a->auth != AUTH_LOGIN && a->from == NULL &&
		    a->helo == NULL && a->aliases == NULL && a->domain == NULL);
	endpoint_of(a, 1000, &ep);
	FUZZ_CHECK(ep.host == a->host && ep.port == a->port);
	FUZZ_CHECK(ep.timing.timeout_ms >= 1000);
	FUZZ_CHECK(ep.timing.deadline_ms == (a->deadline > 0 ? 1000 + a->deadline * 1000LL : 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	const struct account *a;

	if (size > INPUT_MAX)
		return -1;
	if (path[0] == '\0')
		make_path();
	fuzz_write_file(path, data, size);
	fail_clear();
	if (config_load(path, &cfg) < 0) {
		FUZZ_CHECK(fail_class() == FAIL_CONFIG);
		FUZZ_CHECK(strncmp(fail_reason(), path, strlen(path)) == 0);
	} else {
		FUZZ_CHECK(cfg.path != NULL && strcmp(cfg.path, path) == 0);
		for (size_t i = 0; i < cfg.count; i++)
			check_account(&cfg.accounts[i]);
		for (int kind = ACCOUNT_SMTP; kind <= ACCOUNT_POP3; kind++) {
			fail_clear();
			if (config_account(&cfg, kind, NULL, &a) == 0) {
				FUZZ_CHECK(a->kind == (enum account_kind)kind);
			} else {
				FUZZ_CHECK(fail_class() == FAIL_CONFIG);
			}
			if (cfg.count > 0) {
				fail_clear();
				if (config_account(&cfg, kind, cfg.accounts[0].name, &a) == 0)
					FUZZ_CHECK(strcmp(a->name, cfg.accounts[0].name) == 0);
			}
		}
	}
	config_free(&cfg);
	fail_clear();
	return 0;
}
