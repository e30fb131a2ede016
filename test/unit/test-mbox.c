/*
 * mbox.c and mbox-record.c: the mboxrd quoting (a table, every chunking,
 * and a round trip through the reader's unquoting over generated text),
 * the "From " line, the record (round trip; every torn prefix and a
 * flipped byte refused), the repair decision table, and the file with
 * its locks in a temp dir: created 0600, untrusted paths refused (78), a
 * held fcntl lock or a live dot-lock waited for within the bound (75), a
 * stale or leftover dot-lock taken over, an append cut back.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "mbox-record.h"
#include "mbox.h"
#include "status.h"
#include "tap.h"

/* ---- quoting ---- */

/* The quoted message, fed in chunks of step bytes (0: whole). */
static char *
quote(const char *in, size_t n, size_t step, size_t *len_r)
{
	char *out = malloc(2 * n + 16);
	struct mbox_quoter q;
	size_t o = 0;

	mbox_quote_init(&q);
	for (size_t at = 0; at < n;) {
		size_t take = step == 0 || n - at < step ? n - at : step;

		o += mbox_quote(&q, in + at, take, out + o);
		at += take;
	}
	o += mbox_quote_end(&q, out + o);
	*len_r = o;
	return out;
}

/* What an mboxrd reader does: one '>' less on lines matching ^>+From ,
 * and the empty line that ends the message taken off. */
static char *
unquote(const char *in, size_t n, size_t *len_r)
{
	char *out = malloc(n + 1);
	size_t o = 0;

	for (size_t at = 0; at < n;) {
		const char *nl = memchr(in + at, '\n', n - at);
		size_t len = nl != NULL ? (size_t)(nl - (in + at)) + 1 : n - at, gts = 0;

		while (gts < len && in[at + gts] == '>')
			gts++;
		if (gts > 0 && len - gts >= 5 && memcmp(in + at + gts, "From ", 5) == 0) {
			at++;
			len--;
		}
		memcpy(out + o, in + at, len);
		o += len;
		at += len;
	}
	*len_r = o > 0 ? o - 1 : 0;	/* the ending empty line */
	return out;
}

static void
test_quote_table(void)
{
	static const struct { const char *in, *out; } t[] = {
		{ "", "\n" },
		{ "a\n", "a\n\n" },
		{ "no newline", "no newline\n\n" },
		{ "From x\n", ">From x\n\n" },
		{ ">From x\n", ">>From x\n\n" },
		{ ">>>From x\n", ">>>>From x\n\n" },
		{ "a\nFrom b\nc", "a\n>From b\nc\n\n" },
		{ "From", "From\n\n" },
		{ "From\n", "From\n\n" },
		{ "Fro", "Fro\n\n" },
		{ ">Fro", ">Fro\n\n" },
		{ "x From y\n", "x From y\n\n" },
		{ "Fromage\n", "Fromage\n\n" },
		{ ">F>From\n", ">F>From\n\n" },
		{ "\nFrom \n", "\n>From \n\n" },
		{ "From From \n", ">From From \n\n" },
	};

	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		size_t n = strlen(t[i].in), len;
		bool same = true;
		char *whole = quote(t[i].in, n, 0, &len);

		is_mem(whole, len, t[i].out, strlen(t[i].out), "quoted: %s", t[i].out);
		for (size_t step = 1; step < 7; step++) {
			size_t len2;
			char *part = quote(t[i].in, n, step, &len2);

			same = same && len2 == len && memcmp(part, whole, len) == 0;
			free(part);
		}
		ok(same, "the same in chunks of 1 to 6 bytes: %s", t[i].out);
		free(whole);
	}
}

/* Text from the letters that matter, many lines of it. */
static size_t
generated(unsigned seed, char *buf, size_t size)
{
	static const char letters[] = ">>>From \n\nxF";
	size_t n = 0;

	while (n < size) {
		seed = seed * 1103515245u + 12345u;
		buf[n++] = letters[(seed >> 16) % (sizeof letters - 1)];
	}
	return n;
}

static void
test_quote_round_trip(void)
{
	char text[600];
	int good = 0;

	for (unsigned seed = 1; seed <= 200; seed++) {
		size_t n = generated(seed, text, seed % 2 ? sizeof text : sizeof text - 7), qlen, ulen;
		char *q = quote(text, n, seed % 9, &qlen);
		char *u = unquote(q, qlen, &ulen);
		bool ends_nl = n > 0 && text[n - 1] == '\n';

		/* A last line without newline comes back with one. */
		good += (ends_nl ? ulen == n : ulen == n + 1) && memcmp(u, text, n) == 0;
		free(q);
		free(u);
	}
	is_int(good, 200, "200 generated messages come back byte for byte after unquoting");
}

static void
test_from_line(void)
{
	char line[MBOX_FROM_MAX];
	size_t n;

	n = mbox_from_line(line, "", 0);
	is_str(line, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n", "no sender, the epoch");
	is_int(n, strlen(line), "its length");
	mbox_from_line(line, "a@b.example", 1000000000);
	is_str(line, "From a@b.example Sun Sep  9 01:46:40 2001\n", "a sender, a date in UTC");
	mbox_from_line(line, "x", 1798761599);
	is_str(line, "From x Thu Dec 31 23:59:59 2026\n", "two-digit day, December");
}

/* ---- the record ---- */

static void
sample_record(struct mbox_record *r, long long *ends, char **uidls)
{
	*r = (struct mbox_record){ .path = "/home/u/mail box", .dev = 2049, .ino = 123456,
		.lock = { .dev = 2049, .ino = 99, .mtime_ns = 1765116428123456789LL, .pid = 4242 },
		.start = 1000, .fetched = 1765116428, .n = 3, .ends = ends, .uidls = uidls };
	ends[0] = 1500;
	ends[1] = 1600;
	ends[2] = 90000;
	uidls[0] = "uid-1";
	uidls[1] = "a%b";
	uidls[2] = "zz";
}

static void
test_record(void)
{
	long long ends[3];
	char *uidls[3];
	struct mbox_record r, back;
	size_t len;
	char *text;
	int torn_refused = 0;

	sample_record(&r, ends, uidls);
	text = mbox_record_format(&r, &len);
	is_int(mbox_record_parse(text, len, &back), 1, "a record parses");
	ok(strcmp(back.path, r.path) == 0 && back.dev == r.dev && back.ino == r.ino &&
	    back.start == 1000 && back.n == 3 && back.ends[2] == 90000 &&
	    strcmp(back.uidls[1], "a%b") == 0 && back.lock.pid == 4242 &&
	    back.lock.mtime_ns == r.lock.mtime_ns && back.lock.ino == 99 &&
	    back.fetched == 1765116428,
	    "and gives back every field");
	mbox_record_free(&back);
	for (size_t cut = 0; cut < len; cut++)
		torn_refused += mbox_record_parse(text, cut, &back) == 0;
	is_int(torn_refused, len, "every torn prefix (%zu) is no record", len);
	text[len / 2] ^= 1;
	is_int(mbox_record_parse(text, len, &back), 0, "a flipped bit: no record");
	free(text);
}

/* F4: only entries this append journaled count as committed.  "a%b"
 * is in the state from an earlier run (the server reused its UIDL for
 * another message, whose append was cut short): it must not count, or
 * the partial message would be kept. */
static void
test_committed(void)
{
	long long ends[3];
	char *uidls[3];
	struct mbox_record r;
	struct uidl_set set = { 0 };
	struct uidl_entry ours = { .uidl = strdup("uid-1"), .file = strdup("=mbox"),
		.fetched = 1765116428 };
	struct uidl_entry old = { .uidl = strdup("a%b"), .file = strdup("=mbox"),
		.fetched = 1765000000 };
	struct uidl_entry maildir = { .uidl = strdup("zz"), .file = strdup("1.M1P1Q1R1.h"),
		.fetched = 1765116428 };

	sample_record(&r, ends, uidls);
	uidlset_add(&set, &ours);
	is_int(mbox_record_committed(&r, &set, "=mbox"), 1, "the one journaled by the append");
	uidlset_add(&set, &old);
	uidlset_add(&set, &maildir);
	is_int(mbox_record_committed(&r, &set, "=mbox"), 1, "an older entry of a reused UIDL "
	    "does not count");
	old = (struct uidl_entry){ .uidl = strdup("a%b"), .file = strdup("=mbox"),
		.fetched = 1765116428 };
	uidlset_add(&set, &old);
	is_int(mbox_record_committed(&r, &set, "=mbox"), 2, "once journaled by it, it does");
	is_int(mbox_record_committed(&r, &set, "=x"), 0, "another target's entries do not");
	uidlset_free(&set);
}

/* ---- the decision ---- */

static void
decide(const struct mbox_found *f, enum mbox_repair want, long long want_cut,
	const char *what)
{
	long long ends[3];
	char *uidls[3];
	struct mbox_record r;
	long long cut;
	const char *why;
	enum mbox_repair got;

	sample_record(&r, ends, uidls);
	got = mbox_repair_decide(&r, f, &cut, &why);
	ok(got == want && (want != MBOX_REPAIR_CUT || cut == want_cut) &&
	    (want == MBOX_REPAIR_LEAVE) == (why != NULL), "%s", what);
}

static void
test_decide(void)
{
	struct mbox_found f = { .exists = true, .dev = 2049, .ino = 123456, .size = 5000,
		.lock_ours = true };

	decide(&f, MBOX_REPAIR_CUT, 1000, "half way, our lock: cut back to the start");
	f.size = 90000;
	decide(&f, MBOX_REPAIR_CUT, 1000, "all appended, not journaled: cut back");
	f.committed = 1;
	decide(&f, MBOX_REPAIR_CUT, 1500, "the first journaled: cut after it");
	f.committed = 3;
	decide(&f, MBOX_REPAIR_NONE, 0, "all journaled: nothing to cut");
	f.committed = 0;
	f.size = 1000;
	decide(&f, MBOX_REPAIR_NONE, 0, "nothing reached the file: nothing to cut");
	f.size = 999;
	decide(&f, MBOX_REPAIR_LEAVE, 0, "shorter than the start: left");
	f.size = 90001;
	decide(&f, MBOX_REPAIR_LEAVE, 0, "longer than the append: left");
	f.size = 5000;
	f.lock_ours = false;
	decide(&f, MBOX_REPAIR_LEAVE, 0, "our lock gone: left");
	f.lock_ours = true;
	f.ino = 7;
	decide(&f, MBOX_REPAIR_LEAVE, 0, "another file (inode): left");
	f.ino = 123456;
	f.dev = 1;
	decide(&f, MBOX_REPAIR_LEAVE, 0, "another file (device): left");
	f.exists = false;
	decide(&f, MBOX_REPAIR_LEAVE, 0, "the file gone: left");
}

/* ---- the file and its locks ---- */

static char dir[] = "/tmp/test-mbox-XXXXXX";

static char *
in_dir(const char *name)
{
	static char path[256];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* The time mbox_lock() took to give up, with its class, in ms. */
static long long
timed_refusal(const char *path, int timeout_s)
{
	int64_t t0 = clock_now_ms();
	struct mbox *m = NULL;
	int rc = mbox_lock(path, timeout_s, NULL, &m);

	if (rc == 0) {
		mbox_unlock(m);
		return -1;
	}
	return fail_class() == FAIL_TEMPORARY ? clock_now_ms() - t0 : -2;
}

static void
test_create_and_append(void)
{
	char *path = strdup(in_dir("box"));
	struct mbox *m = NULL;
	struct stat st;
	char buf[64] = "";
	int fd;
	long long size;
	dev_t dev;
	ino_t ino;

	is_int(mbox_lock(path, 5, NULL, &m), 0, "a missing mbox is created and locked");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600, "mode 0600");
	ok(stat(in_dir("box.lock"), &st) == 0, "the dot-lock is there while locked");
	fd = open(in_dir("msg"), O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(fd, ">From x\n\n", 9);
	is_int(mbox_append(m, "From a b\n", 9, fd), 0, "appended");
	is_int(mbox_sync(m), 0, "fsynced");
	mbox_stat(m, &dev, &ino, &size);
	is_int(size, 18, "the size is the From line and the message");
	is_int(mbox_truncate(m, 9), 0, "cut back");
	mbox_unlock(m);
	ok(lstat(in_dir("box.lock"), &st) < 0 && errno == ENOENT, "the dot-lock is gone after");
	close(fd);
	fd = open(path, O_RDONLY);
	read(fd, buf, sizeof buf - 1);
	close(fd);
	is_str(buf, "From a b\n", "only what was before the cut is left");
	free(path);
}

static void
test_fcntl_held(void)
{
	char *path = strdup(in_dir("box"));
	int ready[2], status;
	pid_t child;
	long long ms;

	pipe(ready);
	if ((child = fork()) == 0) {
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		fcntl(fd, F_SETLK, &fl);
		write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	read(ready[0], &status, 1);
	ms = timed_refusal(path, 1);
	ok(ms >= 900 && ms < tap_ms_bound(5000), "fcntl lock held: 75 after the 1 s bound "
	    "(%lld ms)", ms);
	ok(strstr(fail_reason(), "fcntl") != NULL, "the line says which lock: %s", fail_reason());
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	close(ready[0]);
	close(ready[1]);
	free(path);
}

static void
test_dotlocks(void)
{
	char *path = strdup(in_dir("box")), *lock = strdup(in_dir("box.lock")), pid[32];
	struct mbox *m = NULL;
	struct mbox_lock_id id;
	struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
	struct stat st;
	pid_t dead;
	long long ms;

	snprintf(pid, sizeof pid, "%ld\n", (long)getppid());
	write_file(lock, pid);
	ms = timed_refusal(path, 1);
	ok(ms >= 900 && ms < tap_ms_bound(5000), "dot-lock of a live process: 75 after the "
	    "bound (%lld ms)", ms);
	if ((dead = fork()) == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	snprintf(pid, sizeof pid, "%ld\n", (long)dead);
	write_file(lock, pid);
	is_int(mbox_lock(path, 1, NULL, &m), 0, "dot-lock of a process gone: taken over");
	mbox_lock_identity(m, &id);
	ok(id.pid == getpid() && mbox_lock_is(path, &id), "and now ours");
	mbox_unlock(m);
	write_file(lock, "");
	utimensat(AT_FDCWD, lock, old, 0);
	is_int(mbox_lock(path, 1, NULL, &m), 0, "an old dot-lock without a pid: taken over");
	mbox_unlock(m);
	/* A lock an interrupted run of ours left: its pid is alive here
	 * (ours), so only the record's identity lets it be taken over. */
	snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	write_file(lock, pid);
	ok(timed_refusal(path, 0) >= 0, "a live lock not named by a record: waited for");
	ok(lstat(lock, &st) == 0, "and left in place");
	id = (struct mbox_lock_id){ .dev = st.st_dev, .ino = st.st_ino,
		.mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
		.pid = getpid() };
	ok(mbox_lock_is(path, &id), "mbox_lock_is() knows it");
	is_int(mbox_lock(path, 1, &id, &m), 0, "the leftover named by the record: taken over");
	mbox_unlock(m);
	ok(!mbox_lock_is(path, &id), "and gone once unlocked");
	free(path);
	free(lock);
}

/* Our leftover dot-lock, made as an interrupted run would have left it. */
static struct mbox_lock_id
plant_leftover(const char *lock)
{
	char pid[32];
	struct stat st;

	snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	write_file(lock, pid);
	lstat(lock, &st);
	return (struct mbox_lock_id){ .dev = st.st_dev, .ino = st.st_ino,
		.mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
		.pid = getpid() };
}

/* F3: another writer holding the fcntl lock breaks our leftover dot-lock
 * and appends while we wait for that lock.  Judged before the lock (as
 * mbox_lock_is() does) the leftover looks ours; judged while taking the
 * lock it must not, or the repair cuts the other writer's message. */
static void
test_leftover_taken_meanwhile(void)
{
	char *path = strdup(in_dir("box")), *lock = strdup(in_dir("box.lock"));
	struct mbox_lock_id id = plant_leftover(lock);
	struct mbox *m = NULL;
	int ready[2], status;
	pid_t child;

	pipe(ready);
	if ((child = fork()) == 0) {
		int fd = open(path, O_RDWR | O_APPEND);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		fcntl(fd, F_SETLK, &fl);
		write(ready[1], "x", 1);
		usleep(300000);
		unlink(lock);
		write(fd, "From other\n\n", 13);
		_exit(0);
	}
	read(ready[0], &status, 1);
	ok(mbox_lock_is(path, &id), "before the lock, the leftover looks ours");
	is_int(mbox_lock_existing(path, 5, &id, &m), 1, "locked once the other writer is done");
	ok(m != NULL && !mbox_took_leftover(m), "the leftover was broken by another writer: "
	    "not ours");
	mbox_unlock(m);
	waitpid(child, &status, 0);
	id = plant_leftover(lock);
	is_int(mbox_lock_existing(path, 5, &id, &m), 1, "locked over our leftover");
	ok(m != NULL && mbox_took_leftover(m), "the leftover untouched: ours");
	mbox_unlock(m);
	close(ready[0]);
	close(ready[1]);
	free(path);
	free(lock);
}

/* F5: a dot-lock of ours no record names, its pid now some live process
 * (here our own): taken over once old, as a lock without a pid is. */
static void
test_unnamed_lock_of_ours(void)
{
	char *path = strdup(in_dir("box")), *lock = strdup(in_dir("box.lock")), text[64];
	struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
	struct mbox *m = NULL;

	snprintf(text, sizeof text, "%ld\nmailpipe\n", (long)getpid());
	write_file(lock, text);
	ok(timed_refusal(path, 0) >= 0, "a fresh lock of ours, its pid alive: waited for");
	utimensat(AT_FDCWD, lock, old, 0);
	is_int(mbox_lock(path, 1, NULL, &m), 0, "an old lock of ours, its pid reused: taken over");
	mbox_unlock(m);
	snprintf(text, sizeof text, "%ld\n", (long)getppid());
	write_file(lock, text);
	utimensat(AT_FDCWD, lock, old, 0);
	ok(timed_refusal(path, 0) >= 0, "an old lock of another program, its pid alive: "
	    "waited for");
	unlink(lock);
	free(path);
	free(lock);
}

/* The file after appending one message to a file holding before. */
static void
append_after(const char *before, size_t want_need, const char *want)
{
	char *path = strdup(in_dir("sep")), buf[64] = "";
	struct mbox *m = NULL;
	size_t need = 9;
	int fd = open(in_dir("msg"), O_RDWR | O_CREAT | O_TRUNC, 0600);

	write(fd, "x\n\n", 3);
	write_file(path, before);
	mbox_lock(path, 1, NULL, &m);
	is_int(mbox_separator(m, &need), 0, "the end of \"%s\" looked at", before);
	is_int(need, want_need, "it needs %zu newlines", want_need);
	mbox_append(m, "From a\n", 7, fd);
	mbox_unlock(m);
	close(fd);
	fd = open(path, O_RDONLY);
	read(fd, buf, sizeof buf - 1);
	close(fd);
	is_str(buf, want, "appended after \"%s\"", before);
	unlink(path);
	free(path);
}

/* F5: no "From " line glued onto a last line without its newline. */
static void
test_separator(void)
{
	append_after("", 0, "From a\nx\n\n");
	append_after("a", 2, "a\n\nFrom a\nx\n\n");
	append_after("a\n", 1, "a\n\nFrom a\nx\n\n");
	append_after("a\n\n", 0, "a\n\nFrom a\nx\n\n");
}

static void
test_untrusted(void)
{
	char *path = strdup(in_dir("sub/box"));

	mkdir(in_dir("sub"), 0700);
	is_int(mbox_check_path(path), 0, "a private directory: trusted");
	chmod(in_dir("sub"), 0770);
	ok(mbox_check_path(path) < 0 && fail_class() == FAIL_CONFIG,
	    "a group-writable directory: 78 (%s)", fail_reason());
	chmod(in_dir("sub"), 0700);
	write_file(path, "");
	chmod(path, 0666);
	ok(mbox_check_path(path) < 0 && fail_class() == FAIL_CONFIG,
	    "a world-writable file: 78 (%s)", fail_reason());
	unlink(path);
	symlink("/etc/passwd", path);
	ok(mbox_check_path(path) < 0 && fail_class() == FAIL_CONFIG,
	    "a symbolic link: 78 (%s)", fail_reason());
	unlink(path);
	mkdir(path, 0700);
	ok(mbox_check_path(path) < 0 && fail_class() == FAIL_CONFIG &&
	    strstr(fail_reason(), "not a regular file") != NULL, "a directory: 78 (%s)",
	    fail_reason());
	rmdir(path);
	ok(mbox_check_path(in_dir("none/box")) < 0 && fail_class() == FAIL_CANTCREAT,
	    "a missing directory: 73");
	rmdir(in_dir("sub"));
	free(path);
}

int
main(void)
{
	test_quote_table();
	test_quote_round_trip();
	test_from_line();
	test_record();
	test_committed();
	test_decide();
	if (mkdtemp(dir) == NULL)
		return 1;
	test_create_and_append();
	test_fcntl_held();
	test_dotlocks();
	test_leftover_taken_meanwhile();
	test_unnamed_lock_of_ours();
	test_separator();
	test_untrusted();
	unlink(in_dir("box"));
	unlink(in_dir("msg"));
	rmdir(dir);
	return done_testing();
}
