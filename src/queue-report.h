/*
 * What mailpipe-send says about its queues: the listing of --queue (and
 * mailq, sendmail -bp), --queue-delete, and the one warning of --flush
 * and --queue when a message needs a human (nothing hides in the queue).
 * The queues are those of the [smtp] accounts with a queue_dir (of the
 * account called name only, when name is not NULL).
 */
#ifndef MAILPIPE_QUEUE_REPORT_H
#define MAILPIPE_QUEUE_REPORT_H

#include <stdio.h>

#include "config.h"

/* Lists every queued and failed message on out.  FAIL_CANTCREAT,
 * FAIL_AUTH, FAIL_IO as queue_open() and queue_list(). */
int queue_report_list(const struct config *cfg, const char *name, FILE *out);
/* 0, or FAIL_TEMPORARY with one line when a message is in failed/, has
 * been queued longer than its account's queue_warn, or cannot be read. */
int queue_report_check(const struct config *cfg, const char *name);
/* Removes message id, queued or failed, and says on out whom it was
 * for.  FAIL_USAGE when there is none, FAIL_TEMPORARY while another run
 * delivers it. */
int queue_report_delete(const struct config *cfg, const char *name, const char *id, FILE *out);

#endif
