#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-edit.sh RELAY EDIT: the skeleton's header edits and body
# streaming through a real Postfix and a real Sendmail. pc-edit-milter (a
# test daemon on pc-milter) is attached after portcullis-relay; a message
# with two X-Change and two X-Delete headers and a 5 MiB body goes through
# each MTA's MX, and the delivered message must show: X-Edit-Top inserted
# at the top, the 2nd X-Change changed, the 1st X-Delete deleted (headers the
# daemon never kept), X-Edit-Body at the end of the header with the size
# of the body the daemon streamed, then X-Edit-DNS (a name resolved through
# the skeleton's resolver, with the system's resolv.conf). TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
EDIT=$2

PC_SUITE_DAEMONS="edit=$EDIT"
pc_suite_start_or_bail

# a 5 MiB body of 100-byte lines
BODY=$PC_DIR/body.txt
head -c 5242880 /dev/zero | tr '\0' 'a' | fold -w 99 >"$BODY"

# headers TOKEN: the header block of TOKEN's delivered message, one line each
headers() {
	local file
	file=$(pc_e2e_sink_find "$PC_DIR" "$1")
	[ -n "$file" ] && sed -n '1,/^\r\{0,1\}$/p' "$file" | tr -d '\r'
}

for mta in pf sm; do
	token=edit-$mta
	session $mta mx $token --to user@example.com \
		--add-header "X-Change: one" --add-header "X-Delete: first" \
		--add-header "X-Change: two" --add-header "X-Delete: second" \
		--body "@$BODY"
	if ! delivered $token 30; then
		not_ok "$(mta_name $mta): the edited message is delivered"
		explain "$PC_DIR/$token.out" "$PC_DIR/edit.log"
		continue
	fi
	ok "$(mta_name $mta): the edited message is delivered"
	headers $token >"$PC_DIR/$token.headers"
	# the first header the MTA delivered, under what the sink adds (its
	# X-Client-*/X-*-Args lines and its own Received): position 0 is above
	# even the MTA's own Received header, in both MTAs
	first=$(awk '/^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):/ { next }
		!seen && /^Received: .*/ { sink = 1; seen = 1; next }
		sink && /^[ \t]/ { next }
		{ print; exit }' "$PC_DIR/$token.headers")
	check "$(mta_name $mta): X-Edit-Top inserted at the top, above the MTA's own Received ($first)" \
		test "$first" = "X-Edit-Top: top"
	check "$(mta_name $mta): the 2nd X-Change changed, the 1st kept" bash -c "
		grep -qx 'X-Change: one' '$PC_DIR/$token.headers' &&
		grep -qx 'X-Change: changed-2' '$PC_DIR/$token.headers' &&
		! grep -qx 'X-Change: two' '$PC_DIR/$token.headers'"
	check "$(mta_name $mta): the 1st X-Delete deleted, the 2nd kept" bash -c "
		! grep -qx 'X-Delete: first' '$PC_DIR/$token.headers' &&
		grep -qx 'X-Delete: second' '$PC_DIR/$token.headers'"
	last=$(grep -vE '^[[:space:]]*$' "$PC_DIR/$token.headers" | tail -n 2 | head -n 1)
	check "$(mta_name $mta): X-Edit-Body added at the end, the 5 MiB body streamed (${last#X-Edit-Body: })" \
		bash -c "[[ '$last' =~ ^X-Edit-Body:\ bytes=([0-9]+)\ chunks=([0-9]+)\ sha256= ]] &&
			[ \${BASH_REMATCH[1]} -ge 5242880 ] && [ \${BASH_REMATCH[2]} -ge 2 ]"
	# the daemon resolved through the skeleton's resolver ([global] dns = system here)
	dns=$(grep -vE '^[[:space:]]*$' "$PC_DIR/$token.headers" | tail -n 1)
	check "$(mta_name $mta): X-Edit-DNS added last, localhost resolved with the message's budget" \
		test "$dns" = "X-Edit-DNS: localhost=127.0.0.1 queries=1"
done
check "the daemon logged each edited message" \
	bash -c "[ \$(grep -c 'edit: action=continue, stage=eom, reason=edited' '$PC_DIR/edit.log') -ge 2 ]"
finish
