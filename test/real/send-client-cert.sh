#!/bin/bash
# Client certificates against Postfix: on the port that requires one
# issued by the stack's CA (smtpd_tls_req_ccert, relay allowed by
# permit_tls_all_clientcerts, no AUTH), a message with tls_cert_file and
# tls_key_file is delivered; without them Postfix completes the TLS 1.3
# handshake and answers with a 421 greeting (75, its reason quoted; a
# server that aborts the handshake gets the line naming both keys, 77: fake
# smtp-client-cert-missing); a key file others can read is refused (77)
# before any connection.
. "$(dirname "$0")/lib.sh"

# ccert_config FILE [CERT KEY]
ccert_config() {
	(umask 077; {
		printf '[smtp test]\nhost = %s\nport = %s\ntls = implicit\n' "$SMTP_HOST" \
			"$SMTP_PORT_CCERT"
		printf 'tls_ca_file = %s\nfrom = %s\ntimeout = 20\n' "$CA_FILE" "$ALICE_ADDRESS"
		[ $# -eq 3 ] && printf 'tls_cert_file = %s\ntls_key_file = %s\n' "$2" "$3"
	} >"$1")
}

tok=$(token)
ccert_config "$WORK/with.ini" "$CLIENT_CERT_FILE" "$CLIENT_KEY_FILE"
echo "body $tok" | "$MAILPIPE_SEND" -C "$WORK/with.ini" -s "ccert $tok" "$CAROL_ADDRESS" \
	2>"$WORK/with.err"
ok $? "with a client certificate: exit 0"
$MAILCHECK wait "$CAROL_MAILDIR" "$tok" 30 >/dev/null
ok $? "with a client certificate: delivered"

ccert_config "$WORK/without.ini"
tok=$(token)
echo "body $tok" | "$MAILPIPE_SEND" -C "$WORK/without.ini" -s "no ccert $tok" "$CAROL_ADDRESS" \
	2>"$WORK/without.err"
is "$?" 75 "without one: refused, exit 75 (Postfix's 421)"
grep -q 'greeting: 421 4.7.1 .*No client certificate presented' "$WORK/without.err"
ok $? "without one: the line quotes Postfix's reason"
is "$($MAILCHECK count "$CAROL_MAILDIR" "$tok")" 0 "without one: nothing delivered"

cp "$CLIENT_KEY_FILE" "$WORK/open.key"
chmod 0644 "$WORK/open.key"
ccert_config "$WORK/open.ini" "$CLIENT_CERT_FILE" "$WORK/open.key"
echo body | "$MAILPIPE_SEND" -v -C "$WORK/open.ini" "$CAROL_ADDRESS" 2>"$WORK/open.err"
is "$?" 77 "a key file of mode 0644: exit 77"
grep -q "tls_key_file: $WORK/open.key .*mode 0644" "$WORK/open.err"
ok $? "a key file of mode 0644: the line says so"
! grep -q '^<- ' "$WORK/open.err"
ok $? "a key file of mode 0644: refused before connecting"

done_testing
