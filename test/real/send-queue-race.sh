#!/bin/bash
# Concurrency of the queue against the real Postfix (mailpipe-send(1),
# QUEUE, Guarantees): 50 messages queued while Postfix is down, then two
# --flush runs and three sends (each flushing the backlog first) at once.
# Every message must arrive exactly once: each queued one is claimed by one
# run (flock), the others skip it.  The counts are printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

QUEUED=${QUEUE_RACE_MESSAGES:-50}
QUEUE="$WORK/queue"
queue_config "$WORK/conf" "$QUEUE"
tok=$(token)

postfix_stop; ok $? "Postfix stopped"
failures=0
for i in $(seq 1 "$QUEUED"); do
	printf 'Subject: race %s-%d\n\nbody %d\n' "$tok" "$i" "$i" |
		"$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS" 2>>"$WORK/err" || failures=$((failures + 1))
done
is "$failures" 0 "$QUEUED sends with Postfix down: each exit 0"
is "$(queued "$QUEUE")" "$QUEUED" "$QUEUED messages queued"
postfix_start; ok $? "Postfix started"

pids=()
for r in 1 2; do
	"$MAILPIPE_SEND" -v -C "$WORK/conf" --flush 2>"$WORK/flush$r" & pids+=($!)
done
for s in 1 2 3; do
	n=$((QUEUED + s))
	printf 'Subject: race %s-%d\n\nnew %d\n' "$tok" "$n" "$n" |
		"$MAILPIPE_SEND" -v -C "$WORK/conf" "$BOB_ADDRESS" 2>"$WORK/send$s" & pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=$((status + 1)); done
is "$status" 0 "2 flushes and 3 sends at once: each exit 0"
# Who delivered what: each queued message is claimed by one run only.
per_run=""
for f in "$WORK"/flush? "$WORK"/send?; do
	per_run="$per_run $(basename "$f")=$(grep -c ': delivered$' "$f")"
done
echo "# queued messages delivered per run:$per_run"
is "$(cat "$WORK"/flush? "$WORK"/send? | grep -c ': delivered$')" "$QUEUED" \
	"the runs delivered $QUEUED queued messages between them, none twice"
grep -h '^mailpipe-send: .*\(refused\|cannot\|failed\)' "$WORK"/flush? "$WORK"/send? | sed 's/^/# /'
is "$(queued "$QUEUE")" 0 "the queue is empty"

total=$((QUEUED + 3))
settle "$BOB_MAILDIR" "$tok" "$total"
$MAILCHECK tally "$BOB_MAILDIR" "$tok" >"$WORK/tally"
once=$(awk '$2 == 1' "$WORK/tally" | wc -l)
twice=$(awk '$2 > 1' "$WORK/tally" | wc -l)
echo "# race: $total messages, $once delivered once, $twice more than once," \
	"$((total - once - twice)) not delivered"
is "$once" "$total" "each of the $total messages delivered exactly once"
is "$twice" 0 "no duplicate"

done_testing
