#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/auth.sh [RUNS] [COUNT]: portcullis-auth against the do-nothing
# libmilter filter (pc-null-milter), side by side in the same run: one small
# authenticated submission per message (STARTTLS macros, AUTH, an owned
# envelope sender and From header, both signal counters), 1 and 4 milter
# connections, unix sockets. Each run measures both filters back to back in
# alternating order; the summary gives the median of RUNS runs: msg/s, p99
# latency, the filter's CPU ms per message, and the throughput ratio
# auth/null (target at 4 connections: >= 0.85).
# Bounded: COUNT messages (default 20000) and at most 60 s per measurement.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
COUNT=${2:-20000}
BUILD=${BUILD:-build-bench}
SCENARIO=bench/scenarios/submission.scn

[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release >/dev/null
ninja -C "$BUILD" >/dev/null
CLIENT=$BUILD/tools/milter-client/pc-milter-client
DIR=$(mktemp -d /tmp/pc-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$DIR"' EXIT

sed "s|@BENCH_DIR@|$DIR|g" bench/auth.conf.in >"$DIR/bench.conf"
# a map of realistic size: the benchmark's login among 10000 others
{
	echo "alice@example.com alice@example.com, alice-app"
	for i in $(seq 1 10000); do echo "user$i@example.com user$i@example.com"; done
	echo "@example.net postmaster@example.net"
} >"$DIR/sender_login"
"$BUILD/bench/pc-null-milter" -p "unix:$DIR/null.sock" 2>"$DIR/null.log" &
PIDS+=($!); NULL_PID=$!
"$BUILD/milters/portcullis-auth" -f -c "$DIR/bench.conf" -p "unix:$DIR/auth.sock" 2>"$DIR/auth.log" &
PIDS+=($!); AUTH_PID=$!
for s in null auth; do
	for _ in $(seq 1 500); do [ -S "$DIR/$s.sock" ] && break; sleep 0.01; done
done

measure() { # measure NAME PID CONNS -> one JSON line
	"$CLIENT" -s "unix:$DIR/$1.sock" --load -n "$COUNT" -C "$3" --warmup 200 \
		--seconds 60 -p "$2" --json "$SCENARIO" | tail -1
}
. bench/lib.sh

RAW=bench/results/auth-$(date +%Y%m%d-%H%M%S).jsonl
for run in $(seq 1 "$RUNS"); do
	for conns in 1 4; do
		order="null auth"
		[ $((run % 2)) -eq 0 ] && order="auth null"
		for name in $order; do
			pid=$NULL_PID
			[ "$name" = auth ] && pid=$AUTH_PID
			line=$(measure "$name" "$pid" "$conns")
			echo "{\"run\":$run,\"filter\":\"$name\",\"conns\":$conns,\"result\":$line}" >>"$RAW"
		done
	done
done

# every measured message must have passed: a refusal would be a cheaper path
if grep '"filter":"auth"' "$RAW" | grep -qvE '"reject":0,"tempfail":0'; then
	echo "auth.sh: some messages were refused; see $DIR/auth.log" >&2
	exit 1
fi

echo "portcullis-auth vs pc-null-milter: authenticated submission, unix socket, median of $RUNS runs, $COUNT messages each"
echo "$(nproc) cores; $(uname -r); raw: $RAW"
printf '%-6s %-6s %10s %9s %14s\n' conns filter msg/s p99_ms cpu_ms/msg
for conns in 1 4; do
	for name in null auth; do
		rows=$(grep "\"filter\":\"$name\",\"conns\":$conns," "$RAW")
		rate=$(field msgs_per_s <<<"$rows" | median)
		p99=$(field p99_ms <<<"$rows" | median)
		cpu=$(field milter_cpu_ms_per_msg <<<"$rows" | median)
		printf '%-6s %-6s %10.0f %9.3f %14.4f\n' "$conns" "$name" "$rate" "$p99" "$cpu"
		eval "rate_${name}_$conns=$rate"
	done
	ratio=$(awk "BEGIN {printf \"%.3f\", $(eval echo \$rate_auth_$conns) / $(eval echo \$rate_null_$conns)}")
	echo "conns=$conns throughput ratio auth/null: $ratio"
done
