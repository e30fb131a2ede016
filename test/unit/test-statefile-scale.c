/*
 * The state file at the size of a large mailbox (issue 14 item 4): a save
 * streamed in pieces writes exactly the text of statefile_format(); a
 * state of 200,000 entries reads back whole, already sorted (no sort
 * needed), every entry found with every field, its digests and file names
 * read back from the file (the backing) in a save of the same text.  How
 * long that takes is test/bench/state-load's: a timed assertion fails on a
 * loaded machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "statefile.h"
#include "status.h"
#include "tap.h"

#define BIG 200000

/* Entries like a real mailbox's: Dovecot-style UIDLs, Maildir names. */
static void
fill(struct uidl_set *set, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct uidl_entry e = { .size = 2000 + i % 977, .fetched = 1700000000 + (long long)i,
			.has_digest = i % 3 != 0, .delete_requested = i % 1000 == 7 };
		char uidl[32], file[96];

		snprintf(uidl, sizeof uidl, "%08zx%08x", i * 2654435761u % 4294967291u, 0x5f00u);
		snprintf(file, sizeof file, "1700000000.M%zuP1234Q%zu.backup.example.test,S=%zu", i,
		    i % 64, 2000 + i % 977);
		memset(e.digest, (int)(i & 0xff), sizeof e.digest);
		e.uidl = strdup(uidl);
		e.file = strdup(file);
		uidlset_add(set, &e);
	}
	uidlset_compact(set, false);
}

static const struct state_header header = { .version = 2, .account = "big box",
	.user = "alice", .host = "pop.example", .port = 995 };

/* The streamed save equals the text made whole, across many flushes. */
static void
test_streamed_save(const struct uidl_set *set)
{
	FILE *fp = tmpfile();
	size_t len;
	char *text = statefile_format(&header, set, &len), *back = malloc(len + 1);

	ok(fp != NULL && statefile_write(fileno(fp), "tmp", &header, set) == 0, "streamed save");
	ok(fseek(fp, 0, SEEK_END) == 0 && (size_t)ftell(fp) == len, "%zu bytes, as formatted",
	    len);
	rewind(fp);
	ok(fread(back, 1, len, fp) == len && memcmp(back, text, len) == 0,
	    "the same text as statefile_format()");
	fclose(fp);
	free(back);
	free(text);
}

/* Every entry of the set is in got, with its fields. */
static size_t
count_found(const struct uidl_set *set, struct uidl_set *got)
{
	char file_e[UIDL_FILE_MAX + 1], file_f[UIDL_FILE_MAX + 1];
	size_t found = 0;
	struct uidl_entry e, f;

	for (size_t i = 0; i < set->count; i++) {
		const struct uidl_known *k = uidlset_find(got, set->entries[i].uidl);

		if (k == NULL || uidlset_entry(set, &set->entries[i], &e, file_e) < 0 ||
		    uidlset_entry(got, k, &f, file_f) < 0)
			continue;
		if (f.size == e.size && f.fetched == e.fetched && strcmp(f.file, e.file) == 0 &&
		    f.has_digest == e.has_digest && f.delete_requested == e.delete_requested &&
		    (!e.has_digest || memcmp(f.digest, e.digest, sizeof e.digest) == 0))
			found++;
	}
	return found;
}

static void
test_big_load(const struct uidl_set *set)
{
	struct state_header h;
	struct uidl_set got = { 0 };
	struct statefile_backing *b = NULL;
	FILE *fp = tmpfile();
	size_t len, len2;
	char *text = statefile_format(&header, set, &len), *again;

	ok(fp != NULL && statefile_write(fileno(fp), "tmp", &header, set) == 0, "a %d-entry state",
	    BIG);
	fail_clear();
	ok(statefile_read(dup(fileno(fp)), "big.state", &h, &got, &b) == 0, "reads (%s)",
	    fail_reason());
	ok(got.sorted, "read in order: no sort needed");
	ok(got.extras == NULL, "no digest or file name held in memory");
	ok(uidlset_count(&got) == BIG, "every entry (%zu)", uidlset_count(&got));
	ok(count_found(set, &got) == BIG, "each found with its fields");
	again = statefile_format(&h, &got, &len2);
	ok(again != NULL && len2 == len && memcmp(again, text, len) == 0,
	    "saved again, the same text");
	fclose(fp);
	free(text);
	free(again);
	state_header_free(&h);
	uidlset_free(&got);
	statefile_backing_free(b);
}

int
main(void)
{
	struct uidl_set set = { 0 };

	fill(&set, BIG);
	ok(set.count == BIG, "%d distinct UIDLs made", BIG);
	test_streamed_save(&set);
	test_big_load(&set);
	uidlset_free(&set);
	return done_testing();
}
