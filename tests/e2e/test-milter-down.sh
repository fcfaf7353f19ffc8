#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-milter-down.sh RELAY: portcullis-relay stopped, both MTAs
# (milter_default_action / default_action=tempfail, F=T) answer 4xx, nothing
# is accepted and nothing is delivered; the daemon restarted, mail flows
# again. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"

# tempfailed STATUS TOKEN: the session failed on a 4xx reply, before DATA
tempfailed() {
	local status=$1 token=$2
	[ "$status" != 0 ] && pc_e2e_replies "$PC_DIR/$token.out" | grep -qE '^4[0-9][0-9] ' &&
		! grep -qE '^ [~-]> DATA' "$PC_DIR/$token.out"
}

pc_suite_start_or_bail

# a first message through each MTA: the milter connection works
for mta in pf sm; do
	session $mta mx before-$mta --to user@example.com
done
if delivered before-pf && delivered before-sm; then
	ok "with the daemon up, mail flows through both MTAs"
else
	not_ok "with the daemon up, mail flows through both MTAs"
	explain "$PC_DIR/before-pf.out" "$PC_DIR/before-sm.out"
fi

before=$(pc_e2e_sink_count "$PC_DIR")
relay_pid=$(pc_e2e_pid "$PC_DIR/relay.pid")
pc_e2e_daemons_stop "$PC_DIR" relay
if ! pc_e2e_alive "$relay_pid" && [ ! -e "$RELAY_SOCKET" ]; then
	ok "portcullis-relay stopped by PID (TERM): process gone, socket removed"
else
	not_ok "portcullis-relay stopped by PID"
fi

for mta in pf sm; do
	name=$(mta_name $mta)
	for role in mx submission smtps; do
		token=down-$role-$mta
		if [ $role = mx ]; then
			session $mta $role $token --to user@example.com
		else
			session $mta $role $token --to bob@outside.test
		fi
		status=$?
		if [ $mta-$role = sm-smtps ]; then
			# Sendmail refuses the TLS handshake itself and drops the
			# connection: without TLS it cannot say 4xx on this port, and
			# to a client that is a temporary failure as well
			if [ $status != 0 ] && ! grep -qE '^ [~-]> (MAIL|DATA)' "$PC_DIR/$token.out" &&
				grep -q 'STARTTLS command ((null)) from \[127.0.0.2\] tempfailed' \
					"$PC_DIR/syslog/syslog.log"; then
				ok "$name $role, daemon down: the TLS handshake is refused, the connection dropped (swaks status $status)"
			else
				not_ok "$name $role, daemon down: want the TLS handshake refused (swaks status $status)"
				explain "$PC_DIR/$token.out"
			fi
			continue
		fi
		if tempfailed $status $token; then
			ok "$name $role, daemon down: $(pc_e2e_replies "$PC_DIR/$token.out" | grep -E '^4' | head -n 1)"
		else
			not_ok "$name $role, daemon down: want a 4xx and no message (swaks status $status)"
			explain "$PC_DIR/$token.out"
		fi
	done
done
check "daemon down: nothing was delivered" test "$(pc_e2e_sink_count "$PC_DIR")" = "$before"
check "daemon down: nothing was accepted (both queues empty): nothing lost" queues_empty
check "Postfix logs the tempfail as a milter-reject with 451 4.7.1" \
	grep -q 'milter-reject: .*451 4.7.1 Service unavailable - try again later' "$PC_DIR/postfix/maillog"

if pc_e2e_daemon_start "$PC_DIR" relay "$RELAY" "$RELAY_CONF" "$RELAY_SOCKET" 2>"$PC_DIR/restart.err"; then
	ok "portcullis-relay restarted"
else
	not_ok "portcullis-relay restarted" "$PC_DIR/restart.err"
fi
for mta in pf sm; do
	name=$(mta_name $mta)
	token=after-$mta
	session $mta mx $token --to user@example.com
	status=$?
	if [ $status = 0 ] && delivered $token; then
		ok "$name: after the restart mail for a local domain is delivered again"
	else
		not_ok "$name: delivery after the restart (swaks status $status)"
		explain "$PC_DIR/$token.out"
	fi
	token=after-relay-$mta
	session $mta mx $token --to victim@outside.test
	status=$?
	if [ $status = 24 ] && replied $token '^554 5.7.1 <victim@outside.test>: Relay access denied'; then
		ok "$name: after the restart relaying is refused again"
	else
		not_ok "$name: relay refusal after the restart (swaks status $status)"
		explain "$PC_DIR/$token.out"
	fi
done
check "after the restart: both queues empty" queues_empty

finish
