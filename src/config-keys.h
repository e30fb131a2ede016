/*
 * Inside the config module: the keys of mailpipe.ini and the typed readers
 * of their values (config-keys.c), used by config-read.c to check each
 * value on the line it stands on, and by config.c to apply it to an
 * account.  Not for use outside config*.c.
 */
#ifndef MAILPIPE_CONFIG_KEYS_H
#define MAILPIPE_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Which sections a key may stand in. */
enum { FOR_SMTP = 1, FOR_POP3 = 2, FOR_BOTH = 3, DEFAULTS_ONLY = 4 };

/* What a key's value is.  inih ends every value at " ;" (a comment): that
 * is welcome after a word or a number, but a free-text value cut there
 * would be used shortened (a command, a path, a secret), so it is refused. */
enum {
	KEY_TEXT = 1,		/* free text: a value cut at " ;" is an error */
	KEY_SECRET = 2,		/* a secret: the file holding it must be private */
};

/* Stores value in the field at offset of a: NULL, or why it is not valid. */
typedef const char *(*value_parser)(struct account *a, size_t offset, const char *value);

struct key {
	const char *name;
	int scope;
	value_parser parse;	/* NULL: not an account's key (default_account) */
	size_t offset;
	int flags;
};

/* The key called name, or NULL when there is none. */
const struct key *config_key(const char *name);
/* True when k may be given to accounts of that kind. */
bool config_key_is_for(const struct key *k, enum account_kind kind);
/* The value parsed on a scratch account of that kind: NULL or the error. */
const char *config_key_check(const struct key *k, enum account_kind kind, const char *value);
/* True when inih cut value at " ;" on its line raw: a free-text value must
 * never be used cut. */
bool config_value_was_cut(const char *raw, const char *value);

/* An account of that kind with every default set; config_account_free()
 * releases its strings, wiping the password. */
void config_account_init(struct account *a, enum account_kind kind);
void config_account_free(struct account *a);

#endif
