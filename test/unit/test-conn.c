/*
 * conn.c over a socketpair (conn_from_fd, no TLS): lines with LF and CRLF,
 * lines that arrive one byte at a time, the line-length cap, EOF and
 * timeouts, and conn_starttls() refusing when plaintext is already
 * buffered (the STARTTLS injection of CVE-2011-0411), before any TLS byte
 * is sent.  Then the deadline and the signal grace on streams that never
 * stall; conn_open() against local listeners given the wrong TLS mode; and
 * the certificate checks of tls.c against certificates made here in
 * memory (no name resolution needed, so any host name can be verified).
 *
 * "One byte at a time" is exact: a forked peer writes a byte, then waits
 * (SIOCOUTQ) until the reader has taken it before writing the next, so
 * every recv() in conn.c returns a single byte.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "conn.h"
#include "net.h"
#include "status.h"
#include "peer.h"
#include "tap.h"


/* ---- the peer ---- */


/* Waits until everything written on fd has been read by the other end. */
static void
set_nonblocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* An in-process pair: *peer_r is the server's end. */
static struct conn *
pair(int *peer_r, const struct timing *t)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	set_nonblocking(sv[0]);
	*peer_r = sv[1];
	return conn_from_fd(sv[0], "peer", t);
}

static void
put(int fd, const char *s, size_t n)
{
	if (write(fd, s, n) != (ssize_t)n)
		abort();
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- tests ---- */

static void
expect_line(struct conn *c, size_t max, const char *want, size_t want_len, const char *name)
{
	char *line = NULL;
	size_t len = 0;
	int rc;

	fail_clear();
	rc = conn_read_line(c, max, &line, &len);
	ok(rc == 0, "%s: read", name);
	if (rc < 0)
		diag("failed: %s", fail_reason());
	else
		is_mem(line, len, want, want_len, "%s: line", name);
}

static void
expect_failure_(struct conn *c, size_t max, enum failure cls, const char *cls_name,
	const char *name)
{
	char *line;
	size_t len;
	int rc;

	fail_clear();
	rc = conn_read_line(c, max, &line, &len);
	ok(rc < 0 && fail_class() == cls, "%s: %s", name, cls_name);
	if (rc == 0)
		diag("got a line of %zu bytes", len);
	else if (fail_class() != cls)
		diag("got class %d: %s", fail_class(), fail_reason());
}

#define expect_failure(c, max, cls, name) expect_failure_(c, max, cls, #cls, name)

static void
test_line_endings(void)
{
	int peer;
	struct conn *c = pair(&peer, &peer_patience);
	static const char data[] = "bare\ncrlf\r\n\r\n\ninner\rcr\r\nlast\r\n";

	put(peer, data, sizeof data - 1);
	expect_line(c, 100, "bare", 4, "bare LF");
	expect_line(c, 100, "crlf", 4, "CRLF");
	expect_line(c, 100, "", 0, "empty line CRLF");
	expect_line(c, 100, "", 0, "empty line LF");
	expect_line(c, 100, "inner\rcr", 8, "CR inside a line is kept");
	is_int(conn_pending(c), 6, "the rest stays buffered");
	expect_line(c, 100, "last", 4, "last line");
	is_int(conn_pending(c), 0, "nothing left");
	conn_close(c);
	close(peer);
}

static void
test_bytewise(void)
{
	static const char data[] = "hello world\r\nsecond line\nthird\r\n";
	pid_t pid;
	struct conn *c = peer_bytewise(data, sizeof data - 1, true, &pid);

	expect_line(c, 100, "hello world", 11, "one byte at a time, CRLF");
	expect_line(c, 100, "second line", 11, "one byte at a time, LF");
	expect_line(c, 100, "third", 5, "one byte at a time, last");
	peer_end(c, pid);
}

static void
test_line_cap(void)
{
	char data[200];
	int peer;
	struct conn *c;
	pid_t pid;

	memset(data, 'x', sizeof data);

	c = pair(&peer, &peer_patience);
	data[100] = '\n';
	put(peer, data, 101);
	expect_line(c, 100, data, 100, "line of exactly max bytes, LF");
	conn_close(c);
	close(peer);

	c = pair(&peer, &peer_patience);
	memcpy(data + 100, "\r\n", 2);
	put(peer, data, 102);
	expect_line(c, 100, data, 100, "line of exactly max bytes, CRLF in one segment");
	conn_close(c);
	close(peer);

	c = pair(&peer, &peer_patience);
	data[100] = 'x';
	data[101] = '\n';
	put(peer, data, 102);
	expect_failure(c, 100, FAIL_PROTOCOL, "line of max + 1 bytes");
	conn_close(c);
	close(peer);

	/* The contract counts the line without its ending, however the bytes
	 * arrive; here the CR is read before the LF has been sent. */
	memcpy(data + 100, "\r\n", 2);
	c = peer_bytewise(data, 102, true, &pid);
	expect_line(c, 100, data, 100, "line of exactly max bytes, CRLF one byte at a time");
	peer_end(c, pid);

	data[100] = '\n';
	c = peer_bytewise(data, 101, true, &pid);
	expect_line(c, 100, data, 100, "line of exactly max bytes, LF one byte at a time");
	peer_end(c, pid);
}

/* A line that never ends is refused as soon as it is too long: the reader
 * neither waits for a line end nor for the timeout. */
static void
test_endless_line(void)
{
	static char data[20000];
	pid_t pid;
	struct conn *c;
	int64_t start = now_ms();

	memset(data, 'y', sizeof data);
	c = peer_bytewise(data, sizeof data, true, &pid);
	expect_failure(c, 8192, FAIL_PROTOCOL, "endless line, one byte at a time");
	ok(now_ms() - start < 8000, "endless line refused without waiting for the timeout");
	peer_end(c, pid);

	start = now_ms();
	{
		int peer;

		c = pair(&peer, &peer_patience);
		put(peer, data, 16000);	/* more than max, less than the buffer */
		expect_failure(c, 8192, FAIL_PROTOCOL, "endless line in one segment");
		ok(now_ms() - start < 8000, "refused at once");
		conn_close(c);
		close(peer);
	}
}

/* The largest caps the header allows (max < CONN_BUFFER_SIZE). */
static void
test_buffer_sized_lines(void)
{
	static char data[CONN_BUFFER_SIZE + 100];
	int peer;
	pid_t pid;
	struct conn *c;

	memset(data, 'q', sizeof data);
	memcpy(data + CONN_BUFFER_SIZE - 2, "\r\n", 2);
	c = peer_bytewise(data, CONN_BUFFER_SIZE, true, &pid);
	expect_line(c, CONN_BUFFER_SIZE - 2, data, CONN_BUFFER_SIZE - 2,
	    "a line of CONN_BUFFER_SIZE - 2 bytes and CRLF, one byte at a time");
	peer_end(c, pid);

	/* An endless line with max = CONN_BUFFER_SIZE - 1: still "line too
	 * long", not a connection error once the buffer is full. */
	memset(data, 'q', sizeof data);
	c = pair(&peer, &peer_patience);
	put(peer, data, sizeof data);
	expect_failure(c, CONN_BUFFER_SIZE - 1, FAIL_PROTOCOL,
	    "endless line, max = CONN_BUFFER_SIZE - 1");
	conn_close(c);
	close(peer);
}

static void
test_eof_and_timeout(void)
{
	static const struct timing hasty = { .timeout_ms = 200, .deadline_ms = 0 };
	int peer;
	struct conn *c = pair(&peer, &peer_patience);
	int64_t start;

	put(peer, "partial", 7);
	shutdown(peer, SHUT_WR);
	expect_failure(c, 100, FAIL_TEMPORARY, "EOF in the middle of a line");
	conn_close(c);
	close(peer);

	c = pair(&peer, &peer_patience);
	close(peer);
	expect_failure(c, 100, FAIL_TEMPORARY, "EOF before anything");
	conn_close(c);

	c = pair(&peer, &hasty);
	start = now_ms();
	expect_failure(c, 100, FAIL_TEMPORARY, "silent peer: timeout");
	ok(now_ms() - start < 5000, "the timeout is the configured one");
	conn_close(c);
	close(peer);
}

static void
test_starttls_injection(void)
{
	static const char data[] = "220 go\r\n250 injected\r\n";
	int peer;
	struct conn *c = pair(&peer, &peer_patience);
	char buf[64];
	ssize_t got;
	int rc;

	put(peer, data, sizeof data - 1);
	expect_line(c, 512, "220 go", 6, "STARTTLS go-ahead");
	ok(conn_pending(c) > 0, "injected bytes are pending");
	fail_clear();
	rc = conn_starttls(c);
	ok(rc < 0 && fail_class() == FAIL_PROTOCOL,
	    "conn_starttls with bytes pending: FAIL_PROTOCOL");
	if (rc == 0 || fail_class() != FAIL_PROTOCOL)
		diag("rc %d, class %d: %s", rc, fail_class(), fail_reason());
	ok(!conn_is_tls(c), "still not TLS");
	got = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
	ok(got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
	    "nothing was sent to the peer (no TLS handshake started)");
	conn_close(c);
	close(peer);

	/* One stray byte is enough. */
	c = pair(&peer, &peer_patience);
	put(peer, "220 go\r\nX", 9);
	expect_line(c, 512, "220 go", 6, "go-ahead followed by one byte");
	fail_clear();
	rc = conn_starttls(c);
	ok(rc < 0 && fail_class() == FAIL_PROTOCOL, "one pending byte: FAIL_PROTOCOL");
	got = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
	ok(got < 0, "nothing was sent to the peer");
	conn_close(c);
	close(peer);
}

static void
test_write_and_peek(void)
{
	int peer;
	struct conn *c = pair(&peer, &peer_patience);
	static char big[40000];
	char *got = malloc(sizeof big + 16);
	size_t have = 0;
	const char *p;
	size_t n;
	int rc;

	if (got == NULL)
		abort();
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);
	ok(conn_write(c, "EHLO x\r\n", 8) == 0, "conn_write");
	ok(conn_write(c, big, sizeof big) == 0, "conn_write larger than the buffer");
	ok(conn_flush(c) == 0, "conn_flush");
	while (have < sizeof big + 8) {
		ssize_t r = recv(peer, got + have, sizeof big + 16 - have, MSG_DONTWAIT);

		if (r <= 0)
			break;
		have += (size_t)r;
	}
	ok(have == sizeof big + 8 && memcmp(got, "EHLO x\r\n", 8) == 0 &&
	    memcmp(got + 8, big, sizeof big) == 0, "the peer got every byte in order");
	free(got);

	put(peer, "abcdef", 6);
	rc = conn_peek(c, &p, &n);
	ok(rc == 0 && n == 6 && memcmp(p, "abcdef", 6) == 0, "conn_peek returns what is buffered");
	conn_consume(c, 2);
	is_int(conn_pending(c), 4, "conn_consume drops bytes");
	put(peer, "\n", 1);
	expect_line(c, 100, "cdef", 4, "line after consume");
	conn_close(c);
	close(peer);
}

/* ---- the deadline and the signal grace on streams that never stall ---- */

/* A forked peer on the other end of a socketpair: with flood it writes
 * without pause, otherwise it reads and discards everything. */
static struct conn *
busy_peer(bool flood, const struct timing *t, pid_t *pid_r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fflush(stdout);
	*pid_r = fork();
	if (*pid_r < 0)
		abort();
	if (*pid_r == 0) {
		static char buf[65536];

		close(sv[0]);
		memset(buf, 'x', sizeof buf);
		while (flood ? send(sv[1], buf, sizeof buf, MSG_NOSIGNAL) > 0
			     : recv(sv[1], buf, sizeof buf, 0) > 0)
			;
		_exit(0);
	}
	close(sv[1]);
	set_nonblocking(sv[0]);
	return conn_from_fd(sv[0], "peer", t);
}

/* Reads until the stream fails or give_up_ms pass, sleeping a little after
 * each piece so that the peer always keeps the socket full: no read ever
 * has to wait.  Returns the milliseconds until the failure, or -1. */
static int64_t
read_until_failure(struct conn *c, int64_t give_up_ms)
{
	int64_t start = now_ms();
	const char *p;
	size_t n;

	while (now_ms() - start < give_up_ms) {
		fail_clear();
		if (conn_peek(c, &p, &n) < 0)
			return now_ms() - start;
		conn_consume(c, n);
		usleep(200);
	}
	return -1;
}

/* The same for writing to a peer that reads faster than we write. */
static int64_t
write_until_failure(struct conn *c, int64_t give_up_ms)
{
	static char chunk[8192];
	int64_t start = now_ms();

	memset(chunk, 'w', sizeof chunk);
	while (now_ms() - start < give_up_ms) {
		fail_clear();
		if (conn_write(c, chunk, sizeof chunk) < 0 || conn_flush(c) < 0)
			return now_ms() - start;
		usleep(200);
	}
	return -1;
}

/* The run's deadline holds even when data keeps coming (a RETR that never
 * ends) or keeps leaving: no read or write ever waits, so the clock must be
 * looked at on every one. */
static void
test_deadline_without_stall(void)
{
	struct timing t = { .timeout_ms = 10000, .deadline_ms = now_ms() + 300 };
	pid_t pid;
	struct conn *c = busy_peer(true, &t, &pid);
	int64_t took = read_until_failure(c, 4000);

	ok(took >= 0 && fail_class() == FAIL_TEMPORARY,
	    "a peer that never stops sending: the deadline ends the read (75)");
	ok(took >= 0 && took < 1300, "within the deadline + 1 s (took %lld ms)", (long long)took);
	ok(strstr(fail_reason(), "deadline") != NULL, "the line names the deadline: %s",
	    fail_reason());
	kill(pid, SIGKILL);
	peer_end(c, pid);

	t.deadline_ms = now_ms() + 300;
	c = busy_peer(false, &t, &pid);
	took = write_until_failure(c, 4000);
	ok(took >= 0 && fail_class() == FAIL_TEMPORARY,
	    "a peer that reads everything at once: the deadline ends the writing (75)");
	ok(took >= 0 && took < 1300, "within the deadline + 1 s (took %lld ms)", (long long)took);
	kill(pid, SIGKILL);
	peer_end(c, pid);
}

/* A forked peer that sends one byte every 100 ms for ever. */
static struct conn *
trickle_peer(const struct timing *t, pid_t *pid_r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fflush(stdout);
	*pid_r = fork();
	if (*pid_r < 0)
		abort();
	if (*pid_r == 0) {
		close(sv[0]);
		while (send(sv[1], "t", 1, MSG_NOSIGNAL) == 1)
			usleep(100000);
		_exit(0);
	}
	close(sv[1]);
	set_nonblocking(sv[0]);
	return conn_from_fd(sv[0], "peer", t);
}

/* After SIGTERM the grace is counted once, from the signal: a server that
 * trickles a byte now and then cannot stretch it wait by wait. */
static void
test_signal_grace_is_absolute(void)
{
	static volatile sig_atomic_t stop;
	const int grace_ms = 500;
	pid_t pid;
	struct conn *c = trickle_peer(&peer_patience, &pid);
	int64_t took;

	timing_watch_signal(&stop, grace_ms);
	stop = SIGTERM;
	took = read_until_failure(c, grace_ms + 3000);
	ok(took >= 0 && fail_class() == FAIL_TEMPORARY,
	    "a trickling peer after SIGTERM: the read ends (75)");
	ok(took >= 0 && took <= grace_ms + 500, "within the %d ms grace + 0.5 s (took %lld ms)",
	    grace_ms, (long long)took);
	timing_watch_signal(NULL, 0);
	kill(pid, SIGKILL);
	peer_end(c, pid);
}

/* ---- conn_open() with the wrong TLS mode for the port ---- */

/* A listening socket on an IPv4 loopback address; port 0: any. */
static int
listen_on(const char *addr, unsigned port, unsigned *port_r)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof in;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &in.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&in, len) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&in, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port_r = ntohs(in.sin_port);
	return fd;
}

/* Forks a server that accepts one connection, sends greeting, and reads
 * until the client hangs up. */
static pid_t
greeting_server(int lfd, const char *greeting)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);
		char buf[4096];

		if (fd >= 0 && send(fd, greeting, strlen(greeting), MSG_NOSIGNAL) >= 0)
			while (recv(fd, buf, sizeof buf, 0) > 0)
				;
		_exit(0);
	}
	return pid;
}

static struct endpoint
endpoint(const char *host, unsigned port, enum tls_mode mode, int timeout_ms)
{
	struct endpoint ep = { .host = host, .port = port, .tls = mode,
		.tls_options = { .verify = true },
		.timing = { .timeout_ms = timeout_ms } };

	return ep;
}

/* tls = implicit against a server that greets in plaintext: a configuration
 * error (78) said at once, not "wrong version number". */
static void
test_implicit_meets_plaintext(const char *greeting)
{
	unsigned port;
	int lfd = listen_on("127.0.0.1", 0, &port);
	struct endpoint ep = endpoint("127.0.0.1", port, TLS_MODE_IMPLICIT, 10000);
	struct conn *c = NULL;
	char want[128];
	pid_t pid;
	int64_t start = now_ms();
	int rc;

	if (lfd < 0) {
		ok(0, "listen on 127.0.0.1: %s", strerror(errno));
		return;
	}
	pid = greeting_server(lfd, greeting);
	fail_clear();
	rc = conn_open(&ep, &c);
	snprintf(want, sizeof want,
	    "server at 127.0.0.1:%u speaks plaintext first: set tls = starttls (or tls = off)", port);
	ok(rc < 0 && fail_class() == FAIL_CONFIG, "tls = implicit, greeting %.4s...: 78", greeting);
	is_str(fail_reason(), want, "and the line says what to set");
	ok(now_ms() - start < tap_ms_bound(5000), "at once, not after the timeout");
	conn_close(c);
	close(lfd);
	waitpid(pid, NULL, 0);
}

/* Reads the first line on a fresh connection to addr:port, which never
 * says anything; returns the failure line. */
static const char *
silent_greeting(const char *addr, unsigned port, int lfd, const char *sent)
{
	struct endpoint ep = endpoint(addr, port, TLS_MODE_STARTTLS, 1000);
	struct conn *c = NULL;
	pid_t pid = greeting_server(lfd, sent);
	char *line;
	size_t len;

	fail_clear();
	if (conn_open(&ep, &c) == 0 && conn_read_line(c, 512, &line, &len) == 0)
		fail(FAIL_PROTOCOL, "a line was read, none was expected");
	conn_close(c);
	waitpid(pid, NULL, 0);
	return fail_reason();
}

/* tls = starttls against a port that expects TLS at once: nothing comes
 * until the timeout, and the line then says which setting may be wrong. */
static void
test_starttls_meets_silence(void)
{
	unsigned port;
	int lfd = listen_on("127.0.0.1", 0, &port);
	char want[200];

	if (lfd < 0) {
		ok(0, "listen on 127.0.0.1: %s", strerror(errno));
		return;
	}
	snprintf(want, sizeof want, "no greeting within 1 s; if this port expects TLS from the "
	    "start, set tls = implicit");
	is_str(silent_greeting("127.0.0.1", port, lfd, ""), want,
	    "tls = starttls, nothing received: the hint");
	ok(fail_class() == FAIL_TEMPORARY, "still temporary (75)");
	ok(strstr(silent_greeting("127.0.0.1", port, lfd, "220"), "tls = implicit") == NULL,
	    "no hint once something was received: %s", fail_reason());
	close(lfd);
}

/* On 465 and 995 the hint is sure of itself.  Listening there needs root;
 * a random loopback address avoids any real server on the port. */
static void
test_implicit_port_hint(unsigned port)
{
	unsigned char r[3];
	char addr[32], want[200];
	unsigned got;
	int lfd;

	RAND_bytes(r, sizeof r);
	snprintf(addr, sizeof addr, "127.%u.%u.%u", r[0], r[1], r[2] | 1u);
	lfd = listen_on(addr, port, &got);
	if (lfd < 0) {
		skip("cannot listen on port %u (%s): needs root", port, strerror(errno));
		return;
	}
	snprintf(want, sizeof want, "no greeting within 1 s; port %u usually wants "
	    "tls = implicit", port);
	is_str(silent_greeting(addr, port, lfd, ""), want, "tls = starttls on port %u: the hint",
	    port);
	close(lfd);
}

/* ---- certificate checks, with certificates made here ---- */

struct cert {
	X509 *x509;
	EVP_PKEY *key;
};

static void
add_extension(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || X509_add_ext(cert, ext, -1) != 1)
		abort();
	X509_EXTENSION_free(ext);
}

/* A CA when issuer is NULL, else a server certificate with subjectAltName
 * san signed by issuer; valid from a minute ago for a day. */
static struct cert
make_cert(const char *cn, const char *san, const struct cert *issuer)
{
	struct cert c = { X509_new(), EVP_EC_gen("P-256") };
	X509_NAME *name = X509_NAME_new();
	unsigned char serial[4];

	if (c.x509 == NULL || c.key == NULL || name == NULL)
		abort();
	RAND_bytes(serial, sizeof serial);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x509), (long)(serial[0] & 0x7f) << 24 |
	    serial[1] << 16 | serial[2] << 8 | serial[3]);
	X509_set_version(c.x509, 2);
	X509_gmtime_adj(X509_getm_notBefore(c.x509), -60);
	X509_gmtime_adj(X509_getm_notAfter(c.x509), 86400);
	X509_set_pubkey(c.x509, c.key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c.x509, name);
	X509_set_issuer_name(c.x509, issuer != NULL ? X509_get_subject_name(issuer->x509) : name);
	if (issuer == NULL) {
		add_extension(c.x509, c.x509, NID_basic_constraints, "critical,CA:TRUE");
		add_extension(c.x509, c.x509, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_extension(c.x509, issuer->x509, NID_subject_alt_name, san);
	}
	if (X509_sign(c.x509, issuer != NULL ? issuer->key : c.key, EVP_sha256()) == 0)
		abort();
	X509_NAME_free(name);
	return c;
}

static void
free_cert(struct cert *c)
{
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
}

/* Writes the certificate to a temporary PEM file; its path in path. */
static void
write_pem(const struct cert *c, char path[static 32])
{
	int fd;
	FILE *f;

	strcpy(path, "/tmp/mailpipe-ca.XXXXXX");
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL || PEM_write_X509(f, c->x509) != 1 || fclose(f) != 0)
		abort();
}

/* Forks a TLS server presenting leaf on a socketpair; *fd_r is our end,
 * non-blocking, ready for tls_start(). */
static pid_t
tls_peer(const struct cert *leaf, int *fd_r)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		SSL *ssl;
		char buf[256];

		close(sv[0]);
		if (ctx == NULL || SSL_CTX_use_certificate(ctx, leaf->x509) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, leaf->key) != 1 || (ssl = SSL_new(ctx)) == NULL ||
		    SSL_set_fd(ssl, sv[1]) != 1)
			_exit(1);
		if (SSL_accept(ssl) == 1)
			while (SSL_read(ssl, buf, sizeof buf) > 0)
				;
		_exit(0);
	}
	close(sv[1]);
	set_nonblocking(sv[0]);
	*fd_r = sv[0];
	return pid;
}

/* One handshake as host against a server showing leaf; 0 or -1. */
static int
handshake_with(const struct cert *leaf, const char *host, const struct tls_options *o)
{
	struct tls_session *s = NULL;
	int fd, rc;
	pid_t pid = tls_peer(leaf, &fd);

	fail_clear();
	rc = tls_start(fd, host, o, &peer_patience, &s);
	tls_end(s);
	close(fd);
	waitpid(pid, NULL, 0);
	return rc;
}

/* "AB:CD:...", the SHA-256 of the certificate, made without tls.c. */
static void
colon_fingerprint(const struct cert *c, char out[static 3 * 32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	X509_digest(c->x509, EVP_sha256(), md, &len);
	for (unsigned i = 0; i < len; i++)
		sprintf(out + 3 * i, "%02X%s", md[i], i + 1 < len ? ":" : "");
}

/* A partial wildcard (f*.example.test) must not match foo.example.test;
 * a whole-label one (*.example.test) does. */
static void
test_partial_wildcard(const struct cert *ca, const char *ca_path)
{
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct cert whole = make_cert("wild", "DNS:*.example.test", ca);
	struct cert partial = make_cert("wild", "DNS:f*.example.test", ca);

	ok(handshake_with(&whole, "foo.example.test", &o) == 0,
	    "DNS:*.example.test is valid for foo.example.test");
	if (fail_class() != FAIL_NONE)
		diag("%s", fail_reason());
	ok(handshake_with(&partial, "foo.example.test", &o) < 0 && fail_class() == FAIL_AUTH,
	    "DNS:f*.example.test is not valid for foo.example.test (77)");
	free_cert(&whole);
	free_cert(&partial);
}

/* An untrusted certificate: the line gives its fingerprint in the form
 * tls_fingerprint takes, and pasting it from there works. */
static void
test_untrusted_fingerprint(const char *ca_path)
{
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct cert other_ca = make_cert("another CA", NULL, NULL);
	struct cert leaf = make_cert("mail", "DNS:mail.example.test", &other_ca);
	char fp[3 * 32], want[400], pasted[200] = "";
	const char *at;

	colon_fingerprint(&leaf, fp);
	ok(handshake_with(&leaf, "mail.example.test", &o) < 0 && fail_class() == FAIL_AUTH,
	    "a certificate from an unknown CA: 77");
	snprintf(want, sizeof want, "TLS: certificate for mail.example.test not trusted: "
	    "unable to get local issuer certificate; its SHA-256 fingerprint is %s; to trust "
	    "it set tls_ca_file to its CA, or tls_fingerprint = %s", fp, fp);
	is_str(fail_reason(), want, "the line gives the fingerprint and both ways to trust it");
	at = strstr(fail_reason(), "tls_fingerprint = ");
	if (at != NULL)
		snprintf(pasted, sizeof pasted, "%s", at + strlen("tls_fingerprint = "));
	o.fingerprint = pasted;
	ok(handshake_with(&leaf, "mail.example.test", &o) == 0,
	    "pasting it into tls_fingerprint works (\"%s\")", pasted);
	free_cert(&leaf);
	free_cert(&other_ca);
}

/* tls_fingerprint: the colon form printed for an untrusted certificate,
 * or bare hex; nothing else. */
static void
test_fingerprint_forms(void)
{
	static const char colons[] = "07:D8:1D:2B:9D:1F:A2:3E:07:95:A4:99:29:C2:E7:31:"
	    "BB:64:D7:8D:30:D3:D2:65:F3:D5:5C:26:EC:2B:B4:43";
	static const char *const bad[] = {
		"",
		"07D81D2B9D1FA23E0795A49929C2E731BB64D78D30D3D265F3D55C26EC2BB4",	/* 31 bytes */
		"07D81D2B9D1FA23E0795A49929C2E731BB64D78D30D3D265F3D55C26EC2BB443AA",
		"07D81D2B9D1FA23E0795A49929C2E731BB64D78D30D3D265F3D55C26EC2BB44",	/* odd */
		"0:7D81D2B9D1FA23E0795A49929C2E731BB64D78D30D3D265F3D55C26EC2BB443",
		"07D81D2B9D1FA23E0795A49929C2E731BB64D78D30D3D265F3D55C26EC2BB44G",
		"07 D8 1D 2B 9D 1F A2 3E 07 95 A4 99 29 C2 E7 31 BB 64 D7 8D 30 D3 D2 65 F3 D5 5C 26 EC 2B B4 43",
	};
	unsigned char pin[TLS_PIN_LENGTH], want[TLS_PIN_LENGTH];
	char bare[65] = "";

	for (size_t i = 0, j = 0; colons[i] != '\0'; i++)
		if (colons[i] != ':')
			bare[j++] = (char)tolower((unsigned char)colons[i]);
	ok(tls_parse_fingerprint(colons, want) == 0 && want[0] == 0x07 && want[31] == 0x43,
	    "the colon form");
	ok(tls_parse_fingerprint(bare, pin) == 0 && memcmp(pin, want, sizeof pin) == 0,
	    "bare lower-case hex, the same value");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ok(tls_parse_fingerprint(bad[i], pin) < 0, "refused: \"%s\"", bad[i]);
	ok(ERR_peek_error() == 0, "a refused value leaves nothing in OpenSSL's error queue");
}

/* The CA file is read through a descriptor checked like every file we
 * take orders from: one others can write is refused at the handshake too,
 * whatever it was when the config was read; one without a certificate is
 * a configuration error. */
static void
test_ca_file_checked(const struct cert *ca, const char *ca_path)
{
	struct tls_options o = { .verify = true, .ca_file = ca_path };
	struct cert leaf = make_cert("mail", "DNS:mail.example.test", ca);
	char empty[] = "/tmp/test-conn-empty-XXXXXX";
	int fd = mkstemp(empty);

	chmod(ca_path, 0666);
	ok(handshake_with(&leaf, "mail.example.test", &o) < 0 && fail_class() == FAIL_AUTH &&
	    strstr(fail_reason(), "tls_ca_file") != NULL, "a CA file others can write: 77");
	diag("%s", fail_reason());
	chmod(ca_path, 0644);
	ok(handshake_with(&leaf, "mail.example.test", &o) == 0, "mode 0644: trusted");
	o.ca_file = empty;
	ok(handshake_with(&leaf, "mail.example.test", &o) < 0 && fail_class() == FAIL_CONFIG &&
	    strstr(fail_reason(), "no certificate") != NULL, "a CA file without a "
	    "certificate: 78");
	close(fd);
	unlink(empty);
	free_cert(&leaf);
}

static void
test_certificates(void)
{
	struct cert ca = make_cert("test CA", NULL, NULL);
	char ca_path[32];

	write_pem(&ca, ca_path);
	test_partial_wildcard(&ca, ca_path);
	test_untrusted_fingerprint(ca_path);
	test_ca_file_checked(&ca, ca_path);
	test_fingerprint_forms();
	unlink(ca_path);
	free_cert(&ca);
}

/* A stream that failed is not used again: nothing more is written or read
 * (a TLS session after a fatal error must not be), and the failure first
 * recorded stays the one reported. */
static void
test_no_use_after_failure(void)
{
	char data[200], got[16];
	const char *p;
	size_t n;
	int peer;
	struct conn *c = pair(&peer, &peer_patience);

	memset(data, 'x', sizeof data);
	data[sizeof data - 1] = '\n';
	put(peer, data, sizeof data);
	put(peer, "OK\n", 3);
	expect_failure(c, 100, FAIL_PROTOCOL, "a line too long breaks the stream");
	ok(conn_write(c, "QUIT\r\n", 6) < 0 || conn_flush(c) < 0,
	    "then a write is refused");
	set_nonblocking(peer);
	ok(read(peer, got, sizeof got) < 0 && errno == EAGAIN, "and nothing reaches the peer");
	ok(conn_peek(c, &p, &n) < 0, "a read is refused too");
	ok(fail_class() == FAIL_PROTOCOL, "the first failure is still the one recorded");
	conn_close(c);
	close(peer);
}

int
main(void)
{
	alarm(120);	/* a hang is a failure, not a stuck test run */
	signal(SIGPIPE, SIG_IGN);
	test_line_endings();
	test_bytewise();
	test_line_cap();
	test_endless_line();
	test_buffer_sized_lines();
	test_eof_and_timeout();
	test_starttls_injection();
	test_write_and_peek();
	test_no_use_after_failure();
	test_deadline_without_stall();
	test_signal_grace_is_absolute();
	test_implicit_meets_plaintext("220 mail.example.test ESMTP ready\r\n");
	test_implicit_meets_plaintext("+OK POP3 server ready\r\n");
	test_implicit_meets_plaintext("* OK IMAP4rev1 ready\r\n");
	test_starttls_meets_silence();
	test_implicit_port_hint(465);
	test_implicit_port_hint(995);
	test_certificates();
	return done_testing();
}
