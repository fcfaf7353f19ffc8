#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/verify.sh [RUNS] [COUNT]: portcullis-verify (SPF, DKIM and DMARC,
# its history kept for reports) against the anchor stack, Debian's OpenDKIM
# 2.11 in verify mode and OpenDMARC 1.4.2 (SPF by its own libspf2, DKIM
# from OpenDKIM's Authentication-Results, its history file kept), each
# measured alone, and the do-nothing libmilter filter (pc-null-milter),
# side by side in the same run, on the same signed messages
# (bench/verify-corpus.py: RSA-2048 and Ed25519, relaxed/relaxed, signed
# by dkimpy for the run; OpenDMARC gets them with the A-R header OpenDKIM
# would have added), with the records on the same local DNS server, 1 and
# 4 milter connections, unix sockets.
#
# OpenDKIM asks port 53 and OpenDMARC the resolv.conf servers, so the run
# happens in network and mount namespaces of its own (unshare --net
# --mount): unbound (tests/dns/pc-test-dns) listens on 127.0.0.1:53 there,
# a resolv.conf naming it is bind-mounted over /etc/resolv.conf inside,
# and nothing can leave the namespace.
#
# Each run measures every filter back to back in alternating order; the
# summary gives the median of RUNS runs: msg/s, p99 latency (MAIL sent to
# the final EOM reply), the filter's CPU ms per message, the throughput
# ratio portcullis-verify/opendkim (target at 4 connections: >= 2) and the
# CPU ratio portcullis-verify/(opendkim + opendmarc) (target: <= 1/3).
# Before measuring, one message through each verifier must say dkim=pass
# (and spf=pass and dmarc=pass for ours, dmarc=pass for OpenDMARC).
# Bounded: COUNT messages (default 5000) and at most 60 s per measurement.
# Needs root (the namespaces); installs opendkim, opendmarc, unbound,
# python3-dkim, python3-nacl and iproute2 when missing.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
COUNT=${2:-5000}
BUILD=${BUILD:-build-bench}

if [ -z "${PC_BENCH_NETNS:-}" ]; then
	need=
	for package in opendkim opendmarc unbound python3-dkim python3-nacl iproute2; do
		dpkg -s "$package" >/dev/null 2>&1 || need="$need $package"
	done
	if [ -n "$need" ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
	fi
	[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release >/dev/null
	ninja -C "$BUILD" >/dev/null
	PC_BENCH_NETNS=1 exec unshare --net --mount --propagation private bash "$0" "$@"
fi
ip link set lo up

CLIENT=$BUILD/tools/milter-client/pc-milter-client
DIR=$(mktemp -d /tmp/pc-bench-verify.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	tests/dns/pc-test-dns stop "$DIR/dns" >/dev/null 2>&1
	rm -rf "$DIR"
}
trap cleanup EXIT

/usr/bin/python3 bench/verify-corpus.py "$DIR/corpus"
PC_TEST_DNS_PORT=53 tests/dns/pc-test-dns start "$DIR/dns" "$DIR/corpus/zone" >/dev/null
# OpenDMARC (libspf2, its own lookups) reads resolv.conf: ours, in this mount namespace only
echo "nameserver 127.0.0.1" >"$DIR/resolv.conf"
mount --bind "$DIR/resolv.conf" /etc/resolv.conf
# OpenDMARC's input: the message as OpenDKIM passes it on, with its A-R header
for alg in rsa2048 ed25519; do
	sed "s/^data\$/data\nheader Authentication-Results: mx.bench.test; dkim=pass (2048-bit key) header.d=example.org header.i=@example.org header.s=$alg/" \
		"$DIR/corpus/$alg.scn" >"$DIR/corpus/$alg-ar.scn"
done
mkdir -p "$DIR/history"

mkdir -p "$DIR/domains.d"
cat >"$DIR/verify.conf" <<CONF
[global]
local_domains = example.com
domains_dir = $DIR/domains.d
user =
authserv_id = mx.bench.test
dns = 127.0.0.1@53
[verify]
# DMARC on (the default) with its history kept, as a reporting site runs it
dmarc_history_dir = $DIR/history
[listener.mx]
role = mx
ports = 25
daemon_names = MX
CONF
# OpenDKIM as a site runs it to verify: its defaults, our DNS server
cat >"$DIR/opendkim.conf" <<CONF
Syslog                  no
Mode                    v
AuthservID              mx.bench.test
Nameservers             127.0.0.1
Socket                  local:$DIR/opendkim.sock
PidFile                 $DIR/opendkim.pid
UMask                   007
CONF
# OpenDMARC as a site runs it behind OpenDKIM: SPF itself, DKIM from OpenDKIM's
# A-R, failures not rejected (the record is p=none anyway), its history kept
cat >"$DIR/opendmarc.conf" <<CONF
Syslog                  false
Socket                  local:$DIR/opendmarc.sock
PidFile                 $DIR/opendmarc.pid
AuthservID              mx.bench.test
TrustedAuthservIDs      mx.bench.test
SPFSelfValidate         true
RejectFailures          false
FailureReports          false
RequiredHeaders         false
HistoryFile             $DIR/opendmarc.history
UMask                   007
CONF

. bench/lib.sh
start_filter null "$BUILD/bench/pc-null-milter" -p "unix:$DIR/null.sock"
start_filter verify "$BUILD/milters/portcullis-verify" -f -c "$DIR/verify.conf" \
	-p "unix:$DIR/verify.sock"
start_filter opendkim opendkim -f -x "$DIR/opendkim.conf"
start_filter opendmarc opendmarc -f -c "$DIR/opendmarc.conf"
wait_sockets null verify opendkim opendmarc

# the checks really run: one message through each verifier passes
for alg in rsa2048 ed25519; do
	for name in verify opendkim; do
		"$CLIENT" -s "unix:$DIR/$name.sock" "$DIR/corpus/$alg.scn" >"$DIR/check.out" 2>&1 || true
		want='dkim=pass'
		[ "$name" = verify ] &&
			want='spf=pass smtp.mailfrom=example.org.*dkim=pass.*dmarc=pass (p=none dis=none) header.from=example.org'
		if ! tr -d '\n' <"$DIR/check.out" | sed 's/\\n\\t/ /g' | grep -q "Authentication-Results:.*$want"; then
			echo "verify.sh: $name does not pass the $alg message:" >&2
			cat "$DIR/check.out" "$DIR/$name.log" >&2
			exit 1
		fi
	done
	"$CLIENT" -s "unix:$DIR/opendmarc.sock" "$DIR/corpus/$alg-ar.scn" >"$DIR/check.out" 2>&1 || true
	if ! grep -q 'dmarc=pass' "$DIR/check.out"; then
		echo "verify.sh: opendmarc does not pass the $alg message:" >&2
		cat "$DIR/check.out" "$DIR/opendmarc.log" >&2
		exit 1
	fi
done

measure() { # measure NAME PID CONNS ALG -> one JSON line
	local scenario=$DIR/corpus/$4.scn
	[ "$1" = opendmarc ] && scenario=$DIR/corpus/$4-ar.scn
	"$CLIENT" -s "unix:$DIR/$1.sock" --load -n "$COUNT" -C "$3" --warmup 50 \
		--seconds 60 -p "$2" --json "$scenario" | tail -1
}

mkdir -p bench/results
RAW=bench/results/verify-$(date +%Y%m%d-%H%M%S).jsonl
FILTERS="null opendkim opendmarc verify"
for run in $(seq 1 "$RUNS"); do
	for alg in rsa2048 ed25519; do
		for conns in 1 4; do
			order=$FILTERS
			[ $((run % 2)) -eq 0 ] && order="verify opendmarc opendkim null"
			for name in $order; do
				pid_var=${name^^}_PID
				line=$(measure "$name" "${!pid_var}" "$conns" "$alg")
				echo "{\"run\":$run,\"filter\":\"$name\",\"alg\":\"$alg\",\"conns\":$conns,\"result\":$line}" >>"$RAW"
			done
		done
	done
done

# no verifier may refuse or fail a message: that would be a cheaper path
if grep -E '"filter":"(verify|opendkim|opendmarc)"' "$RAW" | grep -qvE '"reject":0,"tempfail":0'; then
	echo "verify.sh: some messages were refused or failed; raw: $RAW" >&2
	exit 1
fi

echo "portcullis-verify (SPF+DKIM+DMARC) vs opendkim (Mode v) and opendmarc, each alone, vs pc-null-milter,"
echo "median of $RUNS runs, $COUNT messages each; $(nproc) cores; $(uname -r); raw: $RAW"
printf '%-8s %-6s %-9s %10s %9s %14s\n' alg conns filter msg/s p99_ms cpu_ms/msg
for alg in rsa2048 ed25519; do
	for conns in 1 4; do
		for name in $FILTERS; do
			read -r rate p99 cpu < <(medians "\"filter\":\"$name\",\"alg\":\"$alg\",\"conns\":$conns,")
			printf '%-8s %-6s %-9s %10.0f %9.3f %14.4f\n' "$alg" "$conns" "$name" "$rate" "$p99" "$cpu"
			eval "rate_$name=$rate"
			eval "cpu_$name=$cpu"
		done
		echo "$alg conns=$conns throughput ratio portcullis-verify/opendkim: $(awk "BEGIN {printf \"%.2f\", $rate_verify / $rate_opendkim}")"
		echo "$alg conns=$conns CPU ratio portcullis-verify/(opendkim+opendmarc): $(awk "BEGIN {printf \"%.3f\", $cpu_verify / ($cpu_opendkim + $cpu_opendmarc)}")"
	done
done
