#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/sign.sh [RUNS] [COUNT]: portcullis-sign against OpenDKIM in signing
# mode (Debian's opendkim 2.11, Mode s) and the do-nothing libmilter filter
# (pc-null-milter), side by side in the same run, on the same message (an
# authenticated submission, bench/scenarios/submission.scn), with the same
# RSA-2048 key, 1 and 4 milter connections, unix sockets. A fourth filter,
# portcullis-sign with an Ed25519 key as well, measures dual signing (RFC
# 8463), which OpenDKIM does not do in one pass.
#
# The keys come from `portcullis keygen` for the run. Before measuring, one
# message through each signer must come out with its signature(s) (two for
# dual); every measured message must be accepted. Each run measures every
# filter back to back in alternating order; the summary gives the median
# of RUNS runs: msg/s, p99 latency, the filter's CPU ms per message, and
# the throughput ratio portcullis-sign/opendkim (targets at 4 connections:
# >= 3, and <= 0.6 ms CPU per message). Bounded: COUNT messages (default
# 5000) and at most 60 s per measurement. Installs opendkim when missing.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
COUNT=${2:-5000}
BUILD=${BUILD:-build-bench}
SCENARIO=bench/scenarios/submission.scn

if ! command -v opendkim >/dev/null && [ ! -x /usr/sbin/opendkim ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opendkim >/dev/null
fi
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release >/dev/null
ninja -C "$BUILD" >/dev/null
CLIENT=$BUILD/tools/milter-client/pc-milter-client
# not under /tmp: OpenDKIM refuses a key file below a directory others may write
DIR=$(mktemp -d "$PWD/$BUILD/pc-bench-sign.XXXXXX")
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$DIR"' EXIT

mkdir -p "$DIR/keys" "$DIR/rsa.d" "$DIR/dual.d"
"$BUILD/tools/portcullis/portcullis" keygen -d "$DIR/keys" -u '' -t both example.com bench \
	>"$DIR/keygen.out"
RSA_KEY=$DIR/keys/example.com.bench.rsa.pem
ED_KEY=$DIR/keys/example.com.bench-ed25519.ed25519.pem

# portcullis-sign: RSA only, and RSA plus Ed25519
for variant in rsa dual; do
	cat >"$DIR/$variant.conf" <<CONF
[global]
local_domains = example.com
domains_dir = $DIR/$variant.d
user =
[listener.submission]
role = submission
ports = 587
daemon_names = ORIGINATING
CONF
	{
		echo "[sign]"
		echo "selector = bench"
		echo "key = $RSA_KEY"
		if [ $variant = dual ]; then
			echo "selector_ed25519 = bench-ed25519"
			echo "key_ed25519 = $ED_KEY"
		fi
	} >"$DIR/$variant.d/example.com.conf"
done
# OpenDKIM as a site runs it to sign: the same key, relaxed/relaxed, From oversigned
cat >"$DIR/opendkim.conf" <<CONF
Syslog                  no
Mode                    s
Domain                  example.com
Selector                bench
KeyFile                 $RSA_KEY
Canonicalization        relaxed/relaxed
SignatureAlgorithm      rsa-sha256
OversignHeaders         From
InternalHosts           198.51.100.7
Socket                  local:$DIR/opendkim.sock
PidFile                 $DIR/opendkim.pid
UMask                   007
CONF

. bench/lib.sh
start_filter null "$BUILD/bench/pc-null-milter" -p "unix:$DIR/null.sock"
start_filter opendkim opendkim -f -x "$DIR/opendkim.conf"
start_filter sign "$BUILD/milters/portcullis-sign" -f -c "$DIR/rsa.conf" -p "unix:$DIR/sign.sock"
start_filter dual "$BUILD/milters/portcullis-sign" -f -c "$DIR/dual.conf" -p "unix:$DIR/dual.sock"
wait_sockets null opendkim sign dual

# the signing really happens: the signatures each signer must add
for name in opendkim sign dual; do
	"$CLIENT" -s "unix:$DIR/$name.sock" "$SCENARIO" >"$DIR/check.out" 2>&1 || true
	want=1
	[ $name = dual ] && want=2
	got=$(grep -c 'DKIM-Signature: v=1;.* d=example.com' "$DIR/check.out" || true)
	if [ "$got" != "$want" ]; then
		echo "sign.sh: $name added $got signatures, not $want:" >&2
		cat "$DIR/check.out" "$DIR/$name.log" >&2
		exit 1
	fi
done

measure() { # measure NAME PID CONNS -> one JSON line
	"$CLIENT" -s "unix:$DIR/$1.sock" --load -n "$COUNT" -C "$3" --warmup 50 \
		--seconds 60 -p "$2" --json "$SCENARIO" | tail -1
}

mkdir -p bench/results
RAW=bench/results/sign-$(date +%Y%m%d-%H%M%S).jsonl
FILTERS="null opendkim sign dual"
for run in $(seq 1 "$RUNS"); do
	for conns in 1 4; do
		order=$FILTERS
		[ $((run % 2)) -eq 0 ] && order="dual sign opendkim null"
		for name in $order; do
			pid_var=${name^^}_PID
			line=$(measure "$name" "${!pid_var}" "$conns")
			echo "{\"run\":$run,\"filter\":\"$name\",\"conns\":$conns,\"result\":$line}" >>"$RAW"
		done
	done
done

if grep -E '"filter":"(opendkim|sign|dual)"' "$RAW" | grep -qvE '"reject":0,"tempfail":0'; then
	echo "sign.sh: some messages were refused or failed; raw: $RAW" >&2
	exit 1
fi

echo "portcullis-sign (RSA-2048; dual RSA+Ed25519) vs opendkim -x (Mode s, RSA-2048) vs"
echo "pc-null-milter, unix sockets, median of $RUNS runs, $COUNT messages each;"
echo "$(nproc) cores; $(uname -r); raw: $RAW"
printf '%-6s %-9s %10s %9s %14s\n' conns filter msg/s p99_ms cpu_ms/msg
for conns in 1 4; do
	for name in $FILTERS; do
		read -r rate p99 cpu < <(medians "\"filter\":\"$name\",\"conns\":$conns,")
		printf '%-6s %-9s %10.0f %9.3f %14.4f\n' "$conns" "$name" "$rate" "$p99" "$cpu"
		eval "rate_$name=$rate"
	done
	echo "conns=$conns throughput ratio portcullis-sign/opendkim: $(awk "BEGIN {printf \"%.2f\", $rate_sign / $rate_opendkim}"), dual/opendkim: $(awk "BEGIN {printf \"%.2f\", $rate_dual / $rate_opendkim}")"
done
