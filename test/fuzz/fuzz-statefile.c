/*
 * The fetch state file and journal reader (statefile.c) on arbitrary text:
 * what mailpipe-fetch reads back after a crash, a full disk or a hand edit.
 *
 * The input, cut at its first NUL, is read twice:
 *  - as a state file: statefile_read() either fails (FAIL_IO) or gives a
 *    header and entries; then statefile_format() of what it read must read
 *    back to the same entries (UIDL, file, size, digest), so a save never
 *    loses or changes what a load found;
 *  - line by line as a journal of version 1 and 2: a record journal_parse()
 *    accepts, formatted again, must parse to the same record.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "statefile.h"
#include "status.h"
#include "uidlset.h"

#define INPUT_MAX (256 * 1024)

static bool
same_entry(const struct uidl_entry *a, const struct uidl_entry *b)
{
	return strcmp(a->uidl, b->uidl) == 0 && a->size == b->size &&
	    a->has_digest == b->has_digest &&
	    (!a->has_digest || memcmp(a->digest, b->digest, UIDL_DIGEST_SIZE) == 0) &&
	    ((a->file == NULL && b->file == NULL) ||
	     (a->file != NULL && b->file != NULL && strcmp(a->file, b->file) == 0));
}

/* A state that was read formats to a text that reads back the same. */
static void
check_round_trip(struct state_header *h, struct uidl_set *set)
{
	struct state_header h2 = { 0 };
	struct uidl_set set2 = { 0 };
	size_t len;
	char *text;
	FILE *fp;

	/* A version 1 state names no account: the take-over names it before
	 * the first save (uidl-legacy.c), as here. */
	if (h->account == NULL)
		h->account = strdup("taken-over");
	if (h->user == NULL)
		h->user = strdup("user");
	FUZZ_CHECK(h->account != NULL && h->user != NULL);
	h->version = STATEFILE_VERSION;
	uidlset_compact(set, false);
	text = statefile_format(h, set, &len);
	fp = fmemopen(text, len, "r");
	FUZZ_CHECK(fp != NULL);
	FUZZ_CHECK(statefile_read(fp, "again", &h2, &set2) == 0);
	fclose(fp);
	FUZZ_CHECK(uidlset_count(&set2) == uidlset_count(set));
	for (size_t i = 0; i < set->count; i++) {
		struct uidl_entry *e = &set->entries[i];
		struct uidl_entry *f = uidlset_lookup(&set2, e->uidl);

		FUZZ_CHECK(e->gone || (f != NULL && same_entry(e, f)));
	}
	state_header_free(&h2);
	uidlset_free(&set2);
	free(text);
}

static void
fuzz_state(const char *text, size_t len)
{
	struct state_header h = { 0 };
	struct uidl_set set = { 0 };
	FILE *fp = fmemopen((void *)text, len, "r");

	if (fp == NULL)
		return;		/* fmemopen refuses an empty buffer on some libcs */
	fail_clear();
	if (statefile_read(fp, "fuzz", &h, &set) == 0)
		check_round_trip(&h, &set);
	else
		FUZZ_CHECK(fail_class() == FAIL_IO);
	fclose(fp);
	state_header_free(&h);
	uidlset_free(&set);
}

/* One journal line: accepted, it formats to a line that parses the same. */
static void
fuzz_journal_line(const char *line, size_t len, int version)
{
	char *copy = strndup(line, len), *again = NULL;
	struct journal_record r, r2;
	size_t n;

	if (copy != NULL && journal_parse(copy, version, &r)) {
		if (r.type == 'R')
			again = journal_format_retrieved(&r.e, 1, &n);
		else
			again = journal_format_deletes(&r.e.uidl, 1, &n);
		FUZZ_CHECK(n > 0 && again[n - 1] == '\n');
		again[n - 1] = '\0';
		FUZZ_CHECK(journal_parse(again, STATEFILE_VERSION, &r2));
		FUZZ_CHECK(r2.type == r.type && strcmp(r2.e.uidl, r.e.uidl) == 0);
		FUZZ_CHECK(r.type == 'D' || same_entry(&r.e, &r2.e));
		uidl_entry_free(&r2.e);
		uidl_entry_free(&r.e);
	}
	free(again);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size);
	const char *text = (const char *)data;

	if (len > INPUT_MAX)
		return 0;
	fuzz_state(text, len);
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;

		fuzz_journal_line(text + at, end - at, 1);
		fuzz_journal_line(text + at, end - at, 2);
		at = end + 1;
	}
	return 0;
}
