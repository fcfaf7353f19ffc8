# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# tests/e2e/suite.sh: what every tests/e2e/test-*.sh does (sourced, bash).
# Arguments of the test scripts: RELAY-BINARY [RECORDER-BINARY]. TAP output
# (the helpers of tests/milter/lib.sh); "1..0 # SKIP reason" when the machine
# cannot run the harness (not root, no namespaces); a failure when the
# packages are missing (dev/test installs them).
#
# pc_suite_start [NAME=SOCKET]...: state directory, sink, portcullis-relay
# (and the daemons of PC_SUITE_DAEMONS), then Postfix and Sendmail with them
# (and the extra milters named) attached. pc_suite_stop (on exit) stops
# everything by PID at once.
#
# Set before pc_suite_start: PC_SUITE_DAEMONS ("NAME=BINARY ...": more
# Portcullis daemons, started after the relay with the same configuration and
# attached after it, in that order), PC_SUITE_CONF_EXTRA (lines appended to
# that configuration: the daemons' own sections), PC_SUITE_GLOBAL_EXTRA
# (lines added to its [global] section: dns = ... for the daemons that
# resolve), PC_POSTFIX_MAIN_EXTRA and
# PC_POSTFIX_MASTER_EXTRA (lib/postfix.sh), PC_E2E_SASL_EXTRA_USERS
# (lib/common.sh).
set -u
PC_SUITE_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$PC_SUITE_HERE/../milter/lib.sh"
. "$PC_SUITE_HERE/lib/common.sh"
. "$PC_SUITE_HERE/lib/postfix.sh"
. "$PC_SUITE_HERE/lib/sendmail.sh"

RELAY=$1
PF_MX=10025 PF_SUBMISSION=10587 PF_SMTPS=10465
SM_MX=11025 SM_SUBMISSION=11587 SM_SMTPS=11465
SINK_PORT=10026
# the outside client: untrusted for the relay guard, and not 127.0.0.1,
# which Sendmail always lets relay
OUTSIDE=127.0.0.2

if reason=$(pc_e2e_skip_reason); then
	echo "1..0 # SKIP $reason"
	exit 0
fi
if reason=$(pc_e2e_missing); then
	echo "Bail out! $reason"
	exit 1
fi

# the ports are fixed: a second run on this machine (another build
# directory) waits for this one instead of failing on a busy port
PC_LOCK=/run/lock/portcullis-e2e.lock
[ -d /run/lock ] || PC_LOCK=/tmp/portcullis-e2e.lock
exec 9>"$PC_LOCK"
if ! flock -w 240 9; then
	echo "Bail out! another tests/e2e run held $PC_LOCK for 4 minutes"
	exit 1
fi

PC_DIR=$(mktemp -d /tmp/pc-e2e.XXXXXX)
RELAY_SOCKET=$(pc_postfix_socket "$PC_DIR" relay)
RELAY_CONF=$PC_DIR/portcullis.conf

pc_suite_stop() {
	trap '' TERM INT
	# everything at once: libmilter programs (the macro recorder) take up to 5 s to notice TERM
	[ ! -d "$PC_DIR/dns" ] || "$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	pc_e2e_stop_pid_files "$PC_DIR"/*.pid "$PC_DIR/postfix/spool/pid/master.pid" \
		"$PC_DIR/postfix/start-fg.pid" "$PC_DIR/sendmail/sendmail-bd.pid" \
		"$PC_DIR/sink/relay.pid" "$PC_DIR/sink/local.pid" "$PC_DIR/syslog/catcher.pid"
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap pc_suite_stop EXIT
# a test killed at meson's timeout still stops what it started
trap 'exit 143' TERM INT

# pc_suite_dns: the test DNS server for PC_SUITE_DNS_ZONES, and the [global]
# lines that point the daemons at it (a query that times out ends after 2 s)
pc_suite_dns() {
	local address port
	[ -n "${PC_SUITE_DNS_ZONES:-}" ] || return 0
	# shellcheck disable=SC2086 # a list of zone files
	read -r address port < <("${PC_TEST_DNS:?}" start "$PC_DIR/dns" $PC_SUITE_DNS_ZONES) ||
		return 1
	[ -n "$port" ] || return 1
	PC_SUITE_GLOBAL_EXTRA="dns = $address@$port
dns_timeout = 2s"
}

# pc_suite_conf: the daemons' configuration, from portcullis.conf.in
pc_suite_conf() {
	local line
	while IFS= read -r line; do
		if [ "$line" = @GLOBAL_EXTRA@ ]; then
			printf '%s\n' "${PC_SUITE_GLOBAL_EXTRA:-}"
		else
			printf '%s\n' "${line//@STATE@/$PC_DIR}"
		fi
	done <"$PC_SUITE_HERE/portcullis.conf.in"
	printf '\n%s\n' "${PC_SUITE_CONF_EXTRA:-}"
}

# pc_suite_start [NAME=SOCKET]...: extra milters after portcullis-relay
pc_suite_start() {
	mkdir -p "$PC_DIR/domains.d"
	pc_suite_dns || return 1
	pc_suite_conf >"$RELAY_CONF"
	pc_e2e_init "$PC_DIR" && pc_e2e_sink_start "$PC_DIR" "$SINK_PORT" || return 1
	# the daemon runs as nobody:postfix and removes its socket at exit: the
	# directory is its own, as in production (Sendmail refuses a socket in
	# a group-writable directory)
	mkdir -p "$(dirname "$RELAY_SOCKET")"
	chown nobody:postfix "$(dirname "$RELAY_SOCKET")"
	chmod 0750 "$(dirname "$RELAY_SOCKET")"
	pc_e2e_daemon_start "$PC_DIR" relay "$RELAY" "$RELAY_CONF" "$RELAY_SOCKET" || return 1
	local milters=("relay=$RELAY_SOCKET") spec socket
	for spec in ${PC_SUITE_DAEMONS:-}; do
		socket=$(pc_postfix_socket "$PC_DIR" "${spec%%=*}")
		pc_e2e_daemon_start "$PC_DIR" "${spec%%=*}" "${spec#*=}" "$RELAY_CONF" "$socket" ||
			return 1
		milters+=("${spec%%=*}=$socket")
	done
	pc_postfix_start "$PC_DIR" $PF_MX $PF_SUBMISSION $PF_SMTPS $SINK_PORT \
		"${milters[@]}" "$@" || return 1
	pc_sendmail_start "$PC_DIR" $SM_MX $SM_SUBMISSION $SM_SMTPS $SINK_PORT \
		"${milters[@]}" "$@"
}

# daemon_logged NAME PATTERN: a line of portcullis-NAME's log matches
daemon_logged() {
	grep -qE -- "$2" "$PC_DIR/$1.log"
}

# pc_suite_start_or_bail [NAME=SOCKET]...: as above; on failure the test
# plan ends here with the logs
pc_suite_start_or_bail() {
	if pc_suite_start "$@" 2>"$PC_DIR/start.err"; then
		ok "Postfix and Sendmail up with portcullis-relay attached"
		return 0
	fi
	not_ok "Postfix and Sendmail up with portcullis-relay attached" "$PC_DIR/start.err"
	echo "Bail out! the harness did not start"
	exit 1
}

# port MTA ROLE: the listener port of Postfix (pf) or Sendmail (sm)
port() {
	case $1-$2 in
	pf-mx) echo $PF_MX ;; pf-submission) echo $PF_SUBMISSION ;; pf-smtps) echo $PF_SMTPS ;;
	sm-mx) echo $SM_MX ;; sm-submission) echo $SM_SUBMISSION ;; sm-smtps) echo $SM_SMTPS ;;
	esac
}

mta_name() { [ "$1" = pf ] && echo Postfix || echo Sendmail; }

# session MTA ROLE TOKEN SWAKS-ARGUMENT...: one SMTP session from the
# outside address to a listener, TLS and AUTH as the role needs (submission:
# STARTTLS then AUTH; smtps: implicit TLS then AUTH; mx: neither;
# submission-noauth: the submission port with STARTTLS only), sender
# TOKEN@sender.test and "Subject: TOKEN". Transcript in $PC_DIR/TOKEN.out,
# swaks's exit status returned.
session() {
	local mta=$1 role=$2 token=$3 tls=() auth
	shift 3
	read -ra auth <<<"$(pc_e2e_swaks_auth)"
	case $role in
	submission) tls=(--tls "${auth[@]}") ;;
	smtps) tls=(--tlsc "${auth[@]}") ;;
	submission-noauth) tls=(--tls) role=submission ;;
	esac
	pc_e2e_swaks "$PC_DIR/$token.out" --server "127.0.0.1:$(port "$mta" "$role")" \
		-li "$OUTSIDE" --ehlo client.example.org --from "$token@sender.test" \
		--header "Subject: $token" "${tls[@]}" "$@"
}

# delivered TOKEN [SECONDS]: the sink holds TOKEN's message (waits for it)
delivered() {
	pc_e2e_wait "${2:-15}" pc_e2e_sink_has "$PC_DIR" "$1"
}

# in_sink TOKEN PATTERN: a line of TOKEN's delivered message matches (grep -E)
in_sink() {
	local file
	file=$(pc_e2e_sink_find "$PC_DIR" "$1")
	[ -n "$file" ] && grep -qE -- "$2" "$file"
}

# replied TOKEN PATTERN: one of the server's replies in TOKEN's session matches
replied() {
	pc_e2e_replies "$PC_DIR/$1.out" | grep -qE -- "$2"
}

# regex_quote TEXT: TEXT as a literal grep -E pattern
regex_quote() {
	sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# relay_logged PATTERN: a line of portcullis-relay's log matches
relay_logged() {
	grep -qE -- "$1" "$PC_DIR/relay.log"
}

# queues_empty: nothing waits in either MTA's queue (accepted = delivered);
# waits a little, since the sink has a message a moment before the MTA
# removes its queue file
queues_empty() {
	pc_e2e_wait 15 queues_empty_now
}

queues_empty_now() {
	[ "$(pc_postfix_queue_count "$PC_DIR")" = 0 ] && [ "$(pc_sendmail_queue_count "$PC_DIR")" = 0 ]
}

# explain FILE...: the files as TAP comments, after a failure
explain() {
	local file
	for file in "$@"; do
		[ -f "$file" ] || continue
		echo "# --- $file"
		tail -n 25 "$file" | sed 's/^/# /'
	done
}
