#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-spf.sh RELAY VERIFY: SPF through a real Postfix and a real
# Sendmail on port 25, portcullis-verify attached by the shipped snippets
# and resolving through the test DNS server (tests/e2e/spf.zone). Mail
# from the outside client (127.0.0.2) as a sender whose record lists it
# carries spf=pass smtp.mailfrom=... in our Authentication-Results; other
# senders fail, softfail or permerror; a zone whose server answers SERVFAIL
# or never answers gives temperror, never pass. Then spf_fail_action =
# reject, by a reload: a fail is refused at RCPT with 550 5.7.23, a pass
# still delivered. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
VERIFY=$2

PC_SUITE_DAEMONS="verify=$VERIFY"
PC_SUITE_DNS_ZONES=$HERE/spf.zone
PC_SUITE_CONF_EXTRA="[verify]
spf_fail_action = none
# DMARC has tests of its own (test-dmarc.sh)
dmarc = no"
pc_suite_start_or_bail

# ours TOKEN: our Authentication-Results header of TOKEN's delivered
# message, unfolded, blanks squeezed
ours() {
	local file
	file=$(pc_e2e_sink_find "$PC_DIR" "$1")
	[ -n "$file" ] && sed -n '1,/^\r\{0,1\}$/p' "$file" | tr -d '\r' |
		awk '/^[ \t]/ { line = line " " $0; next } { if (line != "") print line; line = $0 } END { if (line != "") print line }' |
		grep -i '^Authentication-Results: mail\.example\.com;' | tr -s '\t ' ' '
}

# label|sender domain|our header after "mail.example.com; " (no DKIM-Signature, so dkim=none)
CASES=(
	"pass|sender.test|spf=pass smtp.mailfrom=sender.test; spf=pass smtp.helo=client.example.org; dkim=none"
	"fail|fail.sender.test|spf=fail smtp.mailfrom=fail.sender.test; spf=pass smtp.helo=client.example.org; dkim=none"
	"softfail|soft.sender.test|spf=softfail smtp.mailfrom=soft.sender.test; spf=pass smtp.helo=client.example.org; dkim=none"
	"permerror|broken.sender.test|spf=permerror smtp.mailfrom=broken.sender.test; spf=pass smtp.helo=client.example.org; dkim=none"
	"temperror (SERVFAIL)|servfail.sender.test|spf=temperror smtp.mailfrom=servfail.sender.test; spf=pass smtp.helo=client.example.org; dkim=none"
	"temperror (no answer)|timeout.sender.test|spf=temperror smtp.mailfrom=timeout.sender.test; spf=pass smtp.helo=client.example.org; dkim=none"
)
for mta in pf sm; do
	for row in "${CASES[@]}"; do
		IFS='|' read -r label domain want <<<"$row"
		token=spf-$mta-${domain%%.*}
		session $mta mx "$token" --to user@example.com --from "$token@$domain"
		if ! delivered "$token" 30; then
			not_ok "$(mta_name $mta): $label: delivered"
			explain "$PC_DIR/$token.out" "$PC_DIR/verify.log"
			continue
		fi
		got=$(ours "$token")
		check "$(mta_name $mta): $label: $want" \
			test "$got" = "Authentication-Results: mail.example.com; $want"
		case $domain in
		servfail.* | timeout.*)
			check "$(mta_name $mta): $label: never a pass for the sender" \
				bash -c "! grep -q 'spf=pass smtp.mailfrom' <<<'$got'"
			;;
		esac
	done
done
check "portcullis-verify logged why a temperror was one" \
	daemon_logged verify 'spf=temperror, spf_domain=timeout.sender.test, .*spf_reason=DNS timeout for TXT timeout.sender.test'

# spf_fail_action = reject, by a reload: new SMTP sessions negotiate RCPT
# with a reply, and a fail is refused there
sed -i 's/^spf_fail_action = none$/spf_fail_action = reject/' "$RELAY_CONF"
lines=$(wc -l <"$PC_DIR/verify.log")
kill -HUP "$(cat "$PC_DIR/verify.pid")"
if pc_e2e_wait 10 pc_e2e_log_has_since "$PC_DIR/verify.log" "$lines" 'reload: configuration .* loaded'; then
	ok "portcullis-verify reloads with spf_fail_action = reject"
else
	not_ok "portcullis-verify reloads with spf_fail_action = reject" "$PC_DIR/verify.log"
fi
for mta in pf sm; do
	token=spf-$mta-reject
	session $mta mx "$token" --to user@example.com --from "$token@fail.sender.test"
	check "$(mta_name $mta): a fail is refused at RCPT: 550 5.7.23 SPF validation failed for fail.sender.test" \
		replied "$token" '^550[ -]5\.7\.23 .*SPF validation failed for fail\.sender\.test'
	token=spf-$mta-still
	session $mta mx "$token" --to user@example.com
	if delivered "$token" 30; then
		ok "$(mta_name $mta): a pass is still delivered"
	else
		not_ok "$(mta_name $mta): a pass is still delivered"
		explain "$PC_DIR/$token.out" "$PC_DIR/verify.log"
	fi
done
not_delivered() { ! pc_e2e_sink_has "$PC_DIR" "$1"; }
check "the refused messages were not delivered" not_delivered spf-pf-reject
check "... by either MTA" not_delivered spf-sm-reject
check "both refusals are logged" \
	bash -c "[ \$(grep -c 'verify: action=reject, stage=rcpt, reason=spf-fail, .*spf_domain=fail.sender.test' '$PC_DIR/verify.log') -ge 2 ]"
queues_empty
check "both queues are empty" queues_empty_now
finish
