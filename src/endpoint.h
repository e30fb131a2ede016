/*
 * From an account to the transport: the struct endpoint that conn_open()
 * takes.  This sits above both config and conn so that neither knows the
 * other: the configuration builds values, the caller that is about to
 * connect turns them into a transport object and says when its run began.
 */
#ifndef MAILPIPE_ENDPOINT_H
#define MAILPIPE_ENDPOINT_H

#include <stdint.h>

#include "config.h"
#include "conn.h"

/* Host, port, TLS mode and options, and the timing of account a: its
 * timeout for each wait, and its deadline counted from start_ms, a point
 * on clock_now_ms()'s clock (no deadline when a->deadline is 0).  The
 * strings point into a, so ep is valid as long as the config is. */
void endpoint_of(const struct account *a, int64_t start_ms, struct endpoint *ep);

#endif
