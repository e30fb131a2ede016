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
check "the failing account and its server are named" grep -q "^mailpipe-fetch: broken ($POP3_HOST:$POP3_PORT_STLS): " "$WORK/stderr"
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

# SIGTERM during --all: the account in progress ends (75) and no other one
# is started.  The first account's server is a tarpit that greets and then
# says nothing, so the signal surely arrives while that account is busy.
python3 - "$WORK/tarpit.port" <<'PY' &
import os, socket, sys
port_file = sys.argv[1]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
open(port_file + ".tmp", "w").write(str(ls.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
ls.settimeout(30)
c, _ = ls.accept()
c.sendall(b"+OK tarpit\r\n")
open(port_file + ".connected", "w").close()
c.settimeout(30)
try:
    while c.recv(4096):
        pass
except OSError:
    pass
PY
tarpit=$!
wait_port_file "$WORK/tarpit.port" tarpit
conf3=$WORK/mailpipe3.ini
write_config "$conf3"
{
	echo "[pop3 slow]"
	echo "host = 127.0.0.1"
	echo "port = $(cat "$WORK/tarpit.port")"
	echo "tls = off"
	echo "user = bob"
	echo "password = unused"
	echo "maildir = $WORK/slow"
	echo "state_dir = $WORK/state3"
	echo "timeout = 2"
} >>"$conf3"
FETCH_STATE=$WORK/state3 add_account "$conf3" carol carol implicit "$WORK/carol3" keep=yes
RC=0
"$MAILPIPE_FETCH" -C "$conf3" --all 2>"$WORK/stderr" &
fetcher=$!
for _ in $(seq 200); do [ -e "$WORK/tarpit.port.connected" ] && break; sleep 0.05; done
kill -TERM "$fetcher"
wait "$fetcher" || RC=$?
wait "$tarpit" || true
check_eq "SIGTERM during --all: 75" "$RC" 75
check "the account not started is named" grep -q "carol: not fetched: interrupted by signal" "$WORK/stderr"
check "and it was not fetched" test ! -e "$WORK/carol3"
done_testing
