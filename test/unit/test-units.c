/*
 * units.c: plurals, and human sizes at every boundary that matters (the
 * last byte count, rounding to a tenth, the step to the next unit when
 * rounding reaches 1024.0, the largest 64-bit size), checked against the
 * same sizes worked out independently in long double.
 */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "units.h"

static void
size_is(unsigned long long bytes, const char *want)
{
	char buf[UNITS_HUMAN_SIZE_MAX];

	is_str(units_human_size(bytes, buf), want, "%llu bytes read as \"%s\"", bytes, want);
}

static void
test_plural(void)
{
	is_str(units_plural(0, "message", "messages"), "messages", "0 messages");
	is_str(units_plural(1, "message", "messages"), "message", "1 message");
	is_str(units_plural(2, "byte", "bytes"), "bytes", "2 bytes");
	is_str(units_plural(1, "byte", "bytes"), "byte", "1 byte");
}

static void
test_named_sizes(void)
{
	size_is(0, "0 B");
	size_is(1, "1 B");
	size_is(1023, "1023 B");
	size_is(1024, "1.0 KiB");
	size_is(1126, "1.1 KiB");		/* 1.0996 */
	size_is(1228, "1.2 KiB");		/* 1.1992 */
	size_is(1536, "1.5 KiB");
	size_is(1075, "1.0 KiB");		/* 1.0498: down */
	size_is(1076, "1.1 KiB");		/* 1.0508: up */
	size_is(1024ULL * 1024 - 52, "1023.9 KiB");
	size_is(1024ULL * 1024 - 51, "1.0 MiB");	/* would be 1024.0 KiB */
	size_is(3565158, "3.4 MiB");
	size_is(1024ULL * 1024 * 1024, "1.0 GiB");
	size_is(5ULL << 40, "5.0 TiB");
	size_is(1ULL << 50, "1.0 PiB");
	size_is(1ULL << 60, "1.0 EiB");
	size_is(~0ULL, "16.0 EiB");
}

/* The same rule in long double: the unit is the first whose rounded
 * value stays under 1024.0. */
static void
reference(unsigned long long bytes, char *out, size_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	long double v = (long double)bytes / 1024.0L;
	size_t u = 0;
	unsigned long long t;

	if (bytes < 1024) {
		snprintf(out, n, "%llu B", bytes);
		return;
	}
	while ((t = (unsigned long long)(v * 10.0L + 0.5L)) >= 10240 && u < 5) {
		v /= 1024.0L;
		u++;
	}
	snprintf(out, n, "%llu.%llu %s", t / 10, t % 10, unit[u]);
}

/* Around every power of 1024 and every rounding edge of the first
 * tenths, plus a spread of sizes; each must agree with the reference. */
static void
test_against_reference(void)
{
	char want[64], got[UNITS_HUMAN_SIZE_MAX];
	unsigned bad = 0, checked = 0;

	for (int p = 1; p <= 5; p++) {
		unsigned long long base = 1ULL << (10 * p);
		for (long long d = -3000; d <= 3000; d++) {
			unsigned long long b = base + (unsigned long long)d;
			reference(b, want, sizeof want);
			units_human_size(b, got);
			checked++;
			if (strcmp(want, got) != 0 && bad++ < 5)
				diag("%llu: got \"%s\", want \"%s\"", b, got, want);
		}
	}
	for (unsigned long long b = 1; b < (1ULL << 62); b = b * 3 + 7) {
		reference(b, want, sizeof want);
		units_human_size(b, got);
		checked++;
		if (strcmp(want, got) != 0 && bad++ < 5)
			diag("%llu: got \"%s\", want \"%s\"", b, got, want);
	}
	is_int(bad, 0, "%u sizes agree with the long double reference", checked);
}

/* Ages in --list: the largest unit and the next, never negative. */
static void
test_durations(void)
{
	static const struct { long long seconds; const char *want; } rows[] = {
		{ -5, "0s" }, { 0, "0s" }, { 59, "59s" }, { 60, "1m0s" }, { 450, "7m30s" },
		{ 3599, "59m59s" }, { 3600, "1h0m" }, { 86399, "23h59m" }, { 86400, "1d0h" },
		{ 90000, "1d1h" }, { 400 * 86400LL + 3 * 3600, "400d3h" },
		{ 9223372036854775807LL, "106751991167300d15h" },
	};
	char buf[UNITS_DURATION_MAX];

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		is_str(units_duration(rows[i].seconds, buf), rows[i].want, "%lld seconds read as "
		    "\"%s\"", rows[i].seconds, rows[i].want);
}

int
main(void)
{
	test_durations();
	test_plural();
	test_named_sizes();
	test_against_reference();
	return done_testing();
}
