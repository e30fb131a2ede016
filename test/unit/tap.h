/*
 * A tiny TAP producer for the unit tests: one "ok N - name" or
 * "not ok N - name" line per check, the plan "1..N" printed by
 * done_testing(), whose value is the exit status (1 when anything failed).
 * A failed comparison prints what was got and what was wanted as
 * "#" diagnostics, with control and 8-bit octets escaped.
 *
 * A check that cannot run on this machine calls skip(), which prints
 * "ok N # SKIP reason": the one way to write the directive, so that
 * harnesses count a skip, never a pass.  A "#" inside a check's name is
 * printed as "\x23": meson's TAP reader takes any "#" on an "ok" line,
 * even TAP's own escape "\#", as the start of a directive, and "# TODO" in
 * a name would turn a failure into an expected one.
 */
#ifndef MAILPIPE_TAP_H
#define MAILPIPE_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
	tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define is_mem(got, got_len, want, want_len, ...) \
	tap_is_mem((got), (got_len), (want), (want_len), __FILE__, __LINE__, __VA_ARGS__)

/* A bound in milliseconds for a check of speed, times TAP_TIME_SCALE from
 * the environment (scripts/valgrind-wrap sets it: a program under
 * valgrind runs that much slower; there the speed is not what is tested). */
static long long __attribute__((unused))
tap_ms_bound(long long ms)
{
	const char *scale = getenv("TAP_TIME_SCALE");
	long long k = scale != NULL ? atoll(scale) : 1;

	return ms * (k > 1 ? k : 1);
}

static void __attribute__((format(printf, 1, 2), unused))
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Prints up to 300 octets of p escaped, after a "#   label" prefix. */
static void __attribute__((unused))
tap_dump(const char *label, const void *p, size_t n)
{
	const unsigned char *s = p;

	printf("#   %s (%zu bytes): \"", label, n);
	for (size_t i = 0; i < n && i < 300; i++) {
		if (s[i] == '\n')
			printf("\\n");
		else if (s[i] == '\r')
			printf("\\r");
		else if (s[i] == '\t')
			printf("\\t");
		else if (s[i] == '"' || s[i] == '\\')
			printf("\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			printf("\\x%02x", s[i]);
		else
			putchar(s[i]);
	}
	printf("\"%s\n", n > 300 ? "..." : "");
}

/* Prints text formatted from fmt, escaping what would break the TAP
 * stream: a line break, or a "#" that would start a directive. */
static void __attribute__((format(printf, 1, 0), unused))
tap_print_escaped(const char *fmt, va_list ap)
{
	char text[512];

	vsnprintf(text, sizeof text, fmt, ap);
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '\n')
			printf("\\n");
		else if (*p == '\r')
			printf("\\r");
		else if (*p == '#')
			printf("\\x23");
		else
			putchar(*p);
	}
}

static int __attribute__((format(printf, 4, 0), unused))
tap_vreport(int cond, const char *file, int line, const char *fmt, va_list ap)
{
	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	tap_print_escaped(fmt, ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	return cond;
}

static int __attribute__((format(printf, 4, 5), unused))
tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vreport(cond, file, line, fmt, ap);
	va_end(ap);
	fflush(stdout);
	return cond;
}

/* A check that cannot be made here, with the reason why. */
static void __attribute__((format(printf, 1, 2), unused))
skip(const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("ok %d # SKIP ", tap_count);
	va_start(ap, fmt);
	tap_print_escaped(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static int __attribute__((format(printf, 5, 6), unused))
tap_is_int(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;

	va_start(ap, fmt);
	tap_vreport(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond)
		printf("#   got:  %lld\n#   want: %lld\n", got, want);
	fflush(stdout);
	return cond;
}

static int __attribute__((format(printf, 5, 6), unused))
tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int cond = got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want;

	va_start(ap, fmt);
	tap_vreport(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond) {
		if (got != NULL)
			tap_dump("got ", got, strlen(got));
		else
			printf("#   got:  NULL\n");
		if (want != NULL)
			tap_dump("want", want, strlen(want));
		else
			printf("#   want: NULL\n");
	}
	fflush(stdout);
	return cond;
}

static int __attribute__((format(printf, 7, 8), unused))
tap_is_mem(const void *got, size_t got_len, const void *want, size_t want_len,
	const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int cond = got_len == want_len && (got_len == 0 || memcmp(got, want, got_len) == 0);

	va_start(ap, fmt);
	tap_vreport(cond, file, line, fmt, ap);
	va_end(ap);
	if (!cond) {
		size_t i = 0;

		while (i < got_len && i < want_len &&
		    ((const char *)got)[i] == ((const char *)want)[i])
			i++;
		printf("#   first difference at offset %zu\n", i);
		tap_dump("got ", got, got_len);
		tap_dump("want", want, want_len);
	}
	fflush(stdout);
	return cond;
}

/* Prints the plan; the value is the exit status for main(). */
static int __attribute__((unused))
done_testing(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed > 0)
		printf("# %d of %d checks failed\n", tap_failed, tap_count);
	fflush(stdout);
	return tap_failed > 0;
}

#endif
