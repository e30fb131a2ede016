#!/bin/bash
# The event log (`log` key) and --report against the real stack: after a
# send and a fetch the log file holds exactly the documented lines (parsed
# by test/eventlogparse.py), mode 0600, no password; 20 sends at once
# append 20 whole lines; `log = syslog` reaches a /dev/log datagram socket
# this test creates and bind-mounts in a private mount namespace; with
# Postfix stopped a send logs "queued" and the flush after the restart
# "delivered"; --report documents (test/reportschema.py) for a send with
# Postfix's queue id, a fetch, and a fetch with a wrong password.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"
TESTS=$(cd "$REAL_DIR/.." && pwd)
LOG=$WORK/events.log

# events FILE: each line parsed, its keys checked, printed as JSON (one per line).
events() {
	python3 - "$TESTS" "$1" <<-'PY'
	import json, sys
	sys.path.insert(0, sys.argv[1])
	import eventlogparse
	for line in open(sys.argv[2], newline=''):
	    when, ident, pid, fields = eventlogparse.parse_file_line(line)
	    eventlogparse.check_keys(fields)
	    print(json.dumps(dict(fields, _ident=ident)))
	PY
}

# field N KEY: KEY of the N-th event (from 1) printed by events.
field() { sed -n "${1}p" "$WORK/ev" | python3 -c "import json,sys; v=json.load(sys.stdin).get('$2'); print('-' if v is None else v)"; }

report_valid() { python3 "$TESTS/reportschema.py" "$1"; }
# report_get FILE EXPR: a Python expression over r (the document), a (its first account).
report_get() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); a=(r['accounts'] or [{}])[0]; print($2)" "$1"; }

tok=$(token)
smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"
(umask 077; cat >>"$WORK/conf" <<INI
log = $LOG

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
log = $LOG
INI
)

# ---- a send and a fetch ----
printf 'Subject: log %s\n\nbody %s\n' "$tok" "$tok" |
	"$MAILPIPE_SEND" -C "$WORK/conf" --report "$WORK/send.json" "$CAROL_ADDRESS"
ok $? "send: exit 0"
$MAILCHECK wait "$CAROL_MAILDIR" "$tok" 30 >/dev/null
ok $? "delivered"
"$MAILPIPE_FETCH" -C "$WORK/conf" -a test --report "$WORK/fetch.json" 2>"$WORK/stderr"
ok $? "fetch: exit 0"
events "$LOG" >"$WORK/ev"
ok $? "every line follows the documented format and keys"
is "$(wc -l <"$WORK/ev")" 2 "two lines: one send, one fetch"
is "$(field 1 event) $(field 1 _ident) $(field 1 account) $(field 1 host)" \
	"send mailpipe-send test $SMTP_HOST" "send line: event, ident, account, host"
is "$(field 1 from) $(field 1 rcpts) $(field 1 result) $(field 1 exit)" \
	"$ALICE_ADDRESS 1 sent 0" "send line: from, rcpts, result, exit"
[[ "$(field 1 size)" =~ ^[0-9]+$ ]] && [ "$(field 1 size)" -gt 40 ]
ok $? "send line: the size in bytes"
[[ "$(field 1 reply)" =~ ^250\ 2\.0\.0\ Ok:\ queued\ as\ [0-9A-Za-z]+$ ]]
ok $? "send line: Postfix's final reply ($(field 1 reply))"
is "$(field 2 event) $(field 2 _ident) $(field 2 account) $(field 2 host) $(field 2 exit)" \
	"fetch mailpipe-fetch test $POP3_HOST 0" "fetch line: event, ident, account, host, exit"
n=$(find "$WORK/backup/new" -type f | wc -l)
is "$(field 2 retrieved) $(field 2 skipped) $(field 2 deleted) $(field 2 failed)" "$n 0 0 0" \
	"fetch line: retrieved as many as are in the Maildir, none skipped, deleted, failed"
is "$(field 2 bytes)" "$(find "$WORK/backup/new" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')" \
	"fetch line: bytes as stored"
[[ "$(field 2 seconds)" =~ ^[0-9]+\.[0-9][0-9]$ ]]
ok $? "fetch line: seconds"
is "$(stat -c %a "$LOG")" 600 "the log file is mode 0600"
! grep -q -e "$ALICE_PASSWORD" -e "$CAROL_PASSWORD" -e "body $tok" "$LOG"
ok $? "no password and no message text in the log"

# ---- the reports ----
report_valid "$WORK/send.json"
ok $? "send report: valid against the schema"
is "$(report_get "$WORK/send.json" "a['result'], a['exit_code'], a['tls'] in ('TLSv1.2', 'TLSv1.3'), a['port']")" \
	"sent 0 True $SMTP_PORT_STARTTLS" "send report: sent, 0, TLS, the port"
is "$(report_get "$WORK/send.json" "a['final_reply'].endswith(a['queue_id']), a['recipients'][0]['address'], a['recipients'][0]['reply'][:3]")" \
	"True $CAROL_ADDRESS 250" "send report: Postfix's queue id, the recipient's reply"
report_valid "$WORK/fetch.json"
ok $? "fetch report: valid against the schema"
is "$(report_get "$WORK/fetch.json" "a['retrieved'], a['new'], a['listed'] >= a['new'], a['failed'], a['class']")" \
	"$n $n True 0 ok" "fetch report: the counts"
sed "s/^password = $CAROL_PASSWORD\$/password = wrong-$tok/" "$WORK/conf" >"$WORK/conf-wrong"
chmod 600 "$WORK/conf-wrong"
"$MAILPIPE_FETCH" -C "$WORK/conf-wrong" -a test --report "$WORK/wrong.json" 2>/dev/null
is $? 77 "wrong password: 77"
report_valid "$WORK/wrong.json"
ok $? "wrong password: the report is written and valid"
is "$(report_get "$WORK/wrong.json" "r['exit_code'], a['class'], 'login failed' in a['error']")" \
	"77 noperm True" "wrong password: class noperm, the error line"
! grep -q "wrong-$tok" "$WORK/wrong.json"
ok $? "wrong password: not in the report"
is "$(tail -n 1 "$LOG" | sed 's/.*\] //')" \
	"event=fetch account=test host=$POP3_HOST retrieved=0 skipped=0 deleted=0 failed=0 bytes=0 seconds=$(tail -n 1 "$LOG" | sed 's/.*seconds=\([0-9.]*\).*/\1/') exit=77" \
	"wrong password: the fetch line says exit=77"

# ---- 20 sends at once ----
: >"$LOG.20"
sed "s|^log = $LOG\$|log = $LOG.20|" "$WORK/conf" >"$WORK/conf20"
chmod 600 "$WORK/conf20"
for i in $(seq 1 20); do
	printf 'Subject: many %s %s\n\nbody\n' "$tok" "$i" |
		"$MAILPIPE_SEND" -C "$WORK/conf20" "$CAROL_ADDRESS" &
done
wait
events "$LOG.20" >"$WORK/ev20"
ok $? "20 concurrent sends: every line whole and parseable"
is "$(grep -c '"event": "send"' "$WORK/ev20") $(grep -c '"result": "sent"' "$WORK/ev20")" "20 20" \
	"20 concurrent sends: 20 send lines, all sent"
is "$(wc -l <"$LOG.20")" 20 "20 concurrent sends: 20 lines in the file"

# ---- syslog, through a /dev/log of our own ----
if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	python3 - "$WORK/log.sock" "$WORK/syslog.out" <<-'PY' &
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1])
	s.settimeout(30)
	with open(sys.argv[2] + '.tmp', 'wb') as out:
	    try:
	        out.write(s.recv(65536) + b'\n')
	    except socket.timeout:
	        pass
	import os; os.rename(sys.argv[2] + '.tmp', sys.argv[2])
	PY
	listener=$!
	for i in $(seq 1 50); do [ -S "$WORK/log.sock" ] && break; sleep 0.1; done
	sed "s|^log = $LOG\$|log = syslog|" "$WORK/conf" >"$WORK/conf-syslog"
	chmod 600 "$WORK/conf-syslog"
	mkdir "$WORK/realdev"
	printf 'Subject: syslog %s\n\nbody\n' "$tok" >"$WORK/msg"
	unshare -m bash -c '
		set -e
		mount --make-rprivate /
		mount --rbind /dev "$1/realdev"
		mount -t tmpfs tmpfs /dev
		for n in null zero random urandom; do
			touch "/dev/$n"; mount --bind "$1/realdev/$n" "/dev/$n"
		done
		touch /dev/log
		mount --bind "$1/log.sock" /dev/log
		"$2" -C "$1/conf-syslog" "$3" <"$1/msg"' _ "$WORK" "$MAILPIPE_SEND" "$CAROL_ADDRESS"
	ok $? "log = syslog: send exit 0 (in a private mount namespace)"
	wait "$listener"
	line=$(cat "$WORK/syslog.out" 2>/dev/null)
	[[ "$line" =~ ^\<22\>.*mailpipe-send\[[0-9]+\]:\ event=send\ account=test\ host=$SMTP_HOST\ from=$ALICE_ADDRESS\ rcpts=1\ size=[0-9]+\ result=sent\ reply=\"250\ 2\.0\.0\ Ok:\ queued\ as\ [0-9A-Za-z]+\"\ exit=0$ ]]
	ok $? "log = syslog: one datagram, facility mail (<22>), ident mailpipe-send, the send line"
	[ -n "$line" ] || echo "#   got nothing"
	[[ "$line" =~ event= ]] && echo "#   $line"
else
	ok 0 "# SKIP unshare -m not permitted"
fi

# ---- the queue's lines: Postfix stopped, then started ----
queue_config "$WORK/qconf" "$WORK/queue" "log = $LOG.q"
postfix_stop
ok $? "Postfix stopped"
printf 'Subject: queued %s\n\nbody\n' "$tok" | "$MAILPIPE_SEND" -C "$WORK/qconf" "$CAROL_ADDRESS"
ok $? "send with Postfix down: exit 0 (queued)"
postfix_start
ok $? "Postfix started"
"$MAILPIPE_SEND" -C "$WORK/qconf" --flush
ok $? "--flush: exit 0"
events "$LOG.q" >"$WORK/evq"
ok $? "queue lines: documented format"
is "$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in sys.stdin))' <"$WORK/evq")" \
	"queued send delivered" "queue lines: queued, the send line (result queued), delivered"
cp "$WORK/evq" "$WORK/ev"
is "$(field 1 id)" "$(field 3 id)" "queue lines: the same id"
[[ "$(field 1 reason)" =~ cannot\ connect ]]
ok $? "queued: the reason ($(field 1 reason))"
is "$(field 2 result) $(field 2 exit) $(field 3 to)" "queued 0 $CAROL_ADDRESS" \
	"send line: result queued, exit 0; delivered: its recipient"
settle "$CAROL_MAILDIR" "queued $tok" 1
is "$($MAILCHECK count "$CAROL_MAILDIR" "queued $tok")" 1 "the queued message delivered once"

if [ -n "${RUNLOG_SAMPLES:-}" ]; then
	cat "$LOG" "$LOG.q" >"$RUNLOG_SAMPLES.log"
	cp "$WORK/send.json" "$RUNLOG_SAMPLES.send.json"
	cp "$WORK/fetch.json" "$RUNLOG_SAMPLES.fetch.json"
fi
done_testing
