#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-skeleton.sh RELAY AUTH CLIENT: what pc-milter does for
# every daemon, through portcullis-relay and portcullis-auth: -n reports
# every error of every daemon's sections at once; a reload that changes a
# restart-only key says so and keeps the running value; the connection cap
# tempfails what is over it and logs once per episode; milter_timeout gives
# a silent or trickling MTA connection's thread back; files are read as the
# daemon's user at start, as at reload. TAP output.
set -u
RELAY=$1
AUTH=$2
CLIENT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-skeleton-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT
mkdir -p "$PC_DIR/domains.d"

# write_config FILE [GLOBAL-EXTRA] [SECTIONS]
write_config() {
	cat >"$1" <<EOF
[global]
local_domains = example.com
trusted_networks = 127.0.0.1/32
domains_dir = $PC_DIR/domains.d
user =
${2:-}

[listener.mx]
role = mx
ports = 25
daemon_names = MX

[relay]
probe_limit = 0
${3:-}
EOF
}

# -------------------------------------------------------- -n: every error
# three errors in three sections, two of them other daemons'
write_config "$PC_DIR/three.conf" "store_max_keys = lots" "
[auth]
no_such_auth_key = 1

[rate.per_ip]
key = client_ip
rate = many/1h"
"$RELAY" -n -c "$PC_DIR/three.conf" -p "unix:$PC_DIR/n.sock" >"$PC_DIR/three.out" 2>&1
status=$?
check "-n with three errors in three sections exits 1" test $status = 1
check "... and prints all three, each with file, line, section and key" bash -c "
	grep -qE '^portcullis-relay: $PC_DIR/three.conf:6: \[global\] store_max_keys: ' '$PC_DIR/three.out' &&
	grep -qE '^portcullis-relay: $PC_DIR/three.conf:17: \[auth\] no_such_auth_key: unknown key' '$PC_DIR/three.out' &&
	grep -qE '^portcullis-relay: $PC_DIR/three.conf:21: \[rate.per_ip\] rate: ' '$PC_DIR/three.out' &&
	[ \$(grep -c '' '$PC_DIR/three.out') = 3 ]"
write_config "$PC_DIR/nouser.conf" "" ""
sed -i 's/^user =$/user = no-such-user-pc/; s/^\[relay\]$/[relay]\nsocket = unix:\/nonexistent-dir-pc\/r.sock/' "$PC_DIR/nouser.conf"
"$RELAY" -n -c "$PC_DIR/nouser.conf" >"$PC_DIR/nouser.out" 2>&1
check "-n checks that [global] user exists and that the socket's directory does" bash -c "
	grep -q \"\[global\] user: no such user 'no-such-user-pc'\" '$PC_DIR/nouser.out' &&
	grep -q 'socket: directory /nonexistent-dir-pc does not exist' '$PC_DIR/nouser.out'"
write_config "$PC_DIR/v.conf" "milter_timeout = 90s
store_max_keys = 2048000" ""
"$RELAY" -n -v -c "$PC_DIR/v.conf" -p "unix:$PC_DIR/n.sock" >"$PC_DIR/v.out" 2>&1
check "-n -v prints values in the form they are read (networks, durations)" bash -c "
	grep -qx 'trusted_networks = 127.0.0.1/32' '$PC_DIR/v.out' &&
	grep -qx 'milter_timeout = 90s' '$PC_DIR/v.out' && grep -qx 'on_error = tempfail' '$PC_DIR/v.out'"

# ------------------------------------------------ reload: restart-only keys
write_config "$PC_DIR/r.conf" "store_max_keys = 5000" ""
if start_daemon "$RELAY" r "$PC_DIR/r.conf"; then
	ok "relay starts"
else
	not_ok "relay starts" "$PC_DIR/r.log"
fi
write_config "$PC_DIR/r.conf" "store_max_keys = 6000" "ban_time = 2h"
kill -HUP "$PID_r"
check "a reload that changes a restart-only key says so and names it" \
	wait_log "$PC_DIR/r.log" 'reload: \[global\] store_max_keys changed: takes effect at restart \(running with 5000\)'
check "... and the rest of the reload applies" wait_log "$PC_DIR/r.log" 'reload: configuration .* loaded'
stop_pid "$PID_r"

# ------------------------------------------------------- the connection cap
write_config "$PC_DIR/c.conf" "max_connections = 2" ""
start_daemon "$RELAY" c "$PC_DIR/c.conf" || not_ok "relay with max_connections = 2 starts" "$PC_DIR/c.log"
cat >"$PC_DIR/hold.scn" <<EOF
connect 198.51.100.30
expect continue
pause-until-file $PC_DIR/release
quit
EOF
held=()
for i in 1 2; do
	"$CLIENT" -s "unix:$PC_DIR/c.sock" "$PC_DIR/hold.scn" >"$PC_DIR/hold-$i.out" 2>&1 &
	held+=($!)
done
cat >"$PC_DIR/over.scn" <<EOF
connect 198.51.100.31
expect tempfail
quit
EOF
# the two held connections open asynchronously: the third is refused once both are in
check "over max_connections: the MTA is told to tempfail the connection" \
	wait_until 10 run_client c "$PC_DIR/over.scn"
run_client c "$PC_DIR/over.scn"
check "... logged once per episode, naming the key" bash -c "
	[ \$(grep -c 'over the cap of 2 (\[global\] max_connections' '$PC_DIR/c.log') = 1 ]"
touch "$PC_DIR/release"
for pid in "${held[@]}"; do wait "$pid"; done
cat >"$PC_DIR/under.scn" <<EOF
connect 198.51.100.32
expect continue
mail <a@sender.test>
rcpt <user@example.com>
expect continue
quit
EOF
check "below the cap again: connections are served" wait_until 10 run_client c "$PC_DIR/under.scn"
check "... and the end of the episode is logged" grep -q 'below the cap of 2 again' "$PC_DIR/c.log"
stop_pid "$PID_c"

# the same with portcullis-auth, which answers no CONNECT (SMFIP_NR_CONN): the
# tempfail waits for the first stage the MTA awaits an answer at (MAIL), and
# no reply the MTA would not read is written, so the session stays in step
start_daemon "$AUTH" ca "$PC_DIR/c.conf" || not_ok "auth with max_connections = 2 starts" "$PC_DIR/ca.log"
held=()
rm -f "$PC_DIR/release"
for i in 1 2; do
	"$CLIENT" -s "unix:$PC_DIR/ca.sock" "$PC_DIR/hold.scn" >"$PC_DIR/hold-a$i.out" 2>&1 &
	held+=($!)
done
cat >"$PC_DIR/over-auth.scn" <<EOF
connect 198.51.100.31
mail <a@sender.test>
expect tempfail
rcpt <user@example.com>
expect tempfail
eom
expect tempfail
quit
EOF
check "over the cap, auth (no reply at CONNECT): tempfail at MAIL, RCPT and EOM, in step" \
	wait_until 10 run_client ca "$PC_DIR/over-auth.scn"
touch "$PC_DIR/release"
for pid in "${held[@]}"; do wait "$pid"; done
stop_pid "$PID_ca"

# -------------------------------------------------- milter_timeout
write_config "$PC_DIR/t.conf" "milter_timeout = 2s" ""
start_daemon "$RELAY" t "$PC_DIR/t.conf" || not_ok "relay with milter_timeout = 2s starts" "$PC_DIR/t.log"
# silent_client MODE: connects, then says nothing (silent) or trickles one
# byte of a command every 0.3 s (trickle); prints the seconds until the
# daemon closed the connection, or "open" after 15 s
silent_client() {
	python3 - "$PC_DIR/t.sock" "$1" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(0.3)
start = time.monotonic()
packet = b"\x00\x00\x00\x0dO\x00\x00\x00\x06\x00\x00\x01\xff\x00\x1f\xff\xff"
sent = 0
while time.monotonic() - start < 15:
    if sys.argv[2] == "trickle" and sent < len(packet):
        try:
            s.send(packet[sent:sent + 1])
        except OSError:
            break
        sent += 1
    try:
        if s.recv(1) == b"":
            break
    except socket.timeout:
        continue
    except OSError:
        break
else:
    print("open")
    sys.exit(0)
print(round(time.monotonic() - start, 1))
EOF
}
for mode in silent trickle; do
	took=$(silent_client $mode)
	check "milter_timeout = 2s: a $mode MTA connection is closed (after ${took}s)" \
		awk -v t="$took" 'BEGIN { exit !(t != "open" && t >= 1.5 && t < 8) }'
done
check "... and the daemon serves the next connection" run_client t "$PC_DIR/under.scn"
stop_pid "$PID_t"

# ------------------------------------------------ descriptor exhaustion
# under a limit of 200 descriptors, 190 connections that never negotiate: the
# daemon says so once, closes them within seconds, and serves mail again
write_config "$PC_DIR/d.conf" "" ""
(ulimit -n 200 && exec "$RELAY" -f -v -c "$PC_DIR/d.conf" -p "unix:$PC_DIR/d.sock") \
	>"$PC_DIR/d.log" 2>&1 &
PIDS+=($!)
PID_d=$!
wait_log "$PC_DIR/d.log" 'notice: starting:' || not_ok "relay under ulimit -n 200 starts" "$PC_DIR/d.log"
check "the connection cap stays below the descriptor limit" \
	grep -q 'max_connections = 1000 is more than the descriptor limit (200) leaves; capping at 136' "$PC_DIR/d.log"
python3 - "$PC_DIR/d.sock" >"$PC_DIR/flood.out" 2>&1 <<'EOF2'
import socket, sys, time
held = []
for i in range(190):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sys.argv[1])
        held.append(s)
    except OSError:
        s.close()
# wait (at most 20 s) until the daemon has closed every one of them
deadline = time.monotonic() + 20
open_ones = list(held)
while open_ones and time.monotonic() < deadline:
    still = []
    for s in open_ones:
        s.setblocking(False)
        try:
            if s.recv(1) != b"":
                still.append(s)
        except BlockingIOError:
            still.append(s)
        except OSError:
            pass
    open_ones = still
    time.sleep(0.1)
print("held", len(held), "left", len(open_ones))
EOF2
check "190 idle connections at the limit: all closed by the daemon ($(cat "$PC_DIR/flood.out"))" \
	grep -q ' left 0$' "$PC_DIR/flood.out"
check "... the episode is logged once, naming the limit" bash -c "
	[ \$(grep -c 'descriptors in use: connections that do not negotiate within 1 s are closed' '$PC_DIR/d.log') = 1 ]"
check "... and mail is served again" wait_until 10 run_client d "$PC_DIR/under.scn"
check "... and the end of the episode is logged" \
	wait_log "$PC_DIR/d.log" 'descriptors in use, below the limit again'
stop_pid "$PID_d"

# ------------------------------------------- one identity for reading files
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
	chmod 0755 "$PC_DIR"
	printf 'alice@example.com alice\n' >"$PC_DIR/map"
	chmod 0600 "$PC_DIR/map"
	write_config "$PC_DIR/id.conf" "" "
[auth]
sender_login_maps = $PC_DIR/map"
	sed -i 's/^user =$/user = nobody/' "$PC_DIR/id.conf"
	"$AUTH" -f -c "$PC_DIR/id.conf" -p "unix:$PC_DIR/id.sock" >"$PC_DIR/id.out" 2>&1
	check "a root-only 0600 map stops the start, naming the file and the user (not only the reload)" \
		grep -qE "reading as user nobody: $PC_DIR/id.conf:[0-9]+: \[auth\]: sender_login_maps: cannot read $PC_DIR/map: Permission denied" "$PC_DIR/id.out"
	"$AUTH" -n -c "$PC_DIR/id.conf" -p "unix:$PC_DIR/id.sock" >"$PC_DIR/id-n.out" 2>&1
	status=$?
	check "-n as root checks the files as the daemon's user too" bash -c "
		[ $status = 1 ] && grep -q 'reading as user nobody: .*cannot read $PC_DIR/map: Permission denied' '$PC_DIR/id-n.out'"
	chown nobody "$PC_DIR/map"
	check "the map readable by the daemon's user: -n passes" \
		"$AUTH" -n -c "$PC_DIR/id.conf" -p "unix:$PC_DIR/id.sock"
fi
finish
