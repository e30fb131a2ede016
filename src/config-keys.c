/*
 * The keys of mailpipe.ini: which sections each may stand in, what its
 * value is, and the one typed reader of each kind of value (bool, number,
 * port, duration, size, TLS mode, auth method, fingerprint, path).  A
 * reader returns NULL or a reason, never records a failure: the caller
 * knows the file and the line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-keys.h"
#include "dsn.h"
#include "fs.h"
#include "lmtp.h"
#include "mda.h"
#include "secret.h"
#include "xalloc.h"

#define FIELD(f) offsetof(struct account, f)

static char **
string_field(struct account *a, size_t offset)
{
	return (char **)((char *)a + offset);
}

/* Replaces a string field; a secret's old value is wiped, not just freed. */
static const char *
store_string(struct account *a, size_t offset, char *copy)
{
	char **field = string_field(a, offset);

	if (*copy == '\0') {
		free(copy);
		return "empty value";
	}
	secret_wipe(*field);
	*field = copy;
	return NULL;
}

static const char *
parse_string(struct account *a, size_t offset, const char *value)
{
	return store_string(a, offset, xstrdup(value));
}

static const char *
parse_path(struct account *a, size_t offset, const char *value)
{
	char *path = config_expand_home(value);

	if (path == NULL)
		return "~/ stands for the home directory, but HOME is not set and the user has "
		    "no passwd entry; write the full path";
	return store_string(a, offset, path);
}

static const char *
parse_bool(struct account *a, size_t offset, const char *value)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	bool *field = (bool *)((char *)a + offset);

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
			*field = strcasecmp(value, yes[i]) == 0;
			return NULL;
		}
	}
	return "expected yes or no";
}

static const char *
parse_number(const char *value, unsigned long long max, unsigned long long *n_r)
{
	char *end;

	errno = 0;
	if (*value < '0' || *value > '9')
		return "expected a number";
	*n_r = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || *n_r > max)
		return "number out of range";
	return NULL;
}

static const char *
parse_port(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err = parse_number(value, 65535, &n);

	(void)offset;
	if (err == NULL && n == 0)
		err = "port must be 1 to 65535";
	if (err == NULL)
		a->port = (unsigned)n;
	return err;
}

/* The longest wait or run we accept: a week. */
#define DURATION_MAX (7 * 86400ULL)

/* The one reading of a time for every key: seconds, or a number with one
 * unit (90, 90s, 15m, 2h, 1d, 1w).  More than max seconds is refused, so
 * nothing can overflow. */
static const char *
parse_duration(const char *value, unsigned long long max, unsigned long long *seconds_r)
{
	static const struct { char unit; unsigned long long scale; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	size_t digits = strspn(value, "0123456789");
	unsigned long long scale = value[digits] == '\0' ? 1 : 0;

	for (size_t i = 0; i < sizeof units / sizeof units[0] && digits > 0; i++)
		if (value[digits] == units[i].unit && value[digits + 1] == '\0')
			scale = units[i].scale;
	if (digits == 0 || scale == 0)
		return "not a duration (use seconds or a number with s, m, h, d or w)";
	if (digits > 19 || strtoull(value, NULL, 10) > max / scale)
		return "too long: at most a week (1w, 604800 seconds)";
	*seconds_r = strtoull(value, NULL, 10) * scale;
	return NULL;
}

static const char *
parse_seconds(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err = parse_duration(value, DURATION_MAX, &n);

	if (err == NULL)
		*(int *)((char *)a + offset) = (int)n;
	return err;
}

/* A wait of 0 seconds would fail every operation. */
static const char *
parse_timeout(struct account *a, size_t offset, const char *value)
{
	const char *err = parse_seconds(a, offset, value);

	return err == NULL && a->timeout == 0 ? "timeout must be at least 1 second" : err;
}

/* keep = DURATION: up to ten years, so that the seconds fit any clock
 * arithmetic (fetch-policy.c adds them to a time). */
#define KEEP_DURATION_MAX (520 * 7 * 86400ULL)

/* keep = yes | no | DURATION.  A bare number is the yes or no of every
 * other switch (1, 0); a duration needs its unit (30d, 12h, 2w).  A
 * duration of 0 would mean "delete at once", which is keep = no: refused,
 * so that a typo cannot turn a backup into a move. */
static const char *
parse_keep(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err;

	if (parse_bool(a, offset, value) == NULL) {
		a->keep_for = 0;
		return NULL;
	}
	if (strspn(value, "0123456789") == strlen(value))
		return "expected yes, no or a duration such as 30d, 12h or 2w";
	err = parse_duration(value, KEEP_DURATION_MAX, &n);
	if (err != NULL)
		return strncmp(err, "too long", 8) == 0 ? "too long: at most ten years (520w)" :
		    "expected yes, no or a duration such as 30d, 12h or 2w";
	if (n == 0)
		return "a duration of 0 deletes at once: write keep = no";
	a->keep = true;
	a->keep_for = (long long)n;
	return NULL;
}

/* ---- the queue (mailpipe-send(1), QUEUE) ---- */

/* Longer than DURATION_MAX: a queued message may wait weeks. */
#define QUEUE_DURATION_MAX (365 * 86400ULL)

static const char *
parse_queue_duration(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err = parse_duration(value, QUEUE_DURATION_MAX, &n);

	if (err != NULL)
		return strncmp(err, "too long", 8) == 0 ? "too long: at most a year (52w)" : err;
	*(int *)((char *)a + offset) = (int)n;
	return NULL;
}

/* Splits value at blanks into at most max words of up to 31 bytes each;
 * the number of words, or -1 for more or longer ones. */
static int
split_words(const char *value, char words[][32], int max)
{
	int n = 0;

	for (const char *p = value + strspn(value, " \t"); *p != '\0'; p += strspn(p, " \t")) {
		size_t len = strcspn(p, " \t");

		if (n == max || len >= 32)
			return -1;
		memcpy(words[n], p, len);
		words[n++][len] = '\0';
		p += len;
	}
	return n;
}

/* "FIRST [LIMIT]": the wait after the first failed retry, doubled up to
 * LIMIT (default an hour, or FIRST when that is longer). */
static const char *
parse_backoff(struct account *a, size_t offset, const char *value)
{
	char words[2][32];
	int n = split_words(value, words, 2);
	unsigned long long first, limit = 0;
	const char *err;

	(void)offset;
	if (n < 1)
		return "expected one or two durations: the first wait and the longest (1m 1h)";
	if ((err = parse_duration(words[0], DURATION_MAX, &first)) != NULL ||
	    (n == 2 && (err = parse_duration(words[1], DURATION_MAX, &limit)) != NULL))
		return err;
	if (n == 1)
		limit = first > 3600 ? first : 3600;
	if (limit < first)
		return "the longest wait is shorter than the first";
	a->queue_backoff = (int)first;
	a->queue_backoff_limit = (int)limit;
	return NULL;
}

/* Blank-separated words: account names, or globs for match_from. */
static const char *
parse_words(struct account *a, size_t offset, const char *value)
{
	if (strpbrk(value, ",;") != NULL)
		return "separate the names with blanks, not commas";
	return parse_string(a, offset, value);
}

static const char *
parse_size(struct account *a, size_t offset, const char *value)
{
	static const char suffixes[] = "kMG";
	unsigned long long n, scale = 1;
	char digits[32];
	size_t len = strlen(value);
	const char *suffix;

	if (len == 0 || len >= sizeof digits)
		return "expected a size such as 5000000, 500k or 20M";
	memcpy(digits, value, len + 1);
	suffix = strchr(suffixes, digits[len - 1]);
	if (suffix != NULL) {
		scale = 1ULL << (10 * (suffix - suffixes + 1));
		digits[len - 1] = '\0';
	}
	if (parse_number(digits, (1ULL << 50) / scale, &n) != NULL)
		return "expected a size such as 5000000, 500k or 20M";
	*(unsigned long long *)((char *)a + offset) = n * scale;
	return NULL;
}

/* A per-run limit: 0 would retrieve nothing ever, so it is refused (no
 * limit is the key left out). */
static const char *
parse_limit_size(struct account *a, size_t offset, const char *value)
{
	const char *err = parse_size(a, offset, value);

	if (err == NULL && *(unsigned long long *)((char *)a + offset) == 0)
		return "0 would retrieve nothing: leave the key out for no limit";
	return err;
}

static const char *
parse_limit_count(struct account *a, size_t offset, const char *value)
{
	unsigned long long n;
	const char *err = parse_number(value, 1000000000, &n);

	if (err == NULL && n == 0)
		return "0 would retrieve nothing: leave the key out for no limit";
	if (err == NULL)
		*(unsigned long *)((char *)a + offset) = (unsigned long)n;
	return err;
}

static const char *
parse_tls(struct account *a, size_t offset, const char *value)
{
	(void)offset;
	if (strcasecmp(value, "off") == 0)
		a->tls = TLS_MODE_OFF;
	else if (strcasecmp(value, "starttls") == 0)
		a->tls = TLS_MODE_STARTTLS;
	else if (strcasecmp(value, "implicit") == 0)
		a->tls = TLS_MODE_IMPLICIT;
	else
		return "expected off, starttls or implicit";
	return NULL;
}

static const char *
parse_auth(struct account *a, size_t offset, const char *value)
{
	enum auth_protocol proto = a->kind == ACCOUNT_SMTP ? AUTH_FOR_SMTP : AUTH_FOR_POP3;

	(void)offset;
	if (auth_method_parse(value, proto, &a->auth) < 0)
		return auth_method_expected(proto);
	return NULL;
}

static const char *
parse_fingerprint(struct account *a, size_t offset, const char *value)
{
	unsigned char pin[TLS_PIN_LENGTH];

	if (tls_parse_fingerprint(value, pin) < 0)
		return "expected a SHA-256 fingerprint: 64 hex digits, colons allowed";
	return parse_string(a, offset, value);
}

/* The log key: none (NULL), syslog, or a file named by an absolute path
 * (a relative one would depend on the directory cron starts us in). */
static const char *
parse_log(struct account *a, size_t offset, const char *value)
{
	char **field = string_field(a, offset);

	if (strcmp(value, "none") == 0) {
		free(*field);
		*field = NULL;
		return NULL;
	}
	if (strcmp(value, "syslog") == 0)
		return store_string(a, offset, xstrdup(value));
	if (value[0] != '/' && strncmp(value, "~/", 2) != 0)
		return "expected none, syslog or an absolute path";
	return parse_path(a, offset, value);
}

/* dsn_notify, dsn_return: kept as they are sent (dsn.h). */
static const char *
parse_dsn_notify(struct account *a, size_t offset, const char *value)
{
	char canonical[DSN_NOTIFY_MAX];
	const char *err = dsn_notify_canonical(value, canonical);

	return err != NULL ? err : store_string(a, offset, xstrdup(canonical));
}

static const char *
parse_dsn_return(struct account *a, size_t offset, const char *value)
{
	char canonical[8];
	const char *err = dsn_ret_canonical(value, canonical);

	return err != NULL ? err : store_string(a, offset, xstrdup(canonical));
}

/* ---- delivery targets of mailpipe-fetch (deliver.h) ---- */

/* An mbox is named by an absolute path: a relative one would depend on
 * the directory cron or systemd starts us in. */
static const char *
parse_mbox_path(struct account *a, size_t offset, const char *value)
{
	if (value[0] != '/' && strncmp(value, "~/", 2) != 0)
		return "mbox needs an absolute path (or one starting with ~/)";
	return parse_path(a, offset, value);
}

/* "maildir", or a target and its argument: "mda COMMAND", "lmtp
 * unix:/path", "lmtp HOST:PORT" or "mbox PATH" (absolute, or ~/). */
static const char *
parse_deliver(struct account *a, size_t offset, const char *value)
{
	size_t len = strcspn(value, " \t");
	const char *arg = value + len + strspn(value + len, " \t");
	const char *wrong;

	if (strcmp(value, "maildir") == 0) {
		a->deliver = DELIVER_MAILDIR;
		return NULL;
	}
	if (len == 3 && strncmp(value, "mda", 3) == 0 && *arg != '\0')
		a->deliver = DELIVER_MDA;
	else if (len == 4 && strncmp(value, "lmtp", 4) == 0 && *arg != '\0')
		a->deliver = DELIVER_LMTP;
	else if (len == 4 && strncmp(value, "mbox", 4) == 0 && *arg != '\0')
		a->deliver = DELIVER_MBOX;
	else
		return "expected maildir, mbox PATH, mda COMMAND or lmtp unix:/path|HOST:PORT";
	if (a->deliver == DELIVER_MBOX)
		return parse_mbox_path(a, offset, arg);
	if (a->deliver == DELIVER_LMTP && (wrong = lmtp_target_check(arg)) != NULL)
		return wrong;
	if (a->deliver == DELIVER_MDA && (wrong = mda_command_check(arg)) != NULL)
		return wrong;
	return parse_string(a, offset, arg);
}

static const char *
parse_mda_failure(struct account *a, size_t offset, const char *value)
{
	(void)offset;
	if (strcmp(value, "fail") != 0 && strcmp(value, "skip") != 0)
		return "expected fail or skip";
	a->mda_failure_skip = strcmp(value, "skip") == 0;
	return NULL;
}

static const struct key keys[] = {
	{ "default_account", DEFAULTS_ONLY, NULL, 0, KEY_TEXT },
	{ "host", FOR_BOTH, parse_string, FIELD(host), KEY_TEXT },
	{ "port", FOR_BOTH, parse_port, 0, 0 },
	{ "tls", FOR_BOTH, parse_tls, 0, 0 },
	{ "tls_verify", FOR_BOTH, parse_bool, FIELD(tls_verify), 0 },
	{ "tls_ca_file", FOR_BOTH, parse_path, FIELD(tls_ca_file), KEY_TEXT },
	{ "tls_fingerprint", FOR_BOTH, parse_fingerprint, FIELD(tls_fingerprint), 0 },
	{ "tls_cert_file", FOR_BOTH, parse_path, FIELD(tls_cert_file), KEY_TEXT },
	{ "tls_key_file", FOR_BOTH, parse_path, FIELD(tls_key_file), KEY_TEXT },
	{ "user", FOR_BOTH, parse_string, FIELD(user), KEY_TEXT },
	{ "password", FOR_BOTH, parse_string, FIELD(password), KEY_TEXT | KEY_SECRET },
	{ "password_file", FOR_BOTH, parse_path, FIELD(password_file), KEY_TEXT },
	{ "password_command", FOR_BOTH, parse_string, FIELD(password_command), KEY_TEXT },
	{ "auth", FOR_BOTH, parse_auth, 0, 0 },
	{ "timeout", FOR_BOTH, parse_timeout, FIELD(timeout), 0 },
	{ "deadline", FOR_BOTH, parse_seconds, FIELD(deadline), 0 },
	{ "log", FOR_BOTH, parse_log, FIELD(log), KEY_TEXT },
	{ "from", FOR_SMTP, parse_string, FIELD(from), KEY_TEXT },
	{ "helo", FOR_SMTP, parse_string, FIELD(helo), KEY_TEXT },
	{ "aliases", FOR_SMTP, parse_path, FIELD(aliases), KEY_TEXT },
	{ "domain", FOR_SMTP, parse_string, FIELD(domain), KEY_TEXT },
	{ "dsn_notify", FOR_SMTP, parse_dsn_notify, FIELD(dsn_notify), 0 },
	{ "dsn_return", FOR_SMTP, parse_dsn_return, FIELD(dsn_return), 0 },
	/* the queue, failover and routing of mailpipe-send */
	{ "queue_dir", FOR_SMTP, parse_path, FIELD(queue_dir), KEY_TEXT },
	{ "queue_backoff", FOR_SMTP, parse_backoff, 0, 0 },
	{ "queue_lifetime", FOR_SMTP, parse_queue_duration, FIELD(queue_lifetime), 0 },
	{ "queue_warn", FOR_SMTP, parse_queue_duration, FIELD(queue_warn), 0 },
	{ "queue_flush_on_send", FOR_SMTP, parse_bool, FIELD(queue_flush_on_send), 0 },
	{ "queue_resend_unconfirmed", FOR_SMTP, parse_bool, FIELD(queue_resend_unconfirmed), 0 },
	{ "failover", FOR_SMTP, parse_words, FIELD(failover), KEY_TEXT },
	{ "match_from", FOR_SMTP, parse_words, FIELD(match_from), KEY_TEXT },
	{ "maildir", FOR_POP3, parse_path, FIELD(maildir), KEY_TEXT },
	{ "keep", FOR_POP3, parse_keep, FIELD(keep), 0 },
	{ "state_dir", FOR_POP3, parse_path, FIELD(state_dir), KEY_TEXT },
	{ "max_size", FOR_POP3, parse_size, FIELD(max_size), 0 },
	{ "delete_oversized", FOR_POP3, parse_bool, FIELD(delete_oversized), 0 },
	{ "max_messages", FOR_POP3, parse_limit_count, FIELD(max_messages), 0 },
	{ "max_bytes", FOR_POP3, parse_limit_size, FIELD(max_bytes), 0 },
	{ "deliver", FOR_POP3, parse_deliver, FIELD(deliver_to), KEY_TEXT },
	{ "mda_failure", FOR_POP3, parse_mda_failure, 0, 0 },
	{ "lmtp_recipient", FOR_POP3, parse_string, FIELD(lmtp_recipient), KEY_TEXT },
};

char *
config_expand_home(const char *path)
{
	char *home, *expanded;

	if (strncmp(path, "~/", 2) != 0)
		return xstrdup(path);
	if ((home = fs_home_dir()) == NULL)
		return NULL;
	expanded = xasprintf("%s/%s", home, path + 2);
	free(home);
	return expanded;
}

const struct key *
config_key(const char *name)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

bool
config_key_is_for(const struct key *k, enum account_kind kind)
{
	return k->scope & (kind == ACCOUNT_SMTP ? FOR_SMTP : FOR_POP3);
}

void
config_account_init(struct account *a, enum account_kind kind)
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
	a->tls = TLS_MODE_STARTTLS;
	a->tls_verify = true;
	a->auth = AUTH_AUTO;
	a->timeout = 60;
	/* So that a server trickling a byte a minute cannot hold a run
	 * forever: half an hour for one message, six for a mailbox backup. */
	a->deadline = kind == ACCOUNT_SMTP ? 1800 : 21600;
	a->keep = true;
	a->queue_backoff = 60;
	a->queue_backoff_limit = 3600;
	a->queue_lifetime = 5 * 86400;
	a->queue_warn = 86400;
	a->queue_flush_on_send = true;
}

void
config_account_free(struct account *a)
{
	char **strings[] = {
		&a->name, &a->host, &a->tls_ca_file, &a->tls_fingerprint, &a->tls_cert_file,
		&a->tls_key_file, &a->user,
		&a->password_file, &a->password_command, &a->from, &a->helo, &a->aliases,
		&a->domain, &a->dsn_notify, &a->dsn_return, &a->maildir, &a->state_dir, &a->queue_dir, &a->failover,
		&a->match_from, &a->log, &a->deliver_to, &a->lmtp_recipient,
	};

	secret_wipe(a->password);
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
		free(*strings[i]);
	memset(a, 0, sizeof *a);
}

const char *
config_key_check(const struct key *k, enum account_kind kind, const char *value)
{
	struct account scratch;
	const char *err;

	config_account_init(&scratch, kind);
	err = k->parse(&scratch, k->offset, value);
	config_account_free(&scratch);
	return err;
}

/* The value as the line has it (after the first "=" or ":", blanks
 * trimmed at both ends) differs from inih's only where inih cut it. */
bool
config_value_was_cut(const char *raw, const char *value)
{
	const char *start = strpbrk(raw, "=:");
	size_t len;

	if (start == NULL)
		return false;
	start += 1 + strspn(start + 1, " \t");
	len = strlen(start);
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
		len--;
	return len != strlen(value) || strncmp(start, value, len) != 0;
}
