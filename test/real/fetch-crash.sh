#!/bin/bash
# SIGKILL at the moments that matter, in delete and in keep mode: every
# message exactly once.
#
# fetch-kill.sh kills at random moments; this test aims with the crashpoint
# shim (crashpoint.c) at the commit path's steps, at their first, second
# or third occurrence in the run: before the batch's syncfs, in the middle
# of the journal append (a torn record), right after a file got its name in
# new/ (before new/ is fsynced), in the middle of the state rewrite, and
# between QUIT's +OK and the state save; and in between at a random
# moment.  Delete mode runs with unnamed files (O_TMPFILE, linked into
# new/), keep mode with O_TMPFILE refused by the shim, as on a file system
# without it (named files in tmp/, renamed into new/).  The messages come in waves of 100 (two batches each), so the
# kills fall on every phase of a mailbox's life, a state save after a
# complete run included (the state is rewritten only when it changed, so
# a few new messages go to the server before each state-write or
# state-save kill).  After each wave a run without a kill must finish,
# and at the end the Maildir holds every message exactly once (sha256
# against the server's files), nothing in tmp/, and in delete mode the
# server is empty.
#
# By default: one wave and 8 kills per mode.  MAILPIPE_TEST_LONG=1
# (scripts/test --long): 5 waves (500 messages) and at least 12 kills a wave,
# so at least 60 kills per mode.
. "$(dirname "$0")/fetch-lib.sh"

[ -r "${CRASHPOINT_SO:-}" ] || bail "no crashpoint shim (set CRASHPOINT_SO)"
# A wave's kills, KIND:NTH, in order: first those that cost the run its
# batch (nothing kept), then those after the first batch's commit (the
# journal's third write is the DELE record in delete mode), random moments,
# and last those after QUIT, which end the wave's work.
if [ -n "${MAILPIPE_TEST_LONG:-}" ]; then
	WAVES=5
	PLAN=(syncfs:1 journal-write:1 random:300 syncfs:1 journal-write:1 name-new:2
		syncfs:2 journal-write:2 random:300 name-new:30 journal-write:3 random:300
		state-write:1 state-save:1)
else
	WAVES=1
	PLAN=(syncfs:1 journal-write:1 name-new:2 syncfs:2 journal-write:2 name-new:30
		random:300 journal-write:3 state-write:1 state-save:1)
fi
WAVE_SIZE=100
KILLS_PER_WAVE=${#PLAN[@]}
KINDS=(syncfs journal-write name-new random state-write state-save)
# A crashpoint that the run never reaches (its work done by an earlier
# kill's progress, or no DELE record in keep mode) is replaced by a kill
# in the first 30 ms (TIME_SCALE times that under valgrind; the TLS
# handshake and login take longer), tried this many times.
RANDOM_TRIES=5
# New messages put on the server before a state-write or state-save kill.
STATE_STEP_MAIL=5

# killed_run CONF KIND NTH: one run stopped at KIND, at its NTH occurrence
# (a crashpoint), or "random": SIGKILL after 0 to NTH ms; KILLED=yes when
# SIGKILL ended it.
killed_run() {
	local conf=$1 kind=$2 nth=$3 pid rc
	# In the background, so that the shell's "Killed" goes to the wait's
	# stderr, not into the TAP output.
	CRASHPOINT=$kind CRASHPOINT_NTH=$nth CRASHPOINT_NO_TMPFILE=$NO_TMPFILE \
		LD_PRELOAD=$CRASHPOINT_SO \
		"$MAILPIPE_FETCH" -C "$conf" 2>>"$WORK/kill.log" &
	pid=$!
	if [ "$kind" = random ]; then
		sleep_ms "$(random_ms $((nth * TIME_SCALE)))"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	KILLED=no
	[ "$rc" -eq 137 ] && KILLED=yes
	# Anything else than success or SIGKILL is a defect (75 after a lost
	# connection cannot happen on loopback).
	[ "$rc" -eq 0 ] || [ "$rc" -eq 137 ] || echo "# $kind/$nth: exit $rc" >>"$WORK/odd.log"
}

# crash_mode MODE(delete|keep): the waves, the kills, the checks.
crash_mode() {
	local mode=$1 keep conf md wave kills=0 wave_kills step kind want="" odd extra=0
	keep=$([ "$mode" = keep ] && echo yes || echo no)
	conf=$WORK/$mode.ini md=$WORK/md-$mode
	declare -A by_kind=()
	server_clear bob
	write_config "$conf"
	FETCH_STATE=$WORK/state-$mode add_account "$conf" crash bob starttls "$md" keep="$keep"
	: >"$WORK/odd.log"
	for wave in $(seq "$WAVES"); do
		local before
		before=$(server_hashes_now)
		server_put bob "$WAVE_SIZE" 300 20000 "crash-$mode-$wave"
		want=$(printf '%s\n%s\n' "$want" "$(comm -13 <(echo "$before") <(server_hashes_now))" | grep .)
		wave_kills=0
		for step in "${PLAN[@]}"; do
			kind=${step%:*}
			if [ "$kind" = state-write ] || [ "$kind" = state-save ]; then
				# The state is rewritten only when it changed: the run
				# to be killed in its rewrite gets new mail to record.
				before=$(server_hashes_now)
				server_put bob "$STATE_STEP_MAIL" 300 2000 "crash-$mode-$wave-$kind"
				want=$(printf '%s\n%s\n' "$want" "$(comm -13 <(echo "$before") <(server_hashes_now))" | grep .)
				extra=$((extra + STATE_STEP_MAIL))
			fi
			killed_run "$conf" "$kind" "${step#*:}"
			for _ in $(seq "$RANDOM_TRIES"); do
				[ "$KILLED" = yes ] && break
				kind=random
				killed_run "$conf" random 30
			done
			if [ "$KILLED" = yes ]; then
				wave_kills=$((wave_kills + 1))
				by_kind[$kind]=$((${by_kind[$kind]:-0} + 1))
			fi
		done
		kills=$((kills + wave_kills))
		fetch -C "$conf"
		check_eq "$mode, wave $wave: after $wave_kills kills a run finishes" "$RC" 0
	done
	note "$mode: $kills kills ($(for k in "${KINDS[@]}"; do printf '%s %s, ' "$k" "${by_kind[$k]:-0}"; done | sed 's/, $//'))"
	check "$mode: at least $((WAVES * KILLS_PER_WAVE)) kills" test "$kills" -ge $((WAVES * KILLS_PER_WAVE))
	for kind in "${KINDS[@]}"; do
		check "$mode: killed at $kind at least once" test "${by_kind[$kind]:-0}" -ge 1
	done
	odd=$(cat "$WORK/odd.log")
	check_eq "$mode: every run ended by success or by the kill" "$odd" ""
	check_same "$mode: every message exactly once ($((WAVES * WAVE_SIZE + extra)) messages)" \
		"$(hashes_of "$md")" "$(printf '%s\n' "$want" | sort)"
	check_eq "$mode: no tmp/ leftovers" "$(find "$md/tmp" -type f | wc -l)" 0
	if [ "$mode" = delete ]; then
		check_eq "delete: the server is empty" "$(server_count bob)" 0
	else
		check_eq "keep: the server has every message" "$(server_count bob)" \
			$((WAVES * WAVE_SIZE + extra))
	fi
}

server_hashes_now() { hashes_of "$BOB_MAILDIR"; }

NO_TMPFILE=0 crash_mode delete
NO_TMPFILE=1 crash_mode keep
done_testing
