#!/bin/bash
# Killed at any moment, re-run until success: every message exactly once.
#
# Delete mode against Dovecot, SIGKILL at a random moment of each run
# (during RETR, between commit and DELE, during QUIT...), repeated until a
# run finishes by itself.  Then a SIGTERM run: 75 after rolling back, and a
# clean finish afterwards.  Each delivered file must equal a server message,
# none twice, none missing, the server empty, no tmp/ leftovers.
. "$(dirname "$0")/fetch-lib.sh"

MAX_ROUNDS=${FETCH_KILL_ROUNDS:-400}

server_clear bob
server_put bob 300 500 150000 kill
want=$(hashes_of "$BOB_MAILDIR")

conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" kill bob starttls "$WORK/md" keep=no

# more_files_than DIR COUNT: DIR holds more than COUNT files.
more_files_than() { [ "$(find "$1" -type f 2>/dev/null | wc -l)" -gt "$2" ]; }

rounds=0 kills=0 finished=no
while [ "$rounds" -lt "$MAX_ROUNDS" ]; do
	rounds=$((rounds + 1))
	had=$(find "$WORK/md/new" -type f 2>/dev/null | wc -l)
	"$MAILPIPE_FETCH" -C "$conf" 2>>"$WORK/kill.log" &
	pid=$!
	# A random moment in the first D ms, D growing by 10 ms a round from
	# 50 ms: early rounds die during connection set-up and the transfer,
	# later ones get further, and some run finishes whatever the load.
	# Under valgrind D is TIME_SCALE times longer and counted from the
	# run's first message (timescale.sh).
	anchor_after "$pid" more_files_than "$WORK/md/new" "$had"
	limit=$(((50 + rounds * 10) * TIME_SCALE))
	sleep_ms "$(random_ms "$limit")"
	if kill -KILL "$pid" 2>/dev/null; then
		kills=$((kills + 1))
		wait "$pid" 2>/dev/null
		continue
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$(server_count bob)" -eq 0 ]; then
		finished=yes
		break
	fi
done
note "$rounds runs, $kills killed with SIGKILL"
check_eq "a run finished within $MAX_ROUNDS rounds" "$finished" yes
check "several runs were killed on the way" test "$kills" -ge 3
check_same "every message exactly once (none lost, none twice)" "$(hashes_of "$WORK/md")" "$want"
check_eq "the server is empty" "$(server_count bob)" 0
check_eq "no tmp/ leftovers" "$(find "$WORK/md/tmp" -type f | wc -l)" 0

# SIGTERM: finish or roll back the message in progress, RSET, QUIT, 75.
server_put bob 200 20000 150000 term
want=$(hashes_of "$WORK/md" "$BOB_MAILDIR")
delivered=$(find "$WORK/md/new" -type f | wc -l)
"$MAILPIPE_FETCH" -C "$conf" 2>"$WORK/term.err" &
pid=$!
wait_delivering "$WORK/md" "$delivered"
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
check_eq "SIGTERM: exit 75" "$rc" 75
check "SIGTERM: says it was interrupted" grep -q "interrupted" "$WORK/term.err"
check_eq "SIGTERM: no tmp/ leftovers" "$(find "$WORK/md/tmp" -type f | wc -l)" 0
fetch -C "$conf"
check_eq "the next run finishes" "$RC" 0
check_same "every message exactly once after SIGTERM" "$(hashes_of "$WORK/md")" "$want"
check_eq "the server is empty again" "$(server_count bob)" 0
done_testing
