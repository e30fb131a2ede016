#!/bin/bash
# The fetch state against Dovecot: it follows the account, not the port or
# TLS mode; a version 1 state is taken over; --maildir gets a state of its
# own; and a SIGKILL between QUIT's +OK and the state save (an LD_PRELOAD
# shim, crashpoint.so) costs nothing: the next run resolves the deletions
# the journal recorded, and nothing is delivered twice.
. "$(dirname "$0")/fetch-lib.sh"

server_clear bob
server_put bob 20 300 3000 state
want=$(hashes_of "$BOB_MAILDIR")
conf=$WORK/mailpipe.ini

# 1. Port and TLS mode change: STLS on one port, then implicit TLS on the other.
write_config "$conf"
add_account "$conf" moving bob starttls "$WORK/md" keep=yes
fetch -C "$conf"
check_same "STLS: the whole mailbox, once" "$(hashes_of "$WORK/md")" "$want"
write_config "$conf"
add_account "$conf" moving bob implicit "$WORK/md" keep=yes
fetch -C "$conf" -v
check_eq "implicit TLS on port $POP3_PORT_IMPLICIT exits 0" "$RC" 0
check "it retrieves nothing again" grep -q "moving: 0 messages retrieved" "$WORK/stderr"
check "-v says the server changed" grep -q "last used with $POP3_HOST:$POP3_PORT_STLS, now $POP3_HOST:$POP3_PORT_IMPLICIT" "$WORK/stderr"
check_same "still every message once" "$(hashes_of "$WORK/md")" "$want"

# 2. --delete --maildir DIR after keep runs: the whole mailbox into DIR.
fetch -C "$conf" --delete --maildir "$WORK/once"
check_eq "--delete --maildir exits 0" "$RC" 0
check_same "DIR holds the whole mailbox" "$(hashes_of "$WORK/once")" "$want"
check_eq "and the server is empty" "$(server_count bob)" 0

# 3. A version 1 state (keyed by user@host:port) is taken over.
server_put bob 5 300 3000 legacy
rm -rf "$WORK/state" "$WORK/md1"
write_config "$conf"
add_account "$conf" old bob starttls "$WORK/md1" keep=yes
"$MAILPIPE_FETCH" -C "$conf" --list >"$WORK/list" 2>/dev/null
old=$(printf '%s' "bob@$POP3_HOST:$POP3_PORT_STLS" | sha256sum | cut -c1-16)
mkdir -m 700 "$WORK/state"
{
	echo "mailpipe-fetch state 1"
	awk 'NR > 1 { print $3, $2, 1700000000, "1700000000.M" NR "P1Q1R1.old" }' "$WORK/list"
	echo "end $(($(wc -l <"$WORK/list") - 1))"
} >"$WORK/state/old.$old.state"
fetch -C "$conf" -v
check_eq "with a version 1 state: exits 0" "$RC" 0
check "it retrieves nothing" grep -q "old: 0 messages retrieved" "$WORK/stderr"
check "the version 1 file is gone" test ! -e "$WORK/state/old.$old.state"
check_eq "one state file now" "$(find "$WORK/state" -name '*.state' | wc -l)" 1

# 4. SIGKILL after QUIT +OK, before the state save.
rm -rf "$WORK/state"
server_clear bob
server_put bob 10 300 3000 crash
want=$(hashes_of "$BOB_MAILDIR")
write_config "$conf"
add_account "$conf" crash bob starttls "$WORK/md2" keep=no
RC=0
CRASHPOINT=state-save LD_PRELOAD=$CRASHPOINT_SO "$MAILPIPE_FETCH" -C "$conf" 2>"$WORK/stderr" || RC=$?
check_eq "killed at the state save (SIGKILL)" "$RC" 137
check_eq "after QUIT +OK: the server deleted them" "$(server_count bob)" 0
check "the journal holds the requested deletions" grep -q '^D ' "$WORK"/state/crash.*.journal
server_put bob 3 300 3000 after
want_all=$( (echo "$want"; hashes_of "$BOB_MAILDIR") | sort)
fetch -C "$conf"
check_eq "the next run exits 0" "$RC" 0
check_same "every message exactly once" "$(hashes_of "$WORK/md2")" "$want_all"
check_eq "the server is empty" "$(server_count bob)" 0
check_eq "the state holds nothing deleted" \
	"$(grep -vc -e '^mailpipe-fetch' -e '^account' -e '^user' -e '^server' -e '^end' "$WORK"/state/crash.*.state)" 0
done_testing
