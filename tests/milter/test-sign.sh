#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-sign.sh SIGN CLIENT PC_TEST_DNS PORTCULLIS: portcullis-sign
# through pc-milter-client as Postfix and as Sendmail. Every signed message
# is written as the MTA would deliver it (pc-milter-client -o) and checked
# by an independent verifier, dkimpy (dkim-verify.py), and by our own
# (`portcullis verify`, libopendkim underneath), with the public keys served
# by the test DNS server: RSA, Ed25519 and both; each canonicalisation
# allowed; headers missing; an added From against the oversigned one; 8-bit
# headers and body, an empty body, long lines; the OpenDKIM tables; what is
# not signed; unsafe and weak keys refused; a reload that swaps a key in the
# middle of a burst. TAP output.
set -u
SIGN=$1
CLIENT=$2
TEST_DNS=$3
PORTCULLIS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
VERIFY=$HERE/dkim-verify.py
. "$HERE/lib.sh"

if ! /usr/bin/python3 -c 'import dkim, nacl, dns.query' 2>/dev/null; then
	echo "1..0 # SKIP dkimpy, python3-nacl or dnspython missing (dev/deps.sh PC_TEST_PACKAGES)"
	exit 0
fi

PC_DIR=$(mktemp -d /tmp/pc-sign-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	"$TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT
mkdir -p "$PC_DIR/domains.d" "$PC_DIR/keys" "$PC_DIR/dns"
KEYS=$PC_DIR/keys

# --- keys and their DNS records

mkkey() { # mkkey rsa|ed25519 NAME [BITS]
	if [ "$1" = rsa ]; then
		openssl genpkey -algorithm rsa -pkeyopt "rsa_keygen_bits:${3:-2048}" \
			-out "$KEYS/$2.pem" 2>/dev/null
	else
		openssl genpkey -algorithm ed25519 -out "$KEYS/$2.pem"
	fi
	chmod 600 "$KEYS/$2.pem"
}
public() { # public rsa|ed25519 NAME: the p= value
	if [ "$1" = rsa ]; then
		openssl pkey -in "$KEYS/$2.pem" -pubout -outform DER | base64 -w0
	else
		openssl pkey -in "$KEYS/$2.pem" -pubout -outform DER | tail -c 32 | base64 -w0
	fi
}
record() { # record DOMAIN SELECTOR rsa|ed25519 NAME
	/usr/bin/python3 "$VERIFY" record "$1" "$2" "$(public "$3" "$4")" "$3"
}

mkkey rsa rsa-a
mkkey rsa rsa-b
mkkey ed25519 ed-a
mkkey rsa weak 1024
mkkey rsa tiny 512

{
	echo '$ZONE example.'
	record dual.example s1 rsa rsa-a
	record dual.example e1 ed25519 ed-a
	record rsa.example s2 rsa rsa-b
	record ed.example e1 ed25519 ed-a
	record swap.example s1 rsa rsa-a
	record swap.example s2 rsa rsa-b
	record sub.example s1 rsa rsa-a
	record fallback.example s1 rsa rsa-a
	record kt.example k1 rsa rsa-b
	record kt.example k2 ed25519 ed-a
	record other.example k1 rsa rsa-b
	record other.example k2 ed25519 ed-a
	record weak.example w1 rsa weak
} >"$PC_DIR/zone"
if read -r DNS_ADDR DNS_PORT < <("$TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone"); then
	ok "the test DNS server serves the public keys"
	printf '[global]\ndomains_dir = %s\nuser =\nauthserv_id = mx.test\ndns = %s@%s\n' \
		"$PC_DIR/domains.d" "$DNS_ADDR" "$DNS_PORT" >"$PC_DIR/verify.conf"
else
	not_ok "the test DNS server serves the public keys" "$PC_DIR/dns/unbound.log"
	finish
	exit 1
fi

# domain_file DOMAIN "KEY = VALUE"...: written aside and renamed into place,
# as provisioning tooling does (a reload never reads half a file)
domain_file() {
	local domain=$1
	shift
	{
		echo "[sign]"
		printf '%s\n' "$@"
	} >"$PC_DIR/domains.d/.$domain.conf.tmp"
	mv -f "$PC_DIR/domains.d/.$domain.conf.tmp" "$PC_DIR/domains.d/$domain.conf"
}
domain_file dual.example "selector = s1" "key = $KEYS/rsa-a.pem" \
	"selector_ed25519 = e1" "key_ed25519 = $KEYS/ed-a.pem"
domain_file rsa.example "selector = s2" "key = $KEYS/rsa-b.pem"
domain_file ed.example "selector_ed25519 = e1" "key_ed25519 = $KEYS/ed-a.pem"
domain_file swap.example "selector = s1" "key = $KEYS/rsa-a.pem"
domain_file sub.example "selector = s1" "key = $KEYS/rsa-a.pem"
domain_file fallback.example "selector = s1" "key = $KEYS/rsa-a.pem"

# the configuration: write_conf NAME [SIGN-SECTION-LINES...]
write_conf() {
	local name=$1
	shift
	cat >"$PC_DIR/$name.conf" <<EOF
[global]
local_domains = example.com
domains_dir = $PC_DIR/domains.d
trusted_networks = 127.0.0.1/32
user =

[listener.mx]
role = mx
ports = 25
daemon_names = MX

[listener.submission]
role = submission
ports = 587
daemon_names = ORIGINATING

[listener.internal]
role = internal
ports = 10025
daemon_names = INTERNAL

[sign]
EOF
	printf '%s\n' "$@" >>"$PC_DIR/$name.conf"
}

# --- scenarios

# message MTA LISTENER LOGIN CLIENT-IP; headers from $HEADERS (one a line),
# body from $BODY (one "body" step a line; unset = one line); one transaction
message() {
	echo "mta $1"
	echo "macro {daemon_name} $2"
	echo "connect $4 port 40001 name client.example.net"
	echo "helo client.example.net"
	[ -n "$3" ] && echo "auth $3"
	echo "mail <sender@example.com>"
	echo "rcpt <bob@example.org>"
	echo "data"
	# continuation lines (a leading blank) stay as they are
	printf '%s\n' "$HEADERS" | sed '/^$/d; /^[^ \t]/s/^/header /'
	if [ -n "${BODY+set}" ]; then
		printf '%s' "$BODY"
	else
		echo "body Hello, this is the body."
	fi
	echo "eom"
	echo "expect continue"
	echo "quit"
}
HEADERS_STD="From: Alice <alice@dual.example>
To: Bob <bob@example.org>
Subject: a test
Date: Mon, 1 Jun 2026 10:00:00 +0000
Message-ID: <1@dual.example>"

# sign NAME OUT SCENARIO: plays it against daemon NAME, messages written to OUT/
sign() {
	rm -rf "$2" && mkdir -p "$2"
	"$CLIENT" -s "unix:$PC_DIR/$1.sock" -o "$2" "$3" >"$3.out" 2>&1
}
verify() { # verify [--expect ALGS] [--fail] FILE...
	/usr/bin/python3 "$VERIFY" --dns "$DNS_ADDR" "$DNS_PORT" "$@"
}
# signed_ok DESC NAME SCENARIO EXPECT: signed, and every signature verifies
# ours_ok ALGS FILE...: portcullis verify says dkim=pass once per algorithm of ALGS
ours_ok() {
	local algs=$1 file
	shift
	for file in "$@"; do
		"$PORTCULLIS" verify -c "$PC_DIR/verify.conf" "$file" >"$PC_DIR/ours.out" 2>&1
		cat "$PC_DIR/ours.out"
		[ "$(grep -c 'dkim=pass' "$PC_DIR/ours.out")" = "$(tr ',' '\n' <<<"$algs" | wc -l)" ] &&
			! grep -qE 'dkim=(fail|neutral|permerror|temperror)' "$PC_DIR/ours.out" || return 1
	done
}
signed_ok() {
	if sign "$2" "$PC_DIR/out" "$3" && verify --expect "$4" "$PC_DIR"/out/*.eml \
		>"$PC_DIR/verify.out" 2>&1 &&
		{ [ -n "${DKIMPY_ONLY:-}" ] || ours_ok "$4" "$PC_DIR"/out/*.eml >>"$PC_DIR/verify.out"; }; then
		ok "$1"
	else
		cat "$3.out" "$PC_DIR/verify.out" >"$PC_DIR/why" 2>/dev/null
		not_ok "$1" "$PC_DIR/why"
	fi
}
# not_signed DESC NAME SCENARIO REASON: continue, no DKIM-Signature, REASON logged or counted
not_signed() {
	if sign "$2" "$PC_DIR/out" "$3" && ! grep -q DKIM-Signature "$3.out" &&
		! grep -q '^DKIM-Signature' "$PC_DIR"/out/*.eml; then
		ok "$1"
	else
		not_ok "$1" "$3.out"
	fi
}

# --- relaxed/relaxed, the default: algorithms by key

STATS_PORT=$(pick_port)
write_conf s "statistics = 127.0.0.1:$STATS_PORT"
if start_daemon "$SIGN" s; then
	ok "portcullis-sign starts with RSA and Ed25519 keys"
else
	not_ok "portcullis-sign starts with RSA and Ed25519 keys" "$PC_DIR/s.log"
	finish
	exit 1
fi

for mta in postfix sendmail; do
	HEADERS=$HEADERS_STD message $mta ORIGINATING alice 192.0.2.10 >"$PC_DIR/dual-$mta.scn"
	signed_ok "$mta: dual signature (rsa-sha256 + ed25519-sha256) verifies with dkimpy" \
		s "$PC_DIR/dual-$mta.scn" rsa-sha256,ed25519-sha256
	HEADERS=${HEADERS_STD//dual.example/rsa.example} message $mta ORIGINATING alice \
		192.0.2.10 >"$PC_DIR/rsa-$mta.scn"
	signed_ok "$mta: RSA only for a domain with an RSA key" s "$PC_DIR/rsa-$mta.scn" rsa-sha256
	HEADERS=${HEADERS_STD//dual.example/ed.example} message $mta ORIGINATING alice \
		192.0.2.10 >"$PC_DIR/ed-$mta.scn"
	signed_ok "$mta: Ed25519 only for a domain with an Ed25519 key" s "$PC_DIR/ed-$mta.scn" \
		ed25519-sha256
done
check "the decision line names domain, selectors and algorithms" \
	grep -qE 'sign: action=continue, stage=eom, reason=signed, .*domain=dual\.example, selector=s1\+e1, algorithms=rsa-sha256\+ed25519-sha256, source=domain' \
	"$PC_DIR/s.log"

# headers missing, spacing and folding as written, 8-bit, empty and long bodies
HEADERS="From: alice@dual.example" message postfix ORIGINATING alice 192.0.2.10 \
	>"$PC_DIR/minimal.scn"
signed_ok "only a From header: signed, verifies" s "$PC_DIR/minimal.scn" \
	rsa-sha256,ed25519-sha256
HEADERS="From:alice@dual.example
Subject:   three blanks	and a tab  
To: a@example.org,
	b@example.org
Content-Type: text/plain;
    charset=utf-8" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/spacing.scn"
signed_ok "headers without a blank after the colon, trailing blanks, folded" s \
	"$PC_DIR/spacing.scn" rsa-sha256,ed25519-sha256
HEADERS=$'From: =?utf-8?q?J=C3=B6rg?= <joerg@dual.example>\nSubject: Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln\nX-Latin1: caf\xe9' \
	BODY=$'body Gr\xc3\xbc\xc3\x9fe, caf\xe9 \xff\nbody\nbody \t trailing  \n' \
	message sendmail ORIGINATING alice 192.0.2.10 >"$PC_DIR/8bit.scn"
signed_ok "8-bit header values and body bytes" s "$PC_DIR/8bit.scn" rsa-sha256,ed25519-sha256
HEADERS=$HEADERS_STD BODY="" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/empty.scn"
signed_ok "an empty body" s "$PC_DIR/empty.scn" rsa-sha256,ed25519-sha256
LONG=$(head -c 6000 /dev/zero | tr '\0' x)
HEADERS="$HEADERS_STD
X-Long: $LONG" BODY="body $LONG
body-size 300000
" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/long.scn"
signed_ok "a 6000-byte header, 6000-byte and 300 KiB of body lines (several chunks)" s \
	"$PC_DIR/long.scn" rsa-sha256,ed25519-sha256
# bodies that each canonicalisation treats its own way (RFC 6376 3.4.3, 3.4.4),
# signed below with every canonicalisation: label|body steps, through
# printf %b (the client drops the blanks after "body": a leading one is \x20)
BODY_CASES=(
	"only empty lines|body\nbody\nbody\n"
	"blank-only lines at the end|body text\nbody \\\\x20\\t \nbody \\\\x20 \n"
	"empty lines inside and at the end|body a\nbody\nbody b\nbody\nbody\n"
	"leading blanks, runs of blanks and tabs, blanks at line ends|body \\\\x20  lead\nbody a \\t  b\\t\nbody \\\\x09\\t x  \n"
	"a last line of blanks only|body x\nbody \\\\x09\n"
	"a CR alone inside a line|body a\\\\x0Db\nbody c\\\\x0D\\\\x0D d\n"
	"3000 empty lines, then text, then 3000 more|body a\n$(printf 'body\\n%.0s' $(seq 3000))body z\n$(printf 'body\\n%.0s' $(seq 3000))"
)
for i in "${!BODY_CASES[@]}"; do
	# (the x keeps the last newline from $(...))
	body=$(printf '%bx' "${BODY_CASES[$i]#*|}")
	HEADERS=$HEADERS_STD BODY=${body%x} message postfix ORIGINATING alice 192.0.2.10 \
		>"$PC_DIR/body$i.scn"
done
# sign_bodies NAME CANON: every body case through daemon NAME
sign_bodies() {
	local only
	for i in "${!BODY_CASES[@]}"; do
		# a CR alone: dkimpy and our signer keep it as text (it is not WSP,
		# RFC 6376 3.4.4); libopendkim's relaxed body does not, so our own
		# verifier is no judge of it (RFC 5321 2.3.8 forbids a bare CR in SMTP)
		only=
		case ${BODY_CASES[$i]} in "a CR alone"*) only=1 ;; esac
		DKIMPY_ONLY=$only signed_ok "$2: body with ${BODY_CASES[$i]%%|*}: verifies" "$1" \
			"$PC_DIR/body$i.scn" rsa-sha256,ed25519-sha256
	done
}
sign_bodies s relaxed/relaxed

# the oversigned From: a From added after signing, above or below, breaks both signatures
sign s "$PC_DIR/over" "$PC_DIR/dual-postfix.scn"
msg=$PC_DIR/over/msg-1.eml
{
	printf 'From: Mallory <ceo@dual.example>\r\n'
	cat "$msg"
} >"$PC_DIR/over/added-top.eml"
awk 'BEGIN{ORS=""} !done && /^\r$/ {print "From: Mallory <ceo@dual.example>\r\n"; done=1} {print $0 "\n"}' \
	"$msg" >"$PC_DIR/over/added-bottom.eml"
check "an added From (top or bottom) fails both signatures (oversigned h=From:...:From)" \
	verify --fail "$PC_DIR/over/added-top.eml" "$PC_DIR/over/added-bottom.eml"
check "h= lists From once more than the message has it" \
	grep -q 'h=From:To:Subject:Date:Message-ID:From;' "$msg"

# --- what is not signed
HEADERS=$HEADERS_STD message postfix MX "" 192.0.2.10 >"$PC_DIR/mx.scn"
not_signed "mx listener, client not logged in: not signed" s "$PC_DIR/mx.scn"
HEADERS=$HEADERS_STD message postfix MX alice 192.0.2.10 >"$PC_DIR/mx-auth.scn"
not_signed "mx listener, even logged in (mx is not in roles): not signed" s "$PC_DIR/mx-auth.scn"
HEADERS=$HEADERS_STD message postfix MX "" 127.0.0.1 >"$PC_DIR/mx-trusted.scn"
not_signed "mx listener, trusted client: not signed" s "$PC_DIR/mx-trusted.scn"
HEADERS=$HEADERS_STD message postfix ORIGINATING "" 192.0.2.10 >"$PC_DIR/sub-anon.scn"
not_signed "submission, not logged in, not trusted: not signed" s "$PC_DIR/sub-anon.scn"
HEADERS=$HEADERS_STD message postfix ORIGINATING "" 127.0.0.1 >"$PC_DIR/sub-trusted.scn"
signed_ok "submission, trusted client without a login: signed" s "$PC_DIR/sub-trusted.scn" \
	rsa-sha256,ed25519-sha256
HEADERS=$HEADERS_STD message sendmail INTERNAL "" 127.0.0.1 >"$PC_DIR/internal.scn"
signed_ok "internal listener, trusted client: signed" s "$PC_DIR/internal.scn" \
	rsa-sha256,ed25519-sha256
HEADERS="$HEADERS_STD
From: other@dual.example" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/two-from.scn"
not_signed "two From headers: not signed" s "$PC_DIR/two-from.scn"
check "... and logged as several-from" grep -q 'reason=several-from' "$PC_DIR/s.log"
HEADERS="From: a@dual.example, b@dual.example
Sender: a@dual.example" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/two-addr.scn"
not_signed "two addresses in From: not signed, logged" s "$PC_DIR/two-addr.scn"
HEADERS="Subject: no From" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/no-from.scn"
not_signed "no From header: not signed" s "$PC_DIR/no-from.scn"
HEADERS="From: undisclosed:;" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/group.scn"
not_signed "a From that is an empty group: not signed" s "$PC_DIR/group.scn"
HEADERS="From: x@nokey.example" message postfix ORIGINATING alice 192.0.2.10 \
	>"$PC_DIR/nokey.scn"
not_signed "a From domain without a key: not signed" s "$PC_DIR/nokey.scn"
HEADERS="From: x@a.sub.example" message postfix ORIGINATING alice 192.0.2.10 \
	>"$PC_DIR/subdomain.scn"
not_signed "a subdomain without a key (sign_subdomains = no): not signed" s \
	"$PC_DIR/subdomain.scn"
check "the logged reasons: from-addresses, no-from, from-invalid, no-key" \
	bash -c "grep -q reason=from-addresses '$PC_DIR/s.log' && grep -q reason=no-from '$PC_DIR/s.log' &&
		grep -q reason=from-invalid '$PC_DIR/s.log' && grep -q 'reason=no-key.*from_domain=nokey.example' '$PC_DIR/s.log'"
check "role and client refusals are counted, not logged" \
	bash -c "! grep -qE 'reason=(role|client)' '$PC_DIR/s.log'"
http_get 127.0.0.1 "$STATS_PORT" /metrics >"$PC_DIR/metrics" 2>/dev/null
check "metrics: signatures by algorithm, messages by result" bash -c "
	grep -qE '^portcullis_sign_signatures_total\{algorithm=\"ed25519-sha256\"\} [1-9]' '$PC_DIR/metrics' &&
	grep -qE '^portcullis_sign_signatures_total\{algorithm=\"rsa-sha256\"\} [1-9]' '$PC_DIR/metrics' &&
	grep -qE '^portcullis_sign_messages_total\{result=\"several-from\"\} 1\$' '$PC_DIR/metrics' &&
	grep -qE '^portcullis_sign_messages_total\{result=\"role\"\} 3\$' '$PC_DIR/metrics' &&
	grep -qE '^portcullis_sign_messages_total\{result=\"client\"\} 1\$' '$PC_DIR/metrics'"
stop_pid "$PID_s"

# --- each canonicalisation allowed, sign_subdomains, fallback_domain, no oversigning
for canon in simple/simple simple/relaxed relaxed/simple; do
	name=c${canon//\//_}
	algorithms="rsa-sha256 ed25519-sha256"
	expect=rsa-sha256,ed25519-sha256
	write_conf "$name" "canonicalization = $canon" "algorithms = $algorithms"
	if ! start_daemon "$SIGN" "$name"; then
		not_ok "$canon: starts" "$PC_DIR/$name.log"
		continue
	fi
	for mta in postfix sendmail; do
		signed_ok "$canon, $mta: verifies" "$name" "$PC_DIR/spacing.scn" "$expect"
		signed_ok "$canon, $mta: 8-bit, verifies" "$name" "$PC_DIR/8bit.scn" "$expect"
	done
	check "$canon: c= says so" grep -q "c=$canon;" "$PC_DIR/out/msg-1.eml"
	sign_bodies "$name" "$canon"
	stop_pid "$(eval echo "\$PID_$name")"
done

write_conf tree "sign_subdomains = yes" "fallback_domain = fallback.example" \
	"oversign_headers =" "signature_ttl = 1d"
if start_daemon "$SIGN" tree; then
	HEADERS="From: x@a.b.sub.example" message postfix ORIGINATING alice 192.0.2.10 \
		>"$PC_DIR/deep.scn"
	signed_ok "sign_subdomains: a.b.sub.example signed as d=sub.example" tree \
		"$PC_DIR/deep.scn" rsa-sha256
	check "... d=sub.example" grep -q 'd=sub.example;' "$PC_DIR/out/msg-1.eml"
	signed_ok "fallback_domain: a domain without a key signed as d=fallback.example" tree \
		"$PC_DIR/nokey.scn" rsa-sha256
	check "... d=fallback.example, x= set (signature_ttl)" \
		bash -c "grep -q 'd=fallback.example;' '$PC_DIR/out/msg-1.eml' && grep -q ' x=' '$PC_DIR/out/msg-1.eml'"
	# (dkimpy itself counts one From more than h= lists, so it is no judge of this)
	sign tree "$PC_DIR/noover" "$PC_DIR/dual-postfix.scn"
	check "oversign_headers empty: h= lists From once" \
		grep -q 'h=From:To:Subject:Date:Message-ID;' "$PC_DIR/noover/msg-1.eml"
	stop_pid "$PID_tree"
else
	not_ok "sign_subdomains/fallback_domain daemon starts" "$PC_DIR/tree.log"
fi

# --- OpenDKIM KeyTable and SigningTable
cat >"$PC_DIR/keytable" <<EOF
# OpenDKIM KeyTable
kt-rsa   kt.example:k1:$KEYS/rsa-b.pem
kt-ed    kt.example:k2:$KEYS/ed-a.pem
any-rsa  %:k1:$KEYS/rsa-b.pem
any-ed   %:k2:./keys/ed-a.pem   # relative to the table
EOF
cat >"$PC_DIR/signingtable" <<EOF
*@kt.example      kt-rsa
*@kt.example      kt-ed
*@other.example   any-rsa
*@other.example   any-ed
EOF
write_conf kt "keytable = $PC_DIR/keytable" "signingtable = refile:$PC_DIR/signingtable" \
	"multiple_signatures = yes"
if start_daemon "$SIGN" kt; then
	HEADERS="From: x@kt.example" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/kt.scn"
	signed_ok "refile SigningTable, MultipleSignatures: both keys of kt.example" kt \
		"$PC_DIR/kt.scn" rsa-sha256,ed25519-sha256
	HEADERS="From: y@Other.Example" message postfix ORIGINATING alice 192.0.2.10 \
		>"$PC_DIR/other.scn"
	signed_ok "KeyTable '%' domain: d= the From domain" kt "$PC_DIR/other.scn" \
		rsa-sha256,ed25519-sha256
	check "... logged with source=signingtable" grep -q 'domain=other.example.*source=signingtable' \
		"$PC_DIR/kt.log"
	stop_pid "$PID_kt"
else
	not_ok "portcullis-sign starts with a KeyTable and a SigningTable" "$PC_DIR/kt.log"
fi
write_conf kt1 "keytable = $PC_DIR/keytable" "signingtable = refile:$PC_DIR/signingtable"
if start_daemon "$SIGN" kt1; then
	signed_ok "without multiple_signatures only the first match signs (as OpenDKIM)" kt1 \
		"$PC_DIR/kt.scn" rsa-sha256
	stop_pid "$PID_kt1"
else
	not_ok "kt1 starts" "$PC_DIR/kt1.log"
fi

# --- keys refused: unsafe permissions, too weak; weak warns
check_refused() { # check_refused DESC PATTERN: -n fails naming the file and why
	if "$SIGN" -n -c "$PC_DIR/bad.conf" -p "unix:$PC_DIR/bad.sock" >"$PC_DIR/bad.out" 2>&1; then
		not_ok "$1" "$PC_DIR/bad.out"
	elif grep -qE -- "$2" "$PC_DIR/bad.out"; then
		ok "$1"
	else
		not_ok "$1" "$PC_DIR/bad.out"
	fi
}
write_conf bad
cp -p "$KEYS/rsa-a.pem" "$KEYS/open.pem"
chmod 640 "$KEYS/open.pem"
domain_file unsafe.example "selector = s1" "key = $KEYS/open.pem"
check_refused "a key readable by its group is refused, naming file and reason" \
	"unsafe.example.conf:3: \[sign\]: key: $KEYS/open.pem: unsafe key file: readable by group or others \(mode 0640"
chmod 602 "$KEYS/open.pem"
check_refused "a key writable by others is refused" "open.pem: unsafe key file: writable"
chmod 600 "$KEYS/open.pem"
# (the owner rule: tests/unit/test-sign-keys.c; these daemons run as root)
rm -f "$PC_DIR/domains.d/unsafe.example.conf"
domain_file tiny.example "selector = s1" "key = $KEYS/tiny.pem"
check_refused "an RSA key of 512 bits is refused (RFC 8301)" \
	"tiny.pem: RSA key of 512 bits: under 1024 bits is refused"
rm -f "$PC_DIR/domains.d/tiny.example.conf"
domain_file wrong.example "selector = s1" "key = $KEYS/ed-a.pem"
check_refused "an Ed25519 key given as key (RSA) is refused" \
	"key: .*ed-a.pem holds an Ed25519 key, not RSA"
rm -f "$PC_DIR/domains.d/wrong.example.conf"
domain_file weak.example "selector = w1" "key = $KEYS/weak.pem"
write_conf weak
if start_daemon "$SIGN" weak && grep -q 'weak.pem: RSA key of 1024 bits: use at least 2048' \
	"$PC_DIR/weak.log"; then
	ok "an RSA key of 1024 bits is used, with a warning"
else
	not_ok "an RSA key of 1024 bits is used, with a warning" "$PC_DIR/weak.log"
fi
HEADERS="From: x@weak.example" message postfix ORIGINATING alice 192.0.2.10 >"$PC_DIR/weak.scn"
signed_ok "... and signs" weak "$PC_DIR/weak.scn" rsa-sha256
check "no log line holds key material" \
	bash -c "! grep -qE 'BEGIN|PRIVATE|MII' '$PC_DIR'/*.log '$PC_DIR/bad.out'"
# a reload with an unsafe key keeps the running keys
cp -p "$KEYS/rsa-a.pem" "$KEYS/open2.pem"
chmod 644 "$KEYS/open2.pem"
domain_file weak.example "selector = w1" "key = $KEYS/open2.pem"
kill -HUP "$PID_weak"
if wait_log "$PC_DIR/weak.log" 'reload failed.*open2.pem: unsafe key file'; then
	signed_ok "a reload with an unsafe key fails and the old key signs on" weak \
		"$PC_DIR/weak.scn" rsa-sha256
else
	not_ok "a reload with an unsafe key fails, naming it" "$PC_DIR/weak.log"
fi
stop_pid "$PID_weak"
rm -f "$PC_DIR/domains.d/weak.example.conf"

# --- a reload that swaps the key in the middle of a burst: every message has
# exactly one signature, and it verifies (selector and key always match)
write_conf swap "algorithms = rsa-sha256"
BURST=()
if start_daemon "$SIGN" swap; then
	{
		echo "macro {daemon_name} ORIGINATING"
		echo "connect 192.0.2.10"
		echo "auth alice"
		for i in $(seq 1 60); do
			echo "mail <alice@swap.example>"
			echo "rcpt <bob@example.org>"
			echo "header From: alice@swap.example"
			echo "header Subject: burst $i"
			echo "body message $i"
			echo "eom"
			echo "expect continue"
		done
		echo "quit"
	} >"$PC_DIR/burst.scn"
	for c in 1 2 3 4; do
		mkdir -p "$PC_DIR/burst$c"
		"$CLIENT" -s "unix:$PC_DIR/swap.sock" -o "$PC_DIR/burst$c" "$PC_DIR/burst.scn" \
			>"$PC_DIR/burst$c.out" 2>&1 &
		BURST+=($!)
	done
	# swap, and wait for that reload to be done, for as long as the burst
	# lasts (at least 2 swaps, at most 200): each reload reads the file as
	# that swap left it, whatever the machine's speed (signals coalesce)
	loaded() { [ "$(grep -c 'reload: configuration .* loaded' "$PC_DIR/swap.log")" -ge "$1" ]; }
	burst_running() {
		local pid
		for pid in "${BURST[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
		return 1
	}
	swaps=0
	while [ $swaps -lt 200 ] && { [ $swaps -lt 2 ] || burst_running; }; do
		swaps=$((swaps + 1))
		if [ $((swaps % 2)) = 1 ]; then
			domain_file swap.example "selector = s2" "key = $KEYS/rsa-b.pem"
		else
			domain_file swap.example "selector = s1" "key = $KEYS/rsa-a.pem"
		fi
		kill -HUP "$PID_swap"
		wait_until 10 loaded $swaps || break
	done
	burst_ok=yes
	for pid in "${BURST[@]}"; do wait "$pid" || burst_ok=no; done
	count=$(ls "$PC_DIR"/burst?/*.eml | wc -l)
	# every message was signed: none went out without a key
	grep -q 'reason=no-key' "$PC_DIR/swap.log" && burst_ok="no (unsigned messages)"
	if [ "$burst_ok" = yes ] && [ "$count" = 240 ] &&
		verify --expect rsa-sha256 "$PC_DIR"/burst?/*.eml >"$PC_DIR/burst.verify" 2>&1; then
		ok "$swaps key swaps during 240 messages on 4 connections: each signed once, all verify"
	else
		echo "$count messages, clients ok: $burst_ok" >>"$PC_DIR/burst.verify"
		not_ok "20 key swaps during 240 messages: each signed once, all verify" \
			"$PC_DIR/burst.verify"
	fi
	s1=$(grep -c 's=s1 pass' "$PC_DIR/burst.verify")
	s2=$(grep -c 's=s2 pass' "$PC_DIR/burst.verify")
	check "both keys were used ($s1 with s1, $s2 with s2), and reloads happened" \
		bash -c "[ $s1 -gt 0 ] && [ $s2 -gt 0 ] && grep -q 'reload' '$PC_DIR/swap.log'"
	stop_pid "$PID_swap"
	check "SIGTERM: clean stop" grep -q stopping "$PC_DIR/swap.log"
else
	not_ok "the swap daemon starts" "$PC_DIR/swap.log"
fi
finish
