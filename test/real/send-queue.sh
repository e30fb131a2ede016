#!/bin/bash
# The queue against the real Postfix (mailpipe-send(1), QUEUE): with Postfix
# stopped, three sends (a cron-style raw message, -t, -s) exit 0, silent,
# and are queued; --queue lists 3; Postfix started; --flush delivers each
# exactly once, byte for byte, and empties the queue.  Then, with one more
# message queued while Postfix is down, a fourth send delivers the backlog
# first.  The listing and the -v lines of the flush are printed as TAP
# comments.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

QUEUE="$WORK/queue"
smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS" plain
printf 'queue_dir = %s\n' "$QUEUE" >>"$WORK/conf"
tok=$(token)

postfix_stop; ok $? "Postfix stopped"

# cron's way: a raw message from "root" to MAILTO, the sendmail flags it passes.
printf 'From: root (Cron Daemon)\nTo: %s\nSubject: Cron <root@host> backup (%s-1)\n\nline 1\n.\n..dots\nlast line\n' \
	"$BOB_ADDRESS" "$tok" >"$WORK/msg1"
"$MAILPIPE_SEND" -C "$WORK/conf" -i -B8BITMIME -oem -oi -- "$BOB_ADDRESS" <"$WORK/msg1" 2>"$WORK/err1"
ok $? "cron-style send with Postfix down: exit 0"
printf 'From: %s\nTo: %s\nCc: %s\nSubject: minus t %s-2\n\nbody of -t\n' "$ALICE_ADDRESS" \
	"$BOB_ADDRESS" "$CAROL_ADDRESS" "$tok" >"$WORK/msg2"
"$MAILPIPE_SEND" -C "$WORK/conf" -t <"$WORK/msg2" 2>"$WORK/err2"
ok $? "-t send with Postfix down: exit 0"
printf 'report body %s-3\n' "$tok" >"$WORK/msg3"
"$MAILPIPE_SEND" -C "$WORK/conf" -s "subject mode $tok-3" "$BOB_ADDRESS" <"$WORK/msg3" 2>"$WORK/err3"
ok $? "-s send with Postfix down: exit 0"
is "$(cat "$WORK/err1" "$WORK/err2" "$WORK/err3")" "" "all three silent (nothing for cron to mail)"
is "$(queued "$QUEUE")" 3 "three messages in the queue"

"$MAILPIPE_SEND" -C "$WORK/conf" --queue >"$WORK/listing" 2>&1
ok $? "--queue: exit 0"
grep -q "^$QUEUE: 3 queued, 0 failed\$" "$WORK/listing"; ok $? "--queue lists 3"
is "$(grep -c 'cannot connect: Connection refused$' "$WORK/listing")" 3 "each with its last error"
sed 's/^/# /' "$WORK/listing"

postfix_start; ok $? "Postfix started"
"$MAILPIPE_SEND" -v -C "$WORK/conf" --flush >"$WORK/flush" 2>&1
ok $? "--flush: exit 0"
grep -v '^[<>-]\|^TLS\|^connected\|^  ' "$WORK/flush" | sed 's/^/# flush -v: /'
is "$(queued "$QUEUE")" 0 "the queue is empty"
settle "$BOB_MAILDIR" "$tok" 3
settle "$CAROL_MAILDIR" "$tok-2" 1
is "$($MAILCHECK count "$BOB_MAILDIR" "$tok-1")" 1 "cron-style message delivered once"
is "$($MAILCHECK count "$BOB_MAILDIR" "$tok-2")" 1 "-t message delivered once to To"
is "$($MAILCHECK count "$CAROL_MAILDIR" "$tok-2")" 1 "-t message delivered once to Cc"
is "$($MAILCHECK count "$BOB_MAILDIR" "$tok-3")" 1 "-s message delivered once"
file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok-1" 5)
$MAILCHECK body "$file" >"$WORK/got1"
printf 'line 1\n.\n..dots\nlast line\n' >"$WORK/want1"
cmp -s "$WORK/got1" "$WORK/want1"; ok $? "cron-style body byte for byte"
file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok-3" 5)
$MAILCHECK body "$file" >"$WORK/got3"
cmp -s "$WORK/got3" "$WORK/msg3"; ok $? "-s body byte for byte"
is "$($MAILCHECK header "$file" Subject)" "subject mode $tok-3" "-s subject kept"

# The backlog goes first: one queued while Postfix is down, then a send.
postfix_stop
printf 'Subject: backlog %s-4\n\nqueued first\n' "$tok" |
	"$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS" 2>"$WORK/err4"
ok $? "fourth message queued while Postfix is down"
postfix_start
printf 'Subject: new %s-5\n\nsent second\n' "$tok" |
	"$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS" 2>"$WORK/err5"
ok $? "a send with a non-empty queue: exit 0"
is "$(queued "$QUEUE")" 0 "it delivered the backlog: the queue is empty"
settle "$BOB_MAILDIR" "$tok" 5
is "$($MAILCHECK count "$BOB_MAILDIR" "$tok-4")" 1 "backlog message delivered once"
is "$($MAILCHECK count "$BOB_MAILDIR" "$tok-5")" 1 "new message delivered once"
# Which came first: the line of Postfix's cleanup for each queue id.
accepted_at() {
	local file qid
	file=$(grep -l "$1" "$BOB_MAILDIR"/new/* "$BOB_MAILDIR"/cur/* 2>/dev/null | head -1)
	qid=$(sed -n 's/.* with ESMTPS\{0,1\}A\{0,1\} id \([0-9A-Za-z]*\).*/\1/p' "$file" | head -1)
	grep -n ": $qid: message-id=" "$POSTFIX_LOG" | head -1 | cut -d: -f1
}
l4=$(accepted_at "$tok-4") l5=$(accepted_at "$tok-5")
[ -n "$l4" ] && [ -n "$l5" ] && [ "$l4" -lt "$l5" ]
ok $? "the backlog was accepted before the new message"
[ -n "$l4" ] || { echo "# no queue id found:"; grep -m3 'id ' "$(grep -l "$tok-4" "$BOB_MAILDIR"/new/* | head -1)" | sed 's/^/#   /'; }

done_testing
