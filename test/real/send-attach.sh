#!/bin/bash
# --attach through the real Postfix into Dovecot's Maildir: a 50 MB binary
# file and a 200 KB UTF-8 text file with a non-ASCII name.  The delivered
# message, parsed by python3's email package, gives back both files (same
# sha256, names, types); the peak RSS of the 50 MB send (GNU time's %M,
# the kernel's maxrss) is within 1 MiB of a 1 KB send's.
. "$(dirname "$0")/lib.sh"

smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"
big_mb=50
# base64 makes 50 MB about 68 MB on the wire; a stack whose disk forced a
# lower limit (scripts/stack-start) cannot take it.
if [ "${SMTP_MESSAGE_SIZE_LIMIT:-0}" -lt $((75 * 1024 * 1024)) ]; then
	echo "1..0 # SKIP message_size_limit ${SMTP_MESSAGE_SIZE_LIMIT:-?} is below the 75 MB this needs"
	exit 77
fi

text_name='Bericht Größe ✓ 😀.txt'
head -c $((big_mb * 1024 * 1024)) /dev/urandom >"$WORK/big.bin"
python3 - "$WORK/$text_name" <<'PY'
import sys
line = "Zeile {}: Grüße, naïve café, 東京, 😀 — all well\n"
out, i = [], 0
while sum(len(l.encode()) for l in out) < 200 * 1024:
    out.append(line.format(i))
    i += 1
open(sys.argv[1], "w", encoding="utf-8").write("".join(out))
PY
head -c 1024 /dev/urandom >"$WORK/small.bin"

# peak_rss_kb TOKEN ARGS...: sends a -s message to bob, prints the peak RSS in KiB.
peak_rss_kb() {
	local tok=$1
	shift
	echo "body of $tok" | /usr/bin/time -f '%M' -o "$WORK/rss" \
		"$MAILPIPE_SEND" -C "$WORK/conf" -s "attach $tok" "$@" "$BOB_ADDRESS"
	local rc=$?
	cat "$WORK/rss"
	return $rc
}

tok_plain=$(token) tok_small=$(token) tok_big=$(token)
plain=$(peak_rss_kb "$tok_plain"); ok $? "1 KB message without attachment: exit 0"
small=$(peak_rss_kb "$tok_small" --attach "$WORK/small.bin"); ok $? "1 KB attachment: exit 0"
big=$(peak_rss_kb "$tok_big" --attach "$WORK/big.bin" --attach "$WORK/$text_name"); \
	ok $? "$big_mb MB and 200 KB attachments: exit 0"
echo "# peak RSS (GNU time %M): 1 KB message ${plain} KiB, 1 KB attachment ${small} KiB," \
	"$big_mb MB + 200 KB attachments ${big} KiB"
if [ -n "${FAKE_NO_RSS_CHECK:-}" ]; then
	# Under valgrind (scripts/valgrind-wrap) the peak is valgrind's own.
	ok 0 "# SKIP peak RSS under valgrind (FAKE_NO_RSS_CHECK)"
	ok 0 "# SKIP peak RSS under valgrind (FAKE_NO_RSS_CHECK)"
else
	[ $((big - plain)) -lt 1024 ]; ok $? "peak RSS within 1 MiB of a 1 KB send (+$((big - plain)) KiB)"
	[ $((big - small)) -lt 1024 ]; ok $? "and of a 1 KB attachment's (+$((big - small)) KiB)"
fi

file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok_big" 300); ok $? "the message was delivered"
python3 - "$file" "$WORK/big.bin" "big.bin" "$WORK/$text_name" "$text_name" <<'PY'
import email, email.iterators, email.policy, hashlib, sys
msg = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print("# delivered MIME structure:")
for part in msg.walk():
    depth = 0 if part is msg else 1
    print("#   " + "    " * depth + part.get_content_type(),
          "charset=" + str(part.get_content_charset()), part.get("content-transfer-encoding", ""),
          "filename=" + repr(part.get_filename()) if part.get_filename() else "",
          "(%d bytes decoded)" % len(part.get_payload(decode=True) or b"") if depth else "")
parts = list(msg.iter_parts())
failed = 0
def ok(cond, name):
    global failed
    failed += not cond
    print("#   " + ("good: " if cond else "BAD: ") + name)
ok(msg.get_content_type() == "multipart/mixed" and len(parts) == 3, "multipart/mixed, 3 parts")
ok(parts[0].get_content_type() == "text/plain" and b"body of" in parts[0].get_payload(decode=True),
   "the body first, text/plain")
for part, path, name, ctype in ((parts[1], sys.argv[2], sys.argv[3], "application/octet-stream"),
                                (parts[2], sys.argv[4], sys.argv[5], "text/plain")):
    want = hashlib.sha256(open(path, "rb").read()).hexdigest()
    got = hashlib.sha256(part.get_payload(decode=True)).hexdigest()
    ok(got == want, "%s: identical sha256 %s" % (name, got[:16]))
    ok(part.get_filename() == name, "%s: the name %r" % (name, part.get_filename()))
    ok(part.get_content_type() == ctype, "%s: the type %s" % (name, part.get_content_type()))
    ok(part.get_content_disposition() == "attachment", "%s: an attachment" % name)
ok(parts[2].get_content_charset() == "utf-8", "the text file is utf-8")
sys.exit(1 if failed else 0)
PY
ok $? "python3's email package reads back both files"

done_testing
