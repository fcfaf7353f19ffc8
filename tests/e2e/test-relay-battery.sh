#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-relay-battery.sh RELAY: the generated relay battery
# (lib/relay-battery.py: a few hundred recipient forms, each with the
# guard's expected answer) through real Postfix and Sendmail, whose own
# relay control is open. Per MTA: one session from the trusted 127.0.0.1
# (the guard stands aside: what the MTA itself does with each form, and
# where it delivers it), one from the outside 127.0.0.2 (the guard
# decides); then the judge compares the two and the sinks: each form as
# expected, nothing the guard let through in the relay sink, nothing
# accepted lost, no false positive outside the policy rows. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
BATTERY="python3 $HERE/lib/relay-battery.py"

pc_suite_start_or_bail

for mta in pf sm; do
	for run in truth guarded; do
		source=$OUTSIDE
		[ $run = truth ] && source=127.0.0.1
		if ! $BATTERY send 127.0.0.1 "$(port $mta mx)" $source "$run-$mta@sender.test" \
			"$PC_DIR/$run-$mta.json" 2>"$PC_DIR/$run-$mta.err"; then
			echo "Bail out! $(mta_name $mta): the $run session failed: $(cat "$PC_DIR/$run-$mta.err")"
			exit 1
		fi
	done
done
# the judge reads the sinks once both MTAs have delivered everything
if queues_empty; then
	ok "both queues are empty: everything accepted was delivered"
else
	not_ok "both queues are empty: everything accepted was delivered"
fi
for mta in pf sm; do
	$BATTERY judge "$PC_DIR/sink/msgs" "$PC_DIR/truth-$mta.json" "$PC_DIR/guarded-$mta.json" \
		"$(mta_name $mta)" >"$PC_DIR/judge-$mta.txt" 2>&1 || {
		not_ok "$(mta_name $mta): the judge ran" "$PC_DIR/judge-$mta.txt"
		continue
	}
	while IFS=$'\t' read -r kind name result; do
		case $kind-$result in
		CHECK-ok) ok "$name" ;;
		CHECK-*) not_ok "$name" ;;
		DETAIL-*) echo "# $name" ;;
		esac
	done <"$PC_DIR/judge-$mta.txt"
done

finish
