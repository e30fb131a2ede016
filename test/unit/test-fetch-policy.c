/*
 * The fetch policy as tables (fetch-policy.h): which retrieved messages
 * keep = DURATION deletes, at its edges (exactly that old, a first
 * retrieval in the future, none recorded); what --keep and --delete
 * override; delete_oversized; which new messages max_messages and
 * max_bytes leave for the next run; and what --list says of each.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config-keys.h"
#include "fetch-policy.h"
#include "tap.h"

#define NOW 1800000000LL	/* 2027-01-15 */
#define DAY 86400LL
#define ROWS_MAX 8

/* One message of a plan: its plan, LIST size and first retrieval. */
struct row {
	enum plan plan;
	unsigned long long size;
	long long fetched;
};

struct policy_case {
	const char *name;
	struct fetch_policy policy;
	struct row rows[ROWS_MAX];
	const char *want;		/* "NUM:word" and "+dele" for each message */
	unsigned long waiting;
};

#define KEEP1D { .keep = KEEP_FOR, .keep_for = DAY, .now = NOW }
#define R(s, f) { PLAN_RETRIEVED, (s), (f) }
#define N(s) { PLAN_NEW, (s), 0 }
#define BIG(s) { PLAN_TOO_BIG, (s), 0 }

static const struct policy_case cases[] = {
	{ "keep = 1d: exactly a day old is due, a second younger is not",
	  KEEP1D, { R(1, NOW - DAY), R(1, NOW - DAY + 1), R(1, NOW - 30 * DAY) },
	  "1:retrieved+dele 2:retrieved 3:retrieved+dele", 0 },
	{ "keep = 1d: a first retrieval in the future (the clock went back) is never due",
	  KEEP1D, { R(1, NOW + 1), R(1, NOW + 400 * DAY), R(1, NOW) },
	  "1:retrieved 2:retrieved 3:retrieved", 0 },
	{ "keep = 1d: no first retrieval known (0 or negative) is never due",
	  KEEP1D, { R(1, 0), R(1, -5), R(1, LLONG_MIN) },
	  "1:retrieved 2:retrieved 3:retrieved", 0 },
	{ "keep = 1d: new messages are retrieved, nothing else is deleted",
	  KEEP1D, { N(5), { PLAN_CHANGED, 1, NOW - 9 * DAY }, { PLAN_UNCONFIRMED, 1, NOW - 9 * DAY },
	  { PLAN_BAD, 1, 0 }, BIG(99) },
	  "1:new 2:changed 3:unconfirmed 4:bad-uidl 5:too-big", 0 },
	{ "keep = no (or --delete): every retrieved message, whatever its age",
	  { .keep = KEEP_NONE, .now = NOW }, { R(1, NOW + DAY), R(1, NOW - 1), N(1) },
	  "1:retrieved+dele 2:retrieved+dele 3:new", 0 },
	{ "keep = yes (or --keep): nothing",
	  { .keep = KEEP_ALL, .now = NOW }, { R(1, NOW - 900 * DAY), BIG(9) },
	  "1:retrieved 2:too-big", 0 },
	{ "delete_oversized: the too big ones, also with keep = yes",
	  { .keep = KEEP_ALL, .delete_oversized = true, .now = NOW },
	  { BIG(9), N(1), R(1, 1), BIG(10) },
	  "1:too-big+dele 2:new 3:retrieved 4:too-big+dele", 0 },
	{ "max_messages = 2: the first two new ones, the rest waits",
	  { .keep = KEEP_ALL, .max_messages = 2, .now = NOW },
	  { R(1, 1), N(1), BIG(9), N(1), N(1), N(1) },
	  "1:retrieved 2:new 3:too-big 4:new 5:waiting 6:waiting", 2 },
	{ "max_bytes = 100: up to exactly 100 bytes; then nothing after the first that "
	  "does not fit, even a smaller one",
	  { .keep = KEEP_ALL, .max_bytes = 100, .now = NOW },
	  { N(60), N(40), N(1) }, "1:new 2:new 3:waiting", 1 },
	{ "max_bytes = 100: a first message bigger than that is retrieved alone",
	  { .keep = KEEP_ALL, .max_bytes = 100, .now = NOW },
	  { N(500), N(1), N(1) }, "1:new 2:waiting 3:waiting", 2 },
	{ "max_bytes: order kept: a message that does not fit stops the run's retrievals",
	  { .keep = KEEP_ALL, .max_bytes = 100, .now = NOW },
	  { N(50), N(51), N(10) }, "1:new 2:waiting 3:waiting", 2 },
	{ "max_bytes near the top of the range does not overflow",
	  { .keep = KEEP_ALL, .max_bytes = 1ULL << 50, .now = NOW },
	  { N(1ULL << 50), N(ULLONG_MAX), N(1) }, "1:new 2:waiting 3:waiting", 2 },
	{ "max_messages and max_bytes: the first limit reached stops",
	  { .keep = KEEP_NONE, .max_messages = 3, .max_bytes = 1000, .now = NOW },
	  { N(10), R(5, 1), N(10), N(10), N(10) },
	  "1:new 2:retrieved+dele 3:new 4:new 5:waiting", 1 },
};

static void
make(struct fetch_plan *p, const struct row *rows)
{
	static struct plan_msg msgs[ROWS_MAX];

	memset(msgs, 0, sizeof msgs);
	*p = (struct fetch_plan){ .msgs = msgs };
	for (size_t i = 0; i < ROWS_MAX && rows[i].size > 0; i++) {
		msgs[i] = (struct plan_msg){ .num = i + 1, .size = rows[i].size,
			.fetched = rows[i].fetched, .plan = rows[i].plan };
		p->count++;
	}
}

static void
summarize(const struct fetch_plan *p, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < p->count && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%lu:%s%s", i ? " " : "",
		    p->msgs[i].num, plan_word(p->msgs[i].plan), p->msgs[i].dele ? "+dele" : "");
}

static void
test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct policy_case *c = &cases[i];
		struct fetch_plan p;
		char got[512];
		unsigned long waiting;

		make(&p, c->rows);
		waiting = policy_apply(&c->policy, &p);
		summarize(&p, got, sizeof got);
		is_str(got, c->want, "%s", c->name);
		ok(waiting == c->waiting, "%s: %lu waiting", c->name, c->waiting);
		/* Applied again (after plan_settle()): the same marks. */
		ok(policy_apply(&c->policy, &p) == c->waiting, "%s: the same applied twice",
		    c->name);
		summarize(&p, got, sizeof got);
		is_str(got, c->want, "%s, applied twice", c->name);
	}
}

/* An unconfirmed message settled as new (plan_settle()) counts against
 * the limit when the policy is applied again. */
static void
test_reapplied(void)
{
	struct fetch_policy pol = { .keep = KEEP_ALL, .max_messages = 1, .now = NOW };
	struct row rows[ROWS_MAX] = { { PLAN_UNCONFIRMED, 5, 1 }, N(5) };
	struct fetch_plan p;
	char got[128];

	make(&p, rows);
	ok(policy_apply(&pol, &p) == 0, "before settling: the one new message fits");
	p.msgs[0].plan = PLAN_NEW;
	ok(policy_apply(&pol, &p) == 1, "settled as new: now one waits");
	summarize(&p, got, sizeof got);
	is_str(got, "1:new 2:waiting", "the first by number is retrieved");
}

struct of_case {
	const char *keep;	/* the value of the keep key */
	int option;		/* -1, 0 --delete, 1 --keep */
	bool delete_oversized;
	enum keep_mode want;
	long long want_for;
	bool want_oversized;
};

static void
test_policy_of(void)
{
	static const struct of_case rows[] = {
		{ "yes", -1, false, KEEP_ALL, 0, false },
		{ "no", -1, true, KEEP_NONE, 0, true },
		{ "30d", -1, false, KEEP_FOR, 30 * DAY, false },
		{ "12h", -1, true, KEEP_FOR, 12 * 3600, true },
		{ "2w", 0, true, KEEP_NONE, 0, true },	/* --delete */
		{ "2w", 1, true, KEEP_ALL, 0, false },	/* --keep: nothing deleted */
		{ "no", 1, false, KEEP_ALL, 0, false },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct account a;
		struct fetch_policy p;

		config_account_init(&a, ACCOUNT_POP3);
		ok(config_key_check(config_key("keep"), ACCOUNT_POP3, rows[i].keep) == NULL,
		    "keep = %s is valid", rows[i].keep);
		config_key("keep")->parse(&a, offsetof(struct account, keep), rows[i].keep);
		a.delete_oversized = rows[i].delete_oversized;
		fetch_policy_of(&a, rows[i].option, NOW, &p);
		ok(p.keep == rows[i].want && p.keep_for == rows[i].want_for &&
		    p.delete_oversized == rows[i].want_oversized && p.now == NOW,
		    "keep = %s, option %d: mode %d for %lld, delete_oversized %d", rows[i].keep,
		    rows[i].option, rows[i].want, rows[i].want_for, rows[i].want_oversized);
		config_account_free(&a);
	}
}

/* The keep key's values, and the reason for each refusal. */
static void
test_keep_values(void)
{
	static const struct { const char *value, *err; } rows[] = {
		{ "1", NULL }, { "0", NULL }, { "on", NULL }, { "1s", NULL }, { "90m", NULL },
		{ "520w", NULL },
		{ "30", "expected yes, no or a duration such as 30d, 12h or 2w" },
		{ "0d", "a duration of 0 deletes at once: write keep = no" },
		{ "521w", "too long: at most ten years (520w)" },
		{ "99999999999999999999d", "too long: at most ten years (520w)" },
		{ "30 d", "expected yes, no or a duration such as 30d, 12h or 2w" },
		{ "-1d", "expected yes, no or a duration such as 30d, 12h or 2w" },
		{ "1y", "expected yes, no or a duration such as 30d, 12h or 2w" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *err = config_key_check(config_key("keep"), ACCOUNT_POP3,
		    rows[i].value);

		if (rows[i].err == NULL)
			ok(err == NULL, "keep = %s accepted", rows[i].value);
		else
			is_str(err, rows[i].err, "keep = %s refused", rows[i].value);
	}
}

static void
parse_into(struct account *a, const char *key, const char *value)
{
	const struct key *k = config_key(key);

	ok(k->parse(a, k->offset, value) == NULL, "%s = %s parsed", key, value);
}

/* max_messages and max_bytes: a count and a size, 0 refused (it would
 * retrieve nothing, ever); delete_oversized a boolean. */
static void
test_limit_values(void)
{
	static const struct { const char *key, *value, *err; } rows[] = {
		{ "max_messages", "1", NULL }, { "max_messages", "500", NULL },
		{ "max_bytes", "1", NULL }, { "max_bytes", "20M", NULL },
		{ "max_messages", "0", "0 would retrieve nothing: leave the key out for no limit" },
		{ "max_bytes", "0k", "0 would retrieve nothing: leave the key out for no limit" },
		{ "max_bytes", "1x", "expected a size such as 5000000, 500k or 20M" },
	};
	struct account a;

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *err = config_key_check(config_key(rows[i].key), ACCOUNT_POP3,
		    rows[i].value);

		if (rows[i].err == NULL)
			ok(err == NULL, "%s = %s accepted", rows[i].key, rows[i].value);
		else
			is_str(err, rows[i].err, "%s = %s refused", rows[i].key, rows[i].value);
	}
	ok(config_key_check(config_key("delete_oversized"), ACCOUNT_POP3, "maybe") != NULL,
	    "delete_oversized takes a boolean");
	ok(!config_key_is_for(config_key("max_bytes"), ACCOUNT_SMTP) &&
	    !config_key_is_for(config_key("delete_oversized"), ACCOUNT_SMTP),
	    "the new keys are POP3 keys only");
	config_account_init(&a, ACCOUNT_POP3);
	parse_into(&a, "max_messages", "7");
	parse_into(&a, "max_bytes", "2k");
	parse_into(&a, "max_size", "3k");
	parse_into(&a, "delete_oversized", "yes");
	ok(a.max_messages == 7 && a.max_bytes == 2048 && a.max_size == 3072 &&
	    a.delete_oversized, "each key lands in its own field");
	config_account_free(&a);
}

/* What --list says of each message. */
static void
test_when(void)
{
	static const struct { struct fetch_policy policy; struct row row; bool dele;
		enum policy_when want; long long at; } rows[] = {
		{ KEEP1D, R(1, NOW - 3600), false, WHEN_AT, NOW - 3600 + DAY },
		{ KEEP1D, R(1, NOW + DAY), false, WHEN_AT, NOW + 2 * DAY },
		{ KEEP1D, R(1, LLONG_MAX - 5), false, WHEN_NEVER, 0 },
		{ KEEP1D, R(1, NOW - DAY), true, WHEN_NOW, 0 },
		{ KEEP1D, N(1), false, WHEN_LATER, 0 },
		{ KEEP1D, { PLAN_WAITING, 1, 0 }, false, WHEN_LATER, 0 },
		{ { .keep = KEEP_NONE }, N(1), false, WHEN_NOW, 0 },
		{ { .keep = KEEP_ALL }, R(1, 1), false, WHEN_NEVER, 0 },
		{ { .keep = KEEP_ALL }, BIG(1), false, WHEN_NEVER, 0 },
		{ { .keep = KEEP_ALL, .delete_oversized = true }, BIG(1), true, WHEN_NOW, 0 },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct plan_msg m = { .num = 1, .size = rows[i].row.size,
			.fetched = rows[i].row.fetched, .plan = rows[i].row.plan,
			.dele = rows[i].dele };
		long long at = 0;

		ok(policy_when(&rows[i].policy, &m, &at) == rows[i].want && at == rows[i].at,
		    "row %zu: when %d at %lld", i, rows[i].want, rows[i].at);
	}
}

/* plan_make() gives a listed entry without a first retrieval the run's
 * time, so that its age counts from now and it is never deleted early. */
static void
test_unknown_first_retrieval(void)
{
	struct uidl_entry e0 = { .uidl = strdup("a"), .file = strdup("1.M1P1Q1R1.h"),
		.size = 3, .fetched = 0 };
	struct uidl_entry e1 = { .uidl = strdup("b"), .file = strdup("1.M1P1Q1R1.h"),
		.size = 3, .fetched = NOW - 9 * DAY };
	struct fetch_plan p = { .now = NOW };
	struct uidl_set set = { 0 };

	uidlset_add(&set, &e0);
	uidlset_add(&set, &e1);
	plan_add_uidl(&p, 1, "a", 1);
	plan_add_uidl(&p, 2, "b", 1);
	plan_add_size(&p, 1, 3);
	plan_add_size(&p, 2, 3);
	plan_make(&p, &set);
	ok(p.msgs[0].fetched == NOW && uidlset_find(&set, "a")->fetched == NOW,
	    "no time recorded: counted from now, in the plan and the state");
	ok(p.msgs[1].fetched == NOW - 9 * DAY && uidlset_find(&set, "b")->fetched ==
	    NOW - 9 * DAY, "a recorded time is kept");
	plan_free(&p);
	uidlset_free(&set);
}

int
main(void)
{
	test_cases();
	test_reapplied();
	test_policy_of();
	test_keep_values();
	test_limit_values();
	test_when();
	test_unknown_first_retrieval();
	return done_testing();
}
