#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# test-client.sh CLIENT NULL_MILTER SCENARIO_DIR
#
# TAP test of pc-milter-client against pc-null-milter: the scenarios in
# SCENARIO_DIR/client-*.scn must pass (client-fail.scn must fail, which
# shows the checker catches broken expectations), the symbol-list behaviour
# of both MTA profiles is checked against milters started with -m, and a
# short load run must finish without errors. Every milter runs on a private
# unix socket in a temporary directory and is stopped by PID on exit.
set -u

client=$1
null_milter=$2
scenarios=$3

if [ ! -x "$client" ] || [ ! -x "$null_milter" ]; then
	echo "Bail out! missing $client or $null_milter (build all targets first)"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pc-client-test.XXXXXX")
milter_pids=()
count=0

cleanup() {
	local pid
	for pid in "${milter_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${milter_pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() {
	count=$((count + 1))
	echo "ok $count - $1"
}

not_ok() {
	count=$((count + 1))
	echo "not ok $count - $1"
	shift
	printf '%s\n' "$@" | sed 's/^/# /'
}

# start_milter NAME [ARGS...]: starts pc-null-milter on $tmp/NAME.sock and
# polls until the socket exists (bounded); sets milter_pid
start_milter() {
	local name=$1
	shift
	local sock="$tmp/$name.sock"
	local deadline=$((SECONDS + 10))

	"$null_milter" -p "unix:$sock" "$@" 2>"$tmp/$name.log" &
	milter_pid=$!
	milter_pids+=("$milter_pid")
	while [ ! -S "$sock" ]; do
		if ! kill -0 "$milter_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			return 1
		fi
		sleep 0.02
	done
	return 0
}

# run_scenario SOCKET-NAME SCENARIO WANT-STATUS DESCRIPTION
run_scenario() {
	local sock="unix:$tmp/$1.sock"
	local file="$scenarios/$2"
	local want=$3
	local what=$4
	local status

	last_output=$("$client" -s "$sock" -T 5 "$file" 2>&1)
	status=$?
	if [ "$status" -eq "$want" ]; then
		ok "$what (exit $status)"
	else
		not_ok "$what: exit $status, want $want" "$last_output"
	fi
}

if ! start_milter plain; then
	not_ok "pc-null-milter listens" "$(cat "$tmp/plain.log")"
	echo "1..$count"
	exit 1
fi
ok "pc-null-milter listens"
plain_pid=$milter_pid

run_scenario plain client-accept.scn 0 "full session accepted"
first=$last_output
run_scenario plain client-accept.scn 0 "full session again"
if [ "$first" = "$last_output" ]; then
	ok "report is deterministic"
else
	not_ok "report is deterministic" "$first" "---" "$last_output"
fi
case $first in
*"21 eom: accept"*) ok "report names the eom verdict" ;;
*) not_ok "report names the eom verdict" "$first" ;;
esac

run_scenario plain client-two-transactions.scn 0 "two transactions with abort between"
run_scenario plain client-postfix-macros.scn 0 "postfix macro profile"
run_scenario plain client-sendmail-macros.scn 0 "sendmail macro profile"
run_scenario plain client-ipv6.scn 0 "IPv6 clients"
run_scenario plain client-nul-address.scn 0 "NUL and control bytes in addresses"
if kill -0 "$plain_pid" 2>/dev/null; then
	ok "milter survived the odd bytes"
else
	not_ok "milter survived the odd bytes"
fi

run_scenario plain client-fail.scn 1 "wrong expectations make the client fail"
fails=$(printf '%s\n' "$last_output" | grep -c '^FAIL ')
if [ "$fails" -eq 3 ]; then
	ok "all three wrong expectations reported"
else
	not_ok "all three wrong expectations reported ($fails)" "$last_output"
fi

out=$("$client" -s "unix:$tmp/plain.sock" - <"$scenarios/client-accept.scn" 2>&1)
if [ $? -eq 0 ] && [ "$out" = "$first" ]; then
	ok "scenario from standard input"
else
	not_ok "scenario from standard input" "$out"
fi

out=$("$client" -s "unix:$tmp/nonexistent.sock" -T 2 "$scenarios/client-accept.scn" 2>&1)
if [ $? -eq 2 ]; then
	ok "unreachable milter is exit 2"
else
	not_ok "unreachable milter is exit 2" "$out"
fi

if start_milter symlist -m 'mail:i {mail_addr} {tls_version}' \
	-m 'eom:{daemon_name} i {tls_version} {auth_type} {daemon_port}'; then
	run_scenario symlist client-symlist-postfix.scn 0 "postfix sends the requested macros"
	run_scenario symlist client-symlist-sendmail.scn 0 \
		"sendmail ignores an EOM list without an EOH list"
else
	not_ok "pc-null-milter -m listens" "$(cat "$tmp/symlist.log")"
fi

if start_milter eoh -m 'eom:{daemon_name} i' -m 'eoh:i'; then
	run_scenario eoh client-symlist-eoh.scn 0 "sendmail honours an EOM list with an EOH list"
else
	not_ok "pc-null-milter -m eoh listens" "$(cat "$tmp/eoh.log")"
fi

out=$("$client" -s "unix:$tmp/plain.sock" -T 10 --load -n 2000 -C 4 -p "$plain_pid" \
	--json "$scenarios/client-accept.scn" 2>&1)
status=$?
json=$(printf '%s\n' "$out" | tail -n 1)
if [ $status -eq 0 ] && [[ $json == *'"msgs":2000,'* ]] && [[ $json == *'"errors":0,'* ]] &&
	[[ $json == *'"accept":2000'* ]]; then
	ok "load: 2000 messages over 4 connections, no errors"
else
	not_ok "load: 2000 messages over 4 connections, no errors (exit $status)" "$out"
fi
if [[ $json == *'"milter_cpu_ms_per_msg":null'* ]]; then
	not_ok "load: milter CPU time measured" "$json"
else
	ok "load: milter CPU time measured"
fi

# stop all the milters at once and wait for them together (the reference
# libmilter filter notices a stop request only at its next poll timeout)
kill -TERM "${milter_pids[@]}" 2>/dev/null
deadline=$((SECONDS + 20))
alive=1
while [ $alive -eq 1 ] && [ $SECONDS -lt $deadline ]; do
	alive=0
	for pid in "${milter_pids[@]}"; do
		kill -0 "$pid" 2>/dev/null && alive=1
	done
	[ $alive -eq 1 ] && sleep 0.05
done
if [ $alive -eq 1 ]; then
	not_ok "pc-null-milter exits on SIGTERM"
else
	wait "$plain_pid"
	status=$?
	if [ $status -eq 0 ]; then
		ok "pc-null-milter exits on SIGTERM"
	else
		not_ok "pc-null-milter exits on SIGTERM (status $status)" "$(cat "$tmp/plain.log")"
	fi
fi

echo "1..$count"
