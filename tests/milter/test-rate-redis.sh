#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-rate-redis.sh RATE CLIENT: portcullis-rate on the redis
# store. A real redis-server, started here on a unix socket (no TCP port, so
# no clash), is shared by two daemon instances: one global limit, greylisting
# state seen by both, the same retry times as the memory store. Then Redis is
# stopped in the middle of a burst (fallback to memory, no tempfail, no crash,
# one log line) and started again (back on Redis). TAP output.
set -u
RATE=$1
CLIENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "1..0 # SKIP redis-server or redis-cli not installed"
	exit 0
fi

PC_DIR=$(mktemp -d /tmp/pc-rate-redis.XXXXXX)
PIDS=()
REDIS_PID=
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "$REDIS_PID" ] && stop_pid "$REDIS_PID"
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

SOCK=$PC_DIR/redis.sock
rcli() { redis-cli -s "$SOCK" "$@"; }
redis_up() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }

start_redis() {
	redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' \
		--appendonly no --daemonize no --logfile "$PC_DIR/redis.log" &
	REDIS_PID=$!
	wait_until 10 redis_up
}

stop_redis() {
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
	rm -f "$SOCK"
}

# write_config NAME ON_ERROR STATS_PORT: stdin is appended ([rate.*], [greylist])
write_config() {
	{
		cat <<EOF
[global]
local_domains = example.com
trusted_networks = 127.0.0.1/32
domains_dir = $PC_DIR/domains.d
store = unix:$SOCK
statistics = ${3:+127.0.0.1:$3}
user =

[listener.mx]
role = mx
ports = 25
daemon_names = MX

[listener.submission]
role = submission
ports = 587
daemon_names = ORIGINATING

[listener.internal]
role = internal
ports = 10025
daemon_names = INTERNAL

[rate]
on_error = $2
EOF
		cat
	} >"$PC_DIR/$1.conf"
}

start_rate() { start_daemon "$RATE" "$1"; }

# message [SENDER]: one whole transaction, expected to pass
message() {
	cat <<EOF
mail <${1:-a@sender.test}>
rcpt <u@example.com>
data
body hello
eom
expect continue
EOF
}

mkdir -p "$PC_DIR/domains.d"
LIMITS='[rate.per_client]
key = client_ip
count = messages
rate = 5/1h
roles = mx

[rate.per_login]
key = login
count = recipients
rate = 3/1h
roles = submission

[rate.flood]
key = client_net
count = messages
rate = 100000/1h
roles = internal

[greylist]
enabled = yes
delay = 2s
retry_window = 1m'
PORT_A=$(pick_port)
write_config a accept "$PORT_A" <<<"$LIMITS"
write_config b accept <<<"$LIMITS"
write_config c tempfail <<<"$LIMITS"

if start_redis; then
	ok "redis-server runs on a private unix socket"
else
	not_ok "redis-server runs on a private unix socket" "$PC_DIR/redis.log"
	finish
	exit 1
fi
if start_rate a && start_rate b; then
	ok "two daemon instances start on the redis store"
else
	not_ok "two daemon instances start on the redis store" "$PC_DIR/a.log"
	finish
	exit 1
fi

# ------------------------------------------------------- one global limit
# 5/1h per client: three messages through A, two through B, the sixth refused by either
{
	echo "macro {daemon_name} MX"
	echo "connect 198.51.100.7 port 40000 name c.test"
	# the first recipient is greylisted once (trusted and AUTH are exempt, this is neither)
	echo "mail <a@sender.test>"
	echo "rcpt <u@example.com>"
	echo "expect tempfail 451 4.7.1 Greylisted, try again in 2 seconds"
	echo "quit"
} >"$PC_DIR/grey-a.scn"
check "greylisting on A: the first attempt is deferred" run_client a "$PC_DIR/grey-a.scn"
{
	echo "macro {daemon_name} MX"
	echo "connect 198.51.100.7 port 40001 name c.test"
	echo "mail <a@sender.test>"
	echo "rcpt <u@example.com>"
	echo "expect tempfail 451 4.7.1 Greylisted, try again in"
	echo "quit"
} >"$PC_DIR/grey-b-early.scn"
check "greylisting on B sees A's triplet: too early, still deferred" run_client b "$PC_DIR/grey-b-early.scn"
# the feature is time-based: wait out the 2 s delay
sleep 2.05
{
	echo "macro {daemon_name} MX"
	echo "connect 198.51.100.7 port 40002 name c.test"
	message; message; message
	echo "quit"
} >"$PC_DIR/three-a.scn"
{
	echo "macro {daemon_name} MX"
	echo "connect 198.51.100.7 port 40003 name c.test"
	message; message
	echo "mail <a@sender.test>"
	echo "expect tempfail 451 4.7.1 Rate limit exceeded, try again in 720 seconds"
	echo "quit"
} >"$PC_DIR/rest-b.scn"
{
	echo "macro {daemon_name} MX"
	echo "connect 198.51.100.7 port 40004 name c.test"
	echo "mail <a@sender.test>"
	echo "expect tempfail 451 4.7.1 Rate limit exceeded, try again in 720 seconds"
	echo "quit"
} >"$PC_DIR/over-a.scn"
check "A: the retry after the delay passes greylisting, three messages counted in Redis" run_client a "$PC_DIR/three-a.scn"
check "B: two more pass, the sixth is refused: one limit across both daemons" run_client b "$PC_DIR/rest-b.scn"
check "A refuses too: the bucket is shared" run_client a "$PC_DIR/over-a.scn"
check "the buckets live in Redis under portcullis:rate:NAME:PERIOD:KEY" \
	bash -c "redis-cli -s '$SOCK' exists 'portcullis:rate:per_client:3600:198.51.100.7' | grep -qx 1"
check "the greylisting triplets live in Redis, hashed" \
	bash -c "redis-cli -s '$SOCK' --scan --pattern 'portcullis:grey:t:*' | grep -qE '^portcullis:grey:t:[0-9a-f]{64}$'"

# the same retry arithmetic as the memory store (the Lua script mirrors pc-gcra.c)
cat >"$PC_DIR/login.scn" <<'EOF'
macro {daemon_name} ORIGINATING
connect 192.0.2.10 port 40000 name sub.test
auth alice@hosted.test
mail <alice@hosted.test>
rcpt <r1@one.test>
rcpt <r2@two.test>
data
body hi
eom
expect continue
mail <alice@hosted.test>
rcpt <r3@three.test>
expect continue
rcpt <r4@four.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1200 seconds
data
body hi
eom
expect continue
quit
reconnect
connect 192.0.2.11 port 40000 name sub.test
auth alice@hosted.test
mail <alice@hosted.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1200 seconds
quit
EOF
check "login/recipients on Redis: refused recipients not counted, the same 1200 s as in memory" run_client a "$PC_DIR/login.scn"

# ------------------------------------------------ Redis stops mid-burst
# a burst of 20 messages on A (the internal listener: only the flood limit,
# 100000/1h, applies), paused in the middle while Redis is killed
{
	echo "macro {daemon_name} INTERNAL"
	echo "connect 192.0.2.50 port 40000 name sub.test"
	echo "auth burst@hosted.test"
	for i in $(seq 1 10); do message "m$i@burst.test"; done
	echo "pause-until-file $PC_DIR/redis-stopped"
	for i in $(seq 11 20); do message "m$i@burst.test"; done
	echo "quit"
} >"$PC_DIR/burst.scn"
"$CLIENT" -s "unix:$PC_DIR/a.sock" "$PC_DIR/burst.scn" >"$PC_DIR/burst.scn.out" 2>&1 &
burst_pid=$!
wait_until 10 grep -q 'pause-until-file' "$PC_DIR/burst.scn.out" ||
	wait_until 10 bash -c "[ \$(grep -c 'eom: continue' '$PC_DIR/burst.scn.out') -ge 10 ]"
stop_redis
touch "$PC_DIR/redis-stopped"
if wait "$burst_pid"; then
	ok "Redis stopped mid-burst: every message of the burst is accepted (on_error = accept)"
else
	not_ok "Redis stopped mid-burst: every message of the burst is accepted" "$PC_DIR/burst.scn.out"
fi
check "the burst's 20 messages all reached EOM" \
	test "$(grep -c 'eom: continue' "$PC_DIR/burst.scn.out")" = 20

# concurrent load on both daemons while Redis is down: no tempfail, no error
cat >"$PC_DIR/load.scn" <<'EOF'
macro {daemon_name} INTERNAL
connect 192.0.2.60 port 40000 name sub.test
auth load@hosted.test
mail <load@hosted.test>
rcpt <u@example.com>
data
body hello
eom
EOF
"$CLIENT" -s "unix:$PC_DIR/b.sock" --load -n 400 -C 4 --seconds 30 --json "$PC_DIR/load.scn" \
	>"$PC_DIR/load.out" 2>&1
check "load on B with Redis down: 400 messages, none refused, no errors" \
	grep -qE '"msgs":400,.*"tempfail":0,.*"errors":0' "$PC_DIR/load.out"
check "A and B are still running" kill -0 "$PID_a" "$PID_b"
check "A logged the outage once" \
	test "$(grep -c 'store: unix:.*redis.sock unreachable' "$PC_DIR/a.log")" = 1
check "B logged the outage once" \
	test "$(grep -c 'store: unix:.*redis.sock unreachable' "$PC_DIR/b.log")" = 1
metrics=$(http_get 127.0.0.1 "$((PORT_A + 2))" /metrics)
check "metrics: portcullis_store_fallback_total counts the answers from memory" \
	grep -qE '^portcullis_store_fallback_total [1-9][0-9]*$' <<<"$metrics"
check "metrics: portcullis_store_errors_total counts the failed commands" \
	grep -qE '^portcullis_store_errors_total [1-9][0-9]*$' <<<"$metrics"

# on_error = tempfail: no fallback, the outage is a 451 4.3.0
if start_rate c; then
	cat >"$PC_DIR/tempfail.scn" <<'EOF'
macro {daemon_name} MX
connect 198.51.100.70 port 40000 name c.test
mail <a@sender.test>
expect tempfail 451 4.3.0 Temporary lookup failure
quit
EOF
	check "on_error = tempfail: with Redis down MAIL gets 451 4.3.0" run_client c "$PC_DIR/tempfail.scn"
	check "on_error = tempfail: the outage is logged" grep -q 'unreachable' "$PC_DIR/c.log"
else
	not_ok "on_error = tempfail daemon starts while Redis is down" "$PC_DIR/c.log"
fi

# ------------------------------------------------------- Redis comes back
start_redis
cat >"$PC_DIR/after.scn" <<'EOF'
macro {daemon_name} ORIGINATING
connect 192.0.2.70 port 40000 name sub.test
auth after@hosted.test
mail <after@hosted.test>
rcpt <u@example.com>
data
body hello
eom
expect continue
quit
EOF
# reconnection is tried on traffic, after a backoff of at most 5 s
back() {
	run_client a "$PC_DIR/after.scn" >/dev/null
	grep -q 'reachable again after' "$PC_DIR/a.log"
}
check "Redis back: A reconnects (backoff capped at 5 s) and says so once" wait_until 15 back
check "... and counts in Redis again" \
	bash -c "redis-cli -s '$SOCK' --scan --pattern 'portcullis:rate:per_login:*after@hosted.test' | grep -q ."
check "no line of A's log is a critical or a crash" bash -c "! grep -qE 'critical|ERROR|AddressSanitizer' '$PC_DIR/a.log'"

for name in a b c; do
	eval "pid=\${PID_$name:-}"
	[ -n "$pid" ] && stop_pid "$pid"
done
check "SIGTERM: clean stop" grep -q stopping "$PC_DIR/a.log"
finish
