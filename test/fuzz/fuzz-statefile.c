/*
 * The fetch state file and journal reader (statefile.c) on arbitrary text:
 * what mailpipe-fetch reads back after a crash, a full disk or a hand edit.
 *
 * The input, cut at its first NUL, is read twice:
 *  - as a state file: statefile_read() either fails (FAIL_IO) or gives a
 *    header and entries; then statefile_format() of what it read must read
 *    back to the same entries (UIDL, file, size, digest), so a save never
 *    loses or changes what a load found; read with a backing (the
 *    digests and file names left in the file, as mailpipe-fetch reads its
 *    state) it must accept and refuse the same, and save the same text;
 *  - line by line as a journal of version 1 and 2: a record journal_parse()
 *    accepts, formatted again, must parse to the same record.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* A file (an fd at offset 0) holding text[0..len). */
static int
file_of(const char *text, size_t len)
{
	int fd = memfd_create("fuzz.state", 0);

	FUZZ_CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len);
	return fd;
}

/* Every field of k, read back. */
static struct uidl_entry
full(const struct uidl_set *s, const struct uidl_known *k, char file[UIDL_FILE_MAX + 1])
{
	struct uidl_entry e;

	FUZZ_CHECK(uidlset_entry(s, k, &e, file) == 0);
	return e;
}

/* A state that was read formats to a text that reads back the same. */
static void
check_round_trip(struct state_header *h, struct uidl_set *set, char **text_r, size_t *len_r)
{
	struct state_header h2 = { 0 };
	struct uidl_set set2 = { 0 };
	char fa[UIDL_FILE_MAX + 1], fb[UIDL_FILE_MAX + 1];
	int fd;

	/* A version 1 state names no account: the take-over names it before
	 * the first save (uidl-legacy.c), as here. */
	if (h->account == NULL)
		h->account = strdup("taken-over");
	if (h->user == NULL)
		h->user = strdup("user");
	FUZZ_CHECK(h->account != NULL && h->user != NULL);
	h->version = STATEFILE_VERSION;
	uidlset_compact(set, false);
	*text_r = statefile_format(h, set, len_r);
	FUZZ_CHECK(*text_r != NULL);
	fd = file_of(*text_r, *len_r);
	FUZZ_CHECK(statefile_read(fd, "again", &h2, &set2, NULL) == 0);
	close(fd);
	FUZZ_CHECK(uidlset_count(&set2) == uidlset_count(set));
	for (size_t i = 0; i < set->count; i++) {
		struct uidl_known *e = &set->entries[i];
		struct uidl_known *f = uidlset_lookup(&set2, e->uidl);
		struct uidl_entry a, b;

		FUZZ_CHECK(e->gone || f != NULL);
		if (e->gone)
			continue;
		a = full(set, e, fa);
		b = full(&set2, f, fb);
		FUZZ_CHECK(same_entry(&a, &b));
	}
	state_header_free(&h2);
	uidlset_free(&set2);
}

/* Read with a backing, the same input is accepted or refused alike, and
 * what it saves is what the copying read saved (want, NULL if refused). */
static void
check_backed(const char *text, size_t len, const char *want, size_t want_len)
{
	struct state_header h = { 0 };
	struct uidl_set set = { 0 };
	struct statefile_backing *b = NULL;
	int fd = file_of(text, len), rc;
	char *got;
	size_t got_len;

	fail_clear();
	rc = statefile_read(fd, "fuzz", &h, &set, &b);
	FUZZ_CHECK((rc == 0) == (want != NULL));
	if (rc < 0) {
		FUZZ_CHECK(fail_class() == FAIL_IO);
		uidlset_free(&set);
		close(fd);
		return;
	}
	if (h.account == NULL)
		h.account = strdup("taken-over");
	if (h.user == NULL)
		h.user = strdup("user");
	h.version = STATEFILE_VERSION;
	uidlset_compact(&set, false);
	got = statefile_format(&h, &set, &got_len);
	FUZZ_CHECK(got != NULL && got_len == want_len && memcmp(got, want, got_len) == 0);
	free(got);
	state_header_free(&h);
	uidlset_free(&set);
	statefile_backing_free(b);
}

static void
fuzz_state(const char *text, size_t len)
{
	struct state_header h = { 0 };
	struct uidl_set set = { 0 };
	int fd = file_of(text, len);
	char *saved = NULL;
	size_t saved_len = 0;

	fail_clear();
	if (statefile_read(fd, "fuzz", &h, &set, NULL) == 0)
		check_round_trip(&h, &set, &saved, &saved_len);
	else
		FUZZ_CHECK(fail_class() == FAIL_IO);
	close(fd);
	check_backed(text, len, saved, saved_len);
	free(saved);
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
