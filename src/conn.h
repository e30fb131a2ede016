/*
 * The byte stream under both protocols: a socket, optionally TLS, a bounded
 * read buffer and a bounded write buffer.  Protocol modules see only this
 * interface; they never touch the fd or the TLS session.
 *
 * Lifetime of returned pointers: a line or chunk returned by conn_read_line()
 * or conn_peek() points into the read buffer and is valid until the next call
 * that reads from the connection.
 *
 * Errors: every function returning int returns 0 or -1 with the failure
 * recorded (status.h): EOF, reset and timeouts are FAIL_TEMPORARY.  The
 * program must ignore SIGPIPE (signals_ignore_sigpipe(), as the mains do):
 * a TLS write to a closed connection would otherwise end the process.
 */
#ifndef MAILPIPE_CONN_H
#define MAILPIPE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include "net.h"
#include "tls.h"

struct endpoint {
	const char *host;
	unsigned port;
	enum tls_mode tls;
	struct tls_options tls_options;
	struct timing timing;
};

#define CONN_BUFFER_SIZE 16384

struct conn;

/* Connects; with TLS_MODE_IMPLICIT also completes the handshake. */
int conn_open(const struct endpoint *ep, struct conn **c_r);
/* Wraps an already connected fd (tests, fuzzers); no TLS. */
struct conn *conn_from_fd(int fd, const char *name, const struct timing *t);
/* Upgrades to TLS after the server's go-ahead to STARTTLS/STLS.  Bytes
 * already received and not yet read are an injection attempt: FAIL_PROTOCOL,
 * and nothing of them is ever carried into the TLS session. */
int conn_starttls(struct conn *c);
bool conn_is_tls(const struct conn *c);
/* "TLSv1.3", or NULL without TLS (c NULL allowed). */
const char *conn_tls_version(const struct conn *c);
/* False once the stream failed (I/O error, timeout, EOF, an over-long line,
 * a failed TLS upgrade): nothing more, not even QUIT, may be sent on it. */
bool conn_usable(const struct conn *c);
/* The server as connected to: its host name (or address) and port (0
 * when not known, conn_from_fd()); OAUTHBEARER names them. */
const char *conn_peer_host(const struct conn *c);
unsigned conn_peer_port(const struct conn *c);
/* The limit on each single wait (the endpoint's timeout at first), and
 * a new one from now on, for an answer known to come slowly. */
int conn_timeout(const struct conn *c);
void conn_set_timeout(struct conn *c, int timeout_ms);
/* The next flush carries a secret: wipe the write buffer after it. */
void conn_mark_secret(struct conn *c);

/* Buffered write; flushed when the buffer fills or by conn_flush(). */
int conn_write(struct conn *c, const void *p, size_t n);
int conn_flush(struct conn *c);

/* Reads one line ending in LF.  *line_r excludes the line ending (CRLF or
 * bare LF).  A line longer than max bytes (max < CONN_BUFFER_SIZE) is
 * FAIL_PROTOCOL ("line too long") without buffering it. */
int conn_read_line(struct conn *c, size_t max, char **line_r, size_t *len_r);
/* Makes at least one byte available and returns everything buffered. */
int conn_peek(struct conn *c, const char **p_r, size_t *n_r);
/* Drops n bytes returned by conn_peek(). */
void conn_consume(struct conn *c, size_t n);
/* Bytes received and not yet consumed. */
size_t conn_pending(const struct conn *c);

/* Closes and frees; never fails.  NULL is allowed. */
void conn_close(struct conn *c);

/* This end's address as an RFC 5321 4.1.3 address literal, "[192.0.2.7]" or
 * "[IPv6:2001:db8::7]" (an IPv4-mapped address as IPv4), for an EHLO from
 * a host without a domain name.  FAIL_TEMPORARY when the socket has none. */
int conn_local_address(const struct conn *c, char *out, size_t size);

#endif
