/*
 * Unpredictable bytes, or no run at all.  The random parts of a Message-ID
 * and of a Maildir file name are what keeps them unique against every
 * other sender and deliverer; a predictable stand-in (zeros, the time and
 * the pid) would silently give that up.  A random source that fails is so
 * rare (no getrandom(), no /dev/urandom) that one clear line and exit 75
 * serve better than a fallback: both callers run before anything is sent
 * or deleted, so a later run loses nothing.
 */
#ifndef MAILPIPE_RANDOM_H
#define MAILPIPE_RANDOM_H

#include <stddef.h>

/* Fills the n bytes at p from the kernel's generator (getrandom(2)),
 * or ends the program: the failure line (status.h) and exit 75. */
void random_bytes(void *p, size_t n);

#endif
