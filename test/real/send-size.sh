#!/bin/bash
# RFC 1870 against the real Postfix: the SMTP_PORT_SMALL service declares
# "SIZE $SMTP_SMALL_SIZE_LIMIT" (its message_size_limit).  A message over
# it is refused before MAIL -- so before DATA, nothing of it sent -- with
# exit 69 and a line giving both sizes, with or without a queue (which it
# does not enter: every attempt would be refused); a message under it goes
# through the same port.
. "$(dirname "$0")/lib.sh"

conf=$WORK/conf
(umask 077; cat >"$conf" <<-INI
[smtp test]
host = $SMTP_HOST
port = $SMTP_PORT_SMALL
tls = off
from = $ALICE_ADDRESS
domain = $MAIL_DOMAIN
timeout = 20
INI
)

# big_body N: N lines of 100 octets (101 with LF).
big_body() { yes 'the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy do' | head -n "$1"; }

tok=$(token)
big_body 200 | "$MAILPIPE_SEND" -v -C "$conf" -s "too big $tok" "$BOB_ADDRESS" 2>"$WORK/err"
is "$?" 69 "a 20 kB message to a server declaring SIZE $SMTP_SMALL_SIZE_LIMIT: exit 69"
grep -Eq "^mailpipe-send: test \\($SMTP_HOST:$SMTP_PORT_SMALL\\): the message is [0-9]+ octets, more than the $SMTP_SMALL_SIZE_LIMIT the server takes \\(SIZE\\); nothing sent\$" "$WORK/err"
ok $? "one line giving both sizes"
grep -q "^<- 250[- ]SIZE $SMTP_SMALL_SIZE_LIMIT\$" "$WORK/err"; ok $? "the server declared SIZE $SMTP_SMALL_SIZE_LIMIT"
grep -Eq -- '-> (MAIL|RCPT|DATA)' "$WORK/err"; is "$?" 1 "no MAIL, RCPT or DATA was sent"
[ "$tap_failed" -eq 0 ] || sed 's/^/#   /' "$WORK/err"

printf 'queue_dir = %s\n' "$WORK/queue" >>"$conf"
big_body 200 | "$MAILPIPE_SEND" -C "$conf" -s "too big, queued? $tok" "$BOB_ADDRESS" 2>"$WORK/err"
is "$?" 69 "with a queue_dir: 69 as well"
"$MAILPIPE_SEND" -C "$conf" --queue >"$WORK/listing" 2>&1
grep -q "^$WORK/queue: 0 queued, 0 failed\$" "$WORK/listing"; ok $? "and it is not queued"

small=$(token)
big_body 20 | "$MAILPIPE_SEND" -C "$conf" -s "small $small" "$BOB_ADDRESS"
ok $? "a 2 kB message through the same port: exit 0"
$MAILCHECK wait "$BOB_MAILDIR" "$small" 60 >/dev/null; ok $? "bob received the small one"
file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok" 1 2>/dev/null); is "$?" 1 "and none of the big ones${file:+ ($file)}"

done_testing
