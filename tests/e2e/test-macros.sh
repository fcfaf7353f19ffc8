#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-macros.sh RELAY RECORDER: do the macros the daemons need
# reach them from each MTA, at the stage they use them, with the shipped
# snippets? pc-macro-recorder is attached after portcullis-relay and asks
# with smfi_setsymlist for exactly the lists the daemon asks for (read from
# `portcullis-relay -M`), plus {daemon_name} at end of message, which no
# daemon needs but which shows that the snippet's per-listener cleanup
# services work. One session per listener and MTA. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
RECORDER=$2

RECORDED=$PC_DIR/recorded.txt

# recorded MTA ROLE STAGE NAME VALUE-REGEX: the recorder saw NAME at STAGE
# in the session of MTA's ROLE listener with a value matching VALUE-REGEX
recorded() {
	grep -qE -- "^<macros-$2-$1@sender.test> $3 $(regex_quote "$4")=$5\$" "$RECORDED"
}

# expect MTA ROLE STAGE NAME VALUE-REGEX DESCRIPTION
expect() {
	if recorded "$1" "$2" "$3" "$4" "$5"; then
		ok "$(mta_name "$1") $2: $6"
	else
		not_ok "$(mta_name "$1") $2: $6 (want $3 $4=$5)"
		grep -F "<macros-$2-$1@sender.test>" "$RECORDED" | sed 's/^/# /'
	fi
}

# the lists, as the daemon requests them, and the one addition
if ! "$RELAY" -M >"$PC_DIR/macros.txt" || ! grep -q '^connect .*{daemon_name}' "$PC_DIR/macros.txt"; then
	echo "Bail out! portcullis-relay -M printed no macro lists"
	exit 1
fi
echo "eom {daemon_name}" >>"$PC_DIR/macros.txt"
"$RECORDER" -p "unix:$PC_DIR/recorder.sock" -m "$PC_DIR/macros.txt" -o "$RECORDED" \
	>"$PC_DIR/recorder.log" 2>&1 </dev/null &
echo $! >"$PC_DIR/recorder.pid"
pc_e2e_wait 10 test -S "$PC_DIR/recorder.sock" || {
	echo "Bail out! pc-macro-recorder did not start: $(cat "$PC_DIR/recorder.log")"
	exit 1
}
: >"$RECORDED"
pc_suite_start_or_bail "recorder=$PC_DIR/recorder.sock"

for mta in pf sm; do
	for role in mx submission smtps; do
		if [ $role = mx ]; then
			session $mta $role macros-$role-$mta --to user@example.com
		else
			session $mta $role macros-$role-$mta --to bob@outside.test
		fi || {
			not_ok "$(mta_name $mta) $role: session delivered (swaks status $?)"
			explain "$PC_DIR/macros-$role-$mta.out"
		}
	done
done
# the recorder writes a session when the MTA closes the milter connection
for mta in pf sm; do
	for role in mx submission smtps; do
		pc_e2e_wait 15 grep -q "^<macros-$role-$mta@sender.test> eom " "$RECORDED"
	done
done

for mta in pf sm; do
	for role in mx submission smtps; do
		case $role in
		mx) daemon_name=MX ;;
		submission) daemon_name=ORIGINATING ;;
		smtps) daemon_name=SMTPS ;;
		esac
		port=$(port $mta $role)
		expect $mta $role connect '{daemon_name}' $daemon_name \
			"{daemon_name}=$daemon_name at connect (the listener's name)"
		expect $mta $role connect '{daemon_port}' "$port" "{daemon_port}=$port at connect"
		if [ $role = mx ]; then
			if recorded $mta $role mail '{auth_authen}' '.+'; then
				not_ok "$(mta_name $mta) $role: no {auth_authen} value at mail without AUTH"
			else
				ok "$(mta_name $mta) $role: no {auth_authen} value at mail without AUTH"
			fi
		else
			expect $mta $role mail '{auth_authen}' "$PC_E2E_LOGIN" \
				"{auth_authen}=$PC_E2E_LOGIN at mail"
			expect $mta $role helo '{tls_version}' 'TLSv1\.[23]' \
				"{tls_version} at helo after TLS"
			expect $mta $role helo '{cipher_bits}' '[0-9]+' "{cipher_bits} at helo after TLS"
			expect $mta $role mail '{tls_version}' 'TLSv1\.[23]' "{tls_version} at mail"
			expect $mta $role mail '{cipher_bits}' '[0-9]+' "{cipher_bits} at mail"
		fi
		expect $mta $role data i '[0-9A-Za-z]+' "i (queue id) at data"
		expect $mta $role eom i '[0-9A-Za-z]+' "i (queue id) at eom"
		if [ $mta = pf ]; then
			expect $mta $role eom '{daemon_name}' $daemon_name \
				"{daemon_name}=$daemon_name at eom (from the snippet's cleanup-$role service)"
		else
			expect $mta $role eom '{daemon_name}' $daemon_name "{daemon_name}=$daemon_name at eom"
		fi
	done
done

finish
