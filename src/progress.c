/*
 * Progress and summary lines (progress.h).  They go to stderr with one
 * write(2) each, like every other line, and the self-updating one only
 * where a person watches: a terminal, or --progress.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "log.h"
#include "progress.h"

/* Redraw at most this often: a terminal over ssh must not be the bottleneck. */
#define REDRAW_MS 200

void
progress_start(struct progress *p, const struct progress_options *o)
{
	bool tty = isatty(STDERR_FILENO) == 1;

	memset(p, 0, sizeof *p);
	p->line = !log_quiet && !o->no_line && (o->progress || tty);
	p->summary = !log_quiet && (o->stats || tty);
	p->started_ms = clock_now_ms();
}

void
progress_count(unsigned long long n, char *out, size_t size)
{
	char digits[24];
	int len = snprintf(digits, sizeof digits, "%llu", n);
	size_t at = 0;

	for (int i = 0; i < len && at + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			out[at++] = ',';
		out[at++] = digits[i];
	}
	out[at] = '\0';
}

void
progress_mb(unsigned long long bytes, char *out, size_t size)
{
	double mb = (double)bytes / 1e6;

	snprintf(out, size, mb < 100 ? "%.1f MB" : "%.0f MB", mb);
}

static void
put_line(const char *text)
{
	(void)fs_write_all(STDERR_FILENO, text, strlen(text));
}

/* "0:03", "1:02:03": the time left at the current rate, or "?". */
static void
eta(const struct runrec *r, double secs, char *out, size_t size)
{
	double rate = secs > 0 ? (double)r->bytes / secs : 0;
	unsigned long long left = r->new_bytes > r->bytes ? r->new_bytes - r->bytes : 0;
	unsigned long t;

	if (rate <= 0) {
		snprintf(out, size, "?");
		return;
	}
	t = (unsigned long)((double)left / rate + 0.5);
	if (t >= 3600)
		snprintf(out, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(out, size, "%lu:%02lu", t / 60, t % 60);
}

static void
draw(struct progress *p, const struct runrec *r, int64_t now)
{
	char done[32], total[32], mb[32], rate[32], left[32], line[256];
	double secs = (double)(now - p->started_ms) / 1000.0;

	progress_count(p->done, done, sizeof done);
	progress_count(r->new_msgs, total, sizeof total);
	progress_mb(r->bytes, mb, sizeof mb);
	progress_mb(secs > 0 ? (unsigned long long)((double)r->bytes / secs) : 0, rate,
	    sizeof rate);
	eta(r, secs, left, sizeof left);
	snprintf(line, sizeof line, "\r%s: %s/%s msgs  %s  %s/s  ETA %s\033[K", r->account,
	    done, total, mb, rate, left);
	put_line(line);
	p->drawn = true;
	p->drawn_ms = now;
}

void
progress_message(struct progress *p, const struct runrec *r)
{
	int64_t now;

	p->done++;
	if (!p->line)
		return;
	now = clock_now_ms();
	if (!p->drawn || now - p->drawn_ms >= REDRAW_MS || p->done == r->new_msgs)
		draw(p, r, now);
}

bool
progress_end(struct progress *p, const struct runrec *r)
{
	char n[32], mb[32], waiting[64] = "", line[360];

	if (p->drawn)
		put_line("\r\033[K");
	p->drawn = false;
	if (!p->summary)
		return false;
	progress_count(r->retrieved, n, sizeof n);
	progress_mb(r->bytes, mb, sizeof mb);
	if (r->waiting > 0)
		snprintf(waiting, sizeof waiting, ", %lu waiting", r->waiting);
	snprintf(line, sizeof line, "%s: %s retrieved (%s), %lu deleted, %lu skipped%s, "
	    "%.1f s\n", r->account, n, mb, r->deleted, r->skipped, waiting, r->seconds);
	put_line(line);
	return true;
}

void
progress_send_stats(const struct runrec *r)
{
	char size[32];

	progress_count(r->size >= 0 ? (unsigned long long)r->size : 0, size, sizeof size);
	if (r->final_reply != NULL)
		log_error("%s: %s (%s bytes)", r->account, r->final_reply, size);
	else
		log_error("%s: no final reply (%s)", r->account, r->result);
}
