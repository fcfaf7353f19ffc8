#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-reload-race.sh RATE CLIENT: portcullis-rate reloading its
# configuration under load. For PC_RELOAD_RACE_SECONDS (default 20) seconds
# a SIGHUP goes to the daemon every 10 ms while pc-milter-client's load mode
# sends normal messages over 4 concurrent connections, and meanwhile the
# configuration flips between two valid states (both domains.d files with
# other rates and bursts, one listener or two in the main file; every file
# written aside and renamed into place), so consecutive snapshots really
# differ. Every message must be accepted, the daemon must
# keep running and load well over 100 configurations, the last one written
# must be the one in force, and SIGTERM must end it with status 0 and no
# sanitizer report (in the ASan build: no leak either). TAP output.
set -u
RATE=$1
CLIENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

SECONDS_WANTED=${PC_RELOAD_RACE_SECONDS:-20}
# at 20 s, more than 100 reloads; proportionally fewer for a shortened run
MIN_RELOADS=$((SECONDS_WANTED * 5 > 5 ? SECONDS_WANTED * 5 : 5))
SANITIZER_REPORT='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error|SUMMARY: [A-Za-z]+Sanitizer'
ASAN=no
ldd "$RATE" 2>/dev/null | grep -q libasan && ASAN=yes

PC_DIR=$(mktemp -d /tmp/pc-reload-race.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	exec 9>&- 2>/dev/null
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

DOMAINS=$PC_DIR/domains.d
mkdir -p "$DOMAINS"

# put FILE TEXT: TEXT into FILE, written aside (a hidden name, which the
# daemon skips in domains.d) and renamed into place: a reload reads the old
# file or the new one, never half of one, and never misses one
put() {
	local aside=${1%/*}/.${1##*/}.tmp

	printf '%b' "$2" >"$aside" && mv -f "$aside" "$1"
}

# state A|B: the two valid configurations the storm alternates between. The
# listener count in the reload log line tells them apart. (Removing a domain
# file would change the count too, but a reload that lists the file just
# before it goes then fails to open it: see the report of this test.)
state() {
	local listeners="[listener.mx]\nrole = mx\nports = 25\ndaemon_names = MX\n"
	if [ "$1" = A ]; then
		put "$DOMAINS/sender.test.conf" '[rate.per_sender_domain]\nrate = 200000000/1h\n'
		put "$DOMAINS/other.test.conf" '[rate.per_client]\nrate = 50000000/1h\n'
	else
		# a burst tolerance of seconds at least: a small one (burst = 1000 here
		# is 12 ms) is crossed by a callback that waited that long for a CPU
		put "$DOMAINS/sender.test.conf" '[rate.per_sender_domain]\nrate = 300000000/1h\nburst = 10000000\n'
		put "$DOMAINS/other.test.conf" '[rate.per_client]\nrate = 60000000/1h\nburst = 100000000\n'
		listeners="$listeners\n[listener.submission]\nrole = submission\nports = 587\ndaemon_names = ORIGINATING\n"
	fi
	put "$PC_DIR/rate.conf" "[global]
local_domains = example.com
trusted_networks = 127.0.0.1/32
domains_dir = $DOMAINS
statistics =
user =

$listeners
[rate]
[rate.per_sender_domain]
key = sender_domain
count = messages
rate = 100000000/1h
[rate.per_client]
key = client_ip
count = recipients
rate = 100000000/1h
"
}
state A

# loaded: how many "reload: ... loaded" lines the log has
loaded() { grep -c 'reload: configuration .* loaded' "$PC_DIR/rate.log"; }

if start_daemon "$RATE" rate; then
	ok "rate starts with a domains.d directory (ASan build: $ASAN)"
else
	not_ok "rate starts with a domains.d directory" "$PC_DIR/rate.log"
	finish
	exit 1
fi
# shellcheck disable=SC2154 # PID_rate is set by start_daemon (lib.sh)
PID=$PID_rate

cat >"$PC_DIR/message.scn" <<'EOF'
mta postfix
macro {daemon_name} MX
macro {daemon_port} 25
connect 198.51.100.7 port 40000 name client.test
helo client.test
mail <sender@sender.test> SIZE=300
expect continue
rcpt <user@example.com>
expect continue
rcpt <other@example.com>
expect continue
data
header From: <sender@sender.test>
header Subject: reload race
body hello
eom
expect continue
quit
EOF
check "a message is accepted before the storm" run_client rate "$PC_DIR/message.scn"

# ------------------------------------------------------------------ storm
nice -n 10 "$CLIENT" -s "unix:$PC_DIR/rate.sock" -T 20 --load -C 4 --seconds "$SECONDS_WANTED" --json \
	"$PC_DIR/message.scn" >"$PC_DIR/load.out" 2>&1 &
LOAD_PID=$!
PIDS+=("$LOAD_PID")

# The storm is paced by reads that time out after 10 ms on a FIFO nobody
# writes to. The signal loop starts no process (the load keeps both CPUs
# busy, and a fork per tick would stretch it to 100 ms or more); the
# domains.d flips, which need mv, run beside it in their own loop.
mkfifo "$PC_DIR/tick"
exec 9<>"$PC_DIR/tick"
deadline=$((EPOCHSECONDS + SECONDS_WANTED + 60))
flipper() {
	local flips=0
	while [ ! -e "$PC_DIR/stop" ] && [ "$EPOCHSECONDS" -lt "$deadline" ] &&
		[ $flips -lt 100000 ]; do
		flips=$((flips + 1))
		if [ $((flips % 2)) -eq 0 ]; then state A; else state B; fi
		read -r -t 0.01 -u 9 _
	done
	echo "$flips" >"$PC_DIR/flips"
}
flipper &
FLIPPER_PID=$!
PIDS+=("$FLIPPER_PID")
signals=0
while [ $signals -lt $((SECONDS_WANTED * 100 + 6000)) ] && [ "$EPOCHSECONDS" -lt "$deadline" ]; do
	# the load client still running (not a zombie), read without a fork
	{ read -r stat <"/proc/$LOAD_PID/stat"; } 2>/dev/null || break
	case $stat in *") Z "*) break ;; esac
	kill -HUP "$PID" 2>/dev/null || break
	signals=$((signals + 1))
	read -r -t 0.01 -u 9 _
done
: >"$PC_DIR/stop"
wait "$FLIPPER_PID"
wait "$LOAD_PID"
load_status=$?
echo "# $signals SIGHUPs, $(cat "$PC_DIR/flips") domains.d flips; load: $(tail -1 "$PC_DIR/load.out")"

# load_field NAME: a number from the JSON line of the load run
load_field() {
	tail -1 "$PC_DIR/load.out" | grep -oE "\"$1\":[0-9.]+" | head -1 | cut -d: -f2
}
msgs=$(load_field msgs)
c=$(load_field continue)
a=$(load_field accept)
accepted=$((${c:-0} + ${a:-0}))
if [ "$load_status" -eq 0 ] && [ "${msgs:-0}" -gt 0 ] && [ "$(load_field errors)" = 0 ] &&
	[ "$accepted" -eq "$msgs" ]; then
	ok "$msgs messages over 4 connections during the storm, every one accepted"
else
	not_ok "every message accepted during the storm (status $load_status)" "$PC_DIR/load.out"
fi
check "the daemon is still running" bash -c "! grep -q '^[0-9]* ([^)]*) Z' /proc/$PID/stat && kill -0 $PID"
n=$(loaded)
if [ "$n" -gt "$MIN_RELOADS" ]; then
	ok "$n configurations loaded (more than $MIN_RELOADS)"
else
	not_ok "more than $MIN_RELOADS configurations loaded: $n" "$PC_DIR/rate.log"
fi
check "no reload failed: every snapshot was complete" \
	bash -c "! grep 'reload failed' '$PC_DIR/rate.log'"
check "both states were loaded: 1 listener and 2" bash -c "
	grep -q 'loaded (2 domain files, 1 listeners)' '$PC_DIR/rate.log' &&
	grep -q 'loaded (2 domain files, 2 listeners)' '$PC_DIR/rate.log'"

# ------------------------------------------------ the last config is in force
before=$(loaded)
put "$DOMAINS/final.test.conf" '[rate.per_sender_domain]\nrate = 1/1h\n'
more_loaded() { [ "$(loaded)" -gt "$before" ]; }
kill -HUP "$PID"
check "a last SIGHUP after the storm is answered" wait_until 20 more_loaded
cat >"$PC_DIR/final.scn" <<'EOF'
mta postfix
macro {daemon_name} MX
connect 198.51.100.8 port 40001 name client.test
mail <a@final.test>
expect continue
rcpt <user@example.com>
data
body one
eom
expect continue
mail <b@final.test>
expect tempfail 451 4.7.1 Rate limit exceeded
quit
EOF
check "the last domains.d state is the one in force (final.test: 1/1h)" \
	run_client rate "$PC_DIR/final.scn"

# --------------------------------------------------------------- clean stop
kill -TERM "$PID"
if wait_until 20 process_gone "$PID"; then
	wait "$PID"
	status=$?
	if [ "$status" -eq 0 ]; then
		ok "SIGTERM: exit status 0"
	else
		not_ok "SIGTERM: exit status 0, got $status" "$PC_DIR/rate.log"
	fi
else
	not_ok "SIGTERM: the daemon stops within 20 s" "$PC_DIR/rate.log"
fi
if grep -qE "$SANITIZER_REPORT" "$PC_DIR/rate.log"; then
	grep -E -A20 "$SANITIZER_REPORT" "$PC_DIR/rate.log" | head -60 >"$PC_DIR/sanitizer.txt"
	not_ok "no sanitizer report, no leak (ASan build: $ASAN)" "$PC_DIR/sanitizer.txt"
else
	ok "no sanitizer report, no leak (ASan build: $ASAN)"
fi

finish
