#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-dmarc.sh RELAY VERIFY: DMARC through a real Postfix and a
# real Sendmail on port 25, portcullis-verify attached by the shipped
# snippets and resolving through the test DNS server (tests/e2e/dmarc.zone,
# and the DKIM corpus's keys with a p=reject record for dkim.test). A pass
# by aligned SPF and one by an aligned DKIM signature (signed by dkimpy for
# the run) are delivered with dmarc=pass in our Authentication-Results; a
# p=reject domain failing alignment gets 550 5.7.1 and a tampered signature
# too; p=quarantine ends in Postfix's hold queue (postqueue -p shows it) and
# Sendmail's quarantine, nothing lost; two From headers are refused; with
# the DNS server stopped the answer is 451 4.4.3, never a delivery as a
# pass. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
VERIFY=$2
CORPUS=$HERE/../dkim/dkim-corpus.py
TEST_DNS=$HERE/../dns/pc-test-dns

PYTHON=
for candidate in /usr/bin/python3 python3; do
	if command -v "$candidate" >/dev/null && "$candidate" -c 'import dkim, nacl' 2>/dev/null; then
		PYTHON=$candidate
		break
	fi
done
PC_SUITE_DNS_ZONES=$HERE/dmarc.zone
DKIM=
if [ -n "$PYTHON" ] && "$PYTHON" "$CORPUS" generate "$PC_DIR/corpus" >"$PC_DIR/corpus.out" 2>&1; then
	DKIM=yes
	# the corpus's zone is dkim.test alone: its domain publishes p=reject
	echo '_dmarc.dkim.test. 300 IN TXT "v=DMARC1; p=reject"' >>"$PC_DIR/corpus/zone"
	PC_SUITE_DNS_ZONES="$PC_SUITE_DNS_ZONES $PC_DIR/corpus/zone"
fi
PC_SUITE_DAEMONS="verify=$VERIFY"
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

# dmarc_session MTA TOKEN DOMAIN: from TOKEN@DOMAIN, envelope and From header
dmarc_session() {
	session "$1" mx "$2" --to user@example.com --from "$2@$3" --header "From: <$2@$3>"
}

# not_delivered TOKEN: nothing of TOKEN's reached the sink (a moment after its refusal)
not_delivered() {
	! delivered "$1" 2
}

for mta in pf sm; do
	name=$(mta_name $mta)
	token=dmarc-pass-$mta
	dmarc_session $mta $token pass.dmarc.test
	if delivered $token 30; then
		got=$(ours $token)
		check "$name: a pass by aligned SPF is delivered with dmarc=pass ($got)" \
			grep -qF 'dmarc=pass (p=reject dis=none) header.from=pass.dmarc.test' <<<"$got"
	else
		not_ok "$name: a pass by aligned SPF is delivered"
		explain "$PC_DIR/$token.out" "$PC_DIR/verify.log"
	fi

	token=dmarc-reject-$mta
	dmarc_session $mta $token reject.dmarc.test
	check "$name: p=reject failing alignment: 550 5.7.1 Rejected by DMARC policy for reject.dmarc.test" \
		replied $token '^550[ -]5\.7\.1 .*Rejected by DMARC policy for reject\.dmarc\.test'
	check "$name: the refused message is not delivered" not_delivered $token

	token=dmarc-two-from-$mta
	printf 'From: <%s@pass.dmarc.test>\r\nFrom: <%s@evil.dmarc.test>\r\nSubject: %s\r\n\r\ntwo authors\r\n' \
		$token $token $token >"$PC_DIR/$token.eml"
	pc_e2e_swaks "$PC_DIR/$token.out" --server "127.0.0.1:$(port $mta mx)" -li "$OUTSIDE" \
		--ehlo client.example.org --from "$token@pass.dmarc.test" --to user@example.com \
		--data "@$PC_DIR/$token.eml"
	check "$name: two From headers: 550 5.7.1" \
		replied $token '^550[ -]5\.7\.1 .*Message must have exactly one From header'
	check "$name: the two-From message is not delivered" not_delivered $token
done

# p=quarantine: Postfix's hold queue, Sendmail's quarantine (an hf file)
dmarc_session pf dmarc-quar-pf quar.dmarc.test
held_in_postfix() {
	postqueue -c "$PC_DIR/postfix/etc" -p 2>/dev/null |
		grep -A2 -E '^[0-9A-F]+!' | grep -qF "dmarc-quar-pf@quar.dmarc.test"
}
if replied dmarc-quar-pf '^250[ -]' && pc_e2e_wait 10 held_in_postfix; then
	ok "Postfix: p=quarantine is accepted and held (postqueue -p shows it with !)"
else
	not_ok "Postfix: p=quarantine is accepted and held"
	postqueue -c "$PC_DIR/postfix/etc" -p 2>&1 | sed 's/^/# /'
	explain "$PC_DIR/dmarc-quar-pf.out" "$PC_DIR/verify.log"
fi
dmarc_session sm dmarc-quar-sm quar.dmarc.test
quarantined_in_sendmail() {
	grep -lE "^H\?\?Subject: dmarc-quar-sm\$" "$PC_DIR"/sendmail/mqueue/hf* 2>/dev/null |
		xargs -r grep -qE "^q.*DMARC policy p=quarantine for quar\.dmarc\.test\$"
}
if replied dmarc-quar-sm '^250[ -]' && pc_e2e_wait 10 quarantined_in_sendmail; then
	ok "Sendmail: p=quarantine is accepted and quarantined (hf file, the policy in its q line)"
else
	not_ok "Sendmail: p=quarantine is accepted and quarantined"
	ls -l "$PC_DIR/sendmail/mqueue" | sed 's/^/# /'
	explain "$PC_DIR/dmarc-quar-sm.out" "$PC_DIR/verify.log"
fi
check "the held messages did not reach the sink" \
	bash -c "! grep -rqE '^Subject: dmarc-quar-' '$PC_DIR/sink/msgs'"

# DKIM alignment: the corpus's signed message passes DMARC by its signature
# alone (its envelope domain has no SPF record); a tampered one fails
if [ -n "$DKIM" ]; then
	for mta in pf sm; do
		name=$(mta_name $mta)
		for which in pass tampered; do
			token=e2e-$which-$mta
			pc_e2e_swaks "$PC_DIR/$token.out" --server "127.0.0.1:$(port $mta mx)" \
				-li "$OUTSIDE" --ehlo client.example.org --from "alice@dkim.test" \
				--to user@example.com --data "@$PC_DIR/corpus/messages/$token.eml"
		done
		if delivered e2e-pass-$mta 30; then
			got=$(ours e2e-pass-$mta)
			check "$name: a pass by an aligned DKIM signature ($got)" \
				grep -qF 'dmarc=pass (p=reject dis=none) header.from=dkim.test' <<<"$got"
		else
			not_ok "$name: a pass by an aligned DKIM signature is delivered"
			explain "$PC_DIR/e2e-pass-$mta.out" "$PC_DIR/verify.log"
		fi
		check "$name: a tampered signature fails DMARC: 550 5.7.1" \
			replied e2e-tampered-$mta '^550[ -]5\.7\.1 .*Rejected by DMARC policy for dkim\.test'
	done
	check "the log names what aligned" \
		grep -qE 'dmarc=pass, dmarc_from=dkim\.test, .*dmarc_aligned=dkim' "$PC_DIR/verify.log"
else
	echo "# DKIM part skipped: python3-dkim/python3-nacl missing"
	not_ok "the DKIM corpus is ready (dev/deps.sh PC_TEST_PACKAGES)"
fi

# the DNS server gone: down.dmarc.test was never asked (nothing cached):
# 451 4.4.3, and nothing delivered as a pass
"$TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
for mta in pf sm; do
	token=dmarc-down-$mta
	dmarc_session $mta $token down.dmarc.test
	check "$(mta_name $mta): DNS down: 451 4.4.3" \
		replied $token '^451[ -]4\.4\.3 .*Temporary DNS failure evaluating DMARC for down\.dmarc\.test'
	check "$(mta_name $mta): DNS down: not delivered" not_delivered $token
done
check "the temperror is logged with its reason" \
	grep -qE 'reason=dmarc-temperror, .*dmarc=temperror, dmarc_from=down\.dmarc\.test, dmarc_reason=dns-error' \
	"$PC_DIR/verify.log"

finish
