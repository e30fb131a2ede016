/*
 * The command line as both commands read it: GNU getopt_long, options
 * ending at the first other argument, and one line of our own for what
 * getopt refuses, the same in mailpipe-send and mailpipe-fetch:
 *
 *   unknown option -x (see --help)
 *   unknown option --bogus (see --help)
 *   option -C needs an argument (see --help)
 *   option --config needs an argument (see --help)
 *   option --help takes no argument (see --help)
 *   ambiguous option --qu (see --help)
 *
 * The option is named as it was given (a long option as --name, without
 * any "=value"), never by the short letter getopt maps it to.
 */
#ifndef MAILPIPE_CLI_H
#define MAILPIPE_CLI_H

#include <getopt.h>

/* What cli_getopt() returns for an option getopt refused. */
#define CLI_REFUSED (-2)

/* getopt_long(argc, argv, shortopts, longopts, NULL) without getopt's own
 * messages: the next option's value, -1 at the end of the options, or
 * CLI_REFUSED with the line above recorded as FAIL_USAGE.  shortopts must
 * begin with "+:" (stop at the first other argument; report a missing
 * argument apart from an unknown option). */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

#endif
