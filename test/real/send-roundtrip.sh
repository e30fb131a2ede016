#!/bin/bash
# Round trips through the real Postfix: STARTTLS and implicit TLS, each with
# AUTH PLAIN and AUTH LOGIN.  The body must arrive byte for byte (lines ".",
# "..", ".x", UTF-8, a last line without newline, which gains one).
. "$(dirname "$0")/lib.sh"

body="$WORK/body"
printf 'first line\n.\n..\n.x\n...dots\nGrüße, ça marche ✓\n  indented\n\nlast line without newline' >"$body"
printf '%s\n' "$(cat "$body")" >"$WORK/expected"	# what a Maildir holds: the last line ended

for mode in starttls:$SMTP_PORT_STARTTLS implicit:$SMTP_PORT_IMPLICIT; do
	for auth in plain login; do
		tls=${mode%%:*} port=${mode#*:} tok=$(token)
		smtp_config "$WORK/conf" "$tls" "$port" "$auth"
		{ printf 'From: %s\nTo: %s\nSubject: roundtrip %s\n\n' "$ALICE_ADDRESS" \
			"$BOB_ADDRESS" "$tok"; cat "$body"; } >"$WORK/message"
		"$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS" <"$WORK/message" 2>"$WORK/stderr"
		ok $? "$tls + AUTH $auth: exit 0"
		is "$(cat "$WORK/stderr")" "" "$tls + AUTH $auth: silent on success"
		file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok" 30)
		ok $? "$tls + AUTH $auth: delivered"
		$MAILCHECK body "$file" >"$WORK/got"
		cmp -s "$WORK/got" "$WORK/expected"
		ok $? "$tls + AUTH $auth: body byte for byte"
		$MAILCHECK header "$file" Message-ID >/dev/null
		ok $? "$tls + AUTH $auth: Message-ID added"
		$MAILCHECK header "$file" Date >/dev/null
		ok $? "$tls + AUTH $auth: Date added"
	done
done

# -v shows the dialogue, never the secret.
tok=$(token)
smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS" plain
printf 'Subject: %s\n\nverbose\n' "$tok" | "$MAILPIPE_SEND" -v -C "$WORK/conf" "$BOB_ADDRESS" 2>"$WORK/stderr"
ok $? "-v: exit 0"
grep -q '^-> AUTH PLAIN <credentials>' "$WORK/stderr"; ok $? "-v: AUTH shown redacted"
secret64=$(printf '\0%s\0%s' "$ALICE_USER" "$ALICE_PASSWORD" | base64 -w0)
! grep -qF -e "$ALICE_PASSWORD" -e "$secret64" "$WORK/stderr"; ok $? "-v: no password, plain or encoded"
grep -q '^TLS\|TLSv1' "$WORK/stderr"; ok $? "-v: TLS version reported"

done_testing
