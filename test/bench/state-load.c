/*
 * state-load: what the fetch state costs at the size of a huge mailbox
 * (issue 14 item 4: "a 200,000-entry state loads in under 100 ms"), as a
 * benchmark rather than a unit test, because a timed assertion fails on a
 * loaded machine (the unit tests check the same sizes for correctness
 * only: test-statefile-scale, test-uidl).
 *
 * It writes a state of N entries (Dovecot-style UIDLs, Maildir names, a
 * digest on two entries of three) to a temporary file, then measures in
 * alternating rounds, after a warm-up:
 *   floor  the least any loader does: every octet of the file read, its
 *          lines counted (pread in 256 KiB blocks + memchr);
 *   load   statefile_read() of the file into a set as mailpipe-fetch
 *          loads it (digests and file names left in the file), every
 *          entry checked present;
 *   plan   the run that finds 0 new: N messages listed backwards (the
 *          worst order), planned against the loaded set, every message
 *          found retrieved.
 * Each measurement runs in a process of its own (this program again, with
 * --measure), so that every load is a cold one, as in a real run: no heap
 * left grown by an earlier round.  CPU time (user + system) is the figure,
 * printed as the median with min-max and as a multiple of the floor; wall
 * time on a shared machine is noise.  A wrong result ends it with exit 1.
 *
 * Usage: state-load [--count N] [--rounds R]   (200,000 and 5 by default)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fetch-plan.h"
#include "statefile.h"
#include "status.h"

#define ROUNDS_MAX 101

struct figures {
	double ms[ROUNDS_MAX];
	int n;
};

static double
cpu_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "state-load: %s%s%s\n", what, fail_class() ? ": " : "",
	    fail_class() ? fail_reason() : "");
	exit(1);
}

static void
uidl_of(size_t i, char out[32])
{
	snprintf(out, 32, "%08zx%08x", i * 2654435761u % 4294967291u, 0x5f00u);
}

/* A state of n entries like a real mailbox's, written to a temp file
 * whose path goes to path (removed by the caller). */
static void
make_state(size_t n, char path[64])
{
	static const struct state_header h = { .version = 2, .account = "big box",
		.user = "alice", .host = "pop.example", .port = 995 };
	struct uidl_set set = { 0 };
	int fd;

	snprintf(path, 64, "/tmp/state-load.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		die("cannot create a temp file");
	for (size_t i = 0; i < n; i++) {
		struct uidl_entry e = { .size = 2000 + i % 977, .fetched = 1700000000 + (long long)i,
			.has_digest = i % 3 != 0 };
		char uidl[32], file[96];

		uidl_of(i, uidl);
		snprintf(file, sizeof file, "1700000000.M%zuP1234Q%zu.backup.example.test,S=%zu",
		    i, i % 64, 2000 + i % 977);
		memset(e.digest, (int)(i & 0xff), sizeof e.digest);
		e.uidl = uidl;
		e.file = file;
		uidlset_add_copy(&set, &e);
	}
	uidlset_compact(&set, false);
	if (statefile_write(fd, path, &h, &set) < 0 || close(fd) < 0)
		die("cannot write the state");
	uidlset_free(&set);
}

/* Every octet read once, in 256 KiB blocks, its lines counted. */
static double
run_floor(FILE *fp, size_t n)
{
	static char block[256 * 1024];
	double t0 = cpu_ms();
	size_t lines = 0;
	ssize_t got;
	off_t off = 0;

	while ((got = pread(fileno(fp), block, sizeof block, off)) > 0) {
		for (const char *p = block; (p = memchr(p, '\n', (size_t)(block + got - p))) != NULL;
		    p++)
			lines++;
		off += got;
	}
	t0 = cpu_ms() - t0;
	if (got < 0 || lines < n)
		die("the floor counted too few lines");
	return t0;
}

static double
run_load(FILE *fp, size_t n, struct uidl_set *set, struct statefile_backing **b_r)
{
	struct state_header h;
	double t0 = cpu_ms();

	if (statefile_read(dup(fileno(fp)), "bench.state", &h, set, b_r) < 0)
		die("load failed");
	t0 = cpu_ms() - t0;
	state_header_free(&h);
	if (uidlset_count(set) != n)
		die("the load lost entries");
	return t0;
}

/* 0 new of n, listed backwards, against the loaded set. */
static double
run_plan(struct uidl_set *set, size_t n)
{
	struct fetch_plan p = { .now = 1800000000 };
	double t0 = cpu_ms();
	char uidl[32];

	plan_expect(&p, set, n);
	for (size_t i = n; i-- > 0;) {
		uidl_of(i, uidl);
		plan_add_uidl(&p, i + 1, uidl, strlen(uidl));
	}
	for (size_t i = n; i-- > 0;)
		plan_add_size(&p, i + 1, 2000 + i % 977);
	plan_make(&p, set);
	t0 = cpu_ms() - t0;
	for (size_t i = 0; i < p.count; i++)
		if (p.msgs[i].plan != PLAN_RETRIEVED || p.msgs[i].num != i + 1)
			die("the plan is wrong");
	if (p.count != n)
		die("the plan lost messages");
	plan_free(&p);
	return t0;
}

static int
compare_ms(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(struct figures *f)
{
	qsort(f->ms, (size_t)f->n, sizeof *f->ms, compare_ms);
	return f->ms[f->n / 2];
}

static void
print(const char *what, struct figures *f, double floor_ms)
{
	double m = median(f);

	printf("%-6s %9.1f ms CPU (%.1f-%.1f)", what, m, f->ms[0], f->ms[f->n - 1]);
	if (floor_ms > 0)
		printf("  %5.2fx the floor", m / floor_ms);
	printf("\n");
}

/* In a process of its own: one figure, printed as milliseconds. */
static int
measure(const char *what, const char *path, size_t n)
{
	struct uidl_set set = { 0 };
	struct statefile_backing *b = NULL;
	FILE *fp = fopen(path, "r");
	double ms;

	if (fp == NULL)
		die("cannot open the state");
	if (strcmp(what, "floor") == 0) {
		ms = run_floor(fp, n);
	} else {
		ms = run_load(fp, n, &set, &b);
		if (strcmp(what, "plan") == 0)
			ms = run_plan(&set, n);
	}
	printf("%.3f\n", ms);
	uidlset_free(&set);
	statefile_backing_free(b);
	fclose(fp);
	return 0;
}

/* Runs this program with --measure what and reads its figure. */
static double
measured(const char *self, const char *what, const char *path, size_t n)
{
	char count[32], out[64] = "";
	int fds[2], status;
	ssize_t got;
	pid_t pid;

	snprintf(count, sizeof count, "%zu", n);
	if (pipe(fds) < 0)
		die("cannot make a pipe");
	if ((pid = fork()) < 0)
		die("cannot fork");
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(self, self, "--measure", what, path, count, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	got = read(fds[0], out, sizeof out - 1);
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    got <= 0)
		die("a measurement failed");
	return strtod(out, NULL);
}

static void
options(int argc, char **argv, size_t *count_r, int *rounds_r)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--count") == 0)
			*count_r = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0)
			*rounds_r = atoi(argv[i + 1]);
		else
			break;
	}
	if ((argc - 1) % 2 != 0 || *count_r == 0 || *rounds_r < 1 || *rounds_r > ROUNDS_MAX - 1) {
		fprintf(stderr, "usage: state-load [--count N] [--rounds 1-%d]\n", ROUNDS_MAX - 1);
		exit(64);
	}
}

int
main(int argc, char **argv)
{
	size_t n = 200000;
	int rounds = 5;
	struct figures floor_f = { 0 }, load_f = { 0 }, plan_f = { 0 };
	char path[64];
	double floor_ms;

	if (argc == 5 && strcmp(argv[1], "--measure") == 0)
		return measure(argv[2], argv[3], strtoul(argv[4], NULL, 10));
	options(argc, argv, &n, &rounds);
	make_state(n, path);
	for (int r = 0; r <= rounds; r++) {	/* round 0: the warm-up */
		double f = measured(argv[0], "floor", path, n);
		double l = measured(argv[0], "load", path, n);
		double p = measured(argv[0], "plan", path, n);

		if (r == 0)
			continue;
		floor_f.ms[floor_f.n++] = f;
		load_f.ms[load_f.n++] = l;
		plan_f.ms[plan_f.n++] = p;
	}
	unlink(path);
	printf("state of %zu entries, %d rounds after a warm-up, each in a fresh process "
	    "(CPU time: median, min-max)\n", n, rounds);
	floor_ms = median(&floor_f);
	print("floor", &floor_f, 0);
	print("load", &load_f, floor_ms);
	print("plan", &plan_f, floor_ms);
	return 0;
}
