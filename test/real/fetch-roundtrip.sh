#!/bin/bash
# Round trip, byte-exact: mail goes SMTP -> Postfix -> LMTP -> Dovecot (and,
# for variety, files dropped into the server Maildir), then mailpipe-fetch
# retrieves it over STLS and over implicit TLS.  Every delivered file must
# equal a server file with CRLF turned into LF, each exactly once.
. "$(dirname "$0")/fetch-lib.sh"

server_clear bob
python3 - "$SMTP_PORT_PLAIN" "$BOB_ADDRESS" <<'PY' || bail "SMTP injection failed"
import smtplib, sys
port, rcpt = int(sys.argv[1]), sys.argv[2]
msgs = [
    "Subject: plain\r\n\r\nhello\r\n",
    "Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nlast\r\n",
    "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ncaf\xc3\xa9\r\n".encode("latin-1").decode("latin-1"),
]
with smtplib.SMTP("127.0.0.1", port) as s:
    for m in msgs:
        s.sendmail("sender@example.test", [rcpt], m.encode("latin-1"))
PY
"$FETCH_SRC_DIR/scripts/stack-wait-mail" "$BOB_MAILDIR" 3 30 >/dev/null ||
	bail "mail did not arrive through Postfix"
ok "3 messages delivered through Postfix and LMTP"
server_put bob 50 200 20000 rt
want=$(hashes_of "$BOB_MAILDIR")
check_eq "53 messages on the server" "$(server_count bob)" 53

conf=$WORK/mailpipe.ini
write_config "$conf"
add_account "$conf" stls bob starttls "$WORK/stls" keep=yes
add_account "$conf" implicit bob implicit "$WORK/implicit" keep=yes

fetch -C "$conf" -a stls
check_eq "STLS fetch exits 0" "$RC" 0
check "and is silent" test ! -s "$WORK/stderr"
check_same "STLS: every file equals a server file, each once" "$(hashes_of "$WORK/stls")" "$want"
check_eq "nothing left in tmp/" "$(find "$WORK/stls/tmp" -type f | wc -l)" 0

fetch -C "$conf" -a implicit -v
check_eq "implicit TLS fetch exits 0" "$RC" 0
check_same "implicit TLS: every file equals a server file, each once" \
	"$(hashes_of "$WORK/implicit")" "$want"
check "-v prints a summary line" grep -q "53 messages retrieved" "$WORK/stderr"
check "-v shows the TLS session" grep -q "TLS: TLSv1" "$WORK/stderr"
check "-v never shows the password" bash -c "! grep -q -- '$BOB_PASSWORD' '$WORK/stderr'"

"$MAILPIPE_FETCH" -C "$conf" -a stls --list >"$WORK/list" 2>"$WORK/stderr"
check_eq "--list exits 0" "$?" 0
check "--list header: count and total" grep -q "^53 messages, [0-9]* bytes$" "$WORK/list"
check_eq "--list: 53 rows marked retrieved, kept for ever" \
	"$(grep -cE ' retrieved [0-9]+[dhms]([0-9]+[hms])? never$' "$WORK/list")" 53
check_eq "server untouched by keep = yes" "$(server_count bob)" 53

done_testing
