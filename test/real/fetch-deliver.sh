#!/bin/bash
# deliver = mda: every message exactly once through a real delivery agent,
# and at most one message twice per SIGKILL.
#
# Bob's mailbox is fetched with keep = no and each message handed to
# Dovecot's dovecot-lda for carol (the stack's own Dovecot, its own
# config), then carol's server Maildir is compared with what bob had, by
# sha256 (Dovecot puts Return-Path and Delivered-To lines above the
# message; they are cut before hashing).  Then the same under a SIGKILL
# loop of at least 20 kills: nothing may be lost; a message may arrive
# twice only when the kill fell between the MDA's exit 0 and the journal
# (the documented one-message window), so duplicates <= kills; the counts
# are printed.
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
lda="$LDA -c $DOVECOT_CONFIG -d carol -f %F"

# ---- one clean run ----
server_clear bob
server_clear carol
server_put bob 40 300 60000 mda
want=$(hashes_of "$BOB_MAILDIR")
write_config "$conf"
add_account "$conf" mda bob starttls "$WORK/unused" keep=no "deliver=mda $lda"
fetch -C "$conf"
check_eq "deliver = mda: exit 0" "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/#   /' "$WORK/stderr"
check_same "deliver = mda: every message once in carol's Maildir" \
	"$(hashes_delivered "$CAROL_MAILDIR")" "$want"
check_eq "deliver = mda: bob's mailbox is empty" "$(server_count bob)" 0
check "deliver = mda: no Maildir made" test ! -e "$WORK/unused"

# ---- a SIGKILL loop ----
server_clear carol
server_put bob 150 300 60000 mdakill
want=$(hashes_of "$BOB_MAILDIR")
rounds=0 kills=0 finished=no
while [ "$rounds" -lt 400 ]; do
	rounds=$((rounds + 1))
	"$MAILPIPE_FETCH" -C "$conf" 2>>"$WORK/kill.log" &
	pid=$!
	if [ "$kills" -lt "$MIN_KILLS" ]; then
		delay=$((100 + RANDOM % 400))
		sleep "0.$(printf '%03d' "$delay")"
		if kill -KILL "$pid" 2>/dev/null; then
			kills=$((kills + 1))
			wait "$pid" 2>/dev/null
			continue
		fi
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$(server_count bob)" -eq 0 ]; then
		finished=yes
		break
	fi
done
sleep 1		# an MDA a kill left running finishes its delivery
read -r missing extra < <(missing_and_extra "$(hashes_delivered "$CAROL_MAILDIR")" "$want")
note "deliver = mda: $rounds runs, $kills killed with SIGKILL, $missing lost, $extra delivered twice"
check_eq "deliver = mda: a run finished" "$finished" yes
check "deliver = mda: at least $MIN_KILLS kills" test "$kills" -ge "$MIN_KILLS"
check_eq "deliver = mda: nothing lost under SIGKILL" "$missing" 0
check "deliver = mda: at most one duplicate per kill ($extra <= $kills)" test "$extra" -le "$kills"
check_eq "deliver = mda: bob's mailbox is empty" "$(server_count bob)" 0
done_testing
