#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-stack.sh STACK: portcullis-stack hosting all five daemons
# ([stack] members = relay; auth; rate; verify; sign) as the only milter,
# attached where the snippets attach portcullis-relay (first on both
# Postfix lists, Sendmail's first filter): one milter connection per SMTP
# session. Through a real Postfix and a real Sendmail, each member decides
# as its own daemon would: the relay guard refuses a relay attempt on the
# MX listener, auth refuses an unauthenticated submission, a rate limit
# tempfails a second message, verify adds the Authentication-Results header
# to MX mail only, and sign signs submitted mail only (dkimpy verifies the
# signature with the key the test DNS server serves); every decision line
# carries the member's own name. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
STACK=$1
VERIFY=$HERE/../milter/dkim-verify.py

if ! /usr/bin/python3 -c 'import dkim, dns.query' 2>/dev/null; then
	echo "Bail out! dkimpy or dnspython missing (dev/deps.sh PC_TEST_PACKAGES)"
	exit 1
fi

# the signing key as the daemon's user reads it (0600, nobody's)
KEYS=$PC_DIR/keys
mkdir -p "$KEYS" "$PC_DIR/domains.d"
chmod 0755 "$KEYS"
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$KEYS/rsa.pem" 2>/dev/null
chmod 0600 "$KEYS/rsa.pem"
chown nobody "$KEYS/rsa.pem"
printf '[sign]\nselector = e2e\nkey = %s\n' "$KEYS/rsa.pem" >"$PC_DIR/domains.d/example.com.conf"
chmod 0644 "$PC_DIR/domains.d/example.com.conf"
{
	echo '$ZONE example.com.'
	/usr/bin/python3 "$VERIFY" record example.com e2e \
		"$(openssl pkey -in "$KEYS/rsa.pem" -pubout -outform DER | base64 -w0)" rsa
} >"$PC_DIR/keys.zone"
printf 'alice@example.com alice@example.com\n' >"$PC_DIR/sender_login"
chmod 0644 "$PC_DIR/sender_login"
PC_SUITE_DNS_ZONES="$HERE/spf.zone $PC_DIR/keys.zone"
PC_SUITE_CONF_EXTRA="[stack]
members = relay; auth; rate; verify; sign

[auth]
sender_login_maps = $PC_DIR/sender_login

[verify]
dmarc = no

[rate.e2e_smtps]
key = recipient
count = messages
rate = 1/1h
roles = smtps
action = tempfail"
pc_suite_start_or_bail
DNS_ADDR=${PC_SUITE_GLOBAL_EXTRA#dns = }
DNS_ADDR=${DNS_ADDR%%$'\n'*}
DNS_PORT=${DNS_ADDR#*@}
DNS_ADDR=${DNS_ADDR%@*}
LOG=$PC_DIR/relay.log # the stack listens where portcullis-relay would

# headers FILE: the header block, unfolded
headers() {
	sed -n '1,/^\r\{0,1\}$/p' "$1" | tr -d '\r' |
		awk '/^[ \t]/ { line = line " " $0; next } { if (line != "") print line; line = $0 } END { if (line != "") print line }'
}

check "one process hosts the five daemons" \
	grep -q 'notice: hosting relay, auth, rate, verify, sign on one milter connection' "$LOG"

for mta in pf sm; do
	name=$(mta_name $mta)

	token=relay-$mta
	session $mta mx $token --to victim@outside.test
	check "$name: a relay attempt on the MX listener is refused by the relay member (554)" \
		replied $token '^554 5\.7\.1 .*Relay access denied'

	token=noauth-$mta
	session $mta submission-noauth $token --to bob@outside.test
	check "$name: unauthenticated submission is refused by the auth member" \
		replied $token '^5[0-9][0-9] 5\.7\.[0-9]+ '

	token=mx-$mta
	session $mta mx $token --to user@example.com --header "From: Alice <alice@example.com>"
	if delivered $token 30; then
		file=$(pc_e2e_sink_find "$PC_DIR" $token)
		headers "$file" >"$PC_DIR/$token.headers"
		check "$name: MX mail carries the verify member's Authentication-Results (spf=pass)" \
			grep -qE '^Authentication-Results: mail\.example\.com;.*spf=pass smtp\.mailfrom=sender\.test' "$PC_DIR/$token.headers"
		check "$name: MX mail is not signed (sign is not asked on the MX listener)" \
			bash -c "! grep -q '^DKIM-Signature' '$file'"
	else
		not_ok "$name: MX mail is delivered"
		explain "$PC_DIR/$token.out" "$LOG"
	fi

	token=sub-$mta
	session $mta submission $token --from alice@example.com --to bob@outside.test --header "From: Alice <alice@example.com>"
	if delivered $token 30; then
		file=$(pc_e2e_sink_find "$PC_DIR" $token)
		if /usr/bin/python3 "$VERIFY" --dns "$DNS_ADDR" "$DNS_PORT" --expect rsa-sha256 \
			"$file" >"$PC_DIR/$token.verify" 2>&1; then
			ok "$name: submitted mail is signed by the sign member and dkimpy verifies it"
		else
			not_ok "$name: submitted mail is signed and verifies" "$PC_DIR/$token.verify"
		fi
		check "$name: submitted mail has no Authentication-Results of ours (verify is asked on mx only)" \
			bash -c "! grep -qi '^Authentication-Results: mail\.example\.com' '$file'"
	else
		not_ok "$name: submitted mail is delivered"
		explain "$PC_DIR/$token.out" "$LOG"
	fi

	token=rate-$mta
	session $mta smtps $token --from alice@example.com --to $token@outside.test --header "From: Alice <alice@example.com>"
	first=$?
	session $mta smtps $token --from alice@example.com --to $token@outside.test --header "From: Alice <alice@example.com>"
	check "$name: the rate member lets the first message to a recipient pass on smtps ($first)" \
		delivered $token 30
	check "$name: ... and tempfails the second (1/1h)" replied $token '^451 4\.7\.1 '
done

for member in relay auth rate verify sign; do
	check "decision lines name the member: $member" grep -qE "[^ ]+: $member: action=" "$LOG"
done
check "no critical line and no crash in the stack's log" bash -c "! grep -qE 'critical|ERROR|Aborted' '$LOG'"
finish
