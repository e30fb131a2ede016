/*
 * hostname.c: which name this host gives (EHLO, Message-ID), chosen from
 * injected node and canonical names, so that the cases a test machine does
 * not have (no domain, a domain only in DNS, localhost.localdomain, a
 * numeric name) are covered; what hostname_node() and hostname_fqdn() say
 * on this machine; and conn_local_address(), the address literal an EHLO
 * falls back to, over real IPv4 and IPv6 loopback connections.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "hostname.h"
#include "net.h"
#include "status.h"
#include "tap.h"

static const struct timing patient = { .timeout_ms = 5000 };

static void
chooses(const char *node, const char *canonical, const char *want)
{
	const char *got = hostname_choose(node, canonical);

	if (want == NULL) {
		ok(got == NULL, "node %s, canonical %s: no domain name (use an address literal)",
		    node ? node : "NULL", canonical ? canonical : "NULL");
		if (got != NULL)
			diag("got %s", got);
	} else {
		is_str(got, want, "node %s, canonical %s: %s", node ? node : "NULL",
		    canonical ? canonical : "NULL", want);
	}
}

static void
test_choose(void)
{
	chooses("vm", "vm.example.org", "vm.example.org");
	chooses("vm.example.org", "vm.example.org", "vm.example.org");
	chooses("vm.example.org", NULL, "vm.example.org");
	chooses("vm.example.org", "vm", "vm.example.org");
	chooses("vm", "vm", NULL);
	chooses("vm", NULL, NULL);
	chooses(NULL, NULL, NULL);
	chooses("", "", NULL);
	/* The canonical name wins when both are domain names: it is the one
	 * the host's resolver stands behind. */
	chooses("mx1.example.org", "mail.example.org", "mail.example.org");
	/* Names that say nothing about this host. */
	chooses("vm", "localhost.localdomain", NULL);
	chooses("localhost", "localhost", NULL);
	chooses("vm", "vm.localdomain", NULL);
	chooses("vm", "vm.localhost", NULL);
	chooses("localhost.example.org", NULL, NULL);
	/* Not domain names at all. */
	chooses("vm", "192.0.2.7", NULL);
	chooses("vm", "2001:db8::7", NULL);
	chooses("vm", "vm.example.org.", NULL);	/* no root dot in SMTP (RFC 5321 4.1.2) */
	chooses("vm", "-vm.example.org", NULL);
	chooses("vm", "vm-.example.org", NULL);
	chooses("vm", "vm..example.org", NULL);
	chooses("vm", ".example.org", NULL);
	chooses("vm", "vm_1.example.org", NULL);
	chooses("vm", "vm.example.org\r\nMAIL FROM:<x>", NULL);
	chooses("vm", "(null)", NULL);
	chooses("host-1.sub.example.co.uk", NULL, "host-1.sub.example.co.uk");
	chooses("a.b", NULL, "a.b");
}

static void
test_limits(void)
{
	char label[70], name[300];

	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof name, "%s.example.org", label);
	chooses("vm", name, name);
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(name, sizeof name, "%s.example.org", label);
	chooses("vm", name, NULL);	/* a label of 64 octets */
	memset(name, 'a', sizeof name - 1);
	for (size_t i = 10; i < sizeof name - 1; i += 10)
		name[i] = '.';
	name[sizeof name - 1] = '\0';
	chooses("vm", name, NULL);	/* 299 octets: over 253 */
}

static void
test_this_machine(void)
{
	char node[HOSTNAME_MAX], fqdn[HOSTNAME_MAX];

	memset(node, 'x', sizeof node);
	hostname_node(node, sizeof node);
	ok(memchr(node, '\0', sizeof node) != NULL && node[0] != '\0',
	    "hostname_node: a terminated, non-empty name (%s)", node);
	hostname_node(node, 3);
	ok(strlen(node) <= 2, "hostname_node: cut to the buffer");
	if (hostname_fqdn(fqdn, sizeof fqdn, 10000))
		ok(hostname_choose(fqdn, NULL) != NULL,
		    "hostname_fqdn: %s is a domain name", fqdn);
	else
		ok(1, "hostname_fqdn: this machine has no domain name");
	/* "a.b", the shortest domain name, needs 4 octets. */
	ok(!hostname_fqdn(fqdn, 3, 10000), "hostname_fqdn: false when the buffer is too small");
}

/* A connected pair over loopback at addr; the client end as a conn. */
static struct conn *
loopback_conn(const char *addr, int *server_r)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	bool v6 = strchr(addr, ':') != NULL;
	socklen_t len = v6 ? sizeof *in6 : sizeof *in4;
	int lfd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0), fd = -1;
	unsigned port;

	ss.ss_family = v6 ? AF_INET6 : AF_INET;
	inet_pton(ss.ss_family, addr, v6 ? (void *)&in6->sin6_addr : (void *)&in4->sin_addr);
	*server_r = -1;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, len) < 0 || listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len) < 0) {
		if (lfd >= 0)
			close(lfd);
		return NULL;
	}
	port = ntohs(v6 ? in6->sin6_port : in4->sin_port);
	if (net_connect(addr, port, &patient, &fd) == 0)
		*server_r = accept(lfd, NULL, NULL);
	close(lfd);
	return fd >= 0 ? conn_from_fd(fd, addr, &patient) : NULL;
}

static void
local_address(const char *addr, const char *want)
{
	char out[64] = "";
	int server = -1;
	struct conn *c = loopback_conn(addr, &server);

	if (c == NULL) {
		skip("no %s on this machine", addr);
		return;
	}
	fail_clear();
	ok(conn_local_address(c, out, sizeof out) == 0, "conn_local_address over %s", addr);
	is_str(out, want, "the address literal for %s", addr);
	conn_close(c);
	close(server);
}

static void
test_local_address(void)
{
	int pair[2];
	char out[64];
	struct conn *c;

	local_address("127.0.0.1", "[127.0.0.1]");
	local_address("::1", "[IPv6:::1]");
	local_address("::ffff:127.0.0.1", "[127.0.0.1]");	/* IPv4-mapped: as IPv4 */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0) {
		c = conn_from_fd(pair[0], "unix", &patient);
		fail_clear();
		ok(conn_local_address(c, out, sizeof out) < 0 && fail_class() == FAIL_TEMPORARY,
		    "conn_local_address: no IP address is a failure, recorded");
		conn_close(c);
		close(pair[1]);
	}
}

int
main(void)
{
	test_choose();
	test_limits();
	test_this_machine();
	test_local_address();
	return done_testing();
}
