#!/bin/bash
# The whole chain with both commands: mailpipe-send -> Postfix (STARTTLS,
# AUTH) -> LMTP -> Dovecot -> mailpipe-fetch (STLS) -> a local Maildir.  The
# body piped in must come out byte for byte.
. "$(dirname "$0")/lib.sh"

tok=$(token)
printf 'line one %s\n.\n..dots\nGrüße ✓\nno newline at the end' "$tok" >"$WORK/body"
printf '%s\n' "$(cat "$WORK/body")" >"$WORK/expected"

smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"
"$MAILPIPE_SEND" -C "$WORK/conf" -s "round trip $tok" "$CAROL_ADDRESS" <"$WORK/body"
ok $? "mailpipe-send: exit 0"
$MAILCHECK wait "$CAROL_MAILDIR" "$tok" 30 >/dev/null
ok $? "Postfix handed it to Dovecot"

(umask 077; cat >>"$WORK/conf" <<INI

[pop3 test]
host = $POP3_HOST
port = $POP3_PORT_STLS
tls = starttls
tls_ca_file = $CA_FILE
user = $CAROL_USER
password = $CAROL_PASSWORD
maildir = $WORK/backup
state_dir = $WORK/state
keep = yes
INI
)
"$MAILPIPE_FETCH" -C "$WORK/conf" -a test 2>"$WORK/stderr"
ok $? "mailpipe-fetch: exit 0"
is "$(cat "$WORK/stderr")" "" "mailpipe-fetch: silent on success"
file=$($MAILCHECK wait "$WORK/backup" "$tok" 1)
ok $? "the message is in the local Maildir"
$MAILCHECK body "$file" >"$WORK/got"
cmp -s "$WORK/got" "$WORK/expected"
ok $? "the body came back byte for byte"
is "$($MAILCHECK header "$file" Subject)" "round trip $tok" "the subject came back"
is "$(grep -c $'\r' "$file")" 0 "stored with LF line endings"

done_testing
