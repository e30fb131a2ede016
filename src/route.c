/*
 * Routing by sender and failover chains, over the accounts of the
 * configuration.  match_from and failover hold blank-separated words
 * (config-keys.c refuses commas), walked here without copying the value.
 */
#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "status.h"
#include "xalloc.h"

#define BLANKS " \t"

/* Calls match(word, arg) for each word of list until one returns true. */
static bool
any_word(const char *list, bool (*match)(const char *word, size_t len, const void *arg),
	const void *arg)
{
	for (const char *p = list + strspn(list, BLANKS); *p != '\0';
	    p += strspn(p, BLANKS)) {
		size_t len = strcspn(p, BLANKS);

		if (match(p, len, arg))
			return true;
		p += len;
	}
	return false;
}

static bool
glob_matches(const char *word, size_t len, const void *sender)
{
	char *glob = xstrndup(word, len);
	bool hit = fnmatch(glob, sender, FNM_CASEFOLD) == 0;

	free(glob);
	return hit;
}

int
route_account(const struct config *cfg, const char *sender, const struct account **a_r)
{
	for (size_t i = 0; sender != NULL && i < cfg->count; i++) {
		const struct account *a = &cfg->accounts[i];

		if (a->kind == ACCOUNT_SMTP && a->match_from != NULL &&
		    any_word(a->match_from, glob_matches, sender)) {
			*a_r = a;
			return 0;
		}
	}
	return config_account(cfg, ACCOUNT_SMTP, NULL, a_r);
}

bool
route_queue_of(const struct account *a, const char *dir, const char *name)
{
	return a->kind == ACCOUNT_SMTP && a->queue_dir != NULL &&
	    (dir == NULL || strcmp(a->queue_dir, dir) == 0) &&
	    (name == NULL || strcmp(a->name, name) == 0);
}

bool
route_first_with_queue(const struct config *cfg, size_t i, const char *name)
{
	if (!route_queue_of(&cfg->accounts[i], NULL, name))
		return false;
	for (size_t k = 0; k < i; k++)
		if (route_queue_of(&cfg->accounts[k], cfg->accounts[i].queue_dir, name))
			return false;
	return true;
}

const struct account *
route_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->count; i++)
		if (cfg->accounts[i].kind == ACCOUNT_SMTP && strcmp(cfg->accounts[i].name, name) == 0)
			return &cfg->accounts[i];
	return NULL;
}

struct chain {
	const struct config *cfg;
	const struct account **items;
	size_t count, alloc;
	const char *unknown;	/* the first name without a section */
	size_t unknown_length;
};

static bool
add_link(const char *word, size_t len, const void *arg)
{
	struct chain *c = (struct chain *)arg;
	char *name = xstrndup(word, len);
	const struct account *a = route_find(c->cfg, name);
	bool known = false;

	free(name);
	for (size_t i = 0; a != NULL && i < c->count; i++)
		known |= c->items[i] == a;
	if (a == NULL && c->unknown == NULL) {
		c->unknown = word;
		c->unknown_length = len;
	}
	if (a != NULL && !known) {
		c->items = xgrow(c->items, &c->alloc, c->count + 1, sizeof *c->items);
		c->items[c->count++] = a;
	}
	return false;	/* every word */
}

int
route_chain(const struct config *cfg, const struct account *a,
	const struct account ***chain_r, size_t *count_r)
{
	struct chain c = { .cfg = cfg };

	c.items = xgrow(NULL, &c.alloc, 1, sizeof *c.items);
	c.items[c.count++] = a;
	if (a->failover != NULL)
		any_word(a->failover, add_link, &c);
	*chain_r = c.items;
	*count_r = c.count;
	if (c.unknown != NULL)
		return fail(FAIL_CONFIG, "%s:%d: [smtp %s]: failover names no [smtp %.*s] section",
		    a->file, a->line, a->name, (int)c.unknown_length, c.unknown);
	return 0;
}
