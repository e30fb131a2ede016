/*
 * Host names.  The domain name is looked up through getaddrinfo(), so
 * /etc/hosts and the resolver are asked in the system's configured order,
 * as `hostname -f` does, within a timeout (lookup.h); the syntax check keeps whatever comes back (a
 * numeric name, localhost.localdomain, a name with a line break from a
 * hostile resolver) from ever reaching an SMTP command or a header.
 */
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hostname.h"
#include "lookup.h"
#include "status.h"

#define LABEL_MAX 63	/* RFC 1035 2.3.4: octets in a label */
#define DOMAIN_MAX 253	/* RFC 1035 2.3.4's 255 on the wire, as text without a root dot */

void
hostname_node(char *out, size_t size)
{
	char node[HOSTNAME_MAX];

	if (size == 0)
		return;
	/* POSIX leaves a cut name's termination open: terminate it here. */
	if (gethostname(node, sizeof node) < 0)
		node[0] = '\0';
	node[sizeof node - 1] = '\0';
	snprintf(out, size, "%s", node[0] != '\0' ? node : "localhost");
}

static bool
label_is(const char *label, size_t len, const char *name)
{
	return len == strlen(name) && strncasecmp(label, name, len) == 0;
}

/* Letters, digits and hyphens, not at either end (RFC 1123 2.1). */
static bool
label_ok(const char *label, size_t len)
{
	if (len == 0 || len > LABEL_MAX || label[0] == '-' || label[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)label[i]) && label[i] != '-')
			return false;
	return true;
}

static bool
all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool
is_domain_of_host(const char *name)
{
	const char *first_dot, *last_dot;
	size_t first_len, last_len;

	if (name == NULL || strlen(name) > DOMAIN_MAX || (first_dot = strchr(name, '.')) == NULL)
		return false;
	for (const char *label = name, *dot; label != NULL; label = dot ? dot + 1 : NULL) {
		dot = strchr(label, '.');
		if (!label_ok(label, dot ? (size_t)(dot - label) : strlen(label)))
			return false;
	}
	last_dot = strrchr(name, '.');
	first_len = (size_t)(first_dot - name);
	last_len = strlen(last_dot + 1);
	return !all_digits(last_dot + 1, last_len) && !label_is(name, first_len, "localhost") &&
	    !label_is(last_dot + 1, last_len, "localhost") &&
	    !label_is(last_dot + 1, last_len, "localdomain");
}

const char *
hostname_choose(const char *node, const char *canonical)
{
	if (is_domain_of_host(canonical))
		return canonical;
	return is_domain_of_host(node) ? node : NULL;
}

void
hostname_fqdn_start(struct hostname_lookup *h)
{
	const struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_socktype = SOCK_STREAM };
	struct failure_record saved;

	hostname_node(h->node, sizeof h->node);
	fail_save(&saved);
	lookup_start(h->node, NULL, &hints, &h->pending);
	fail_restore(&saved);
}

/* A lookup that fails or runs out of time is no failure of the run: the
 * caller goes on without a domain name (an address literal in EHLO), so
 * the failure it recorded is put back as it was. */
bool
hostname_fqdn_collect(struct hostname_lookup *h, char *out, size_t size, int timeout_ms)
{
	const struct timing t = { .timeout_ms = timeout_ms };
	struct failure_record saved;
	struct lookup found;
	const char *name;
	bool fits;

	fail_save(&saved);
	if (lookup_collect(&h->pending, &t, &found) < 0)
		found.rc = EAI_AGAIN;
	fail_restore(&saved);
	name = hostname_choose(h->node, found.rc == 0 && found.list != NULL ?
	    found.list->ai_canonname : NULL);
	fits = name != NULL && strlen(name) < size;
	if (size > 0)
		snprintf(out, size, "%s", fits ? name : "");
	lookup_free(&found);
	return fits;
}

void
hostname_fqdn_abandon(struct hostname_lookup *h)
{
	lookup_abandon(&h->pending);
}

bool
hostname_fqdn(char *out, size_t size, int timeout_ms)
{
	struct hostname_lookup h;

	hostname_fqdn_start(&h);
	return hostname_fqdn_collect(&h, out, size, timeout_ms);
}
