/*
 * Name lookups in a child process (lookup.h).  The child (fork, no exec)
 * calls getaddrinfo() and writes the answer into a pipe as fixed-size
 * records; the parent reads them with timing_poll(), so the wait ends with
 * the timeout, the deadline or a signal's grace, and then kills the child.
 *
 * Why a child and not glibc's getaddrinfo_a() with gai_suspend(): a lookup
 * in progress cannot be cancelled (gai_cancel() gives EAI_NOTCANCELED), so
 * one given up on would go on in a thread of ours, its request memory
 * ours to keep, while mailpipe-fetch goes on to its next account; a child
 * is really ended.  And the program stays single-threaded, as its signal
 * handling and its posix_spawn() of MDAs assume.  The cost, a fork per
 * lookup of a name, is small beside the lookup itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lookup.h"
#include "signals.h"
#include "status.h"
#include "xalloc.h"

/* The answer on the pipe: a head, count addresses, then the canonical
 * name's canon_len bytes (no NUL). */
struct wire_head {
	int rc;
	int err;
	unsigned count;
	unsigned canon_len;
};

struct wire_address {
	int family;
	int socktype;
	int protocol;
	socklen_t addrlen;
	struct sockaddr_storage addr;
};

#define WIRE_MAX (sizeof(struct wire_head) + \
	LOOKUP_MAX_ADDRESSES * sizeof(struct wire_address) + NI_MAXHOST)

/* One entry of the list lookup_run() returns: the address beside it. */
struct lookup_entry {
	struct addrinfo ai;	/* first: the entry is freed through it */
	struct sockaddr_storage addr;
};

/* ---- the child ---- */

static size_t
encode(int rc, const struct addrinfo *found, char *buf)
{
	struct wire_head head = { .rc = rc, .err = errno };
	size_t used = sizeof head;

	for (const struct addrinfo *ai = found; ai != NULL && head.count < LOOKUP_MAX_ADDRESSES;
	    ai = ai->ai_next) {
		struct wire_address w = { .family = ai->ai_family, .socktype = ai->ai_socktype,
			.protocol = ai->ai_protocol, .addrlen = ai->ai_addrlen };

		if (ai->ai_addrlen > sizeof w.addr)
			continue;
		memcpy(&w.addr, ai->ai_addr, ai->ai_addrlen);
		memcpy(buf + used, &w, sizeof w);
		used += sizeof w;
		head.count++;
	}
	if (found != NULL && found->ai_canonname != NULL) {
		head.canon_len = (unsigned)strnlen(found->ai_canonname, NI_MAXHOST - 1);
		memcpy(buf + used, found->ai_canonname, head.canon_len);
	}
	memcpy(buf, &head, sizeof head);
	return used + head.canon_len;
}

/* In the child: the lookup, its answer written, and the end.  _exit():
 * nothing of the parent's (stdio buffers, atexit handlers) runs twice. */
static void
child_lookup(int out, const char *host, const char *service, const struct addrinfo *hints)
{
	struct addrinfo *found = NULL;
	char *buf = malloc(WIRE_MAX);
	size_t n, done = 0;
	int rc;

	if (buf == NULL)
		_exit(1);
	rc = getaddrinfo(host, service, hints, &found);
	n = encode(rc, rc == 0 ? found : NULL, buf);
	while (done < n) {
		ssize_t put = write(out, buf + done, n - done);

		if (put < 0 && errno != EINTR)
			_exit(1);
		if (put > 0)
			done += (size_t)put;
	}
	_exit(0);
}

/* The child keeps its end of the pipe (as descriptor 3) and nothing else,
 * and dies with its parent: a parent killed by SIGKILL while a resolver
 * hangs must not leave behind a process holding the account's lock, its
 * journal or a socket until the lookup returns.  Returns the pipe's end. */
static int
keep_only(int out, pid_t parent)
{
	if (out != 3 && dup2(out, 3) < 0)
		_exit(1);
	if (close_range(4, ~0U, 0) < 0)	/* a kernel before 5.9 */
		for (int fd = 4; fd < FD_SETSIZE; fd++)
			close(fd);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)	/* gone already */
		_exit(1);
	return 3;
}

/* A child in a process group of its own, every signal at its default: the
 * handlers of the program are not the child's business.  Signals are
 * blocked around fork() so that none reaches a handler in the child, and
 * the group is tracked (signals.h) before one can end the program. */
static pid_t
start_child(int fds[2], const char *host, const char *service, const struct addrinfo *hints)
{
	static const int caught[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	sigset_t all, before;
	pid_t pid, parent;
	int fork_errno;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &before);
	parent = getpid();
	pid = fork();
	fork_errno = errno;
	if (pid == 0) {
		for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
			signal(caught[i], SIG_DFL);
		setpgid(0, 0);
		sigprocmask(SIG_SETMASK, &before, NULL);
		child_lookup(keep_only(fds[1], parent), host, service, hints);
	}
	if (pid > 0) {
		setpgid(pid, pid);	/* as the child does: whichever comes first */
		signals_track_group(pid);
	}
	sigprocmask(SIG_SETMASK, &before, NULL);
	errno = fork_errno;	/* for the caller's line when fork() failed */
	return pid;
}

/* ---- the parent ---- */

/* The child's whole answer, up to its end of the pipe. */
static int
read_answer(int fd, const struct timing *t, const char *what, char *buf, size_t *n_r)
{
	*n_r = 0;
	for (;;) {
		ssize_t got;

		if (timing_poll(fd, POLLIN, t, what) < 0)
			return -1;
		got = read(fd, buf + *n_r, WIRE_MAX - *n_r);
		if (got == 0)
			return 0;
		if (got < 0 && errno != EINTR)
			return fail(FAIL_TEMPORARY, "%s: cannot read its answer: %s", what,
			    strerror(errno));
		if (got > 0 && (*n_r += (size_t)got) == WIRE_MAX)
			return 0;
	}
}

/* Killed or exited, the child is reaped; after SIGKILL that is at once. */
static void
end_child(pid_t pid, bool kill_it)
{
	if (kill_it)
		kill(-pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		continue;
	signals_track_group(0);
}

static struct addrinfo *
decode_entry(const struct wire_address *w)
{
	struct lookup_entry *e = xcalloc(1, sizeof *e);

	e->ai.ai_family = w->family;
	e->ai.ai_socktype = w->socktype;
	e->ai.ai_protocol = w->protocol;
	e->ai.ai_addrlen = w->addrlen;
	memcpy(&e->addr, &w->addr, w->addrlen);
	e->ai.ai_addr = (struct sockaddr *)&e->addr;
	return &e->ai;
}

/* The answer as the child wrote it; false when it is not whole (the child
 * died before it wrote everything). */
static bool
decode(const char *buf, size_t n, struct lookup *l)
{
	struct addrinfo **tail = &l->list;
	struct wire_head head;
	const char *at = buf + sizeof head;

	if (n < sizeof head)
		return false;
	memcpy(&head, buf, sizeof head);
	if (head.count > LOOKUP_MAX_ADDRESSES || head.canon_len >= NI_MAXHOST ||
	    n != sizeof head + head.count * sizeof(struct wire_address) + head.canon_len)
		return false;
	*l = (struct lookup){ .rc = head.rc, .err = head.err };
	for (unsigned i = 0; i < head.count; i++, at += sizeof(struct wire_address)) {
		struct wire_address w;

		memcpy(&w, at, sizeof w);
		if (w.addrlen > sizeof w.addr)
			return false;
		*tail = decode_entry(&w);
		tail = &(*tail)->ai_next;
	}
	if (l->list != NULL && head.canon_len > 0)
		l->list->ai_canonname = xstrndup(at, head.canon_len);
	return true;
}

/* A numeric host needs no resolver: answered here, at once.  False when
 * host is a name. */
static bool
numeric(const char *host, const char *service, const struct addrinfo *hints,
	struct lookup *l)
{
	struct addrinfo numeric_hints = *hints, *found = NULL;
	char *buf;

	numeric_hints.ai_flags |= AI_NUMERICHOST;
	numeric_hints.ai_flags &= ~AI_CANONNAME;
	if (getaddrinfo(host, service, &numeric_hints, &found) != 0)
		return false;
	buf = xmalloc(WIRE_MAX);
	decode(buf, encode(0, found, buf), l);
	free(buf);
	freeaddrinfo(found);
	return true;
}

int
lookup_start(const char *host, const char *service, const struct addrinfo *hints,
	struct lookup_pending *p)
{
	int fds[2];

	*p = (struct lookup_pending){ .fd = -1 };
	if (numeric(host, service, hints, &p->answer))
		return 0;
	snprintf(p->what, sizeof p->what, "looking up %s", host);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return p->rc = fail(FAIL_TEMPORARY, "%s: cannot make a pipe: %s", p->what,
		    strerror(errno));
	p->pid = start_child(fds, host, service, hints);
	if (p->pid < 0) {
		int err = errno;

		p->pid = 0;
		close(fds[0]);
		close(fds[1]);
		return p->rc = fail(FAIL_TEMPORARY, "%s: cannot start a process: %s", p->what,
		    strerror(err));
	}
	close(fds[1]);
	p->fd = fds[0];
	return 0;
}

int
lookup_collect(struct lookup_pending *p, const struct timing *t, struct lookup *l)
{
	char *buf;
	size_t n;
	int rc;

	*l = p->answer;		/* a numeric host's, or nothing */
	p->answer = (struct lookup){ 0 };
	if (p->rc < 0 || p->pid == 0)
		return p->rc;
	buf = xmalloc(WIRE_MAX);
	rc = read_answer(p->fd, t, p->what, buf, &n);
	close(p->fd);
	end_child(p->pid, rc < 0);
	if (rc == 0 && !decode(buf, n, l)) {
		lookup_free(l);
		rc = fail(FAIL_TEMPORARY, "%s: the lookup ended without an answer", p->what);
	}
	free(buf);
	p->pid = 0;
	p->fd = -1;
	return rc;
}

void
lookup_abandon(struct lookup_pending *p)
{
	if (p->pid > 0) {
		close(p->fd);
		end_child(p->pid, true);
	}
	lookup_free(&p->answer);
	*p = (struct lookup_pending){ .fd = -1 };
}

int
lookup_run(const char *host, const char *service, const struct addrinfo *hints,
	const struct timing *t, struct lookup *l)
{
	struct lookup_pending p;

	*l = (struct lookup){ 0 };
	if (lookup_start(host, service, hints, &p) < 0)
		return -1;
	return lookup_collect(&p, t, l);
}

void
lookup_free(struct lookup *l)
{
	struct addrinfo *next;

	for (struct addrinfo *ai = l->list; ai != NULL; ai = next) {
		next = ai->ai_next;
		free(ai->ai_canonname);
		free(ai);
	}
	l->list = NULL;
}
