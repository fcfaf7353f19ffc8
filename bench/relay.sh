#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/relay.sh [RUNS] [COUNT]: portcullis-relay against the do-nothing
# libmilter filter (pc-null-milter), side by side in the same run, small
# messages, 1 and 4 milter connections, unix sockets. Each run measures both
# filters back to back in alternating order; the summary gives the median of
# RUNS runs: msg/s, p99 latency, the filter's CPU ms per message, and the
# throughput ratio relay/null (target at 4 connections: >= 0.85).
# Bounded: COUNT messages (default 20000) and at most 60 s per measurement.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
COUNT=${2:-20000}
BUILD=${BUILD:-build-bench}

[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release >/dev/null
ninja -C "$BUILD" >/dev/null
CLIENT=$BUILD/tools/milter-client/pc-milter-client
DIR=$(mktemp -d /tmp/pc-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$DIR"' EXIT

cp bench/bench.conf.in "$DIR/bench.conf"
"$BUILD/bench/pc-null-milter" -p "unix:$DIR/null.sock" 2>"$DIR/null.log" &
PIDS+=($!); NULL_PID=$!
"$BUILD/milters/portcullis-relay" -f -c "$DIR/bench.conf" -p "unix:$DIR/relay.sock" 2>"$DIR/relay.log" &
PIDS+=($!); RELAY_PID=$!
for s in null relay; do
	for _ in $(seq 1 500); do [ -S "$DIR/$s.sock" ] && break; sleep 0.01; done
done

measure() { # measure NAME PID CONNS -> one JSON line
	"$CLIENT" -s "unix:$DIR/$1.sock" --load -n "$COUNT" -C "$3" --warmup 200 \
		--seconds 60 -p "$2" --json bench/scenarios/small.scn | tail -1
}
. bench/lib.sh

RAW=bench/results/relay-$(date +%Y%m%d-%H%M%S).jsonl
for run in $(seq 1 "$RUNS"); do
	for conns in 1 4; do
		order="null relay"
		[ $((run % 2)) -eq 0 ] && order="relay null"
		for name in $order; do
			pid=$NULL_PID
			[ "$name" = relay ] && pid=$RELAY_PID
			line=$(measure "$name" "$pid" "$conns")
			echo "{\"run\":$run,\"filter\":\"$name\",\"conns\":$conns,\"result\":$line}" >>"$RAW"
		done
	done
done

echo "portcullis-relay vs pc-null-milter: small messages, unix socket, median of $RUNS runs, $COUNT messages each"
echo "$(nproc) cores; $(uname -r); raw: $RAW"
printf '%-6s %-6s %10s %9s %14s\n' conns filter msg/s p99_ms cpu_ms/msg
for conns in 1 4; do
	for name in null relay; do
		rows=$(grep "\"filter\":\"$name\",\"conns\":$conns," "$RAW")
		rate=$(field msgs_per_s <<<"$rows" | median)
		p99=$(field p99_ms <<<"$rows" | median)
		cpu=$(field milter_cpu_ms_per_msg <<<"$rows" | median)
		printf '%-6s %-6s %10.0f %9.3f %14.4f\n' "$conns" "$name" "$rate" "$p99" "$cpu"
		eval "rate_${name}_$conns=$rate"
	done
	ratio=$(awk "BEGIN {printf \"%.3f\", $(eval echo \$rate_relay_$conns) / $(eval echo \$rate_null_$conns)}")
	echo "conns=$conns throughput ratio relay/null: $ratio"
done
