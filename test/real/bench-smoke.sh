#!/bin/bash
# scripts/bench-fetch and scripts/bench-send kept working and honest: each
# run small (--smoke: 50 messages or 3 sends, 2 rounds after a warm-up)
# against the real stack.  What is asserted is that every tool's every run
# was verified (the scripts check each message by SHA-256, or in the
# recipient's Maildir, and stop otherwise) and that the ratios, the floor
# multiples and the round trips were printed; and that a client which
# exits 0 with a wrong result stops the benchmark.  Times are never judged:
# a loaded machine must not fail a test.
. "$(dirname "$0")/lib.sh"
TOP=$(cd "$REAL_DIR/../.." && pwd)

# bench_ok NAME OUT TOOL...: exit 0 was checked by the caller; each TOOL's
# three runs verified, and ratios printed.
verified_all() {
	local name=$1 out=$2 tool
	shift 2
	for tool in "$@"; do
		grep -q "^verified $tool: 3 of 3 runs" "$out"
		ok $? "$name: every run of $tool verified"
	done
}

nice -n 10 "$TOP/scripts/bench-fetch" --smoke --mode delete >"$WORK/f1" 2>"$WORK/f1.err"
ok $? "bench-fetch --smoke (STLS, delete) exits 0" || tail -5 "$WORK/f1.err"
verified_all "fetch STLS delete" "$WORK/f1" pop3-floor mailpipe-fetch mpop fetchmail
grep -Eq '^ratio mpop / mailpipe-fetch: per round [0-9.]+ [0-9.]+; median [0-9.]+x, worst round [0-9.]+x$' "$WORK/f1"
ok $? "fetch: mpop's ratio per round, median and worst round printed"
grep -Eq '^ratio mailpipe-fetch / pop3-floor: per round .*; median [0-9.]+x' "$WORK/f1"
ok $? "fetch: mailpipe-fetch as a multiple of the floor printed"
grep -q '^getmail: not run' "$WORK/f1"
ok $? "fetch: getmail, which has no STLS, is said not to run"
# Where a loop device can be had, as root, the tools write to a journalled
# ext4 of the benchmark's own (benchlib.WorkDir), unmounted and gone, image
# and all, when it ends.
fs_dir=$(sed -n "s/^the tools' Maildirs and states were on .*: //p" "$WORK/f1")
if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && losetup -f >/dev/null 2>&1; then
	grep -q "^the tools' Maildirs and states were on a journalled ext4 of its own" "$WORK/f1"
	ok $? "fetch: the tools' files were on a journalled ext4 of its own"
else
	grep -q "^the tools' Maildirs and states were on a directory on the machine's" "$WORK/f1"
	ok $? "fetch: the tools' files were on the machine's file system, and it says so"
fi
[ -n "$fs_dir" ] && ! grep -q " $fs_dir " /proc/mounts && [ ! -e "$fs_dir" ]
ok $? "fetch: its work directory ($fs_dir) unmounted and removed at the end"
[ -n "$fs_dir" ] && [ ! -e "$fs_dir.img" ]
ok $? "fetch: its image removed at the end"

nice -n 10 "$TOP/scripts/bench-fetch" --smoke --count 10 --tls implicit --tools floor,mailpipe,getmail \
	>"$WORK/f2" 2>"$WORK/f2.err"
ok $? "bench-fetch --smoke (implicit TLS, keep) exits 0" || tail -5 "$WORK/f2.err"
verified_all "fetch implicit keep" "$WORK/f2" pop3-floor mailpipe-fetch getmail

nice -n 10 "$TOP/scripts/bench-fetch" --smoke --shape zero-new --tools floor,mailpipe,mpop \
	>"$WORK/f3" 2>"$WORK/f3.err"
ok $? "bench-fetch --smoke --shape zero-new exits 0" || tail -5 "$WORK/f3.err"
grep -q "^verified mailpipe-fetch: 3 of 3 runs, each Maildir empty (0 new)" "$WORK/f3"
ok $? "zero-new: the runs after the warm-up fetched nothing, and were checked for it"

# A client that exits 0 but leaves a wrong message must stop the benchmark.
cat >"$WORK/wrong-fetch" <<'SH'
#!/bin/sh
md=$(sed -n 's/^maildir = //p' "$2")
echo "not the server's message" >"$md/new/1.wrong"
SH
chmod 755 "$WORK/wrong-fetch"
MAILPIPE_FETCH=$WORK/wrong-fetch "$TOP/scripts/bench-fetch" --smoke --tools floor,mailpipe \
	>"$WORK/f4" 2>"$WORK/f4.err"
is "$?" 1 "bench-fetch: a wrong Maildir stops the benchmark (exit 1)"
grep -q "stopped: mailpipe-fetch: 1 messages in its Maildir, 50 wanted" "$WORK/f4.err"
ok $? "bench-fetch: and says what was wrong"

nice -n 10 "$TOP/scripts/bench-send" --smoke >"$WORK/s1" 2>"$WORK/s1.err"
ok $? "bench-send --smoke exits 0" || tail -5 "$WORK/s1.err"
verified_all "send 1k" "$WORK/s1" smtp-floor mailpipe-send msmtp
grep -Eq '^ratio msmtp / mailpipe-send: per round [0-9.]+ [0-9.]+; median [0-9.]+x' "$WORK/s1"
ok $? "send: msmtp's ratio printed"
grep -Eq '^ratio mailpipe-send / smtp-floor: per round .*; median [0-9.]+x' "$WORK/s1"
ok $? "send: mailpipe-send as a multiple of the floor printed"
for tool in smtp-floor mailpipe-send msmtp; do
	grep -Eq "^  $tool: [0-9.]+ \(min [0-9]+, max [0-9]+, 3 sessions\)" "$WORK/s1"
	ok $? "send: $tool's round trips counted in each of its sessions"
done

# A client that exits 0 without sending must stop it too.
MAILPIPE_SEND=/bin/true BENCH_DELIVERY_WAIT_S=3 "$TOP/scripts/bench-send" --smoke \
	--tools floor,mailpipe >"$WORK/s2" 2>"$WORK/s2.err"
is "$?" 1 "bench-send: a message never delivered stops the benchmark (exit 1)"
grep -q "stopped: mailpipe-send: 0 of 3 messages delivered" "$WORK/s2.err"
ok $? "bench-send: and says what was wrong"
done_testing
