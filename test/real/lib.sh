# Shared by the test/real/*.sh scripts: TAP output, the stack's env, and
# config files for mailpipe.  Each script is one meson test; it prints TAP
# and exits non-zero when any check failed, 77 when there is no stack.
set -u

REAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAILCHECK="python3 $REAL_DIR/mailcheck.py"
tap_count=0
tap_failed=0

ok() {		# ok CONDITION-EXIT-STATUS NAME
	tap_count=$((tap_count + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_count - $2"
	else
		echo "not ok $tap_count - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

is() {		# is GOT WANT NAME
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; echo "#   got '$1', want '$2'"; fi
}

done_testing() {
	echo "1..$tap_count"
	[ "$tap_failed" -eq 0 ]
	exit $?
}

if [ -z "${MAILPIPE_STACK_ENV:-}" ] || [ ! -r "$MAILPIPE_STACK_ENV" ]; then
	echo "1..0 # SKIP no mail stack (run scripts/test, or set MAILPIPE_STACK_ENV)"
	exit 77
fi
set -a
# shellcheck disable=SC1090
. "$MAILPIPE_STACK_ENV"
set +a

# TIME_SCALE, random_ms, sleep_ms: the kill loops' random moments.
# shellcheck source=timescale.sh
. "$(dirname "${BASH_SOURCE[0]}")/timescale.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mailpipe-real.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# A token unique to this run, to find our message among the others.
token() { echo "mp-$(date +%s%N)-$RANDOM"; }

# wait_reading_stdin PID: until PID is blocked reading its stdin (fd 0;
# /proc/PID/syscall: read is 0 on x86-64), at most 60 s.  A signal sent
# before a program has its handlers kills it outright, and under valgrind
# getting that far takes seconds, not the fraction a sleep would guess.
wait_reading_stdin() {
	local _
	for _ in $(seq 600); do
		case "$(cat "/proc/$1/syscall" 2>/dev/null)" in
		"0 0x0 "*) return 0 ;;
		esac
		sleep 0.1
	done
	return 1
}

# smtp_config FILE TLS PORT [AUTH [USER [PASSWORD]]]
smtp_config() {
	local file=$1 tls=$2 port=$3 auth=${4:-auto} user=${5:-$ALICE_USER}
	local password=${6:-$ALICE_PASSWORD}
	(umask 077; cat >"$file" <<-INI
	[smtp test]
	host = $SMTP_HOST
	port = $port
	tls = $tls
	tls_ca_file = $CA_FILE
	user = $user
	password = $password
	auth = $auth
	from = $ALICE_ADDRESS
	domain = $MAIL_DOMAIN
	timeout = 20
	INI
	)
}
