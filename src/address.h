/*
 * Addresses: RFC 5322 address lists as they appear in To/Cc/Bcc headers and
 * on the command line, the aliases file for local names such as cron's
 * "root", and qualification of bare local names with a domain.
 */
#ifndef MAILPIPE_ADDRESS_H
#define MAILPIPE_ADDRESS_H

#include <stdbool.h>
#include "strlist.h"

/* Appends the addr-spec of every mailbox in an address list (display
 * names, comments and group syntax removed). */
void address_list_extract(const char *list, struct strlist *out);
/* The same list with "@domain" appended to every bare local part; a new
 * string. */
char *address_list_qualify(const char *list, const char *domain);
/* True for an addr-spec we can put in MAIL FROM / RCPT TO. */
bool address_is_sendable(const char *addr);
/* Maps every recipient without "@" through the aliases file (if any), then
 * qualifies what is still bare with domain (if any).  FAIL_NOINPUT if the
 * aliases file cannot be read; FAIL_AUTH if it is not trusted (fs.h);
 * FAIL_USAGE for an address we cannot send. */
int address_resolve(struct strlist *rcpts, const char *aliases_path, const char *domain);

#endif
