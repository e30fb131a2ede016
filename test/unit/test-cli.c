/*
 * cli.c: what getopt refuses is named as it was given, in the one line
 * format both commands share: short and long, unknown, missing argument,
 * "=value" on an option that takes none, an ambiguous prefix, and a bad
 * letter in the middle of a group after a long option (where optopt and
 * argv[optind - 1] would both name the wrong thing).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "status.h"
#include "tap.h"

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'C' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "queue", no_argument, NULL, 256 },
	{ "quiet", no_argument, NULL, 257 },
	{ "human-readable", no_argument, NULL, 'H' },
	{ NULL, 0, NULL, 0 },
};

/* Parses the words of line; returns the reason of the first refusal, or
 * "" when every option was taken, with the letters seen in seen. */
static const char *
parse(const char *line, char *seen, size_t seen_size)
{
	char buf[256], *argv[16] = { "prog" };
	int argc = 1, ch;
	size_t n = 0;

	snprintf(buf, sizeof buf, "%s", line);
	for (char *w = strtok(buf, " "); w != NULL && argc < 15; w = strtok(NULL, " "))
		argv[argc++] = w;
	argv[argc] = NULL;
	optind = 0;
	fail_clear();
	while ((ch = cli_getopt(argc, argv, "+:C:vqH", longopts)) != -1) {
		if (ch == CLI_REFUSED)
			return fail_reason();
		if (n + 1 < seen_size)
			seen[n++] = ch < 256 ? (char)ch : '#';
	}
	seen[n] = '\0';
	return "";
}

static void
refused(const char *line, const char *want)
{
	char seen[32];

	is_str(parse(line, seen, sizeof seen), want, "\"%s\" is refused as it was given", line);
	is_int(fail_class(), FAIL_USAGE, "\"%s\": a usage failure (64)", line);
}

static void
taken(const char *line, const char *want_seen)
{
	char seen[32];

	is_str(parse(line, seen, sizeof seen), "", "\"%s\" is taken", line);
	is_str(seen, want_seen, "\"%s\": options seen in order", line);
}

int
main(void)
{
	taken("-v -C file --verbose --config=x --qui --que -H", "vCvC##H");
	taken("-vvC file", "vvC");
	taken("-v stray -x", "v");	/* options end at the first other argument */
	refused("-x", "unknown option -x (see --help)");
	refused("-vx", "unknown option -x (see --help)");
	refused("--verbose -vx", "unknown option -x (see --help)");
	refused("--config file -xv", "unknown option -x (see --help)");
	refused("--bogus", "unknown option --bogus (see --help)");
	refused("--bogus=1", "unknown option --bogus (see --help)");
	refused("-C", "option -C needs an argument (see --help)");
	refused("-v -C", "option -C needs an argument (see --help)");
	refused("--config", "option --config needs an argument (see --help)");
	refused("--conf", "option --conf needs an argument (see --help)");
	refused("--verbose=yes", "option --verbose takes no argument (see --help)");
	refused("--verb=yes", "option --verb takes no argument (see --help)");
	refused("--qu", "ambiguous option --qu (see --help)");
	taken("-v -- -x", "v");	/* "--" ends the options: -x is an argument */
	return done_testing();
}
