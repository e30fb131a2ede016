#!/bin/bash
# A 100 MB message (and one with a single 3 MB line): delivered byte-exact,
# and the peak RSS of the fetch does not grow with the message size.
. "$(dirname "$0")/fetch-lib.sh"

conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" small carol starttls "$WORK/small" keep=no
add_account "$conf" big carol starttls "$WORK/big" keep=no

server_clear carol
server_put carol 1 1000 1000 small
rss_small=$(peak_rss_kb "$MAILPIPE_FETCH" -C "$conf" -a small)
check_eq "1 kB message fetched" "$(cat "$WORK/rss.rc")" 0

md=$(maildir_of carol)
python3 - "$md/new/$(date +%s).M1P1.big" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: sender@example.test\nSubject: 100 MB\n\n")
    line = b"0123456789abcdefghijklmnopqrstuvwxyz.ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 1 + b"\n"
    n = 0
    while n < 100 * 1024 * 1024:
        f.write(b"." + line if n % 7 == 0 else line)
        n += len(line)
    f.write(b"y" * (3 * 1024 * 1024) + b"\n")   # one 3 MB line too
PY
chown -R "$MAIL_UID:$MAIL_GID" "$md"
want=$(hashes_of "$md")
t0=$(ms_now)
rss_big=$(peak_rss_kb "$MAILPIPE_FETCH" -C "$conf" -a big)
t1=$(ms_now)
check_eq "100 MB message fetched" "$(cat "$WORK/rss.rc")" 0
check_eq "delivered byte-exact" "$(hashes_of "$WORK/big")" "$want"
check_eq "deleted from the server" "$(server_count carol)" 0
note "peak RSS: 1 kB message ${rss_small} kB, 103 MB message ${rss_big} kB; $((t1 - t0)) ms"
if grep -q __asan_init "$MAILPIPE_FETCH" 2>/dev/null; then
	ok "# SKIP peak RSS under AddressSanitizer (its quarantine grows with traffic)"
elif [ -n "${FAKE_NO_RSS_CHECK:-}" ]; then
	ok "# SKIP peak RSS under valgrind (FAKE_NO_RSS_CHECK: the peak is valgrind's own)"
else
	check "peak RSS does not grow with size (within 1 MB)" \
		test "$rss_big" -le $((rss_small + 1024))
fi
done_testing
