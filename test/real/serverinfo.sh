#!/bin/bash
# --serverinfo against the real Postfix (STARTTLS, implicit TLS) and
# Dovecot (STLS, POP3S): the leaf's fingerprint is the one openssl computes
# for the stack's certificate, in the form tls_fingerprint takes; the
# capabilities are listed; the login works (0), a wrong password says
# "login: failed" (77), and without the stack's CA the certificate is
# still shown with its fingerprint (77, no credential sent).  Nothing is
# ever delivered or fetched: the server mailboxes keep their messages, and
# no Maildir or state file appears on our side.  No password in any
# output, -v included.
. "$(dirname "$0")/lib.sh"

# The fetch tests empty and refill carol's mailbox: one at a time.
exec 9>"$STACK_DIR/.fetch-tests.lock"
flock 9

# openssl's "sha256 Fingerprint=AB:CD:..." is already our form; take the
# value (and upper-case it, should a version print lower case).
want_fp=$(openssl x509 -fingerprint -sha256 -noout -in "$SERVER_CERT_FILE" | sed 's/^[^=]*=//' |
	tr 'a-f' 'A-F')
[ -n "$want_fp" ]; ok $? "openssl gives the stack certificate's fingerprint"

# mail_count: every message in the stack's mailboxes.
mail_count() {
	find "$ALICE_MAILDIR" "$BOB_MAILDIR" "$CAROL_MAILDIR" "$DAVE_MAILDIR" \
		\( -path '*/new/*' -o -path '*/cur/*' \) -type f | wc -l
}

# A message in carol's mailbox, so that "nothing fetched or deleted" means
# something.
mkdir -p "$CAROL_MAILDIR/new"
printf 'From: a@example.test\nSubject: serverinfo %s\n\nkeep me\n' "$(token)" \
	>"$CAROL_MAILDIR/new/$(date +%s).serverinfo.$$"
chown -R "$MAIL_UID:$MAIL_GID" "$CAROL_MAILDIR"
before=$(mail_count)

# pop3_config FILE TLS PORT [PASSWORD [CA]]: carol's account; CA "none"
# leaves tls_ca_file out (the system store, which does not know the stack's CA).
pop3_config() {
	local ca=${5:-$CA_FILE}
	(umask 077; {
		echo "[pop3 test]"
		echo "host = $POP3_HOST"
		echo "port = $3"
		echo "tls = $2"
		[ "$ca" = none ] || echo "tls_ca_file = $ca"
		echo "user = $CAROL_USER"
		echo "password = ${4:-$CAROL_PASSWORD}"
		echo "maildir = $WORK/Maildir"
		echo "state_dir = $WORK/state"
		echo "timeout = 20"
	} >"$1")
}

# no_secret NAME USER PASSWORD: neither stdout nor the -v transcript holds
# the password, plain or in base64 as AUTH PLAIN ("\0user\0password") and
# AUTH LOGIN (each alone) send them, nor the user name in base64.
no_secret() {
	local plain pass user
	plain=$(printf '\0%s\0%s' "$2" "$3" | base64 -w0)
	pass=$(printf '%s' "$3" | base64 -w0)
	user=$(printf '%s' "$2" | base64 -w0)
	! grep -qF -e "$3" -e "$plain" -e "$pass" -e "$user" "$WORK/$1.out" "$WORK/$1.err"
	ok $? "$1: no password (plain or base64) in stdout or the -v transcript"
}

# probe NAME COMMAND...: runs a --serverinfo, keeps stdout, stderr and exit.
probe() {
	local name=$1
	shift
	"$@" -v -C "$WORK/$name.ini" --serverinfo >"$WORK/$name.out" 2>"$WORK/$name.err"
	echo $? >"$WORK/$name.rc"
	sed 's/^/#   /' "$WORK/$name.out"
}

has() {		# has NAME REGEX WHAT
	grep -qE "$2" "$WORK/$1.out"
	ok $? "$1: $3"
}

good_run() {	# good_run NAME
	is "$(cat "$WORK/$1.rc")" 0 "$1: exit 0"
	is "$(sed -n 's/^fingerprint: //p' "$WORK/$1.out")" "$want_fp" \
		"$1: the fingerprint openssl gives"
	has "$1" '^verification: ok ' "verification ok"
	has "$1" '^tls: TLSv1\.[23] ' "TLS version and cipher"
	has "$1" '^login: ok \((SCRAM-SHA-256|PLAIN|LOGIN|USER)\)$' "login: ok"
	is "$(grep -c '^login' "$WORK/$1.out")" 1 "$1: grep '^login' finds the login line alone"
}

for mode in starttls:$SMTP_PORT_STARTTLS implicit:$SMTP_PORT_IMPLICIT; do
	tls=${mode%%:*} port=${mode#*:} name=smtp-${mode%%:*}
	smtp_config "$WORK/$name.ini" "$tls" "$port"
	probe "$name" "$MAILPIPE_SEND"
	good_run "$name"
	has "$name" '^greeting: 220 ' "the greeting"
	has "$name" '^size limit: [0-9]+ bytes$' "SIZE and its limit"
	has "$name" '^auth mechanisms: .*PLAIN' "AUTH mechanisms"
	has "$name" '^pipelining: yes$' "PIPELINING"
	has "$name" '^capability: 8BITMIME$' "the EHLO keywords"
	! grep -qE '^-> (MAIL|RCPT|DATA)' "$WORK/$name.err"; ok $? "$name: no MAIL, RCPT or DATA"
	no_secret "$name" "$ALICE_USER" "$ALICE_PASSWORD"
done

for mode in starttls:$POP3_PORT_STLS implicit:$POP3_PORT_IMPLICIT; do
	tls=${mode%%:*} port=${mode#*:} name=pop3-${mode%%:*}
	pop3_config "$WORK/$name.ini" "$tls" "$port"
	probe "$name" "$MAILPIPE_FETCH"
	good_run "$name"
	has "$name" '^greeting: \+OK' "the greeting"
	has "$name" '^uidl: yes$' "UIDL"
	has "$name" '^sasl mechanisms: .*PLAIN' "SASL mechanisms"
	has "$name" '^capability: TOP$' "the CAPA lines"
	! grep -qE '^-> (STAT|LIST|UIDL|RETR|DELE|TOP)' "$WORK/$name.err"
	ok $? "$name: no STAT, LIST, UIDL, RETR, DELE or TOP"
	no_secret "$name" "$CAROL_USER" "$CAROL_PASSWORD"
done

# A wrong password: the server's refusal on the login line, 77.
smtp_config "$WORK/smtp-wrong.ini" starttls "$SMTP_PORT_STARTTLS" auto "$ALICE_USER" wrong-Pa55word
probe smtp-wrong "$MAILPIPE_SEND"
is "$(cat "$WORK/smtp-wrong.rc")" 77 "smtp-wrong: exit 77"
has smtp-wrong '^login: failed: .*535' "login: failed with the server's 535"
no_secret smtp-wrong "$ALICE_USER" wrong-Pa55word
pop3_config "$WORK/pop3-wrong.ini" implicit "$POP3_PORT_IMPLICIT" wrong-Pa55word
probe pop3-wrong "$MAILPIPE_FETCH"
is "$(cat "$WORK/pop3-wrong.rc")" 77 "pop3-wrong: exit 77"
has pop3-wrong '^login: failed: ' "login: failed"
no_secret pop3-wrong "$CAROL_USER" wrong-Pa55word

# No tls_ca_file: the stack's CA is unknown, the handshake fails as in a
# real run, and the certificate is still shown for pinning; no credential
# goes out (the transcript stops at STARTTLS, and there is no AUTH).
smtp_config "$WORK/smtp-noca.ini" starttls "$SMTP_PORT_STARTTLS"
sed -i '/^tls_ca_file/d' "$WORK/smtp-noca.ini"
probe smtp-noca "$MAILPIPE_SEND"
pop3_config "$WORK/pop3-noca.ini" implicit "$POP3_PORT_IMPLICIT" "$CAROL_PASSWORD" none
probe pop3-noca "$MAILPIPE_FETCH"
for name in smtp-noca pop3-noca; do
	is "$(cat "$WORK/$name.rc")" 77 "$name: exit 77"
	is "$(sed -n 's/^fingerprint: //p' "$WORK/$name.out")" "$want_fp" \
		"$name: the fingerprint openssl gives, from the failed handshake"
	has "$name" '^verification: failed: ' "verification failed, and why"
	has "$name" '^login: not tried: ' "login not tried"
	! grep -qE '^-> (AUTH|USER|PASS)' "$WORK/$name.err"; ok $? "$name: no credential sent"
done

# Nothing delivered, nothing fetched or deleted, nothing written here.
sleep 1
is "$(mail_count)" "$before" "the stack's mailboxes hold the same messages"
[ ! -e "$WORK/Maildir" ] && [ ! -e "$WORK/state" ]
ok $? "no Maildir and no state file written"

done_testing
