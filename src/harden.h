/*
 * Process hardening both commands do first thing: a password lives in
 * memory for part of a run, and a core dump (SIGQUIT from a terminal, a
 * crash) would write it to a file anyone with access to the directory can
 * read.
 */
#ifndef MAILPIPE_HARDEN_H
#define MAILPIPE_HARDEN_H

/* No core dumps: RLIMIT_CORE 0 (soft and hard, so no child or later code
 * can raise it) and not dumpable (PR_SET_DUMPABLE 0, which also keeps other
 * processes of the same user from ptrace-reading our memory, and covers a
 * core_pattern pipe that ignores RLIMIT_CORE).  FAIL_IO when the kernel
 * refuses, which it should never do. */
int harden_process(void);

#endif
