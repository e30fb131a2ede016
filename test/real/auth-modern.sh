#!/bin/bash
# SCRAM-SHA-256, XOAUTH2 and OAUTHBEARER against Postfix (SASL through
# Dovecot) and Dovecot's POP3: send and fetch with each, over STARTTLS,
# implicit TLS, STLS and POP3S.  SCRAM both with a password Dovecot holds
# in plaintext (alice, carol) and with one it holds only as a
# {SCRAM-SHA-256} hash (dave).  OAuth tokens are JWTs minted here with the
# stack's HS256 key (jwt-mint.py) through password_command, as a token
# helper would give them, and validated by Dovecot's oauth2 passdb; an
# expired token and one for another user give 77 after one attempt.
# auto picks SCRAM over PLAIN, and no -v transcript shows a secret.
# SASL EXTERNAL logs in to POP3 with alice's client certificate (Dovecot
# takes the user from its common name), and fails without one.
. "$(dirname "$0")/lib.sh"

MINT="python3 $REAL_DIR/jwt-mint.py $OAUTH2_KEY_FILE"

# account_config FILE KIND TLS PORT AUTH USER SECRET-LINE: one account
# "test" of KIND (smtp or pop3); SECRET-LINE is the password key's line.
account_config() {
	local file=$1 kind=$2 tls=$3 port=$4 auth=$5 user=$6 secret=$7
	(umask 077; {
		printf '[%s test]\nhost = localhost\nport = %s\ntls = %s\n' "$kind" "$port" "$tls"
		printf 'tls_ca_file = %s\nuser = %s\n%s\nauth = %s\ntimeout = 20\n' \
			"$CA_FILE" "$user" "$secret" "$auth"
		if [ "$kind" = smtp ]; then
			printf 'from = %s@%s\ndomain = %s\n' "$user" "$MAIL_DOMAIN" "$MAIL_DOMAIN"
		else
			printf 'maildir = %s\nstate_dir = %s\nkeep = yes\n' \
				"$WORK/backup-$user" "$WORK/state-$user-$port"
		fi
	} >"$file")
}

# send_with NAME TLS PORT AUTH USER SECRET-LINE: sends a message to dave,
# checks exit 0 and delivery; the -v transcript is left in $WORK/NAME.err.
send_with() {
	local name=$1 tok
	tok=$(token)
	account_config "$WORK/$name.ini" smtp "$2" "$3" "$4" "$5" "$6"
	echo "body $tok" | "$MAILPIPE_SEND" -v -C "$WORK/$name.ini" -s "$name $tok" \
		"$DAVE_ADDRESS" 2>"$WORK/$name.err"
	ok $? "$name: mailpipe-send exit 0"
	$MAILCHECK wait "$DAVE_MAILDIR" "$tok" 30 >/dev/null
	ok $? "$name: delivered"
	LAST_TOKEN=$tok
}

# fetch_with NAME TLS PORT AUTH USER SECRET-LINE: fetches USER's mailbox
# (keep), checks exit 0 and that the last message sent is in it.
fetch_with() {
	local name=$1
	account_config "$WORK/$name.ini" pop3 "$2" "$3" "$4" "$5" "$6"
	"$MAILPIPE_FETCH" -v -C "$WORK/$name.ini" 2>"$WORK/$name.err"
	ok $? "$name: mailpipe-fetch exit 0"
	$MAILCHECK wait "$WORK/backup-$5" "$LAST_TOKEN" 1 >/dev/null
	ok $? "$name: the message sent is fetched"
}

# shows NAME REGEX WHAT: the transcript of NAME matches REGEX.
shows() {
	grep -Eq -- "$2" "$WORK/$1.err"
	ok $? "$1: $3"
}

# no_secret NAME SECRET...: none of them, nor their base64, in the transcript.
no_secret() {
	local name=$1 s leaked=0
	shift
	for s in "$@"; do
		grep -qF -- "$s" "$WORK/$name.err" && leaked=1
		grep -qF -- "$(printf '%s' "$s" | base64 -w0 | cut -c1-16)" "$WORK/$name.err" &&
			leaked=1
	done
	ok "$leaked" "$name: no secret in the -v transcript"
}

pw() { printf 'password = %s' "$1"; }
token_cmd() { printf 'password_command = %s %s' "$MINT" "$*"; }

# ---- SCRAM-SHA-256 ----
send_with scram-starttls starttls "$SMTP_PORT_STARTTLS" scram-sha-256 alice "$(pw "$ALICE_PASSWORD")"
shows scram-starttls '^-> AUTH SCRAM-SHA-256 <user and nonce>$' "SCRAM used"
no_secret scram-starttls "$ALICE_PASSWORD"
send_with scram-implicit implicit "$SMTP_PORT_IMPLICIT" scram-sha-256 dave "$(pw "$DAVE_PASSWORD")"
shows scram-implicit '^<- 235 ' "SCRAM with a {SCRAM-SHA-256} hash on the server"
send_with auto-prefers-scram starttls "$SMTP_PORT_STARTTLS" auto alice "$(pw "$ALICE_PASSWORD")"
shows auto-prefers-scram 'AUTH PLAIN LOGIN SCRAM-SHA-256' "PLAIN and SCRAM both offered"
shows auto-prefers-scram '^-> AUTH SCRAM-SHA-256 ' "auto chose SCRAM-SHA-256"
no_secret auto-prefers-scram "$ALICE_PASSWORD"
fetch_with scram-stls starttls "$POP3_PORT_STLS" scram-sha-256 dave "$(pw "$DAVE_PASSWORD")"
shows scram-stls '^-> AUTH SCRAM-SHA-256 ' "SCRAM used"
no_secret scram-stls "$DAVE_PASSWORD"
fetch_with scram-pop3s implicit "$POP3_PORT_IMPLICIT" auto dave "$(pw "$DAVE_PASSWORD")"
shows scram-pop3s '^-> AUTH SCRAM-SHA-256 ' "auto chose SCRAM over PLAIN and USER"

# ---- OAuth 2.0 ----
send_with xoauth2-starttls starttls "$SMTP_PORT_STARTTLS" xoauth2 dave "$(token_cmd dave)"
shows xoauth2-starttls '^-> AUTH XOAUTH2 <user and token>$' "XOAUTH2 in one step"
send_with oauthbearer-implicit implicit "$SMTP_PORT_IMPLICIT" oauthbearer dave "$(token_cmd dave)"
shows oauthbearer-implicit '^-> AUTH OAUTHBEARER <user and token>$' "OAUTHBEARER in one step"
fetch_with xoauth2-pop3s implicit "$POP3_PORT_IMPLICIT" xoauth2 dave "$(token_cmd dave)"
shows xoauth2-pop3s '^-> AUTH XOAUTH2$' "XOAUTH2 in two steps (a JWT is over 255 octets)"
fetch_with oauthbearer-stls starttls "$POP3_PORT_STLS" oauthbearer dave "$(token_cmd dave)"
shows oauthbearer-stls '^-> <user and token>$' "OAUTHBEARER after the go-ahead"
tok=$($MINT dave)
no_secret oauthbearer-stls "${tok%%.*}" "${tok##*.}"

# refused tokens: 77, the server's reason, one AUTH only
refused() {	# refused NAME KIND TLS PORT AUTH TOKEN-ARGS... 
	local name=$1 kind=$2 tls=$3 port=$4 auth=$5 rc
	shift 5
	account_config "$WORK/$name.ini" "$kind" "$tls" "$port" "$auth" dave "$(token_cmd "$@")"
	if [ "$kind" = smtp ]; then
		echo body | "$MAILPIPE_SEND" -v -C "$WORK/$name.ini" "$DAVE_ADDRESS" 2>"$WORK/$name.err"
	else
		"$MAILPIPE_FETCH" -v -C "$WORK/$name.ini" 2>"$WORK/$name.err"
	fi
	rc=$?
	is "$rc" 77 "$name: exit 77"
	shows "$name" "^mailpipe-$( [ "$kind" = smtp ] && echo send || echo fetch): test .*(failed|refused).*status " \
		"the line has the server's status"
	is "$(grep -c -- '-> AUTH ' "$WORK/$name.err")" 1 "$name: one attempt, no retry"
}
refused expired-oauthbearer smtp starttls "$SMTP_PORT_STARTTLS" oauthbearer dave --expires-in -120
refused other-user-xoauth2 smtp implicit "$SMTP_PORT_IMPLICIT" xoauth2 alice
refused expired-xoauth2-pop3 pop3 implicit "$POP3_PORT_IMPLICIT" xoauth2 dave --expires-in -120
refused other-user-oauthbearer-pop3 pop3 starttls "$POP3_PORT_STLS" oauthbearer carol

# ---- EXTERNAL: the client certificate ----
ccert=$(printf 'tls_cert_file = %s\ntls_key_file = %s' "$CLIENT_CERT_FILE" "$CLIENT_KEY_FILE")
LAST_TOKEN=$(token)
account_config "$WORK/to-alice.ini" smtp starttls "$SMTP_PORT_STARTTLS" auto dave \
	"$(pw "$DAVE_PASSWORD")"
echo "body $LAST_TOKEN" | "$MAILPIPE_SEND" -C "$WORK/to-alice.ini" -s "for alice $LAST_TOKEN" \
	"$ALICE_ADDRESS" && $MAILCHECK wait "$ALICE_MAILDIR" "$LAST_TOKEN" 30 >/dev/null
ok $? "a message for alice is delivered"
fetch_with external-pop3s implicit "$POP3_PORT_IMPLICIT" external alice "$ccert"
shows external-pop3s '^-> AUTH EXTERNAL =$' "AUTH EXTERNAL, the empty authorization identity"
fetch_with external-stls starttls "$POP3_PORT_STLS" external alice "$ccert"
account_config "$WORK/external-none.ini" pop3 implicit "$POP3_PORT_IMPLICIT" external alice ""
"$MAILPIPE_FETCH" -v -C "$WORK/external-none.ini" 2>"$WORK/external-none.err"
is "$?" 77 "EXTERNAL without a client certificate: exit 77"
shows external-none '^mailpipe-fetch: test .*login failed' "the server's refusal"

done_testing
