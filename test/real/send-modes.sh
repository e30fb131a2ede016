#!/bin/bash
# -t with Bcc, -s with a non-ASCII subject, -E, a wrong password, a refused
# recipient: against the real Postfix.
. "$(dirname "$0")/lib.sh"

smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"

# -t: recipients from To/Cc/Bcc; Bcc never leaves.
tok=$(token)
printf 'From: %s\nTo: %s\nBcc: %s\nSubject: bcc %s\n\nhidden copy\n' \
	"$ALICE_ADDRESS" "$BOB_ADDRESS" "$CAROL_ADDRESS" "$tok" |
	"$MAILPIPE_SEND" -C "$WORK/conf" -t 2>"$WORK/stderr"
ok $? "-t: exit 0"
to_bob=$($MAILCHECK wait "$BOB_MAILDIR" "$tok" 30); ok $? "-t: To recipient got it"
to_carol=$($MAILCHECK wait "$CAROL_MAILDIR" "$tok" 30); ok $? "-t: Bcc recipient got it"
! grep -qi '^Bcc:' "$to_bob" "$to_carol"; ok $? "-t: no Bcc header in either copy"

printf 'Subject: none\n\nno recipients\n' | "$MAILPIPE_SEND" -C "$WORK/conf" -t 2>/dev/null
is $? 65 "-t without recipients: exit 65"

# -s: compose mode, RFC 2047 subject, UTF-8 body.
tok=$(token)
subject="Sauvegarde réussie ✓ — 夜間バックアップ $tok"
printf 'backup finished\nÄrger? none %s.\n' "$tok" | "$MAILPIPE_SEND" -C "$WORK/conf" -s "$subject" "$BOB_ADDRESS"
ok $? "-s: exit 0"
file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok" 30); ok $? "-s: delivered"
is "$($MAILCHECK header "$file" Subject)" "$subject" "-s: subject decodes to what was given"
grep -q '^Subject: =?UTF-8?B?' "$file"; ok $? "-s: subject RFC 2047 encoded"
grep -qi '^Content-Type: text/plain; charset=utf-8' "$file"; ok $? "-s: text/plain utf-8"
is "$($MAILCHECK header "$file" To)" "$BOB_ADDRESS" "-s: To header"
is "$($MAILCHECK body "$file")" "$(printf 'backup finished\nÄrger? none %s.' "$tok")" "-s: body intact"

# -E: an empty body sends nothing, successfully.
tok=$(token)
"$MAILPIPE_SEND" -C "$WORK/conf" -E -s "empty $tok" "$BOB_ADDRESS" </dev/null
is $? 0 "-E with empty input: exit 0"
sleep 2
is "$($MAILCHECK count "$BOB_MAILDIR" "$tok")" 0 "-E with empty input: nothing sent"

# Wrong password: 77, and the password never shows.
smtp_config "$WORK/bad" starttls "$SMTP_PORT_STARTTLS" plain "$ALICE_USER" "wrong-Pa55word"
printf 'Subject: x\n\nx\n' | "$MAILPIPE_SEND" -v -C "$WORK/bad" "$BOB_ADDRESS" 2>"$WORK/stderr"
is $? 77 "wrong password: exit 77"
! grep -qF "wrong-Pa55word" "$WORK/stderr"; ok $? "wrong password: not in the transcript"
printf 'Subject: x\n\nx\n' | "$MAILPIPE_SEND" -C "$WORK/bad" "$BOB_ADDRESS" 2>"$WORK/stderr"
is "$(wc -l <"$WORK/stderr")" 1 "wrong password: one line on stderr without -v"
grep -q "^mailpipe-send: test ($SMTP_HOST:$SMTP_PORT_STARTTLS): authentication failed: 535 " \
	"$WORK/stderr"
ok $? "which names the account, the server and the server's answer"

# A recipient the server refuses permanently: 67.
printf 'Subject: x\n\nx\n' | "$MAILPIPE_SEND" -C "$WORK/conf" nobody@elsewhere.invalid 2>"$WORK/stderr"
is $? 67 "refused recipient: exit 67"
grep -q 'nobody@elsewhere.invalid' "$WORK/stderr"; ok $? "refused recipient: named in the error"

# Certificate checked against the system store (the throwaway CA is not in it).
sed -i '/^tls_ca_file/d' "$WORK/conf"
printf 'Subject: x\n\nx\n' | "$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS" 2>/dev/null
is $? 77 "certificate from an unknown CA: exit 77"

# Pinning the certificate replaces the CA.
echo "tls_fingerprint = $SERVER_CERT_SHA256" >>"$WORK/conf"
tok=$(token)
printf 'Subject: pinned %s\n\nx\n' "$tok" | "$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS"
ok $? "tls_fingerprint of the server: exit 0"

# The plain port offers no STARTTLS: tls = starttls must refuse, not go on.
smtp_config "$WORK/plain" starttls "$SMTP_PORT_PLAIN" none
printf 'Subject: x\n\nx\n' | "$MAILPIPE_SEND" -v -C "$WORK/plain" "$BOB_ADDRESS" 2>"$WORK/stderr"
is $? 69 "STARTTLS required but not offered: exit 69"
! grep -q '^-> MAIL' "$WORK/stderr"; ok $? "STARTTLS not offered: no MAIL sent in plaintext"

# tls = off, no AUTH, to the plain port: allowed when asked for.
sed -i 's/^tls = starttls/tls = off/; /^user/d; /^password/d' "$WORK/plain"
tok=$(token)
printf 'Subject: plain %s\n\nx\n' "$tok" | "$MAILPIPE_SEND" -C "$WORK/plain" "$BOB_ADDRESS"
ok $? "tls = off to the plain port: exit 0"
$MAILCHECK wait "$BOB_MAILDIR" "$tok" 30 >/dev/null; ok $? "tls = off: delivered"

# A signal while stdin is still being read: 75, one line, nothing sent.
tok=$(token)
{ sleep 30; printf 'Subject: %s\n\nlate\n' "$tok"; } 2>/dev/null |
	"$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS" 2>"$WORK/stderr" & pid=$!
wait_reading_stdin "$pid"
kill -TERM "$pid"
wait "$pid"
is $? 75 "SIGTERM while reading stdin: exit 75"
grep -q 'interrupted; the message was not sent' "$WORK/stderr"; ok $? "SIGTERM: says nothing was sent"

done_testing
