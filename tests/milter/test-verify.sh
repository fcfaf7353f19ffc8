#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-verify.sh VERIFY CLIENT PC-TEST-DNS: portcullis-verify
# through pc-milter-client as Postfix and as Sendmail, resolving through a
# real DNS server on loopback (tests/dns/pc-test-dns). Every received
# Authentication-Results header that claims our authserv-id (however it is
# spelled: case, quotes, comments, a trailing dot, an unclosed quote) or one
# of remove_authserv_ids is deleted, the others are kept, and ours is
# inserted at the top (header values arrive with their leading blanks:
# SMFIP_HDR_LEADSPC) with the SPF results: the MAIL FROM identity
# (smtp.mailfrom) and the HELO identity (smtp.helo, which stands for
# MAIL FROM:<>); nothing for trusted and authenticated clients; temperror
# when the DNS fails; with spf_fail_action = reject a fail is refused at
# RCPT (550 5.7.23), and RCPT is negotiated with a reply only then; an
# unsigned message is dkim=none. TAP.
set -u
VERIFY=$1
CLIENT=$2
PC_TEST_DNS=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-verify-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

# the senders' zones: pass, fail with an explanation, softfail, neutral, a
# broken record, a server failure and a zone that never answers
cat >"$PC_DIR/zone.txt" <<'EOF'
$ZONE example.org.
example.org. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example.org. 300 IN TXT "v=spf1 -all exp=why.example.org"
why.example.org. 300 IN TXT "%{i} may not send for %{d}"
soft.example.org. 300 IN TXT "v=spf1 ~all"
neutral.example.org. 300 IN TXT "v=spf1 ?all"
broken.example.org. 300 IN TXT "v=spf1 ip4:192.0.2.0/33 -all"
$ZONE example.net.
client.example.net. 300 IN TXT "v=spf1 a -all"
client.example.net. 300 IN A 192.0.2.10
badhelo.example.net. 300 IN TXT "v=spf1 -all"
$SERVFAIL servfail.example.org.
$TIMEOUT timeout.example.org.
EOF
if ! read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone.txt"); then
	not_ok "the test DNS server starts" "$PC_DIR/dns/unbound.log"
	finish
	exit 1
fi

mkdir -p "$PC_DIR/domains.d"
# conf NAME SPF_FAIL_ACTION: NAME.conf, resolving through the test server
conf() {
	cat >"$PC_DIR/$1.conf.new" <<EOF
[global]
local_domains = example.com
domains_dir = $PC_DIR/domains.d
authserv_id = mx.example.com
user =
dns = $DNS_ADDRESS@$DNS_PORT
dns_timeout = 1s

[verify]
remove_authserv_ids = mx2.example.com
spf_fail_action = $2
# DMARC has tests of its own (test-dmarc.sh): here SPF and the A-R alone
dmarc = no
EOF
	mv "$PC_DIR/$1.conf.new" "$PC_DIR/$1.conf"
}
conf v none

if start_daemon "$VERIFY" v; then
	ok "portcullis-verify starts"
else
	not_ok "portcullis-verify starts" "$PC_DIR/v.log"
	finish
	exit 1
fi

# the received headers, in order: claim (ours: deleted) or keep
HEADERS=(
	"ours|Authentication-Results: mx.example.com; dkim=pass header.d=example.org"
	"keep|Authentication-Results: other.example; spf=pass smtp.mailfrom=example.org"
	"ours|Authentication-Results: (c) \"MX.Example.COM.\" ; spf=pass"
	"ours|Authentication-Results: mx2.example.com; dkim=pass"
	"keep|Authentication-Results: mx.example.com.evil.test; none"
	"ours|authentication-results: mx.example.com 1; none"
	"ours|Authentication-Results: \"mx.example.com; dkim=pass"
	"keep|Authentication-Results: evil.test; dkim=pass header.d=mx.example.com"
	"ours|Authentication-Results: mx.example.com(x);dmarc=pass"
	"keep|X-Authentication-Results: mx.example.com; dkim=pass"
)

for mta in postfix sendmail; do
	{
		echo "mta $mta"
		echo "connect 192.0.2.10 port 40001 name client.example.net"
		echo "helo client.example.net"
		echo "mail <alice@example.org>"
		echo "rcpt <bob@example.com>"
		echo "data"
		echo "header From: Alice <alice@example.org>"
		for row in "${HEADERS[@]}"; do echo "header ${row#*|}"; done
		echo "header Subject: forged"
		echo "body hello"
		echo "eom"
		echo "expect continue"
		echo 'expect-mod insheader 0 Authentication-Results: mx.example.com;\n\tspf=pass smtp.mailfrom=example.org;\n\tspf=pass smtp.helo=client.example.net'
		echo "expect-mod insheader dkim=none"
		instance=0
		for row in "${HEADERS[@]}"; do
			name=${row#*|}
			name=${name%%:*}
			[ "${name,,}" = authentication-results ] || continue
			instance=$((instance + 1))
			if [ "${row%%|*}" = ours ]; then
				echo "expect-mod chgheader $instance Authentication-Results (delete)"
			else
				echo "expect-no-mod chgheader $instance Authentication-Results"
			fi
		done
		echo "quit"
	} >"$PC_DIR/$mta.scn"
	check "$mta: 6 forged spellings of our authserv-id deleted, 3 others kept, ours at the top" \
		run_client v "$PC_DIR/$mta.scn"
done
check "the decision names how many were removed" \
	grep -qE 'verify: .*authres_removed=6' "$PC_DIR/v.log"

# no A-R at all, no HELO: ours is still inserted, nothing deleted
cat >"$PC_DIR/plain.scn" <<'EOF'
connect 192.0.2.10
mail <alice@example.org>
rcpt <bob@example.com>
data
header Subject: plain
body hello
eom
expect continue
expect-mod insheader 0 Authentication-Results: mx.example.com;\n\tspf=pass smtp.mailfrom=example.org
expect-no-mod insheader 0 smtp.helo
expect-mod insheader dkim=none
expect-no-mod chgheader
quit
EOF
check "a message without A-R headers gets ours, nothing deleted" run_client v "$PC_DIR/plain.scn"

# spf_scenario MTA CLIENT HELO SENDER AR [LOGIN]: one message ("-": no
# HELO); AR is the expected value of our header, entries joined by \n\t
spf_scenario() {
	echo "mta $1"
	echo "connect $2 port 40001 name client.example.net"
	[ "$3" = - ] || echo "helo $3"
	[ -z "${6:-}" ] || echo "auth $6"
	echo "mail $4"
	echo "rcpt <bob@example.com>"
	echo "expect continue"
	echo "data"
	echo "header Subject: spf"
	echo "body hello"
	echo "eom"
	echo "expect continue"
	echo "expect-mod insheader 0 Authentication-Results: $5"
	echo "quit"
}

# label|client|helo|sender|our A-R value|login
SPF_CASES=(
	'pass from an address in the record|192.0.2.10|client.example.net|<alice@example.org>|mx.example.com;\n\tspf=pass smtp.mailfrom=example.org;\n\tspf=pass smtp.helo=client.example.net|'
	'fail, and the HELO identity fails too|198.51.100.7|badhelo.example.net|<bob@fail.example.org>|mx.example.com;\n\tspf=fail smtp.mailfrom=fail.example.org;\n\tspf=fail smtp.helo=badhelo.example.net|'
	'softfail|198.51.100.7|-|<carol@soft.example.org>|mx.example.com;\n\tspf=softfail smtp.mailfrom=soft.example.org|'
	'neutral|198.51.100.7|-|<carol@neutral.example.org>|mx.example.com;\n\tspf=neutral smtp.mailfrom=neutral.example.org|'
	'none without a record|198.51.100.7|-|<carol@nothing.example.org>|mx.example.com;\n\tspf=none smtp.mailfrom=nothing.example.org|'
	'permerror for a broken record|198.51.100.7|-|<carol@broken.example.org>|mx.example.com;\n\tspf=permerror smtp.mailfrom=broken.example.org|'
	'temperror when the server fails (SERVFAIL)|198.51.100.7|-|<carol@servfail.example.org>|mx.example.com;\n\tspf=temperror smtp.mailfrom=servfail.example.org|'
	'temperror when the server never answers|198.51.100.7|-|<carol@timeout.example.org>|mx.example.com;\n\tspf=temperror smtp.mailfrom=timeout.example.org|'
	'the HELO identity for MAIL FROM:<>|192.0.2.10|client.example.net|<>|mx.example.com;\n\tspf=pass smtp.helo=client.example.net|'
	'the HELO identity for <>, failing|198.51.100.7|badhelo.example.net|<>|mx.example.com;\n\tspf=fail smtp.helo=badhelo.example.net|'
	'a HELO name that is no domain: none|198.51.100.7|[198.51.100.7]|<>|mx.example.com;\n\tspf=none smtp.helo="[198.51.100.7]"|'
	'<> without a HELO: nothing to check|198.51.100.7|-|<>|mx.example.com;\n\tdkim=none|'
	'an IPv6 client|2001:db8::7|-|<alice@example.org>|mx.example.com;\n\tspf=fail smtp.mailfrom=example.org|'
	'a trusted client is not checked|127.0.0.1|client.example.net|<bob@fail.example.org>|mx.example.com;\n\tdkim=none|'
	'an authenticated client is not checked|198.51.100.7|badhelo.example.net|<bob@fail.example.org>|mx.example.com;\n\tdkim=none|alice'
)
n=0
for mta in postfix sendmail; do
	for row in "${SPF_CASES[@]}"; do
		IFS='|' read -r label client helo sender ar login <<<"$row"
		n=$((n + 1))
		spf_scenario $mta "$client" "$helo" "$sender" "$ar" "$login" >"$PC_DIR/spf-$n.scn"
		check "$mta: $label" run_client v "$PC_DIR/spf-$n.scn"
	done
done
check "the decision line names the SPF result, the domain, the HELO's result and why" \
	grep -qE 'verify: .*from=<bob@fail.example.org>, spf=fail, spf_domain=fail.example.org, spf_helo=fail, spf_reason=-all in fail.example.org' "$PC_DIR/v.log"
check "a trusted client's line says SPF was skipped, and why" \
	grep -qE 'verify: .*\[127.0.0.1\].*spf=skipped, spf_skipped=trusted' "$PC_DIR/v.log"
check "an authenticated client's line says SPF was skipped, and why" \
	grep -qE 'verify: .*spf=skipped, spf_skipped=authenticated' "$PC_DIR/v.log"
check "<> without a HELO says so" \
	grep -qE 'verify: .*from=<>, spf=skipped, spf_skipped=no-helo' "$PC_DIR/v.log"
check "a temperror says why" \
	grep -qE 'verify: .*spf=temperror, spf_domain=timeout.example.org, spf_reason=DNS timeout for TXT timeout.example.org' "$PC_DIR/v.log"

# spf_fail_action = reject: a fail refused at RCPT, everything else goes on
conf r reject
if start_daemon "$VERIFY" r; then
	ok "portcullis-verify starts with spf_fail_action = reject"
else
	not_ok "portcullis-verify starts with spf_fail_action = reject" "$PC_DIR/r.log"
fi
for mta in postfix sendmail; do
	cat >"$PC_DIR/reject-$mta.scn" <<EOF
mta $mta
connect 198.51.100.7 port 40001 name client.example.net
helo badhelo.example.net
mail <bob@fail.example.org>
rcpt <bob@example.com>
expect reject 550 5.7.23 SPF validation failed for fail.example.org
rcpt <postmaster@example.com>
expect reject 550 5.7.23
abort
mail <carol@soft.example.org>
rcpt <bob@example.com>
expect continue
abort
mail <>
rcpt <bob@example.com>
expect reject 550 5.7.23 SPF validation failed for badhelo.example.net
quit
EOF
	check "$mta: a fail is refused at RCPT with 550 5.7.23 (the HELO's for <>), a softfail is not" \
		run_client r "$PC_DIR/reject-$mta.scn"
done
check "the refusal is logged with the domain, why, and the reply" \
	grep -qE 'verify: action=reject, stage=rcpt, reason=spf-fail, .*spf_domain=fail.example.org, spf_reason=-all in fail.example.org, reply="550 5.7.23 SPF validation failed for fail.example.org"' "$PC_DIR/r.log"

# RCPT is negotiated without a reply under none, with one under reject; a
# connection keeps what it negotiated across a reload that changes it
cat >"$PC_DIR/nr.scn" <<'EOF'
connect 198.51.100.7
helo badhelo.example.net
mail <bob@fail.example.org>
rcpt <bob@example.com>
expect continue
quit
EOF
run_client v "$PC_DIR/nr.scn"
check "none: the MTA does not wait for an answer at RCPT" \
	grep -q 'rcpt <bob@example.com>: continue (no reply: SMFIP_NR_RCPT)' "$PC_DIR/nr.scn.out"
cat >"$PC_DIR/reload.scn" <<EOF
connect 198.51.100.7
helo badhelo.example.net
pause-until-file $PC_DIR/reloaded
mail <bob@fail.example.org>
rcpt <bob@example.com>
expect continue
data
header Subject: after the reload
eom
expect continue
quit
EOF
"$CLIENT" -s "unix:$PC_DIR/v.sock" "$PC_DIR/reload.scn" >"$PC_DIR/reload.out" 2>&1 &
reload_client=$!
wait_until 5 test -s "$PC_DIR/reload.out"
conf v reject
kill -HUP "$PID_v"
wait_log "$PC_DIR/v.log" 'reload: configuration .* loaded' && touch "$PC_DIR/reloaded"
if wait "$reload_client"; then
	ok "a connection negotiated under none is not refused after a reload to reject"
else
	not_ok "a connection negotiated under none is not refused after a reload to reject" \
		"$PC_DIR/reload.out"
fi
check "... and the log says so" \
	grep -qE 'reason=spf-fail-not-refused, .*spf_domain=fail.example.org' "$PC_DIR/v.log"
cat >"$PC_DIR/after.scn" <<'EOF'
connect 198.51.100.7
helo badhelo.example.net
mail <bob@fail.example.org>
rcpt <bob@example.com>
expect reject 550 5.7.23
quit
EOF
check "a new connection after the reload is refused" run_client v "$PC_DIR/after.scn"

stop_pid "$PID_v"
check "SIGTERM: clean stop" grep -q stopping "$PC_DIR/v.log"
finish
