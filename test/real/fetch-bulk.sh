#!/bin/bash
# 2,000 messages; keep mode twice (the second run retrieves nothing), then
# one new message (exactly one retrieved); then delete mode, which empties
# the server of what was delivered and only of that (a message over
# max_size stays).
. "$(dirname "$0")/fetch-lib.sh"

server_clear bob
server_put bob 2000 300 6000 bulk
want=$(hashes_of "$BOB_MAILDIR")
check_eq "2,000 messages on the server" "$(server_count bob)" 2000

conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" bulk bob starttls "$WORK/md" keep=yes max_size=1M

t0=$(ms_now)
fetch -C "$conf"
t1=$(ms_now)
check_eq "first run exits 0" "$RC" 0
note "2,000 messages fetched in $((t1 - t0)) ms"
check_same "2,000 files, each equal to a server file, once" "$(hashes_of "$WORK/md")" "$want"

fetch -C "$conf" -v
check_eq "second run exits 0 (nothing new is success)" "$RC" 0
check "second run retrieves nothing" grep -q "0 messages retrieved" "$WORK/stderr"
check_eq "still 2,000 files" "$(find "$WORK/md/new" -type f | wc -l)" 2000

server_put bob 1 100 200 onemore
fetch -C "$conf" -v
check_eq "third run exits 0" "$RC" 0
check "third run retrieves exactly one" grep -q " 1 message retrieved" "$WORK/stderr"
check_eq "2,001 files" "$(find "$WORK/md/new" -type f | wc -l)" 2001
want=$(hashes_of "$BOB_MAILDIR")
check_same "the new one is the server's new message" "$(hashes_of "$WORK/md")" "$want"

server_put bob 1 2000000 2100000 toobig
fetch -C "$conf" --delete
check_eq "delete run exits 0 (a message over max_size is a warning)" "$RC" 0
check "the skip is reported" grep -q "over max_size" "$WORK/stderr"
check_eq "the server keeps only the message over max_size" "$(server_count bob)" 1
check_eq "still 2,001 files, nothing delivered twice" \
	"$(find "$WORK/md/new" -type f | wc -l)" 2001

fetch -C "$conf" -q --delete
check_eq "-q hides the max_size warning" "$(wc -c <"$WORK/stderr")" 0
check_eq "the big one is still there" "$(server_count bob)" 1
done_testing
