#!/bin/bash
# --all over several accounts (a failing one does not stop the others, the
# worst result is the exit status), a wrong password (77), and the
# per-account lock (a second concurrent run exits 75 with a clear line).
. "$(dirname "$0")/fetch-lib.sh"

server_clear bob
server_clear carol
server_put bob 20 200 3000 allbob
server_put carol 30 200 3000 allcarol
want_bob=$(hashes_of "$BOB_MAILDIR")
want_carol=$(hashes_of "$CAROL_MAILDIR")

conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" bob bob starttls "$WORK/bob" keep=yes
add_account "$conf" carol carol implicit "$WORK/carol" keep=yes

fetch -C "$conf" --all
check_eq "--all with two accounts exits 0" "$RC" 0
check_same "bob's 20 messages" "$(hashes_of "$WORK/bob")" "$want_bob"
check_same "carol's 30 messages" "$(hashes_of "$WORK/carol")" "$want_carol"

# A third account with a wrong password, listed first: the others still run.
conf2=$WORK/mailpipe2.ini
write_config "$conf2"
{
	echo "[pop3 broken]"
	echo "host = $POP3_HOST"
	echo "port = $POP3_PORT_STLS"
	echo "user = bob"
	echo "password = wrong-password"
	echo "maildir = $WORK/broken"
	echo "state_dir = $WORK/state2"
} >>"$conf2"
FETCH_STATE=$WORK/state2 add_account "$conf2" bob bob starttls "$WORK/bob2" keep=yes
FETCH_STATE=$WORK/state2 add_account "$conf2" carol carol implicit "$WORK/carol2" keep=yes
fetch -C "$conf2" --all
check_eq "--all with one wrong password exits 77 (the worst)" "$RC" 77
check "the failing account is named" grep -q "^mailpipe-fetch: broken: " "$WORK/stderr"
check_same "bob still fetched" "$(hashes_of "$WORK/bob2")" "$want_bob"
check_same "carol still fetched" "$(hashes_of "$WORK/carol2")" "$want_carol"

fetch -C "$conf2" -a broken
check_eq "wrong password alone: 77" "$RC" 77
check "and no Maildir file" test -z "$(find "$WORK/broken" -type f 2>/dev/null)"

# The lock: hold it as a running fetch would, then start another run.
lock=$(ls "$WORK"/state/bob.*.lock | head -n 1)
check "bob's lock file exists" test -f "$lock"
flock -n "$lock" sleep 2 &
holder=$!
for _ in $(seq 100); do flock -n "$lock" true || break; sleep 0.05; done
fetch -C "$conf" -a bob
check_eq "second concurrent run: 75" "$RC" 75
check "with a clear line" grep -q "in use by another mailpipe-fetch" "$WORK/stderr"
wait "$holder"
fetch -C "$conf" -a bob
check_eq "once the lock is free: 0" "$RC" 0

# keep=yes leaves the server as it was.
check_eq "bob's server mailbox untouched" "$(server_count bob)" 20
done_testing
