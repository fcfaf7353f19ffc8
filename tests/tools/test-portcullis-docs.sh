#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-docs.sh SOURCE-ROOT PORTCULLIS: the man pages
# render without a groff warning and have a NAME line; portcullis(8)
# names every subcommand `portcullis help` lists; the bash completion
# completes subcommands and each one's options. TAP.
set -u
ROOT=$1
PORTCULLIS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"
PC_DIR=$(mktemp -d /tmp/pc-docs-test.XXXXXX)
trap 'rm -rf "$PC_DIR"' EXIT

for page in "$ROOT"/docs/man/*.[0-9]; do
	name=$(basename "$page")
	check "$name renders without a warning" \
		bash -c "MANWIDTH=80 man --warnings -l '$page' 2>'$PC_DIR/warn' >/dev/null && ! [ -s '$PC_DIR/warn' ]"
	check "$name has a NAME line (whatis)" lexgrog "$page"
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
