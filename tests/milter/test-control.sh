#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-control.sh RELAY RATE CLIENT PORTCULLIS: the control
# sockets ([global] control_dir/NAME/NAME.control, mode 0660) and the admin
# commands on them, with the memory store and with a real redis-server
# (shared): a client banned by portcullis-relay after three relay attempts
# is listed by `portcullis bans` with its time left and attempts, `unban`
# lifts it (the client's next session is accepted), a second unban and a
# value that is no address say why (status 1); a client over a
# portcullis-rate limit is shown by `limits show` (0 left, over the limit),
# `limits reset` clears it (its next message is accepted), a value no limit
# counts is refused; `reload` reloads one daemon (the log says so) or
# every one running (the others shown not running). TAP.
set -u
RELAY=$1
RATE=$2
CLIENT=$3
PORTCULLIS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-control-test.XXXXXX)
PIDS=()
REDIS_PID=
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -z "$REDIS_PID" ] || kill -KILL "$REDIS_PID" 2>/dev/null
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

SOCK=$PC_DIR/redis.sock
redis_up() { [ "$(redis-cli -s "$SOCK" ping 2>/dev/null)" = PONG ]; }

# conf STORE: the configuration of both daemons with that store
conf() {
	mkdir -p "$PC_DIR/run"
	cat >"$PC_DIR/p.conf" <<EOF
[global]
local_domains = example.com
trusted_networks = 127.0.0.1/32
store = $1
control_dir = $PC_DIR/run
user =
[relay]
probe_limit = 3
ban_time = 1h
[rate.per_ip]
key = client_ip
count = messages
rate = 2/1h
EOF
}

# session CLIENT-IP RCPT... EXPECT: one scenario through NAME's socket
relay_probe() { # relay_probe IP: three foreign recipients in one session
	cat >"$PC_DIR/probe.scn" <<EOF
connect $1 port 40001 name client.example.net
helo client.example.net
mail <a@example.org>
rcpt <v1@elsewhere.test>
rcpt <v2@elsewhere.test>
rcpt <v3@elsewhere.test>
quit
EOF
	run_client relay "$PC_DIR/probe.scn"
}
relay_connect() { # relay_connect IP EXPECT: the CONNECT answer
	printf 'connect %s port 40002 name client.example.net\nexpect %s\nquit\n' "$1" "$2" \
		>"$PC_DIR/connect.scn"
	run_client relay "$PC_DIR/connect.scn"
}
rate_mail() { # rate_mail IP EXPECT: one message, EXPECT at MAIL (a refused one ends there)
	{
		printf 'connect %s port 40003 name client.example.net\nhelo client.example.net\n' "$1"
		printf 'mail <a@example.org>\nexpect %s\n' "$2"
		if [ "$2" = continue ]; then
			printf 'rcpt <bob@example.com>\ndata\nheader Subject: x\nbody hello\neom\n'
			printf 'expect continue\n'
		fi
		printf 'quit\n'
	} >"$PC_DIR/mail.scn"
	run_client rate "$PC_DIR/mail.scn"
}
reloaded() { # reloaded LOG LINES: the log says a reload loaded after its first LINES lines
	tail -n +"$(($2 + 1))" "$1" | grep -q 'reload: configuration .* loaded'
}
pcl() { "$PORTCULLIS" "$@" -c "$PC_DIR/p.conf" >"$PC_DIR/out" 2>&1; }
said() { grep -qE -- "$1" "$PC_DIR/out"; }

for store in memory redis; do
	if [ $store = redis ]; then
		if ! command -v redis-server >/dev/null; then
			echo "# redis-server not installed: the shared store is not tried"
			break
		fi
		redis-server --port 0 --unixsocket "$SOCK" --unixsocketperm 700 --save '' \
			--appendonly no --daemonize no --logfile "$PC_DIR/redis.log" &
		REDIS_PID=$!
		check "redis-server runs" wait_until 10 redis_up
		conf "unix:$SOCK"
	else
		conf memory
	fi
	for d in relay rate; do
		bin=$RELAY
		[ $d = rate ] && bin=$RATE
		if start_daemon "$bin" $d "$PC_DIR/p.conf"; then
			ok "$store: portcullis-$d starts"
		else
			not_ok "$store: portcullis-$d starts" "$PC_DIR/$d.log"
		fi
	done
	check "$store: control sockets, mode 0660" \
		bash -c "[ \"\$(stat -c %a '$PC_DIR/run/relay/relay.control' '$PC_DIR/run/rate/rate.control' | sort -u)\" = 660 ]"

	# --- bans
	relay_probe 198.51.100.7
	check "$store: after three relay attempts the client is banned" \
		relay_connect 198.51.100.7 "reject"
	pcl bans
	check "$store: bans lists it with its time left and attempts" \
		bash -c "[ $? = 0 ] && grep -qE '^198\.51\.100\.7/32	(3600|359[0-9])s left	3 relay attempts$' '$PC_DIR/out' && grep -q '^1 banned$' '$PC_DIR/out'"
	pcl unban 198.51.100.7
	check "$store: unban lifts it" bash -c "[ $? = 0 ] && grep -q '^198.51.100.7/32 unbanned$' '$PC_DIR/out'"
	check "$store: the client's next session is accepted" relay_connect 198.51.100.7 continue
	pcl unban 198.51.100.7
	check "$store: a second unban: not banned, status 1" \
		bash -c "[ $? = 1 ] && grep -q 'is not banned' '$PC_DIR/out'"
	pcl unban nonsense
	check "$store: a value that is no address: said, status 1" \
		bash -c "[ $? = 1 ] && grep -q 'is not an address or a network' '$PC_DIR/out'"
	pcl bans
	check "$store: no bans left" said '^0 banned$'

	# --- limits
	check "$store: a first message" rate_mail 198.51.100.8 continue
	check "$store: a second message" rate_mail 198.51.100.8 continue
	check "$store: the third message in the hour is refused" rate_mail 198.51.100.8 tempfail
	pcl limits show 198.51.100.8
	check "$store: limits show: none left, over the limit" \
		said '^\[rate\.per_ip\] client_ip 198\.51\.100\.8, 2/3600s: 0 left, over the limit now$'
	pcl limits reset 198.51.100.8
	check "$store: limits reset clears it" \
		bash -c "[ $? = 0 ] && grep -q '^1 windows reset$' '$PC_DIR/out'"
	check "$store: the client's next message is accepted" rate_mail 198.51.100.8 continue
	pcl limits show 198.51.100.8
	check "$store: and one of two is left" said ': 1 left$'
	pcl limits show alice
	check "$store: a value no limit counts: status 1" \
		bash -c "[ $? = 1 ] && grep -q 'no \[rate.NAME\] limit counts a value like alice' '$PC_DIR/out'"

	# --- reload
	lines=$(wc -l <"$PC_DIR/relay.log")
	pcl reload relay
	check "$store: reload relay: started" said '^relay: reload started'
	check "$store: ... and done, says the log" \
		wait_until 10 reloaded "$PC_DIR/relay.log" "$lines"
	pcl reload
	check "$store: reload of every daemon: the two running, the others not running" \
		bash -c "grep -q '^relay: reload started' '$PC_DIR/out' && grep -q '^rate: reload started' '$PC_DIR/out' &&
			[ \$(grep -c ': not running (no ' '$PC_DIR/out') = 3 ]"

	for d in relay rate; do
		eval "pid=\$PID_$d"
		stop_pid "$pid"
	done
	check "$store: the control sockets are removed at stop" \
		bash -c "! [ -e '$PC_DIR/run/relay/relay.control' ] && ! [ -e '$PC_DIR/run/rate/rate.control' ]"
done

pcl bans
check "no daemon running: bans says it cannot reach portcullis-relay, status 1" \
	bash -c "[ $? = 1 ] && grep -q 'portcullis-relay cannot be reached' '$PC_DIR/out'"
"$PORTCULLIS" reload -c "$PC_DIR/p.conf" nosuch >/dev/null 2>&1
check "reload of no daemon: status 2" test $? = 2
finish
