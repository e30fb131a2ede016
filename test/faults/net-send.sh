#!/bin/bash
# Network faults between mailpipe-send and the real Postfix, made by the
# fault proxy on Postfix's port without TLS (so the proxy can see the
# commands): the link cut or reset in the middle of DATA, cut right after
# the final dot, the answer to the dot lost, QUIT lost after a 250, a stall
# past `timeout`, a trickle until `deadline`.  Each run must end within its
# bound with the documented status; a run never says "sent" (exit 0) for a
# message Postfix did not queue, says "may have been delivered" whenever
# Postfix may have it, and no fault delivers a message twice.
. "$(dirname "$0")/faults-lib.sh"

# new_message: a fresh token in TOKEN and the message in $WORK/message,
# with a 6 MB body: more than the socket buffers and the proxy's queue
# hold, so a cut at its 3000th line finds the client still writing.
new_message() {
	TOKEN=netsend-$(date +%s%N)-$RANDOM
	{
		printf 'From: %s\nTo: %s\nSubject: %s\n\n' "$ALICE_ADDRESS" "$ALICE_ADDRESS" "$TOKEN"
		seq 100000 | sed "s/.*/netsend body line & of the message, $TOKEN/"
	} >"$WORK/message"
}

# send_through CONF_KEYS RULE...: a fresh message, a proxy with RULEs,
# one send through it; RC, MS and $WORK/stderr as timed gives them.
send_through() {
	local keys=$1
	shift
	new_message
	proxy_start "$SMTP_PORT_PLAIN" "$@"
	# shellcheck disable=SC2086
	smtp_plain_config "$WORK/send.ini" "$PROXY_PORT" $keys
	timed MS "$MAILPIPE_SEND" -C "$WORK/send.ini" "$ALICE_ADDRESS" <"$WORK/message"
}

# delivered [SECONDS]: how many copies of TOKEN's message Postfix
# delivered, once it had SECONDS (default 3) to do so.
delivered() {
	$MAILCHECK wait "$ALICE_MAILDIR" "$TOKEN" "${1:-3}" >/dev/null 2>&1
	sleep 0.5	# a second copy would follow the first closely
	$MAILCHECK count "$ALICE_MAILDIR" "$TOKEN"
}

# not_sent NAME BOUND_MS: a fault before the end of the message: 75 within
# the bound, not a word about a possible delivery, and nothing delivered.
not_sent() {
	check_eq "$1: exit 75" "$RC" 75
	check "$1: ended within $2 ms (took $MS ms)" test "$MS" -lt "$2"
	check "$1: does not claim a possible delivery" \
		bash -c "! grep -q 'may have been delivered' '$WORK/stderr'"
	check_eq "$1: Postfix delivered nothing" "$(delivered)" 0
}

# 1-2. The link cut (FIN) or reset in the middle of the body.
send_through "timeout=5" 'dir=c2s at=match:netsend\sbody\sline\s3000\s action=fin'
check "cut mid-DATA: the proxy cut" proxy_fired "c2s fin at byte"
not_sent "cut mid-DATA" 7000
send_through "timeout=5" 'dir=c2s at=match:netsend\sbody\sline\s2000\s action=rst'
check "reset mid-DATA: the proxy reset" proxy_fired "c2s rst at byte"
not_sent "reset mid-DATA" 7000

# 3. The link cut right after the final dot went out: Postfix may queue the
# message, so the run must fail with the duplicate warning, and at most one
# copy may arrive.
send_through "timeout=5" 'dir=c2s at=match:\r\n.\r\n action=fin'
check "cut after the dot: the proxy cut" proxy_fired "c2s fin at byte"
check_eq "cut after the dot: exit 75" "$RC" 75
check "cut after the dot: ended within 7 s (took $MS ms)" test "$MS" -lt 7000
check "cut after the dot: says it may have been delivered" \
	grep -q "may have been delivered" "$WORK/stderr"
n=$(delivered)
check "cut after the dot: at most one copy delivered ($n)" test "$n" -le 1

# 4. Postfix's 250 to the dot never reaches the client: it queued the
# message, so the run says it may have been delivered; exactly one copy.
send_through "timeout=5" 'at=match:250\s2.0.0\sOk:\squeued offset=-20 action=fin'
check "answer to the dot lost: the proxy cut before the 250" proxy_fired "s2c fin at byte"
check_eq "answer to the dot lost: exit 75" "$RC" 75
check "answer to the dot lost: says it may have been delivered" \
	grep -q "may have been delivered" "$WORK/stderr"
check_eq "answer to the dot lost: Postfix delivered it once" "$(delivered 10)" 1

# 5. The 250 arrived, QUIT is lost: the message is sent (0), once.
send_through "timeout=5" 'dir=c2s at=match:QUIT\r\n offset=-6 action=fin'
check "QUIT lost: the proxy cut before QUIT" proxy_fired "c2s fin at byte"
check_eq "QUIT lost after the 250: exit 0 (the message was accepted)" "$RC" 0
check_eq "QUIT lost after the 250: delivered once" "$(delivered 10)" 1

# 6. A stall longer than timeout before the 354 (or the answers to the
# pipelined envelope).
send_through "timeout=2" 'at=match:354\s offset=-4 action=stall secs=30'
check "stall before 354: the proxy stalled" proxy_fired "s2c stall at byte"
not_sent "stall before 354 (timeout 2 s)" 4500
check "stall before 354: the line says it timed out" grep -q "timed out" "$WORK/stderr"

# 7. A trickle of a byte a second from the greeting on: every wait is
# shorter than timeout, the deadline must end it.
send_through "timeout=10 deadline=3" 'rate=1'
not_sent "trickle (deadline 3 s)" 5500
check "trickle: the line says the deadline was reached" grep -q "deadline reached" "$WORK/stderr"

# 8. The fault gone: through the same kind of proxy, sent once.
send_through "timeout=5"
check_eq "no fault: exit 0" "$RC" 0
check_eq "no fault: delivered once" "$(delivered 10)" 1
done_testing
