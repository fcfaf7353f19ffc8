#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/rate.sh [RUNS] [COUNT]: portcullis-rate on the memory store and on the
# redis store (a redis-server started here on a unix socket) against the
# do-nothing libmilter filter (pc-null-milter), side by side in the same run:
# small messages, 1 and 4 milter connections, unix sockets. Two limits are
# checked per message (client_net/messages and sender_domain/recipients) and
# committed at EOM, none refused: two store calls a message (MAIL checks both
# limits in one call; the RCPT stays within the headroom MAIL saw, so it asks
# nothing; EOM commits both in one call). Each run measures the three filters
# back to back in rotating order; the summary gives the median of RUNS runs:
# msg/s, store calls/s,
# p99 latency, the filter's CPU ms per message, and the throughput ratios
# (targets at 4 connections: memory >= 0.85, redis >= 0.6).
#
# Then the memory store's resident size: a daemon is fed 1,000,000 distinct
# recipients (key = recipient) and its VmRSS is read from /proc (target for
# the whole process <= 200 MB). Skip it with RSS=no.
#
# Bounded: COUNT messages (default 20000) and at most 60 s per measurement.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-5}
COUNT=${2:-20000}
BUILD=${BUILD:-build-bench}
RSS=${RSS:-yes}

command -v redis-server >/dev/null || { echo "bench/rate.sh: redis-server is needed" >&2; exit 2; }
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release >/dev/null
ninja -C "$BUILD" >/dev/null
CLIENT=$BUILD/tools/milter-client/pc-milter-client
RATE=$BUILD/milters/portcullis-rate
DIR=$(mktemp -d /tmp/pc-bench-rate.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$DIR"' EXIT

wait_socket() { for _ in $(seq 1 500); do [ -S "$1" ] && return 0; sleep 0.01; done; return 1; }

# write_conf NAME STORE [EXTRA]: the bench configuration, two limits nobody reaches
write_conf() {
	cat >"$DIR/$1.conf" <<EOF
[global]
local_domains = example.com; example.net
trusted_networks = 127.0.0.1/32
domains_dir =
user =
store = $2
${4:-}
[listener.mx]
role = mx
ports = 25
daemon_names = MX
[rate]
${3:-[rate.per_net]
key = client_net
count = messages
rate = 100000000/1h
[rate.per_sender_domain]
key = sender_domain
count = recipients
rate = 100000000/1h}
EOF
}

redis-server --port 0 --unixsocket "$DIR/redis.sock" --unixsocketperm 700 --save '' \
	--appendonly no --daemonize no --logfile "$DIR/redis.log" &
PIDS+=($!); REDIS_PID=$!
wait_socket "$DIR/redis.sock"

write_conf memory memory
write_conf redis "unix:$DIR/redis.sock"
"$BUILD/bench/pc-null-milter" -p "unix:$DIR/null.sock" 2>"$DIR/null.log" &
PIDS+=($!); NULL_PID=$!
"$RATE" -f -c "$DIR/memory.conf" -p "unix:$DIR/memory.sock" 2>"$DIR/memory.log" &
PIDS+=($!); MEMORY_PID=$!
"$RATE" -f -c "$DIR/redis.conf" -p "unix:$DIR/redis-rate.sock" 2>"$DIR/redis-rate.log" &
PIDS+=($!); REDISRATE_PID=$!
for s in null memory redis-rate; do wait_socket "$DIR/$s.sock"; done

measure() { # measure SOCKET PIDS CONNS -> one JSON line
	"$CLIENT" -s "unix:$DIR/$1.sock" --load -n "$COUNT" -C "$3" --warmup 200 \
		--seconds 60 -p "$2" --json bench/scenarios/small.scn | tail -1
}
. bench/lib.sh

mkdir -p bench/results
RAW=bench/results/rate-$(date +%Y%m%d-%H%M%S).jsonl
for run in $(seq 1 "$RUNS"); do
	for conns in 1 4; do
		case $((run % 3)) in
		0) order="null memory redis" ;;
		1) order="memory redis null" ;;
		*) order="redis null memory" ;;
		esac
		for name in $order; do
			case $name in
			null) line=$(measure null "$NULL_PID" "$conns") ;;
			memory) line=$(measure memory "$MEMORY_PID" "$conns") ;;
			# the redis filter's CPU includes redis-server's: the cost of a decision
			redis) line=$(measure redis-rate "$REDISRATE_PID,$REDIS_PID" "$conns") ;;
			esac
			echo "{\"run\":$run,\"filter\":\"$name\",\"conns\":$conns,\"result\":$line}" >>"$RAW"
		done
	done
done
grep -q '"errors":0' "$RAW" || echo "warning: some measurements had errors (see $RAW)"
if grep -qE '"tempfail":[1-9]|"reject":[1-9]' "$RAW"; then
	echo "warning: some messages were refused: the limits are meant to be out of reach"
fi

echo "portcullis-rate (memory, redis) vs pc-null-milter: small messages, unix sockets, median of $RUNS runs, $COUNT messages each"
echo "2 store calls a message (MAIL: check 2 limits, EOM: commit 2 limits); redis CPU includes redis-server"
echo "$(nproc) cores; $(uname -r); $(redis-server --version | grep -o 'v=[0-9.]*'); raw: $RAW"
printf '%-6s %-7s %10s %14s %9s %14s\n' conns filter msg/s store_calls/s p99_ms cpu_ms/msg
for conns in 1 4; do
	for name in null memory redis; do
		rows=$(grep "\"filter\":\"$name\",\"conns\":$conns," "$RAW")
		rate=$(field msgs_per_s <<<"$rows" | median)
		p99=$(field p99_ms <<<"$rows" | median)
		cpu=$(field milter_cpu_ms_per_msg <<<"$rows" | median)
		calls=$([ "$name" = null ] && echo 0 || awk "BEGIN {print $rate * 2}")
		printf '%-6s %-7s %10.0f %14.0f %9.3f %14.4f\n' "$conns" "$name" "$rate" "$calls" "$p99" "$cpu"
		eval "rate_${name}_$conns=$rate"
	done
	for name in memory redis; do
		ratio=$(awk "BEGIN {printf \"%.3f\", $(eval echo \$rate_${name}_$conns) / $(eval echo \$rate_null_$conns)}")
		echo "conns=$conns throughput ratio $name/null: $ratio"
	done
done

[ "$RSS" = yes ] || exit 0

# ------------------------------------------------------------ 1,000,000 keys
# 2000 messages of 500 distinct recipients each, over 4 connections: every
# recipient is a key of [rate.per_recipient] (one window), committed at EOM
PORT=$((20000 + RANDOM % 20000))
write_conf rss memory "[rate.per_recipient]
key = recipient
count = recipients
rate = 1000/1d" "statistics = 127.0.0.1:$PORT
store_max_keys = 1000000"
"$RATE" -f -c "$DIR/rss.conf" -p "unix:$DIR/rss.sock" 2>"$DIR/rss.log" &
PIDS+=($!); RSS_PID=$!
wait_socket "$DIR/rss.sock"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$RSS_PID/status"; }
before=$(rss_kb)
for part in 0 1 2 3; do
	{
		echo "mta postfix"
		echo "macro {daemon_name} MX"
		echo "connect 198.51.100.$((part + 1)) port 40000 name c.test"
		for m in $(seq 0 499); do
			echo "mail <s$part-$m@sender.test>"
			awk -v p="$part" -v m="$m" 'BEGIN {for (r = 0; r < 500; r++) printf "rcpt <r%d-%d-%d@example.com>\n", p, m, r}'
			echo "eom"
		done
		echo "quit"
	} >"$DIR/rss-$part.scn"
done
start=$(date +%s.%N)
CLIENTS=()
for part in 0 1 2 3; do
	"$CLIENT" -s "unix:$DIR/rss.sock" -T 60 "$DIR/rss-$part.scn" >"$DIR/rss-$part.out" 2>&1 &
	CLIENTS+=($!)
done
for pid in "${CLIENTS[@]}"; do wait "$pid" || true; done
elapsed=$(awk "BEGIN {print $(date +%s.%N) - $start}")
after=$(rss_kb)
# [global] statistics is the relay's port; portcullis-rate listens at its offset, +2
keys=$(exec 3<>"/dev/tcp/127.0.0.1/$((PORT + 2))" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3 | awk '/^portcullis_store_keys / {print $2}')
refused=$(cat "$DIR"/rss-*.out | grep -c 'tempfail\|reject' || true)
echo
echo "memory store, 1,000,000 recipients through a daemon in ${elapsed%.*} s ($refused refusals):"
echo "  portcullis_store_keys = $keys"
echo "  VmRSS before: $((before / 1024)) MB, after: $((after / 1024)) MB (target <= 200 MB)"
echo "{\"rss\":{\"keys\":$keys,\"vmrss_kb_before\":$before,\"vmrss_kb_after\":$after,\"seconds\":$elapsed}}" >>"$RAW"
