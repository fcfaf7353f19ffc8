#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-auth.sh AUTH CLIENT: portcullis-auth as a real process on
# a private unix socket, driven by pc-milter-client with the macros Postfix
# and Sendmail send: the role matrix, TLS minimums, ownership of the envelope
# sender and of the header From in its many forms, the signals (held with
# smfi_quarantine), the map's reload and what happens when it cannot be read.
# TAP output.
set -u
AUTH=$1
CLIENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-auth-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

STATS_PORT=$(pick_port)
ALICE=alice@example.com
MAP=$PC_DIR/sender_login
mkdir -p "$PC_DIR/domains.d"
printf '[auth]\nsenders = carol@example.org = carol; @example.org = orgadmin\n' \
	>"$PC_DIR/domains.d/example.org.conf"

write_map() { # write_map [EXTRA LINE]: replaced by rename, as admins' tools do
	{
		echo "# who may send as whom"
		echo "alice@example.com   alice@example.com, alice-app"
		echo "@example.net        bob"
		echo "postmaster          alice@example.com"
		# SMTPUTF8: jörg@bücher.example, owned by JÖRG (UTF-8 bytes)
		printf 'j\xc3\xb6rg@b\xc3\xbccher.example  J\xc3\x96RG\n'
		[ -n "${1:-}" ] && echo "$1"
	} >"$MAP.tmp"
	mv "$MAP.tmp" "$MAP"
}
write_map

# write_config FILE [AUTH-LINES] [STATISTICS]
write_config() {
	cat >"$1" <<EOF
[global]
local_domains = example.com; example.net
trusted_networks = 127.0.0.1/32; 10.0.0.0/8
domains_dir = $PC_DIR/domains.d
statistics = ${3:-}
user =

[listener.mx]
role = mx
ports = 25
daemon_names = MX MTA

[listener.submission]
role = submission
ports = 587
daemon_names = ORIGINATING MSA

[listener.smtps]
role = smtps
ports = 465
daemon_names = SMTPS MTA-SSL

[listener.internal]
role = internal
ports = 10025
daemon_names = INTERNAL

[auth]
sender_login_maps = $MAP
${2:-}
EOF
}

start_auth() { start_daemon "$AUTH" "$1" "$2"; }

# reload NAME: SIGHUP, then wait for the next "reload:" outcome line
reload() {
	local before
	before=$(reload_count "$1")
	eval "kill -HUP \$PID_$1"
	# the count is read again at every try, not once
	wait_until 10 reloaded_since "$1" "$before"
}
reload_count() { grep -cE 'reload: configuration .* loaded|reload failed' "$PC_DIR/$1.log"; }
reloaded_since() { [ "$(reload_count "$1")" -gt "$2" ]; }

# the daemon names each MTA gives its listeners
declare -A NAMES_postfix=([mx]=MX [sub]=ORIGINATING [smtps]=SMTPS [int]=INTERNAL [other]=OTHER)
declare -A NAMES_sendmail=([mx]=MTA [sub]=MSA [smtps]=MTA-SSL [int]=INTERNAL [other]=OTHER)

# conn MTA KIND IP TLS BITS LOGIN: a new SMTP session up to MAIL ("-": no TLS / no AUTH)
conn() {
	local -n names="NAMES_$1"
	echo "mta $1"
	echo "macro {daemon_name} ${names[$2]}"
	echo "connect $3 port $((40000 + RANDOM % 20000)) name client.test"
	echo "helo client.test"
	if [ "$4" != - ]; then
		echo "starttls $4 $5"
		echo "helo client.test"
	fi
	[ "$6" != - ] && echo "auth $6"
	return 0
}

# message FROM: the rest of an accepted transaction, with a From header
message() {
	echo "rcpt <friend@outside.test>"
	echo "expect continue"
	echo "data"
	echo "header From: $1"
	echo "header Subject: test"
	echo "body hello"
	echo "eom"
	echo "expect continue"
}

# ----------------------------------------------------------- role matrix
# KIND IP TLS BITS LOGIN SENDER | expected reply at MAIL
ROLE_ROWS=(
	"mx 198.51.100.7 - - - <x@outside.test>|continue"
	"mx 198.51.100.7 TLSv1 40 - <x@outside.test>|continue"
	"mx 198.51.100.7 - - - <$ALICE>|continue"
	"mx 127.0.0.1 - - - <anyone@example.net>|continue"
	"mx 198.51.100.7 TLSv1.3 256 $ALICE <$ALICE>|reject 554 5.7.1 Authentication not allowed on this port; use submission (587) or smtps (465)"
	"mx 198.51.100.7 - - $ALICE <$ALICE>|reject 554 5.7.1 Authentication not allowed on this port"
	"other 198.51.100.7 TLSv1.3 256 $ALICE <$ALICE>|reject 554 5.7.1 Authentication not allowed on this port"
	"other 198.51.100.7 - - - <x@outside.test>|continue"
	"sub 198.51.100.7 - - - <$ALICE>|reject 530 5.7.0 Must issue a STARTTLS command first"
	"sub 198.51.100.7 - - $ALICE <$ALICE>|reject 530 5.7.0 Must issue a STARTTLS command first"
	"sub 198.51.100.7 TLSv1.3 256 - <$ALICE>|reject 530 5.7.0 Authentication required"
	"sub 127.0.0.1 TLSv1.3 256 - <$ALICE>|reject 530 5.7.0 Authentication required"
	"sub 198.51.100.7 TLSv1.1 256 $ALICE <$ALICE>|reject 554 5.7.0 TLS version TLSv1.1 is below the minimum TLSv1.2"
	"sub 198.51.100.7 TLSv1 256 $ALICE <$ALICE>|reject 554 5.7.0 TLS version TLSv1 is below the minimum TLSv1.2"
	"sub 198.51.100.7 TLSv1.2 112 $ALICE <$ALICE>|reject 554 5.7.0 TLS cipher strength 112 bits is below the minimum 128"
	"sub 198.51.100.7 TLSv1.2 128 $ALICE <$ALICE>|continue"
	"sub 198.51.100.7 TLSv1.3 256 $ALICE <$ALICE>|continue"
	"sub 198.51.100.7 TLSv1.3 256 alice-app <$ALICE>|continue"
	"sub 198.51.100.7 TLSv1.3 256 $ALICE <bob@example.com>|reject 553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user $ALICE"
	"sub 198.51.100.7 TLSv1.3 256 $ALICE <>|reject 553 5.7.1 <>: Sender address rejected: not owned by user $ALICE"
	"sub 198.51.100.7 TLSv1.3 256 bob <anyone@example.net>|continue"
	"sub 198.51.100.7 TLSv1.3 256 carol <carol@example.org>|continue"
	"sub 198.51.100.7 TLSv1.3 256 $ALICE <postmaster@example.com>|continue"
	"smtps 198.51.100.7 TLSv1.3 256 $ALICE <$ALICE>|continue"
	"smtps 198.51.100.7 TLSv1.3 256 - <$ALICE>|reject 530 5.7.0 Authentication required"
	"smtps 198.51.100.7 TLSv1.1 256 $ALICE <$ALICE>|reject 554 5.7.0 TLS version TLSv1.1"
	"int 127.0.0.1 - - - <app@example.com>|continue"
	"int 127.0.0.1 - - - <$ALICE>|continue"
	"int 10.1.2.3 - - $ALICE <$ALICE>|continue"
	"int 10.1.2.3 - - $ALICE <bob@example.com>|reject 553 5.7.1 <bob@example.com>: Sender address rejected"
	"int 198.51.100.7 - - - <app@example.com>|reject 554 5.7.1 Access denied"
	"int 198.51.100.7 TLSv1.3 256 $ALICE <$ALICE>|reject 554 5.7.1 Access denied"
)

role_scenario() { # role_scenario MTA
	for row in "${ROLE_ROWS[@]}"; do
		read -r kind ip tls bits login sender <<<"${row%%|*}"
		conn "$1" "$kind" "$ip" "$tls" "$bits" "$login"
		echo "mail $sender"
		echo "expect ${row#*|}"
		if [ "${row#*|}" = continue ]; then
			message "${sender//[<>]/}"
		else
			echo "abort"
		fi
		echo "quit"
	done
}

# ------------------------------------------------------ header From forms
# From header value | expected reply at EOH (login alice, envelope <alice@...>)
FROM_ROWS=(
	"$ALICE|continue"
	"Alice Smith <$ALICE>|continue"
	"\"Smith, Alice\" <$ALICE>|continue"
	"=?utf-8?q?Alice_Sm=C3=ADth?= <$ALICE>|continue"
	"$ALICE (Alice)|continue"
	"ALICE@Example.COM|continue"
	"Alice <@relay.test:$ALICE>|continue"
	"Bob <bob@example.com>|reject 553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user $ALICE"
	"=?utf-8?q?alice@example.com?= <evil@outside.test>|reject 553 5.7.1 <evil@outside.test>: Sender address rejected: not owned by user $ALICE"
	"$ALICE <evil@outside.test>|reject 553 5.7.1 <evil@outside.test>: Sender address rejected"
	"\"$ALICE\" <evil@outside.test>|reject 553 5.7.1 <evil@outside.test>: Sender address rejected"
	"evil@outside.test ($ALICE)|reject 553 5.7.1 <evil@outside.test>: Sender address rejected"
	"undisclosed-recipients:;|reject 550 5.7.1 From header must contain a valid address"
	"Alice|reject 550 5.7.1 From header must contain a valid address"
	"=?utf-8?q?alice@example.com?=|reject 550 5.7.1 From header must contain a valid address"
	"Alice <$ALICE|reject 550 5.7.1 From header must contain a valid address"
	"$ALICE, postmaster@example.com|reject 550 5.7.1 From header with several addresses needs a Sender header"
)

from_scenario() { # from_scenario MTA
	conn "$1" sub 198.51.100.7 TLSv1.3 256 "$ALICE"
	for row in "${FROM_ROWS[@]}"; do
		echo "mail <$ALICE>"
		echo "expect continue"
		echo "rcpt <friend@outside.test>"
		echo "data"
		echo "header From: ${row%%|*}"
		echo "header Subject: test"
		echo "eoh"
		echo "expect ${row#*|}"
		if [ "${row#*|}" = continue ]; then
			echo "body hello"
			echo "eom"
			echo "expect continue"
		else
			echo "abort"
		fi
	done
	# Sender and several From headers
	cat <<EOF
mail <$ALICE>
rcpt <friend@outside.test>
data
header From: $ALICE
header From: $ALICE
eoh
expect reject 550 5.7.1 Message must have exactly one From header
abort
mail <$ALICE>
rcpt <friend@outside.test>
data
header From: $ALICE, postmaster@example.com
header Sender: Alice <$ALICE>
eoh
expect continue
eom
expect continue
mail <$ALICE>
rcpt <friend@outside.test>
data
header From: $ALICE
header Sender: bob@example.com
eoh
expect reject 553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user $ALICE
abort
mail <$ALICE>
rcpt <friend@outside.test>
data
header Subject: no From at all: the MTA adds one from the checked envelope
eom
expect continue
quit
EOF
}

# ------------------------------------------------------- SMTPUTF8 and case
# the client's \xHH escapes: jörg is j\xc3\xb6rg, JÖRG J\xc3\x96RG, the
# decomposed JÖRG JO\xcc\x88RG, bücher b\xc3\xbccher, BÜCHER B\xc3\x9cCHER
JORG='j\xc3\xb6rg'
BUCHER='b\xc3\xbccher.example'
utf8_scenario() { # utf8_scenario MTA
	cat <<EOF
$(conn "$1" sub 198.51.100.7 TLSv1.3 256 'JO\xcc\x88RG')
mail <J\xc3\x96RG@B\xc3\x9cCHER.Example> SMTPUTF8
expect continue
$(message "J\xc3\xb6rg <$JORG@$BUCHER>")
mail <$JORG@$BUCHER>
expect continue
rcpt <friend@outside.test>
data
header From: =?utf-8?q?J=C3=B6rg?= <JO\xcc\x88RG@B\xc3\x9cCHER.example>
eoh
expect continue
abort
mail <$JORG@$BUCHER> SMTPUTF8
rcpt <friend@outside.test>
data
header From: bob@example.com
eoh
expect reject 553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user JO\xcc\x88RG
abort
quit
$(conn "$1" sub 198.51.100.7 TLSv1.3 256 jorg)
mail <$JORG@$BUCHER> SMTPUTF8
expect reject 553 5.7.1 <$JORG@$BUCHER>: Sender address rejected: not owned by user jorg
abort
mail <$JORG@$BUCHER>
expect reject 553 5.7.1 <j??rg@b??cher.example>: Sender address rejected: not owned by user jorg
abort
quit
$(conn "$1" sub 198.51.100.7 TLSv1.3 256 "$JORG")
mail <$JORG@xn--bcher-kva.example> SMTPUTF8
expect reject 553 5.7.1 <$JORG@xn--bcher-kva.example>: Sender address rejected: not owned by user $JORG
abort
mail <j\xf6rg@$BUCHER> SMTPUTF8
expect reject 553 5.7.1 <j?rg@$BUCHER>: Sender address rejected: not owned by user $JORG
abort
mail <jorg@$BUCHER> SMTPUTF8
expect reject 553 5.7.1 <jorg@$BUCHER>: Sender address rejected
abort
quit
EOF
}

write_config "$PC_DIR/a.conf" "" "127.0.0.1:$STATS_PORT"
if start_auth a "$PC_DIR/a.conf"; then
	ok "portcullis-auth starts and listens on its unix socket"
else
	not_ok "portcullis-auth starts and listens on its unix socket" "$PC_DIR/a.log"
	finish
	exit 1
fi

for mta in postfix sendmail; do
	role_scenario $mta >"$PC_DIR/roles-$mta.scn"
	check "$mta: role matrix, TLS minimums and envelope ownership (${#ROLE_ROWS[@]} sessions)" \
		run_client a "$PC_DIR/roles-$mta.scn"
	from_scenario $mta >"$PC_DIR/from-$mta.scn"
	check "$mta: header From forms (${#FROM_ROWS[@]}), several From headers, Sender" \
		run_client a "$PC_DIR/from-$mta.scn"
done

for mta in postfix sendmail; do
	utf8_scenario $mta >"$PC_DIR/utf8-$mta.scn"
	check "$mta: SMTPUTF8 case folding (JÖRG@BÜCHER is jörg@bücher, logins too; A-label, Latin-1 and ASCII look-alikes apart) and UTF-8 replies only after MAIL ... SMTPUTF8" \
		run_client a "$PC_DIR/utf8-$mta.scn"
done
check "the UTF-8 refusal is logged in ASCII, escaped" \
	grep -qF 'reason=sender-not-owned, client=client.test[198.51.100.7], listener=submission, login=jorg, from=<j\xC3\xB6rg@b\xC3\xBCcher.example>, reply="553 5.7.1 <j\xC3\xB6rg@b\xC3\xBCcher.example>: Sender address rejected: not owned by user jorg"' "$PC_DIR/a.log"

check "a decision line per refusal, with login and the header address" \
	grep -qE "auth: action=reject, stage=eoh, reason=from-not-owned, client=client.test\[198.51.100.7\], listener=submission, login=$ALICE, from=<$ALICE>, header_from=<evil@outside.test>, reply=\"553 5.7.1 <evil@outside.test>: Sender address rejected: not owned by user $ALICE\"" "$PC_DIR/a.log"
check "the mx refusal is logged with its reason" \
	grep -q "reason=auth-on-mx, client=client.test\[198.51.100.7\], listener=mx" "$PC_DIR/a.log"
check "sendmail's listener names resolve (MSA is submission)" \
	grep -q "reason=tls-required, client=client.test\[198.51.100.7\], listener=submission" "$PC_DIR/a.log"

# [global] statistics is relay's port; auth listens one above it
metrics=$(http_get 127.0.0.1 "$((STATS_PORT + 1))" /metrics)
check "metrics: portcullis_auth_denied_total counts by reason" \
	grep -qE '^portcullis_auth_denied_total\{reason="from-not-owned"\} [1-9]' <<<"$metrics"
check "metrics: no login or address in any label" \
	bash -c "! grep -E 'portcullis_auth.*(alice|example\.com)' <<<'$metrics'"

# --------------------------------------- owned senders, not logged in
# unauthenticated_owned_senders = mx:reject: a client that is not logged in
# may not use a sender some key lists (Postfix's
# reject_unauthenticated_sender_login_mismatch); internal keeps accepting
write_config "$PC_DIR/u.conf" "unauthenticated_owned_senders = mx:reject"
start_auth u "$PC_DIR/u.conf"
NOT_LOGGED_IN="reject 553 5.7.1"
UNAUTH_ROWS=(
	"mx 198.51.100.7 <$ALICE>|$NOT_LOGGED_IN <$ALICE>: Sender address rejected: not logged in"
	"mx 198.51.100.7 <ALICE@Example.COM>|$NOT_LOGGED_IN <ALICE@example.com>: Sender address rejected: not logged in"
	"mx 198.51.100.7 <anyone@example.net>|$NOT_LOGGED_IN <anyone@example.net>: Sender address rejected: not logged in"
	"mx 198.51.100.7 <postmaster@example.com>|$NOT_LOGGED_IN <postmaster@example.com>: Sender address rejected: not logged in"
	"mx 198.51.100.7 <postmaster>|$NOT_LOGGED_IN <postmaster>: Sender address rejected: not logged in"
	"mx 198.51.100.7 <carol@example.org>|$NOT_LOGGED_IN <carol@example.org>: Sender address rejected: not logged in"
	"mx 127.0.0.1 <$ALICE>|$NOT_LOGGED_IN <$ALICE>: Sender address rejected: not logged in"
	"other 198.51.100.7 <$ALICE>|$NOT_LOGGED_IN <$ALICE>: Sender address rejected: not logged in"
	"mx 198.51.100.7 <bob@example.com>|continue"
	"mx 198.51.100.7 <postmaster@outside.test>|continue"
	"mx 198.51.100.7 <x@outside.test>|continue"
	"mx 198.51.100.7 <>|continue"
	"mx 198.51.100.7 <alice@exa..mple.com>|reject 501 5.1.7 Bad sender address syntax"
	"int 127.0.0.1 <$ALICE>|continue"
	"sub 198.51.100.7 <$ALICE>|reject 530 5.7.0 Must issue a STARTTLS command first"
)

unauth_scenario() { # unauth_scenario MTA
	for row in "${UNAUTH_ROWS[@]}"; do
		read -r kind ip sender <<<"${row%%|*}"
		conn "$1" "$kind" "$ip" - - -
		echo "mail $sender"
		echo "expect ${row#*|}"
		if [ "${row#*|}" = continue ]; then
			message "${sender//[<>]/}"
		else
			echo "abort"
		fi
		echo "quit"
	done
	# UTF-8 in the reply for an SMTPUTF8 client; the owner's spelling does not matter
	conn "$1" mx 198.51.100.7 - - -
	echo "mail <J\xc3\x96RG@B\xc3\x9cCHER.example> SMTPUTF8"
	echo "expect reject 553 5.7.1 <J\xc3\x96RG@b\xc3\x9ccher.example>: Sender address rejected: not logged in"
	echo "abort"
	echo "quit"
	# a logged-in client on mx is still refused for logging in there
	conn "$1" mx 198.51.100.7 TLSv1.3 256 "$ALICE"
	echo "mail <$ALICE>"
	echo "expect reject 554 5.7.1 Authentication not allowed on this port"
	echo "quit"
}

for mta in postfix sendmail; do
	unauth_scenario $mta >"$PC_DIR/unauth-$mta.scn"
	check "$mta: not logged in, an owned sender is refused on mx (mx:reject), trusted clients too; unowned, <> and internal pass (${#UNAUTH_ROWS[@]} sessions)" \
		run_client u "$PC_DIR/unauth-$mta.scn"
done
check "the refusal is logged with its reason, greppable like the other auth decisions" \
	grep -qF "auth: action=reject, stage=mail, reason=sender-not-logged-in, client=client.test[198.51.100.7], listener=mx, from=<$ALICE>, reply=\"553 5.7.1 <$ALICE>: Sender address rejected: not logged in\"" "$PC_DIR/u.log"
check "... and never names a login (there is none)" \
	bash -c "! grep 'reason=sender-not-logged-in.*login=' '$PC_DIR/u.log'"
stop_pid "$PID_u"

write_config "$PC_DIR/ubad.conf" "unauthenticated_owned_senders = mx:reject, mx:accept"
check "a role named twice is an error naming file, line, section and key" \
	bash -c "'$AUTH' -n -c '$PC_DIR/ubad.conf' 2>&1 | grep -qF '$PC_DIR/ubad.conf:30: [auth]: unauthenticated_owned_senders: role mx named twice'"
write_config "$PC_DIR/ubad.conf" "unauthenticated_owned_senders = bounce"
check "a value that is not reject, accept or ROLE:VALUE is an error" \
	bash -c "'$AUTH' -n -c '$PC_DIR/ubad.conf' 2>&1 | grep -qF \"$PC_DIR/ubad.conf:30: [auth]: unauthenticated_owned_senders: 'bounce' is not reject, accept or ROLE:reject|accept\""

# ---------------------------------------------------------------- signals
write_config "$PC_DIR/s.conf" "max_networks_per_login = 2
max_recipients_per_login = 3" "127.0.0.1:$(pick_port)"
start_auth s "$PC_DIR/s.conf"
cat >"$PC_DIR/networks.scn" <<EOF
$(conn postfix sub 198.51.100.7 TLSv1.3 256 "$ALICE")
mail <$ALICE>
$(message "$ALICE")
expect-no-mod quarantine
$(conn postfix sub 198.51.100.99 TLSv1.3 256 "$ALICE")
mail <$ALICE>
$(message "$ALICE")
expect-no-mod quarantine
$(conn sendmail sub 2001:db8:7:7::1 TLSv1.3 256 "$ALICE")
mail <$ALICE>
$(message "$ALICE")
expect-no-mod quarantine
$(conn postfix sub 203.0.113.7 TLSv1.3 256 "$ALICE")
mail <$ALICE>
expect continue
rcpt <friend@outside.test>
data
header From: $ALICE
eom
expect quarantine
expect-mod quarantine Too many client networks for user $ALICE (3, limit 2)
quit
EOF
check "a login from a third network (IPv4 /24, IPv6 /64) is held with smfi_quarantine" \
	run_client s "$PC_DIR/networks.scn"
check "the hold is logged once, at EOM, with the counts" \
	grep -qE "auth: action=quarantine, stage=eom, reason=signal-networks, .*login=$ALICE, .*signal=networks, count=3, limit=2" "$PC_DIR/s.log"
cat >"$PC_DIR/recipients.scn" <<EOF
$(conn sendmail sub 198.51.100.7 TLSv1.3 256 alice-app)
mail <$ALICE>
rcpt <a@outside.test>
rcpt <A@OUTSIDE.test>
rcpt <b@outside.test>
rcpt <c@outside.test>
expect continue
data
header From: $ALICE
eom
expect-no-mod quarantine
mail <$ALICE>
rcpt <d@outside.test>
expect continue
data
header From: $ALICE
eom
expect quarantine
expect-mod quarantine Too many recipients for user alice-app (4, limit 3)
quit
EOF
check "a fourth distinct recipient in the window is held (spellings of one count once)" \
	run_client s "$PC_DIR/recipients.scn"
metrics=$(http_get 127.0.0.1 "$(($(sed -n 's/^statistics = 127.0.0.1://p' "$PC_DIR/s.conf") + 1))" /metrics)
check "metrics: portcullis_auth_signals_total{signal,action}" \
	grep -qE '^portcullis_auth_signals_total\{signal="networks",action="quarantine"\} 1$' <<<"$metrics"

write_config "$PC_DIR/t.conf" "max_networks_per_login = 1
signal_action = tempfail"
start_auth t "$PC_DIR/t.conf"
cat >"$PC_DIR/tempfail.scn" <<EOF
$(conn postfix sub 198.51.100.7 TLSv1.3 256 "$ALICE")
mail <$ALICE>
expect continue
$(conn postfix sub 203.0.113.7 TLSv1.3 256 "$ALICE")
mail <$ALICE>
expect tempfail 451 4.7.1 Too many client networks for user $ALICE, try again later
quit
EOF
check "signal_action = tempfail answers 451 at the stage that saw it" \
	run_client t "$PC_DIR/tempfail.scn"

# ------------------------------------------------------------- map reload
bob_scenario() { # bob_scenario EXPECT: alice sends as bob@example.com
	{
		conn postfix sub 198.51.100.50 TLSv1.3 256 "$ALICE"
		echo "mail <bob@example.com>"
		echo "expect $1"
		echo "quit"
	} >"$PC_DIR/bob.scn"
	run_client a "$PC_DIR/bob.scn"
}
check "before the reload alice does not own bob@example.com" bob_scenario "reject 553 5.7.1"
write_map "bob@example.com alice@example.com"
reload a
check "SIGHUP re-reads sender_login_maps: the new owner applies" bob_scenario continue

mv "$MAP" "$MAP.away"
reload a
check "a map that cannot be read fails the reload, naming the file" \
	grep -qE "reload failed, keeping the running configuration: $PC_DIR/a.conf:[0-9]+: \[auth\]: sender_login_maps: cannot read $MAP: No such file" "$PC_DIR/a.log"
check "... and the running configuration keeps its map" bob_scenario continue
mv "$MAP.away" "$MAP"

# the map belongs to the configuration snapshot: failed reloads keep the
# running one, map included, and no connection ever reads the file
printf '[auth]\nno_such_key = 1\n' >"$PC_DIR/domains.d/broken.test.conf"
for i in 1 2 3 4; do
	write_map "v$i@example.com alice@example.com"
	reload a
done
check "failed reloads are reported and the daemon keeps running" \
	bash -c "[ \$(grep -c 'reload failed.*broken.test.conf' '$PC_DIR/a.log') -ge 4 ] && kill -0 $PID_a"
mv "$MAP" "$MAP.away"
check "the running snapshot's map decides though the file is gone (no read on a connection)" \
	bob_scenario continue
write_map
rm "$PC_DIR/domains.d/broken.test.conf"
reload a
check "a good reload after the broken ones" grep -q 'reload: configuration .* loaded' "$PC_DIR/a.log"
check "... and the map it read decides" bob_scenario "reject 553 5.7.1"

# --------------------------------------------------------- start-up errors
write_config "$PC_DIR/nomap.conf" ""
sed -i "s|^sender_login_maps = .*|sender_login_maps = $PC_DIR/missing-map|" "$PC_DIR/nomap.conf"
if "$AUTH" -f -c "$PC_DIR/nomap.conf" -p "unix:$PC_DIR/nomap.sock" >"$PC_DIR/nomap.out" 2>&1; then
	not_ok "a map that cannot be read at start is fatal" "$PC_DIR/nomap.out"
else
	check "a map that cannot be read at start is fatal, naming config, section, key and file" \
		grep -qE "$PC_DIR/nomap.conf:[0-9]+: \[auth\]: sender_login_maps: cannot read $PC_DIR/missing-map: No such file" "$PC_DIR/nomap.out"
fi
check "-n checks the map too (exit 1)" bash -c "! '$AUTH' -n -c '$PC_DIR/nomap.conf' >/dev/null 2>&1"
check "-n on a good config exits 0" "$AUTH" -n -c "$PC_DIR/a.conf" -p "unix:$PC_DIR/n.sock"
write_config "$PC_DIR/regexp.conf" ""
sed -i "s|^sender_login_maps = .*|sender_login_maps = pcre:/etc/postfix/senders.pcre|" "$PC_DIR/regexp.conf"
check "a table type that is not a flat file is refused" \
	bash -c "'$AUTH' -n -c '$PC_DIR/regexp.conf' 2>&1 | grep -q \"table type 'pcre' is not supported\""

# ------------------------------------------------------------- map quirks
# what postmap accepts and nothing is ambiguous about is accepted (a key
# repeated with the same owners: kept once, a warning naming both lines);
# the rest is an error naming the map's file and line, under the config's
QMAP=$PC_DIR/quirk-map
write_config "$PC_DIR/q.conf" ""
sed -i "s|^sender_login_maps = .*|sender_login_maps = hash:$QMAP|" "$PC_DIR/q.conf"
QLINE=$(grep -n '^sender_login_maps' "$PC_DIR/q.conf" | cut -d: -f1)
QUIRK_ROWS=(
	"a@example.com a\nb@example.com b\na@example.com c\n|$QMAP:3: a@example.com is already listed at line 1 with other owners"
	"a@example.com a\nlonely@example.com\n|$QMAP:2: lonely@example.com has no owner"
	"# catch-all?\n@ alice\n|$QMAP:2: '@' alone is no key"
	"alice@ alice\n|$QMAP:1: a key ending in '@' is never looked up"
	"postmaster: alice\n|$QMAP:1: a key ending in ':' is never looked up"
	"a@example.com a,\n  b\nj\xf6rg@example.com j\n|$QMAP:3: not valid UTF-8"
	"\"john doe@example.com john\n|$QMAP:1: the quoted key is not \"local part\"@domain (a quote is not closed)"
	"john\\\\ doe@example.com john\n|$QMAP:1: quotes and backslashes belong around a whole local part"
)
for row in "${QUIRK_ROWS[@]}"; do
	printf "${row%%|*}" >"$QMAP"
	want="$PC_DIR/q.conf:$QLINE: [auth]: sender_login_maps: ${row#*|}"
	check "map refused with config line, map file and line: ...quirk-map:${row#*"$QMAP":}" \
		bash -c "! '$AUTH' -n -c '$PC_DIR/q.conf' >'$PC_DIR/q.out' 2>&1 && grep -qF -- \"\$1\" '$PC_DIR/q.out'" _ "$want"
done
printf 'alice@example.com alice\n# again, as a tool may write it\nALICE@Example.COM  Alice\n' >"$QMAP"
check "-n accepts a key repeated with the same owners and warns, naming both lines" \
	bash -c "'$AUTH' -n -c '$PC_DIR/q.conf' -p 'unix:$PC_DIR/n.sock' >'$PC_DIR/q.out' 2>&1 && grep -qF 'sender_login_maps: $QMAP:3: alice@example.com repeats line 1 with the same owners (kept once)' '$PC_DIR/q.out'"
start_auth q "$PC_DIR/q.conf"
check "... and so does the daemon at start" \
	grep -qF "sender_login_maps: $QMAP:3: alice@example.com repeats line 1 with the same owners (kept once)" "$PC_DIR/q.log"
cat >"$PC_DIR/quirk.scn" <<EOF
$(conn postfix sub 198.51.100.7 TLSv1.3 256 ALICE)
mail <alice@example.com>
expect continue
abort
mail <bob@example.com>
expect reject 553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user ALICE
quit
EOF
check "... the key owns as written once" run_client q "$PC_DIR/quirk.scn"
stop_pid "$PID_q"

stop_pid "$PID_a"
check "SIGTERM: clean stop, socket removed" bash -c "! [ -e '$PC_DIR/a.sock' ] && grep -q stopping '$PC_DIR/a.log'"

finish
