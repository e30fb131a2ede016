/*
 * Test doubles shared by the unit tests: a forked peer that writes bytes
 * one at a time over a socketpair (each only after the previous one was
 * read), and input spooled from a temporary file.
 */
#ifndef MAILPIPE_TEST_PEER_H
#define MAILPIPE_TEST_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "conn.h"
#include "spool.h"

/* Waits of ten seconds: a test must fail by assertion, not by timeout. */
extern const struct timing peer_patience;

/* A conn whose other end is a forked process writing data byte by byte;
 * with hold_open it then waits for us to close, otherwise it closes (EOF). */
struct conn *peer_bytewise(const char *data, size_t n, bool hold_open, pid_t *pid_r);
/* Closes the conn and reaps the peer. */
void peer_end(struct conn *c, pid_t pid);
/* Waits until everything written on fd was read by the other end. */
void peer_wait_drained(int fd);
/* spool_read() of data from a temporary file. */
int peer_spool_text(const char *data, size_t n, bool has_header, struct spool *s);

#endif
