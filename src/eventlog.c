/*
 * The event log (eventlog.h): lines of key=value pairs for syslog or a
 * file that others (logrotate, a monitoring system, grep) read, so the
 * format is fixed and every server text in it escaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "eventlog.h"
#include "fs.h"
#include "log.h"
#include "xalloc.h"

void
eventlog_begin(struct strbuf *b, const char *event)
{
	free(b->p);
	*b = (struct strbuf){ 0 };
	strbuf_printf(b, "event=%s", event);
}

static bool
is_bare(const char *s)
{
	if (*s == '\0' || strcmp(s, "-") == 0)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("@._:/+-,", *s) != NULL))
			return false;
	return true;
}

/* One character of a quoted value: as it is, or escaped. */
static size_t
put_quoted_char(struct strbuf *b, const unsigned char *s, size_t left)
{
	size_t n = s[0] >= 0x20 && s[0] < 0x7f ? 1 : log_printable_utf8(s, left);

	if (s[0] == '"' || s[0] == '\\') {
		strbuf_printf(b, "\\%c", s[0]);
		return 1;
	}
	if (n == 0) {
		strbuf_printf(b, "\\x%02x", s[0]);
		return 1;
	}
	strbuf_append(b, (const char *)s, n);
	return n;
}

void
eventlog_str(struct strbuf *b, const char *key, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	size_t len;

	if (value == NULL || is_bare(value)) {
		strbuf_printf(b, " %s=%s", key, value != NULL ? value : "-");
		return;
	}
	strbuf_printf(b, " %s=\"", key);
	len = strlen(value);
	for (size_t i = 0; i < len;)
		i += put_quoted_char(b, s + i, len - i);
	strbuf_append(b, "\"", 1);
}

void
eventlog_num(struct strbuf *b, const char *key, unsigned long long value)
{
	strbuf_printf(b, " %s=%llu", key, value);
}

void
eventlog_seconds(struct strbuf *b, const char *key, double seconds)
{
	strbuf_printf(b, " %s=%.2f", key, seconds);
}

char *
eventlog_file_line(const struct strbuf *b, const char *ident, time_t when)
{
	struct tm tm;
	char stamp[32];

	gmtime_r(&when, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xasprintf("%s %s[%ld] %s\n", stamp, ident, (long)getpid(), b->p);
}

/* Why the file we opened is not one to append to, or NULL. */
static const char *
untrusted_log(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_uid != geteuid())
		return "owned by another user (chown it or choose another file)";
	if (st.st_nlink != 1)
		return "it has other names (hard links); refused";
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return "others can write it (chmod go-w)";
	return NULL;
}

/* The log opened for appending, or -1 with *why saying why not.
 * O_NONBLOCK: a FIFO must not hold the run; O_NOFOLLOW: not a link. */
static int
open_log(const char *path, const char **why)
{
	int fd;

	if ((*why = fs_untrusted_dirs(path)) != NULL)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd < 0) {
		*why = errno == ELOOP ? "a symbolic link; refused" : strerror(errno);
		return -1;
	}
	if ((*why = untrusted_log(fd)) != NULL) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
append_line(const char *path, const char *line)
{
	const char *why;
	int fd = open_log(path, &why);
	size_t len = strlen(line);
	ssize_t n = fd >= 0 ? write(fd, line, len) : 0;

	if (fd >= 0 && n != (ssize_t)len)
		why = n < 0 ? strerror(errno) : "short write";
	if (fd >= 0 && close(fd) < 0 && why == NULL)
		why = strerror(errno);
	if (why == NULL)
		return 0;
	log_error("log %s: %s; the event was not logged (the run's result is unchanged)",
	    path, why);
	return -1;
}

int
eventlog_write(const char *dest, const char *ident, struct strbuf *b)
{
	char *line;
	int rc = 0;

	if (dest != NULL && strcmp(dest, "syslog") == 0) {
		openlog(ident, LOG_PID, LOG_MAIL);
		syslog(LOG_INFO, "%s", b->p);
		closelog();
	} else if (dest != NULL) {
		line = eventlog_file_line(b, ident, time(NULL));
		rc = append_line(dest, line);
		free(line);
	}
	free(b->p);
	*b = (struct strbuf){ 0 };
	return rc;
}
