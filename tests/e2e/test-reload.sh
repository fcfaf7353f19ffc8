#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-reload.sh RELAY: a SIGHUP reload of portcullis-relay in the
# middle of a burst of 50 messages through each MTA (5 clients at a time).
# Every message is either delivered or refused by policy (554 from the relay
# guard); none gets a 4xx or any other failure, and the sink holds exactly
# the delivered ones. The reload makes a new domain local, so it visibly
# takes effect. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"

BURST=50
WORKERS=5

# worker MTA WORKER: sends this worker's share of the burst, one line
# "TOKEN KIND STATUS" per session into $PC_DIR/burst-MTA-WORKER.status. The
# kinds cycle: local mail, mail for the domain the reload adds, a relay
# attempt, an authenticated submission, local mail again.
worker() {
	local mta=$1 worker=$2 n token kind
	for ((n = worker; n < BURST; n += WORKERS)); do
		token=burst-$mta-$n
		case $((n / WORKERS % 5)) in
		0 | 4) kind=local; session $mta mx $token --to user@example.com ;;
		1) kind=new-domain; session $mta mx $token --to user@new-$mta.test ;;
		2) kind=relay; session $mta mx $token --to victim@outside.test ;;
		3) kind=submission; session $mta submission $token --to bob@outside.test ;;
		esac
		echo "$token $kind $?" >>"$PC_DIR/burst-$mta-$worker.status"
	done
}

burst_delivered() {
	grep -lE "^Subject: burst-$1-" "$PC_DIR"/sink/msgs/* 2>/dev/null | wc -l
}

at_least_delivered() {
	[ "$(burst_delivered "$1")" -ge "$2" ]
}

exactly_delivered() {
	[ "$(burst_delivered "$1")" = "$2" ]
}

pc_suite_start_or_bail

for mta in pf sm; do
	name=$(mta_name $mta)
	log_lines=$(wc -l <"$PC_DIR/relay.log")
	pids=()
	for ((w = 0; w < WORKERS; w++)); do
		worker $mta $w &
		pids+=($!)
	done
	# the reload lands in the middle: after the first ten deliveries
	if pc_e2e_wait 60 at_least_delivered $mta 10; then
		sed -i "s/^local_domains = .*/&; new-$mta.test/" "$RELAY_CONF"
		kill -HUP "$(pc_e2e_pid "$PC_DIR/relay.pid")"
		reloaded_at=$(burst_delivered $mta)
	else
		reloaded_at=none
	fi
	for pid in "${pids[@]}"; do wait "$pid"; done
	cat "$PC_DIR"/burst-$mta-*.status >"$PC_DIR/burst-$mta.status"

	if pc_e2e_log_has_since "$PC_DIR/relay.log" "$log_lines" 'reload: configuration .* loaded'; then
		ok "$name: SIGHUP during the burst reloaded the configuration (after $reloaded_at deliveries)"
	else
		not_ok "$name: SIGHUP during the burst reloaded the configuration"
		explain "$PC_DIR/relay.log"
	fi
	total=$(wc -l <"$PC_DIR/burst-$mta.status")
	sent=$(awk '$3 == 0' "$PC_DIR/burst-$mta.status" | wc -l)
	# a refusal counts as policy only when it is the relay guard's 554
	refused=0
	other=""
	while read -r token kind status; do
		[ "$status" = 0 ] && continue
		if [ "$status" = 24 ] && replied "$token" '^554 5.7.1 <[^>]*>: Relay access denied$' &&
			! pc_e2e_replies "$PC_DIR/$token.out" | grep -qE '^4'; then
			refused=$((refused + 1))
		else
			other="$other $token($kind,$status)"
		fi
	done <"$PC_DIR/burst-$mta.status"
	if [ "$total" = $BURST ] && [ -z "$other" ] && [ $((sent + refused)) = $BURST ]; then
		ok "$name: $BURST messages: $sent delivered, $refused refused by policy, none failed"
	else
		not_ok "$name: $total of $BURST sessions: $sent delivered, $refused refused by policy; failed:$other"
		for token in $other; do explain "$PC_DIR/${token%%(*}.out"; done
	fi
	relay_refused=$(awk '$2 == "relay" && $3 == 24' "$PC_DIR/burst-$mta.status" | wc -l)
	relay_total=$(awk '$2 == "relay"' "$PC_DIR/burst-$mta.status" | wc -l)
	check "$name: every relay attempt of the burst was refused ($relay_refused of $relay_total)" \
		test "$relay_refused" = "$relay_total"
	check "$name: the domain the reload made local received mail after it" \
		test "$(awk '$2 == "new-domain" && $3 == 0' "$PC_DIR/burst-$mta.status" | wc -l)" -ge 1
	if pc_e2e_wait 30 exactly_delivered $mta "$sent"; then
		ok "$name: the sink holds exactly the $sent delivered messages"
	else
		not_ok "$name: the sink holds $(burst_delivered $mta) messages, $sent were accepted"
	fi
done
check "both queues are empty: nothing accepted is left undelivered" queues_empty
check "the relay guard logged no tempfail and no error during the bursts" \
	bash -c "! grep -qE 'action=tempfail|critical|warning' '$PC_DIR/relay.log'"

finish
