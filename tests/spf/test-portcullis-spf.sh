#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/spf/test-portcullis-spf.sh PORTCULLIS PC-TEST-DNS: the admin
# command's subcommand table and `portcullis spf` (its output line, the
# identities, exit statuses) against the test DNS server. TAP output.
set -u
PORTCULLIS=$1
PC_TEST_DNS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-spf-tool.XXXXXX)
cleanup() {
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

cat >"$PC_DIR/zone.txt" <<'EOF'
$ZONE example.org.
example.org. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
fail.example.org. 300 IN TXT "v=spf1 -all exp=why.example.org"
why.example.org. 300 IN TXT "%{i} may not send for %{d} (%{l})"
helo.example.org. 300 IN TXT "v=spf1 a -all"
helo.example.org. 300 IN A 192.0.2.10
EOF
if ! read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone.txt"); then
	not_ok "the test DNS server starts" "$PC_DIR/dns/unbound.log"
	finish
	exit 1
fi
mkdir -p "$PC_DIR/domains.d"
cat >"$PC_DIR/p.conf" <<EOF
[global]
domains_dir = $PC_DIR/domains.d
user =
dns = $DNS_ADDRESS@$DNS_PORT
EOF

# status WANT COMMAND...: the command exits with WANT
status() {
	local want=$1
	shift
	"$@" >"$PC_DIR/out" 2>"$PC_DIR/err"
	[ $? = "$want" ]
}
# line WANT ARGS...: portcullis spf -c p.conf ARGS prints exactly WANT (TAB as \t)
line() {
	local want
	want=$(printf '%b' "$1")
	shift
	[ "$("$PORTCULLIS" spf -c "$PC_DIR/p.conf" "$@")" = "$want" ]
}

check "no subcommand: usage, status 2" status 2 "$PORTCULLIS"
check "help lists spf, status 0" bash -c "'$PORTCULLIS' help | grep -q '^  spf '"
check "an unknown subcommand: status 2" status 2 "$PORTCULLIS" frobnicate
check "spf without its three arguments: status 2" status 2 "$PORTCULLIS" spf -c "$PC_DIR/p.conf" 192.0.2.10
check "spf with a bad address: status 2" status 2 "$PORTCULLIS" spf -c "$PC_DIR/p.conf" 192.0.2.300 a@example.org helo.example.org
check "spf with a missing configuration: status 2" status 2 "$PORTCULLIS" spf -c "$PC_DIR/none.conf" 192.0.2.10 a@example.org x.example
check "... naming the file" grep -q none.conf "$PC_DIR/err"
check "pass: the result and an empty explanation" line 'pass\t' 192.0.2.10 alice@example.org helo.example.org
check "fail: the explanation of exp=" line 'fail\t198.51.100.1 may not send for fail.example.org (bob)' 198.51.100.1 bob@fail.example.org helo.example.org
check "a sender in brackets" line 'pass\t' 192.0.2.10 '<alice@example.org>' helo.example.org
check "a bare domain is postmaster's" line 'pass\t' 192.0.2.10 example.org helo.example.org
check "the null sender checks the HELO identity" line 'pass\t' 192.0.2.10 '' helo.example.org
check "... written <> too" line 'fail\thelo.example.org does not designate 192.0.2.99 as permitted sender' 192.0.2.99 '<>' helo.example.org
check "none without a record, status 0" status 0 "$PORTCULLIS" spf -c "$PC_DIR/p.conf" 192.0.2.10 a@nothing.example.org helo.example.org
check "... and says none" grep -qx "none	" "$PC_DIR/out"
check "-v: a third field with why and the lookups" bash -c "'$PORTCULLIS' spf -v -c '$PC_DIR/p.conf' 192.0.2.10 alice@example.org x |
	grep -qx 'pass		mailfrom example.org: ip4:192.0.2.0/24 in example.org (0 DNS lookups, 0 void, 1 queries)'"
check "a sender without a domain is none, not the null sender" line 'none\t' 192.0.2.10 user@ helo.example.org
check "an IPv4-mapped address is IPv4" line 'pass\t' ::ffff:192.0.2.10 alice@example.org helo.example.org
finish
