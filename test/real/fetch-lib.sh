#!/bin/bash
# fetch-lib.sh: helpers shared by the test/real/fetch-*.sh tests (sourced).
#
# Every test reads the running stack from $MAILPIPE_STACK_ENV (the env file
# written by scripts/stack-start) and the client from $MAILPIPE_FETCH
# (default: build/src/mailpipe-fetch).  The fetch tests use the stack's bob
# and carol mailboxes (the send tests use alice) and run one at a time (a
# lock under STACK_DIR), because they empty and refill those mailboxes.
#
# Output is TAP: ok/not ok lines, a plan at the end, exit 1 on any failure.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "1..0 # SKIP fetch-lib.sh is a library for the fetch-*.sh tests"
	exit 0
fi

set -u

T_COUNT=0
T_FAILED=0
FETCH_TEST_NAME=$(basename "$0" .sh)

ok() {
	T_COUNT=$((T_COUNT + 1))
	echo "ok $T_COUNT - $*"
}

not_ok() {
	T_COUNT=$((T_COUNT + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_COUNT - $*"
}

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   got:  $2"
		echo "#   want: $3"
	fi
}

# check_same DESCRIPTION GOT_LINES WANT_LINES: for long lists (hashes); on a
# difference says how many lines differ instead of printing both.
check_same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "#   got $(printf '%s' "$2" | grep -c .) lines, want $(printf '%s' "$3" | grep -c .)"
		echo "#   only in got:  $(comm -23 <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep -c .)"
		echo "#   only in want: $(comm -13 <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep -c .)"
		echo "#   repeated in got: $(printf '%s\n' "$2" | uniq -d | grep -c .)"
	fi
}

note() { echo "# $*"; }

bail() {
	echo "Bail out! $*"
	exit 1
}

# wait_port_file FILE WHAT: waits up to 5 s for a helper server to write its
# port into FILE; bails out naming WHAT if it never does.
wait_port_file() {
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
	bail "$2 did not start"
}

done_testing() {
	echo "1..$T_COUNT"
	[ "$T_FAILED" -eq 0 ]
	exit $?
}

# No stack: skip (77), as the other real tests do.
if [ -z "${MAILPIPE_STACK_ENV:-}" ]; then
	echo "1..0 # SKIP MAILPIPE_STACK_ENV is not set (scripts/stack-start writes it)"
	exit 77
fi
[ -r "$MAILPIPE_STACK_ENV" ] || bail "cannot read $MAILPIPE_STACK_ENV"
set -a
# shellcheck disable=SC1090
. "$MAILPIPE_STACK_ENV"
set +a

FETCH_SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MAILPIPE_FETCH=${MAILPIPE_FETCH:-$FETCH_SRC_DIR/build/src/mailpipe-fetch}
[ -x "$MAILPIPE_FETCH" ] || bail "no client at $MAILPIPE_FETCH (set MAILPIPE_FETCH)"

# One fetch test at a time per stack.
exec 9>"$STACK_DIR/.fetch-tests.lock"
flock 9

WORK=$(mktemp -d "/tmp/$FETCH_TEST_NAME.XXXXXX")
trap '[ -n "${FETCH_KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

# Server side -------------------------------------------------------------

# maildir_of USER: the server Maildir of a stack user.
maildir_of() {
	local var="${1^^}_MAILDIR"
	echo "${!var}"
}

password_of() {
	local var="${1^^}_PASSWORD"
	echo "${!var}"
}

# server_clear USER: removes every message (and Dovecot's index) so the
# mailbox starts empty.
server_clear() {
	local md
	md=$(maildir_of "$1")
	find "$md/new" "$md/cur" "$md/tmp" -type f -delete
	rm -f "$md"/dovecot* "$md"/.dovecot* 2>/dev/null || true
}

# server_put USER COUNT [MIN_SIZE MAX_SIZE [PREFIX]]: drops COUNT generated
# messages into the server Maildir (what a delivery would leave there).
server_put() {
	local md
	md=$(maildir_of "$1")
	python3 - "$md/new" "$2" "${3:-300}" "${4:-6000}" "${5:-m}" <<-'EOF'
		# Messages with the lines that break POP3 clients: ".", "..", ".x",
		# long lines, 8-bit bytes, a few CRLF line ends; all end in a newline.
		import os, random, sys, time
		outdir, count, lo, hi, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
		now = int(time.time())
		for i in range(count):
		    rnd = random.Random(f"{prefix}-{i}")
		    size = rnd.randint(lo, hi)
		    head = (f"From: sender@example.test\nTo: someone@example.test\n"
		            f"Subject: {prefix} {i}\nMessage-ID: <{prefix}.{i}.{now}@example.test>\n\n")
		    body, n = [], 0
		    while n < size:
		        k = rnd.random()
		        if k < 0.05: line = "."
		        elif k < 0.10: line = ".." + "x" * rnd.randint(0, 40)
		        elif k < 0.15: line = "." + "y" * rnd.randint(1, 40)
		        elif k < 0.18: line = "z" * rnd.randint(900, 3000)
		        elif k < 0.22: line = "caf\u00e9 \u00fcber"
		        elif k < 0.25: line = "crlf line\r"
		        else: line = "".join(rnd.choice("abcdefgh ijklmnop") for _ in range(rnd.randint(0, 76)))
		        body.append(line)
		        n += len(line) + 1
		    data = (head + "\n".join(body) + "\n").encode()
		    name = f"{now}.M{i}P{os.getpid()}.{prefix}"
		    with open(os.path.join(outdir, name), "wb") as f:
		        f.write(data)
		EOF
	chown -R "$MAIL_UID:$MAIL_GID" "$md"
}

# server_count USER: messages on the server.
server_count() {
	local md
	md=$(maildir_of "$1")
	find "$md/new" "$md/cur" -type f | wc -l
}

# hashes_of DIR...: sorted sha256 of every file in DIR/new and DIR/cur, each
# taken after CRLF -> LF (what a delivered file must hold).
hashes_of() {
	python3 - "$@" <<-'EOF'
		import hashlib, os, sys
		out = []
		for d in sys.argv[1:]:
		    for sub in ("new", "cur"):
		        p = os.path.join(d, sub)
		        if not os.path.isdir(p):
		            continue
		        for name in os.listdir(p):
		            with open(os.path.join(p, name), "rb") as f:
		                data = f.read().replace(b"\r\n", b"\n")
		            out.append(hashlib.sha256(data).hexdigest())
		print("\n".join(sorted(out)))
		EOF
}

# Client side -------------------------------------------------------------

# write_config FILE: starts a config with the stack's CA.
write_config() {
	umask 077
	{
		echo "[defaults]"
		echo "tls_ca_file = $CA_FILE"
		echo "timeout = 20"
	} >"$1"
}

# add_account FILE NAME USER TLS(starttls|implicit) MAILDIR [KEY=VALUE...]
add_account() {
	local file=$1 name=$2 user=$3 tls=$4 maildir=$5 port
	shift 5
	if [ "$tls" = implicit ]; then port=$POP3_PORT_IMPLICIT; else port=$POP3_PORT_STLS; fi
	{
		echo "[pop3 $name]"
		echo "host = $POP3_HOST"
		echo "port = $port"
		echo "tls = $tls"
		echo "user = $user"
		echo "password = $(password_of "$user")"
		echo "maildir = $maildir"
		echo "state_dir = ${FETCH_STATE:-$WORK/state}"
		for kv in "$@"; do echo "${kv/=/ = }"; done
	} >>"$file"
}

# fetch ARGS...: runs the client, stderr into $WORK/stderr; sets RC.
fetch() {
	RC=0
	"$MAILPIPE_FETCH" "$@" 2>"$WORK/stderr" || RC=$?
}

# peak_rss_kb COMMAND...: runs it and prints its peak RSS in kB (its exit
# status goes to $WORK/rss.rc).
peak_rss_kb() {
	/usr/bin/time -f '%M' -o "$WORK/rss.out" "$@" 2>"$WORK/stderr" >/dev/null
	echo $? >"$WORK/rss.rc"
	tail -n 1 "$WORK/rss.out"
}

# wait_delivering MAILDIR COUNT: until MAILDIR/new holds more than COUNT
# files, at most 60 s.  A run that far has its signal handlers, also under
# valgrind, where getting there takes seconds, not the fraction a sleep
# would guess (a signal before the handlers kills the program outright).
wait_delivering() {
	local _
	for _ in $(seq 1200); do
		[ "$(find "$1/new" -type f 2>/dev/null | wc -l)" -gt "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# TIME_SCALE, random_ms, sleep_ms: the kill loops' random moments.
# shellcheck source=timescale.sh
. "$(dirname "${BASH_SOURCE[0]}")/timescale.sh"

ms_now() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}
