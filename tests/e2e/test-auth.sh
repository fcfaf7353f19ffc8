#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-auth.sh RELAY AUTH: portcullis-auth after portcullis-relay
# in a real Postfix and a real Sendmail. SASL login alice@example.com, who
# owns alice@example.com only. Authenticated submission (STARTTLS, AUTH) as
# her own address is delivered; an envelope sender or a header From she does
# not own gets 553; AUTH on the MX listener is refused; a second client
# network for her login (max_networks_per_login = 1) holds the message:
# Postfix's hold queue, Sendmail's quarantine. On port 25 a client that is
# not logged in may not use her address (unauthenticated_owned_senders =
# mx:reject). SMTPUTF8: a UTF-8 sender in other case is hers, and refusals
# keep their UTF-8 only for a client that asked for SMTPUTF8. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
AUTH=$2

ALICE=$PC_E2E_LOGIN
# another /24 on lo than $OUTSIDE (127.0.0.0/24): the second network
OTHER_NET=127.1.0.2
NOT_OWNED="Sender address rejected: not owned by user $ALICE"

# alice also owns jörg@example.com (UTF-8), written in capitals
printf '%s %s\nJ\xc3\x96RG@example.com %s\n' "$ALICE" "$ALICE" "$ALICE" >"$PC_DIR/sender_login"
chmod 0644 "$PC_DIR/sender_login"
PC_SUITE_DAEMONS="auth=$AUTH"
PC_SUITE_CONF_EXTRA="[auth]
sender_login_maps = $PC_DIR/sender_login
max_networks_per_login = 1
signal_action = quarantine
unauthenticated_owned_senders = mx:reject"
# Postfix's MX listener (the snippet's smtp service) offers no AUTH at all,
# so no authenticated transaction can reach the milter there; here AUTH is
# switched on globally so that it can, and portcullis-auth must refuse it.
# (Sendmail offers AUTH on every listener once TLS is up.) SMTPUTF8 on, as
# Postfix's default is (the harness turns it off for the other tests).
PC_POSTFIX_MAIN_EXTRA="smtpd_sasl_auth_enable = yes
smtputf8_enable = yes"
pc_suite_start_or_bail

# submit MTA ROLE TOKEN FROM [SWAKS-ARGUMENT...]: STARTTLS, AUTH as alice,
# envelope sender FROM, from ${CLIENT:-$OUTSIDE}, "Subject: TOKEN", to
# bob@outside.test. Transcript in $PC_DIR/TOKEN.out, swaks's status returned.
submit() {
	local mta=$1 role=$2 token=$3 from=$4 auth
	shift 4
	read -ra auth <<<"$(pc_e2e_swaks_auth)"
	pc_e2e_swaks "$PC_DIR/$token.out" --server "127.0.0.1:$(port "$mta" "$role")" \
		-li "${CLIENT:-$OUTSIDE}" --ehlo client.example.org --tls "${auth[@]}" \
		--from "$from" --to bob@outside.test --header "Subject: $token" "$@"
}

for mta in pf sm; do
	name=$(mta_name $mta)

	token=owned-$mta
	submit $mta submission $token "$ALICE"
	status=$?
	if [ $status = 0 ] && delivered $token && in_sink $token 'with ESMTPSA id' &&
		in_sink $token "^X-Mail-Args: <$ALICE>"; then
		ok "$name: submission (STARTTLS, AUTH) as an owned sender is delivered"
	else
		not_ok "$name: submission as an owned sender (swaks status $status)"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi

	token=envelope-$mta
	submit $mta submission $token bob@example.com
	status=$?
	# Sendmail puts the address before a MAIL reply: "<addr>... " + the text
	prefix=""
	[ $mta = sm ] && prefix="<bob@example.com>\\.\\.\\. "
	if [ $status = 23 ] && replied $token "^553 5.7.1 $prefix<bob@example.com>: $NOT_OWNED\$" &&
		daemon_logged auth "auth: action=reject, stage=mail, .*login=$ALICE"; then
		ok "$name: an unowned envelope sender gets 553 5.7.1 ${prefix//\\/}<bob@example.com>: $NOT_OWNED at MAIL"
	else
		not_ok "$name: unowned envelope sender (swaks status $status)"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi

	token=header-$mta
	submit $mta submission $token "$ALICE" --header "From: Bob <bob@example.com>"
	status=$?
	if [ $status = 26 ] && replied $token "^553 5.7.1 <bob@example.com>: $NOT_OWNED\$" &&
		! pc_e2e_sink_has "$PC_DIR" "Subject: $token"; then
		ok "$name: an owned envelope with a foreign header From gets 553 after DATA, nothing delivered"
	else
		not_ok "$name: foreign header From (swaks status $status)"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi

	token=mx-auth-$mta
	submit $mta mx $token "$ALICE"
	status=$?
	if [ $status = 23 ] &&
		replied $token '^554 5.7.1 Authentication not allowed on this port; use submission \(587\) or smtps \(465\)$' &&
		replied $token '^235 '; then
		ok "$name: AUTH succeeds on the MX listener, then portcullis-auth refuses the transaction with 554 5.7.1 at MAIL"
	else
		not_ok "$name: AUTH on the MX listener (swaks status $status)"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi
done

# ------------------------------- owned senders from clients not logged in
# unauthenticated_owned_senders = mx:reject: on port 25, a client that is
# not logged in may not use alice's address; other senders pass
for mta in pf sm; do
	name=$(mta_name $mta)
	token=unauth-owned-$mta
	pc_e2e_swaks "$PC_DIR/$token.out" --server "127.0.0.1:$(port $mta mx)" -li "$OUTSIDE" \
		--ehlo client.example.org --from "$ALICE" --to user@example.com --header "Subject: $token"
	status=$?
	prefix=""
	[ $mta = sm ] && prefix="<$ALICE>\\.\\.\\. "
	if [ $status = 23 ] &&
		replied $token "^553 5.7.1 $prefix<$ALICE>: Sender address rejected: not logged in\$" &&
		daemon_logged auth "auth: action=reject, stage=mail, reason=sender-not-logged-in, client=[^,]*, listener=mx, from=<$ALICE>"; then
		ok "$name: port 25, not logged in, an owned sender gets 553 5.7.1 Sender address rejected: not logged in"
	else
		not_ok "$name: an owned sender without a login (swaks status $status)"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi
	token=unauth-other-$mta
	session $mta mx $token --to user@example.com
	status=$?
	if [ $status = 0 ] && delivered $token; then
		ok "$name: port 25, not logged in, a sender nobody owns is delivered"
	else
		not_ok "$name: a sender nobody owns, not logged in (swaks status $status)"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi
done

# ------------------------------------------------------------ SMTPUTF8
# python's smtplib: swaks 20201014 cannot send MAIL ... SMTPUTF8. STARTTLS,
# AUTH PLAIN as alice, MAIL FROM:<SENDER> [SMTPUTF8], QUIT; prints whether
# EHLO offered SMTPUTF8 and the MAIL reply (UTF-8 bytes as sent). Nothing is
# sent on: smtp-sink offers no SMTPUTF8, so Postfix would bounce a UTF-8
# sender's message at the last hop
utf8_session() { # utf8_session MTA TOKEN SENDER yes|no
	python3 - 127.0.0.1 "$(port "$1" submission)" "$OUTSIDE" "$ALICE" "$PC_E2E_SASL_PASSWORD" \
		"$3" "$4" "$2" >"$PC_DIR/$2.out" 2>&1 <<'PY'
import smtplib, ssl, sys
host, port, source, login, password, sender, utf8, token = sys.argv[1:9]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
smtp = smtplib.SMTP(host, int(port), local_hostname="client.example.org",
                    source_address=(source, 0), timeout=20)
smtp.ehlo()
smtp.starttls(context=context)
smtp.ehlo()
print("smtputf8-offered:", "yes" if smtp.has_extn("smtputf8") else "no")
smtp.user, smtp.password = login, password
smtp.auth("PLAIN", smtp.auth_plain)
smtp.send(b"MAIL FROM:<" + sender.encode() + b">" + (b" SMTPUTF8" if utf8 == "yes" else b"") + b"\r\n")
code, text = smtp.getreply()
sys.stdout.flush()
sys.stdout.buffer.write(b"mail: %d %s\n" % (code, text))
sys.stdout.buffer.flush()
smtp.quit()
PY
}
JORG=$(printf 'j\xc3\xb6rg')
BUCHER=$(printf 'b\xc3\xbccher.example')
for mta in pf sm; do
	name=$(mta_name $mta)
	token=utf8-owned-$mta
	utf8_session $mta $token "$(printf 'J\xc3\x96RG')@EXAMPLE.com" yes
	if [ $mta = sm ] && grep -q '^smtputf8-offered: no' "$PC_DIR/$token.out"; then
		ok "$name: SMTPUTF8 # SKIP this Sendmail does not offer SMTPUTF8 (built without EAI)"
		continue
	fi
	if grep -q '^mail: 250' "$PC_DIR/$token.out" &&
		! daemon_logged auth "action=reject, stage=mail, .*from=<J\\\\xC3\\\\x96RG@EXAMPLE.com>"; then
		ok "$name: MAIL FROM:<JÖRG@EXAMPLE.com> SMTPUTF8 is owned by the login that owns jörg@example.com (UTF-8 case folding)"
	else
		not_ok "$name: a UTF-8 sender in other case"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi
	token=utf8-refused-$mta
	utf8_session $mta $token "$JORG@$BUCHER" yes
	prefix=""
	[ $mta = sm ] && prefix="<$JORG@$BUCHER>... "
	if grep -qF "mail: 553 5.7.1 $prefix<$JORG@$BUCHER>: $NOT_OWNED" "$PC_DIR/$token.out"; then
		ok "$name: after MAIL ... SMTPUTF8 the refusal reaches the client in UTF-8 (<jörg@bücher.example>)"
	else
		not_ok "$name: a UTF-8 reply text for an SMTPUTF8 client"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi
	# without SMTPUTF8 Postfix refuses a UTF-8 domain itself (501 5.1.7),
	# and lets a UTF-8 local part through (strict_smtputf8 = no)
	token=utf8-ascii-$mta
	utf8_session $mta $token "$JORG@outside.test" no
	if grep -qF "<j??rg@outside.test>: $NOT_OWNED" "$PC_DIR/$token.out"; then
		ok "$name: without SMTPUTF8 the reply text stays ASCII (<j??rg@outside.test>)"
	else
		not_ok "$name: an ASCII reply text without SMTPUTF8"
		explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
	fi
done

# ------------------------------------------- a second network: held
# every session above came from $OUTSIDE's /24; alice now logs in from
# another one, over max_networks_per_login = 1: accepted and held
token=network-pf
CLIENT=$OTHER_NET submit pf submission $token "$ALICE"
status=$?
if [ $status = 0 ] &&
	daemon_logged auth "auth: action=quarantine, stage=eom, reason=signal-networks, .*login=$ALICE, .*count=2, limit=1"; then
	ok "Postfix: a login from a second /24 ($OTHER_NET) is accepted (250) and held by portcullis-auth"
else
	not_ok "Postfix: a login from a second network (swaks status $status)"
	explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
fi
# postqueue -p marks a message in the hold queue with "!" after its id
held_in_postfix() {
	postqueue -c "$PC_DIR/postfix/etc" -p 2>/dev/null |
		grep -A2 -E '^[0-9A-F]+!' | grep -qF "$ALICE"
}
if pc_e2e_wait 10 held_in_postfix && [ "$(find "$PC_DIR/postfix/spool/hold" -type f | wc -l)" = 1 ] &&
	grep -qF "milter-hold: END-OF-MESSAGE from unknown[$OTHER_NET]: milter triggers HOLD action" \
		"$PC_DIR/postfix/maillog"; then
	ok "Postfix: the message is in the hold queue (postqueue -p shows it with !)"
else
	not_ok "Postfix: the message is in the hold queue"
	postqueue -c "$PC_DIR/postfix/etc" -p 2>&1 | sed 's/^/# /'
	explain "$PC_DIR/postfix/maillog"
fi

token=network-sm
CLIENT=$OTHER_NET submit sm submission $token "$ALICE"
status=$?
# Sendmail renames a quarantined job's qf file to hf; its q line has the reason
quarantined_in_sendmail() {
	grep -lE "^H\?\?Subject: $token\$" "$PC_DIR"/sendmail/mqueue/hf* 2>/dev/null |
		xargs -r grep -qE "^q.*Too many client networks for user $ALICE \(2, limit 1\)\$"
}
if [ $status = 0 ] && pc_e2e_wait 10 quarantined_in_sendmail; then
	ok "Sendmail: a login from a second /24 is accepted and quarantined (hf file, reason in its q line)"
else
	not_ok "Sendmail: a login from a second network is quarantined (swaks status $status)"
	ls -l "$PC_DIR/sendmail/mqueue" | sed 's/^/# /'
	explain "$PC_DIR/$token.out" "$PC_DIR/auth.log"
fi

# nothing lost: the held messages stayed, the sink never had them, and
# everything else accepted was delivered
only_held_left() {
	[ "$(pc_postfix_queue_count "$PC_DIR")" = 1 ] && [ "$(pc_sendmail_queue_count "$PC_DIR")" = 0 ]
}
check "the held messages did not reach the sink" \
	bash -c "! grep -rqE '^Subject: network-' '$PC_DIR/sink/msgs'"
check "the queues hold nothing but Postfix's held message" pc_e2e_wait 15 only_held_left

finish
