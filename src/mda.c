/*
 * The MDA of `deliver = mda` (mda.h): the placeholders made safe for the
 * shell, the message on stdin from its temp file, the verdict from the
 * exit status.  What it prints is read while it runs (a pipe it fills
 * would otherwise block it until the timeout) and one line of it is
 * shown, so that a procmail complaint reaches the user and a flood does
 * not.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "mda.h"
#include "status.h"
#include "strbuf.h"

/* What is kept of its output: enough for a line, not a flood. */
#define OUTPUT_KEEP 512
/* sysexits(3) EX_TEMPFAIL: every MDA's "try again later". */
#define EXIT_TEMPFAIL 75

static void
append_quoted(struct strbuf *b, const char *value)
{
	strbuf_printf(b, "'");
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '\'')
			strbuf_printf(b, "'\\''");
		else
			strbuf_append(b, p, 1);
	}
	strbuf_printf(b, "'");
}

char *
mda_expand(const char *command, const char *sender, const char *recipient)
{
	struct strbuf b = { 0 };
	size_t len;

	for (const char *p = command; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'F')
			append_quoted(&b, sender);
		else if (p[0] == '%' && p[1] == 'T')
			append_quoted(&b, recipient);
		else if (p[0] == '%' && p[1] == '%')
			strbuf_printf(&b, "%%");
		else {
			strbuf_append(&b, p, 1);
			continue;
		}
		p++;
	}
	return strbuf_take(&b, &len);
}

const char *
mda_command_check(const char *command)
{
	char quote = 0;		/* the quote we are inside, or 0 */

	for (const char *p = command; *p != '\0'; p++) {
		if (quote != '\'' && *p == '\\' && p[1] != '\0')
			p++;	/* escaped: the next character is not special */
		else if (quote == 0 && (*p == '\'' || *p == '"'))
			quote = *p;
		else if (quote != 0 && *p == quote)
			quote = 0;
		else if (*p == '%' && (p[1] == 'F' || p[1] == 'T') && quote != 0)
			return "write %F and %T without quotes around them: mailpipe-fetch quotes the values itself";
		else if (*p == '%' && p[1] != '\0')
			p++;
	}
	return NULL;
}

/* The first line of its output into keep (NUL-terminated, cut), the rest
 * read and dropped until it closes the pipe. */
static int
read_output(struct child *c, char keep[OUTPUT_KEEP])
{
	char scratch[4096];
	size_t n;
	int rc = child_read(c, keep, OUTPUT_KEEP - 1, &n);

	keep[rc < 0 ? 0 : n] = '\0';
	keep[strcspn(keep, "\r\n")] = '\0';
	while (rc > 0)
		rc = child_read(c, scratch, sizeof scratch, &n);
	return rc;
}

static int
verdict(int status, const char *said)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	const char *sep = *said != '\0' ? ": " : "";

	if (code == 0) {
		if (*said != '\0')
			log_warn("mda: %s", said);
		return MDA_DELIVERED;
	}
	if (code < 0)
		fail(FAIL_TEMPORARY, "the mda was killed by signal %d%s%s", WTERMSIG(status),
		    sep, said);
	else
		fail(FAIL_TEMPORARY, "the mda %s (exit status %d)%s%s", code == EXIT_TEMPFAIL ?
		    "failed temporarily" : "refused the message", code, sep, said);
	/* A signal (a crash, the OOM killer) says nothing about the message. */
	return code == EXIT_TEMPFAIL || code < 0 ? MDA_TEMPORARY : MDA_PERMANENT;
}

int
mda_deliver(const struct mda_call *call, int fd)
{
	char *command = mda_expand(call->command, call->sender, call->recipient);
	char said[OUTPUT_KEEP];
	struct child c;
	int status = 0, rc;

	rc = lseek(fd, 0, SEEK_SET) == 0 ? 0 : fail(FAIL_IO,
	    "cannot rewind the message for the mda");
	if (rc == 0)
		rc = child_start(&c, "mda", command, fd, true, call->timeout_s);
	free(command);
	if (rc < 0)
		return -1;
	/* Its exit status is the verdict: once the shell has given it, a
	 * notifier it started with & must not turn a delivery into a timeout
	 * (and the next run into a duplicate). */
	c.done_at_exit = true;
	if (read_output(&c, said) < 0) {
		child_abort(&c);
		return -1;
	}
	if (child_wait(&c, &status) < 0)
		return -1;
	return verdict(status, said);
}
