#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-stack.sh STACK RELAY AUTH RATE CLIENT PORTCULLIS: portcullis-stack
# against the daemons it hosts.
#
# Differential: 720 generated SMTP sessions (4 listener roles x trusted or
# not x logged in or not x no TLS, TLS 1.1 or 1.3 x 5 envelope senders x 3
# header Froms, each with 7 recipients of every class: local, foreign,
# subdomain, domains.d, source route, bang path, IP literal) are played
# against portcullis-relay, -auth and -rate on their own and against the
# stack hosting the three; every step's answer of the stack must be what an
# MTA with the three attached in that order gets (stack-compare.py); a
# connection limit of rate's refuses the last MX sessions.
# Then what is the stack's own: members chosen by [stack] members, and
# only their stages negotiated; configuration errors naming file, line,
# section and key; a reload that changes every member's snapshot or none;
# decision lines and verdict metrics under each member's name; the control
# socket answering each member's commands (portcullis bans, limits). TAP.
set -u
STACK=$1
RELAY=$2
AUTH=$3
RATE=$4
CLIENT=$5
PORTCULLIS=$6
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-stack-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

STATS_PORT=$(pick_port)
mkdir -p "$PC_DIR/domains.d" "$PC_DIR/control"
cat >"$PC_DIR/sender_login" <<'EOF2'
alice@example.com	alice
@example.net	bob, alice
EOF2
cat >"$PC_DIR/domains.d/example.org.conf" <<'EOF2'
[auth]
senders = carol@example.org = carol
EOF2
# write_config FILE [EXTRA]
write_config() {
	cat >"$1" <<EOF2
[global]
local_domains = example.com; example.net; .sub.example.com
trusted_networks = 127.0.0.0/8
domains_dir = $PC_DIR/domains.d
statistics = 127.0.0.1:$STATS_PORT
control_dir = $PC_DIR/control
user =

[listener.mx]
role = mx
ports = 25
daemon_names = MX

[listener.submission]
role = submission
ports = 587
daemon_names = ORIGINATING

[listener.smtps]
role = smtps
ports = 465
daemon_names = SMTPS

[listener.internal]
role = internal
ports = 10025
daemon_names = INTERNAL

[auth]
sender_login_maps = $PC_DIR/sender_login
require_tls = submission; smtps

[relay]
probe_limit = 0
${2:-}
EOF2
}
# a rate limit both sides count alike: connections, counted at CONNECT,
# where no member before rate refuses (probe_limit = 0), refused at MAIL
write_config "$PC_DIR/e.conf" "[stack]
members = relay; auth; rate

[rate.mx_connections]
key = client_ip
count = connections
rate = 20/1h
roles = mx
action = tempfail"

if start_daemon "$RELAY" relay "$PC_DIR/e.conf" && start_daemon "$AUTH" auth "$PC_DIR/e.conf" &&
	start_daemon "$RATE" rate "$PC_DIR/e.conf" && start_daemon "$STACK" stack "$PC_DIR/e.conf"; then
	ok "portcullis-stack starts beside the daemons it hosts, on one configuration"
else
	not_ok "portcullis-stack and the daemons start" "$PC_DIR/stack.log"
	finish
	exit 1
fi
check "the stack names what it hosts" \
	grep -q 'notice: hosting relay, auth, rate on one milter connection' "$PC_DIR/stack.log"

# ------------------------------------------------------------ differential
declare -A MACRO=([mx]=MX [submission]=ORIGINATING [smtps]=SMTPS [internal]=INTERNAL)
RCPTS=("<friend@example.com>" "<x@outside.test>" "<y@a.sub.example.com>"
	"<carol@example.org>" "<@outside.test:x@example.com>" "<outside.test!x@example.com>"
	"<x@[192.0.2.1]>")
: >"$PC_DIR/matrix.scn"
sessions=0
for role in mx submission smtps internal; do
	for client in 198.51.100.7 127.0.0.1; do
		for login in - alice; do
			for tls in - TLSv1.1 TLSv1.3; do
				for sender in "<alice@example.com>" "<bob@example.net>" \
					"<carol@example.org>" "<>" "<x@outside.test>"; do
					for from in same "Alice <alice@example.com>" "Carol <carol@example.org>"; do
						{
							echo "# $role $client $login $tls $sender $from"
							echo "macro {daemon_name} ${MACRO[$role]}"
							echo "connect $client port 40000 name client.test"
							echo "helo client.test"
							[ "$tls" != - ] && printf '%s\n' "starttls $tls 256" "helo client.test"
							[ "$login" != - ] && echo "auth $login"
							echo "mail $sender"
							for r in "${RCPTS[@]}"; do echo "rcpt $r"; done
							echo "data"
							if [ "$from" = same ]; then
								a=${sender#<}
								echo "header From: ${a%>}"
							else
								echo "header From: $from"
							fi
							echo "header Subject: a test"
							echo "body hello"
							echo "eom"
						} >>"$PC_DIR/matrix.scn"
						sessions=$((sessions + 1))
					done
				done
			done
		done
	done
done
echo quit >>"$PC_DIR/matrix.scn"
for name in stack relay auth rate; do
	"$CLIENT" -s "unix:$PC_DIR/$name.sock" "$PC_DIR/matrix.scn" >"$PC_DIR/matrix-$name.out" 2>&1
done
if /usr/bin/python3 "$HERE/stack-compare.py" "$PC_DIR/matrix-stack.out" "$PC_DIR/matrix-relay.out" \
	"$PC_DIR/matrix-auth.out" "$PC_DIR/matrix-rate.out" >"$PC_DIR/compare.out" 2>&1; then
	ok "$sessions sessions: every answer of the stack is the chain's ($(tail -1 "$PC_DIR/compare.out"))"
else
	not_ok "$sessions sessions: the stack answers as relay, auth and rate in a chain" "$PC_DIR/compare.out"
fi
refusals=$(grep -cE ': (reject|tempfail) ' "$PC_DIR/matrix-stack.out")
check "the matrix has refusals of every member: relay at RCPT, auth at MAIL and EOH, rate at MAIL ($refusals)" bash -c "
	grep -q 'relay: action=reject, stage=rcpt' '$PC_DIR/stack.log' &&
	grep -q 'auth: action=reject, stage=mail' '$PC_DIR/stack.log' &&
	grep -q 'auth: action=reject, stage=eoh' '$PC_DIR/stack.log' &&
	grep -q 'rate: action=tempfail, stage=mail' '$PC_DIR/stack.log'"
# a member's mutation would show: drop auth from the chain and it differs
if /usr/bin/python3 "$HERE/stack-compare.py" "$PC_DIR/matrix-stack.out" "$PC_DIR/matrix-relay.out" \
	"$PC_DIR/matrix-rate.out" >/dev/null 2>&1; then
	not_ok "the comparison sees a missing member (relay and rate alone are not the stack)"
else
	ok "the comparison sees a missing member (relay and rate alone are not the stack)"
fi

# ------------------------------------------------------ members and errors
# relay alone: what the others need is not negotiated, and they are not asked
write_config "$PC_DIR/r.conf" "[stack]
members = relay
statistics ="
sed -i "s|^statistics = 127.*|statistics =|" "$PC_DIR/r.conf"
start_daemon "$STACK" r "$PC_DIR/r.conf"
# two stacks under one control_dir: the second does not take the first's socket
check "a second stack under the same control_dir leaves the first's control socket alone" \
	grep -q 'control socket off: another process is listening on .*stack/stack.control' "$PC_DIR/r.log"
stop_pid "$PID_r"
sed -i "s|^control_dir = .*|control_dir =|" "$PC_DIR/r.conf"
start_daemon "$STACK" r "$PC_DIR/r.conf"
cat >"$PC_DIR/r.scn" <<'EOF2'
macro {daemon_name} MX
connect 198.51.100.7 port 40000 name client.test
helo client.test
auth alice
mail <carol@example.org>
expect continue
rcpt <x@outside.test>
expect continue
data
header From: carol@example.org
expect continue
eom
expect continue
quit
EOF2
run_client r "$PC_DIR/r.scn"
check "members = relay: auth is not asked (it refuses AUTH on mx and carol's address)" \
	grep -qE '^5 mail <carol@example.org>: continue( \(|$)' "$PC_DIR/r.scn.out"
check "... and only relay's stages are negotiated (no headers)" \
	grep -q 'header From: carol@example.org: continue (skipped: SMFIP_NOHDRS)' "$PC_DIR/r.scn.out"

# [stack] members: errors name the file, the line, the section and the key
for members in "relay; relay|relay is named twice" "relay; frob|'frob' is not a daemon a stack hosts" \
	"|no daemon named"; do
	write_config "$PC_DIR/bad.conf" "[stack]
members = ${members%%|*}"
	line=$(grep -n '^members' "$PC_DIR/bad.conf" | cut -d: -f1)
	"$STACK" -n -c "$PC_DIR/bad.conf" -p "unix:$PC_DIR/bad.sock" >"$PC_DIR/bad.out" 2>&1
	check "members = ${members%%|*}: refused, naming bad.conf:$line, [stack] and members" \
		grep -qF "bad.conf:$line: [stack]: members: ${members#*|}" "$PC_DIR/bad.out"
done
"$STACK" -n -c "$PC_DIR/e.conf" -p "unix:$PC_DIR/n.sock" >"$PC_DIR/n.out" 2>&1
check "-n: the stack's configuration is valid" grep -q 'configuration .* is valid' "$PC_DIR/n.out"

# a reload changes every member's snapshot, or none: a broken map (auth)
# beside a new local domain (relay) leaves relay refusing that domain
cat >"$PC_DIR/reload.scn" <<'EOF2'
macro {daemon_name} MX
connect 198.51.100.7 port 40000 name client.test
helo client.test
mail <x@outside.test>
rcpt <a@newdomain.test>
quit
EOF2
run_client stack "$PC_DIR/reload.scn"
check "before the reload: newdomain.test is foreign" grep -q 'rcpt <a@newdomain.test>: reject 554' "$PC_DIR/reload.scn.out"
cp "$PC_DIR/e.conf" "$PC_DIR/e.conf.good"
sed -i 's/^local_domains = .*/&; newdomain.test/; s|^sender_login_maps = .*|sender_login_maps = /nonexistent/map|' "$PC_DIR/e.conf"
lines=$(wc -l <"$PC_DIR/stack.log")
kill -HUP "$PID_stack"
wait_until 10 bash -c "tail -n +$((lines + 1)) '$PC_DIR/stack.log' | grep -q 'reload failed'"
check "a reload with one member's file broken fails, naming the member and the file" \
	bash -c "tail -n +$((lines + 1)) '$PC_DIR/stack.log' | grep -q 'reload failed, keeping the running configuration: member auth: .*nonexistent/map'"
run_client stack "$PC_DIR/reload.scn"
check "... and relay keeps its snapshot too: newdomain.test is still foreign" \
	grep -q 'rcpt <a@newdomain.test>: reject 554' "$PC_DIR/reload.scn.out"
sed -i 's|^sender_login_maps = .*|sender_login_maps = '"$PC_DIR"'/sender_login|' "$PC_DIR/e.conf"
lines=$(wc -l <"$PC_DIR/stack.log")
kill -HUP "$PID_stack"
wait_until 10 bash -c "tail -n +$((lines + 1)) '$PC_DIR/stack.log' | grep -q 'reload: configuration'"
run_client stack "$PC_DIR/reload.scn"
check "a good reload: every member's new snapshot (newdomain.test is local)" \
	grep -q 'rcpt <a@newdomain.test>: continue' "$PC_DIR/reload.scn.out"
cp "$PC_DIR/e.conf.good" "$PC_DIR/e.conf"

# ------------------------------------------------- names, metrics, control
metric() { # metric NAME LABELS: the value the stack's /metrics shows
	http_get 127.0.0.1 "$((STATS_PORT + 5))" /metrics |
		awk -v want="$1{$2}" '$1 == want { print $2 }'
}
for member in relay auth; do
	logged=$(grep -c "$member: action=reject" "$PC_DIR/stack.log")
	counted=$(metric portcullis_verdicts_total "daemon=\"$member\",action=\"reject\"")
	check "$member's rejects are counted under its own name on the stack's port +5 ($counted, logged $logged)" \
		test "${counted:-x}" = "$logged"
done
# the admin command: a daemon without a socket of its own is asked through
# the stack's (the daemons of the differential stop first)
for pid in "$PID_relay" "$PID_auth" "$PID_rate"; do stop_pid "$pid"; done
tool() { "$PORTCULLIS" "$@" -c "$PC_DIR/e.conf" >"$PC_DIR/out" 2>&1; }
if tool bans && grep -q '^0 banned' "$PC_DIR/out"; then
	ok "portcullis bans reaches the relay member through the stack's control socket"
else
	not_ok "portcullis bans reaches the relay member through the stack's control socket" "$PC_DIR/out"
fi
tool limits show 198.51.100.7
cp "$PC_DIR/out" "$PC_DIR/limits.out"
check "portcullis limits show reaches the rate member" grep -qF '[rate.mx_connections] client_ip 198.51.100.7' "$PC_DIR/out"
lines=$(wc -l <"$PC_DIR/stack.log")
tool reload
check "portcullis reload: the stack reloads once, for its members" \
	bash -c "grep -qx 'stack: reloading' '$PC_DIR/out' || grep -q '^stack' '$PC_DIR/out'"
check "... and it did reload" wait_until 10 bash -c "tail -n +$((lines + 1)) '$PC_DIR/stack.log' | grep -q 'reload: configuration'"
check "... and no hosted daemon is said not to run (sign, not hosted, is)" \
	bash -c "! grep -qE '^(relay|auth|rate): not running' '$PC_DIR/out' && grep -q '^sign: not running' '$PC_DIR/out'"
tool reload sign
check "portcullis reload sign: not hosted by the stack, so not sent to it" \
	bash -c "! grep -q '^stack' '$PC_DIR/out' && grep -q 'portcullis-sign cannot be reached' '$PC_DIR/out'"

finish
