#!/bin/bash
# Soak (issue 13, scripts/test --long only): one 50,000-message fetch from
# Dovecot, keep mode and then delete mode, and 5,000 sends in a loop
# through Postfix.  soak.py samples each process's peak RSS and open file
# descriptors from /proc while it runs and prints the curves (a row every
# 500 sends, every 5,000 fetched messages); they must stay flat, and the
# state (journal + state file) must grow linearly with the messages.
# Every send must exit 0 and reach the Maildir; every fetched message
# arrives exactly once (sha256 against the server's files), and the delete
# run empties the server.
. "$(dirname "$0")/fetch-lib.sh"

if [ -z "${MAILPIPE_TEST_LONG:-}" ]; then
	echo "1..0 # SKIP the soak runs only with MAILPIPE_TEST_LONG=1 (scripts/test --long)"
	exit 77
fi
SENDS=${SOAK_SENDS:-5000}
FETCHES=${SOAK_FETCHES:-50000}
SOAK=$(dirname "$0")/soak.py
MAILPIPE_SEND=${MAILPIPE_SEND:-$FETCH_SRC_DIR/build/src/mailpipe-send}
MAILCHECK="python3 $FETCH_SRC_DIR/test/real/mailcheck.py"

# soak ARGS...: soak.py, its CHECK lines turned into TAP, the rest shown.
soak() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"CHECK ok "*) ok "${line#CHECK ok }" ;;
		"CHECK fail "*) not_ok "${line#CHECK fail }" ;;
		*) echo "$line" ;;
		esac
	done < <(python3 "$SOAK" "$@")
}

# 1. One fetch of 50,000 messages, keep mode, then delete mode, with the
# default timeout (60 s; write_config's 20 s line removed): the wait for
# QUIT's answer grows with the DELEs (10 ms each), so Dovecot's expunge of
# 50,000 files before its +OK does not end the delete run with 75.  First,
# so that its result does not wait on the sends' minutes.
server_clear bob
t0=$(ms_now)
python3 "$SOAK" fill "$BOB_MAILDIR" "$FETCHES" soak
chown -R "$MAIL_UID:$MAIL_GID" "$BOB_MAILDIR"
note "$FETCHES messages written into Dovecot's Maildir in $((($(ms_now) - t0) / 1000)) s"
conf=$WORK/fetch.ini
write_config "$conf"
sed -i '/^timeout = /d' "$conf"
add_account "$conf" soak bob starttls "$WORK/md" keep=yes
soak fetch-keep $((FETCHES / 10)) "$WORK/md" "$WORK/state" -- "$MAILPIPE_FETCH" -C "$conf"
check_same "keep: every message exactly once" "$(hashes_of "$WORK/md")" "$(hashes_of "$BOB_MAILDIR")"
note "state after the keep run: $(du -b "$WORK/state"/* | tr '\n' ' ')"
sed -i -e 's/^keep = yes/keep = no/' "$conf"
soak fetch "$WORK/md" "$WORK/state" -- "$MAILPIPE_FETCH" -C "$conf"
check_eq "delete: the server is empty" "$(server_count bob)" 0
check_eq "delete: still every message once, none fetched again" \
	"$(find "$WORK/md/new" "$WORK/md/cur" -type f | wc -l)" "$FETCHES"
note "state after the delete run: $(du -b "$WORK/state"/* | tr '\n' ' ')"

# 2. Sends, to dave (whose Maildir no other test counts), on Postfix's
# plain port: no TLS handshake or AUTH, so 5,000 of them take minutes, not
# a quarter of an hour (both are exercised by the real suite).
TOKEN=soak-$(date +%s%N)
cat >"$WORK/send.ini" <<-INI
	[smtp soak]
	host = $SMTP_HOST
	port = $SMTP_PORT_PLAIN
	tls = off
	from = $ALICE_ADDRESS
	domain = $MAIL_DOMAIN
	timeout = 30
INI
chmod 600 "$WORK/send.ini"
t0=$(ms_now)
soak sends "$SENDS" $((SENDS / 10)) "$WORK/send.ini" "$DAVE_ADDRESS" "$TOKEN" -- "$MAILPIPE_SEND"
note "sends: $((($(ms_now) - t0) / 1000)) s in all"
for _ in $(seq 600); do
	delivered=$($MAILCHECK count "$DAVE_MAILDIR" "$TOKEN")
	[ "$delivered" -ge "$SENDS" ] && break
	sleep 1
done
check_eq "every send reached the Maildir" "$delivered" "$SENDS"
grep -l "$TOKEN" -r "$DAVE_MAILDIR/new" "$DAVE_MAILDIR/cur" 2>/dev/null | xargs -r rm -f

done_testing
