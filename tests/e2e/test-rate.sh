#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-rate.sh RELAY RATE: portcullis-rate after portcullis-relay
# in a real Postfix (Sendmail runs too, unused: the reply path is the same
# milter verdict, and the daemon's own tests cover Sendmail's macros). A
# burst over a per-client limit gets 451 4.7.1 with the wait, and mail is
# accepted again once the wait is over; greylisting defers a new triple and
# accepts its retry after the delay. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
RATE=$2

# the burst comes from $OUTSIDE with a sender greylisting lets through; the
# greylisted client is another address, so the limit does not see it
GREY_CLIENT=127.0.0.3
PC_SUITE_DAEMONS="rate=$RATE"
PC_SUITE_CONF_EXTRA="[rate]

[rate.e2e_per_client]
key = client_ip
count = messages
rate = 3/10s
roles = mx

[greylist]
enabled = yes
delay = 2s
retry_window = 1m
allow_domains = burst.test"
pc_suite_start_or_bail

# send TOKEN CLIENT FROM: one message to user@example.com on Postfix's MX
send() {
	pc_e2e_swaks "$PC_DIR/$1.out" --server "127.0.0.1:$PF_MX" -li "$2" \
		--ehlo client.example.org --from "$3" --to user@example.com \
		--header "Subject: $1"
}

# now_ms: milliseconds since the epoch
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --------------------------------------------------------------- burst
bad=""
for i in 1 2 3; do
	send burst-$i $OUTSIDE sender@burst.test || bad="$bad burst-$i:$?"
done
send burst-4 $OUTSIDE sender@burst.test
status=$?
refused_at=$(now_ms)
if [ -z "$bad" ] && [ $status = 23 ] &&
	replied burst-4 '^451 4.7.1 Rate limit exceeded, try again in [0-9]+ seconds$' &&
	grep -qE 'rate: action=tempfail, stage=mail, .*limit=e2e_per_client' "$PC_DIR/rate.log"; then
	ok "Postfix: rate = 3/10s lets three messages through, the fourth gets 451 4.7.1 Rate limit exceeded, try again in N seconds"
else
	not_ok "Postfix: burst over the limit (refused:${bad:- none}; fourth: swaks status $status)"
	explain "$PC_DIR/burst-4.out" "$PC_DIR/rate.log"
fi
wait_s=$(pc_e2e_replies "$PC_DIR/burst-4.out" | sed -n 's/^451 4.7.1 Rate limit exceeded, try again in \([0-9]*\) seconds$/\1/p' | head -n 1)

# the retry: one session every half second until accepted, within the wait
# the reply gave (plus a margin); none may pass long before it
tries=0
accepted_at=""
deadline=$((refused_at + (${wait_s:-10} + 3) * 1000))
while [ "$(now_ms)" -le $deadline ]; do
	tries=$((tries + 1))
	if send after-$tries $OUTSIDE sender@burst.test; then
		accepted_at=$(now_ms)
		break
	fi
	sleep 0.5
done
if [ -n "$accepted_at" ] && delivered after-$tries &&
	[ $((accepted_at - refused_at)) -ge $(((${wait_s:-10} - 1) * 1000)) ]; then
	ok "Postfix: accepted again after the $wait_s s the reply named ($((accepted_at - refused_at)) ms, try $tries)"
else
	not_ok "Postfix: accepted again after the wait (wait $wait_s s, tries $tries, accepted ${accepted_at:+after $((accepted_at - refused_at)) ms})"
	explain "$PC_DIR/after-$tries.out" "$PC_DIR/rate.log"
fi

# --------------------------------------------------------- greylisting
send grey-1 $GREY_CLIENT grey@sender.test
status=$?
first_at=$(now_ms)
if [ $status = 24 ] && replied grey-1 '^451 4.7.1 Greylisted, try again in 2 seconds$' &&
	grep -qE 'rate: action=tempfail, stage=rcpt, reason=greylisted, .*rcpt=<user@example.com>' "$PC_DIR/rate.log"; then
	ok "Postfix: greylisting refuses a new triple with 451 4.7.1 Greylisted, try again in 2 seconds"
else
	not_ok "Postfix: the first attempt is greylisted (swaks status $status)"
	explain "$PC_DIR/grey-1.out" "$PC_DIR/rate.log"
fi
# the retry, as a client would: once the delay has passed (polled)
pc_e2e_wait 5 test "$(now_ms)" -ge $((first_at + 2000))
send grey-2 $GREY_CLIENT grey@sender.test
status=$?
if [ $status = 0 ] && delivered grey-2; then
	ok "Postfix: the retry after the 2 s delay is accepted and delivered"
else
	not_ok "Postfix: the retry after the delay (swaks status $status)"
	explain "$PC_DIR/grey-2.out" "$PC_DIR/rate.log"
fi

check "Postfix logs the 451s as milter-reject" \
	grep -q 'milter-reject: MAIL from .*451 4.7.1 Rate limit exceeded' "$PC_DIR/postfix/maillog"
check "no refused message reached the sink" \
	bash -c "! grep -rqE '^Subject: (burst-4|grey-1)\$' '$PC_DIR/sink/msgs'"
check "both queues are empty: everything accepted was delivered" queues_empty

finish
