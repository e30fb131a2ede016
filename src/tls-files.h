/*
 * What TLS reads from disk, for tls.c: the trust anchors (tls_ca_file or
 * the system store) and the client certificate with its key.  Kept apart
 * from the session so that the rules for trusted files (read through the
 * descriptor whose owner and mode were checked, a key's bytes wiped, never
 * a passphrase prompt) sit in one place, and so that the system store is
 * touched only by a session that verifies a chain.
 */
#ifndef MAILPIPE_TLS_FILES_H
#define MAILPIPE_TLS_FILES_H

#include "tls.h"

struct ssl_ctx_st;

/* Loads into ctx what o asks for: the trust anchors when the chain is
 * verified (o->verify without a pin), the client certificate and key when
 * o->cert_file is set.  0, or -1 recorded: FAIL_CONFIG naming the file and
 * what is wrong with it, or FAIL_AUTH from the trust rule. */
int tls_files_load(struct ssl_ctx_st *ctx, const struct tls_options *o);

#endif
