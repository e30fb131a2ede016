/*
 * Test-only helper for the fuzz targets: plays the server side of a
 * connection by writing the fuzz input into one end of a socketpair from a
 * thread, in chunks of a chosen size.
 *
 * Chunk boundaries are deterministic: the writer waits until the reader has
 * taken everything queued (SIOCINQ on the reader's end is 0) before it
 * writes the next chunk, so each recv() in conn.c returns one chunk (or, when
 * its buffer has less room, the same part of one every time) and a
 * crashing input reproduces exactly.  After 256 chunks the rest goes
 * in pieces of FEEDER_CHUNK_MAX, so a 1-byte chunk size stays cheap.
 */
#ifndef MAILPIPE_FUZZ_FEEDER_H
#define MAILPIPE_FUZZ_FEEDER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest single write.  Small enough to be queued as one unit, so the
 * reader sees a chunk whole or (when its buffer has less room) a
 * deterministic part of it, never a mix of two chunks. */
#define FEEDER_CHUNK_MAX 8192

struct feeder {
	int reader_fd;		/* give this to conn_from_fd() */
	int writer_fd;
	int watch_fd;		/* a dup of reader_fd, for SIOCINQ: the code under
				 * test may close reader_fd whenever it likes */
	const uint8_t *data;
	size_t size;
	size_t chunk;
	atomic_bool stop;
	pthread_t thread;
};

/* Starts the writer; returns the reader's fd (blocking), or aborts. */
int feeder_start(struct feeder *f, const uint8_t *data, size_t size, size_t chunk);
/* Stops the writer and closes the writer's end (reader_fd is the code
 * under test's to close, before or after). */
void feeder_stop(struct feeder *f);

/* A chunk size chosen by a selector byte: whole chunks, then odd sizes. */
size_t feeder_chunk_size(uint8_t selector);

#endif
