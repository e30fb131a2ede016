#!/bin/bash
# faults-lib.sh: what the test/faults/*.sh tests share (sourced).
#
# They are real-stack tests (the helpers of test/real/fetch-lib.sh: TAP,
# the stack's env, the server's Maildirs, one test at a time per stack) that
# put the fault proxy (faultproxy.py) between the client and Postfix or
# Dovecot, or give the client a tiny file system that fills up.  Each one
# checks the promises of doc/ARCHITECTURE.md under the fault: the right
# exit status within timeout/deadline, no partial message, no DELE of an
# undelivered message, no send reported done that Postfix did not queue,
# and after the fault every message exactly once.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "1..0 # SKIP faults-lib.sh is a library for the test/faults tests"
	exit 0
fi

FAULTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../real/fetch-lib.sh
. "$FAULTS_DIR/../real/fetch-lib.sh"

# The interpreter itself, not a version manager's shim in front of it
# (one costs a second or two a call on a loaded machine, and these tests
# call Python often).
PYTHON3=$(python3 -c 'import sys; print(sys.executable)')
python3() { "$PYTHON3" "$@"; }

FAULTPROXY=${FAULTPROXY:-$FAULTS_DIR/faultproxy.py}
MAILPIPE_SEND=${MAILPIPE_SEND:-$FETCH_SRC_DIR/build/src/mailpipe-send}
MAILCHECK="$PYTHON3 $FETCH_SRC_DIR/test/real/mailcheck.py"
PROXY_PID=
CLEANUPS=()

# at_exit COMMAND: run COMMAND (a string) when the test exits, before the
# work directory goes; the latest first.
at_exit() { CLEANUPS=("$1" "${CLEANUPS[@]}"); }
run_cleanups() {
	local c
	for c in "${CLEANUPS[@]}"; do eval "$c"; done
	[ -n "${FETCH_KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap run_cleanups EXIT
at_exit proxy_stop

# proxy_start UPSTREAM_PORT [RULE...]: a fresh proxy in front of the port;
# sets PROXY_PORT, its log is $WORK/proxy.log (emptied).
proxy_start() {
	local upstream=$1 rule args=()
	shift
	proxy_stop
	for rule in "$@"; do args+=(--rule "$rule"); done
	rm -f "$WORK/proxy.port"
	: >"$WORK/proxy.log"
	"$PYTHON3" "$FAULTPROXY" --upstream "$upstream" --port-file "$WORK/proxy.port" \
		--log "$WORK/proxy.log" "${args[@]}" &
	PROXY_PID=$!
	wait_port_file "$WORK/proxy.port" "the fault proxy"
	PROXY_PORT=$(cat "$WORK/proxy.port")
}

proxy_stop() {
	[ -n "$PROXY_PID" ] || return 0
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}

# proxy_fired WORDS: true when the proxy logged a fault containing WORDS
# (so a test knows its fault really happened, not just that it passed).
proxy_fired() { grep -q -- "$1" "$WORK/proxy.log"; }

# pop3_account FILE NAME USER TLS PORT MAILDIR [KEY=VALUE...]: an account
# through the proxy.  tls = off lets the proxy see the commands and the
# messages (Dovecot allows plaintext login here); 127.0.0.1 because the
# proxy listens on IPv4 only.
pop3_account() {
	local file=$1 name=$2 user=$3 tls=$4 port=$5 maildir=$6 kv
	shift 6
	{
		echo "[pop3 $name]"
		echo "host = $([ "$tls" = off ] && echo 127.0.0.1 || echo "$POP3_HOST")"
		echo "port = $port"
		echo "tls = $tls"
		echo "user = $user"
		echo "password = $(password_of "$user")"
		echo "maildir = $maildir"
		echo "state_dir = ${FETCH_STATE:-$WORK/state}"
		for kv in "$@"; do echo "${kv/=/ = }"; done
	} >>"$file"
}

# smtp_plain_config FILE PORT [KEY=VALUE...]: a send account on Postfix's
# port without TLS or AUTH (through the proxy, which sees every byte).
smtp_plain_config() {
	local file=$1 port=$2 kv
	shift 2
	(umask 077; {
		echo "[smtp fault]"
		echo "host = 127.0.0.1"
		echo "port = $port"
		echo "tls = off"
		echo "from = $ALICE_ADDRESS"
		echo "domain = $MAIL_DOMAIN"
		for kv in "$@"; do echo "${kv/=/ = }"; done
	} >"$file")
}

# timed VAR COMMAND...: runs COMMAND with stderr in $WORK/stderr; RC is its
# status and VAR its duration in ms.
timed() {
	local var=$1 t0
	shift
	t0=$(ms_now)
	RC=0
	"$@" 2>"$WORK/stderr" || RC=$?
	printf -v "$var" '%s' $(($(ms_now) - t0))
}

# server_hashes USER: the server's messages, as hashes_of gives them.
server_hashes() { hashes_of "$(maildir_of "$1")"; }

# no_loss WANT LOCAL SERVER: true when every wanted message is in the
# Maildir or still on the server, the Maildir holds only wanted messages
# and none twice.  (After a cut, a message may be in both places: delivered,
# its DELE not done; never in neither.)
no_loss() {
	python3 - "$1" "$2" "$3" <<-'EOF'
		import collections, sys
		want, local, server = (collections.Counter(a.split()) for a in sys.argv[1:4])
		twice = [h for h, n in local.items() if n > 1]
		stray = [h for h in local if h not in want]
		lost = [h for h in want if h not in local and h not in server]
		for what, hs in (("twice", twice), ("not on the server", stray), ("lost", lost)):
		    if hs:
		        print(f"#   {len(hs)} message(s) {what}")
		sys.exit(1 if twice or stray or lost else 0)
		EOF
}
