#!/bin/bash
# mailpipe-fetch's progress line and summary (PROGRESS) against 2,000
# messages in Dovecot: under `script -qc` (a real pty) with --progress the
# line updates several times (\r redraws), and the summary counts 2,000;
# without a terminal nothing but the result (silence), with --stats only
# the summary; -q silences both even on a terminal.
. "$(dirname "$0")/fetch-lib.sh"

command -v script >/dev/null || { echo "1..0 # SKIP no script(1)"; exit 77; }
server_clear dave
server_put dave 2000 3000 12000 progress
check_eq "2,000 messages on the server" "$(server_count dave)" 2000
bytes=$(find "$DAVE_MAILDIR/new" "$DAVE_MAILDIR/cur" -type f -printf '%s\n' 2>/dev/null |
	awk '{s+=$1} END {print s}')

conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" work dave starttls "$WORK/md" keep=yes

# On a pty: script(1) gives the command a terminal; its stderr is the typescript.
FETCH_CMD="$MAILPIPE_FETCH -C $conf -a work --progress"
script -qec "$FETCH_CMD" /dev/null >"$WORK/tty.out" </dev/null
check_eq "on a terminal: exit 0" "$?" 0
check_eq "2,000 files" "$(find "$WORK/md/new" -type f | wc -l)" 2000
updates=$(grep -o $'\r'"work: [0-9,]*/2,000 msgs  [0-9.]* MB  [0-9.]* MB/s  ETA [0-9?:]*" \
	"$WORK/tty.out" | wc -l)
check "the line updates (${updates} redraws of the documented form)" [ "$updates" -ge 3 ]
check "the last redraw reads 2,000/2,000" grep -q $'\r'"work: 2,000/2,000 msgs" "$WORK/tty.out"
summary=$(tr '\r' '\n' <"$WORK/tty.out" | grep -a "retrieved (" | sed 's/\x1b\[K//g')
mb=$(python3 -c "import sys; b=int(sys.argv[1]); print('%.1f MB' % (b/1e6) if b < 1e8 else '%.0f MB' % (b/1e6))" \
	"$(find "$WORK/md/new" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')")
check "the summary: 2,000 retrieved ($mb), 0 deleted, 0 skipped, seconds" \
	grep -qxE "work: 2,000 retrieved \\($mb\\), 0 deleted, 0 skipped, [0-9]+\.[0-9] s" <<<"$summary"
note "summary: $summary"

# Without a terminal: nothing on stderr, even with 2,000 messages.
rm -rf "$WORK/md" "$WORK/state"
fetch -C "$conf" -a work
check_eq "no terminal: exit 0" "$RC" 0
check_eq "no terminal: nothing on stderr" "$(cat "$WORK/stderr")" ""
rm -rf "$WORK/md" "$WORK/state"
fetch -C "$conf" -a work --stats
check_eq "no terminal, --stats: only the summary line, no redraw" \
	"$(wc -l <"$WORK/stderr") $(grep -c $'\r' "$WORK/stderr") $(grep -c '^work: 2,000 retrieved' "$WORK/stderr")" "1 0 1"
rm -rf "$WORK/md" "$WORK/state"
script -qec "$FETCH_CMD --stats -q" /dev/null >"$WORK/tty.out" </dev/null
check_eq "-q on a terminal: exit 0" "$?" 0
check_eq "-q on a terminal: nothing at all" "$(cat "$WORK/tty.out")" ""
note "$bytes bytes on the server"
server_clear dave
done_testing
