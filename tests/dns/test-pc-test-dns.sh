#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/dns/test-pc-test-dns.sh HELPER: the test DNS server's helper itself.
# The generated configuration keeps everything on loopback (no recursion
# anywhere, nothing sent from an address that can leave the host), a zone
# description with a mistake is refused naming the line, and start/stop leave
# no process behind. Answers are checked by test-dns-server.c.
set -u

HELPER=$1
PC_DIR=$(mktemp -d /tmp/pc-test-dns-sh.XXXXXX)
trap '"$HELPER" stop "$PC_DIR/state" >/dev/null 2>&1; rm -rf "$PC_DIR"' EXIT
N=0
FAILED=0

ok() {
	N=$((N + 1))
	echo "ok $N - $1"
}

not_ok() { # not_ok DESCRIPTION [DETAIL-FILE]
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		sed 's/^/# /' "$2" | tail -20
	fi
}

if ! command -v unbound >/dev/null && [ ! -x /usr/sbin/unbound ]; then
	echo "1..0 # SKIP unbound is not installed"
	exit 0
fi

cat >"$PC_DIR/good.zone" <<'EOF'
; a comment
# another
$ZONE example.test.
a.example.test. 300 IN A 192.0.2.1
txt.example.test. 300 IN TXT "v=DKIM1; k=rsa; p=" "it's"
$TIMEOUT slow.example.test.
$SERVFAIL broken.example.test.
$SIGNED signed.test. signed.zone
EOF
printf 'signed.test. 300 IN SOA ns.signed.test. h.signed.test. 1 3600 600 86400 60\n' >"$PC_DIR/signed.zone"

conf=$PC_DIR/conf/unbound.conf
if "$HELPER" config "$PC_DIR/conf" 127.0.0.1 5399 "$PC_DIR/good.zone" >"$PC_DIR/out" 2>&1 &&
	[ "$(cat "$PC_DIR/out")" = "$conf" ]; then
	ok "config writes DIR/unbound.conf"
else
	not_ok "config writes DIR/unbound.conf" "$PC_DIR/out"
fi

# each line the loopback-only promise rests on
for line in 'local-zone: "." refuse' 'outgoing-interface: 127.0.53.2' \
	'access-control: 127.0.53.2/32 refuse' 'access-control: 0.0.0.0/0 refuse' \
	'module-config: "iterator"' 'do-ip6: no' 'interface: 127.0.0.1' \
	'local-zone: "example.test." static' 'local-zone: "slow.example.test." deny' \
	'local-zone: "broken.example.test." transparent' 'stub-addr: 127.0.0.1@5399' \
	'local-zone: "signed.test." transparent' "zonefile: \"$PC_DIR/signed.zone\"" \
	'for-upstream: no' 'fallback-enabled: no'; do
	if grep -qF -- "$line" "$conf"; then
		ok "config has: $line"
	else
		not_ok "config has: $line" "$conf"
	fi
done
# and what would let a query out: root hints, forwarders, other stubs, a validator
if grep -qE 'root-hints|forward-zone|forward-addr|trust-anchor|auto-trust|remote-control|master:|primary:|url:' "$conf" ||
	[ "$(grep -c 'stub-addr:' "$conf")" != 1 ]; then
	not_ok "config has no way out but the one stub to itself" "$conf"
else
	ok "config has no way out but the one stub to itself"
fi
# the data, as unbound reads it: quotes kept, a single quote escaped
if grep -qF "local-data: 'txt.example.test. 300 IN TXT \"v=DKIM1; k=rsa; p=\" \"it\\039s\"'" "$conf" &&
	grep -qF "local-data: 'example.test. 60 IN SOA ns.example.test." "$conf"; then
	ok "records and a made-up SOA become local-data"
else
	not_ok "records and a made-up SOA become local-data" "$conf"
fi
if unbound-checkconf "$conf" >"$PC_DIR/out" 2>&1; then
	ok "unbound-checkconf accepts it"
else
	not_ok "unbound-checkconf accepts it" "$PC_DIR/out"
fi

# mistakes in a description name the file and line, and start nothing
bad() { # bad DESCRIPTION WANT-MESSAGE ZONE-TEXT
	printf '%s\n' "$3" >"$PC_DIR/bad.zone"
	if ! "$HELPER" start "$PC_DIR/bad-state" "$PC_DIR/bad.zone" >"$PC_DIR/out" 2>&1 &&
		grep -qF -- "$2" "$PC_DIR/out" && [ ! -e "$PC_DIR/bad-state/server" ]; then
		ok "refused: $1"
	else
		not_ok "refused: $1" "$PC_DIR/out"
	fi
}
bad "record outside any zone" "bad.zone:2: a.other.test. is in no \$ZONE" \
	"\$ZONE example.test.
a.other.test. 300 IN A 192.0.2.1"
bad "record in a timeout zone" "bad.zone:3: a.slow.example.test. is inside the timeout zone" \
	"\$ZONE example.test.
\$TIMEOUT slow.example.test.
a.slow.example.test. 300 IN A 192.0.2.1"
bad "relative owner" "bad.zone:2: 'a' is not an absolute domain name" \
	"\$ZONE example.test.
a 300 IN A 192.0.2.1"
bad "unknown directive" "bad.zone:1: expected \$ZONE" "\$ORIGIN example.test."
bad "signed zone without its file" "bad.zone:1: no zone file" "\$SIGNED signed.test. missing.zone"
bad "record unbound refuses" "unbound did not start" \
	"\$ZONE example.test.
a.example.test. 300 IN A not-an-address"

# start and stop: a live process while started, none after
if "$HELPER" start "$PC_DIR/state" "$PC_DIR/good.zone" >"$PC_DIR/out" 2>&1 &&
	grep -qE '^127\.0\.0\.1 [0-9]+$' "$PC_DIR/out"; then
	ok "start prints ADDRESS PORT"
else
	not_ok "start prints ADDRESS PORT" "$PC_DIR/out"
fi
pid=$(cut -d' ' -f3 "$PC_DIR/state/server" 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
	ok "unbound runs"
else
	not_ok "unbound runs" "$PC_DIR/state/unbound.log"
fi
# gone, or a zombie: a started server outlives the helper, and a container's
# PID 1 may never reap it
state=
if "$HELPER" stop "$PC_DIR/state" >"$PC_DIR/out" 2>&1 && [ -n "$pid" ]; then
	state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
fi
if [ -n "$pid" ] && [ ! -e "$PC_DIR/state/server" ] && { [ -z "$state" ] || [ "$state" = Z ]; }; then
	ok "stop ends it"
else
	not_ok "stop ends it" "$PC_DIR/out"
fi

echo "1..$N"
[ "$FAILED" -eq 0 ]
