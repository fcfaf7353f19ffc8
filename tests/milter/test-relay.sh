#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-relay.sh RELAY CLIENT: portcullis-relay as a real process
# on a private unix socket, driven by pc-milter-client with the macros Postfix
# and Sendmail send. TAP output.
set -u
RELAY=$1
CLIENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-relay-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

STATS_PORT=$(pick_port)
mkdir -p "$PC_DIR/domains.d"
: >"$PC_DIR/domains.d/hosted.test.conf"

# write_config FILE PROBE_LIMIT LOCAL_DOMAINS [EXTRA]
write_config() {
	cat >"$1" <<EOF
[global]
local_domains = $3
trusted_networks = 127.0.0.1/32; 10.0.0.0/8
domains_dir = $PC_DIR/domains.d
statistics = ${5:-}
user =

[listener.mx]
role = mx
ports = 25
daemon_names = MX

[listener.submission]
role = submission
ports = 587
daemon_names = ORIGINATING

[relay]
probe_limit = $2
probe_window = 10m
ban_time = 1h
${4:-}
EOF
}

# start_relay NAME CONFIG: see start_daemon in lib.sh
start_relay() { start_daemon "$RELAY" "$1" "$2"; }

# ------------------------------------------------------------ the battery
# rcpt as the MTA passes it | expected reply from an untrusted client, as on the
# milter wire (the reply doubles "%"; the MTA shows one)
BATTERY=(
	"<victim@outside.test>|reject 554 5.7.1 <victim@outside.test>: Relay access denied"
	"<VICTIM@OUTSIDE.TEST>|reject 554 5.7.1 <VICTIM@OUTSIDE.TEST>: Relay access denied"
	"<victim@outside.test.>|reject 554 5.7.1 Relay access denied"
	"victim@outside.test|reject 554 5.7.1 <victim@outside.test>: Relay access denied"
	"<victim@example.com.outside.test>|reject 554 5.7.1 Relay access denied"
	"<victim@sub.example.com>|reject 554 5.7.1 Relay access denied"
	"<victim@badexample.com>|reject 554 5.7.1 Relay access denied"
	"<user%outside.test@example.com>|reject 554 5.7.1 <user%%outside.test@example.com>: Relay access denied"
	"<user%outside.test@EXAMPLE.COM.>|reject 554 5.7.1 Relay access denied"
	"<outside.test!user@example.com>|reject 554 5.7.1 Relay access denied"
	"<@example.com:victim@outside.test>|reject 554 5.7.1 Relay access denied"
	"<@a.test,@example.com:user@example.com>|reject 554 5.7.1 Relay access denied"
	"<\"victim@outside.test\"@example.com>|reject 554 5.7.1 Relay access denied"
	"<\"victim%outside.test\"@example.com>|reject 554 5.7.1 Relay access denied"
	"<\"outside.test!victim\"@example.com>|reject 554 5.7.1 Relay access denied"
	"<user@outside.test@example.com>|reject 554 5.7.1 Relay access denied"
	"<victim@[192.0.2.1]>|reject 554 5.7.1 Relay access denied"
	"<victim@[IPv6:2001:db8::1]>|reject 554 5.7.1 Relay access denied"
	"<outside.test!user>|reject 554 5.7.1 Relay access denied"
	"<user%outside.test>|reject 554 5.7.1 Relay access denied"
	"<\"victim\"@outside.test>|reject 554 5.7.1 Relay access denied"
	"<victim@outside..test>|reject 501 5.1.3 Bad recipient address syntax"
	"<vic\\x01tim@example.com>|reject 501 5.1.3 Bad recipient address syntax"
	"<vic\\x00tim@example.com>|reject 501 5.1.3 Bad recipient address syntax"
	"<$(printf 'a%.0s' $(seq 1 300))@example.com>|reject 501 5.1.3 Recipient address too long"
)
LOCAL=(
	"<user@example.com>"
	"<USER@Example.COM.>"
	"<user@hosted.test>"
	"<\"john doe\"@example.com>"
	"<postmaster>"
)

# scenario MTA CLIENT_IP AUTH OUTCOME...: writes a session with every battery
# recipient; OUTCOME "expected" takes each row's reply, else the given one
battery_scenario() {
	local mta=$1 ip=$2 auth=$3 outcome=$4 daemon_name=MX port=25
	# Sendmail's stock daemon name and the harness port match no listener
	[ "$mta" = sendmail ] && daemon_name=MTA port=11025
	echo "mta $mta"
	echo "macro {daemon_name} $daemon_name"
	echo "macro {daemon_port} $port"
	echo "connect $ip port 40000 name client.test"
	echo "expect continue"
	echo "helo client.test"
	[ -n "$auth" ] && echo "auth $auth"
	echo "mail <sender@sender.test>"
	for row in "${BATTERY[@]}"; do
		echo "rcpt '${row%%|*}'"
		if [ "$outcome" = expected ]; then
			echo "expect ${row#*|}"
		else
			echo "expect $outcome"
		fi
	done
	for rcpt in "${LOCAL[@]}"; do
		echo "rcpt '$rcpt'"
		echo "expect continue"
	done
	echo "abort"
	echo "quit"
}

write_config "$PC_DIR/a.conf" 1000 "example.com; example.net" "" "127.0.0.1:$STATS_PORT"
if start_relay a "$PC_DIR/a.conf"; then
	ok "relay starts and listens on its unix socket"
else
	not_ok "relay starts and listens on its unix socket" "$PC_DIR/a.log"
	finish
	exit 1
fi

for mta in postfix sendmail; do
	battery_scenario $mta 198.51.100.7 "" expected >"$PC_DIR/battery-$mta.scn"
	if run_client a "$PC_DIR/battery-$mta.scn"; then
		ok "$mta: ${#BATTERY[@]} relay forms refused from an untrusted client, ${#LOCAL[@]} local accepted"
	else
		not_ok "$mta: relay battery from an untrusted client" "$PC_DIR/battery-$mta.scn.out"
	fi
	battery_scenario $mta 127.0.0.1 "" continue >"$PC_DIR/trusted-$mta.scn"
	check "$mta: the whole battery is accepted from a trusted network" \
		run_client a "$PC_DIR/trusted-$mta.scn"
	battery_scenario $mta 198.51.100.8 alice@example.com continue >"$PC_DIR/auth-$mta.scn"
	check "$mta: the whole battery is accepted from an authenticated session" \
		run_client a "$PC_DIR/auth-$mta.scn"
done

check "a decision line per refusal: queue id first, key=value fields" \
	grep -qE 'NOQUEUE: relay: action=reject, stage=rcpt, reason=percent-hack, client=client.test\[198.51.100.7\], listener=mx, from=<sender@sender.test>, rcpt=<user%outside.test@example.com>, reply="554 5.7.1 <user%outside.test@example.com>: Relay access denied"' "$PC_DIR/a.log"
check "sendmail's {daemon_name}=MTA matches no listener: logged once, treated as mx" \
	test "$(grep -c 'no \[listener.\*\] matches {daemon_name}=MTA' "$PC_DIR/a.log")" = 1

metrics=$(http_get 127.0.0.1 "$STATS_PORT" /metrics)
check "metrics: portcullis_relay_denied_total counts by reason" \
	grep -qE '^portcullis_relay_denied_total\{reason="percent-hack"\} 8$' <<<"$metrics"
check "metrics: portcullis_relay_banned_clients is exported" \
	grep -qE '^portcullis_relay_banned_clients 0$' <<<"$metrics"

# ------------------------------------------------------------------ the ban
write_config "$PC_DIR/b.conf" 3 "example.com"
start_relay b "$PC_DIR/b.conf"
cat >"$PC_DIR/ban.scn" <<'EOF'
mta postfix
macro {daemon_name} MX
connect 198.51.100.9 port 40001 name prober.test
expect continue
mail <x@sender.test>
rcpt <a@outside.test>
expect reject 554 5.7.1 Relay access denied
rcpt <user@example.com>
expect continue
rcpt <b@outside.test>
expect reject 554 5.7.1 Relay access denied
rcpt <c@outside.test>
expect reject 554 5.7.1 Relay access denied
# the limit is reached: the rest of this connection is refused, local too
rcpt <user@example.com>
expect reject 554 5.7.1 Client host [198.51.100.9] blocked: too many relay attempts
abort
mail <y@sender.test>
rcpt <user@example.com>
expect reject 554 5.7.1 blocked
quit
reconnect
connect 198.51.100.9 port 40002 name prober.test
expect reject
quit
reconnect
connect 198.51.100.10 port 40003 name neighbour.test
expect continue
mail <x@sender.test>
rcpt <user@example.com>
expect continue
quit
reconnect
connect 2001:db8:5:6::1 port 40004 name v6.test
mail <x@sender.test>
rcpt <a@outside.test>
expect reject 554
rcpt <b@outside.test>
expect reject 554
quit
reconnect
connect 2001:db8:5:6::beef port 40005 name v6.test
mail <x@sender.test>
rcpt <c@outside.test>
expect reject 554
quit
reconnect
connect 2001:db8:5:6:ffff::2 port 40006 name v6.test
expect reject
quit
EOF
check "ban: probe_limit attempts ban the client (IPv4 address, IPv6 /64) for the connection and at CONNECT" \
	run_client b "$PC_DIR/ban.scn"
check "ban: logged with banned=yes" grep -q 'reason=foreign-domain.*banned=yes' "$PC_DIR/b.log"

# ----------------------------------------------------------------- reload
# one transaction spans the reload: it keeps the config it started with; the
# next transaction of the same connection sees the new one
cat >"$PC_DIR/inflight.scn" <<EOF
mta postfix
macro {daemon_name} MX
connect 198.51.100.20 port 40010 name client.test
mail <x@sender.test>
rcpt <user@new.test>
expect reject 554 5.7.1 <user@new.test>: Relay access denied
pause-until-file $PC_DIR/reloaded
rcpt <user2@new.test>
expect reject 554 5.7.1 <user2@new.test>: Relay access denied
rcpt <user@example.com>
expect continue
data
eom
expect continue
mail <x@sender.test>
rcpt <user@new.test>
expect continue
quit
EOF
"$CLIENT" -s "unix:$PC_DIR/a.sock" "$PC_DIR/inflight.scn" >"$PC_DIR/inflight.out" 2>&1 &
client_pid=$!
wait_until 10 grep -q 'user@new.test' "$PC_DIR/inflight.out"
write_config "$PC_DIR/a.conf" 1000 "example.com; example.net; new.test" "" "127.0.0.1:$STATS_PORT"
kill -HUP "$PID_a"
if wait_log "$PC_DIR/a.log" 'reload: configuration .* loaded'; then
	ok "SIGHUP reloads the configuration and the daemon keeps running"
else
	not_ok "SIGHUP reloads the configuration and the daemon keeps running" "$PC_DIR/a.log"
fi
touch "$PC_DIR/reloaded"
if wait "$client_pid"; then
	ok "reload: the transaction in flight finishes under its old config; the next one sees new.test"
else
	not_ok "reload: in-flight transaction" "$PC_DIR/inflight.out"
fi
kill -USR1 "$PID_a"
check "SIGUSR1 reloads too" wait_log "$PC_DIR/a.log" 'reload: signal USR1'

# a broken reload keeps the old snapshot and names file, line, section and key
cp "$PC_DIR/a.conf" "$PC_DIR/a.good"
printf 'probe_limt = 5\n' >>"$PC_DIR/a.conf"
kill -HUP "$PID_a"
check "bad reload: logged with file, line, section and key" \
	wait_log "$PC_DIR/a.log" "reload failed, keeping the running configuration: $PC_DIR/a.conf:[0-9]+: \[relay\] probe_limt: unknown key"
cat >"$PC_DIR/after-bad.scn" <<'EOF'
connect 198.51.100.21 port 40011 name client.test
mail <x@sender.test>
rcpt <user@new.test>
expect continue
rcpt <user@outside.test>
expect reject 554
quit
EOF
check "bad reload: the previous configuration stays in force" run_client a "$PC_DIR/after-bad.scn"
check "bad reload: the daemon is still running" kill -0 "$PID_a"

# ---------------------------------------------------------- -n and start-up
grep -v '^statistics' "$PC_DIR/a.good" >"$PC_DIR/a.nostats"
if "$RELAY" -n -c "$PC_DIR/a.conf" >"$PC_DIR/n.out" 2>&1; then
	not_ok "-n on a broken config exits non-zero" "$PC_DIR/n.out"
else
	check "-n on a broken config exits non-zero naming file, line, section and key" \
		grep -qE "$PC_DIR/a.conf:[0-9]+: \[relay\] probe_limt: unknown key" "$PC_DIR/n.out"
fi
check "-n on a good config exits 0" "$RELAY" -n -c "$PC_DIR/a.good" -p "unix:$PC_DIR/n.sock"
if "$RELAY" -n -c "$PC_DIR/missing.conf" >"$PC_DIR/missing.out" 2>&1; then
	not_ok "a missing config file is an error" "$PC_DIR/missing.out"
else
	check "a missing config file is an error naming it" grep -q "missing.conf" "$PC_DIR/missing.out"
fi
: >"$PC_DIR/not-a-socket"
if "$RELAY" -f -c "$PC_DIR/a.nostats" -p "unix:$PC_DIR/not-a-socket" >"$PC_DIR/ns.out" 2>&1; then
	not_ok "a socket path that is not a socket is refused" "$PC_DIR/ns.out"
else
	check "a socket path that is not a socket is refused, and left alone" \
		bash -c "grep -q 'exists and is not a socket' '$PC_DIR/ns.out' && [ -f '$PC_DIR/not-a-socket' ]"
fi
if "$RELAY" -f -c "$PC_DIR/a.nostats" -p "unix:$PC_DIR/a.sock" >"$PC_DIR/busy.out" 2>&1; then
	not_ok "a socket another instance listens on is refused" "$PC_DIR/busy.out"
else
	check "a socket another instance listens on is refused" grep -q 'another process is listening' "$PC_DIR/busy.out"
fi

# a stale socket from a crash is removed and reused
stop_pid "$PID_b"
kill -KILL "$PID_a" 2>/dev/null
wait "$PID_a" 2>/dev/null
check "after a crash the socket file is left behind" is_socket "$PC_DIR/a.sock"
if start_relay a "$PC_DIR/a.good"; then
	check "a stale socket is removed and the daemon starts" \
		run_client a "$PC_DIR/after-bad.scn"
else
	not_ok "a stale socket is removed and the daemon starts" "$PC_DIR/a.log"
fi

# privilege drop and pid file: as root with user = nobody
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	# the daemon reads its files as that user, at start and at reload, and
	# writes and removes its pid file as that user
	chmod 0755 "$PC_DIR"
	mkdir -p "$PC_DIR/run" && chown nobody "$PC_DIR/run"
	sed -e 's/^user =$/user = nobody/' "$PC_DIR/a.nostats" >"$PC_DIR/drop.conf"
	printf 'pid_file = %s\n' "$PC_DIR/run/drop.pid" >>"$PC_DIR/drop.conf"
	OWN_STATS_PORT=$(pick_port)
	printf 'statistics = 127.0.0.1:%s\n' "$OWN_STATS_PORT" >>"$PC_DIR/drop.conf"
	if start_relay drop "$PC_DIR/drop.conf"; then
		check "privileges dropped to [global] user after the socket is open" \
			grep -qE "^Uid:\s+$(id -u nobody)\s+$(id -u nobody)\s+$(id -u nobody)" "/proc/$PID_drop/status"
		check "the unix socket belongs to that user" test "$(stat -c %U "$PC_DIR/drop.sock")" = nobody
		check "... mode 0660: its group may connect, nobody else" \
			test "$(stat -c %a "$PC_DIR/drop.sock")" = 660
		check "pid_file holds the daemon's pid" test "$(cat "$PC_DIR/run/drop.pid")" = "$PID_drop"
		check "the dropped daemon still decides" run_client drop "$PC_DIR/after-bad.scn"
		check "[relay] statistics overrides [global]: /metrics on the daemon's own port" \
			grep -q '^portcullis_relay_banned_clients ' <<<"$(http_get 127.0.0.1 "$OWN_STATS_PORT" /metrics)"
		stop_pid "$PID_drop"
		check "the pid file is removed at exit, after the privilege drop" \
			test ! -e "$PC_DIR/run/drop.pid"
	else
		not_ok "privilege drop: daemon starts" "$PC_DIR/drop.log"
	fi
	sed -e 's/^user =$/user = no-such-user-pc/' "$PC_DIR/a.nostats" >"$PC_DIR/nouser.conf"
	if "$RELAY" -f -c "$PC_DIR/nouser.conf" -p "unix:$PC_DIR/nouser.sock" >"$PC_DIR/nouser.out" 2>&1; then
		not_ok "an unknown [global] user is a start-up error" "$PC_DIR/nouser.out"
	else
		check "an unknown [global] user is a start-up error naming the key" \
			grep -q "\[global\] user: no such user 'no-such-user-pc'" "$PC_DIR/nouser.out"
	fi
fi

# SIGTERM: clean exit, socket removed
stop_pid "$PID_a"
check "SIGTERM: clean stop, socket removed" bash -c "! [ -e '$PC_DIR/a.sock' ] && grep -q stopping '$PC_DIR/a.log'"

finish
