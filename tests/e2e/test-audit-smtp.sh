#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/e2e/test-audit-smtp.sh RELAY PORTCULLIS: `portcullis audit smtp`
# against the harness's Postfix and Sendmail on loopback, from the outside
# client address: the shipped listeners (relay guard attached) give
# STARTTLS on mx and submission, implicit TLS on smtps, no AUTH on mx, AUTH
# only after TLS on submission, and every relay form refused at RCPT; a
# deliberately insecure Postfix listener (no milters, AUTH in clear, no
# STARTTLS) is flagged for each of those, its open relay found by RCPT
# alone (no DATA: the sinks get nothing). --json. TAP.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/suite.sh"
PORTCULLIS=$2
INSECURE_PORT=10589

PC_POSTFIX_MASTER_EXTRA="127.0.0.1:$INSECURE_PORT inet n - n - - smtpd
  -o syslog_name=postfix/insecure
  -o smtpd_milters=
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no
  -o smtpd_tls_security_level=none
  -o milter_macro_daemon_name=INSECURE"
pc_suite_start_or_bail
check "the insecure Postfix listener is up" pc_e2e_wait 10 pc_e2e_listening $INSECURE_PORT

audit() { # audit NAME TARGET...: findings in NAME.out
	local name=$1
	shift
	"$PORTCULLIS" audit smtp --source "$OUTSIDE" --domain example.com --timeout 20 "$@" \
		>"$PC_DIR/$name.out" 2>&1
}
has() { grep -qE -- "$2" "$PC_DIR/$1.out"; }

for mta in pf sm; do
	name=$(mta_name $mta)
	mx=127.0.0.1:$(port $mta mx)
	sub=127.0.0.1:$(port $mta submission)
	smtps=127.0.0.1:$(port $mta smtps)
	audit $mta "$mx/mx" "$sub/submission" "$smtps/smtps"
	check "$name: each listener greets with 220" \
		bash -c "[ \$(grep -cE '^ok +127\.0\.0\.1:[0-9]+ +banner +220 ' '$PC_DIR/$mta.out') = 3 ]"
	check "$name: mx offers STARTTLS" has $mta "^ok +${mx//./\\.} +tls +STARTTLS offered"
	check "$name: mx does not offer AUTH" bash -c "! grep -qE '${mx//./\\.} +auth +AUTH offered on an mx' '$PC_DIR/$mta.out'"
	check "$name: mx refuses every relay form at RCPT (the relay guard)" \
		has $mta "^ok +${mx//./\\.} +relay +6 relay forms refused at RCPT"
	check "$name: submission offers STARTTLS" has $mta "^ok +${sub//./\\.} +tls +STARTTLS offered"
	check "$name: submission offers AUTH only after TLS" \
		has $mta "^ok +${sub//./\\.} +auth +AUTH offered after TLS only"
	check "$name: smtps speaks TLS at once (1.2 or 1.3)" \
		has $mta "^ok +${smtps//./\\.} +tls +TLSv1\.[23], "
	check "$name: the old TLS versions are judged on each TLS listener" \
		bash -c "[ \$(grep -cE ' tls +TLS 1\.[01] (refused|accepted)' '$PC_DIR/$mta.out') = 6 ]"
	check "$name: the harness's self-signed certificate is not trusted here" \
		has $mta "certificate +not trusted here"
	check "$name: no error on the shipped listeners" bash -c "! grep -q '^error' '$PC_DIR/$mta.out'"
done

# the deliberately insecure listener, judged as submission and as mx
audit insecure "127.0.0.1:$INSECURE_PORT/submission"
check "insecure: AUTH before TLS is an error" \
	has insecure '^error +127\.0\.0\.1:10589 +auth +AUTH offered before TLS'
check "insecure: no STARTTLS on a submission listener is an error" \
	has insecure '^error +127\.0\.0\.1:10589 +tls +STARTTLS not offered'
audit insecure-mx "127.0.0.1:$INSECURE_PORT/mx"
check "insecure: AUTH on an mx listener is flagged" \
	has insecure-mx '^warning +127\.0\.0\.1:10589 +auth +AUTH offered on an mx listener'
check "insecure: the open relay is found at RCPT" \
	has insecure-mx '^error +127\.0\.0\.1:10589 +relay +RCPT TO:<relay-test@portcullis-audit\.invalid> accepted'
check "nothing of the battery was delivered (no DATA)" \
	bash -c "! grep -rq 'portcullis-audit' '$PC_DIR/sink/msgs' 2>/dev/null"

"$PORTCULLIS" audit smtp --json --source "$OUTSIDE" --domain example.com "127.0.0.1:$PF_MX/mx" >"$PC_DIR/json.out"
check "--json: the findings as an array" \
	/usr/bin/python3 -c 'import json,sys; f=json.load(open(sys.argv[1])); assert any(x["check"]=="relay" for x in f)' "$PC_DIR/json.out"
"$PORTCULLIS" audit smtp "127.0.0.1:99999" >/dev/null 2>&1
check "a port out of range: status 2" test $? = 2
finish
