#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-dkim.sh VERIFY CLIENT PC-TEST-DNS CORPUS: portcullis-verify's
# DKIM results over the corpus of tests/dkim/dkim-corpus.py (messages signed
# for this run by dkimpy, keys generated for this run), with the keys served
# by a real DNS server on loopback (tests/dns/pc-test-dns, SERVFAIL and
# silent zones included), through pc-milter-client as Postfix and as
# Sendmail. Each message's Authentication-Results must say, signature by
# signature, what RFC 6376/8301/8463 require (the table is in the corpus
# script); the log and the metrics must agree. The keys exist only on the
# test server, so every pass also shows that libopendkim asked through
# pc-dns and not through libc's resolver. TAP output.
set -u
VERIFY=$1
CLIENT=$2
TEST_DNS=$3
CORPUS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

dkim_python_or_skip
if ! command -v unbound >/dev/null && [ ! -x /usr/sbin/unbound ]; then
	echo "1..0 # SKIP unbound is not installed"
	exit 0
fi

PC_DIR=$(mktemp -d /tmp/pc-dkim-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	"$TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
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
if read -r DNS_ADDRESS DNS_PORT < <("$TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/corpus/zone" \
	2>"$PC_DIR/dns.err") && [ -n "${DNS_PORT:-}" ]; then
	ok "the test DNS server serves the keys ($DNS_ADDRESS@$DNS_PORT)"
else
	not_ok "the test DNS server serves the keys" "$PC_DIR/dns.err"
	finish
	exit 1
fi

STATS_PORT=$(pick_port)
# dns_timeout 1 s and a 1.5 s budget: the timeout cases are quick, and the
# second lookup of the dns-budget case runs out of budget
cat >"$PC_DIR/v.conf" <<EOF
[global]
local_domains = example.com
authserv_id = mx.example.com
user =
statistics = 127.0.0.1:$((STATS_PORT - 3))
dns = $DNS_ADDRESS@$DNS_PORT
dns_timeout = 1s
dns_message_budget = 1500ms

[verify]
max_signatures = 5
# DMARC has tests of its own (test-dmarc.sh): here DKIM alone
dmarc = no
EOF

# the metric counts every signature reported, by result
metric() {
	http_get 127.0.0.1 "$STATS_PORT" /metrics |
		awk -v want="portcullis_verify_dkim_results_total{result=\"$1\"}" '$1 == want { print $2 }'
}
want_results() {
	"$PYTHON" -c 'import json, sys
print(sum(1 for c in json.load(open(sys.argv[1])) for e in c["expect"] if e[0] == sys.argv[2]))' \
		"$PC_DIR/corpus/cases.json" "$1"
}

CASES=$("$PYTHON" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' \
	"$PC_DIR/corpus/cases.json")
# a fresh daemon per MTA: nothing cached from the other run (libunbound
# keeps a timed-out name's eventual SERVFAIL)
for mta in postfix sendmail; do
	if start_daemon "$VERIFY" "$mta" "$PC_DIR/v.conf"; then
		ok "$mta: portcullis-verify starts, resolving through the test server"
	else
		not_ok "$mta: portcullis-verify starts, resolving through the test server" \
			"$PC_DIR/$mta.log"
		continue
	fi
	"$PYTHON" "$CORPUS" scenario "$PC_DIR/corpus" $mta >"$PC_DIR/$mta.scn"
	check "$mta: every message of the corpus is accepted, one transaction each" \
		run_client $mta "$PC_DIR/$mta.scn"
	# one TAP line per case, numbered here
	"$PYTHON" "$CORPUS" check "$PC_DIR/corpus" $mta "$PC_DIR/$mta.scn.out" \
		>"$PC_DIR/$mta.check" 2>&1
	while IFS= read -r line; do
		case $line in
		"ok|"*) ok "${line#ok|}" ;;
		"not ok|"*) not_ok "${line#not ok|}" ;;
		*) echo "$line" ;;
		esac
	done <"$PC_DIR/$mta.check"

	log=$PC_DIR/$mta.log
	decisions=$(grep -c 'verify: action=continue, stage=eom, reason=results' "$log")
	check "$mta: one decision line per message ($decisions of $CASES)" test "$decisions" = "$CASES"
	check "$mta: signatures past max_signatures are logged, not verified" \
		grep -q 'dkim_ignored=2$' "$log"
	check "$mta: the log line has each signature's fields" \
		grep -qE 'dkim1=permerror, dkim1_d=dkim\.test, dkim1_s=nokey, dkim1_a=rsa-sha256, dkim1_reason=no key for signature' \
		"$log"
	check "$mta: key sizes and the testing flag are logged" \
		grep -qE 'dkim1=pass, dkim1_d=dkim\.test, dkim1_s=testing, dkim1_a=rsa-sha256, dkim1_bits=2048, dkim1_testing=yes' \
		"$log"
	check "$mta: an unsigned message is logged dkim=none" grep -qE 'dkim=none$' "$log"
	for result in pass fail permerror temperror none; do
		got=$(metric $result)
		want=$(want_results $result)
		check "$mta: portcullis_verify_dkim_results_total{result=\"$result\"} = $want ($got)" \
			test "$got" = "$want"
	done
	pid_var=PID_$mta
	stop_pid "${!pid_var}"
	check "$mta: SIGTERM, clean stop" grep -q stopping "$log"
done
finish
