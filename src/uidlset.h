/*
 * The in-memory set of retrieved messages of one POP3 account, keyed by
 * UIDL: what the state file and its journal (uidl.h) load and save.  Pure
 * data: no I/O, so the planning rules built on it can be unit-tested with
 * tables; the digests and file names of entries loaded from a state file
 * stay in that file, read back through a callback its loader provides
 * (struct uidl_backing), so that a large state costs little memory.
 *
 * Entries are added in any order and kept in an array that is sorted
 * lazily, on the first lookup after an add; of several entries for one
 * UIDL the last added wins.  A pointer returned by uidlset_find() or
 * uidlset_lookup() is valid until the next uidlset_add(), uidlset_lookup()
 * or uidlset_find() (which may sort the array): use it at once, keep the
 * UIDL instead.
 */
#ifndef MAILPIPE_UIDLSET_H
#define MAILPIPE_UIDLSET_H

#include <stdbool.h>
#include <stddef.h>

#define UIDL_MAX 70
/* SHA-256 of a message's header as delivered (headerdigest.h). */
#define UIDL_DIGEST_SIZE 32
/* The longest FILE (a Maildir base name: MAILDIR_NAME_MAX). */
#define UIDL_FILE_MAX 256

/* The FILE of a message delivered to a target other than a Maildir
 * (`deliver = mda`, `lmtp`, `mbox`): "=" and the target's name, which no
 * Maildir file name starts with.  Its R record is the commit: there is no
 * file to look for. */
#define UIDL_FILE_MDA "=mda"
#define UIDL_FILE_LMTP "=lmtp"
#define UIDL_FILE_MBOX "=mbox"

/* A retrieved message as it is journaled and added (and as the state file
 * and journal parsers give it): every field. */
struct uidl_entry {
	char *uidl;
	char *file;			/* Maildir base name, or a UIDL_FILE_* */
	unsigned long long size;	/* octets as the server listed them */
	long long fetched;		/* first retrieval (seconds since the epoch) */
	unsigned char digest[UIDL_DIGEST_SIZE];
	bool has_digest;		/* false for entries from a version 1 state */
	bool delete_requested;		/* DELE said +OK; QUIT's +OK not recorded */
	bool seen;			/* listed by the server in this session */
};

/* A retrieved message as the set keeps it: 40 bytes, for a mailbox of
 * 50,000 messages is mostly old ones.  Its header digest and file name are
 * needed only to save the state, to check a deletion never confirmed and
 * after a UIDL reset: an entry added in this run keeps them in the set
 * (own: tail indexes the set's extras); one loaded from the state file
 * leaves them there (tail is where its "DIGEST FILE" text starts, read
 * back through the set's backing). */
struct uidl_known {
	char *uidl;
	unsigned long long size;
	long long fetched;
	unsigned long long tail;
	unsigned order;			/* internal: later entries replace earlier */
	bool own : 1;
	bool has_digest : 1;
	bool delete_requested : 1;
	bool seen : 1;
	bool gone : 1;			/* internal: forgotten, dropped when compacted */
	unsigned target : 2;		/* 0: a Maildir file; 1-3: UIDL_FILE_MDA, _LMTP, _MBOX */
};

/* The digest and file of an own entry. */
struct uidl_extra {
	char *file;			/* in the set's pool */
	unsigned char digest[UIDL_DIGEST_SIZE];
};

/* What a backing read gives back: the entry's digest and file name, as
 * its "DIGEST FILE" in the state file says (file valid until the next
 * read; file_len bytes, no NUL). */
struct uidl_tail {
	bool has_digest;
	unsigned char digest[UIDL_DIGEST_SIZE];
	const char *file;
	size_t file_len;
};

/* Where the tails of loaded entries are (statefile.h makes one):
 * read_tail gives the tail that starts at off, 0, or -1 with the failure
 * recorded. */
struct uidl_backing {
	int (*read_tail)(void *ctx, unsigned long long off, struct uidl_tail *t);
	void *ctx;
};

/* Strings that live as long as their owner (a set, a plan): copied into
 * blocks that never move and are freed together, one allocation per
 * UIDL_POOL_BLOCK bytes instead of one per string (a 50,000-message
 * mailbox would otherwise cost 100,000 allocations and their overhead). */
#define UIDL_POOL_BLOCK 65536
struct uidl_pool_block;
struct uidl_pool {
	struct uidl_pool_block *head;	/* the block being filled; older ones follow */
	size_t used;			/* bytes of head in use */
};

/* s[0..len) and a NUL, in the pool. */
char *uidl_pool_copy(struct uidl_pool *pool, const char *s, size_t len);
void uidl_pool_free(struct uidl_pool *pool);

struct uidl_set {
	struct uidl_known *entries;
	size_t count, alloc;
	struct uidl_extra *extras;	/* of own entries, by their tail */
	size_t extra_count, extra_alloc;
	struct uidl_backing backing;	/* of loaded entries (read_tail NULL: none) */
	bool sorted;
	size_t gone_count;		/* forgotten entries still in the array */
	unsigned next_order;
	struct uidl_pool strings;	/* the entries' UIDLs and file names */
	bool changed;			/* added, forgotten, pruned or modified since
					 * the caller last cleared it (the state file
					 * was read or written): rewrite the file */
};

/* RFC 1939 section 7: 1 to 70 characters in the range 0x21 to 0x7E. */
bool uidl_valid(const char *uidl, size_t len);

/* Adds e, taking ownership of its strings (freed: the set keeps copies in
 * its pool); it replaces an older entry for the same UIDL. */
void uidlset_add(struct uidl_set *s, struct uidl_entry *e);
/* The same, copying e's strings and leaving them to the caller. */
void uidlset_add_copy(struct uidl_set *s, const struct uidl_entry *e);
/* Adds an entry loaded from the set's backing: the UIDL (uidl[0..len)) is
 * copied, digest and file stay in the backing at offset tail; target as
 * in struct uidl_known.  No duplicate check: the state file has none. */
void uidlset_add_loaded(struct uidl_set *s, const struct uidl_entry *e, size_t uidl_len,
	unsigned long long tail, unsigned target);
/* Room for n more entries, made at once (a state file announces its
 * count): no growing and copying while a big state loads. */
void uidlset_reserve(struct uidl_set *s, size_t n);
/* The live entry for a UIDL, or NULL. */
struct uidl_known *uidlset_find(struct uidl_set *s, const char *uidl);
/* The same in a set that is sorted already (as a loaded state is),
 * changing nothing; NULL also when the set is not sorted. */
const struct uidl_known *uidlset_find_sorted(const struct uidl_set *s, const char *uidl);
/* The index of the live entry for uidl in a sorted set (as
 * uidlset_find_sorted() finds it), or UIDLSET_NONE, also when the set is
 * not sorted.  The search starts at *cursor, which it moves to where it
 * ended: many servers (Dovecot) list their UIDLs in rising order, and
 * then each is found next to the last in one or two comparisons. */
#define UIDLSET_NONE ((size_t)-1)
size_t uidlset_find_from(const struct uidl_set *s, const char *uidl, size_t *cursor);
/* The same as uidlset_find(), and marks it as seen on the server. */
struct uidl_known *uidlset_lookup(struct uidl_set *s, const char *uidl);
/* UIDL_FILE_MDA, _LMTP or _MBOX when the entry was delivered there, NULL
 * for a Maildir file. */
const char *uidlset_target(const struct uidl_known *k);
/* 0-3 for k's target: 0 for a Maildir file name. */
unsigned uidlset_target_of(const char *file, size_t len);
/* The entry's digest into digest: 1, 0 when it has none, -1 when the
 * backing could not read it (recorded). */
int uidlset_digest(const struct uidl_set *s, const struct uidl_known *k,
	unsigned char digest[UIDL_DIGEST_SIZE]);
/* Every field of the entry into e, its file name into file (e->file points
 * there): 0, or -1 when the backing could not read it (recorded). */
int uidlset_entry(const struct uidl_set *s, const struct uidl_known *k, struct uidl_entry *e,
	char file[UIDL_FILE_MAX + 1]);
/* An entry was modified in place (its first retrieval, its deletion
 * flag): sets changed, as adding, forgetting and pruning do. */
void uidlset_note_change(struct uidl_set *s);
/* Takes the entry out (cheap; dropped by the next compaction). */
void uidlset_forget(struct uidl_set *s, const char *uidl);
/* Sorted by UIDL, one entry per UIDL, forgotten entries dropped; with
 * prune, also the entries not seen in this session.  Afterwards
 * s->entries[0..count) is the set, ready to be written out. */
void uidlset_compact(struct uidl_set *s, bool prune);
/* Live entries. */
size_t uidlset_count(const struct uidl_set *s);
/* The sizes of the live entries that carry a header digest, sorted, in a
 * new array (*sizes_r, freed by the caller); returns how many. */
size_t uidlset_digest_sizes(const struct uidl_set *s, unsigned long long **sizes_r);
/* True when size is among sizes[0..n), sorted as uidlset_digest_sizes()
 * returns them. */
bool uidlset_size_among(unsigned long long size, const unsigned long long *sizes, size_t n);
/* 1 when a live entry carries this header digest, 0 when none does, -1
 * when the backing could not read one (recorded). */
int uidlset_digest_known(const struct uidl_set *s, const unsigned char digest[UIDL_DIGEST_SIZE]);
/* True when no entry was looked up (none of the server's UIDLs is known). */
bool uidlset_none_seen(struct uidl_set *s);
/* True when the server seems to have renumbered its UIDLs: the set holds
 * at least two entries, none of them was looked up (none of the server's
 * UIDLs is known), and at least 90% of their sizes are among the n sizes
 * the server listed (each server size matching one entry at most).
 * Compacts the set. */
bool uidlset_reset_suspected(struct uidl_set *s, const unsigned long long *sizes,
	size_t n);
/* Frees the set (not its backing, which is its loader's). */
void uidlset_free(struct uidl_set *s);
/* Frees one entry's strings (for entries that never joined a set: the
 * set's own are in its pool). */
void uidl_entry_free(struct uidl_entry *e);

#endif
