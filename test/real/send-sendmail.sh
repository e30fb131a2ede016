#!/bin/bash
# Installed as "sendmail": the exact calls of cron, cronie, anacron, atd,
# logwatch/mdadm, apt-listchanges, PHP and fail2ban.
. "$(dirname "$0")/lib.sh"

ln -s "$MAILPIPE_SEND" "$WORK/sendmail"
smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"
printf '# local names\nroot: %s\ndefault: %s\n' "$BOB_ADDRESS" "$CAROL_ADDRESS" >"$WORK/aliases"
echo "aliases = $WORK/aliases" >>"$WORK/conf"
export MAILPIPE_CONFIG="$WORK/conf"
sendmail=$WORK/sendmail

cron_message() {	# the header Debian cron writes
	printf 'From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> %s\n' "$1"
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n'
	printf 'Content-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n\n'
	printf 'job output\nline 2\n'
}

# check NAME TOKEN MAILDIR: delivered there, with the local name qualified.
check() {
	local file
	file=$($MAILCHECK wait "$3" "$2" 30); ok $? "$1: delivered"
	[ -n "$file" ] && ! grep -Eq '^(To|From): root$' "$file"
	ok $? "$1: bare root qualified in the header"
}

tok=$(token)
cron_message "$tok" | "$sendmail" -FCronDaemon -i -B8BITMIME -oem root
ok $? "Debian cron: exit 0"; check "Debian cron" "$tok" "$BOB_MAILDIR"

tok=$(token)
cron_message "$tok" | "$sendmail" -FCronDaemon -i -odi -oem -oi -t -f root
ok $? "cronie: exit 0"; check "cronie" "$tok" "$BOB_MAILDIR"

tok=$(token)
printf 'Subject: anacron %s\n\nout\n' "$tok" | "$sendmail" -FAnacron -odi root
ok $? "anacron: exit 0"; check "anacron" "$tok" "$BOB_MAILDIR"

tok=$(token)
printf 'Subject: Output from your job %s\nTo: daemon\n\nout\n' "$tok" | "$sendmail" -i daemon
ok $? "atd to a user without alias: exit 0"; check "atd (default alias)" "$tok" "$CAROL_MAILDIR"

tok=$(token)
printf 'To: root\nFrom: root\nSubject: Logwatch %s\n\nreport\n' "$tok" | "$sendmail" -t
ok $? "logwatch/mdadm -t: exit 0"; check "logwatch" "$tok" "$BOB_MAILDIR"

tok=$(token)
printf 'To: root\nSubject: apt-listchanges %s\n\nnews\n' "$tok" | "$sendmail" -oi -t
ok $? "apt-listchanges: exit 0"; check "apt-listchanges" "$tok" "$BOB_MAILDIR"

tok=$(token)
printf 'To: %s\nSubject: php %s\n\nfrom php\n' "$BOB_ADDRESS" "$tok" | "$sendmail" -t -i
ok $? "PHP mail(): exit 0"; check "PHP" "$tok" "$BOB_MAILDIR"

# fail2ban: no -i, and a lone "." line is data, not the end.
tok=$(token)
printf 'Subject: [Fail2Ban] %s\nFrom: fail2ban <%s>\nTo: %s\n\nbefore\n.\nafter the dot\n' \
	"$tok" "$ALICE_ADDRESS" "$BOB_ADDRESS" | "$sendmail" -f "$ALICE_ADDRESS" "$BOB_ADDRESS"
ok $? "fail2ban: exit 0"
file=$($MAILCHECK wait "$BOB_MAILDIR" "$tok" 30); ok $? "fail2ban: delivered"
is "$($MAILCHECK body "$file")" "$(printf 'before\n.\nafter the dot')" "fail2ban: lone dot kept, nothing cut"

# Bad arguments: 64 before anything is read or sent.
printf 'x\n' | "$sendmail" "$(printf 'a@x\r\nRCPT TO:<b@y>')" 2>/dev/null
is $? 64 "recipient with CR LF: exit 64"
printf 'x\n' | "$sendmail" -s "$(printf 'subj\nBcc: evil@x')" "$BOB_ADDRESS" 2>/dev/null
is $? 64 "subject with LF: exit 64"
printf 'x\n' | "$sendmail" -bs 2>/dev/null
is $? 64 "unsupported -bs: exit 64"
"$sendmail" -bp >"$WORK/listing" 2>&1
is $? 0 "-bp without a queue_dir: exit 0"
grep -q '^no queue: no \[smtp\] account has queue_dir$' "$WORK/listing"; ok $? "-bp says there is no queue"

done_testing
