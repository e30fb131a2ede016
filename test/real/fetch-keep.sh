#!/bin/bash
# keep = 1d against Dovecot (issue 15): every message is retrieved at once
# and left on the server; then the state's clock is moved back (the test
# edits the first-retrieval times the state records: three entries 25
# hours old, one 23 hours) and the next run deletes exactly the three that
# are a day old, each already in the Maildir, and retrieves the new mail
# without deleting it.  A run after that deletes nothing more.
. "$(dirname "$0")/fetch-lib.sh"

server_clear bob
server_put bob 6 300 3000 keep
conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" keep bob starttls "$WORK/md" keep=1d

fetch -C "$conf"
check_eq "keep = 1d: the first run exits 0" "$RC" 0
check_same "every message retrieved once" "$(hashes_of "$WORK/md")" "$(hashes_of "$BOB_MAILDIR")"
check_eq "none deleted: they are younger than a day" "$(server_count bob)" 6

# The state's entries: UIDL SIZE FETCHED FLAGS DIGEST FILE (uidl.h).
state=$(find "$WORK/state" -name 'keep.*.state')
check_eq "one state file" "$(printf '%s\n' "$state" | grep -c .)" 1
mapfile -t uidls < <(awk 'NF == 6 { print $1 }' "$state")
check_eq "six entries in it" "${#uidls[@]}" 6
now=$(date +%s)
aged=$(printf '%s\n' "${uidls[@]:0:3}" | sort)
awk -v old="$((now - 90000))" -v young="$((now - 82800))" \
    -v a="${uidls[0]}" -v b="${uidls[1]}" -v c="${uidls[2]}" -v d="${uidls[3]}" '
	NF == 6 && ($1 == a || $1 == b || $1 == c) { $3 = old }
	NF == 6 && $1 == d { $3 = young }
	{ print }' "$state" >"$state.new" && mv "$state.new" "$state"
note "moved back: ${uidls[*]:0:3} by 25 hours, ${uidls[3]} by 23 hours"

server_put bob 2 300 3000 later
want=$(hashes_of "$BOB_MAILDIR")

"$MAILPIPE_FETCH" -C "$conf" --list >"$WORK/list" 2>"$WORK/stderr"
check_eq "--list exits 0" "$?" 0
check_eq "--list: the three aged ones go now, a day and an hour old" \
	"$(grep -cE ' retrieved 1d1h now$' "$WORK/list")" 3
check "--list: the one 23 hours old goes in an hour" \
	grep -qE "^[0-9]+ [0-9]+ ${uidls[3]} retrieved 23h0m [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$" "$WORK/list"
check_eq "--list: the two new ones" "$(grep -cE ' new - -$' "$WORK/list")" 2
awk 'NR > 1 { print $3 }' "$WORK/list" | sort >"$WORK/before"

fetch -C "$conf" -v
check_eq "keep = 1d after a day: exits 0" "$RC" 0
check "-v: 2 retrieved, 3 deleted" grep -q "keep: 2 messages retrieved ([0-9]* bytes), 3 deleted, 0 skipped" "$WORK/stderr"
check_same "the Maildir holds every message, each once, the deleted ones too" \
	"$(hashes_of "$WORK/md")" "$want"
check_eq "the server has 8 - 3 messages" "$(server_count bob)" 5
"$MAILPIPE_FETCH" -C "$conf" --list 2>/dev/null | awk 'NR > 1 { print $3 }' | sort >"$WORK/after"
check_same "exactly the three aged UIDLs are gone from the server" \
	"$(comm -23 "$WORK/before" "$WORK/after")" "$aged"
check_eq "the state forgot them (QUIT confirmed)" \
	"$(awk 'NF == 6' "$state" | grep -cFf <(printf '%s\n' "${uidls[@]:0:3}"))" 0

fetch -C "$conf" -v
check_eq "the next run exits 0" "$RC" 0
check "and deletes nothing more" grep -q "keep: 0 messages retrieved (0 bytes), 0 deleted" "$WORK/stderr"
check_eq "the server still has 5" "$(server_count bob)" 5

done_testing
