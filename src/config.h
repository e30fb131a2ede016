/*
 * mailpipe.ini: typed accounts from an INI file parsed by inih.
 *
 * [defaults] keys are inherited by every [smtp NAME] and [pop3 NAME] section
 * that follows or precedes it.  Errors are "FILE:LINE: message" with
 * FAIL_CONFIG.  A file that someone other than its owner could change, or
 * owned by someone other than the caller or root, and a file holding
 * `password` that group or others can read, are FAIL_AUTH (fs.h); so is a
 * tls_ca_file others could change.  Strings are owned by the config and
 * freed by config_free().
 */
#ifndef MAILPIPE_CONFIG_H
#define MAILPIPE_CONFIG_H

#include <stdbool.h>
#include "sasl.h"
#include "tls.h"

enum account_kind { ACCOUNT_SMTP, ACCOUNT_POP3 };

/* Where mailpipe-fetch delivers (`deliver`, deliver.h). */
enum deliver_kind { DELIVER_MAILDIR, DELIVER_MDA, DELIVER_LMTP, DELIVER_MBOX };

struct account {
	enum account_kind kind;
	char *name;
	const char *file;	/* where it was defined, for messages: the
				 * config's path, valid until config_free() */
	int line;

	char *host;
	unsigned port;			/* 0 in the file: chosen from kind and tls */
	enum tls_mode tls;
	bool tls_verify;
	char *tls_ca_file;
	char *tls_fingerprint;
	char *tls_cert_file;		/* client certificate (PEM), with tls_key_file */
	char *tls_key_file;
	char *user;
	char *password;			/* wiped by config_free() */
	char *password_file;
	char *password_command;
	enum auth_method auth;
	int timeout;			/* seconds per wait */
	int deadline;			/* seconds for the whole run; 0 = none */
	char *log;			/* NULL (none), "syslog", or a file's path */

	/* smtp */
	char *from;
	char *helo;
	char *aliases;
	char *domain;
	char *dsn_notify, *dsn_return;	/* RFC 3461 defaults, canonical (dsn.h) */

	/* smtp: the queue, failover and routing (mailpipe-send(1), QUEUE) */
	char *queue_dir;		/* NULL: no queue */
	int queue_backoff;		/* seconds after the first failed retry */
	int queue_backoff_limit;	/* the longest wait between retries */
	int queue_lifetime;		/* seconds until failed/ */
	int queue_warn;			/* seconds until --flush warns; 0: never */
	bool queue_flush_on_send;
	bool queue_resend_unconfirmed;
	char *failover;			/* account names, blank-separated */
	char *match_from;		/* globs, blank-separated */

	/* pop3 */
	char *maildir;
	bool keep;			/* false: delete what was retrieved */
	long long keep_for;		/* keep = DURATION: seconds; 0 = not set */
	char *state_dir;
	unsigned long long max_size;	/* 0 = no limit */
	bool delete_oversized;		/* DELE what is over max_size, unretrieved */
	unsigned long max_messages;	/* per run; 0 = no limit */
	unsigned long long max_bytes;	/* per run; 0 = no limit */
	enum deliver_kind deliver;
	char *deliver_to;		/* mda: the command; lmtp: the target; mbox: the file */
	char *lmtp_recipient;		/* NULL: user */
	bool mda_failure_skip;		/* mda_failure = skip */
};

struct config {
	char *path;
	char *default_account;
	int default_account_line;
	struct account *accounts;
	size_t count;
};

/* Finds and loads the file: explicit_path (-C) or the search order of
 * mailpipe.ini(5).  No file at all is FAIL_CONFIG. */
int config_load(const char *explicit_path, struct config *cfg);
/* The account of that kind named name, or with name NULL the
 * default_account, or the only account of that kind.  FAIL_CONFIG if none. */
int config_account(const struct config *cfg, enum account_kind kind, const char *name,
	const struct account **acct_r);
/* Expands a leading "~/" with fs_home_dir(); returns a new string, or
 * NULL when the path needs a home directory and there is none. */
char *config_expand_home(const char *path);
void config_free(struct config *cfg);

#endif
