/*
 * smtp-floor: the least work an SMTP submission client can do to hand one
 * message to Postfix over STARTTLS with AUTH PLAIN, so that
 * scripts/bench-send can print each client's time as a multiple of what the
 * server and the protocol cost (issue 14).
 *
 * Its round trips are the fewest the RFCs allow: the greeting, EHLO,
 * STARTTLS, the TLS handshake, EHLO again (RFC 3207 forgets the first),
 * AUTH PLAIN with its initial response (RFC 4954), MAIL + RCPT + DATA in one
 * write (RFC 2920: EHLO ends a group, and nothing is sent before its reply),
 * the message and its final dot, and QUIT sent without waiting for the
 * reply.  The message is read from stdin (LF or CRLF lines), turned into
 * CRLF and dot-stuffed on the way, as any client must.
 *
 * Exit 0 once the final dot was answered 250; else 1 with the reply.
 *
 * Usage: smtp-floor HOST PORT USER PASSWORD_FILE CA_FILE FROM TO < MESSAGE
 */
#include "floor-net.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

/* Reads one reply (all its lines) and exits unless its code is CODE. */
static void expect_reply(struct floor_conn *c, const char *code, const char *after)
{
	size_t len;
	const char *line;

	do {
		line = floor_line(c, &len);
		if (len < 4 || memcmp(line, code, 3) != 0) {
			fprintf(stderr, "smtp-floor: after %s: %.*s", after, (int)len, line);
			floor_die("the server refused");
		}
	} while (line[3] == '-');
}

static void send_text(struct floor_conn *c, const char *text)
{
	floor_write(c, text, strlen(text));
}

static void read_password(const char *path, char *password, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(password, (int)size, f))
		floor_die("cannot read the password file");
	fclose(f);
	password[strcspn(password, "\r\n")] = '\0';
}

static void auth_plain(struct floor_conn *c, const char *user, const char *pass_file)
{
	char password[512], raw[1100], b64[1500], cmd[1600];
	size_t ulen = strlen(user), plen;
	int n;

	read_password(pass_file, password, sizeof(password));
	plen = strlen(password);
	if (ulen + plen + 2 > sizeof(raw))
		floor_die("user or password too long");
	raw[0] = '\0';
	memcpy(raw + 1, user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, password, plen);
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)raw, (int)(ulen + plen + 2));
	n = snprintf(cmd, sizeof(cmd), "AUTH PLAIN %s\r\n", b64);
	floor_write(c, cmd, (size_t)n);
	expect_reply(c, "235", "AUTH");
}

/* Output buffer for the body: flushed when full and at the end. */
struct body_out {
	struct floor_conn *c;
	char buf[65536];
	size_t used;
};

static void put(struct body_out *o, const char *data, size_t len)
{
	if (o->used + len > sizeof(o->buf)) {
		floor_write(o->c, o->buf, o->used);
		o->used = 0;
	}
	memcpy(o->buf + o->used, data, len);
	o->used += len;
}

/* Copies stdin as CRLF lines, a dot doubled at each line start. */
static void send_body(struct floor_conn *c)
{
	static struct body_out o;
	static char in[65536];
	bool line_start = true;
	ssize_t n;

	o.c = c;
	while ((n = read(0, in, sizeof(in))) > 0) {
		for (const char *p = in, *end = in + n; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (line_start && len > 0 && p[0] == '.')
				put(&o, ".", 1);
			put(&o, p, len - (nl && len > 0 && p[len - 1] == '\r'));
			if (nl)
				put(&o, "\r\n", 2);
			line_start = nl != NULL;
			p += len + (nl != NULL);
		}
	}
	if (n < 0)
		floor_die("cannot read the message");
	put(&o, line_start ? ".\r\n" : "\r\n.\r\n", line_start ? 3 : 5);
	floor_write(c, o.buf, o.used);
}

static void start_tls(struct floor_conn *c, const char *host, const char *ca_file)
{
	expect_reply(c, "220", "connecting");
	send_text(c, "EHLO floor.test\r\n");
	expect_reply(c, "250", "EHLO");
	send_text(c, "STARTTLS\r\n");
	expect_reply(c, "220", "STARTTLS");
	floor_tls(c, host, ca_file);
	send_text(c, "EHLO floor.test\r\n");
	expect_reply(c, "250", "EHLO after STARTTLS");
}

int main(int argc, char **argv)
{
	struct floor_conn c;
	char envelope[1200];
	int n;

	if (argc != 8)
		floor_die("usage: smtp-floor HOST PORT USER PASSWORD_FILE CA_FILE FROM TO < MESSAGE");
	floor_connect(&c, argv[1], argv[2]);
	c.quick_ack = true;
	start_tls(&c, argv[1], argv[5]);
	auth_plain(&c, argv[3], argv[4]);
	n = snprintf(envelope, sizeof(envelope), "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n",
		     argv[6], argv[7]);
	if (n < 0 || (size_t)n >= sizeof(envelope))
		floor_die("address too long");
	floor_write(&c, envelope, (size_t)n);
	expect_reply(&c, "250", "MAIL");
	expect_reply(&c, "250", "RCPT");
	expect_reply(&c, "354", "DATA");
	send_body(&c);
	expect_reply(&c, "250", "the final dot");
	send_text(&c, "QUIT\r\n");
	floor_close(&c);
	return 0;
}
