#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-verify.sh RELAY VERIFY: portcullis-verify through a real
# Postfix and a real Sendmail, attached by the shipped snippets (MX list).
# A message from the outside carries forged Authentication-Results headers
# in our name (spelled several ways) and one of another authserv-id; the
# delivered message has exactly one A-R header in our name, at the top
# (with the SPF results: the sender passes, tests/e2e/spf.zone), and the
# other one kept. DKIM: messages signed by dkimpy for the run
# (tests/dkim/dkim-corpus.py, simple/simple so that any change shows), keys
# on the test DNS server the daemon forwards to ([global] dns): a signed
# message is delivered with dkim=pass and its header.d, header.s and
# header.b, a tampered one with dkim=fail, and with the DNS server stopped
# the result is temperror, never pass. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
VERIFY=$2
CORPUS=$HERE/../dkim/dkim-corpus.py
TEST_DNS=$HERE/../dns/pc-test-dns

# the signer: Debian's python3 with python3-dkim and python3-nacl
PYTHON=
for candidate in /usr/bin/python3 python3; do
	if "$candidate" -c 'import dkim, nacl.signing' 2>/dev/null; then
		PYTHON=$candidate
		break
	fi
done
DKIM=
PC_SUITE_DNS_ZONES=$HERE/spf.zone
if [ -n "$PYTHON" ] && "$PYTHON" "$CORPUS" generate "$PC_DIR/corpus" >"$PC_DIR/corpus.out" 2>&1; then
	DKIM=yes
	# one test DNS server (pc_suite_dns) serves both: sender.test, dkim.test
	PC_SUITE_DNS_ZONES="$PC_SUITE_DNS_ZONES $PC_DIR/corpus/zone"
fi

PC_SUITE_DAEMONS="verify=$VERIFY"
# DMARC has an end-to-end test of its own (test-dmarc.sh): here the A-R, SPF and DKIM
PC_SUITE_CONF_EXTRA="[verify]
dmarc = no"
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
		grep -qxE 'Authentication-Results: mail\.example\.com;[[:space:]]+spf=pass smtp\.mailfrom=sender\.test;[[:space:]]+spf=pass smtp\.helo=client\.example\.org;[[:space:]]+dkim=none' <<<"$first"
	check "$(mta_name $mta): the one of another authserv-id is kept" \
		grep -qx 'Authentication-Results: other.example; spf=pass smtp.mailfrom=sender.test' \
		"$PC_DIR/$token.headers"
	check "$(mta_name $mta): none of the forged ones survives" bash -c "
		! grep -qiE 'dkim=pass header.d=example.org|dmarc=pass|mail.example.com 1;' '$PC_DIR/$token.headers'"
done
check "portcullis-verify logged each message, 3 forged headers removed" \
	bash -c "[ \$(grep -c 'verify: action=continue, stage=eom, reason=results, .*authres_removed=3' '$PC_DIR/verify.log') = 2 ]"

# ------------------------------------------------------------------ DKIM
if [ -z "$DKIM" ]; then
	echo "# DKIM part skipped: python3-dkim/python3-nacl or the test DNS server missing"
	cat "$PC_DIR/corpus.out" "$PC_DIR/dns.err" 2>/dev/null | sed 's/^/# /'
	not_ok "the DKIM corpus and the test DNS server are ready (dev/deps.sh PC_TEST_PACKAGES)"
	finish
	exit
fi

# dkim_session MTA NAME: sends corpus message NAME as it is (swaks adds nothing)
dkim_session() {
	pc_e2e_swaks "$PC_DIR/$2.out" --server "127.0.0.1:$(port "$1" mx)" -li "$OUTSIDE" \
		--ehlo client.example.org --from "alice@dkim.test" --to user@example.com \
		--data "@$PC_DIR/corpus/messages/$2.eml"
}

# dkim_check MTA NAME PATTERN: NAME is delivered with exactly one A-R of
# ours, at the top, whose DKIM entry matches PATTERN (grep -E)
dkim_check() {
	local mta=$1 name=$2 pattern=$3 ours first
	if ! delivered "$name" 30; then
		not_ok "$(mta_name "$mta"): $name is delivered"
		explain "$PC_DIR/$name.out" "$PC_DIR/verify.log"
		return
	fi
	headers "$name" >"$PC_DIR/$name.headers"
	ours=$(grep -ciE '^authentication-results: *mail\.example\.com' "$PC_DIR/$name.headers")
	first=$(awk '/^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):/ { next }
		!seen && /^Received: .*/ { seen = 1; next }
		{ print; exit }' "$PC_DIR/$name.headers")
	# SPF's entries come first (the sender's domain has no SPF record here)
	check "$(mta_name "$mta"): $name: one A-R of ours ($ours), at the top: $first" \
		bash -c '[ "$1" = 1 ] && grep -qE "^Authentication-Results: mail\.example\.com;([[:space:]]+spf=[^;]*;)*[[:space:]]+$2" <<<"$3"' \
		_ "$ours" "$pattern" "$first"
}

B='header\.b="?[A-Za-z0-9+/]{8,}'
for mta in pf sm; do
	dkim_session $mta e2e-pass-$mta
	dkim_check $mta e2e-pass-$mta \
		"dkim=pass header\.d=dkim\.test header\.i=@dkim\.test header\.s=e2e header\.a=rsa-sha256 $B"
	dkim_session $mta e2e-tampered-$mta
	dkim_check $mta e2e-tampered-$mta \
		"dkim=fail reason=\"body hash did not verify\" header\.d=dkim\.test header\.i=@dkim\.test header\.s=e2e header\.a=rsa-sha256 $B"
done
check "the results are logged" \
	grep -qE 'dkim1=pass, dkim1_d=dkim\.test, dkim1_s=e2e, dkim1_a=rsa-sha256, dkim1_bits=2048' \
	"$PC_DIR/verify.log"

# the DNS server gone: its keys were never asked (nothing cached), and the
# answer is a temporary error, never a pass
"$TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
for mta in pf sm; do
	dkim_session $mta e2e-down-$mta
	dkim_check $mta e2e-down-$mta \
		"dkim=temperror reason=\"key unavailable \((timeout|SERVFAIL)\)\" header\.d=dkim\.test header\.i=@dkim\.test header\.s=e2e-down-$mta"
	check "$(mta_name $mta): e2e-down-$mta: no pass anywhere" \
		bash -c "! grep -qi 'dkim=pass' '$PC_DIR/e2e-down-$mta.headers'"
done
finish
