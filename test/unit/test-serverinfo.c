/*
 * The pure parts of --serverinfo: the capability list a session keeps
 * (proto_keep_offered()) and the value kept of one keyword
 * (proto_keep_value()); the certificate's days left and validity text
 * around the edges (a second before, at and after the end); the
 * fingerprint's text, which tls_fingerprint must take back unchanged; and
 * the escaping of server text for stdout, and of a certificate whose
 * subject, issuer and names hold control bytes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "log.h"
#include "proto.h"
#include "serverinfo.h"
#include "tls.h"
#include "tap.h"

#define DAY 86400

static void
value_of(const char *line, size_t keyword_len, const char *want)
{
	char value[16] = "";
	bool seen = false;

	proto_keep_value(value, sizeof value, &seen, line, keyword_len);
	ok(seen && strcmp(value, want) == 0, "%s: \"%s\" (got \"%s\")", line, want, value);
}

static void
test_keep_value(void)
{
	char value[16] = "";
	bool seen = false;

	value_of("SIZE 10240000", 4, "10240000");
	value_of("AUTH=LOGIN PLAIN", 4, "LOGIN PLAIN");		/* the pre-RFC form */
	value_of("DSN", 3, "");
	value_of("X-LONG 0123456789012345678901234", 6, "012345678901234");	/* cut */
	proto_keep_value(value, sizeof value, &seen, "AUTH PLAIN", 4);
	proto_keep_value(value, sizeof value, &seen, "AUTH LOGIN", 4);
	is_str(value, "PLAIN", "the first line that has the keyword wins");
}

static void
test_keep_offered(void)
{
	char list[32] = "";
	bool cut = false;

	proto_keep_offered(list, sizeof list, &cut, "...");
	proto_keep_offered(list, sizeof list, &cut, "SIZE 100");
	is_str(list, "...\nSIZE 100\n", "lines kept with a LF each, a \"...\" line as any other");
	ok(!cut, "nothing cut yet");
	proto_keep_offered(list, sizeof list, &cut, "AUTH PLAIN LOGIN XOAUTH2 EXTERNAL");
	is_str(list, "...\nSIZE 100\n", "a line that does not fit is left out");
	ok(cut, "and the cut is recorded as a flag");
	proto_keep_offered(list, sizeof list, &cut, "DSN");
	is_str(list, "...\nSIZE 100\n", "and nothing after it, even if it fits");
	ok(strlen(list) < sizeof list, "never over the size");
}

static void
test_days_left(void)
{
	const time_t now = 1800000000;

	is_int(certinfo_days_left(now, now), 0, "at the end: 0 days");
	is_int(certinfo_days_left(now, now + DAY - 1), 0, "a second short of a day: 0");
	is_int(certinfo_days_left(now, now + DAY), 1, "a day: 1");
	is_int(certinfo_days_left(now, now + 390L * DAY + 5), 390, "390 days and seconds: 390");
	is_int(certinfo_days_left(now, now - 1), -1, "a second past: a day ago");
	is_int(certinfo_days_left(now, now - DAY), -1, "a day past: -1");
	is_int(certinfo_days_left(now, now - DAY - 1), -2, "a day and a second past: -2");
}

static void
validity(time_t now, time_t from, time_t to, const char *want, const char *name)
{
	char text[160];

	certinfo_validity(now, from, to, text, sizeof text);
	is_str(text, want, "%s", name);
}

static void
test_validity(void)
{
	const time_t from = 1767225600;	/* 2026-01-01 00:00:00 UTC */
	const time_t to = from + 365L * DAY;

	validity(from + 10L * DAY, from, to, "2026-01-01 00:00:00 UTC to 2027-01-01 00:00:00 UTC "
	    "(355 days left)", "valid");
	validity(to - DAY, from, to, "2026-01-01 00:00:00 UTC to 2027-01-01 00:00:00 UTC "
	    "(1 day left)", "one day: singular");
	validity(to + 3L * DAY, from, to, "2026-01-01 00:00:00 UTC to 2027-01-01 00:00:00 UTC "
	    "(expired 3 days ago)", "expired");
	validity(to + 1, from, to, "2026-01-01 00:00:00 UTC to 2027-01-01 00:00:00 UTC "
	    "(expired 1 day ago)", "expired a second ago");
	validity(from - 1, from, to, "2026-01-01 00:00:00 UTC to 2027-01-01 00:00:00 UTC "
	    "(not valid yet)", "not yet valid");
}

static void
test_fingerprint_text(void)
{
	unsigned char md[TLS_PIN_LENGTH], back[TLS_PIN_LENGTH];
	char text[CERTINFO_FINGERPRINT_TEXT];

	for (size_t i = 0; i < sizeof md; i++)
		md[i] = (unsigned char)(i * 37 + 0x0a);
	certinfo_fingerprint_text(md, text);
	is_int(strlen(text), 3 * TLS_PIN_LENGTH - 1, "32 bytes: 95 characters");
	is_str(text, "0A:2F:54:79:9E:C3:E8:0D:32:57:7C:A1:C6:EB:10:35:5A:7F:A4:C9:EE:13:38:5D:"
	    "82:A7:CC:F1:16:3B:60:85", "uppercase hex, a colon between bytes");
	ok(tls_parse_fingerprint(text, back) == 0 && memcmp(md, back, sizeof md) == 0,
	    "tls_fingerprint takes it back unchanged");
}

static void
test_escape(void)
{
	char out[64];

	log_escape("220 a\x1b[2J\x9b\xc2\x85 \xc3\xa9", 15, out, sizeof out);
	is_str(out, "220 a\\x1b[2J\\x9b\\xc2\\x85 \xc3\xa9", "controls and C1 escaped, UTF-8 kept");
	log_escape("abc\x07", 4, out, 6);
	ok(strlen(out) <= 5, "cut to the size given");
}

/* Hostile bytes in a certificate (finding 9 of the serverinfo review):
 * controls, CR LF, NUL, DEL and C1 in the subject, the issuer and the
 * names, as a server can put them in a self-signed certificate.  Once
 * escaped as --serverinfo prints them, no raw control byte is left. */
static const char hostile[] = "a\x01" "b\r\nc\x7f" "d\xc2\x85" "e\x1b[2J";

static void
add_hostile_name(X509 *cert)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *dns = GENERAL_NAME_new();
	ASN1_IA5STRING *text = ASN1_IA5STRING_new();

	ASN1_STRING_set(text, "x\0y\r\nz\x7f", 8);
	GENERAL_NAME_set0_value(dns, GEN_DNS, text);
	sk_GENERAL_NAME_push(names, dns);
	X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, 0);
	GENERAL_NAMES_free(names);
}

static X509 *
hostile_cert(void)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_NAME_new();

	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)hostile,
	    (int)sizeof hostile - 1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"o\0\n",
	    3, -1, 0);
	X509_set_subject_name(cert, name);
	X509_set_issuer_name(cert, name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), DAY);
	add_hostile_name(cert);
	return cert;
}

static bool
has_raw_control(const char *text, size_t len)
{
	char out[4 * 1024 + 1];

	log_escape(text, len, out, sizeof out);
	for (const unsigned char *c = (const unsigned char *)out; *c != '\0'; c++)
		if (*c < 0x20 || *c == 0x7f || (c[0] == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f))
			return true;
	return false;
}

static void
test_hostile_certificate(void)
{
	struct tls_peer peer = { .chain = sk_X509_new_null() };
	struct cert_facts f;

	sk_X509_push(peer.chain, hostile_cert());
	ok(certinfo_facts(&peer, 0, &f), "facts of a hostile certificate");
	ok(strchr(f.subject, 'a') != NULL && strchr(f.names, 'x') != NULL,
	    "subject and names read (got \"%s\", \"%s\")", f.subject, f.names);
	ok(!has_raw_control(f.subject, strlen(f.subject)), "subject: no raw control once escaped");
	ok(!has_raw_control(f.issuer, strlen(f.issuer)), "issuer: no raw control once escaped");
	ok(!has_raw_control(f.names, strlen(f.names)), "names: no raw control once escaped");
	certinfo_free(&peer);
}

int
main(void)
{
	test_keep_value();
	test_keep_offered();
	test_days_left();
	test_validity();
	test_fingerprint_text();
	test_escape();
	test_hostile_certificate();
	return done_testing();
}
