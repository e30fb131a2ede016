/*
 * Name lookups bounded like every other wait.  getaddrinfo() has no time
 * limit we could set: a resolver that never answers keeps it for its own
 * retries (resolv.conf's timeout times attempts, for each address family
 * and search domain), far beyond `timeout` and `deadline`.  lookup_run()
 * makes the same call in a child process and waits for its answer within
 * the account's timing (clock.h); a child still looking when the time is
 * up is killed.
 */
#ifndef MAILPIPE_LOOKUP_H
#define MAILPIPE_LOOKUP_H

#include <netdb.h>
#include <sys/types.h>

#include "clock.h"

/* What getaddrinfo() answered: its code (0 or an EAI_ value), errno for
 * EAI_SYSTEM, and with 0 its list, in its order (ai_canonname on the first
 * when AI_CANONNAME was asked for).  At most LOOKUP_MAX_ADDRESSES of them. */
#define LOOKUP_MAX_ADDRESSES 64
struct lookup {
	int rc;
	int err;
	struct addrinfo *list;	/* freed by lookup_free(), not freeaddrinfo() */
};

/* getaddrinfo(host, service, hints) within t: each wait at most its
 * timeout, all within its deadline and a signal's grace.  A numeric host
 * is answered at once, without a child.  0 with *l set (l->rc says whether
 * the name was found); -1 when the time ran out ("timed out looking up
 * HOST", "deadline reached looking up HOST", "gave up looking up HOST after
 * a signal") or no child could be started, FAIL_TEMPORARY recorded. */
int lookup_run(const char *host, const char *service, const struct addrinfo *hints,
	const struct timing *t, struct lookup *l);
/* A lookup started now and collected later, so that it runs while the
 * program does other work (mailpipe-send looks up this host's name while
 * it connects).  The child is tracked for signals (signals.h) until
 * another child is; it dies with the program in any case (its
 * parent-death signal).  Every started lookup is collected or abandoned. */
struct lookup_pending {
	pid_t pid;			/* the child; 0: none (answered at once, or failed) */
	int fd;				/* the child's answer; -1: none */
	int rc;				/* -1: the start failed (recorded then) */
	struct lookup answer;		/* a numeric host's, answered at once */
	char what[NI_MAXHOST + 16];	/* "looking up HOST", for the error line */
};

/* Starts lookup_run()'s getaddrinfo(host, service, hints): 0, or -1 when
 * no child could be started (recorded). */
int lookup_start(const char *host, const char *service, const struct addrinfo *hints,
	struct lookup_pending *p);
/* Its answer, waited for within t: as lookup_run() returns it.  Collecting
 * a lookup whose start failed returns -1 again, recording nothing more. */
int lookup_collect(struct lookup_pending *p, const struct timing *t, struct lookup *l);
/* Ends a started lookup unanswered (the child killed and reaped); p may
 * also be collected or abandoned already, or all zero (never started). */
void lookup_abandon(struct lookup_pending *p);
/* Frees l's list; l may be all zero. */
void lookup_free(struct lookup *l);

#endif
