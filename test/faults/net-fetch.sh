#!/bin/bash
# Network faults between mailpipe-fetch and the real Dovecot, made by the
# fault proxy: the link cut (FIN or RST) in the middle of a RETR in keep and
# delete mode, cut once QUIT reached the server, stalled past `timeout`,
# trickling until `deadline`, and cut under TLS.  Each run must end with
# 75 within its bound, leave no partial message (tmp/ empty, every file in
# new/ a whole server message), send no DELE for a message it did not
# deliver (every message still in the Maildir or on the server), and the
# next run must complete with every message exactly once.  Last, the
# figure of issue 13: 500 messages with 100 ms of latency each way.
. "$(dirname "$0")/faults-lib.sh"

COUNT=120

# fresh_case NAME: an empty Maildir and state, COUNT messages on the
# server; sets MD, CONF and WANT.
fresh_case() {
	server_clear bob
	server_put bob "$COUNT" 300 8000 "netf-$1"
	WANT=$(server_hashes bob)
	MD=$WORK/$1/md
	FETCH_STATE=$WORK/$1/state
	CONF=$WORK/$1/mailpipe.ini
	mkdir -p "$WORK/$1"
	write_config "$CONF"
}

# after_fault NAME BOUND_MS: the checks every faulty run must pass.
after_fault() {
	check_eq "$1: exit 75" "$RC" 75
	check "$1: ended within $2 ms (took $MS ms)" test "$MS" -lt "$2"
	check_eq "$1: no partial file left in tmp/" "$(find "$MD/tmp" -type f | wc -l)" 0
	check "$1: nothing lost, nothing twice, no stray file (no DELE of an undelivered message)" \
		no_loss "$WANT" "$(hashes_of "$MD")" "$(server_hashes bob)"
}

# next_run NAME [ARGS...]: the fault gone (the proxy faults session 1
# only), the run completes and every message is there exactly once.
next_run() {
	local name=$1
	shift
	fetch -C "$CONF" "$@"
	check_eq "$name: the next run exits 0" "$RC" 0
	check_same "$name: then every message exactly once" "$(hashes_of "$MD")" "$WANT"
}

# 1. Keep mode, FIN in the middle of a message of the second batch.
fresh_case cutkeep
proxy_start "$POP3_PORT_STLS" 'at=match:Subject:\snetf-cutkeep\s80\r\n offset=40 action=fin'
pop3_account "$CONF" f bob off "$PROXY_PORT" "$MD" keep=yes timeout=5
timed MS "$MAILPIPE_FETCH" -C "$CONF"
check "cut mid-RETR (keep): the proxy cut" proxy_fired "s2c fin at byte"
after_fault "cut mid-RETR (keep)" 7000
check "cut mid-RETR (keep): the line says the connection was lost" \
	grep -q "connection closed\|connection lost" "$WORK/stderr"
check_eq "cut mid-RETR (keep): the server still has every message" "$(server_count bob)" "$COUNT"
next_run "cut mid-RETR (keep)"

# 2. Delete mode, RST in the middle of a message of the first batch.
fresh_case cutdel
proxy_start "$POP3_PORT_STLS" 'at=match:Subject:\snetf-cutdel\s30\r\n offset=10 action=rst'
pop3_account "$CONF" f bob off "$PROXY_PORT" "$MD" keep=no timeout=5
timed MS "$MAILPIPE_FETCH" -C "$CONF"
check "reset mid-RETR (delete): the proxy reset" proxy_fired "s2c rst at byte"
after_fault "reset mid-RETR (delete)" 7000
check "reset mid-RETR (delete): Dovecot deleted nothing (no QUIT)" \
	test "$(server_count bob)" -eq "$COUNT"
next_run "reset mid-RETR (delete)"
check_eq "reset mid-RETR (delete): the server is empty after the next run" "$(server_count bob)" 0

# 3. Delete mode, the link cut right after QUIT reached Dovecot: it deletes,
# the client never hears so; the next run must not fetch anything again.
fresh_case quitcut
proxy_start "$POP3_PORT_STLS" 'dir=c2s at=match:QUIT\r\n action=fin'
pop3_account "$CONF" f bob off "$PROXY_PORT" "$MD" keep=no timeout=5
timed MS "$MAILPIPE_FETCH" -C "$CONF"
check "cut after QUIT (delete): the proxy cut after QUIT" proxy_fired "c2s fin at byte"
check_eq "cut after QUIT (delete): exit 75" "$RC" 75
check "cut after QUIT (delete): ended within 7 s (took $MS ms)" test "$MS" -lt 7000
check_same "cut after QUIT (delete): every message delivered once" "$(hashes_of "$MD")" "$WANT"
sleep 0.5	# Dovecot's expunge after its QUIT
next_run "cut after QUIT (delete)" -v
check "cut after QUIT (delete): the next run retrieves nothing" \
	grep -q " 0 messages retrieved" "$WORK/stderr"
check_eq "cut after QUIT (delete): the server is empty" "$(server_count bob)" 0

# 4. Keep mode, a stall longer than timeout in the middle of a message.
fresh_case stall
proxy_start "$POP3_PORT_STLS" 'at=match:Subject:\snetf-stall\s50\r\n offset=20 action=stall secs=30'
pop3_account "$CONF" f bob off "$PROXY_PORT" "$MD" keep=yes timeout=2
timed MS "$MAILPIPE_FETCH" -C "$CONF"
check "stall mid-RETR: the proxy stalled" proxy_fired "s2c stall at byte"
after_fault "stall mid-RETR (timeout 2 s)" 4500
check "stall mid-RETR: the line says it timed out" grep -q "timed out" "$WORK/stderr"
next_run "stall mid-RETR"

# 5. Delete mode, a trickle of one byte a second from the middle of a
# message: timeout never runs out, deadline must.
fresh_case trickle
proxy_start "$POP3_PORT_STLS" 'at=match:Subject:\snetf-trickle\s70\r\n offset=20 action=trickle'
pop3_account "$CONF" f bob off "$PROXY_PORT" "$MD" keep=no timeout=5 deadline=4
timed MS "$MAILPIPE_FETCH" -C "$CONF"
check "trickle: the proxy trickled" proxy_fired "s2c trickle at byte"
after_fault "trickle mid-RETR (deadline 4 s)" 6500
check "trickle: the line says the deadline was reached" grep -q "deadline reached" "$WORK/stderr"
next_run "trickle mid-RETR"
check_eq "trickle: the server is empty after the next run" "$(server_count bob)" 0

# 6. STLS then TLS, reset after 200 kB from the server (inside the
# encrypted stream, where no pattern can be seen).
fresh_case tlsrst
proxy_start "$POP3_PORT_STLS" 'at=bytes:200000 action=rst'
pop3_account "$CONF" f bob starttls "$PROXY_PORT" "$MD" keep=no timeout=5
timed MS "$MAILPIPE_FETCH" -C "$CONF"
check "reset under TLS: the proxy reset" proxy_fired "s2c rst at byte 200000"
after_fault "reset under TLS (delete)" 7000
next_run "reset under TLS"
check_eq "reset under TLS: the server is empty after the next run" "$(server_count bob)" 0

# 7. 500 messages, STLS, through the proxy without delay and with 100 ms
# each way.  Pipelined RETRs make the delay cost a few round trips per
# window, not one per message (that would be 500 x 0.2 s = 100 s).
COUNT=500
fresh_case latency
proxy_start "$POP3_PORT_STLS"
pop3_account "$CONF" f bob starttls "$PROXY_PORT" "$MD" keep=yes
timed base_ms "$MAILPIPE_FETCH" -C "$CONF"
check_eq "500 messages, no latency: exit 0" "$RC" 0
rm -rf "$MD" "$FETCH_STATE"
proxy_start "$POP3_PORT_STLS" 'session=all dir=both latency=100'
sed -i "s/^port = .*/port = $PROXY_PORT/" "$CONF"
timed slow_ms "$MAILPIPE_FETCH" -C "$CONF"
check_eq "500 messages, 100 ms each way: exit 0" "$RC" 0
check_same "500 messages, 100 ms each way: every message once" "$(hashes_of "$MD")" "$WANT"
note "500 messages: $base_ms ms without latency, $slow_ms ms with 100 ms each way" \
	"($(( (slow_ms - base_ms) / 200 )) round trips more)"
echo "FIGURE fetch-500-latency-100ms base_ms=$base_ms slow_ms=$slow_ms" >&2
check "100 ms each way costs under 25 round trips (not one per message, nor per 8)" \
	test $((slow_ms - base_ms)) -lt 5000

# 8. The window is bounded in octets as well (8 MiB, src/fetch.c): with
# messages of ~4.6 MB, at most two RETRs are in flight (the second joins
# while the first's 4.6 MB are under 8 MiB), so the third waits for the
# first answer.
COUNT=3
server_clear bob
server_put bob 3 4600000 4700000 netf-big
rm -rf "$MD" "$FETCH_STATE"
fetch -C "$CONF" -v
check_eq "three 1.2 MB messages: exit 0" "$RC" 0
# R: a RETR sent, A: an answer read.
order=$(grep -E '^(-> RETR|<- \+OK [0-9]+ octets)' "$WORK/stderr" |
	sed -E 's/^->.*/R/; s/^<-.*/A/' | tr -d '\n')
check_eq "big messages: RETR 3 waits for the first answer (octets in flight bounded)" \
	"$order" RRARAA
done_testing
