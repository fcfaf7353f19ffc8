# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# tests/e2e/lib/common.sh: the parts of the end-to-end harness both MTAs
# share (sourced, bash). Used by the tests/e2e scripts and by dev/demo.
#
# Everything a harness run creates lives in one state directory (STATE, an
# argument of every function): TLS certificate, SASL database, the private
# namespace's files, the syslog catcher, smtp-sink and its messages, the
# Portcullis daemons' configs, sockets and logs. Every process is started in
# the foreground of a background job so that its PID is known, and stopped by
# that PID. Everything listens on 127.0.0.1 only; both MTAs run in a private
# mount+UTS namespace whose resolver files point nowhere (no query leaves the
# host). What this needs from the machine: root, unshare(1) and the packages
# of dev/deps.sh's PC_E2E_PACKAGES.
#
# Not for: anything installed on a real host. Nothing outside STATE changes,
# except the Sendmail package cache (PC_E2E_CACHE, see sendmail.sh).

PC_E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PC_E2E_SOURCE_ROOT=$(cd "$PC_E2E_LIB/../../.." && pwd)
PC_E2E_HOSTNAME=mail.example.com
PC_E2E_SASL_USER=alice
PC_E2E_SASL_DOMAIN=example.com
PC_E2E_SASL_PASSWORD=s3cret-pw
# the SASL login as swaks sends it
PC_E2E_LOGIN=$PC_E2E_SASL_USER@$PC_E2E_SASL_DOMAIN

pc_e2e_log() { printf 'e2e: %s\n' "$*" >&2; }

# pc_e2e_skip_reason: prints why this machine cannot run the harness at all
# (and returns 0), or prints nothing and returns 1 when it can
pc_e2e_skip_reason() {
	if [ "$(id -u)" != 0 ]; then
		echo "needs root (private Postfix and Sendmail, namespaces)"
		return 0
	fi
	if ! unshare --mount --uts true 2>/dev/null; then
		echo "unshare --mount --uts fails here (no CAP_SYS_ADMIN?)"
		return 0
	fi
	return 1
}

# pc_e2e_missing: prints what of PC_E2E_PACKAGES is missing (and returns 0),
# or prints nothing and returns 1. Not a reason to skip: dev/test and
# dev/demo install them, and a missing install step must not pass unseen.
pc_e2e_missing() {
	local tool
	for tool in postfix smtp-sink swaks saslpasswd2 openssl m4 ss python3 unshare flock; do
		if ! command -v "$tool" >/dev/null; then
			echo "$tool is not installed (dev/deps.sh PC_E2E_PACKAGES)"
			return 0
		fi
	done
	if [ ! -f /usr/share/sendmail/cf/m4/cf.m4 ]; then
		echo "sendmail-cf is not installed (dev/deps.sh PC_E2E_PACKAGES)"
		return 0
	fi
	return 1
}

# pc_e2e_alive PID: running and not a zombie. Some PID 1s do not reap
# orphans, and kill -0 succeeds on a zombie.
pc_e2e_alive() {
	local state
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$state" != Z ] && [ "$state" != X ]
}

# pc_e2e_pid FILE: the PID recorded in FILE, or nothing
pc_e2e_pid() {
	if [ -s "$1" ]; then head -n 1 "$1" | tr -dc 0-9; fi
}

# pc_e2e_stop_pid_files FILE...: TERM every recorded PID at once, wait up to
# 7 s for all of them (a libmilter program, like the macro recorder, notices
# TERM only at its listener's poll timeout, up to 5 s later: stopping in
# parallel saves that per daemon),
# then KILL what is left. The files are removed.
pc_e2e_stop_pid_files() {
	local file pid pids="" deadline
	for file in "$@"; do
		pid=$(pc_e2e_pid "$file")
		if [ -n "$pid" ] && pc_e2e_alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			pids="$pids $pid"
		fi
		rm -f "$file"
	done
	deadline=$(($(date +%s) + 7))
	for pid in $pids; do
		while pc_e2e_alive "$pid" && [ "$(date +%s)" -le "$deadline" ]; do
			sleep 0.05
		done
		if pc_e2e_alive "$pid"; then
			pc_e2e_log "pid $pid ignored TERM for 7 s: killed"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	# reap our own children, so no zombie is left behind
	for pid in $pids; do wait "$pid" 2>/dev/null || true; done
}

# pc_e2e_listening PORT: something listens on 127.0.0.1:PORT (ss: no probe
# connection that an MTA or milter would log)
pc_e2e_listening() {
	[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# pc_e2e_wait SECONDS COMMAND...: polls every 50 ms until COMMAND succeeds
pc_e2e_wait() {
	local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	until "$@" 2>/dev/null; do
		[ "$(($(date +%s%N) / 1000000))" -le "$deadline" ] || return 1
		sleep 0.05
	done
}

# pc_e2e_wait_alive PID SECONDS COMMAND...: as pc_e2e_wait, but gives up as
# soon as PID has exited (a daemon that failed to start)
pc_e2e_wait_alive() {
	local pid=$1 deadline=$(($(date +%s%N) / 1000000 + $2 * 1000))
	shift 2
	until "$@" 2>/dev/null; do
		pc_e2e_alive "$pid" || return 1
		[ "$(($(date +%s%N) / 1000000))" -le "$deadline" ] || return 1
		sleep 0.05
	done
}

# pc_e2e_ports_free PORT...: fails naming the first port in use
pc_e2e_ports_free() {
	local port
	for port in "$@"; do
		if pc_e2e_listening "$port"; then
			pc_e2e_log "port $port is already in use"
			return 1
		fi
	done
}

# pc_e2e_init STATE: the state directory and what both MTAs share: the TLS
# certificate, the namespace files and the syslog catcher
pc_e2e_init() {
	local state=$1
	# the MTAs' users must reach files below it; sendmail checks the path
	mkdir -p "$state" && chmod 0755 "$state" || return 1
	pc_e2e_pki "$state" && pc_e2e_ns_prepare "$state" && pc_e2e_syslog_start "$state"
}

# pc_e2e_pki STATE: a self-signed certificate for mail.example.com
pc_e2e_pki() {
	local dir=$1/pki
	[ -s "$dir/cert.pem" ] && return 0
	mkdir -p "$dir"
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
		-subj "/CN=$PC_E2E_HOSTNAME" \
		-addext "subjectAltName=DNS:$PC_E2E_HOSTNAME,DNS:localhost,IP:127.0.0.1" \
		-keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || return 1
	chmod 0644 "$dir/cert.pem"
	chmod 0600 "$dir/key.pem"
}

# pc_e2e_sasldb FILE: a Cyrus sasldb holding the test login, and the logins
# of PC_E2E_SASL_EXTRA_USERS (optional, "user@realm ..." with the same
# password; a login without "@" goes in the realm of the host name, the
# realm Cyrus gives a login without one)
pc_e2e_sasldb() {
	local login
	rm -f "$1"
	for login in "$PC_E2E_LOGIN" ${PC_E2E_SASL_EXTRA_USERS:-}; do
		[ "${login#*@}" != "$login" ] || login=$login@$PC_E2E_HOSTNAME
		printf '%s' "$PC_E2E_SASL_PASSWORD" |
			saslpasswd2 -p -c -f "$1" -u "${login##*@}" "${login%@*}" || return 1
	done
}

# ------------------------------------------------------ private namespace

pc_e2e_ns_prepare() {
	local dir=$1/ns
	mkdir -p "$dir/dev"
	printf '127.0.0.1\t%s localhost\n::1\tlocalhost\n' "$PC_E2E_HOSTNAME" >"$dir/hosts"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\nservices: files\n' \
		>"$dir/nsswitch.conf"
	# a resolver nobody answers on: a stray lookup fails fast, on loopback
	printf 'nameserver 127.0.0.1\n' >"$dir/resolv.conf"
}

# pc_e2e_ns_exec STATE [--bind SOURCE TARGET]... -- COMMAND...: execs COMMAND
# (same PID as the calling subshell) in a new mount+UTS namespace where the
# host name is mail.example.com (an unqualified one costs Sendmail a 60 s
# sleep at start), /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf are
# private, /dev is a small tmpfs whose /dev/log is the syslog catcher, and the
# extra binds are applied. Nothing outside the namespace changes.
pc_e2e_ns_exec() {
	local state=$1 binds=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--bind) binds+=("$2" "$3"); shift 3 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	exec unshare --mount --uts --propagation private -- /bin/bash -c '
		set -e
		ns=$1 host=$2 log=$3 n=$4
		shift 4
		hostname "$host"
		mount --bind "$ns/hosts" /etc/hosts
		mount --bind "$ns/nsswitch.conf" /etc/nsswitch.conf
		mount --bind "$ns/resolv.conf" /etc/resolv.conf
		while [ "$n" -gt 0 ]; do mount --bind "$1" "$2"; shift 2; n=$((n - 2)); done
		mount -t tmpfs -o mode=0755,size=1m pc-e2e-dev "$ns/dev"
		for node in null zero full random urandom tty; do
			: >"$ns/dev/$node"
			mount --bind "/dev/$node" "$ns/dev/$node"
		done
		ln -s /proc/self/fd "$ns/dev/fd"
		ln -s /proc/self/fd/0 "$ns/dev/stdin"
		ln -s /proc/self/fd/1 "$ns/dev/stdout"
		ln -s /proc/self/fd/2 "$ns/dev/stderr"
		ln -s "$log" "$ns/dev/log"
		mount --move "$ns/dev" /dev
		exec "$@"' pc-e2e-ns "$state/ns" "$PC_E2E_HOSTNAME" "$state/syslog/log.sock" \
		"${#binds[@]}" "${binds[@]}" "$@"
}

# ------------------------------------------------------------ processes

# pc_e2e_syslog_start STATE: a syslog receiver for the namespace's /dev/log
# (there is no syslog daemon on a CI machine); lines in STATE/syslog/syslog.log
pc_e2e_syslog_start() {
	local dir=$1/syslog
	mkdir -p "$dir"
	pc_e2e_alive "$(pc_e2e_pid "$dir/catcher.pid")" && return 0
	python3 "$PC_E2E_LIB/syslog-catcher.py" "$dir/log.sock" "$dir/syslog.log" \
		>"$dir/catcher.out" 2>&1 </dev/null &
	echo $! >"$dir/catcher.pid"
	pc_e2e_wait 5 test -S "$dir/log.sock" || {
		pc_e2e_log "syslog catcher did not start: $(cat "$dir/catcher.out")"
		return 1
	}
}

# pc_e2e_sink_start STATE PORT: two smtp-sinks, the final destinations of
# every message both MTAs accept: the relay sink on 127.0.0.1:PORT, where
# the MTAs send what they route elsewhere (foreign domains, relayhost or
# smart host), and the local sink on PORT+1, where they send what they
# deliver locally (Postfix's local_transport, Sendmail's local mailer). One
# file per message in STATE/sink/msgs, named relay.* or local.* by the sink
# that took it (smtp-sink's X-Client-*/X-Mail-Args/X-Rcpt-Args lines, then
# the message as delivered), so one directory holds everything delivered.
pc_e2e_sink_start() {
	local dir=$1/sink port=$2
	mkdir -p "$dir/msgs"
	# as root smtp-sink needs -u, and the user must write the dump directory
	chown nobody "$dir/msgs"
	pc_e2e_sink_start_one "$dir" relay "$port" && pc_e2e_sink_start_one "$dir" local $((port + 1))
}

# pc_e2e_sink_start_one DIR NAME PORT
pc_e2e_sink_start_one() {
	local dir=$1 name=$2 port=$3
	pc_e2e_alive "$(pc_e2e_pid "$dir/$name.pid")" && return 0
	pc_e2e_ports_free "$port" || return 1
	# -h: its name must differ from the MTAs' or Postfix sees a mail loop
	smtp-sink -u nobody -h sink.example.net -d "$dir/msgs/$name.%Y%m%d-%H%M%S." \
		"127.0.0.1:$port" 128 >"$dir/$name.log" 2>&1 </dev/null &
	echo $! >"$dir/$name.pid"
	pc_e2e_wait 10 pc_e2e_listening "$port" || {
		pc_e2e_log "smtp-sink ($name) did not start: $(cat "$dir/$name.log")"
		return 1
	}
}

# pc_e2e_sink_count STATE: messages delivered so far (both sinks)
pc_e2e_sink_count() {
	find "$1/sink/msgs" -type f 2>/dev/null | wc -l
}

# pc_e2e_sink_find STATE TOKEN: the message file containing TOKEN, if any
pc_e2e_sink_find() {
	grep -lF -- "$2" "$1"/sink/msgs/* 2>/dev/null | head -n 1
}

# pc_e2e_sink_has STATE TOKEN: a delivered message contains TOKEN
pc_e2e_sink_has() {
	[ -n "$(pc_e2e_sink_find "$1" "$2")" ]
}

# pc_e2e_sink_where STATE TOKEN: "local" or "relay", the sink that took the
# message containing TOKEN; nothing when none did
pc_e2e_sink_where() {
	local file
	file=$(pc_e2e_sink_find "$1" "$2")
	[ -n "$file" ] && basename "$file" | cut -d. -f1
}

# pc_e2e_daemon_start STATE NAME BINARY CONFIG SOCKET-PATH: starts
# portcullis-NAME in the foreground of a background job on unix:SOCKET-PATH,
# logging to STATE/NAME.log (appended: a restart continues the log), and
# waits for its "starting:" line. PID in STATE/NAME.pid.
pc_e2e_daemon_start() {
	local state=$1 name=$2 binary=$3 config=$4 socket=$5 lines
	mkdir -p "$(dirname "$socket")"
	touch "$state/$name.log"
	lines=$(wc -l <"$state/$name.log")
	"$binary" -f -c "$config" -p "unix:$socket" >>"$state/$name.log" 2>&1 </dev/null &
	echo $! >"$state/$name.pid"
	# the log line, not the socket file: a stale socket exists before it is up
	if ! pc_e2e_wait 10 pc_e2e_log_has_since "$state/$name.log" "$lines" 'notice: starting:'; then
		pc_e2e_log "portcullis-$name did not start:"
		tail -n 20 "$state/$name.log" >&2
		return 1
	fi
}

# pc_e2e_log_has_since FILE LINES PATTERN: a line after the first LINES matches
pc_e2e_log_has_since() {
	tail -n +"$(($2 + 1))" "$1" | grep -qE -- "$3"
}

# pc_e2e_daemons_stop STATE NAME...: stops the named daemons in parallel
pc_e2e_daemons_stop() {
	local state=$1 files=() name
	shift
	for name in "$@"; do files+=("$state/$name.pid"); done
	pc_e2e_stop_pid_files "${files[@]}"
}

# pc_e2e_shared_stop STATE: the sink and the syslog catcher
pc_e2e_shared_stop() {
	pc_e2e_stop_pid_files "$1/sink/relay.pid" "$1/sink/local.pid" "$1/syslog/catcher.pid"
}

# ------------------------------------------------------------------ swaks

# pc_e2e_swaks OUTPUT-FILE SWAKS-ARGUMENT...: one SMTP session; the whole
# transcript goes to OUTPUT-FILE, the exit status is swaks's (0 sent, 23
# refused at MAIL, 24 at RCPT, 25 at DATA, 26 after the message...)
pc_e2e_swaks() {
	local out=$1
	shift
	swaks --hide-informational --timeout 20 "$@" >"$out" 2>&1
}

# pc_e2e_swaks_auth: the arguments for an authenticated session
pc_e2e_swaks_auth() {
	echo --auth PLAIN --auth-user "$PC_E2E_LOGIN" --auth-password "$PC_E2E_SASL_PASSWORD"
}

# pc_e2e_replies OUTPUT-FILE: the server's replies of a swaks transcript
pc_e2e_replies() {
	# "<- " plain, "<~ " after TLS, "<** " or "<~* " an error reply
	sed -n 's/^ *<[-~*]* *//p' "$1" | tr -d '\r'
}
