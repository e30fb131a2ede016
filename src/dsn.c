/*
 * DSN parameters (dsn.h): parsed from what people type into what RFC
 * 3461 puts on the wire, refused with a reason when they are anything
 * else, so that no value of ours can add a parameter to MAIL or RCPT.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dsn.h"

static const char *const notify_words[] = { "SUCCESS", "FAILURE", "DELAY" };
#define NOTIFY_WORDS (sizeof notify_words / sizeof notify_words[0])

/* The index of the word of n bytes at p, or -1. */
static int
notify_word(const char *p, size_t n)
{
	for (size_t i = 0; i < NOTIFY_WORDS; i++)
		if (strlen(notify_words[i]) == n && strncasecmp(p, notify_words[i], n) == 0)
			return (int)i;
	return -1;
}

/* The words of a list, each once, as bits; -1 for anything else. */
static int
notify_bits(const char *text)
{
	int bits = 0;

	for (const char *p = text;; p++) {
		size_t n = strcspn(p, ",");
		int w = notify_word(p, n);

		if (w < 0 || (bits & (1 << w)))
			return -1;
		bits |= 1 << w;
		p += n;
		if (*p == '\0')
			return bits;
	}
}

const char *
dsn_notify_canonical(const char *text, char *out)
{
	int bits;

	if (strcasecmp(text, "never") == 0) {
		strcpy(out, "NEVER");
		return NULL;
	}
	if ((bits = notify_bits(text)) < 0)
		return "expected never, or success, failure and delay joined by commas "
		    "(each once)";
	out[0] = '\0';
	for (size_t i = 0; i < NOTIFY_WORDS; i++)
		if (bits & (1 << i))
			snprintf(out + strlen(out), DSN_NOTIFY_MAX - strlen(out), "%s%s",
			    out[0] != '\0' ? "," : "", notify_words[i]);
	return NULL;
}

const char *
dsn_ret_canonical(const char *text, char *out)
{
	if (strcasecmp(text, "full") != 0 && strcasecmp(text, "hdrs") != 0)
		return "expected full or hdrs";
	strcpy(out, strcasecmp(text, "full") == 0 ? "FULL" : "HDRS");
	return NULL;
}

const char *
dsn_envid_check(const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n > DSN_ENVID_MAX)
		return "expected 1 to 100 characters";
	for (size_t i = 0; i < n; i++)
		if (text[i] < ' ' || text[i] > '~')
			return "expected printable ASCII only";
	return NULL;
}

const char *
dsn_notify_check(const char *text)
{
	char canonical[DSN_NOTIFY_MAX];

	if (strlen(text) >= DSN_NOTIFY_MAX || dsn_notify_canonical(text, canonical) != NULL ||
	    strcmp(text, canonical) != 0)
		return "not a NOTIFY value";
	return NULL;
}

const char *
dsn_ret_check(const char *text)
{
	return strcmp(text, "FULL") == 0 || strcmp(text, "HDRS") == 0 ? NULL :
	    "not a RET value";
}

void
dsn_xtext(const char *text, char *out)
{
	size_t used = 0;

	for (const unsigned char *p = (const unsigned char *)text;
	    *p != '\0' && used + 4 <= DSN_XTEXT_MAX; p++) {
		if (*p > ' ' && *p <= '~' && *p != '+' && *p != '=')
			out[used++] = (char)*p;
		else
			used += (size_t)snprintf(out + used, 4, "+%02X", *p);
	}
	out[used] = '\0';
}

void
dsn_mail_parameters(const struct dsn_request *dsn, char *out)
{
	char envid[DSN_XTEXT_MAX];

	out[0] = '\0';
	if (dsn == NULL)
		return;
	if (dsn->ret != NULL)
		snprintf(out, DSN_MAIL_PARAMETERS_MAX, " RET=%s", dsn->ret);
	if (dsn->envid != NULL) {
		dsn_xtext(dsn->envid, envid);
		snprintf(out + strlen(out), DSN_MAIL_PARAMETERS_MAX - strlen(out), " ENVID=%s",
		    envid);
	}
}
