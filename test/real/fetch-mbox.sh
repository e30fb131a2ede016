#!/bin/bash
# deliver = mbox against Dovecot: every message exactly once, also when a
# run is killed in the middle of an append.
#
# 1. keep mode, then delete mode: bob's messages (with "From " lines,
#    ">From " lines and Return-Path fields in them) appended to an mbox;
#    read back with python3's mailbox.mbox, each unquoted (mboxrd: one '>'
#    less on ^>+From ) and compared by sha256 with the server's files.
# 2. A run killed with SIGKILL while it appends a large message (writes
#    slowed by strace so the kill lands inside the append; the test checks
#    the mbox was longer than the recorded start at the kill): the next run
#    cuts it back, and the mbox holds every message exactly once.
# 3. The same kill, then another program breaks the stale dot-lock and
#    appends a message: the next run cuts nothing, says so in one line and
#    exits 75 with the file untouched; the run after it goes on.  Then a
#    program that appends past the interrupted append's end (ignoring the
#    lock): the same, with that reason.
# 4. A SIGKILL loop of at least 20 kills: nothing lost, nothing twice;
#    the counts (and how many runs cut an append back) are printed.
. "$(dirname "$0")/fetch-lib.sh"

MIN_KILLS=${FETCH_MBOX_KILLS:-20}
conf=$WORK/mailpipe.ini
mkdir -m 700 "$WORK/mail"
MBOX=$WORK/mail/inbox

# put_quoting USER COUNT PREFIX [SIZE]: messages whose bodies have "From "
# lines, already quoted ones and a Return-Path on every other one; SIZE
# (bytes) makes one big message instead.
put_quoting() {
	local md
	md=$(maildir_of "$1")
	python3 - "$md/new" "$2" "$3" "${4:-0}" <<-'EOF'
		import os, random, sys, time
		outdir, count, prefix, big = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
		now = int(time.time())
		for i in range(count):
		    rnd = random.Random(f"{prefix}-{i}")
		    rp = f"Return-Path: <s{i}@example.test>\n" if i % 2 == 0 else ""
		    head = (f"{rp}From: sender@example.test\nTo: bob@example.test\n"
		            f"Subject: {prefix} {i}\nMessage-ID: <{prefix}.{i}.{now}@example.test>\n\n")
		    lines = []
		    for _ in range(rnd.randint(5, 60)):
		        k = rnd.random()
		        if k < 0.15: line = "From here on" + " x" * rnd.randint(0, 5)
		        elif k < 0.25: line = ">" * rnd.randint(1, 3) + "From quoted"
		        elif k < 0.30: line = "From"
		        elif k < 0.33: line = ""
		        elif k < 0.36: line = "."
		        else: line = "".join(rnd.choice("abc defg>F") for _ in range(rnd.randint(0, 70)))
		        lines.append(line)
		    body = "\n".join(lines) + "\n"
		    if big:
		        body += ("From the big one\n" + "y" * 998 + "\n") * (big // 1016)
		    with open(os.path.join(outdir, f"{now}.M{i}P{os.getpid()}.{prefix}"), "wb") as f:
		        f.write((head + body).encode())
		EOF
	chown -R "$MAIL_UID:$MAIL_GID" "$md"
}

# mbox_hashes MBOX: sorted sha256 of each message read back by python's
# mailbox.mbox, unquoted as mboxrd says; and the From lines checked
# (MAILER-DAEMON or the Return-Path address) -- a bad one prints BAD.
mbox_hashes() {
	python3 - "$1" <<-'EOF'
		import hashlib, mailbox, re, sys
		out = []
		if __import__("os").path.exists(sys.argv[1]):
		    box = mailbox.mbox(sys.argv[1], create=False)
		    for key in box.keys():
		        data = box.get_bytes(key)
		        sender = box.get_message(key).get_from().split(" ")[0]
		        rp = re.search(rb"^Return-Path: <([^>]*)>", data, re.M)
		        if sender != (rp.group(1).decode() if rp else "MAILER-DAEMON"):
		            out.append("BAD-FROM-LINE " + sender)
		        plain = re.sub(rb"(?m)^>(>*From )", rb"\1", data)
		        out.append(hashlib.sha256(plain).hexdigest())
		print("\n".join(sorted(out)))
		EOF
}

# missing_and_extra GOT WANT: "M E", messages of WANT not in GOT and
# copies in GOT beyond one per message (and anything not wanted).
missing_and_extra() {
	python3 - "$1" "$2" <<-'EOF'
		import collections, sys
		got = collections.Counter(l for l in sys.argv[1].split("\n") if l)
		want = set(l for l in sys.argv[2].split("\n") if l)
		print(len(want - set(got)), sum(n - 1 for n in got.values()) + len(set(got) - want))
		EOF
}

# new_config KEEP: a fresh account state and mbox.
new_config() {
	rm -rf "$conf" "$WORK/state" "$MBOX" "$MBOX.lock"
	write_config "$conf"
	add_account "$conf" mbox bob starttls "$WORK/unused" "keep=$1" "deliver=mbox $MBOX"
}

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# ---- 1. keep mode, then delete mode ----

server_clear bob
put_quoting bob 30 keepmode
want=$(hashes_of "$BOB_MAILDIR")
new_config yes
fetch -C "$conf"
check_eq "keep mode: exit 0" "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/#   /' "$WORK/stderr"
check_same "keep mode: every message once in the mbox, byte for byte after unquoting" \
	"$(mbox_hashes "$MBOX")" "$want"
check_eq "keep mode: the messages stay on the server" "$(server_count bob)" 30
check_eq "the mbox is created with mode 0600" "$(stat -c %a "$MBOX")" 600
check "no dot-lock left after the run" test ! -e "$MBOX.lock"
size=$(size_of "$MBOX")
fetch -C "$conf"
check_eq "keep mode, second run: exit 0, nothing appended" "$RC:$(size_of "$MBOX")" "0:$size"
grep -q '^>From here on' "$MBOX" && ok "the mbox holds quoted From lines" ||
	not_ok "the mbox holds quoted From lines"

server_clear bob
put_quoting bob 30 deletemode
want=$(hashes_of "$BOB_MAILDIR")
new_config no
fetch -C "$conf"
check_eq "delete mode: exit 0" "$RC" 0
check_same "delete mode: every message once in the mbox" "$(mbox_hashes "$MBOX")" "$want"
check_eq "delete mode: bob's mailbox is empty" "$(server_count bob)" 0

# ---- 2. killed while appending ----

# killed_append: the mbox holds a message another program delivered;
# bob gets 5 small messages and a 24 MB one; a run whose
# writes are slowed (20 ms each) is killed once the mbox grew past its
# recorded start by more than 1 MB, i.e. inside the append of the big one.
# Sets AT_KILL (the mbox size then) and START (the record's start).
killed_append() {
	local pid child i
	server_clear bob
	put_quoting bob 5 small
	put_quoting bob 1 big 24000000
	new_config no
	# What another program delivered before: the cut must keep it.
	printf 'From MAILER-DAEMON Mon Dec  7 12:00:00 2026\nSubject: old\n\nold\n\n' >"$MBOX"
	chmod 600 "$MBOX"
	want=$( (hashes_of "$BOB_MAILDIR"; printf 'Subject: old\n\nold\n' | sha256sum | cut -d' ' -f1) |
		LC_ALL=C sort)
	strace -f -qq -o /dev/null -e trace=write -e inject=write:delay_exit=20000 \
		"$MAILPIPE_FETCH" -C "$conf" 2>"$WORK/killed.err" &
	pid=$!
	AT_KILL=0
	for i in $(seq 3000); do
		AT_KILL=$(size_of "$MBOX")
		[ "$AT_KILL" -gt 1000100 ] && break
		sleep 0.02
	done
	child=$(pgrep -P "$pid" -x mailpipe-fetch | head -n 1)
	kill -KILL "${child:-$pid}" 2>/dev/null
	wait "$pid" 2>/dev/null
	AT_KILL=$(size_of "$MBOX")
	START=$(sed -n 's/^start //p' "$WORK/state/"*.mbox 2>/dev/null)
	END=$(sed -n 's/^msg \([0-9]*\) .*/\1/p' "$WORK/state/"*.mbox 2>/dev/null | tail -n 1)
}

killed_append
note "killed append: record start ${START:-none}, end ${END:-none}, mbox at the kill $AT_KILL"
check "the kill fell inside the append (start < size at the kill < end)" \
	test -n "$START" -a "$AT_KILL" -gt "${START:-0}" -a "$AT_KILL" -lt "${END:-0}"
check "the interrupted run left its dot-lock" test -e "$MBOX.lock"
fetch -C "$conf"
check_eq "after the kill: the next run exits 0" "$RC" 0
[ "$RC" -eq 0 ] || sed 's/^/#   /' "$WORK/stderr"
check "it says it cut the mbox back" \
	grep -q "warning: mbox $MBOX: cut back from $AT_KILL to $START bytes" "$WORK/stderr"
check_same "after the kill: every message exactly once in the mbox" \
	"$(mbox_hashes "$MBOX")" "$want"
check_eq "after the kill: bob's mailbox is empty" "$(server_count bob)" 0
check "no dot-lock left" test ! -e "$MBOX.lock"

# ---- 3. killed, then another program appends ----

killed_append
check "second kill fell inside the append" \
	test -n "$START" -a "$AT_KILL" -gt "${START:-0}" -a "$AT_KILL" -lt "${END:-0}"
# What liblockfile does with a lock whose process is gone: removes it,
# takes its own, appends, removes its own.
rm -f "$MBOX.lock"
printf 'From other@example.test Mon Dec  7 12:00:00 2026\nSubject: other\n\nhello\n\n' >>"$MBOX"
before=$(sha256sum <"$MBOX")
fetch -C "$conf"
check_eq "another program appended after the kill: exit 75" "$RC" 75
check "one line says the append was not cut back, and why (the lock was taken)" \
	grep -q "mbox $MBOX: an append an earlier run did not finish (bytes $START to $END) was not cut back: its lock was taken by another program since" "$WORK/stderr"
check_eq "the line is the only one" "$(wc -l <"$WORK/stderr")" 1
check_eq "the mbox is left as it was" "$(sha256sum <"$MBOX")" "$before"
fetch -C "$conf"
check_eq "the run after it goes on: exit 0" "$RC" 0
got=$(mbox_hashes "$MBOX")
read -r missing extra < <(missing_and_extra "$got" "$want")
check_eq "and every message of the server is in the mbox" "$missing" 0
check_eq "bob's mailbox is empty" "$(server_count bob)" 0

killed_append
check "third kill fell inside the append" \
	test -n "$START" -a "$AT_KILL" -gt "${START:-0}" -a "$AT_KILL" -lt "${END:-0}"
# A program that ignores the dot-lock appends more than the rest of the
# interrupted append would have.
python3 -c 'import sys; sys.stdout.write("\nFrom other@example.test Mon Dec  7 12:00:00 2026\n\n" + "w" * 100 + "\n" * int(sys.argv[1]))' \
	$((END - AT_KILL + 10)) >>"$MBOX"
before=$(sha256sum <"$MBOX")
fetch -C "$conf"
check_eq "another program appended past the append's end: exit 75" "$RC" 75
check "one line says so" \
	grep -q "mbox $MBOX: an append an earlier run did not finish (bytes $START to $END) was not cut back: another program appended to it since" "$WORK/stderr"
check_eq "the mbox is left as it was" "$(sha256sum <"$MBOX")" "$before"
fetch -C "$conf"
check_eq "the run after it goes on: exit 0" "$RC" 0

# ---- 4. the SIGKILL loop ----

# run_kill_at_growth: runs the client and SIGKILLs it within 4 ms after
# the mbox grew past its size at the start (so inside an append, between
# its fsync and the journal, or just after); status 0 when it was killed,
# 1 when it ended first.  The client is started by python itself, so that
# the watch begins with it (the system python: no pyenv shim to wait for).
run_kill_at_growth() {
	/usr/bin/python3 - "$MBOX" "$MAILPIPE_FETCH" "$conf" "$WORK/kill.log" <<-'EOF'
		import os, random, signal, subprocess, sys, time
		path, client, conf, log = sys.argv[1:5]
		def size():
		    try:
		        return os.stat(path).st_size
		    except FileNotFoundError:
		        return 0
		before = size()
		with open(log, "ab") as err:
		    p = subprocess.Popen([client, "-C", conf], stderr=err)
		deadline = time.time() + 120
		while p.poll() is None and time.time() < deadline:
		    if size() > before:
		        time.sleep(random.random() * 0.004)
		        break
		    time.sleep(0.0002)
		if p.poll() is not None:
		    sys.exit(1)
		p.kill()
		p.wait()
		EOF
}

# kill_loop: 120 messages of up to 40 kB at a time; runs killed with
# SIGKILL until MIN_KILLS kills, every other one at a random moment and
# the others as the mbox grows (kill_at_growth), at least half of them
# after the mbox grew in the killed run; then runs until one ends 0 with
# bob's mailbox empty.
kill_loop() {
	local rounds=0 kills=0 appending=0 finished=no pid rc base=100 before batches=0
	local missing extra cuts
	server_clear bob
	new_config no
	want=
	while [ "$rounds" -lt 400 ]; do
		rounds=$((rounds + 1))
		if [ "$(server_count bob)" -eq 0 ] && ! enough_kills; then
			batches=$((batches + 1))
			put_quoting bob 120 "kill$batches" $((RANDOM % 40000))
			want=$(printf '%s\n%s' "$want" "$(hashes_of "$BOB_MAILDIR")")
		fi
		before=$(size_of "$MBOX")
		if ! enough_kills && [ $((rounds % 2)) -eq 0 ]; then
			if run_kill_at_growth; then
				kills=$((kills + 1))
				appending=$((appending + 1))
			fi
			continue
		fi
		"$MAILPIPE_FETCH" -C "$conf" 2>>"$WORK/kill.log" &
		pid=$!
		if ! enough_kills; then
			sleep "$(awk -v ms=$((base + RANDOM % 300)) 'BEGIN { printf "%.3f", ms / 1000 }')"
			if kill -KILL "$pid" 2>/dev/null; then
				wait "$pid" 2>/dev/null
				kills=$((kills + 1))
				if [ "$(size_of "$MBOX")" -gt "$before" ]; then
					appending=$((appending + 1))
				elif [ "$base" -lt 5000 ]; then
					base=$((base + 150))
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
	cuts=$(grep -c 'cut back from' "$WORK/kill.log")
	read -r missing extra < <(missing_and_extra "$(mbox_hashes "$MBOX")" "$want")
	note "deliver = mbox: $rounds runs, $((batches * 120)) messages, $kills killed with SIGKILL ($appending after the mbox grew), $cuts appends cut back, $missing lost, $extra twice"
	check_eq "kill loop: a run finished" "$finished" yes
	check "kill loop: at least $MIN_KILLS kills" test "$kills" -ge "$MIN_KILLS"
	check "kill loop: at least $((MIN_KILLS / 2)) kills after the mbox grew" \
		test "$appending" -ge $((MIN_KILLS / 2))
	check_eq "kill loop: nothing lost" "$missing" 0
	check_eq "kill loop: nothing twice" "$extra" 0
	check_eq "kill loop: bob's mailbox is empty" "$(server_count bob)" 0
}

enough_kills() {
	[ "$kills" -ge "$MIN_KILLS" ] && [ "$appending" -ge $((MIN_KILLS / 2)) ]
}

kill_loop
done_testing
