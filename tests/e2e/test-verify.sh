#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-verify.sh RELAY VERIFY: portcullis-verify through a real
# Postfix and a real Sendmail, attached by the shipped snippets (MX list).
# A message from the outside carries forged Authentication-Results headers
# in our name (spelled several ways) and one of another authserv-id; the
# delivered message has exactly one A-R header in our name, at the top
# (with the SPF results: the sender passes, tests/e2e/spf.zone), and the
# other one kept. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
VERIFY=$2

PC_SUITE_DAEMONS="verify=$VERIFY"
PC_SUITE_DNS_ZONES=$HERE/spf.zone
pc_suite_start_or_bail

# headers TOKEN: the header block of TOKEN's delivered message, unfolded
# (a folded line is joined to the previous one with a blank, its own
# leading blank kept)
headers() {
	local file
	file=$(pc_e2e_sink_find "$PC_DIR" "$1")
	[ -n "$file" ] && sed -n '1,/^\r\{0,1\}$/p' "$file" | tr -d '\r' |
		awk '/^[ \t]/ { line = line " " $0; next } { if (line != "") print line; line = $0 } END { if (line != "") print line }'
}

for mta in pf sm; do
	token=verify-$mta
	session $mta mx $token --to user@example.com \
		--add-header "Authentication-Results: mail.example.com; dkim=pass header.d=example.org" \
		--add-header "Authentication-Results: other.example; spf=pass smtp.mailfrom=sender.test" \
		--add-header "Authentication-Results: (forged) \"MAIL.Example.COM.\"; dmarc=pass" \
		--add-header "authentication-results: mail.example.com 1; spf=pass"
	if ! delivered $token 30; then
		not_ok "$(mta_name $mta): the message is delivered"
		explain "$PC_DIR/$token.out" "$PC_DIR/verify.log"
		continue
	fi
	ok "$(mta_name $mta): the message is delivered"
	headers $token >"$PC_DIR/$token.headers"
	ours=$(grep -ciE '^authentication-results: *(\([^)]*\))? *"?mail\.example\.com' "$PC_DIR/$token.headers")
	check "$(mta_name $mta): exactly one Authentication-Results in our name ($ours)" test "$ours" = 1
	# the first header under what the sink adds (its X-* lines and Received)
	first=$(awk '/^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):/ { next }
		!seen && /^Received: .*/ { seen = 1; next }
		{ print; exit }' "$PC_DIR/$token.headers" | tr -s '\t ' ' ')
	check "$(mta_name $mta): ours is at the top, above the MTA's Received ($first)" \
		test "$first" = "Authentication-Results: mail.example.com; spf=pass smtp.mailfrom=sender.test; spf=pass smtp.helo=client.example.org"
	check "$(mta_name $mta): the one of another authserv-id is kept" \
		grep -qx 'Authentication-Results: other.example; spf=pass smtp.mailfrom=sender.test' \
		"$PC_DIR/$token.headers"
	check "$(mta_name $mta): none of the forged ones survives" bash -c "
		! grep -qiE 'dkim=pass header.d=example.org|dmarc=pass|mail.example.com 1;' '$PC_DIR/$token.headers'"
done
check "portcullis-verify logged each message, 3 forged headers removed" \
	bash -c "[ \$(grep -c 'verify: action=continue, stage=eom, reason=results, .*authres_removed=3' '$PC_DIR/verify.log') = 2 ]"
finish
