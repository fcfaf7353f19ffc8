#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-docs.sh SOURCE-ROOT PORTCULLIS CONF-PAGE: the man
# pages (and portcullis.conf(5) as the build generated it from the schema
# tables) render without a groff warning and have a NAME line; every key
# of conf/portcullis.conf is in portcullis.conf(5); portcullis(8)
# names every subcommand `portcullis help` lists; the bash completion
# completes subcommands and each one's options. TAP.
set -u
ROOT=$1
PORTCULLIS=$2
CONF_PAGE=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"
PC_DIR=$(mktemp -d /tmp/pc-docs-test.XXXXXX)
trap 'rm -rf "$PC_DIR"' EXIT

for page in "$ROOT"/docs/man/*.[0-9] "$CONF_PAGE"; do
	name=$(basename "$page")
	check "$name renders without a warning" \
		bash -c "MANWIDTH=80 man --warnings -l '$page' 2>'$PC_DIR/warn' >/dev/null && ! [ -s '$PC_DIR/warn' ]"
	check "$name has a NAME line (whatis)" lexgrog "$page"
done
MANWIDTH=200 man -l "$CONF_PAGE" 2>/dev/null >"$PC_DIR/conf.txt"
missing=
for key in $(sed -n 's/^#*\([a-z_0-9]*\) =.*/\1/p' "$ROOT/conf/portcullis.conf" | sort -u); do
	grep -qE "^ +$key( |\$)" "$PC_DIR/conf.txt" || missing="$missing $key"
done
check "portcullis.conf(5) describes every key the example configuration sets${missing:+ (missing:$missing)}" \
	test -z "$missing"
for daemon in relay auth rate verify sign stack; do
	check "portcullis.conf(5) has the [$daemon] section" grep -q "^   \[$daemon\]" "$PC_DIR/conf.txt"
	check "portcullis-$daemon(8) exists" test -f "$ROOT/docs/man/portcullis-$daemon.8"
	for section in OPTIONS REPLIES SIGNALS LOGGING METRICS "SEE ALSO"; do
		check "portcullis-$daemon(8) has $section" grep -qx ".SH $section" "$ROOT/docs/man/portcullis-$daemon.8"
	done
done
for sub in $("$PORTCULLIS" help 2>&1 | sed -n 's/^  \([a-z-]*\) .*/\1/p'); do
	check "portcullis(8) describes $sub" \
		bash -c "sed 's/\\\\-/-/g' '$ROOT/docs/man/portcullis.8' | grep -q '^\.B $sub'"
done

COMPLETION=$ROOT/tools/portcullis/portcullis.bash-completion
# complete_line WORD...: what the completion offers for the command line so far
complete_line() {
	bash -c '
		source /usr/share/bash-completion/bash_completion
		source "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_portcullis portcullis "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@"
}
export -f complete_line
export COMPLETION
check "subcommands: ch -> check" bash -c "[ \"\$(complete_line portcullis ch)\" = check ]"
check "subcommands: d -> dkim-check, dmarc-report" \
	bash -c "[ \"\$(complete_line portcullis d | sort | paste -sd' ')\" = 'dkim-check dmarc-report' ]"
check "check's options: --p -> --postfix" bash -c "[ \"\$(complete_line portcullis check --p)\" = --postfix ]"
check "explain's options: --header -> --header-from" \
	bash -c "[ \"\$(complete_line portcullis explain --header)\" = --header-from ]"
check "audit's kind: domain" bash -c "[ \"\$(complete_line portcullis audit d)\" = domain ]"
check "dmarc-report's options: --s -> --send" \
	bash -c "[ \"\$(complete_line portcullis dmarc-report --s)\" = --send ]"
check "keygen -t: the key types" \
	bash -c "[ \"\$(complete_line portcullis keygen -t '' | paste -sd' ')\" = 'rsa ed25519 both' ]"
finish
