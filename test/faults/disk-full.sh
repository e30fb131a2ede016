#!/bin/bash
# Disk faults, on tiny tmpfs file systems this test mounts (root only; each
# unmounted on exit): the Maildir filling up in the middle of a message and
# of a batch (keep and delete mode), the state directory filling up in the
# middle of the journal, a read-only Maildir, and mailpipe-send with its
# spool directory (TMPDIR) full, and mailpipe-send's queue_dir full.  Each
# run must fail with its documented
# status (74, or 73 for a Maildir it cannot create in), remove its partial
# file, send no DELE for a message it did not deliver, keep the journal
# consistent, and once space is back the next run must bring every message
# exactly once (sha256 against the server's files).  A journal entry for a
# message that never reached new/ would make that run skip it: the exact
# comparison after the fault is what proves the journal consistent.
. "$(dirname "$0")/faults-lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP mounting a small file system needs root"
	exit 77
fi

# tiny_fs DIR SIZE: a fresh tmpfs of SIZE at DIR, unmounted on exit.
tiny_fs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0700" mailpipe-faults "$1" || bail "cannot mount a tmpfs on $1"
	at_exit "umount -l '$1' 2>/dev/null"
}

# fresh_case NAME COUNT MIN MAX: a config and COUNT messages on the server.
fresh_case() {
	server_clear bob
	server_put bob "$2" "$3" "$4" "disk-$1"
	WANT=$(server_hashes bob)
	CONF=$WORK/$1.ini
	write_config "$CONF"
}

# after_disk_fault NAME STATUS: the checks every run that met the fault passes.
after_disk_fault() {
	note "$1: $(cat "$WORK/stderr")"
	check_eq "$1: exit $2" "$RC" "$2"
	check "$1: the line names the cause" grep -q "No space left\|Read-only" "$WORK/stderr"
	check_eq "$1: no partial file left in tmp/" "$(find "$MD/tmp" -type f 2>/dev/null | wc -l)" 0
	check "$1: nothing lost, nothing twice, no partial file in new/, no DELE of an undelivered message" \
		no_loss "$WANT" "$(hashes_of "$MD")" "$(server_hashes bob)"
}

# next_run NAME: after the space came back, every message exactly once.
next_run() {
	fetch -C "$CONF"
	check_eq "$1: with space again, the next run exits 0" "$RC" 0
	check_same "$1: then every message exactly once" "$(hashes_of "$MD")" "$WANT"
}

# 1-2. The Maildir's file system (1 MiB) fills up during a message of the
# first batch, in keep mode and in delete mode (40 messages of 40-120 kB).
for mode in keep delete; do
	fresh_case "md-$mode" 40 40000 120000
	tiny_fs "$WORK/fs-$mode" 1m
	MD=$WORK/fs-$mode/Maildir
	FETCH_STATE=$WORK/state-$mode
	keep=$([ "$mode" = keep ] && echo yes || echo no)
	add_account "$CONF" d bob starttls "$MD" keep="$keep"
	fetch -C "$CONF"
	after_disk_fault "Maildir full ($mode)" 74
	[ "$mode" = keep ] && check_eq "Maildir full (keep): the server has every message" \
		"$(server_count bob)" 40
	mount -o remount,size=64m "$WORK/fs-$mode"
	next_run "Maildir full ($mode)"
	[ "$mode" = delete ] && check_eq "Maildir full (delete): the server is empty at last" \
		"$(server_count bob)" 0
done

# 3. The state directory's file system fills up during the journal: 600
# small messages, 12 kB free beside a filler file, so the journal of one
# of the first batches cannot be written.
fresh_case journal 600 200 400
tiny_fs "$WORK/fs-state" 256k
dd if=/dev/zero of="$WORK/fs-state/filler" bs=4k count=61 status=none
MD=$WORK/md-journal
FETCH_STATE=$WORK/fs-state/state
add_account "$CONF" j bob starttls "$MD" keep=no
fetch -C "$CONF"
after_disk_fault "state directory full (delete)" 74
check "state directory full: some messages were delivered before" test -n "$(hashes_of "$MD")"
rm "$WORK/fs-state/filler"
next_run "state directory full (delete)"
check_eq "state directory full: the server is empty at last" "$(server_count bob)" 0

# 4. A read-only Maildir (its file system remounted read-only).
fresh_case ro 10 300 3000
tiny_fs "$WORK/fs-ro" 1m
MD=$WORK/fs-ro/Maildir
mkdir -m 0700 "$MD" "$MD/tmp" "$MD/new" "$MD/cur"
mount -o remount,ro "$WORK/fs-ro"
FETCH_STATE=$WORK/state-ro
add_account "$CONF" r bob starttls "$MD" keep=no
fetch -C "$CONF"
check "read-only Maildir: exit 73 or 74 (got $RC)" test "$RC" -eq 73 -o "$RC" -eq 74
check "read-only Maildir: the line says read-only" grep -q "Read-only" "$WORK/stderr"
check_eq "read-only Maildir: nothing deleted on the server" "$(server_count bob)" 10
mount -o remount,rw "$WORK/fs-ro"
next_run "read-only Maildir"

# 5. mailpipe-send with its spool directory (TMPDIR) full: a clear line,
# 74, and nothing sent, not even a part (standard input is spooled whole
# before any connection).
tiny_fs "$WORK/fs-spool" 64k
TOKEN=diskspool-$(date +%s%N)
{
	printf 'From: %s\nTo: %s\nSubject: %s\n\n' "$ALICE_ADDRESS" "$ALICE_ADDRESS" "$TOKEN"
	seq 20000 | sed "s/.*/spool line &/"
} >"$WORK/message"
proxy_start "$SMTP_PORT_PLAIN"
smtp_plain_config "$WORK/send.ini" "$PROXY_PORT" timeout=5
RC=0
TMPDIR=$WORK/fs-spool "$MAILPIPE_SEND" -C "$WORK/send.ini" "$ALICE_ADDRESS" \
	<"$WORK/message" 2>"$WORK/stderr" || RC=$?
check_eq "spool full: exit 74" "$RC" 74
check "spool full: one line naming the cause" \
	test "$(wc -l <"$WORK/stderr")" -eq 1 -a -n "$(grep 'No space left' "$WORK/stderr")"
note "$(cat "$WORK/stderr")"
check "spool full: no connection was made (nothing sent, not even a part)" \
	bash -c "! grep -q 'session 1 open' '$WORK/proxy.log'"
check_eq "spool full: no spool file left behind" "$(find "$WORK/fs-spool" -type f | wc -l)" 0
check_eq "spool full: nothing delivered" "$($MAILCHECK count "$ALICE_MAILDIR" "$TOKEN")" 0

# 6. The queue directory full (issue 11's queue_dir on a 256 kB tmpfs).
# The account "fault" is down (port 1) in down.ini and is Postfix's plain
# port in up.ini; both have the same queue.  A message bigger than the
# space left: 74, one line, nothing half-written in the queue.  A small
# one is queued; with the disk full to the last block a --flush (server
# still down) must leave the entry whole; once space is back a --flush
# with the server up delivers it exactly once, and a second flush sends
# nothing.
tiny_fs "$WORK/fs-queue" 256k
QUEUE=$WORK/fs-queue/queue
mkdir -m 0700 "$QUEUE"
smtp_plain_config "$WORK/down.ini" 1 timeout=5 "queue_dir=$QUEUE"
smtp_plain_config "$WORK/up.ini" "$SMTP_PORT_PLAIN" timeout=20 "queue_dir=$QUEUE"
queue_files() { find "$QUEUE" -type f | wc -l; }
{ printf 'Subject: too big for the queue\n\n'; seq 60000 | sed "s/.*/queue line &/"; } >"$WORK/big"
RC=0
"$MAILPIPE_SEND" -C "$WORK/down.ini" "$ALICE_ADDRESS" <"$WORK/big" 2>"$WORK/stderr" || RC=$?
note "queue full: $(cat "$WORK/stderr")"
check_eq "queue full: a message bigger than the space left: exit 74" "$RC" 74
check "queue full: one line, not sent and not queued, and why" \
	test "$(wc -l <"$WORK/stderr")" -eq 1 -a -n "$(grep 'cannot be queued.*No space left' "$WORK/stderr")"
check_eq "queue full: nothing half-written in the queue" "$(queue_files)" 0
TOKEN=diskqueue-$(date +%s%N)
printf 'From: %s\nTo: %s\nSubject: %s\n\nqueued on a small disk\n' "$ALICE_ADDRESS" \
	"$ALICE_ADDRESS" "$TOKEN" >"$WORK/small"
RC=0
"$MAILPIPE_SEND" -C "$WORK/down.ini" "$ALICE_ADDRESS" <"$WORK/small" 2>"$WORK/stderr" || RC=$?
check_eq "queue: with the server down a small message is queued (exit 0)" "$RC" 0
entry=$(find "$QUEUE" -type f -printf '%P\n' | sort | tr '\n' ' ')
dd if=/dev/zero of="$WORK/fs-queue/filler" bs=4k status=none 2>/dev/null
RC=0
"$MAILPIPE_SEND" -C "$WORK/down.ini" --flush 2>"$WORK/stderr" || RC=$?
note "queue full, --flush with the server down: exit $RC: $(cat "$WORK/stderr")"
check "queue full: --flush with the server down fails (74 or 75, got $RC)" \
	test "$RC" -eq 74 -o "$RC" -eq 75
check_eq "queue full: the entry is still there, whole" \
	"$(find "$QUEUE" -type f -printf '%P\n' | sort | tr '\n' ' ')" "$entry"
rm "$WORK/fs-queue/filler"
RC=0
"$MAILPIPE_SEND" -C "$WORK/up.ini" --flush 2>"$WORK/stderr" || RC=$?
check_eq "queue: with space and the server back, --flush exits 0" "$RC" 0
check_eq "queue: and empties the queue" "$(queue_files)" 0
$MAILCHECK wait "$ALICE_MAILDIR" "$TOKEN" 30 >/dev/null
RC=0
"$MAILPIPE_SEND" -C "$WORK/up.ini" --flush 2>"$WORK/stderr" || RC=$?
check_eq "queue: a second --flush has nothing to do (exit 0)" "$RC" 0
sleep 1
check_eq "queue: the message delivered exactly once" "$($MAILCHECK count "$ALICE_MAILDIR" "$TOKEN")" 1
done_testing
