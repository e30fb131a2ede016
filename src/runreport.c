/*
 * The run report (runreport.h): the JSON is made by json.c, so every
 * server text in it is escaped in one place; here only which members a
 * report has, and the atomic write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "json.h"
#include "log.h"
#include "runreport.h"
#include "status.h"
#include "xalloc.h"

#ifndef MAILPIPE_VERSION
#define MAILPIPE_VERSION "unknown"
#endif

const char *
runreport_class_name(enum failure cls)
{
	static const char *const names[] = {
		[FAIL_NONE] = "ok", [FAIL_USAGE] = "usage", [FAIL_DATA] = "dataerr",
		[FAIL_NOINPUT] = "noinput", [FAIL_RECIPIENT] = "nouser",
		[FAIL_HOST] = "nohost", [FAIL_PERMANENT] = "unavailable",
		[FAIL_CANTCREAT] = "cantcreat", [FAIL_IO] = "ioerr",
		[FAIL_TEMPORARY] = "tempfail", [FAIL_PROTOCOL] = "protocol",
		[FAIL_AUTH] = "noperm", [FAIL_CONFIG] = "config",
	};

	return (size_t)cls < sizeof names / sizeof names[0] ? names[cls] : "unknown";
}

static void
json_time(struct json *j, const char *key, time_t t)
{
	struct tm tm;
	char stamp[32];

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_string(j, key, stamp);
}

static void
fetch_members(struct json *j, const struct runrec *r)
{
	json_uint(j, "listed", r->listed);
	json_uint(j, "new", r->new_msgs);
	json_uint(j, "retrieved", r->retrieved);
	json_uint(j, "skipped_max_size", r->skipped);
	json_uint(j, "deleted", r->deleted);
	json_uint(j, "failed", r->failed);
	json_uint(j, "bytes", r->bytes);
	json_uint(j, "waiting", r->waiting);
	json_array_open(j, "deleted_oversized");
	for (size_t i = 0; i < r->oversized_count; i++) {
		json_object_open(j, NULL);
		json_uint(j, "number", r->oversized[i].num);
		json_string(j, "uidl", r->oversized[i].uidl);
		json_uint(j, "size", r->oversized[i].size);
		json_object_close(j);
	}
	json_array_close(j);
	json_array_open(j, "failures");
	for (size_t i = 0; i < r->failure_count; i++) {
		json_object_open(j, NULL);
		json_uint(j, "number", r->failures[i].num);
		json_string(j, "uidl", r->failures[i].uidl);
		json_string(j, "reason", r->failures[i].reason);
		json_object_close(j);
	}
	json_array_close(j);
}

static void
send_members(struct json *j, const struct runrec *r)
{
	json_string(j, "result", r->result);
	json_string(j, "from", r->from);
	json_int(j, "size", r->size);
	json_array_open(j, "recipients");
	for (size_t i = 0; i < r->rcpt_count; i++) {
		json_object_open(j, NULL);
		json_string(j, "address", r->rcpts[i].address);
		json_string(j, "reply", r->rcpts[i].reply);
		json_object_close(j);
	}
	json_array_close(j);
	json_string(j, "final_reply", r->final_reply);
	json_string(j, "queue_id", r->queue_id);
	json_string(j, "queued_as", r->queued_as);
	json_string(j, "queue_reason", r->queue_reason);
}

static void
account_object(struct json *j, const struct runrec *r)
{
	if (r->report_json != NULL) {
		json_raw(j, NULL, r->report_json);
		return;
	}
	json_object_open(j, NULL);
	json_string(j, "account", r->account);
	json_time(j, "start", r->started);
	json_time(j, "end", r->ended);
	json_number(j, "seconds", r->seconds);
	json_string(j, "host", r->host);
	if (r->host != NULL)
		json_uint(j, "port", r->port);
	else
		json_string(j, "port", NULL);
	json_string(j, "tls", r->tls);
	json_int(j, "exit_code", r->exit_code);
	json_string(j, "class", runreport_class_name(r->cls));
	json_string(j, "error", r->error);
	if (r->kind == RUNREC_FETCH)
		fetch_members(j, r);
	else
		send_members(j, r);
	json_object_close(j);
}

void
runreport_account(struct strbuf *out, const struct runrec *r)
{
	struct json j = { .out = *out };

	account_object(&j, r);
	*out = j.out;
}

void
runreport_format(struct strbuf *out, const char *program, const struct runrec_list *l,
	int exit_code)
{
	struct json j = { .out = *out };

	json_object_open(&j, NULL);
	json_int(&j, "report", 1);
	json_string(&j, "program", program);
	json_string(&j, "version", MAILPIPE_VERSION);
	json_int(&j, "exit_code", exit_code);
	/* A run that failed before any account (usage, configuration, input)
	 * has no account to carry its reason. */
	json_string(&j, "error", l->count == 0 && exit_code != 0 ? fail_line() : NULL);
	json_array_open(&j, "accounts");
	for (size_t i = 0; i < l->count; i++)
		account_object(&j, l->items[i]);
	json_array_close(&j);
	json_object_close(&j);
	strbuf_append(&j.out, "\n", 1);
	*out = j.out;
}

/* The directory of path, for the temp file and its fsync. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	return slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
}

static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : fsync(fd);

	fs_close(fd);
	return rc;
}

/* temp, fsync, rename, fsync the directory; errno set on failure. */
static int
write_atomically(const char *path, const char *text, size_t len)
{
	char *dir = dir_of(path), *tmp = xasprintf("%s/.mailpipe-report.XXXXXX", dir);
	int fd = mkstemp(tmp), rc = fd < 0 ? -1 : 0, err;

	if (rc == 0 && (fs_write_all(fd, text, len) < 0 || fsync(fd) < 0))
		rc = -1;
	if (fd >= 0 && close(fd) < 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0 && fd >= 0) {
		err = errno;
		unlink(tmp);
		errno = err;
	}
	if (rc == 0)
		rc = sync_dir(dir);
	free(tmp);
	free(dir);
	return rc;
}

int
runreport_write(const char *path, const char *program, const struct runrec_list *l,
	int exit_code)
{
	struct strbuf doc = { 0 };
	int rc;

	const char *why = strcmp(path, "-") == 0 ? NULL : fs_untrusted_dirs(path);

	if (why != NULL) {
		log_error("--report %s: %s; no report written (the run's result is unchanged)",
		    path, why);
		return -1;
	}
	runreport_format(&doc, program, l, exit_code);
	if (strcmp(path, "-") == 0)
		rc = fs_write_all(STDOUT_FILENO, doc.p, doc.len);
	else
		rc = write_atomically(path, doc.p, doc.len);
	if (rc < 0)
		log_error("--report %s: cannot write the report: %s (the run's result is "
		    "unchanged)", path, strerror(errno));
	free(doc.p);
	return rc;
}
