#!/bin/bash
# scripts/bench-fetch-jobs kept working: the fleet benchmark run small
# (4 accounts of 3 messages, one round, --jobs 2, 20 ms RTT) against the
# real Dovecot.  What it proves is that every run of the fleet, one after
# another and side by side, leaves each account's Maildir exactly the
# server's mailbox (the script checks every file and stops otherwise);
# the times are printed, never judged here (-g 0: no speed target), since
# a loaded machine must not fail a test.
set -uo pipefail
[ -n "${MAILPIPE_STACK_ENV:-}" ] || { echo "no MAILPIPE_STACK_ENV: skipped"; exit 77; }
TOP=$(cd "$(dirname "$0")/../.." && pwd)
"$TOP/scripts/bench-fetch-jobs" -a 4 -m 3 -r 1 -j 2 -t 20 -g 0
