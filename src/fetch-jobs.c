/*
 * The pool of mailpipe-fetch --jobs (fetch-jobs.h).  The parent only
 * starts, waits, passes signals on and collects: it never connects.  It
 * waits in ppoll() with SIGCHLD, SIGTERM and SIGINT blocked everywhere
 * else, so a child's end or a signal that comes between two checks is
 * never slept through, and each wait is bounded (one second at a time).
 *
 * A child's report object travels in an anonymous memory file (memfd)
 * the parent made before the fork and reads once the child is gone: no
 * pipe to keep drained while waiting, no file left behind, and the object
 * is taken only from a child that exited by itself (one killed half way
 * may have written half of it).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fetch-jobs.h"
#include "fs.h"
#include "log.h"
#include "runreport.h"
#include "signals.h"
#include "tls.h"
#include "xalloc.h"

/* Children still running this long after the grace a signal gives them
 * are killed: the parent's wait is bounded too. */
#define STRAGGLER_MS 5000
/* A report object larger than this is not read (a fetch's is a few KB). */
#define REPORT_MAX (64u << 20)

struct job {
	const struct account *account;
	pid_t pid;		/* running; 0: not started or over */
	int report_fd;		/* the child's report object, or -1 */
	char *report;		/* read from it once the child exited */
	char *killed;		/* the line when a signal ended the child */
	enum failure outcome;	/* once it is over, or it could not start */
};

struct pool {
	struct job *jobs;
	size_t count, next;	/* next: the first account not started */
	unsigned running, max;
	const struct fetch_options *o;
	fetch_jobs_run_fn run;
	int forwarded;		/* the signal passed on to the children, or 0 */
	bool killed_all;	/* the stragglers were sent SIGKILL */
	int64_t kill_at_ms;
	pid_t parent;
	sigset_t outside;	/* the mask before the pool: children get it back */
	sigset_t waiting;	/* outside, with the three signals let through */
};

static void
on_child(int sig)
{
	(void)sig;	/* only to end ppoll() */
}

/* The child's report object: its record (the last one appended by the
 * run, if any) as the report shows it. */
static void
child_report(const struct job *j, const struct fetch_options *o, size_t before)
{
	struct strbuf out = { 0 };

	if (o->records == NULL || o->records->count <= before || j->report_fd < 0)
		return;
	runreport_account(&out, o->records->items[o->records->count - 1]);
	(void)fs_write_all(j->report_fd, out.p, out.len);
	free(out.p);
}

/* The child's own process group keeps a terminal's ^C to the parent,
 * which passes it on once (a second signal would kill at once); a parent
 * gone for any reason is a SIGTERM, so no child outlives its run by more
 * than the grace. */
static void
child_setup(const struct pool *p, const struct job *j)
{
	signal(SIGCHLD, SIG_DFL);
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != p->parent)
		raise(SIGTERM);
	log_account = j->account->name;
	sigprocmask(SIG_SETMASK, &p->outside, NULL);
}

static void __attribute__((noreturn))
child_main(const struct pool *p, const struct job *j)
{
	size_t before = p->o->records != NULL ? p->o->records->count : 0;
	enum failure result;

	child_setup(p, j);
	result = p->run(j->account, p->o);
	child_report(j, p->o, before);
	fflush(stdout);
	_exit(status_exit_code(result));
}

static void
start(struct pool *p, struct job *j)
{
	pid_t pid;

	j->report_fd = p->o->records != NULL ? memfd_create("mailpipe-report", MFD_CLOEXEC) : -1;
	fflush(stdout);		/* or the child's copy of the buffer goes out twice */
	if ((pid = fork()) == 0)
		child_main(p, j);
	if (pid < 0) {
		fail_scope(j->account->name, NULL, 0);
		fail(FAIL_TEMPORARY, "cannot start a process for the account: %s",
		    strerror(errno));
		log_error("%s", fail_line());
		j->outcome = FAIL_TEMPORARY;
		return;
	}
	(void)setpgid(pid, pid);	/* also here: whichever runs first */
	j->pid = pid;
	p->running++;
}

/* The whole memory file, NUL-terminated, or NULL when empty or unreadable. */
static char *
read_report(int fd)
{
	struct stat st;
	char *text;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > REPORT_MAX)
		return NULL;
	text = xmalloc((size_t)st.st_size + 1);
	if (pread(fd, text, (size_t)st.st_size, 0) != st.st_size) {
		free(text);
		return NULL;
	}
	text[st.st_size] = '\0';
	return text;
}

/* A child ended by a signal: its account failed, and says so. */
static void
killed(struct job *j, int sig)
{
	fail_scope(j->account->name, NULL, 0);
	fail(FAIL_TEMPORARY, "killed by signal %d (%s); what was not retrieved is left for "
	    "the next run", sig, strsignal(sig));
	log_error("%s", fail_line());
	j->killed = xstrdup(fail_line());
}

static void
settle(struct pool *p, struct job *j, int status)
{
	p->running--;
	j->pid = 0;
	j->outcome = FAIL_TEMPORARY;
	if (WIFEXITED(status)) {
		j->outcome = status_class_of_exit(WEXITSTATUS(status));
		j->report = read_report(j->report_fd);
	} else {
		killed(j, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	fs_close(j->report_fd);
	j->report_fd = -1;
}

static struct job *
job_of(struct pool *p, pid_t pid)
{
	for (size_t i = 0; i < p->next; i++)
		if (p->jobs[i].pid == pid)
			return &p->jobs[i];
	return NULL;
}

/* Every child that ended, reaped: none is left a zombie. */
static void
reap(struct pool *p)
{
	struct job *j;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((j = job_of(p, pid)) != NULL)
			settle(p, j, status);
}

static void
signal_running(const struct pool *p, int sig)
{
	for (size_t i = 0; i < p->next; i++)
		if (p->jobs[i].pid > 0)
			kill(p->jobs[i].pid, sig);
}

/* The first signal passed on once; the stragglers killed after the grace. */
static void
pass_signal_on(struct pool *p)
{
	int sig = signals_caught();

	if (sig != 0 && p->forwarded == 0) {
		p->forwarded = sig;
		p->kill_at_ms = clock_now_ms() + TIMING_SIGNAL_GRACE_MS + STRAGGLER_MS;
		signal_running(p, sig);
	}
	if (p->forwarded != 0 && !p->killed_all && clock_now_ms() >= p->kill_at_ms) {
		p->killed_all = true;
		signal_running(p, SIGKILL);
	}
}

static void
fill(struct pool *p)
{
	while (signals_caught() == 0 && p->running < p->max && p->next < p->count)
		start(p, &p->jobs[p->next++]);
}

static void
wait_a_while(const struct pool *p)
{
	struct timespec second = { .tv_sec = 1 };

	(void)ppoll(NULL, 0, &second, &p->waiting);
}

static void
supervise(struct pool *p)
{
	for (;;) {
		reap(p);
		pass_signal_on(p);
		fill(p);
		if (p->running == 0 && (p->next == p->count || signals_caught() != 0))
			return;
		wait_a_while(p);
	}
}

/* Accounts not started because of a signal: named, as one after another. */
static void
name_not_started(struct pool *p)
{
	for (size_t i = p->next; i < p->count; i++) {
		log_error("%s: not fetched: interrupted by signal %d", p->jobs[i].account->name,
		    signals_caught());
		p->jobs[i].outcome = FAIL_TEMPORARY;
	}
}

/* The worst outcome taken in the order of the accounts, not of their
 * ends: of two permanent failures the first account's wins, as one after
 * another, whichever process happened to finish first. */
static enum failure
worst_outcome(const struct pool *p)
{
	enum failure worst = FAIL_NONE;

	for (size_t i = 0; i < p->count; i++)
		worst = status_worse(worst, p->jobs[i].outcome);
	return worst;
}

/* The records, in the order of the accounts: a child's own object, or
 * for one killed, a record of that. */
static void
collect(struct pool *p)
{
	struct runrec *r;

	for (size_t i = 0; i < p->next && p->o->records != NULL; i++) {
		struct job *j = &p->jobs[i];

		if (j->report == NULL && j->killed == NULL)
			continue;
		r = runrec_start(p->o->records, RUNREC_FETCH, j->account->name);
		if (j->report != NULL) {
			r->report_json = j->report;
			j->report = NULL;
		} else {
			runrec_finish(r, FAIL_TEMPORARY, j->killed);
		}
	}
}

static void
pool_jobs(struct pool *p, const struct config *cfg)
{
	p->jobs = xcalloc(cfg->count + 1, sizeof *p->jobs);
	for (size_t i = 0; i < cfg->count; i++)
		if (cfg->accounts[i].kind == ACCOUNT_POP3)
			p->jobs[p->count++] = (struct job){ .account = &cfg->accounts[i],
				.report_fd = -1 };
}

static void
pool_free(struct pool *p)
{
	for (size_t i = 0; i < p->count; i++) {
		free(p->jobs[i].report);
		free(p->jobs[i].killed);
	}
	free(p->jobs);
}

/* SIGCHLD, SIGTERM and SIGINT blocked but in ppoll(), so that none comes
 * between a check and the wait (the top of this file). */
static void
block_signals(struct pool *p, struct sigaction *old_sa)
{
	struct sigaction sa = { .sa_handler = on_child };
	sigset_t three;

	sigemptyset(&three);
	sigaddset(&three, SIGCHLD);
	sigaddset(&three, SIGTERM);
	sigaddset(&three, SIGINT);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, old_sa);
	sigprocmask(SIG_BLOCK, &three, &p->outside);
	p->waiting = p->outside;
	sigdelset(&p->waiting, SIGCHLD);
	sigdelset(&p->waiting, SIGTERM);
	sigdelset(&p->waiting, SIGINT);
}

enum failure
fetch_jobs_run(const struct config *cfg, unsigned jobs, const struct fetch_options *o,
	fetch_jobs_run_fn run)
{
	struct pool p = { .max = jobs, .o = o, .run = run, .parent = getpid() };
	struct sigaction old_sa;
	enum failure worst;

	pool_jobs(&p, cfg);
	tls_prepare();		/* once here, not once in every child */
	block_signals(&p, &old_sa);
	supervise(&p);
	sigprocmask(SIG_SETMASK, &p.outside, NULL);
	sigaction(SIGCHLD, &old_sa, NULL);
	name_not_started(&p);
	collect(&p);
	worst = worst_outcome(&p);
	pool_free(&p);
	return worst;
}
