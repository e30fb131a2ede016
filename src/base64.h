/*
 * Base64 (RFC 4648) as SASL carries it: one line, padded, nothing else in
 * it.  OpenSSL does the coding; this module only checks what it is given,
 * since OpenSSL's decoder skips white space and hides the padding, and a
 * challenge from a server must be either exactly base64 or refused.
 */
#ifndef MAILPIPE_BASE64_H
#define MAILPIPE_BASE64_H

#include <stddef.h>

/* The base64 text of the n bytes at p, with padding and without line
 * breaks: a new string.  It holds whatever p held: a secret's encoding is
 * released with secret_wipe() (secret.h). */
char *base64_encode(const void *p, size_t n);
/* The bytes of len characters of base64 text (the whole of it: padded to
 * a multiple of four, no white space): a new buffer of *n_r bytes with a
 * NUL after them, so that text can be read as a string.  NULL (nothing
 * recorded) when the text is not base64. */
unsigned char *base64_decode(const char *text, size_t len, size_t *n_r);

#endif
