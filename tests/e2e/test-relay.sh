#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-relay.sh RELAY: the relay guard in a real Postfix and a real
# Sendmail whose own relay control is open. From the outside address every
# relay form is refused by portcullis-relay, mail for a local domain is
# delivered, and authenticated submission (STARTTLS and implicit TLS) to a
# foreign domain is delivered. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"

# form | recipient, as the client sends it (one session, one RCPT each)
BATTERY=(
	"foreign-domain|victim@outside.test"
	"foreign-domain|VICTIM@OUTSIDE.TEST."
	"percent-hack|user%outside.test@example.com"
	"bang-path|outside.test!user@example.com"
	"source-route|@example.com:victim@outside.test"
	"local-at|\"victim@outside.test\"@example.com"
	"ip-literal|victim@[192.0.2.1]"
)

# rcpt_reply TOKEN RCPT: the server's reply to RCPT TO:<RCPT> in TOKEN's session
rcpt_reply() {
	awk -v want=" -> RCPT TO:<$2>" '
		found { sub(/^ *<[~*]* /, ""); sub(/\r$/, ""); print; exit }
		$0 == want { found = 1 }' "$PC_DIR/$1.out"
}

pc_suite_start_or_bail

for mta in pf sm; do
	name=$(mta_name $mta)

	# ---------------------------------------------------- relay battery
	token=battery-$mta
	recipients=""
	for row in "${BATTERY[@]}"; do recipients="$recipients,${row#*|}"; done
	session $mta mx $token --to "${recipients#,}"
	status=$?
	bad=""
	for row in "${BATTERY[@]}"; do
		rcpt=${row#*|}
		reply=$(rcpt_reply $token "$rcpt")
		# the text as the MTA shows it (the relay puts %% on the wire for a %)
		want="554 5.7.1 <$rcpt>: Relay access denied"
		[ "$reply" = "$want" ] || bad="$bad
want: $want
 got: $reply"
	done
	if [ $status = 24 ] && [ -z "$bad" ]; then
		ok "$name: ${#BATTERY[@]} relay forms from $OUTSIDE refused with 554 5.7.1 <rcpt>: Relay access denied"
	else
		not_ok "$name: relay forms from $OUTSIDE refused (swaks status $status)$(sed 's/^/# /' <<<"$bad")"
		explain "$PC_DIR/$token.out"
	fi
	bad=""
	for row in "${BATTERY[@]}"; do
		rcpt=${row#*|}
		logged=$(regex_quote "${rcpt//\"/\\x22}")
		relay_logged "relay: action=reject, stage=rcpt, reason=${row%%|*}, .*listener=mx, from=<$token@sender.test>, rcpt=<$logged>" ||
			bad="$bad ${row%%|*}:$rcpt"
	done
	if [ -z "$bad" ]; then
		ok "$name: each refusal is portcullis-relay's, with its reason, listener mx"
	else
		not_ok "$name: refusals logged by portcullis-relay; missing:$bad"
		explain "$PC_DIR/relay.log"
	fi

	# --------------------------------------------------- local delivery
	token=local-$mta
	session $mta mx $token --to user@example.com
	status=$?
	# delivered locally: Sendmail's local mailer names the user alone
	if [ $status = 0 ] && delivered $token &&
		[ "$(pc_e2e_sink_where "$PC_DIR" $token)" = local ] &&
		in_sink $token '^X-Rcpt-Args: <user(@example\.com)?>' &&
		in_sink $token "^X-Mail-Args: <$token@sender.test>" &&
		in_sink $token "^Subject: $token\$" &&
		in_sink $token "^Received: from client.example.org .*\[$OUTSIDE\]" &&
		in_sink $token 'with ESMTP id'; then
		ok "$name: mail for a local domain from $OUTSIDE is delivered locally, envelope and headers intact"
	else
		not_ok "$name: local delivery (swaks status $status)"
		explain "$PC_DIR/$token.out" "$(pc_e2e_sink_find "$PC_DIR" $token)"
	fi

	# ------------------------------------- authenticated submission
	for role in submission smtps; do
		token=$role-$mta
		session $mta $role $token --to bob@outside.test
		status=$?
		if [ $status = 0 ] && delivered $token &&
			in_sink $token '^X-Rcpt-Args: <bob@outside.test>' &&
			in_sink $token "^Subject: $token\$" &&
			in_sink $token 'with ESMTPSA id' &&
			! relay_logged "from=<$token@sender.test>"; then
			ok "$name: authenticated $role ($(port $mta $role)) to a foreign domain is delivered"
		else
			not_ok "$name: authenticated $role to a foreign domain (swaks status $status)"
			explain "$PC_DIR/$token.out" "$PC_DIR/relay.log"
		fi
	done
done

# ------------------- unauthenticated on the submission ports: refused
# Postfix (STARTTLS, no AUTH; its own restrictions open): the relay guard
# refuses with the listener's role
token=noauth-pf
session pf submission-noauth $token --to bob@outside.test
status=$?
if [ $status = 24 ] && replied $token '^554 5.7.1 <bob@outside.test>: Relay access denied' &&
	relay_logged "reason=foreign-domain, .*listener=submission, from=<$token@sender.test>"; then
	ok "Postfix: unauthenticated submission to a foreign domain is refused by the relay guard (listener submission)"
else
	not_ok "Postfix: unauthenticated submission (swaks status $status)"
	explain "$PC_DIR/$token.out"
fi
# Sendmail: the snippet's M=Ea makes AUTH mandatory on ORIGINATING
token=noauth-sm
session sm submission-noauth $token --to bob@outside.test
status=$?
if [ $status = 23 ] && replied $token '^530 5.7.0 Authentication required'; then
	ok "Sendmail: the snippet's ORIGINATING listener (M=Ea) requires AUTH: 530 5.7.0 at MAIL"
else
	not_ok "Sendmail: ORIGINATING without AUTH (swaks status $status)"
	explain "$PC_DIR/$token.out"
fi

check "Postfix logs the relay guard's refusals as milter-reject at RCPT" \
	grep -q 'milter-reject: RCPT from .*554 5.7.1 <victim@outside.test>: Relay access denied' \
	"$PC_DIR/postfix/maillog"
check "Sendmail logs the relay guard's refusals as Milter: to=..., reject=554" \
	grep -q 'Milter: to=<victim@outside.test>, reject=554 5.7.1 <victim@outside.test>: Relay access denied' \
	"$PC_DIR/syslog/syslog.log"
check "no message of the battery reached the sink" \
	bash -c "! grep -rqE '^Subject: battery-' '$PC_DIR/sink/msgs'"
check "both queues are empty: everything accepted was delivered" queues_empty

finish
