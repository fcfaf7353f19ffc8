#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/stack.sh [RUNS] [COUNT]: "how much does it slow my mail server?"
# A private Postfix on loopback (tests/e2e/lib, the shipped snippets) fed
# by Postfix's own smtp-source and delivering to smtp-sink, in four set-ups
# measured in the same run:
#   none       no milters
#   portcullis the suite as conf/postfix/*.portcullis attach it: relay, auth,
#              rate and verify on the MX service; relay, auth, rate and sign
#              on submission
#   anchors    OpenDKIM (Mode sv: signs for internal hosts, verifies the
#              rest) and OpenDMARC on both, Debian 12's packages
#   one        portcullis-relay alone on both: what attaching one milter
#              costs at all (the floor for any suite)
#   stack      the opt-in portcullis-stack with its default members (relay,
#              auth, rate and verify in one process, one milter connection;
#              verify asked on the MX listener only) on both lists, and
#              portcullis-sign after it on submission
#   stacksign  portcullis-stack hosting sign as well ([stack] members names
#              it; sign asked on the submission list's listeners only): one
#              milter connection on both lists
# on two sides: port 25 (an untrusted client sends a DKIM-signed message
# for a local user: SPF, DKIM, A-R, DMARC for the anchors) and submission
# (a message From a local domain to a foreign one: it is signed).
# smtp-source speaks neither STARTTLS nor AUTH, and portcullis-auth wants
# both on a submission listener, so the signing side is measured as an
# internal relay: a service with the snippet's submission milters (relay,
# auth, rate, sign) and a listener of role internal, a trusted client; the
# port-25 side is a service with the MX milters on
# 127.0.0.5, which the client reaches from 127.0.0.3 (a route of this
# network namespace), so it is outside trusted_networks.
#
# Everything runs in a network namespace of its own (unshare --net), where
# unbound (tests/dns/pc-test-dns) serves the keys, SPF and DMARC records on
# 127.0.0.1:53, the only resolver OpenDKIM and OpenDMARC can be given.
# Messages per second are COUNT messages over 4 SMTP sessions (smtp-source
# -s 4) divided by the time smtp-source took (every message accepted at
# end of DATA, after the milters); the median of RUNS runs, set-ups in
# alternating order. Targets: portcullis keeps >= 80 % of none's
# throughput and beats anchors. Before measuring, each set-up must accept
# the messages (no milter refusal or error in Postfix's log afterwards),
# and Portcullis must have verified (dkim=pass) and signed.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-3}
COUNT=${2:-2000}
BUILD=${BUILD:-build-bench}
SESSIONS=4

if [ -z "${PC_BENCH_NETNS:-}" ]; then
	. dev/deps.sh
	pc_install_packages $PC_E2E_PACKAGES opendkim opendmarc unbound python3-dkim \
		python3-nacl || exit 1
	[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release >/dev/null || exit 1
	ninja -C "$BUILD" >/dev/null || exit 1
	PC_BENCH_NETNS=1 exec unshare --net bash "$0" "$@"
fi
ip link set lo up
ip addr add 127.0.0.3/32 dev lo
ip route change local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.3

. tests/e2e/lib/common.sh
. tests/e2e/lib/postfix.sh
MX_PORT=2525 SUBMISSION_PORT=2587 SMTPS_PORT=2465 SINK_PORT=2526
BENCH_MX=127.0.0.5:2625     # the MX milters, reached from 127.0.0.3
BENCH_SUB=127.0.0.1:2687    # the submission milters as an internal relay, a trusted client
# not under /tmp: OpenDKIM refuses a key below a directory others may write
STATE=$(mktemp -d "$PWD/$BUILD/pc-bench-stack.XXXXXX")
chmod 0755 "$STATE"
SINK_PIDS=()
stop_all() {
	pc_postfix_stop "$STATE" 2>/dev/null
	pc_e2e_stop_pid_files "$STATE"/*.pid "$STATE/syslog/catcher.pid" 2>/dev/null
	for pid in "${SINK_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	tests/dns/pc-test-dns stop "$STATE/dns" >/dev/null 2>&1
	wait 2>/dev/null
	[ -n "${PC_KEEP:-}" ] || rm -rf "$STATE"
}
trap stop_all EXIT
die() { echo "stack.sh: $*" >&2; exit 1; }

pc_e2e_init "$STATE" || die "the harness could not start"
# plain sinks, no message dumps: the relay host and the local transport
for port in $SINK_PORT $((SINK_PORT + 1)); do
	smtp-sink -u nobody "127.0.0.1:$port" 256 &
	SINK_PIDS+=($!)
done

# messages and DNS: example.org signs (dkimpy) and lists 127.0.0.3 in SPF
/usr/bin/python3 bench/verify-corpus.py "$STATE/corpus" 127.0.0.3 || die "corpus"
tr -d '\r' <"$STATE/corpus/rsa2048.eml" >"$STATE/mx.eml"
cat >"$STATE/sub.eml" <<'EOF'
From: Alice <alice@example.com>
To: Bob <bob@elsewhere.test>
Subject: the quarterly figures
Date: Thu, 03 Dec 2026 10:00:00 +0000
Message-ID: <bench-stack@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

EOF
sed -n '/^$/,$p' "$STATE/mx.eml" | tail -n +2 >>"$STATE/sub.eml"
PC_TEST_DNS_PORT=53 tests/dns/pc-test-dns start "$STATE/dns" "$STATE/corpus/zone" >/dev/null ||
	die "the DNS server did not start"

# the signing key, for both signers
mkdir -p "$STATE/keys" "$STATE/domains.d"
"$BUILD/tools/portcullis/portcullis" keygen -d "$STATE/keys" -u nobody example.com bench \
	>"$STATE/keygen.out" || die "keygen"
KEY=$STATE/keys/example.com.bench.rsa.pem
printf '[sign]\nselector = bench\nkey = %s\n' "$KEY" >"$STATE/domains.d/example.com.conf"

# Portcullis: the e2e suite's listeners, our DNS server
cat >"$STATE/portcullis.conf" <<EOF
[global]
local_domains = example.com
trusted_networks = 127.0.0.1/32
authserv_id = mx.bench.test
domains_dir = $STATE/domains.d
user = nobody
group = postfix
dns = 127.0.0.1@53
[listener.mx]
role = mx
ports = 2525 2625
daemon_names = MX
[listener.submission]
role = submission
ports = 2587
daemon_names = ORIGINATING
[listener.internal]
role = internal
ports = 2687
daemon_names = INTERNAL
EOF
RUN_DIR=$STATE/postfix/spool/run/portcullis
mkdir -p "$RUN_DIR"
chown nobody:postfix "$RUN_DIR"
chmod 0750 "$RUN_DIR"
PORTCULLIS_MILTERS=()
# the second stack hosts sign too: its own file, the same but for [stack]
cp "$STATE/portcullis.conf" "$STATE/stacksign.conf"
printf '[stack]\nmembers = relay; auth; rate; verify; sign\n' >>"$STATE/stacksign.conf"
for name in relay auth rate verify sign stack stacksign; do
	config=$STATE/portcullis.conf binary=$name
	[ $name = stacksign ] && config=$STATE/stacksign.conf binary=stack
	pc_e2e_daemon_start "$STATE" "$name" "$BUILD/milters/portcullis-$binary" \
		"$config" "$(pc_postfix_socket "$STATE" "$name")" ||
		die "portcullis-$name did not start"
	case $name in stack*) ;; *) PORTCULLIS_MILTERS+=("$name=$(pc_postfix_socket "$STATE" "$name")") ;; esac
done
STACK_MILTERS=("stack=$(pc_postfix_socket "$STATE" stack)" "sign=$(pc_postfix_socket "$STATE" sign)")

# the anchors, as a site runs them: the same key, our DNS server
cat >"$STATE/opendkim.conf" <<EOF
Syslog                  no
Mode                    sv
Domain                  example.com
Selector                bench
KeyFile                 $KEY
Canonicalization        relaxed/relaxed
OversignHeaders         From
InternalHosts           127.0.0.1
AuthservID              mx.bench.test
Nameservers             127.0.0.1
UserID                  nobody:postfix
Socket                  local:$RUN_DIR/opendkim.sock
PidFile                 $STATE/opendkim.pid.own
UMask                   007
EOF
cat >"$STATE/opendmarc.conf" <<EOF
Syslog                  false
AuthservID              mx.bench.test
TrustedAuthservIDs      mx.bench.test
IgnoreHosts             $STATE/opendmarc.ignore
UserID                  nobody:postfix
Socket                  local:$RUN_DIR/opendmarc.sock
PidFile                 $STATE/opendmarc.pid.own
UMask                   007
EOF
echo 127.0.0.1 >"$STATE/opendmarc.ignore"
opendkim -f -x "$STATE/opendkim.conf" >"$STATE/opendkim.log" 2>&1 &
echo $! >"$STATE/opendkim.pid"
opendmarc -f -c "$STATE/opendmarc.conf" >"$STATE/opendmarc.log" 2>&1 &
echo $! >"$STATE/opendmarc.pid"
for name in opendkim opendmarc; do
	pc_e2e_wait 10 test -S "$RUN_DIR/$name.sock" || die "$name did not start: $(cat "$STATE/$name.log")"
done
ANCHOR_MILTERS=("opendkim=$RUN_DIR/opendkim.sock" "opendmarc=$RUN_DIR/opendmarc.sock")

# the two measured services, after the snippet's (PC_POSTFIX_MASTER_EXTRA):
# master_extra MX_LIST SUBMISSION_LIST
master_extra() {
	PC_POSTFIX_MASTER_EXTRA="$BENCH_MX inet n - n - - smtpd
  -o smtpd_milters=$1
  -o milter_macro_daemon_name=MX
  -o cleanup_service_name=cleanup-mx
$BENCH_SUB inet n - n - - smtpd
  -o smtpd_milters=$2
  -o milter_macro_daemon_name=INTERNAL"
	export PC_POSTFIX_MASTER_EXTRA
}

postfix_with() { # postfix_with SETUP: Postfix restarted with that set-up's milters
	pc_postfix_stop "$STATE"
	# shellcheck disable=SC2016 # Postfix's own $variables
	if [ "$1" = stack ]; then
		master_extra '$portcullis_stack_milter' '$portcullis_stack_milter,$portcullis_sign_milter'
	elif [ "$1" = stacksign ]; then
		master_extra '$portcullis_stacksign_milter' '$portcullis_stacksign_milter'
	else
		master_extra '$portcullis_mx_milters' '$portcullis_submission_milters'
	fi
	case $1 in
	none) pc_postfix_start "$STATE" $MX_PORT $SUBMISSION_PORT $SMTPS_PORT $SINK_PORT ;;
	portcullis) pc_postfix_start "$STATE" $MX_PORT $SUBMISSION_PORT $SMTPS_PORT $SINK_PORT \
		"${PORTCULLIS_MILTERS[@]}" ;;
	anchors) pc_postfix_start "$STATE" $MX_PORT $SUBMISSION_PORT $SMTPS_PORT $SINK_PORT \
		"${ANCHOR_MILTERS[@]}" ;;
	one) pc_postfix_start "$STATE" $MX_PORT $SUBMISSION_PORT $SMTPS_PORT $SINK_PORT \
		"${PORTCULLIS_MILTERS[0]}" ;;
	stack) pc_postfix_start "$STATE" $MX_PORT $SUBMISSION_PORT $SMTPS_PORT $SINK_PORT \
		"${STACK_MILTERS[@]}" ;;
	stacksign) pc_postfix_start "$STATE" $MX_PORT $SUBMISSION_PORT $SMTPS_PORT $SINK_PORT \
		"stacksign=$(pc_postfix_socket "$STATE" stacksign)" ;;
	esac || die "Postfix did not start with $1"
	pc_e2e_wait 10 pc_e2e_listening "${BENCH_MX##*:}" || die "no $BENCH_MX"
}

# send SIDE N: N messages over SESSIONS sessions; prints the seconds taken
send() {
	local start end
	start=$(date +%s.%N)
	if [ "$1" = mx ]; then
		smtp-source -s $SESSIONS -m "$2" -F "$STATE/mx.eml" -f alice@example.org \
			-t user@example.com -M mail.example.org "$BENCH_MX" >>"$STATE/source.log" 2>&1
	else
		smtp-source -s $SESSIONS -m "$2" -F "$STATE/sub.eml" -f alice@example.com \
			-t bob@elsewhere.test -M client.example.com "$BENCH_SUB" >>"$STATE/source.log" 2>&1
	fi
	end=$(date +%s.%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

# a set-up refuses nothing and fails nothing: Postfix's log says so
clean_log() {
	! grep -qE 'milter-reject|milter.*(error|unavailable)|status=(bounced|deferred)' \
		"$STATE/postfix/maillog"
}

. bench/lib.sh
mkdir -p bench/results
RAW=bench/results/stack-$(date +%Y%m%d-%H%M%S).jsonl
# one: portcullis-relay alone, the cost of attaching one milter at all
SETUPS=${SETUPS:-none portcullis anchors one stack stacksign}
for run in $(seq 1 "$RUNS"); do
	order=$SETUPS
	[ $((run % 2)) -eq 0 ] && order=$(echo "$SETUPS" | tr ' ' '\n' | tac | tr '\n' ' ')
	for setup in $order; do
		postfix_with "$setup"
		: >"$STATE/postfix/maillog"
		for side in mx sub; do
			send $side 50 >/dev/null # warm-up: caches, connections
			seconds=$(send $side "$COUNT")
			rate=$(awk -v n="$COUNT" -v s="$seconds" 'BEGIN { printf "%.1f", n / s }')
			echo "{\"run\":$run,\"setup\":\"$setup\",\"side\":\"$side\",\"msgs\":$COUNT,\"seconds\":$seconds,\"msgs_per_s\":$rate}" >>"$RAW"
			echo "run $run $setup $side: $rate msg/s" >&2
		done
		clean_log || die "$setup: Postfix logged refusals or errors: $(grep -E 'milter|status=' "$STATE/postfix/maillog" | tail -3)"
	done
done
pc_postfix_stop "$STATE"

# where the time went: CPU of each milter process over the whole run (the
# portcullis set-up sent RUNS x (COUNT + 50) messages per side)
cpu_ms() { # cpu_ms PID: utime + stime in ms
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}
PER_SIDE=$((RUNS * (COUNT + 50)))
for name in relay auth rate verify sign stack stacksign opendkim opendmarc; do
	pid=$(cat "$STATE/$name.pid" 2>/dev/null) || continue
	[ -r "/proc/$pid/stat" ] || continue
	ms=$(cpu_ms "$pid")
	case $name in
	relay) seen=$((4 * PER_SIDE)) ;; # the portcullis and the one set-ups, both sides
	auth | rate | stack | stacksign | opendkim | opendmarc) seen=$((2 * PER_SIDE)) ;;
	sign) seen=$((2 * PER_SIDE)) ;; # the portcullis and the stack set-ups
	*) seen=$PER_SIDE ;;
	esac
	echo "cpu $name: $ms ms for $seen messages: $(awk -v a="$ms" -v b="$seen" 'BEGIN { printf "%.3f", a / b }') ms/msg" >&2
done

# the milters really worked: verified and signed every message of the last run
verified=$(grep -c 'dkim1=pass' "$STATE/verify.log")
signed=$(grep -c 'sign: action=continue.*reason=signed' "$STATE/sign.log")
[ "$verified" -ge "$COUNT" ] || die "portcullis-verify passed $verified messages, not $COUNT or more"
[ "$signed" -ge "$COUNT" ] || die "portcullis-sign signed $signed messages, not $COUNT or more"
case " $SETUPS " in
*" stack "*)
	stacked=$(grep -c 'verify: .*dkim1=pass' "$STATE/stack.log")
	[ "$stacked" -ge "$COUNT" ] || die "portcullis-stack passed $stacked messages, not $COUNT or more"
	# verify is asked on the MX listener only: nothing from the signing side
	! grep -q 'verify: .*listener=internal' "$STATE/stack.log" ||
		die "portcullis-stack's verify was asked on the internal listener"
	;;
esac
case " $SETUPS " in
*" stacksign "*)
	stacked=$(grep -c 'verify: .*dkim1=pass' "$STATE/stacksign.log")
	[ "$stacked" -ge "$COUNT" ] || die "portcullis-stack (with sign) passed $stacked messages, not $COUNT or more"
	stacked=$(grep -c 'sign: action=continue.*reason=signed' "$STATE/stacksign.log")
	[ "$stacked" -ge "$COUNT" ] || die "portcullis-stack (with sign) signed $stacked messages, not $COUNT or more"
	! grep -q 'sign: .*listener=mx' "$STATE/stacksign.log" ||
		die "portcullis-stack's sign was asked on the MX listener"
	;;
esac

echo "Postfix + smtp-source -s $SESSIONS -> smtp-sink: none vs the Portcullis suite vs"
echo "opendkim+opendmarc; median of $RUNS runs, $COUNT messages each; $(nproc) cores; raw: $RAW"
printf '%-5s %-11s %9s %9s\n' side setup msg/s of_none
for side in mx sub; do
	for setup in $SETUPS; do
		rate=$(grep "\"setup\":\"$setup\",\"side\":\"$side\"" "$RAW" | field msgs_per_s | median)
		eval "rate_$setup=$rate"
		printf '%-5s %-11s %9.1f %8.0f%%\n' "$side" "$setup" "$rate" \
			"$(awk -v a="$rate" -v b="$rate_none" 'BEGIN { print 100 * a / b }')"
	done
done
