#!/bin/bash
# A 20 MB message through the real Postfix: delivered intact, and the peak
# memory of mailpipe-send is that of a 1 KB message (stdin is spooled to
# disk and streamed from there).
. "$(dirname "$0")/lib.sh"

smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"

# peak_rss_kb FILE: sends FILE and prints the peak RSS in KiB.
peak_rss_kb() {
	/usr/bin/time -f '%M' -o "$WORK/rss" "$MAILPIPE_SEND" -C "$WORK/conf" "$BOB_ADDRESS" <"$1"
	local rc=$?
	cat "$WORK/rss"
	return $rc
}

tok_small=$(token) tok_big=$(token)
printf 'Subject: small %s\n\n%s\n' "$tok_small" "$(head -c 700 /dev/zero | tr '\0' 'x')" >"$WORK/small"
{
	printf 'Subject: big %s\n\n' "$tok_big"
	python3 - <<'PY'
import sys, random
r = random.Random(1)
words = ["alpha", "beta", "gamma", "déjà", "vu", ".", "..dot", "end"]
out = sys.stdout.buffer
size = 0
while size < 20 * 1024 * 1024:
    line = " ".join(r.choice(words) for _ in range(r.randint(1, 20))).encode() + b"\n"
    if r.random() < 0.01:
        line = b"." + line
    out.write(line)
    size += len(line)
PY
} >"$WORK/big"

small=$(peak_rss_kb "$WORK/small"); ok $? "1 KB message: exit 0"
big=$(peak_rss_kb "$WORK/big"); ok $? "20 MB message: exit 0"
echo "# peak RSS: 1 KB message ${small} KiB, 20 MB message ${big} KiB"
[ $((big - small)) -lt 2048 ]; ok $? "peak RSS does not grow with message size (+$((big - small)) KiB)"

file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok_big" 120); ok $? "20 MB message delivered"
$MAILCHECK body "$file" | sha256sum >"$WORK/got"
tail -c +$(($(grep -b -m1 -x '' "$WORK/big" | cut -d: -f1) + 2)) "$WORK/big" | sha256sum >"$WORK/want"
cmp -s "$WORK/got" "$WORK/want"; ok $? "20 MB body arrived byte for byte"

done_testing
