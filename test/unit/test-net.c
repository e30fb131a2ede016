/*
 * net.c: connecting over IPv6 and IPv4 loopback, a refused connection as a
 * temporary failure, a connection that never completes ended by the
 * timeout or by the deadline, each saying which.  clock.c: the timeout, the deadline and the grace
 * after a signal each end a wait and say which one it was; the grace is
 * counted once, from the signal, not again for every wait.  The allowance
 * for a slow answer grows with the work and stops at its cap.  lookup.c:
 * what getaddrinfo() answers comes back from the child whole.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "lookup.h"
#include "net.h"
#include "status.h"
#include "tap.h"

static const struct timing patient = { .timeout_ms = 5000 };

/* A listening socket on addr (an IPv4 or IPv6 literal); its port in *port_r. */
static int
listener(const char *addr, unsigned *port_r)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	bool v6 = strchr(addr, ':') != NULL;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);

	if (v6) {
		in6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof *in6;
	} else {
		in4->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &in4->sin_addr);
		len = sizeof *in4;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port_r = ntohs(v6 ? in6->sin6_port : in4->sin_port);
	return fd;
}

/* net_connect() in its two steps, with a name, so that a child looks it
 * up while the caller goes on (conn.c starts OpenSSL meanwhile). */
static void
connects_in_two_steps(void)
{
	unsigned port = 0;
	int lfd = listener("127.0.0.1", &port), fd = -1;
	struct net_resolving r;

	if (lfd < 0) {
		skip("no 127.0.0.1 on this machine: %s", strerror(errno));
		return;
	}
	ok(net_resolve_start("localhost", port, &r) == 0 && r.lookup.pid > 0,
	    "the name's lookup started in a child");
	ok(net_connect_resolved(&r, &patient, &fd) == 0, "then connected to localhost");
	ok(r.lookup.pid == 0 && r.lookup.fd == -1, "the child collected, its pipe closed");
	if (fd >= 0)
		close(fd);
	close(lfd);
}

static void
connects(const char *addr)
{
	unsigned port = 0;
	int lfd = listener(addr, &port), fd = -1;

	if (lfd < 0) {
		skip("no %s on this machine: %s", addr, strerror(errno));
		return;
	}
	ok(net_connect(addr, port, &patient, &fd) == 0, "connect to %s", addr);
	if (fd >= 0)
		close(fd);
	close(lfd);
}

static void
refused(void)
{
	unsigned port = 0;
	int lfd = listener("127.0.0.1", &port), fd = -1;
	char want[100];

	if (!ok(lfd >= 0, "listen on 127.0.0.1"))
		return;
	close(lfd);	/* nothing listens there now */
	fail_clear();
	fail_scope("work", "127.0.0.1", port);
	ok(net_connect("127.0.0.1", port, &patient, &fd) < 0 && fail_class() == FAIL_TEMPORARY,
	    "a refused connection is temporary (75)");
	snprintf(want, sizeof want, "work (127.0.0.1:%u): cannot connect: ", port);
	ok(strncmp(fail_line(), want, strlen(want)) == 0, "and the line says where: %s",
	    fail_line());
	fail_scope(NULL, NULL, 0);
}

/* Connects to 127.0.0.1:port until the listener's queue is full, so that
 * the next connection stays in progress (its SYN is dropped).  The
 * sockets are left in fds (up to 8); returns how many, or -1 when the
 * queue never filled. */
static int
fill_queue(unsigned port, int *fds)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, "127.0.0.1", &in4.sin_addr);
	for (int n = 0; n < 8; n++) {
		struct pollfd pfd = { .events = POLLOUT };

		fds[n] = pfd.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (pfd.fd < 0)
			return -1;
		connect(pfd.fd, (struct sockaddr *)&in4, sizeof in4);
		if (poll(&pfd, 1, 200) == 0)
			return n + 1;	/* this one is pending: the queue is full */
	}
	return -1;
}

/* A connection that never completes: the timeout says "timed out", the
 * deadline says "deadline reached", not "timed out". */
static void
connect_never_completes(void)
{
	struct timing t = { .timeout_ms = 300 };
	unsigned port = 0;
	int lfd = listener("127.0.0.1", &port), fds[8], n, fd = -1;

	if (!ok(lfd >= 0, "listen on 127.0.0.1"))
		return;
	n = fill_queue(port, fds);
	if (n < 0) {
		skip("the listen queue of 127.0.0.1 never filled");
	} else {
		fail_clear();
		ok(net_connect("127.0.0.1", port, &t, &fd) < 0 && fail_class() == FAIL_TEMPORARY,
		    "a connection that never completes: temporary (75)");
		is_str(fail_reason(), "cannot connect: timed out", "the timeout says so");
		t = (struct timing){ .timeout_ms = 60000, .deadline_ms = clock_now_ms() + 300 };
		fail_clear();
		ok(net_connect("127.0.0.1", port, &t, &fd) < 0 && fail_class() == FAIL_TEMPORARY,
		    "the deadline ends it: temporary (75)");
		is_str(fail_reason(), "deadline reached connecting", "the deadline says so");
	}
	while (n > 0)
		close(fds[--n]);
	close(lfd);
}

/* A socketpair whose other end stays silent; false (a failure) if none. */
static bool
silent_pair(int pair[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0)
		return true;
	ok(0, "socketpair: %s", strerror(errno));
	return false;
}

static void
deadline_cuts_waits(void)
{
	struct timing t = { .timeout_ms = 60000, .deadline_ms = clock_now_ms() + 200 };
	int pair[2];
	int64_t start = clock_now_ms();

	if (!silent_pair(pair))
		return;
	fail_clear();
	ok(timing_poll(pair[0], POLLIN, &t, "waiting for the server") == TIMING_DEADLINE &&
	    fail_class() == FAIL_TEMPORARY, "a silent peer: the deadline ends the wait (75)");
	ok(clock_now_ms() - start < 2000, "the deadline, not the 60 s timeout, ended the wait");
	is_str(fail_reason(), "deadline reached waiting for the server", "and the line says so");
	ok(timing_check(&t, "reading from the server") == TIMING_DEADLINE,
	    "timing_check after the deadline fails too");
	t.deadline_ms = 0;
	t.timeout_ms = 100;
	fail_clear();
	ok(timing_poll(pair[0], POLLIN, &t, "waiting for the server") == TIMING_TIMEOUT,
	    "without a deadline the timeout ends it");
	is_str(fail_reason(), "timed out waiting for the server", "and the line says so");
	ok(timing_check(&t, "reading from the server") == TIMING_READY,
	    "timing_check without a deadline passes");
	close(pair[0]);
	close(pair[1]);
}

/* After a signal, two waits in a row end at the same point: the grace is
 * fixed when the signal is first seen. */
static void
signal_grace_counted_once(void)
{
	static volatile sig_atomic_t stop;
	const struct timing t = { .timeout_ms = 60000 };
	int pair[2];
	int64_t start;

	if (!silent_pair(pair))
		return;
	timing_watch_signal(&stop, 300);
	ok(timing_check(&t, "reading from the server") == TIMING_READY, "no signal: no limit");
	stop = SIGTERM;
	start = clock_now_ms();
	ok(timing_check(&t, "reading from the server") == TIMING_READY,
	    "just after the signal: the grace has begun");
	usleep(200000);
	fail_clear();
	ok(timing_poll(pair[0], POLLIN, &t, "waiting for the server") == TIMING_SIGNAL,
	    "a wait after the signal ends with the grace");
	ok(clock_now_ms() - start < 450, "300 ms after the signal, not 300 ms after the wait "
	    "began (%lld ms)", (long long)(clock_now_ms() - start));
	is_str(fail_reason(), "gave up waiting for the server after a signal",
	    "and the line says so");
	ok(timing_wait_ms(&t) == 0, "no time is left for another wait");
	timing_watch_signal(NULL, 0);
	ok(timing_wait_ms(&t) == 60000, "watching anew forgets the signal");
	close(pair[0]);
	close(pair[1]);
}

static void
test_allowance(void)
{
	is_int(timing_with_allowance(60000, 0, 10), 60000, "allowance: no items, the timeout");
	is_int(timing_with_allowance(1000, 200, 10), 3000, "allowance: 10 ms an item added");
	is_int(timing_with_allowance(120000, 50000, 10), 620000,
	    "allowance: 50,000 DELEs give 500 s more");
	is_int(timing_with_allowance(1000, 100000000UL, 10), 1000 + TIMING_ALLOWANCE_MAX_MS,
	    "allowance: the extra stops at its cap");
	is_int(timing_with_allowance(1000, (unsigned long)-1, 10), 1000 + TIMING_ALLOWANCE_MAX_MS,
	    "allowance: no overflow from a huge count");
	is_int(timing_with_allowance(1000, 5, 0), 1000, "allowance: none per item, none at all");
}

/* lookup.c: a numeric host answered at once, a name from /etc/hosts
 * through the child, its canonical name with it, all in getaddrinfo()'s
 * words.  (A resolver that never answers: test/faults/resolver-stall.py.) */
static void
test_lookup(void)
{
	const struct addrinfo stream = { .ai_socktype = SOCK_STREAM };
	const struct addrinfo canon = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME };
	struct lookup l;
	const struct sockaddr_in *in;

	ok(lookup_run("127.0.0.1", "25", &stream, &patient, &l) == 0 && l.rc == 0 &&
	    l.list != NULL && l.list->ai_family == AF_INET && l.list->ai_next == NULL,
	    "lookup: a numeric host gives its one address");
	in = l.list != NULL ? (const struct sockaddr_in *)l.list->ai_addr : NULL;
	ok(in != NULL && ntohs(in->sin_port) == 25 && in->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	    "lookup: with its port");
	lookup_free(&l);
	ok(l.list == NULL, "lookup: freed");
	ok(lookup_run("localhost", NULL, &canon, &patient, &l) == 0 && l.rc == 0 && l.list != NULL,
	    "lookup: localhost found (through the child)");
	ok(l.list != NULL && l.list->ai_canonname != NULL &&
	    strcmp(l.list->ai_canonname, "localhost") == 0, "lookup: its canonical name");
	ok(l.list != NULL && l.list->ai_addrlen <= sizeof(struct sockaddr_storage) &&
	    (l.list->ai_family == AF_INET || l.list->ai_family == AF_INET6),
	    "lookup: an address of a known family");
	lookup_free(&l);
	ok(lookup_run("localhost", "no-such-service-here", &stream, &patient, &l) == 0 &&
	    l.rc == EAI_SERVICE && l.list == NULL, "lookup: getaddrinfo's own answer comes back");
	lookup_free(&l);
}

/* lookup.c in two steps: two lookups in flight at once, collected in
 * the other order, each with its own answer; one abandoned leaves no
 * process behind; collecting or abandoning twice does nothing more. */
static void
test_lookup_pending(void)
{
	const struct addrinfo canon = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_CANONNAME };
	struct lookup_pending name, number, dropped, never = { .fd = -1 };
	struct lookup l;

	ok(lookup_start("localhost", NULL, &canon, &name) == 0 && name.pid > 0 &&
	    kill(name.pid, 0) == 0, "pending: a name's lookup runs in a child");
	ok(lookup_start("127.0.0.1", "25", &canon, &number) == 0 && number.pid == 0,
	    "pending: a numeric host is answered at once, no child");
	ok(lookup_collect(&number, &patient, &l) == 0 && l.rc == 0 && l.list != NULL &&
	    l.list->ai_family == AF_INET, "pending: the numeric answer collected first");
	lookup_free(&l);
	ok(lookup_collect(&name, &patient, &l) == 0 && l.rc == 0 && l.list != NULL &&
	    l.list->ai_canonname != NULL && strcmp(l.list->ai_canonname, "localhost") == 0,
	    "pending: the name's answer collected after it");
	lookup_free(&l);
	ok(name.pid == 0 && name.fd == -1, "pending: nothing left to collect");
	ok(lookup_start("localhost", NULL, &canon, &dropped) == 0 && dropped.pid > 0,
	    "pending: another started");
	lookup_abandon(&dropped);
	errno = 0;
	ok(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
	    "pending: abandoned, its child is gone and reaped");
	lookup_abandon(&dropped);
	lookup_abandon(&name);
	lookup_abandon(&never);
	ok(dropped.pid == 0 && never.pid == 0, "pending: abandoning again does nothing");
}

int
main(void)
{
	connects("127.0.0.1");
	connects("::1");
	connects_in_two_steps();
	refused();
	connect_never_completes();
	deadline_cuts_waits();
	signal_grace_counted_once();
	test_allowance();
	test_lookup();
	test_lookup_pending();
	return done_testing();
}
