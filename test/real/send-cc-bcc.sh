#!/bin/bash
# --cc and --bcc through the real Postfix: the To, Cc and Bcc recipients
# each receive the message; the Cc recipient is named in the header, the
# Bcc recipient in no header of any delivered copy; Reply-To is there.
. "$(dirname "$0")/lib.sh"

smtp_config "$WORK/conf" starttls "$SMTP_PORT_STARTTLS"
tok=$(token)
echo "copies $tok" | "$MAILPIPE_SEND" -C "$WORK/conf" -s "cc $tok" --cc "$CAROL_ADDRESS" \
	--bcc "$DAVE_ADDRESS" --reply-to "$ALICE_ADDRESS" "$BOB_ADDRESS"
ok $? "sent with --cc, --bcc and --reply-to: exit 0"

for who in BOB CAROL DAVE; do
	maildir_var=${who}_MAILDIR
	file=$($MAILCHECK wait "${!maildir_var}" "$tok" 60); ok $? "${who,,} received it"
	is "$($MAILCHECK header "$file" Cc)" "$CAROL_ADDRESS" "${who,,}'s copy: Cc names carol"
	is "$($MAILCHECK header "$file" Reply-To)" "$ALICE_ADDRESS" "${who,,}'s copy: Reply-To"
	header=$(sed '/^$/q' "$file")
	case $header in
	*"$DAVE_ADDRESS"* | *[Bb]cc:*) ok 1 "${who,,}'s copy: no header names the Bcc recipient" ;;
	*) ok 0 "${who,,}'s copy: no header names the Bcc recipient" ;;
	esac
done

done_testing
