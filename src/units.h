/*
 * Counts and sizes in words, the same way in every message and listing:
 * "1 message", "2 messages", "1 byte"; sizes in bytes, or for a person
 * (--human-readable) in IEC binary units.
 */
#ifndef MAILPIPE_UNITS_H
#define MAILPIPE_UNITS_H

#include <stddef.h>

/* Room for any text units_human_size() writes, with its NUL. */
#define UNITS_HUMAN_SIZE_MAX 32

/* one when n is 1, else many: "%lu %s", n, units_plural(n, "message", "messages"). */
const char *units_plural(unsigned long long n, const char *one, const char *many);

/* A size for a person: below 1024 bytes the exact count and "B" ("0 B",
 * "1023 B"); above, one decimal in the largest unit of 1024 that keeps it
 * under 1024 after rounding to the nearest tenth, halves up ("1.0 KiB",
 * "1.5 KiB", "1023.9 KiB", "1.0 MiB"), up to EiB.  Exact integer
 * arithmetic: no floating point, no overflow for any 64-bit size.
 * Writes at most UNITS_HUMAN_SIZE_MAX bytes into buf; returns buf. */
char *units_human_size(unsigned long long bytes, char buf[UNITS_HUMAN_SIZE_MAX]);

/* Room for any text units_duration() writes, with its NUL: two numbers
 * of up to 20 characters each, as the compiler counts them, and their units. */
#define UNITS_DURATION_MAX 48

/* A duration for a person, in its largest unit and the next: "45s",
 * "7m30s", "5h0m", "12d3h" (days are the largest unit); a negative
 * duration reads "0s".  Returns buf. */
char *units_duration(long long seconds, char buf[UNITS_DURATION_MAX]);

#endif
