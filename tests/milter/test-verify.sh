#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-verify.sh VERIFY CLIENT: portcullis-verify through
# pc-milter-client as Postfix and as Sendmail. Today: every received
# Authentication-Results header that claims our authserv-id (however it is
# spelled: case, quotes, comments, a trailing dot, an unclosed quote) or one
# of remove_authserv_ids is deleted, the others are kept, and ours is
# inserted at the top (header values arrive with their leading blanks:
# SMFIP_HDR_LEADSPC); an unsigned message is dkim=none. TAP output.
set -u
VERIFY=$1
CLIENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-verify-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

mkdir -p "$PC_DIR/domains.d"
cat >"$PC_DIR/v.conf" <<EOF
[global]
local_domains = example.com
domains_dir = $PC_DIR/domains.d
authserv_id = mx.example.com
user =

[verify]
remove_authserv_ids = mx2.example.com
EOF

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
		echo "expect-mod insheader 0 Authentication-Results: mx.example.com;"
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

# no A-R at all: ours is still inserted, nothing deleted
cat >"$PC_DIR/plain.scn" <<EOF
connect 192.0.2.10
mail <alice@example.org>
rcpt <bob@example.com>
data
header Subject: plain
body hello
eom
expect continue
expect-mod insheader 0 Authentication-Results: mx.example.com;
expect-mod insheader dkim=none
expect-no-mod chgheader
quit
EOF
check "a message without A-R headers gets ours, nothing deleted" run_client v "$PC_DIR/plain.scn"

stop_pid "$PID_v"
check "SIGTERM: clean stop" grep -q stopping "$PC_DIR/v.log"
finish
