/*
 * The failure record and the one sysexits(3) mapping.  A failure is
 * classified where it is detected (fail()); nothing else in the program
 * knows an exit code.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "status.h"

static enum failure recorded_class;
static char recorded_reason[1024];

int
fail(enum failure cls, const char *fmt, ...)
{
	va_list ap;

	recorded_class = cls;
	va_start(ap, fmt);
	vsnprintf(recorded_reason, sizeof recorded_reason, fmt, ap);
	va_end(ap);
	return -1;
}

int
fail_context(const char *fmt, ...)
{
	char joined[sizeof recorded_reason];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(joined, sizeof joined, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len + 2 >= sizeof joined)
		return -1;	/* no room: keep the reason as it was */
	memcpy(joined + len, ": ", 2);
	len += 2;
	size_t room = sizeof joined - (size_t)len - 1, reason = strlen(recorded_reason);
	size_t n = reason < room ? reason : room;

	memcpy(joined + len, recorded_reason, n);
	joined[(size_t)len + n] = '\0';
	memcpy(recorded_reason, joined, sizeof recorded_reason);
	return -1;
}

int
fail_reclassify(enum failure cls)
{
	recorded_class = cls;
	return -1;
}

void
fail_save(struct failure_record *r)
{
	r->cls = recorded_class;
	memcpy(r->reason, recorded_reason, sizeof r->reason);
}

void
fail_restore(const struct failure_record *r)
{
	recorded_class = r->cls;
	memcpy(recorded_reason, r->reason, sizeof recorded_reason);
}

enum failure
fail_class(void)
{
	return recorded_class;
}

const char *
fail_reason(void)
{
	return recorded_reason[0] != '\0' ? recorded_reason : "unknown error";
}

void
fail_clear(void)
{
	recorded_class = FAIL_NONE;
	recorded_reason[0] = '\0';
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

int
status_is_temporary(enum failure cls)
{
	return cls == FAIL_TEMPORARY;
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
