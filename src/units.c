/*
 * Counts and sizes in words (units.h): one place decides how a number of
 * messages or bytes reads, so that --list, warnings and error lines agree.
 */
#include <stdio.h>

#include "units.h"

const char *
units_plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* bytes / divisor in tenths, rounded to the nearest, halves up.  The
 * remainder is below divisor <= 2^60, so ten times it fits 64 bits. */
static unsigned long long
tenths(unsigned long long bytes, unsigned long long divisor)
{
	unsigned long long whole = bytes / divisor, rest = bytes % divisor;

	return whole * 10 + (rest * 10 + divisor / 2) / divisor;
}

char *
units_duration(long long seconds, char buf[UNITS_DURATION_MAX])
{
	static const struct { long long scale; char unit; } units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t u = 0;

	if (seconds < 60) {
		snprintf(buf, UNITS_DURATION_MAX, "%llds", seconds > 0 ? seconds : 0);
		return buf;
	}
	while (seconds < units[u].scale)
		u++;
	snprintf(buf, UNITS_DURATION_MAX, "%lld%c%lld%c", seconds / units[u].scale,
	    units[u].unit, seconds % units[u].scale / units[u + 1].scale, units[u + 1].unit);
	return buf;
}

char *
units_human_size(unsigned long long bytes, char buf[UNITS_HUMAN_SIZE_MAX])
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned long long divisor = 1024, t;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, UNITS_HUMAN_SIZE_MAX, "%llu B", bytes);
		return buf;
	}
	/* The next unit once the rounded value would read 1024.0 or more. */
	while ((t = tenths(bytes, divisor)) >= 10240 && u + 1 < sizeof unit / sizeof unit[0]) {
		divisor *= 1024;
		u++;
	}
	snprintf(buf, UNITS_HUMAN_SIZE_MAX, "%llu.%llu %s", t / 10, t % 10, unit[u]);
	return buf;
}
