#!/bin/bash
# --html, --attach, --header, --cc and a non-ASCII subject through the real
# Postfix into Dovecot's Maildir: the delivered message, parsed by
# python3's email package, is a multipart/mixed whose first part is a
# multipart/alternative of the text body and the HTML file (both given
# back byte for byte), then the attached file; the Cc display name, the
# long subject with 4-byte characters and the --header field read back
# as given, and no header line is longer than 78 columns.
. "$(dirname "$0")/lib.sh"

smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"
tok=$(token)
printf '<html><body><p>Grüße 😀 %s</p></body></html>\n' "$tok" >"$WORK/report.html"
printf 'a,b\n1,2\n' >"$WORK/data.csv"
printf 'text body %s, Grüße\n' "$tok" >"$WORK/body.txt"
subject="Bericht $tok: Grüße aus Köln 😀😀😀 und noch viel mehr Text, der gefaltet werden muss 😀"
"$MAILPIPE_SEND" -C "$WORK/conf" -s "$subject" --html "$WORK/report.html" \
	--attach "$WORK/data.csv" --header "X-Job: nightly $tok" \
	--cc "Jürgen Müller <$CAROL_ADDRESS>" "$BOB_ADDRESS" <"$WORK/body.txt"
ok $? "sent with --html, --attach, --header and --cc: exit 0"

file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok" 60); ok $? "bob received it"
out=$(python3 - "$file" "$WORK/body.txt" "$WORK/report.html" "$subject" "$CAROL_ADDRESS" <<'PY'
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
def tree(p):
    if p.is_multipart():
        return p.get_content_type() + "(" + " ".join(tree(q) for q in p.iter_parts()) + ")"
    return p.get_content_type()
print("# delivered structure:", tree(msg))
print("structure", tree(msg) == "multipart/mixed(multipart/alternative(text/plain text/html) text/csv)")
body = msg.get_body(("plain",)).get_payload(decode=True)
html = msg.get_body(("html",)).get_payload(decode=True)
print("plain", body == open(sys.argv[2], "rb").read())
print("html", html == open(sys.argv[3], "rb").read())
print("subject", str(msg["Subject"]) == sys.argv[4])
cc = msg["Cc"].addresses[0]
print("cc", cc.display_name == "Jürgen Müller" and cc.addr_spec == sys.argv[5])
print("header", str(msg["X-Job"]).startswith("nightly "))
# the lines of the fields mailpipe-send wrote (not the servers' trace fields)
mine, keep = [], False
for line in raw.split(b"\n\n", 1)[0].split(b"\n"):
    if line[:1] not in (b" ", b"\t"):
        keep = line.split(b":")[0].lower() in (b"from", b"to", b"cc", b"subject", b"x-job")
    if keep:
        mine.append(line)
print("columns", len(mine) > 5 and all(len(l.rstrip(b"\r")) <= 78 for l in mine))
PY
)
echo "$out" | grep '^#'
for check in structure plain html subject cc header columns; do
	echo "$out" | grep -qx "$check True"; ok $? "python3 email: $check"
done

done_testing
