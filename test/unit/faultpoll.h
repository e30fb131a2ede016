/*
 * A poll() that fails on demand, for the error paths of code that waits
 * with it (test-cred: cred.c's wait for a password_command's output).
 */
#ifndef MAILPIPE_FAULTPOLL_H
#define MAILPIPE_FAULTPOLL_H

/* While non-zero, poll() on one or more descriptors fails with this errno;
 * poll() on none (a sleep) still sleeps. */
extern int faultpoll_errno;

#endif
