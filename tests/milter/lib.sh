# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/lib.sh: shared helpers for the milter-level tests (bash).
# TAP output, daemons started and stopped by PID in a private directory,
# conditions waited for with deadlines instead of sleeps.

PC_TAP_N=0
PC_TAP_FAILED=0

ok() { # ok DESCRIPTION: a passing test
	PC_TAP_N=$((PC_TAP_N + 1))
	echo "ok $PC_TAP_N - $1"
}

not_ok() { # not_ok DESCRIPTION [DETAIL-FILE]
	PC_TAP_N=$((PC_TAP_N + 1))
	PC_TAP_FAILED=$((PC_TAP_FAILED + 1))
	echo "not ok $PC_TAP_N - $1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		sed 's/^/# /' "$2" | tail -40
	fi
}

check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
	local desc=$1
	shift
	if "$@" >"$PC_DIR/check.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc" "$PC_DIR/check.out"
	fi
}

finish() {
	echo "1..$PC_TAP_N"
	[ "$PC_TAP_FAILED" -eq 0 ]
}

# wait_until SECONDS COMMAND...: polls every 20 ms until the command succeeds
wait_until() {
	local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	while ! "$@" 2>/dev/null; do
		if [ $(($(date +%s%N) / 1000000)) -gt "$deadline" ]; then
			return 1
		fi
		sleep 0.02
	done
}

# wait_log FILE PATTERN [SECONDS]: until a line of FILE matches (grep -E)
wait_log() {
	wait_until "${3:-10}" grep -qE -- "$2" "$1"
}

is_socket() { [ -S "$1" ]; }

# start_daemon BINARY NAME [CONFIG]: BINARY in the foreground on
# unix:$PC_DIR/NAME.sock with CONFIG (default $PC_DIR/NAME.conf), log in
# NAME.log; sets PID_NAME and adds the pid to PIDS. Waits for the log line,
# not the socket: a stale socket file exists before the daemon is up.
start_daemon() {
	"$1" -f -v -c "${3:-$PC_DIR/$2.conf}" -p "unix:$PC_DIR/$2.sock" >"$PC_DIR/$2.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$2=$!"
	wait_log "$PC_DIR/$2.log" 'notice: starting:' && is_socket "$PC_DIR/$2.sock"
}

# run_client NAME SCENARIO: $CLIENT on NAME's socket, output in SCENARIO.out
run_client() {
	"$CLIENT" -s "unix:$PC_DIR/$1.sock" "$2" >"$2.out" 2>&1
}

# process_gone PID: gone or a zombie (some PID 1s do not reap)
process_gone() {
	[ ! -e "/proc/$1" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

# stop_pid PID: TERM, wait up to 7 s (a daemon notices within a second), then KILL
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	if ! wait_until 7 process_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# http_get HOST PORT PATH: prints the response (bash /dev/tcp: no curl needed)
http_get() {
	exec 3<>"/dev/tcp/$1/$2" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$3" "$1" >&3
	cat <&3
	exec 3<&-
}

# a free-looking TCP port on loopback, from a range that tests own
pick_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# dkim_python_or_skip: sets PYTHON to Debian's python3 with python3-dkim
# and python3-nacl (another python3 earlier in PATH may lack them), or
# prints a TAP skip of the whole script and exits
dkim_python_or_skip() {
	PYTHON=
	for candidate in /usr/bin/python3 python3; do
		if "$candidate" -c 'import dkim, nacl.signing' 2>/dev/null; then
			PYTHON=$candidate
			return 0
		fi
	done
	echo "1..0 # SKIP python3-dkim and python3-nacl are needed (dev/deps.sh PC_TEST_PACKAGES)"
	exit 0
}
