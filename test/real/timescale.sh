#!/bin/bash
# timescale.sh: the random moments of the kill loops (sourced by fetch-lib.sh
# and lib.sh).  They pick a moment within a run to send SIGKILL; a program
# under valgrind (scripts/valgrind-wrap exports REAL_TIME_SCALE=20) is that
# much slower, so the moments stretch by TIME_SCALE, or every kill would
# land before the program even connected.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "1..0 # SKIP timescale.sh is a library for the test/real tests"
	exit 0
fi

TIME_SCALE=${REAL_TIME_SCALE:-1}

# random_ms LIMIT: a random whole number of milliseconds in [0, LIMIT),
# LIMIT > 0 and larger than $RANDOM's 32767 if need be.
random_ms() { echo $(((RANDOM * 32768 + RANDOM) % $1)); }

# sleep_ms MS: sleep MS milliseconds.
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

# anchor_after PID COMMAND...: under valgrind (TIME_SCALE > 1) only, wait
# until COMMAND succeeds (the run got somewhere: a message delivered) or
# PID has exited, at most 120 s; natively return at once.  A kill loop
# counts its random moment from there: under valgrind the start and the
# TLS login take seconds that vary with the load, and a moment counted
# from the start would land in them nearly every time (the native run
# covers those kills).
anchor_after() {
	local pid=$1 _
	shift
	[ "$TIME_SCALE" -gt 1 ] || return 0
	for _ in $(seq 2400); do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
}
