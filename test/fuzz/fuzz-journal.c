/*
 * The fetch state's crash journal as mailpipe-fetch loads it at start
 * (uidl.c, uidl-journal.c): uidl_open() with write, which cuts a torn
 * last line and reads every complete one, then uidl_replay() against a
 * real Maildir and the state save.  fuzz-statefile parses single records;
 * this target feeds whole journal files, as a crash, a full disk or a
 * hand edit leaves them:
 *
 *   - opening cuts exactly the bytes after the last newline (a torn
 *     write) and changes nothing before them;
 *   - a journal that cannot be used fails as FAIL_IO (74), nothing else;
 *   - after the replay the journal is empty, and every message the state
 *     keeps has its file in new/ or cur/ (no entry for a file that is not
 *     delivered), and the saved state reads back with the same entries;
 *   - the delivered messages are never touched: only tmp/ files the
 *     journal names may go.
 */
#include <ftw.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "maildir.h"
#include "status.h"
#include "uidl.h"

#define INPUT_MAX (64 * 1024)

/* The state directory and Maildir, made once per process. */
static struct {
	char base[256], statedir[300], mdpath[300], journal[700];
	struct uidl_key key;
	struct maildir *md;
} world;

static const char *const delivered[] = { "md/new/in-new", "md/cur/in-cur:2,S" };

static void
touch(const char *relative)
{
	char path[600];
	int fd;

	snprintf(path, sizeof path, "%s/%s", world.base, relative);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	close(fd);
}

static bool
exists(const char *relative)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", world.base, relative);
	return lstat(path, &st) == 0;
}

/* The journal's path: the state file's, with .journal for .state. */
static void
find_journal_path(void)
{
	struct uidl_state *s;
	const char *state;
	size_t n;

	if (uidl_open(world.statedir, &world.key, true, &s) < 0)
		abort();
	state = uidl_state_path(s);
	n = strlen(state) - strlen(".state");
	snprintf(world.journal, sizeof world.journal, "%.*s.journal", (int)n, state);
	uidl_close(s);
}

/* TMPDIR, else /dev/shm when there is one: a replay saves the state with
 * fsyncs, which cost nothing on tmpfs, and this target is about what the
 * files say, not whether they reach the disk. */
static const char *
scratch_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	if (tmp != NULL && *tmp != '\0')
		return tmp;
	return stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
}

static int
remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* At exit: the scratch tree goes with the process. */
static void
remove_world(void)
{
	maildir_close(world.md);
	nftw(world.base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
make_world(void)
{
	snprintf(world.base, sizeof world.base, "%s/fuzz-journal-XXXXXX", scratch_dir());
	if (mkdtemp(world.base) == NULL)
		abort();
	snprintf(world.statedir, sizeof world.statedir, "%s/state", world.base);
	snprintf(world.mdpath, sizeof world.mdpath, "%s/md", world.base);
	if (mkdir(world.statedir, 0700) < 0 || maildir_open(world.mdpath, true, &world.md) < 0)
		abort();
	atexit(remove_world);
	for (size_t i = 0; i < sizeof delivered / sizeof delivered[0]; i++)
		touch(delivered[i]);
	world.key = (struct uidl_key){ .account = "fuzz", .user = "u", .maildir = world.mdpath };
	find_journal_path();
}

/* The file's whole contents (malloc'd), its length in *len_r. */
static char *
slurp(const char *path, size_t *len_r)
{
	FILE *fp = fopen(path, "rb");
	char *text = malloc(INPUT_MAX + 1);
	size_t n;

	if (fp == NULL || text == NULL)
		abort();
	n = fread(text, 1, INPUT_MAX + 1, fp);
	fclose(fp);
	*len_r = n;
	return text;
}

/* The journal after opening: the input up to its last newline. */
static void
check_torn_tail_cut(const uint8_t *data, size_t size)
{
	size_t good = size, len;
	char *now;

	while (good > 0 && data[good - 1] != '\n')
		good--;
	now = slurp(world.journal, &len);
	FUZZ_CHECK(len == good && memcmp(now, data, good) == 0);
	free(now);
}

/* Each kept entry's file is delivered; returns how many there are. */
static size_t
check_entries_delivered(struct uidl_state *s)
{
	struct uidl_set *set = uidl_entries(s);
	size_t live = 0;

	char file[UIDL_FILE_MAX + 1];
	struct uidl_entry e;

	for (size_t i = 0; i < set->count; i++) {
		if (set->entries[i].gone)
			continue;
		live++;
		FUZZ_CHECK(uidlset_entry(set, &set->entries[i], &e, file) == 0 && e.file != NULL);
		/* a delivery to an MDA or LMTP server has no file in the Maildir */
		FUZZ_CHECK(uidl_file_is_target(e.file) || maildir_has(world.md, e.file));
	}
	return live;
}

/* The saved state, read back: the same entries (UIDL, file, size). */
static void
check_read_back(struct uidl_state *s, size_t live)
{
	struct uidl_set *set = uidl_entries(s), *again;
	struct uidl_state *s2;

	FUZZ_CHECK(uidl_open(world.statedir, &world.key, false, &s2) == 0);
	again = uidl_entries(s2);
	FUZZ_CHECK(uidlset_count(again) == live);
	char file_e[UIDL_FILE_MAX + 1], file_f[UIDL_FILE_MAX + 1];
	struct uidl_entry e, f;
	const struct uidl_known *k;

	for (size_t i = 0; i < set->count; i++) {
		if (set->entries[i].gone)
			continue;
		k = uidlset_find(again, set->entries[i].uidl);
		FUZZ_CHECK(k != NULL && uidlset_entry(set, &set->entries[i], &e, file_e) == 0 &&
		    uidlset_entry(again, k, &f, file_f) == 0);
		FUZZ_CHECK(strcmp(f.file, e.file) == 0 && f.size == e.size);
	}
	uidl_close(s2);
}

static void
load_and_replay(const uint8_t *data, size_t size)
{
	struct uidl_state *s;
	struct stat st;
	size_t live;

	if (uidl_open(world.statedir, &world.key, true, &s) < 0) {
		FUZZ_CHECK(fail_class() == FAIL_IO);
		check_torn_tail_cut(data, size);
		return;
	}
	check_torn_tail_cut(data, size);
	FUZZ_CHECK(uidl_replay(s, world.md) == 0);
	FUZZ_CHECK(stat(world.journal, &st) == 0 && st.st_size == 0);
	live = check_entries_delivered(s);
	check_read_back(s, live);
	uidl_close(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char state[sizeof world.journal];

	if (size > INPUT_MAX)
		return 0;
	if (world.md == NULL)
		make_world();
	snprintf(state, sizeof state, "%.*s.state",
	    (int)(strlen(world.journal) - strlen(".journal")), world.journal);
	unlink(state);
	touch("md/tmp/in-tmp");
	close(open(world.journal, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	fuzz_write_file(world.journal, data, size);
	fail_clear();
	load_and_replay(data, size);
	for (size_t i = 0; i < sizeof delivered / sizeof delivered[0]; i++)
		FUZZ_CHECK(exists(delivered[i]));
	return 0;
}
