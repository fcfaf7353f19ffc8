#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-keygen.sh PORTCULLIS PC-TEST-DNS:
# `portcullis keygen` (files, modes, owner, the records against what
# openssl derives from the key files, the domains.d lines as a
# configuration, strings of at most 255 octets, never replacing a file,
# errors) and `portcullis dkim-check` (match, mismatch, missing, unusable,
# dns-error, exit statuses) with the records served by the test DNS server.
# TAP output.
set -u
PORTCULLIS=$1
PC_TEST_DNS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-keygen-tool.XXXXXX)
cleanup() {
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT
# the owner of the keys: another user when we are root (as the daemons' user would be)
if [ "$(id -u)" = 0 ]; then OWNER=nobody; else OWNER=$(id -un); fi
KEYS=$PC_DIR/keys
mkdir -p "$KEYS" "$PC_DIR/domains.d"
chmod 755 "$PC_DIR"

# status WANT COMMAND...: the command exits with WANT
status() {
	local want=$1
	shift
	"$@" >"$PC_DIR/out" 2>"$PC_DIR/err"
	[ $? = "$want" ]
}
keygen() { "$PORTCULLIS" keygen -d "$KEYS" -u "$OWNER" "$@"; }

# ------------------------------------------------------------------ keygen
status 0 keygen -t both example.org s2026
cp "$PC_DIR/out" "$PC_DIR/keygen.out"
check "keygen --type both: status 0" true
RSA=$KEYS/example.org.s2026.rsa.pem
ED=$KEYS/example.org.s2026-ed25519.ed25519.pem
for key in "$RSA" "$ED"; do
	check "$(basename "$key"): mode 0600, owned by $OWNER" \
		test "$(stat -c '%a %U' "$key")" = "600 $OWNER"
	check "$(basename "${key%.pem}.txt"): the record next to it" test -s "${key%.pem}.txt"
done
check "the RSA key is PKCS#8, 2048 bits" \
	bash -c "grep -q 'BEGIN PRIVATE KEY' '$RSA' && openssl pkey -in '$RSA' -noout -text | grep -q '2048 bit'"
check "the Ed25519 key is an Ed25519 key" \
	bash -c "openssl pkey -in '$ED' -noout -text | grep -qi 'ED25519 Private-Key'"
# the record's p= against openssl's own reading of the key files
record_p() { tr -d '\n\t"()' <"$1" | sed 's/.*p=//; s/ .*//'; }
check "the RSA record's p= is openssl's SubjectPublicKeyInfo of the key" \
	test "$(record_p "${RSA%.pem}.txt")" = "$(openssl pkey -in "$RSA" -pubout -outform DER | base64 -w0)"
check "the Ed25519 record's p= is the raw 32-byte public key (RFC 8463)" \
	test "$(record_p "${ED%.pem}.txt")" = "$(openssl pkey -in "$ED" -pubout -outform DER | tail -c 32 | base64 -w0)"
check "the records are printed in zone-file form" \
	grep -q '^s2026._domainkey.example.org. 3600 IN TXT ($' "$PC_DIR/keygen.out"
check "... the Ed25519 one under its own selector" \
	grep -q '^s2026-ed25519._domainkey.example.org. 3600 IN TXT ($' "$PC_DIR/keygen.out"
check "... and the dkim-check commands to run" \
	grep -q 'portcullis dkim-check example.org s2026; portcullis dkim-check example.org s2026-ed25519' "$PC_DIR/keygen.out"
# the domains.d lines, as printed, make the domain's file
sed -n '/^\[sign\]$/,$p' "$PC_DIR/keygen.out" >"$PC_DIR/domains.d/example.org.conf"
check "the domains.d lines name both keys" \
	bash -c "grep -qx 'key = $RSA' '$PC_DIR/domains.d/example.org.conf' && grep -qx 'selector_ed25519 = s2026-ed25519' '$PC_DIR/domains.d/example.org.conf'"

status 0 keygen -b 4096 example.net big
check "--bits 4096: status 0" true
check "a 4096-bit record is split in strings of at most 255 octets" \
	bash -c "n=\$(grep -c '^	\"' '$KEYS/example.net.big.rsa.txt'); [ \$n -ge 3 ] && ! grep -qE '^	\"[^\"]{256,}\"' '$KEYS/example.net.big.rsa.txt'"
status 0 keygen -t ed25519 example.net ed
check "--type ed25519 alone keeps the selector" test -s "$KEYS/example.net.ed.ed25519.pem"
check "... and prints selector_ed25519 = ed" grep -qx 'selector_ed25519 = ed' "$PC_DIR/out"

before=$(md5sum "$RSA")
check "an existing key is never replaced: status 1" status 1 keygen example.org s2026
check "... naming the file" grep -q 'exists; not replaced' "$PC_DIR/err"
check "... and the key is unchanged" test "$(md5sum "$RSA")" = "$before"
check "--type other: status 2" status 2 keygen -t dsa example.org x
check "--bits 1024: status 2 (RFC 8301)" status 2 keygen -b 1024 example.org x
check "a domain that is not a name: status 2" status 2 keygen 'exa mple.org' x
check "a single-label domain: status 2" status 2 keygen localhost x
check "a missing directory: status 1" status 1 "$PORTCULLIS" keygen -d "$PC_DIR/none" -u "$OWNER" example.org x
check "a user that does not exist: status 2, said" status 2 keygen -u no-such-user-pc example.org x
check "... with what to do" grep -q 'does not exist' "$PC_DIR/err"
check "no file is left behind by the failures" \
	test "$(ls "$KEYS" | grep -c 'example.org\.x\.')" = 0
check "no temporary file is left behind" bash -c "! ls '$KEYS' | grep -q 'pem\\.'"
check "help lists keygen and dkim-check" \
	bash -c "'$PORTCULLIS' help | grep -q '^  keygen ' && '$PORTCULLIS' help | grep -q '^  dkim-check '"

# -------------------------------------------------------------- dkim-check
status 0 keygen example.org other
# the zone: the records as keygen wrote them (on one line each), and broken ones
one_line() { tr '\n\t' '  ' | tr -d '()' | tr -s ' '; echo; }
{
	echo '$ZONE example.org.'
	for file in "${RSA%.pem}.txt" "${ED%.pem}.txt"; do one_line <"$file"; done
	# "other"'s name holds s2026's key: a mismatch
	sed 's/^s2026\._domainkey/other._domainkey/' "${RSA%.pem}.txt" | one_line
	echo 'revoked._domainkey.example.org. 300 IN TXT "v=DKIM1; k=rsa; p="'
	sed 's/^s2026\._domainkey/two._domainkey/' "${RSA%.pem}.txt" | one_line
	sed 's/^s2026-ed25519\._domainkey/two._domainkey/' "${ED%.pem}.txt" | one_line
	echo '$SERVFAIL broken.example.'
} >"$PC_DIR/zone"
if read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone" \
	2>"$PC_DIR/dns.err") && [ -n "${DNS_PORT:-}" ]; then
	ok "the test DNS server serves the records keygen printed"
else
	not_ok "the test DNS server serves the records keygen printed" "$PC_DIR/dns.err"
	finish
	exit 1
fi
cat >"$PC_DIR/p.conf" <<EOF2
[global]
domains_dir = $PC_DIR/domains.d
user =
dns = $DNS_ADDRESS@$DNS_PORT
dns_timeout = 1s
EOF2
dkim_check() { "$PORTCULLIS" dkim-check -c "$PC_DIR/p.conf" "$@"; }

check "dkim-check, the key domains.d names for the selector: match, status 0" \
	status 0 dkim_check example.org s2026
check "... says match, the name and the key file" \
	grep -q "^match	s2026._domainkey.example.org: the record holds this RSA key (2048 bits) (key file $RSA)" "$PC_DIR/out"
check "dkim-check, the Ed25519 selector from domains.d: match" \
	status 0 dkim_check example.org s2026-ed25519
check "... says Ed25519" grep -q '^match	.*this Ed25519 key' "$PC_DIR/out"
check "dkim-check --key: match" status 0 dkim_check -k "$RSA" example.org s2026
check "another key's record: mismatch, status 1" \
	status 1 dkim_check -k "$KEYS/example.org.other.rsa.pem" example.org other
check "... says mismatch" grep -q '^mismatch	other._domainkey.example.org: the record holds another public key' "$PC_DIR/out"
check "an RSA key against the Ed25519 record: mismatch (k=)" \
	status 1 dkim_check -k "$RSA" example.org s2026-ed25519
check "... says k=" grep -q '^mismatch	.*not for an RSA key (k=)' "$PC_DIR/out"
check "nothing published: missing, status 1" status 1 dkim_check -k "$RSA" example.org s2027
check "... says missing" grep -q '^missing	s2027._domainkey.example.org: no DKIM key record published' "$PC_DIR/out"
check "a revoked record: unusable, status 1" status 1 dkim_check -k "$RSA" example.org revoked
check "... says revoked" grep -q '^unusable	.*revoked' "$PC_DIR/out"
check "two records at the name: unusable (RFC 6376 3.6.2.2)" status 1 dkim_check -k "$RSA" example.org two
check "... says so" grep -q '^unusable	.*2 TXT records' "$PC_DIR/out"
check "SERVFAIL: dns-error, status 1" status 1 dkim_check -k "$RSA" broken.example s1
check "... says try again" grep -q '^dns-error	s1._domainkey.broken.example: DNS: servfail' "$PC_DIR/out"
check "a selector domains.d does not name, without --key: status 2" \
	status 2 dkim_check example.org s2027
check "... says to give --key" grep -q 'give --key FILE' "$PC_DIR/err"
chmod 0644 "$KEYS/example.net.ed.ed25519.pem"
check "a key file others may read: status 2, refused as portcullis-sign would" \
	status 2 dkim_check -k "$KEYS/example.net.ed.ed25519.pem" example.net ed
check "... naming the file" grep -q 'example.net.ed.ed25519.pem' "$PC_DIR/err"
check "dkim-check without its arguments: status 2" status 2 dkim_check example.org
finish
