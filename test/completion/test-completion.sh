#!/bin/bash
# test-completion: completion/mailpipe, sourced into a bash without
# bash-completion loaded, as TAP.  Each check sets COMP_WORDS and
# COMP_CWORD as bash would for a command line, calls the function that
# `complete -p` names for the command, and compares COMPREPLY: options of
# each command, and account names read from the configuration the command
# would use (-C / --config in every spelling, MAILPIPE_CONFIG,
# XDG_CONFIG_HOME), never executed: hostile section names come back as
# text, and a FIFO named as the configuration does not hang the shell.
#
# Usage: test-completion.sh COMPLETION_FILE
set -u

FILE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
readonly FILE
tap_count=0
tap_failed=0

ok() {		# ok STATUS NAME
	tap_count=$((tap_count + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_count - $2"
	else
		echo "not ok $tap_count - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

is() {		# is GOT WANT NAME
	[ "$1" = "$2" ]
	ok $? "$3"
	[ "$1" = "$2" ] || printf '#   got:  %s\n#   want: %s\n' "${1//$'\n'/ }" "${2//$'\n'/ }"
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
export HOME=$WORK/home XDG_CONFIG_HOME=
unset MAILPIPE_CONFIG
mkdir -p "$HOME"

# complete COMMAND-LINE...: COMPREPLY for the last word, one per line,
# sorted.  An empty last word is the cursor after a space.
complete_words() {
	local fn
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	fn=$(complete -p "$1" 2>/dev/null | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
	[ -n "$fn" ] || { echo "<no completion for $1>"; return; }
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	[ ${#COMPREPLY[@]} -gt 0 ] && printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
}

has_line() {	# has_line TEXT LINE
	grep -qxF -- "$2" <<<"$1"
}

if ! source "$FILE"; then
	ok 1 "the completion file sources without error"
	echo "1..$tap_count"
	exit 1
fi
ok 0 "the completion file sources without error"
complete -p mailpipe-send >/dev/null 2>&1
ok $? "mailpipe-send has a completion"
complete -p mailpipe-fetch >/dev/null 2>&1
ok $? "mailpipe-fetch has a completion"

# ---- options ----
is "$(complete_words mailpipe-send --acc)" "--account" "send: --acc completes to --account"
is "$(complete_words mailpipe-fetch --h)" $'--help\n--human-readable' "fetch: --h offers --help and --human-readable"
out=$(complete_words mailpipe-send -)
for o in -a -C -E -f -F -s -t -v --config --account --verbose --quiet --help --version \
	--flush --queue --queue-delete; do
	has_line "$out" "$o"
	ok $? "send: \"-\" offers $o"
done
for o in --all --list -H --human-readable -q -V -h; do
	! has_line "$out" "$o"
	ok $? "send: \"-\" does not offer $o (not an option, or sendmail's letter)"
done
out=$(complete_words mailpipe-fetch "")
for o in -a -C -H -j -q -V -v -h --config --account --all --jobs --keep --delete --maildir --list \
	--human-readable --verbose --quiet --help --version; do
	has_line "$out" "$o"
	ok $? "fetch: an empty word offers $o"
done
is "$(complete_words mailpipe-send "")" "" "send: an empty word is a recipient: nothing offered"
# Every long option in a command's option table is offered, so the file
# cannot fall behind the code.
src=$(dirname "$(dirname "$FILE")")/src
for cmd in send fetch; do
	out=$(complete_words "mailpipe-$cmd" --)
	for o in $(grep -oE '^[[:space:]]*\{ "[a-z][a-z0-9-]*",' "$src/mailpipe-$cmd.c" |
	    grep -oE '"[a-z0-9-]+"' | tr -d '"'); do
		has_line "$out" "--$o"
		ok $? "$cmd: --$o (in its option table) is offered"
	done
done
: >"$WORK/run-report.json"
for o in --report --attach; do
	is "$(complete_words mailpipe-send "$o" "$WORK/run-rep")" "$WORK/run-report.json" \
		"send $o: completes file names"
done
is "$(complete_words mailpipe-fetch --report "$WORK/run-rep")" "$WORK/run-report.json" \
	"fetch --report: completes file names"

# ---- account names ----
cat >"$WORK/test.ini" <<'END'
; comment [smtp not-a-section]
[defaults]
default_account = work

[smtp work]
host = smtp.example.test
[smtp home]
  [pop3 work-backup]
[pop3 archive]
[smtp  spaced]
END
printf '[smtp crlf]\r\n[pop3 crlf-pop]\r\n' >>"$WORK/test.ini"
ini=$WORK/test.ini
want_smtp=$(printf '%s\n' ' spaced' crlf home work | LC_ALL=C sort)
got=$(complete_words mailpipe-send -C "$ini" -a "")
is "$got" "$(printf '%s\n' '\ spaced' crlf home work | LC_ALL=C sort)" \
	"send -C FILE -a: the [smtp NAME] sections, names quoted for the shell"
is "$(complete_words mailpipe-fetch -C "$ini" -a "")" \
	"$(printf '%s\n' archive crlf-pop work-backup | LC_ALL=C sort)" \
	"fetch -C FILE -a: the [pop3 NAME] sections only"
is "$(complete_words mailpipe-send -C "$ini" -a w)" "work" "send -a w: completes to work"
is "$(complete_words mailpipe-fetch --config "$ini" --account w)" "work-backup" \
	"fetch --config FILE --account w: work-backup"
is "$(complete_words mailpipe-send --config = "$ini" --account = "")" \
	"$(printf '%s\n' '\ spaced' crlf home work | LC_ALL=C sort)" \
	"send --config=FILE --account=: split at \"=\" as bash does, names offered"
is "$(complete_words mailpipe-send --config = "$ini" --account =)" \
	"$(printf '%s\n' '\ spaced' crlf home work | LC_ALL=C sort)" \
	"send --account= with the cursor right after \"=\": names offered"
is "$(complete_words mailpipe-send "-C$ini" -a h)" "home" "send -CFILE -a h: home"
is "$(complete_words mailpipe-send "--config=$ini" -a h)" "home" \
	"send --config=FILE as one word: home"
mkdir -p "$WORK/with space"
cp "$ini" "$WORK/with space/m.ini"
is "$(complete_words mailpipe-send -C "'$WORK/with space/m.ini'" -a h)" "home" \
	"send -C 'FILE WITH SPACE' (quoted as typed): home"
cp "$ini" "$HOME/t.ini"
is "$(complete_words mailpipe-send -C "~/t.ini" -a h)" "home" "send -C ~/FILE: home"

# The search order when no -C is given.
printf '[smtp from-env]\n' >"$WORK/env.ini"
printf '[smtp from-xdg]\n' >"$WORK/xdg.ini"
mkdir -p "$WORK/xdg/mailpipe" "$HOME/.config/mailpipe"
cp "$WORK/xdg.ini" "$WORK/xdg/mailpipe/mailpipe.ini"
printf '[smtp from-home]\n' >"$HOME/.config/mailpipe/mailpipe.ini"
is "$(complete_words mailpipe-send -a "")" "from-home" \
	"no -C: ~/.config/mailpipe/mailpipe.ini"
is "$(XDG_CONFIG_HOME=$WORK/xdg complete_words mailpipe-send -a "")" "from-xdg" \
	"no -C: \$XDG_CONFIG_HOME/mailpipe/mailpipe.ini first"
is "$(XDG_CONFIG_HOME=relative complete_words mailpipe-send -a "")" "from-home" \
	"a relative XDG_CONFIG_HOME is ignored, as by the commands"
is "$(MAILPIPE_CONFIG=$WORK/env.ini XDG_CONFIG_HOME=$WORK/xdg complete_words mailpipe-send -a "")" \
	"from-env" "no -C: \$MAILPIPE_CONFIG before the user's file"
is "$(MAILPIPE_CONFIG=$WORK/env.ini complete_words mailpipe-send -C "$ini" -a h)" "home" \
	"-C before \$MAILPIPE_CONFIG"
rm "$HOME/.config/mailpipe/mailpipe.ini"
want=$( [ -f /etc/mailpipe.ini ] && [ -r /etc/mailpipe.ini ] &&
	awk '/^[ \t]*\[smtp /' /etc/mailpipe.ini | wc -l || echo 0)
got=$(complete_words mailpipe-send -a "" | wc -l)
is "$got" "$want" "no user file: /etc/mailpipe.ini (its [smtp] sections, or none)"
is "$(complete_words mailpipe-send -C "$WORK/missing.ini" -a "")" "" \
	"a missing file: nothing offered, no error"

# ---- never executed ----
cat >"$WORK/hostile.ini" <<'END'
[smtp $(touch PWNED1)]
[smtp `touch PWNED2`]
[smtp ${HOME}]
[smtp *]
[smtp a;touch PWNED3]
END
got=$(complete_words mailpipe-send -C "$WORK/hostile.ini" -a "")
for f in PWNED1 PWNED2 PWNED3; do
	[ ! -e "$WORK/$f" ]
	ok $? "a section name is never executed ($f not created)"
done
has_line "$got" '\$\(touch\ PWNED1\)'
ok $? "\"\$(touch PWNED1)\" is offered as text, quoted"
has_line "$got" '\$\{HOME\}'
ok $? "\"\${HOME}\" is offered as text, not expanded"
has_line "$got" '\*'
ok $? "\"*\" is offered as text, not a glob"
is "$(printf '%s\n' "$got" | wc -l)" 5 "five hostile names, five offers"
mkfifo "$WORK/fifo.ini"
got=$(timeout 5 bash -c 'source "$1"; COMP_WORDS=(mailpipe-send -C "$2" -a ""); COMP_CWORD=4;
	_mailpipe mailpipe-send "" -a; echo "done ${#COMPREPLY[@]}"' _ "$FILE" "$WORK/fifo.ini")
is "$got" "done 0" "a FIFO as the configuration: not read, no hang"

# ---- arguments that are files or directories ----
mkdir -p "$WORK/dirs/maildir-a"
touch "$WORK/dirs/conf-a.ini"
is "$(complete_words mailpipe-fetch --maildir "$WORK/dirs/m")" "$WORK/dirs/maildir-a" \
	"fetch --maildir: directories"
is "$(complete_words mailpipe-send -C "$WORK/dirs/c")" "$WORK/dirs/conf-a.ini" "send -C: files"
is "$(complete_words mailpipe-send -s "")" "" "send -s SUBJECT: nothing offered"
is "$(complete_words mailpipe-fetch --all --jobs "")" "" "fetch --jobs N: nothing offered"
is "$(complete_words mailpipe-fetch -j "")" "" "fetch -j N: nothing offered"

# ---- bash-completion's own loader finds it under each command's name ----
readonly LOADER=/usr/share/bash-completion/bash_completion
mkdir -p "$WORK/data/bash-completion/completions"
for c in mailpipe-send mailpipe-fetch; do
	cp "$FILE" "$WORK/data/bash-completion/completions/$c"
	if [ ! -r "$LOADER" ]; then
		tap_count=$((tap_count + 1))
		echo "ok $tap_count # SKIP bash-completion is not installed"
		continue
	fi
	got=$(XDG_DATA_DIRS=$WORK/data bash -c 'source "$1" 2>/dev/null; __load_completion "$2";
		complete -p "$2"' _ "$LOADER" "$c" 2>/dev/null)
	is "$got" "complete -F _mailpipe $c" "bash-completion loads it for $c as installed"
done

echo "1..$tap_count"
[ "$tap_failed" -eq 0 ]
