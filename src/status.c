/*
 * The failure record and the one sysexits(3) mapping.  A failure is
 * classified where it is detected (fail()); nothing else in the program
 * knows an exit code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "status.h"

/* The one failure record, and the scope fail() stamps it with. */
static struct failure_record record;
static struct {
	char account[sizeof record.account];
	char server[sizeof record.server];
} scope;


void
fail_scope(const char *account, const char *host, unsigned port)
{
	snprintf(scope.account, sizeof scope.account, "%s", account ? account : "");
	if (host != NULL)
		snprintf(scope.server, sizeof scope.server, "%s:%u", host, port);
	else
		scope.server[0] = '\0';
}

int
fail(enum failure cls, const char *fmt, ...)
{
	va_list ap;

	record.cls = cls;
	va_start(ap, fmt);
	vsnprintf(record.reason, sizeof record.reason, fmt, ap);
	va_end(ap);
	memcpy(record.account, scope.account, sizeof record.account);
	memcpy(record.server, scope.server, sizeof record.server);
	return -1;
}

int
fail_context(const char *fmt, ...)
{
	char joined[sizeof record.reason];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(joined, sizeof joined, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len + 2 >= sizeof joined)
		return -1;	/* no room: keep the reason as it was */
	memcpy(joined + len, ": ", 2);
	len += 2;
	size_t room = sizeof joined - (size_t)len - 1, reason = strlen(record.reason);
	size_t n = reason < room ? reason : room;

	memcpy(joined + len, record.reason, n);
	joined[(size_t)len + n] = '\0';
	memcpy(record.reason, joined, sizeof record.reason);
	return -1;
}

int
fail_reclassify(enum failure cls)
{
	record.cls = cls;
	return -1;
}

void
fail_save(struct failure_record *r)
{
	*r = record;
}

void
fail_restore(const struct failure_record *r)
{
	record = *r;
}

enum failure
fail_class(void)
{
	return record.cls;
}

const char *
fail_reason(void)
{
	return record.reason[0] != '\0' ? record.reason : "unknown error";
}

/* Failures that concern the server, whose name and port the line gives;
 * a local failure during a session (a full disk) does not. */
static bool
about_server(enum failure cls)
{
	switch (cls) {
	case FAIL_RECIPIENT: case FAIL_HOST: case FAIL_PERMANENT:
	case FAIL_TEMPORARY: case FAIL_PROTOCOL: case FAIL_AUTH:
		return true;
	default:
		return false;
	}
}

const char *
fail_line(void)
{
	static char line[sizeof record.account + sizeof record.server + sizeof record.reason + 8];
	bool server = record.server[0] != '\0' && about_server(record.cls);

	if (record.account[0] == '\0')
		return fail_reason();
	snprintf(line, sizeof line, "%s%s%s%s: %s", record.account, server ? " (" : "",
	    server ? record.server : "", server ? ")" : "", fail_reason());
	return line;
}

void
fail_clear(void)
{
	record.cls = FAIL_NONE;
	record.reason[0] = '\0';
}

int
status_exit_code(enum failure cls)
{
	switch (cls) {
	case FAIL_NONE:		return EX_OK;
	case FAIL_USAGE:	return EX_USAGE;
	case FAIL_DATA:		return EX_DATAERR;
	case FAIL_NOINPUT:	return EX_NOINPUT;
	case FAIL_RECIPIENT:	return EX_NOUSER;
	case FAIL_HOST:		return EX_NOHOST;
	case FAIL_PERMANENT:	return EX_UNAVAILABLE;
	case FAIL_CANTCREAT:	return EX_CANTCREAT;
	case FAIL_IO:		return EX_IOERR;
	case FAIL_TEMPORARY:	return EX_TEMPFAIL;
	case FAIL_PROTOCOL:	return EX_PROTOCOL;
	case FAIL_AUTH:		return EX_NOPERM;
	case FAIL_CONFIG:	return EX_CONFIG;
	}
	return EX_SOFTWARE;
}

enum failure
status_class_of_exit(int code)
{
	for (enum failure cls = FAIL_NONE; cls <= FAIL_CONFIG; cls++)
		if (status_exit_code(cls) == code)
			return cls;
	return FAIL_TEMPORARY;
}

/*
 * For --all: a permanent problem outranks a temporary one, because a retry
 * will not cure it and the operator has to act.
 */
static int
severity(enum failure cls)
{
	switch (cls) {
	case FAIL_NONE:		return 0;
	case FAIL_TEMPORARY:	return 1;
	default:		return 2;
	}
}

enum failure
status_worse(enum failure a, enum failure b)
{
	return severity(b) > severity(a) ? b : a;
}

int
status_stdout_written(void)
{
	if (fflush(stdout) != 0)
		return fail(FAIL_IO, "cannot write to standard output: %s", strerror(errno));
	if (ferror(stdout))
		return fail(FAIL_IO, "cannot write to standard output");
	return 0;
}
