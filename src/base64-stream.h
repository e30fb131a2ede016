/*
 * Base64 for MIME bodies (RFC 2045 6.8): a stream of any length coded in
 * lines of 76 characters, fed in pieces of any size.  The coding itself is
 * OpenSSL's (EVP_EncodeBlock on whole lines of 57 bytes); this module only
 * gathers the input into those lines.  EVP_EncodeInit/Update/Final would
 * do the gathering too, but in lines of 64 characters that OpenSSL 3 gives
 * no public way to widen.  Output lines end in LF; the SMTP stuffer turns
 * them into CRLF.
 */
#ifndef MAILPIPE_BASE64_STREAM_H
#define MAILPIPE_BASE64_STREAM_H

#include <stddef.h>

/* Bytes of input per output line: 57 bytes are 76 characters. */
#define B64S_LINE_INPUT 57
#define B64S_LINE_OUTPUT 77	/* 76 characters and LF */
/* Room for what n input bytes may produce (with the bytes held back from
 * the call before), and one byte for the NUL OpenSSL writes after a line. */
#define B64S_OUT_MAX(n) ((((n) + B64S_LINE_INPUT) / B64S_LINE_INPUT) * B64S_LINE_OUTPUT + 1)

struct b64s_encoder {
	unsigned char held[B64S_LINE_INPUT];	/* the start of the next line */
	size_t held_length;
};

void b64s_init(struct b64s_encoder *e);
/* Encodes n bytes into out (B64S_OUT_MAX(n) bytes); returns bytes written
 * (whole lines only). */
size_t b64s_encode(struct b64s_encoder *e, const void *in, size_t n, char *out);
/* The last, shorter line (padded), if any; out holds B64S_OUT_MAX(0)
 * bytes.  Returns bytes written. */
size_t b64s_finish(struct b64s_encoder *e, char *out);

#endif
