# Shared by the test/real/send-queue*.sh scripts (after lib.sh): stopping
# and starting the stack's Postfix, so that mail meets a server that is
# down, and a config with a queue.

# port_open PORT: whether something accepts connections on SMTP_HOST:PORT.
port_open() {
	python3 - "$SMTP_HOST" "$1" <<-'PY'
	import socket, sys
	s = socket.socket()
	s.settimeout(2)
	try:
	    s.connect((sys.argv[1], int(sys.argv[2])))
	except OSError:
	    sys.exit(1)
	PY
}

# wait_port PORT open|closed: at most 30 s.
wait_port() {
	local i
	for i in $(seq 1 150); do
		if port_open "$1"; then [ "$2" = open ] && return 0
		else [ "$2" = closed ] && return 0; fi
		sleep 0.2
	done
	return 1
}

postfix_stop() {
	postfix -c "$POSTFIX_CONFIG_DIR" stop >/dev/null 2>&1
	wait_port "$SMTP_PORT_PLAIN" closed && wait_port "$SMTP_PORT_STARTTLS" closed
}

postfix_start() {
	postfix -c "$POSTFIX_CONFIG_DIR" start >/dev/null 2>&1
	wait_port "$SMTP_PORT_PLAIN" open && wait_port "$SMTP_PORT_STARTTLS" open
}

# Whatever happens, the stack's Postfix runs again when the test ends.
trap 'port_open "$SMTP_PORT_PLAIN" || postfix -c "$POSTFIX_CONFIG_DIR" start >/dev/null 2>&1; rm -rf "$WORK"' EXIT

# queue_config FILE QUEUE_DIR [EXTRA_LINE...]: the plain port (no TLS, no
# AUTH), for the tests that send many messages.
queue_config() {
	local file=$1 dir=$2
	shift 2
	(umask 077; {
		printf '[smtp test]\nhost = %s\nport = %s\ntls = off\nfrom = %s\n' \
			"$SMTP_HOST" "$SMTP_PORT_PLAIN" "$ALICE_ADDRESS"
		printf 'domain = %s\ntimeout = 20\nqueue_dir = %s\n' "$MAIL_DOMAIN" "$dir"
		printf '%s\n' "$@"
	} >"$file")
}

# queued DIR: how many messages the queue holds (not failed/).
queued() {
	find "$1" -mindepth 1 -maxdepth 1 -regextype egrep -regex '.*/[0-9a-f]{16}' | wc -l
}

# settle MAILDIR TOKEN_PREFIX COUNT: wait (at most 60 s) until COUNT messages
# holding TOKEN_PREFIX are there, then 2 s more for any late duplicate.
settle() {
	local i
	for i in $(seq 1 300); do
		[ "$($MAILCHECK count "$1" "$2")" -ge "$3" ] && break
		sleep 0.2
	done
	sleep 2
}
