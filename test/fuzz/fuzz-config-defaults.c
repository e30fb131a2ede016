/*
 * [defaults] inheritance of the mailpipe.ini loader (config.c), against an
 * oracle: the input chooses a file, not its bytes.  fuzz-config feeds the
 * loader arbitrary text, which rarely forms a [defaults] section and
 * accounts that inherit from it; here every input is such a file.
 *
 * The input's bytes choose, one after another: where [defaults] stands
 * (before, between or after the accounts), how many accounts (1-3) and of
 * which kind, and for [defaults] and each account which of the keys host,
 * timeout, deadline and domain it sets, with a value from a small table
 * that has invalid values too.  The oracle: an account's value is its
 * own, else the [defaults] one when the key is for its kind (domain is
 * SMTP only), else the built-in one (timeout 60, deadline 1800 for SMTP
 * and 21600 for POP3, no domain).
 * An invalid value in [defaults] (checked where it stands, whether an
 * account inherits it or not) or one that applies to an account, an SMTP
 * key in a [pop3] section, or an account without a host, fails the load with FAIL_CONFIG; a load that
 * succeeds has none of these and every account holds what the oracle
 * says.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_common.h"
#include "status.h"
#include "strbuf.h"

enum { KEY_HOST, KEY_TIMEOUT, KEY_DEADLINE, KEY_DOMAIN, KEYS };
#define VALUES 5
#define ACCOUNTS_MAX 3
#define UNSET (-1)

struct key_table {
	const char *name;
	bool smtp_only;
	/* NULL marks an invalid value; the number is the value it gives. */
	const char *text[VALUES];
	bool valid[VALUES];
};

static const struct key_table keys[KEYS] = {
	{ "host", false, { "mx.example", "pop.example", "h", "10.0.0.1", "a-b.example" },
	  { true, true, true, true, true } },
	{ "timeout", false, { "1", "30", "600", "0", "ten" },
	  { true, true, true, false, false } },
	{ "deadline", false, { "0", "5", "3600", "ten", "-1" },
	  { true, true, true, false, false } },
	{ "domain", true, { "example.org", "example.com", "d", "x.example", "y.example" },
	  { true, true, true, true, true } },
};

/* What the input chose: per section, the value index of each key or UNSET. */
struct plan {
	int defaults_at;		/* [defaults] before account defaults_at */
	int naccounts;
	bool smtp[ACCOUNTS_MAX];
	int set[ACCOUNTS_MAX + 1][KEYS];	/* [ACCOUNTS_MAX]: [defaults] */
};

struct input {
	const uint8_t *p;
	size_t n;
};

static unsigned
next(struct input *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static void
choose(struct input *in, struct plan *pl)
{
	pl->naccounts = 1 + (int)(next(in) % ACCOUNTS_MAX);
	pl->defaults_at = (int)(next(in) % (unsigned)(pl->naccounts + 1));
	for (int a = 0; a <= ACCOUNTS_MAX; a++) {
		if (a < ACCOUNTS_MAX)
			pl->smtp[a] = next(in) & 1;
		for (int k = 0; k < KEYS; k++) {
			unsigned b = next(in);

			pl->set[a][k] = b & 1 ? (int)((b >> 1) % VALUES) : UNSET;
		}
	}
}

static void
write_section(struct strbuf *sb, const int *set, const char *header)
{
	strbuf_printf(sb, "%s\n", header);
	for (int k = 0; k < KEYS; k++)
		if (set[k] != UNSET)
			strbuf_printf(sb, "%s = %s\n", keys[k].name, keys[k].text[set[k]]);
}

static void
write_account(struct strbuf *sb, const struct plan *pl, int a)
{
	char header[64];

	snprintf(header, sizeof header, "[%s a%d]", pl->smtp[a] ? "smtp" : "pop3", a);
	write_section(sb, pl->set[a], header);
	/* What each kind needs besides, always its own. */
	if (pl->smtp[a])
		strbuf_printf(sb, "from = me@example.org\n");
	else
		strbuf_printf(sb, "user = u\npassword = p\nmaildir = /tmp/md\n");
}

static char *
render(const struct plan *pl, size_t *len_r)
{
	struct strbuf sb = { 0 };

	for (int a = 0; a <= pl->naccounts; a++) {
		if (a == pl->defaults_at)
			write_section(&sb, pl->set[ACCOUNTS_MAX], "[defaults]");
		if (a < pl->naccounts)
			write_account(&sb, pl, a);
	}
	return strbuf_take(&sb, len_r);
}

/* The value index account a gets for key k, or UNSET. */
static int
inherited(const struct plan *pl, int a, int k)
{
	if (keys[k].smtp_only && !pl->smtp[a])
		return UNSET;
	return pl->set[a][k] != UNSET ? pl->set[a][k] : pl->set[ACCOUNTS_MAX][k];
}

static bool
plan_must_fail(const struct plan *pl)
{
	/* A [defaults] value is checked where it stands, inherited or not. */
	for (int k = 0; k < KEYS; k++)
		if (pl->set[ACCOUNTS_MAX][k] != UNSET && !keys[k].valid[pl->set[ACCOUNTS_MAX][k]])
			return true;
	for (int a = 0; a < pl->naccounts; a++) {
		if (inherited(pl, a, KEY_HOST) == UNSET)
			return true;
		/* An SMTP key in a [pop3] section "does not belong" there. */
		for (int k = 0; k < KEYS; k++)
			if (keys[k].smtp_only && !pl->smtp[a] && pl->set[a][k] != UNSET)
				return true;
		for (int k = 0; k < KEYS; k++) {
			int v = inherited(pl, a, k);

			if (v != UNSET && !keys[k].valid[v])
				return true;
		}
	}
	return false;
}

static int
number_or(const struct plan *pl, int a, int k, int builtin)
{
	int v = inherited(pl, a, k);

	return v == UNSET ? builtin : atoi(keys[k].text[v]);
}

static void
check_account(const struct plan *pl, int a, const struct account *acc)
{
	int domain = inherited(pl, a, KEY_DOMAIN);

	FUZZ_CHECK(acc->kind == (pl->smtp[a] ? ACCOUNT_SMTP : ACCOUNT_POP3));
	FUZZ_CHECK(strcmp(acc->host, keys[KEY_HOST].text[inherited(pl, a, KEY_HOST)]) == 0);
	FUZZ_CHECK(acc->timeout == number_or(pl, a, KEY_TIMEOUT, 60));
	FUZZ_CHECK(acc->deadline == number_or(pl, a, KEY_DEADLINE, pl->smtp[a] ? 1800 : 21600));
	if (domain == UNSET)
		FUZZ_CHECK(acc->domain == NULL);
	else
		FUZZ_CHECK(acc->domain != NULL &&
		    strcmp(acc->domain, keys[KEY_DOMAIN].text[domain]) == 0);
}

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

	snprintf(path, sizeof path, "%s/fuzz-config-defaults-XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);	/* mode 0600 */
	if (fd < 0) {
		perror("mkstemp");
		abort();
	}
	close(fd);
	atexit(cleanup);
	setenv("HOME", "/home/fuzz", 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct plan pl;
	struct config cfg;
	size_t len;
	char *text;
	int rc;

	if (path[0] == '\0')
		make_path();
	choose(&in, &pl);
	text = render(&pl, &len);
	fuzz_write_file(path, (const uint8_t *)text, len);
	fail_clear();
	rc = config_load(path, &cfg);
	if (rc < 0) {
		FUZZ_CHECK(fail_class() == FAIL_CONFIG);
		FUZZ_CHECK(plan_must_fail(&pl));
	} else {
		FUZZ_CHECK(!plan_must_fail(&pl));
		FUZZ_CHECK(cfg.count == (size_t)pl.naccounts);
		for (int a = 0; a < pl.naccounts; a++)
			check_account(&pl, a, &cfg.accounts[a]);
	}
	config_free(&cfg);
	free(text);
	fail_clear();
	return 0;
}
