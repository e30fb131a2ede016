/*
 * Wiping secrets.  A password, or a credential encoded from one, lives in
 * a heap string that is overwritten before it is freed, so that neither a
 * later allocation nor a core file can show it.  This sits below every
 * module that handles one (config, sasl, pop3, smtp, cred), so none of them
 * has to reach up to the password sources for it.
 */
#ifndef MAILPIPE_SECRET_H
#define MAILPIPE_SECRET_H

/* Overwrites a NUL-terminated heap string with OPENSSL_cleanse() (which
 * the compiler may not leave out) and frees it.  NULL is allowed. */
void secret_wipe(char *s);

#endif
