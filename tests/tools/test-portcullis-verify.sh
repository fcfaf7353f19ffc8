#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-verify.sh PORTCULLIS PC-TEST-DNS CORPUS:
# `portcullis verify` against the test DNS server: every case of the DKIM
# corpus (tests/dkim/dkim-corpus.py, signed by dkimpy for the run) with
# CRLF and with bare LF line ends, checked against the table as the
# daemon's are; SPF of both identities; --json; a forged header in our
# name; exit statuses; a dead DNS server. TAP output.
set -u
PORTCULLIS=$1
PC_TEST_DNS=$2
CORPUS=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

dkim_python_or_skip

PC_DIR=$(mktemp -d /tmp/pc-verify-tool.XXXXXX)
cleanup() {
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

if "$PYTHON" "$CORPUS" generate "$PC_DIR/corpus" >"$PC_DIR/generate.out" 2>&1; then
	ok "the corpus is signed ($(ls "$PC_DIR/corpus/messages" | wc -l) messages)"
else
	not_ok "the corpus is signed" "$PC_DIR/generate.out"
	finish
	exit 1
fi
# the corpus's domain publishes DMARC p=reject (the DMARC cases below)
echo '_dmarc.dkim.test. 300 IN TXT "v=DMARC1; p=reject"' >>"$PC_DIR/corpus/zone"
cat >"$PC_DIR/spf.zone" <<'EOF2'
$ZONE spf.test.
spf.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.spf.test. 300 IN TXT "v=spf1 a -all"
mail.spf.test. 300 IN A 192.0.2.25
EOF2
if read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/corpus/zone" \
	"$PC_DIR/spf.zone" 2>"$PC_DIR/dns.err") && [ -n "${DNS_PORT:-}" ]; then
	ok "the test DNS server serves the keys and the SPF records"
else
	not_ok "the test DNS server serves the keys and the SPF records" "$PC_DIR/dns.err"
	finish
	exit 1
fi
mkdir -p "$PC_DIR/domains.d"
# the DKIM test's settings: max_signatures 5, the timeouts of the dns-budget case
cat >"$PC_DIR/v.conf" <<EOF2
[global]
domains_dir = $PC_DIR/domains.d
user =
authserv_id = mx.example.com
trusted_networks = 203.0.113.0/24
dns = $DNS_ADDRESS@$DNS_PORT
dns_timeout = 1s
dns_message_budget = 1500ms

[verify]
max_signatures = 5
# DMARC: its own tests (tests/milter/test-dmarc.sh); here SPF and DKIM
dmarc = no
EOF2
verify() { "$PORTCULLIS" verify -c "$PC_DIR/v.conf" "$@"; }
# status WANT COMMAND...: the command exits with WANT
status() {
	local want=$1
	shift
	"$@" >"$PC_DIR/out" 2>"$PC_DIR/err"
	[ $? = "$want" ]
}
# has TEXT: the last output holds TEXT (the header unfolded, blanks squeezed)
has() { tr -s '\n\t ' '   ' <"$PC_DIR/out" | grep -qF -- "$1"; }

# ------------------------------------------------------------ DKIM corpus
mkdir -p "$PC_DIR/crlf" "$PC_DIR/lf"
for message in "$PC_DIR"/corpus/messages/*.eml; do
	name=$(basename "$message" .eml)
	verify "$message" >"$PC_DIR/crlf/$name" 2>/dev/null
	tr -d '\r' <"$message" | verify >"$PC_DIR/lf/$name" 2>/dev/null
done
for form in crlf lf; do
	"$PYTHON" "$CORPUS" check-tool "$PC_DIR/corpus" "$PC_DIR/$form" "$form" >"$PC_DIR/$form.check" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok|"*) ok "${line#ok|}" ;;
		"not ok|"*) not_ok "${line#not ok|}" ;;
		*) echo "$line" ;;
		esac
	done <"$PC_DIR/$form.check"
done
MSG=$PC_DIR/corpus/messages/rsa2048-rr.eml
check "an mbox From line on top is skipped" \
	bash -c "{ echo 'From someone@example.org Thu Dec  3 10:00:00 2026'; cat '$MSG'; } |
		'$PORTCULLIS' verify -c '$PC_DIR/v.conf' | grep -q 'dkim=pass'"

# ------------------------------------------------------------------- SPF
status 0 verify --ip 192.0.2.25 --helo mail.spf.test --mail-from alice@spf.test "$MSG"
check "SPF: both identities, MAIL FROM's first, then DKIM" \
	has "Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=spf.test; spf=pass smtp.helo=mail.spf.test; dkim=pass"
status 0 verify --ip 198.51.100.7 --helo mail.spf.test --mail-from '<alice@spf.test>' "$MSG"
check "SPF: a fail (a bracketed sender)" \
	has "spf=fail smtp.mailfrom=spf.test; spf=fail smtp.helo=mail.spf.test;"
status 0 verify --ip 192.0.2.25 --helo mail.spf.test --mail-from '' "$MSG"
check "SPF: the null sender has the HELO identity only" \
	has "mx.example.com; spf=pass smtp.helo=mail.spf.test; dkim=pass"
status 0 verify --ip 192.0.2.25 --helo mail.spf.test "$MSG"
check "SPF: without --mail-from, the HELO identity" \
	has "mx.example.com; spf=pass smtp.helo=mail.spf.test; dkim=pass"
check "... and a note says so" grep -q 'no --mail-from' "$PC_DIR/err"
status 0 verify --mail-from alice@spf.test "$MSG"
check "SPF: without --ip, not checked (no client address, as in the daemon)" \
	has "mx.example.com; dkim=pass"
check "... and a note says so" grep -q 'SPF not checked: no-client-address (no --ip)' "$PC_DIR/err"
status 0 verify --ip 203.0.113.9 --helo mail.spf.test --mail-from alice@spf.test "$MSG"
check "SPF: a trusted client is not checked" has "mx.example.com; dkim=pass"
check "... and a note says why" grep -q 'SPF not checked: trusted' "$PC_DIR/err"

# ------------------------------------------------------------------ JSON
status 0 verify --json --ip 198.51.100.7 --helo mail.spf.test --mail-from alice@spf.test \
	"$PC_DIR/corpus/messages/one-good-one-bad.eml"
cp "$PC_DIR/out" "$PC_DIR/json"
check "--json: valid JSON with each check's details" "$PYTHON" - "$PC_DIR/json" <<'EOF2'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["authserv_id"] == "mx.example.com", r
assert r["header"].startswith("Authentication-Results: mx.example.com;"), r
m = r["spf"]["mailfrom"]
assert m["result"] == "fail" and m["domain"] == "spf.test", m
assert m["explanation"] == "spf.test does not designate 198.51.100.7 as permitted sender", m
assert m["dns_lookups"] == 0 and m["queries"] >= 1, m
h = r["spf"]["helo"]
assert h["result"] == "fail" and h["domain"] == "mail.spf.test" and h["dns_lookups"] == 1, h
assert r["spf"]["skipped"] is None
d = r["dkim"]
assert [s["result"] for s in d] == ["fail", "pass"], d
assert d[0]["reason"] == "signature did not verify" and d[0]["algorithm"] == "ed25519-sha256", d
assert d[1]["reason"] is None and d[1]["key_bits"] == 2048 and d[1]["selector"] == "rsa2048", d
assert all(s["domain"] == "dkim.test" and len(s["b"]) > 40 for s in d), d
assert r["dkim_ignored"] == 0 and r["authres_removed"] == 0, r
EOF2
status 0 verify --json "$PC_DIR/corpus/messages/over-max-signatures.eml"
check "--json: signatures past max_signatures are counted" \
	"$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert len(r["dkim"]) == 5 and r["dkim_ignored"] == 2, r' \
	"$PC_DIR/out"
status 0 verify --json --mail-from alice@spf.test "$PC_DIR/corpus/messages/unsigned.eml"
check "--json: an unsigned message, SPF skipped without --ip" \
	"$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["dkim"] == [] and r["spf"]["skipped"] == "no-client-address" and r["header"].endswith("dkim=none"), r' \
	"$PC_DIR/out"

# ---------------------------------------------------- forged headers, input
{
	printf 'Authentication-Results: mx.example.com; dkim=pass header.d=dkim.test\r\n'
	printf 'Authentication-Results: (forged) "MX.Example.COM"; spf=pass\r\n'
	printf 'Authentication-Results: other.example.net; spf=pass\r\n'
	cat "$MSG"
} >"$PC_DIR/forged.eml"
status 0 verify "$PC_DIR/forged.eml"
check "forged headers in our name: the note counts them (2 of 3)" \
	grep -q '2 Authentication-Results header(s) in our name would be removed' "$PC_DIR/err"
check "... and they do not change the result" has "mx.example.com; dkim=pass"
printf 'Subject: no DKIM\n\nbody\n' >"$PC_DIR/plain.eml"
status 0 verify "$PC_DIR/plain.eml"
check "an unsigned message: dkim=none" has "Authentication-Results: mx.example.com; dkim=none"
printf '' >"$PC_DIR/empty.eml"
check "an empty message: dkim=none, status 0" status 0 verify "$PC_DIR/empty.eml"
{
	printf 'Subject: x\nX-Long: a\n'
	head -c 1100000 /dev/zero | tr '\0' 'a' | fold -w 70 | sed 's/^/ /'
	printf '\nbody\n'
} >"$PC_DIR/huge.eml"
check "a header over 1 MiB: status 1, named" status 1 verify "$PC_DIR/huge.eml"
check "... with the file's name" grep -q 'huge.eml: a header of more than' "$PC_DIR/err"

# ------------------------------------------------------------------ DMARC
# the same configuration with DMARC on: the daemon's evaluation and action
sed 's/^dmarc = no$/dmarc = yes\ndmarc_history_dir =/' "$PC_DIR/v.conf" >"$PC_DIR/dmarc.conf"
status 0 "$PORTCULLIS" verify -c "$PC_DIR/dmarc.conf" --ip 198.51.100.7 --mail-from alice@spf.test "$MSG"
check "DMARC: a pass by the aligned signature, after SPF and DKIM" \
	has "dkim=pass header.d=dkim.test header.i=@dkim.test header.s=rsa2048 header.a=rsa-sha256 header.b="
check "... the dmarc entry last" has "; dmarc=pass (p=reject dis=none) header.from=dkim.test"
status 0 "$PORTCULLIS" verify -c "$PC_DIR/dmarc.conf" --json --ip 198.51.100.7 --mail-from alice@spf.test "$MSG"
check "DMARC: --json names the result, the policy and what aligned" \
	bash -c "grep -q '\"result\": *\"pass\"' '$PC_DIR/out' && grep -q '\"policy\": *\"p=reject\"' '$PC_DIR/out' &&
		grep -q '\"dkim_aligned\": *\"dkim.test\"' '$PC_DIR/out'"
status 0 "$PORTCULLIS" verify -c "$PC_DIR/dmarc.conf" --ip 198.51.100.7 --mail-from alice@spf.test \
	"$PC_DIR/corpus/messages/body-tampered-rsa2048-rr.eml"
check "DMARC: a broken signature fails, and what the daemon would do is said" \
	bash -c "grep -q 'dmarc=fail (p=reject dis=reject) header.from=dkim.test' <(tr -s '\n\t ' '   ' <'$PC_DIR/out') &&
		grep -q 'would reject the message: Rejected by DMARC policy for dkim.test' '$PC_DIR/err'"

# ---------------------------------------------------------- exit statuses
check "a missing file: status 1" status 1 verify "$PC_DIR/none.eml"
check "... naming it" grep -q 'none.eml' "$PC_DIR/err"
check "two files: status 2" status 2 verify "$MSG" "$MSG"
check "a bad --ip: status 2" status 2 verify --ip 192.0.2.300 "$MSG"
check "a missing configuration: status 2, named" status 2 "$PORTCULLIS" verify -c "$PC_DIR/none.conf" "$MSG"
check "help lists verify" bash -c "'$PORTCULLIS' help | grep -q '^  verify '"

# ------------------------------------------------------- DNS server down
"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
status 0 verify --ip 192.0.2.25 --helo mail.spf.test --mail-from alice@spf.test "$MSG"
check "DNS down: temperror for SPF and DKIM, status 0" \
	has "spf=temperror smtp.mailfrom=spf.test; spf=temperror smtp.helo=mail.spf.test; dkim=temperror"
check "... never a pass" bash -c "! grep -q '=pass' '$PC_DIR/out'"
finish
