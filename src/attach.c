/*
 * The attachment files: noted from the command line, opened and measured
 * before anything is sent (so a missing file costs nothing but a line),
 * named, typed, and read back exactly as measured.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "fs.h"
#include "mimefield.h"
#include "qp.h"
#include "status.h"
#include "xalloc.h"

/* Bytes of a file read at a time. */
#define SCAN_CHUNK 16384

int
attach_add(struct attachments *a, const char *arg)
{
	if (strcmp(arg, "-") == 0)
		return fail(FAIL_USAGE, "--attach -: stdin is the message; attach a file");
	if (*arg == '\0')
		return fail(FAIL_USAGE, "--attach needs a file name");
	a->items = xgrow(a->items, &a->alloc, a->count + 1, sizeof *a->items);
	a->items[a->count] = (struct attachment){ .arg = arg, .fd = -1 };
	a->count++;
	return 0;
}

int
attach_html(struct attachments *a, const char *path)
{
	if (a->html.arg != NULL)
		return fail(FAIL_USAGE, "--html given twice: a message has one HTML part");
	if (strcmp(path, "-") == 0 || *path == '\0')
		return fail(FAIL_USAGE, "--html needs a file name (stdin is the text body)");
	a->html = (struct attachment){ .arg = path, .fd = -1 };
	return 0;
}

/* The whole argument when it names something; else FILE=NAME: an
 * existing file whose name holds "=" is never split. */
static int
open_file(struct attachment *at)
{
	const char *eq = strrchr(at->arg, '=');

	at->path = xstrdup(at->arg);
	at->fd = fs_open_regular(at->path);
	if (at->fd < 0 && errno == ENOENT && eq != NULL && eq != at->arg) {
		at->path[eq - at->arg] = '\0';
		at->name = xstrdup(eq + 1);
		at->fd = fs_open_regular(at->path);
	}
	if (at->fd < 0)
		return fail(FAIL_NOINPUT, "cannot open attachment %s: %s", at->path,
		    fs_open_error(errno));
	return 0;
}

static int
measure_and_name(struct attachment *at)
{
	struct stat st;
	const char *slash = strrchr(at->path, '/');

	if (fstat(at->fd, &st) < 0)
		return fail(FAIL_NOINPUT, "cannot read attachment %s: %s", at->path,
		    strerror(errno));
	at->size = st.st_size;
	if (at->name == NULL)
		at->name = xstrdup(slash != NULL ? slash + 1 : at->path);
	if (!mimefield_name_ok(at->name))
		return fail(FAIL_USAGE, "--attach %s: \"%s\" cannot be sent as a file name "
		    "(UTF-8, at most %d bytes, no control characters or \"/\"); "
		    "give one as FILE=NAME", at->arg, at->name, MIMEFIELD_NAME_MAX);
	return 0;
}

int
attach_read(const struct attachment *at, char *buf, size_t buf_size,
	int (*use)(void *arg, const char *p, size_t n), void *arg)
{
	off_t done = 0;
	char extra;

	while (done < at->size) {
		size_t want = at->size - done < (off_t)buf_size ? (size_t)(at->size - done) : buf_size;
		ssize_t n = pread(at->fd, buf, want, done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(FAIL_NOINPUT, "cannot read attachment %s: %s", at->path,
			    strerror(errno));
		if (n == 0)
			break;
		if (use(arg, buf, (size_t)n) < 0)
			return -1;
		done += n;
	}
	if (done < at->size || pread(at->fd, &extra, 1, done) != 0)
		return fail(FAIL_TEMPORARY, "attachment %s changed size while being read "
		    "(%lld bytes when opened); nothing was sent", at->path, (long long)at->size);
	return 0;
}

/* What a text file's first reading learns: is it UTF-8, and how long is
 * it quoted-printable. */
struct text_scan {
	struct utf8_check utf8;
	struct qp_encoder qp;
	off_t qp_length;
	char *qp_out;		/* QP_OUT_MAX(SCAN_CHUNK) */
};

static int
scan_text(void *arg, const char *p, size_t n)
{
	struct text_scan *t = arg;

	utf8_check_feed(&t->utf8, p, n);
	t->qp_length += (off_t)qp_encode(&t->qp, p, n, t->qp_out);
	return 0;
}

/* Base64 in lines of 76 characters and a line break. */
static off_t
base64_length(off_t size)
{
	return (size + 56) / 57 * 77;
}

/* A text type is sent as UTF-8 text, quoted-printable when that is
 * smaller; anything else in base64 as application/octet-stream. */
static int
classify_text(struct attachment *at)
{
	struct text_scan t = { .qp_out = xmalloc(QP_OUT_MAX(SCAN_CHUNK)) };
	char *buf = xmalloc(SCAN_CHUNK);
	int rc;

	utf8_check_init(&t.utf8);
	qp_init(&t.qp);
	rc = attach_read(at, buf, SCAN_CHUNK, scan_text, &t);
	if (rc == 0) {
		t.qp_length += (off_t)qp_finish(&t.qp, t.qp_out);
		at->utf8_text = utf8_check_is_text(&t.utf8);
		at->as_qp = at->utf8_text && t.qp_length <= base64_length(at->size);
		if (!at->utf8_text)
			at->type = MIMETYPE_DEFAULT;
	}
	free(t.qp_out);
	free(buf);
	return rc;
}

/* The --html file: text/html whatever its name, charset=utf-8 when it is
 * UTF-8 (else its own <meta> names the charset), never renamed. */
static int
open_html(struct attachment *html)
{
	struct stat st;

	html->path = xstrdup(html->arg);
	html->name = xstrdup("");
	html->fd = fs_open_regular(html->path);
	if (html->fd < 0)
		return fail(FAIL_NOINPUT, "cannot open the --html file %s: %s", html->path,
		    fs_open_error(errno));
	if (fstat(html->fd, &st) < 0)
		return fail(FAIL_NOINPUT, "cannot read the --html file %s: %s", html->path,
		    strerror(errno));
	html->size = st.st_size;
	if (classify_text(html) < 0)
		return -1;
	html->type = "text/html";
	return 0;
}

int
attach_open(struct attachments *a, const char *mime_types)
{
	if (a->html.arg != NULL && open_html(&a->html) < 0)
		return -1;
	for (size_t i = 0; i < a->count; i++)
		if (open_file(&a->items[i]) < 0 || measure_and_name(&a->items[i]) < 0)
			return -1;
	/* The table is read only for files to name: most messages have none. */
	if (a->count > 0)
		mimetype_load(mime_types, &a->types);
	for (size_t i = 0; i < a->count; i++) {
		struct attachment *at = &a->items[i];

		at->type = mimetype_lookup(&a->types, at->name);
		if (strncasecmp(at->type, "text/", strlen("text/")) == 0 && classify_text(at) < 0)
			return -1;
	}
	return 0;
}

void
attach_free(struct attachments *a)
{
	for (size_t i = 0; i < a->count; i++) {
		fs_close(a->items[i].fd);
		free(a->items[i].path);
		free(a->items[i].name);
	}
	if (a->html.arg != NULL)
		fs_close(a->html.fd);	/* a zeroed struct's 0 is not ours */
	free(a->html.path);
	free(a->html.name);
	free(a->items);
	mimetype_free(&a->types);
	memset(a, 0, sizeof *a);
}
