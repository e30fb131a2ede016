#!/bin/bash
# deliver = mda and deliver = lmtp: every message exactly once through a
# real delivery agent, and at most one message twice per SIGKILL.
#
# For each target, bob's mailbox is fetched with keep = no and each
# message handed to the stack's own Dovecot for carol: through
# dovecot-lda (mda) or its LMTP socket (lmtp).  Then carol's server
# Maildir is compared with what bob had, by sha256 (Dovecot puts
# Return-Path and Delivered-To lines above the message; they are cut
# before hashing).  Then the same under a SIGKILL loop of at least 20
# kills: nothing may be lost; a message may arrive twice only when the
# kill fell between the target's acceptance and the journal (the
# documented one-message window), so duplicates <= kills; the counts are
# printed.
. "$(dirname "$0")/fetch-lib.sh"

LDA=/usr/lib/dovecot/dovecot-lda
[ -x "$LDA" ] || { echo "1..0 # SKIP no $LDA"; exit 77; }
MIN_KILLS=${FETCH_DELIVER_KILLS:-20}

# hashes_delivered DIR: sorted sha256 of each message in DIR/new and DIR/cur
# with the lines a delivery agent put above the original first line cut.
hashes_delivered() {
	python3 - "$1" <<-'EOF'
		import hashlib, os, sys
		out = []
		for sub in ("new", "cur"):
		    p = os.path.join(sys.argv[1], sub)
		    for name in os.listdir(p) if os.path.isdir(p) else []:
		        with open(os.path.join(p, name), "rb") as f:
		            data = f.read().replace(b"\r\n", b"\n")
		        start = data.find(b"From: sender@example.test\n")
		        out.append(hashlib.sha256(data[start:] if start >= 0 else data).hexdigest())
		print("\n".join(sorted(out)))
		EOF
}

# count_delivered DIR: messages in DIR/new and DIR/cur.
count_delivered() {
	find "$1/new" "$1/cur" -type f 2>/dev/null | wc -l
}

# more_delivered_than MAILDIR COUNT: MAILDIR holds more than COUNT messages.
more_delivered_than() { [ "$(count_delivered "$1")" -gt "$2" ]; }

# missing_and_extra GOT WANT: "M E", messages of WANT not in GOT and
# copies in GOT beyond one per message.
missing_and_extra() {
	python3 - "$1" "$2" <<-'EOF'
		import collections, sys
		got = collections.Counter(l for l in sys.argv[1].split("\n") if l)
		want = set(l for l in sys.argv[2].split("\n") if l)
		print(len(want - set(got)), sum(n - 1 for n in got.values()) + len(set(got) - want))
		EOF
}

conf=$WORK/mailpipe.ini

# clean_run NAME DELIVER: one run delivers bob's 40 messages once each.
clean_run() {
	local name=$1
	server_clear bob
	server_clear carol
	server_put bob 40 300 60000 "$name"
	want=$(hashes_of "$BOB_MAILDIR")
	rm -f "$conf"
	write_config "$conf"
	add_account "$conf" "$name" bob starttls "$WORK/unused" keep=no "deliver=$2" \
		lmtp_recipient=carol@example.test
	fetch -C "$conf"
	check_eq "deliver = $name: exit 0" "$RC" 0
	[ "$RC" -eq 0 ] || sed 's/^/#   /' "$WORK/stderr"
	check_same "deliver = $name: every message once in carol's Maildir" \
		"$(hashes_delivered "$CAROL_MAILDIR")" "$want"
	check_eq "deliver = $name: bob's mailbox is empty" "$(server_count bob)" 0
	check "deliver = $name: no Maildir made" test ! -e "$WORK/unused"
}

# enough_kills: the kill loop has its MIN_KILLS kills, half of them while
# messages were being handed over (reads kill_loop's kills and handing).
enough_kills() {
	[ "$kills" -ge "$MIN_KILLS" ] && [ "$handing" -ge $((MIN_KILLS / 2)) ]
}

# kill_loop NAME: 120 messages, runs of the config of clean_run killed
# with SIGKILL at random moments until MIN_KILLS kills, at least half of
# them while messages were being handed over (carol got some during the
# killed run), then runs until one ends 0 with bob's mailbox empty.  The
# moment of the kill adapts: later while kills land before any handing
# over (connecting, retrieving), earlier when runs end before the kill.
# Under valgrind it is TIME_SCALE times later, counted from the run's
# first hand-over (timescale.sh).
# A fast target can take every message before the kills are counted: then
# bob gets another 120 (refill), and those are expected too.
kill_loop() {
	local name=$1 rounds=0 kills=0 handing=0 finished=no pid rc before
	local base=$((100 * TIME_SCALE)) step=$((150 * TIME_SCALE)) cap=$((5000 * TIME_SCALE))
	local missing extra batches=0
	server_clear carol
	want=
	while [ "$rounds" -lt 400 ]; do
		rounds=$((rounds + 1))
		if [ "$(server_count bob)" -eq 0 ] && ! enough_kills; then
			batches=$((batches + 1))
			server_put bob 120 300 6000 "${name}kill$batches"
			want=$(printf '%s\n%s' "$want" "$(hashes_of "$BOB_MAILDIR")")
		fi
		before=$(count_delivered "$CAROL_MAILDIR")
		"$MAILPIPE_FETCH" -C "$conf" 2>>"$WORK/kill-$name.log" &
		pid=$!
		if ! enough_kills; then
			anchor_after "$pid" more_delivered_than "$CAROL_MAILDIR" "$before"
			sleep_ms $((base + $(random_ms $((300 * TIME_SCALE)))))
			if kill -KILL "$pid" 2>/dev/null; then
				wait "$pid" 2>/dev/null
				kills=$((kills + 1))
				sleep 0.2	# an MDA the kill left running finishes
				if [ "$(count_delivered "$CAROL_MAILDIR")" -gt "$before" ]; then
					handing=$((handing + 1))
				elif [ "$base" -lt "$cap" ]; then
					base=$((base + step))
				fi
				continue
			fi
			base=$((base / 2))
		fi
		wait "$pid"
		rc=$?
		if [ "$rc" -eq 0 ] && [ "$(server_count bob)" -eq 0 ] && enough_kills; then
			finished=yes
			break
		fi
	done
	sleep 1		# an MDA a kill left running finishes its delivery
	read -r missing extra < <(missing_and_extra "$(hashes_delivered "$CAROL_MAILDIR")" "$want")
	note "deliver = $name: $rounds runs, $((batches * 120)) messages, $kills killed with SIGKILL ($handing while handing messages over), $missing lost, $extra delivered twice"
	check_eq "deliver = $name: a run finished" "$finished" yes
	check "deliver = $name: at least $MIN_KILLS kills" test "$kills" -ge "$MIN_KILLS"
	check "deliver = $name: at least $((MIN_KILLS / 2)) kills while handing over" \
		test "$handing" -ge $((MIN_KILLS / 2))
	check_eq "deliver = $name: nothing lost under SIGKILL" "$missing" 0
	check "deliver = $name: at most one duplicate per kill ($extra <= $kills)" \
		test "$extra" -le "$kills"
	check_eq "deliver = $name: bob's mailbox is empty" "$(server_count bob)" 0
}

clean_run mda "mda $LDA -c $DOVECOT_CONFIG -d carol -f %F"
kill_loop mda
clean_run lmtp "lmtp unix:$STACK_DIR/run/lmtp"
kill_loop lmtp
done_testing
