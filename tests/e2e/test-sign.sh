#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-sign.sh RELAY SIGN: portcullis-sign through a real Postfix
# and a real Sendmail, attached by the shipped snippets (Postfix: the
# submission list, last; Sendmail: the last filter). Mail submitted with
# AUTH as alice@example.com (RSA and Ed25519 keys) is delivered with two
# DKIM signatures at the top, which dkimpy verifies with the public keys
# served by the test DNS server; the same From from outside on the MX
# listener is delivered unsigned. Then, reloaded to simple/simple, headers
# spaced oddly still verify as both MTAs deliver them. The daemon runs as nobody, so its keys are
# read as the production layout has them (0600, the daemon's user). TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
SIGN=$2
TEST_DNS=$HERE/../dns/pc-test-dns
VERIFY=$HERE/../milter/dkim-verify.py

if ! /usr/bin/python3 -c 'import dkim, nacl, dns.query' 2>/dev/null; then
	echo "Bail out! dkimpy, python3-nacl or dnspython missing (dev/deps.sh PC_TEST_PACKAGES)"
	exit 1
fi

# keys as the daemon's user reads them: 0600, owned by it
KEYS=$PC_DIR/keys
mkdir -p "$KEYS" "$PC_DIR/dns"
chmod 0755 "$KEYS"
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$KEYS/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$KEYS/ed.pem"
chmod 0600 "$KEYS"/*.pem
chown nobody "$KEYS"/*.pem
mkdir -p "$PC_DIR/domains.d"
cat >"$PC_DIR/domains.d/example.com.conf" <<EOF
[sign]
selector = e2e
key = $KEYS/rsa.pem
selector_ed25519 = e2e-ed
key_ed25519 = $KEYS/ed.pem
EOF
chmod 0644 "$PC_DIR/domains.d/example.com.conf"
{
	echo '$ZONE example.com.'
	/usr/bin/python3 "$VERIFY" record example.com e2e \
		"$(openssl pkey -in "$KEYS/rsa.pem" -pubout -outform DER | base64 -w0)" rsa
	/usr/bin/python3 "$VERIFY" record example.com e2e-ed \
		"$(openssl pkey -in "$KEYS/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)" ed25519
} >"$PC_DIR/zone"

PC_SUITE_DAEMONS="sign=$SIGN"
pc_suite_start_or_bail
if read -r DNS_ADDR DNS_PORT < <("$TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone"); then
	ok "the test DNS server serves the public keys"
else
	not_ok "the test DNS server serves the public keys" "$PC_DIR/dns/unbound.log"
fi
trap '"$TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1; pc_suite_stop' EXIT

# the header block of TOKEN's delivered message, unfolded
headers() {
	local file
	file=$(pc_e2e_sink_find "$PC_DIR" "$1")
	[ -n "$file" ] && sed -n '1,/^\r\{0,1\}$/p' "$file" | tr -d '\r' |
		awk '/^[ \t]/ { line = line " " $0; next } { if (line != "") print line; line = $0 } END { if (line != "") print line }'
}

for mta in pf sm; do
	name=$(mta_name $mta)
	token=signed-$mta
	session $mta submission $token --to bob@outside.test \
		--header "From: Alice <alice@example.com>" \
		--header "Subject: $token, gr$(printf '\xc3\xbc')n" \
		--body "$(printf 'Hello,\n\n  a line with blanks  \ncaf\xc3\xa9\n')"
	if ! delivered $token 30; then
		not_ok "$name: submitted mail is delivered"
		explain "$PC_DIR/$token.out" "$PC_DIR/sign.log"
		continue
	fi
	ok "$name: submitted mail is delivered"
	file=$(pc_e2e_sink_find "$PC_DIR" "$token")
	if /usr/bin/python3 "$VERIFY" --dns "$DNS_ADDR" "$DNS_PORT" \
		--expect rsa-sha256,ed25519-sha256 "$file" >"$PC_DIR/$token.verify" 2>&1; then
		ok "$name: both signatures (rsa-sha256, ed25519-sha256) verify with dkimpy"
	else
		not_ok "$name: both signatures verify with dkimpy" "$PC_DIR/$token.verify"
		explain "$file" "$PC_DIR/sign.log"
	fi
	# the first header under what the sink adds (its X-* lines and Received)
	first=$(headers $token | awk '/^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args):/ { next }
		!seen && /^Received: .*/ { seen = 1; next }
		{ print substr($0, 1, 40); exit }')
	check "$name: a signature is the top header, above the MTA's Received ($first)" \
		grep -q '^DKIM-Signature: v=1; a=' <<<"$first"

	token=mx-$mta
	session $mta mx $token --to user@example.com --header "From: Alice <alice@example.com>"
	if delivered $token 30; then
		check "$name: the same From from outside on the MX listener is not signed" \
			bash -c "! grep -q '^DKIM-Signature' '$(pc_e2e_sink_find "$PC_DIR" "$token")'"
	else
		not_ok "$name: mail on the MX listener is delivered"
		explain "$PC_DIR/$token.out" "$PC_DIR/sign.log"
	fi
done
check "portcullis-sign logged both signed messages with domain, selectors and algorithms" \
	bash -c "[ \$(grep -c 'sign: action=continue, stage=eom, reason=signed, .*domain=example.com, selector=e2e+e2e-ed, algorithms=rsa-sha256+ed25519-sha256' '$PC_DIR/sign.log') = 2 ]"

# simple/simple through the real MTAs: every byte of the signed headers as
# they deliver them (the blanks after the colon come with SMFIP_HDR_LEADSPC)
printf '\n[sign]\ncanonicalization = simple/simple\nalgorithms = rsa-sha256\n' >>"$RELAY_CONF"
lines=$(wc -l <"$PC_DIR/sign.log")
kill -HUP "$(cat "$PC_DIR/sign.pid")"
if pc_e2e_wait 10 pc_e2e_log_has_since "$PC_DIR/sign.log" "$lines" 'reload: configuration'; then
	ok "reload to simple/simple canonicalisation"
else
	not_ok "reload to simple/simple canonicalisation" "$PC_DIR/sign.log"
fi
for mta in pf sm; do
	name=$(mta_name $mta)
	token=simple-$mta
	# Sendmail rewrites the blanks of the address headers it delivers
	# (a tab after "To:" goes out as a space) after the milters have
	# seen them, so only Postfix gets that one: simple header
	# canonicalisation through Sendmail breaks on it (relaxed, the
	# default, does not care)
	extra=()
	[ $mta = pf ] && extra=(--add-header "To:	bob@outside.test")
	session $mta submission $token --to bob@outside.test \
		--header "From:Alice <alice@example.com>" \
		--header "Subject:   $token,  two  blanks  " "${extra[@]}"
	if delivered $token 30 && /usr/bin/python3 "$VERIFY" --dns "$DNS_ADDR" "$DNS_PORT" \
		--expect rsa-sha256 "$(pc_e2e_sink_find "$PC_DIR" "$token")" >"$PC_DIR/$token.verify" 2>&1 &&
		grep -q 'c=simple/simple' "$(pc_e2e_sink_find "$PC_DIR" "$token")"; then
		ok "$name: simple/simple, headers spaced oddly: the signature verifies as delivered"
	else
		not_ok "$name: simple/simple signature verifies as delivered" "$PC_DIR/$token.verify"
		explain "$PC_DIR/$token.out" "$(pc_e2e_sink_find "$PC_DIR" "$token")" "$PC_DIR/sign.log"
	fi
done
finish
