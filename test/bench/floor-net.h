/*
 * The transport the two floor clients share (test/bench/pop3-floor.c,
 * smtp-floor.c): a blocking TCP connection to a loopback server, TLS with the
 * stack's CA and the host name checked, and a read buffer that hands out
 * lines.  It is the least a correct client must do, so the benchmarks can
 * say how far each real client is from the cost the server sets (the
 * "floor"); nothing here is part of mailpipe.
 *
 * Every function reports a failure on stderr and exits 1: a floor that
 * fails is a benchmark that stops, never a number.
 */
#ifndef FLOOR_NET_H
#define FLOOR_NET_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* One connection: the socket, its TLS session once started, the read buffer. */
struct floor_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;		/* NULL until floor_tls() */
	char buf[65536];
	size_t start, end;	/* unread bytes are buf[start..end) */
	bool quick_ack;		/* ask for TCP_QUICKACK before each read
				 * (smtp-floor: floor-net.c says why) */
};

/* Prints "PROG: WHAT" (and OpenSSL's queue of errors) and exits 1. */
_Noreturn void floor_die(const char *what);

/* Connects to HOST:PORT. */
void floor_connect(struct floor_conn *c, const char *host, const char *port);

/* Starts TLS as a client of HOST, trusting only CA_FILE. */
void floor_tls(struct floor_conn *c, const char *host, const char *ca_file);

/* Writes all LEN bytes of DATA, through TLS once it is on. */
void floor_write(struct floor_conn *c, const void *data, size_t len);

/* Refills the buffer (keeping the unread bytes); exits on end of file. */
void floor_fill(struct floor_conn *c);

/*
 * The next line, CRLF included, as a pointer into the buffer that stays
 * valid until the next call; *LEN gets its length.  A line longer than the
 * buffer is cut into pieces (the callers look only at short lines).
 */
const char *floor_line(struct floor_conn *c, size_t *len);

/* Frees the TLS session and closes the socket (nothing more is sent). */
void floor_close(struct floor_conn *c);

#endif
