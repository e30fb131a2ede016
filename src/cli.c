/*
 * Reading options (cli.h).  The one subtle part is naming what getopt
 * refused: optopt holds a short letter for "-x" but, for a long option,
 * either 0 or the letter it stands for ("--config" is 'C'), so the word
 * given is taken from the argument being parsed instead.
 */
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "status.h"

/* How the long option given (name[0..len), without "--" and "=value")
 * matches the table: exactly, or as a prefix of how many. */
static size_t
prefix_matches(const struct option *longopts, const char *name, size_t len, bool *exact_r)
{
	size_t n = 0;

	*exact_r = false;
	for (const struct option *o = longopts; o->name != NULL; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		n++;
		if (o->name[len] == '\0')
			*exact_r = true;
	}
	return n;
}

static int
refused_long(const char *given, int ch, const struct option *longopts)
{
	const char *name = given + 2;
	int len = (int)strcspn(name, "=");
	bool exact;
	size_t matches = prefix_matches(longopts, name, (size_t)len, &exact);

	if (ch == ':')
		return fail(FAIL_USAGE, "option --%.*s needs an argument (see --help)", len, name);
	if (exact || matches == 1)	/* then only "=value" can be wrong */
		return fail(FAIL_USAGE, "option --%.*s takes no argument (see --help)", len, name);
	if (matches > 1)
		return fail(FAIL_USAGE, "ambiguous option --%.*s (see --help)", len, name);
	return fail(FAIL_USAGE, "unknown option --%.*s (see --help)", len, name);
}

static int
refused_short(int ch)
{
	if (ch == ':')
		return fail(FAIL_USAGE, "option -%c needs an argument (see --help)", optopt);
	return fail(FAIL_USAGE, "unknown option -%c (see --help)", optopt);
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	/* The argument getopt is about to read, or is in (0 asks glibc to
	 * start again, at 1). */
	int at = optind > 0 ? optind : 1;
	int ch;

	opterr = 0;	/* one line of our own instead of getopt's */
	ch = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (ch != '?' && ch != ':')
		return ch;
	if (strncmp(argv[at], "--", 2) == 0)
		refused_long(argv[at], ch, longopts);
	else
		refused_short(ch);
	return CLI_REFUSED;
}
