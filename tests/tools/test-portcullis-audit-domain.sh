#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-audit-domain.sh PORTCULLIS PC-TEST-DNS:
# `portcullis audit domain` against zones on the test DNS server: a domain
# done right (SPF through an include, DMARC p=reject with an external rua
# that is confirmed, RSA-2048 and Ed25519 keys, an MX whose reverse name
# is forward-confirmed, MTA-STS and TLS-RPT records, TLSA) and each way
# to get it wrong (no SPF, two records, +all, ?all, a syntax error, more
# than 10 lookups, an include loop, no DMARC, p=none, an unconfirmed
# external rua, a 1024-bit and a 512-bit key, a missing key, t=y, an MX
# without a reverse name, a null MX); with --https the MTA-STS policy file
# served over HTTPS on 127.0.0.1:443 (openssl s_server, a CA made for the
# run): valid and naming the MX, naming another MX, and from a host whose
# certificate is another's; --json; usage. TAP.
set -u
PORTCULLIS=$1
PC_TEST_DNS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-audit-test.XXXXXX)
cleanup() {
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

# keys of this run, as DNS p= values
pkey() { # pkey BITS: an RSA public key, base64 DER on one line
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$1" 2>/dev/null |
		openssl pkey -pubout -outform DER 2>/dev/null | base64 -w0
}
RSA2048=$(pkey 2048)
RSA1024=$(pkey 1024)
RSA512=$(pkey 512)
ED=$(openssl genpkey -algorithm ED25519 2>/dev/null | openssl pkey -pubout -outform DER 2>/dev/null |
	tail -c 32 | base64 -w0)
# a TXT value of any length, in 255-octet strings
txt() { printf '%s' "$1" | fold -w 250 | sed 's/.*/"&"/' | paste -sd ' '; }

{
	cat <<'ZONE'
$ZONE .
$ZONE good.test.
good.test. 300 IN TXT "v=spf1 mx include:_spf.good.test -all"
_spf.good.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc.good.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@good.test,mailto:r@reports.test"
good.test. 300 IN MX 10 mx.good.test.
mx.good.test. 300 IN A 192.0.2.25
_mta-sts.good.test. 300 IN TXT "v=STSv1; id=2026120401"
_smtp._tls.good.test. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@good.test"
mta-sts.good.test. 300 IN A 127.0.0.1
_25._tcp.mx.good.test. 300 IN TLSA 3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF
ZONE
	echo "s2048._domainkey.good.test. 300 IN TXT $(txt "v=DKIM1; k=rsa; p=$RSA2048")"
	echo "s1024._domainkey.good.test. 300 IN TXT $(txt "v=DKIM1; k=rsa; p=$RSA1024")"
	echo "s512._domainkey.good.test. 300 IN TXT $(txt "v=DKIM1; k=rsa; p=$RSA512")"
	echo "ed._domainkey.good.test. 300 IN TXT \"v=DKIM1; k=ed25519; p=$ED\""
	echo "test._domainkey.good.test. 300 IN TXT $(txt "v=DKIM1; t=y; p=$RSA2048")"
	cat <<'ZONE'
$ZONE reports.test.
good.test._report._dmarc.reports.test. 300 IN TXT "v=DMARC1"
$ZONE 2.0.192.in-addr.arpa.
25.2.0.192.in-addr.arpa. 300 IN PTR mx.good.test.
$ZONE bad.test.
bad.test. 300 IN TXT "v=spf1 ?all"
_dmarc.bad.test. 300 IN TXT "v=DMARC1; p=none; rua=mailto:x@elsewhere.test"
bad.test. 300 IN MX 10 mx.bad.test.
mx.bad.test. 300 IN A 198.51.100.9
two.bad.test. 300 IN TXT "v=spf1 -all"
two.bad.test. 300 IN TXT "v=spf1 mx -all"
plus.bad.test. 300 IN TXT "v=spf1 +all"
broken.bad.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/33 -all"
loop.bad.test. 300 IN TXT "v=spf1 include:loop2.bad.test -all"
loop2.bad.test. 300 IN TXT "v=spf1 include:loop.bad.test -all"
many.bad.test. 300 IN TXT "v=spf1 a mx include:i1.bad.test include:i2.bad.test -all"
i1.bad.test. 300 IN TXT "v=spf1 a mx a:x1.bad.test a:x2.bad.test ~all"
i2.bad.test. 300 IN TXT "v=spf1 a mx a:x3.bad.test a:x4.bad.test ~all"
open.bad.test. 300 IN TXT "v=spf1 a"
null.bad.test. 300 IN MX 0 .
_mta-sts.sts.bad.test. 300 IN TXT "v=STSv1; id=1"
mta-sts.sts.bad.test. 300 IN A 127.0.0.1
$ZONE nothing.test.
nothing.test. 300 IN A 192.0.2.80
ZONE
} >"$PC_DIR/zone.txt"
if ! read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone.txt" 2>"$PC_DIR/dns.err"); then
	not_ok "the test DNS server starts" "$PC_DIR/dns.err"
	finish
	exit 1
fi
cat >"$PC_DIR/p.conf" <<CONF
[global]
user =
dns = $DNS_ADDRESS@$DNS_PORT
dns_timeout = 2s
CONF
audit() { # audit NAME ARGS...: the findings in NAME.out, status in STATUS
	local name=$1
	shift
	"$PORTCULLIS" audit domain -c "$PC_DIR/p.conf" "$@" >"$PC_DIR/$name.out" 2>&1
	STATUS=$?
}
has() { grep -qE -- "$2" "$PC_DIR/$1.out"; }

audit good --selector s2048 --selector ed --selector s1024 --selector s512 --selector test \
	--selector missing good.test
check "a domain: status 0" test "$STATUS" = 0
check "spf: -all is ok" has good '^ok +spf +-all: servers not listed fail$'
check "spf: the lookups counted through the include (mx, include: 2)" \
	has good '^ok +spf +2 DNS lookups through includes and redirects'
check "dmarc: its own p=reject" has good '^ok +dmarc +its own record at _dmarc\.good\.test: p=reject$'
check "dmarc: rua inside the organisation" has good '^ok +dmarc +rua mailto:d@good\.test: within the organisation'
check "dmarc: an external rua confirmed by its record" \
	has good '^ok +dmarc +rua mailto:r@reports\.test: confirmed by good\.test\._report\._dmarc\.reports\.test'
check "dkim: RSA 2048 is ok" has good '^ok +dkim +s2048\._domainkey\.good\.test: RSA 2048 bits$'
check "dkim: Ed25519 is ok" has good '^ok +dkim +ed\._domainkey\.good\.test: Ed25519'
check "dkim: RSA 1024 is weak" has good '^warning +dkim +s1024\._domainkey\.good\.test: RSA 1024 bits: use 2048'
check "dkim: RSA 512 is refused by verifiers" has good '^error +dkim +s512\._domainkey\.good\.test: RSA 512 bits'
check "dkim: t=y is said" has good '^info +dkim +test\._domainkey\.good\.test: t=y'
check "dkim: a selector without a record" has good '^error +dkim +missing\._domainkey\.good\.test: no key record'
check "mx: the host and its forward-confirmed reverse name" \
	has good '^ok +mx +mx\.good\.test \(192\.0\.2\.25\): reverse name mx\.good\.test, confirmed forward'
check "mta-sts: the record, the policy file not fetched" has good '^ok +mta-sts +_mta-sts\.good\.test: v=STSv1; id=2026120401 \(the policy file'
check "tls-rpt: the record" has good '^ok +tls-rpt +_smtp\._tls\.good\.test: v=TLSRPTv1'
check "dane: TLSA seen, not judged without DNSSEC validation" \
	has good '^info +dane +_25\._tcp\.mx\.good\.test has TLSA records; not judged: \[global\] dnssec is off'

audit bad bad.test
check "spf: ?all" has bad '^warning +spf +\?all: servers not listed are neutral'
check "dmarc: p=none is monitoring only" has bad '^info +dmarc +its own record at _dmarc\.bad\.test: p=none \(monitoring'
check "dmarc: an external rua not confirmed" \
	has bad '^error +dmarc +rua mailto:x@elsewhere\.test: outside the organisation and bad\.test\._report\._dmarc\.elsewhere\.test has no v=DMARC1 record'
check "mx: no reverse name" has bad '^warning +mx +mx\.bad\.test \(198\.51\.100\.9\): no reverse name'
check "mta-sts and tls-rpt missing: said" \
	bash -c "grep -q '^info *mta-sts *no MTA-STS record' '$PC_DIR/bad.out' && grep -q '^info *tls-rpt *no TLS-RPT record' '$PC_DIR/bad.out'"
check "no --selector: said" has bad '^info +dkim +no --selector given'

audit two two.bad.test
check "spf: two records, permerror" has two '^error +spf +two\.bad\.test has 2 SPF records: permerror'
audit plus plus.bad.test
check "spf: +all" has plus '^error +spf +\+all: every server on the Internet may send as plus\.bad\.test'
audit broken broken.bad.test
check "spf: a syntax error, permerror" has broken '^error +spf +broken\.bad\.test: .*permerror for every message'
audit loop loop.bad.test
check "spf: an include loop" has loop '^error +spf +loop\.bad\.test is reached twice'
audit many many.bad.test
check "spf: over 10 lookups" has many '^error +spf +12 DNS lookups through includes and redirects, over 10'
audit open open.bad.test
check "spf: no all and no redirect" has open '^warning +spf +no all and no redirect'
audit null null.bad.test
check "mx: a null MX" has null '^info +mx +null MX: null\.bad\.test accepts no mail'
check "dmarc: a subdomain without a record inherits its parent's" \
	has null '^info +dmarc +inherited record at _dmarc\.bad\.test: p=none'
audit nothing nothing.test
check "nothing published: no SPF, no DMARC, no MX" \
	bash -c "grep -q '^warning *spf *nothing.test has no SPF record' '$PC_DIR/nothing.out' &&
		grep -q '^warning *dmarc *no DMARC record applies' '$PC_DIR/nothing.out' &&
		grep -q '^info *mx *no MX record' '$PC_DIR/nothing.out'"

# --------------------------------------------------- MTA-STS over HTTPS
# a CA of this run, and mta-sts.good.test's certificate from it
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PC_DIR/ca.key" -out "$PC_DIR/ca.pem" \
	-days 2 -subj /CN=portcullis-test-ca >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$PC_DIR/sts.key" -out "$PC_DIR/sts.csr" \
	-subj /CN=mta-sts.good.test >/dev/null 2>&1
printf 'subjectAltName=DNS:mta-sts.good.test\n' >"$PC_DIR/sts.ext"
openssl x509 -req -in "$PC_DIR/sts.csr" -CA "$PC_DIR/ca.pem" -CAkey "$PC_DIR/ca.key" \
	-CAcreateserial -days 2 -extfile "$PC_DIR/sts.ext" -out "$PC_DIR/sts.pem" >/dev/null 2>&1
mkdir -p "$PC_DIR/www/.well-known"
printf 'version: STSv1\nmode: enforce\nmx: mx.good.test\nmax_age: 86400\n' \
	>"$PC_DIR/www/.well-known/mta-sts.txt"
(cd "$PC_DIR/www" && exec openssl s_server -accept 127.0.0.1:443 -cert "$PC_DIR/sts.pem" \
	-key "$PC_DIR/sts.key" -WWW -quiet) >"$PC_DIR/https.log" 2>&1 &
HTTPS_PID=$!
trap 'kill $HTTPS_PID 2>/dev/null; cleanup' EXIT
https_up() { (exec 3<>/dev/tcp/127.0.0.1/443) 2>/dev/null; }
if wait_until 10 https_up; then
	ok "an HTTPS server serves the policy on 127.0.0.1:443"
	audit sts --https --ca-file "$PC_DIR/ca.pem" good.test
	check "--https: the policy fetched, enforce" \
		has sts '^ok +mta-sts +policy fetched from https://mta-sts\.good\.test: mode enforce, 1 mx patterns, max_age 86400$'
	check "--https: the MX matches the policy" bash -c "! grep -q 'matches no mx' '$PC_DIR/sts.out'"
	printf 'version: STSv1\nmode: enforce\nmx: *.elsewhere.test\nmax_age: 86400\n' \
		>"$PC_DIR/www/.well-known/mta-sts.txt"
	audit sts-mx --https --ca-file "$PC_DIR/ca.pem" good.test
	check "--https: an MX the policy does not name, in enforce mode: an error" \
		has sts-mx '^error +mta-sts +MX mx\.good\.test matches no mx: line of the policy: senders will not deliver to it'
	audit sts-trust --https good.test
	check "--https: a certificate this system does not trust: the policy is ignored" \
		has sts-trust '^error +mta-sts +the policy cannot be fetched: the certificate of mta-sts\.good\.test is not valid'
	audit sts-name --https --ca-file "$PC_DIR/ca.pem" sts.bad.test
	check "--https: a certificate for another name: the policy is ignored" \
		has sts-name '^error +mta-sts +the policy cannot be fetched: the certificate of mta-sts\.sts\.bad\.test is not valid'
else
	not_ok "an HTTPS server serves the policy on 127.0.0.1:443" "$PC_DIR/https.log"
fi
kill $HTTPS_PID 2>/dev/null

audit json --json good.test
check "--json: an array of findings" \
	bash -c "/usr/bin/python3 -c 'import json,sys; f=json.load(open(sys.argv[1])); assert any(x[\"check\"]==\"spf\" and x[\"severity\"]==\"ok\" for x in f)' '$PC_DIR/json.out'"
audit usage
check "no domain: status 2" test "$STATUS" = 2
audit usage2 "not a domain"
check "not a domain: status 2" test "$STATUS" = 2
check "help lists audit" bash -c "'$PORTCULLIS' help | grep -q '^  audit '"
finish
