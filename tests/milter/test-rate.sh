#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-rate.sh RATE CLIENT: portcullis-rate as a real process
# (memory store) on private unix sockets, driven by pc-milter-client with the
# macros Postfix and Sendmail send: one limit per key and count, the retry
# time in the reply, refused mail not counted, greylisting with a 2 s delay,
# metrics, decision lines, reload. TAP output.
set -u
RATE=$1
CLIENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-rate-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

STATS_PORT=$(pick_port)
mkdir -p "$PC_DIR/domains.d"

# write_config NAME [STATISTICS]: the fixed part, then stdin (the [rate.*] sections)
write_config() {
	{
		cat <<EOF
[global]
local_domains = example.com
trusted_networks = 127.0.0.1/32
domains_dir = $PC_DIR/domains.d
statistics = ${2:-}
user =

[listener.mx]
role = mx
ports = 25
daemon_names = MX

[listener.submission]
role = submission
ports = 587
daemon_names = ORIGINATING

[rate]
EOF
		cat
	} >"$PC_DIR/$1.conf"
}

# start_rate NAME: see start_daemon in lib.sh (NAME.conf)
start_rate() { start_daemon "$RATE" "$1"; }

# scenario NAME: stdin to $PC_DIR/NAME.scn, prefixed with the MTA profile in $MTA
scenario() {
	{
		echo "mta $MTA"
		if [ "$MTA" = postfix ]; then
			echo "macro {daemon_name} ${DAEMON_NAME:-MX}"
		else
			# Sendmail's {daemon_name} matches no listener: role mx, as configured
			echo "macro {daemon_name} MTA"
		fi
		cat
	} >"$PC_DIR/$1.scn"
	echo "$PC_DIR/$1.scn"
}

# ------------------------------------------------------- one daemon, all limits
# Each limit has its own key space in the scenarios below (client addresses,
# senders, recipient domains), so they do not get in each other's way.
write_config all "127.0.0.1:$STATS_PORT" <<'EOF'
[rate.per_client]
key = client_ip
count = messages
rate = 2/1h
roles = mx

[rate.per_net]
key = client_net
count = connections
rate = 2/1h
ipv4_prefix = 24
roles = mx

[rate.per_login]
key = login
count = recipients
rate = 3/1h
roles = submission

[rate.per_sender_domain]
key = sender_domain
count = bytes
rate = 10k/1h
roles = submission

[rate.to_domain]
key = recipient_domain
count = messages
rate = 1/1h
roles = submission

[rate.per_sender]
key = sender
count = messages
rate = 1/1h
action = reject
roles = submission
EOF
if start_rate all; then
	ok "rate starts with six limits and listens on its unix socket"
else
	not_ok "rate starts with six limits and listens on its unix socket" "$PC_DIR/all.log"
	finish
	exit 1
fi

n=0
for MTA in postfix sendmail; do
	n=$((n + 1))
	# client_ip / messages: two pass, the third is deferred with the wait in the reply
	f=$(scenario client-$MTA <<EOF
connect 198.51.$n.7 port 40000 name c.test
expect continue
helo c.test
mail <a@sender.test>
rcpt <u@example.com>
data
body one
eom
expect continue
mail <b@sender.test>
rcpt <u@example.com>
data
body two
eom
expect continue
mail <c@sender.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1800 seconds
mail <c@sender.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1800 seconds
quit
reconnect
connect 198.51.$n.8 port 40001 name d.test
mail <a@sender.test>
expect continue
quit
EOF
)
	check "$MTA: client_ip/messages: 2/1h lets two through, the third gets 451 with 1800 s" run_client all "$f"

	# client_net / connections: the third connection from the /24 is answered at
	# MAIL (CONNECT takes no reply: the MAIL in each connection waits for it)
	f=$(scenario net-$MTA <<EOF
connect 203.0.$n.1 port 40000 name c.test
mail <a@sender.test>
expect continue
quit
reconnect
connect 203.0.$n.2 port 40000 name c.test
mail <a@sender.test>
expect continue
quit
reconnect
connect 203.0.$n.3 port 40000 name c.test
mail <a@sender.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1800 seconds
quit
reconnect
connect 203.0.$((n + 100)).3 port 40000 name c.test
mail <a@sender.test>
expect continue
quit
EOF
)
	check "$MTA: client_net/connections: the third connection from a /24 is refused at MAIL, another /24 is not" run_client all "$f"
done

# the submission limits: Postfix's ORIGINATING listener (Sendmail's daemon name
# matches no listener here, so the same limits are checked with Postfix only)
MTA=postfix
DAEMON_NAME=ORIGINATING
f=$(scenario login <<'EOF'
connect 192.0.2.10 port 40000 name sub.test
auth alice@hosted.test
mail <alice@hosted.test>
rcpt <r1@one.test>
rcpt <r2@two.test>
data
body hi
eom
expect continue
mail <alice2@hosted.test>
rcpt <r3@three.test>
expect continue
rcpt <r4@four.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1200 seconds
rcpt <r5@five.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1200 seconds
data
body hi
eom
expect continue
mail <alice3@hosted.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 1200 seconds
quit
EOF
)
check "login/recipients: 3/1h counts accepted recipients only, refused ones are not charged" run_client all "$f"

f=$(scenario bytes <<'EOF'
connect 192.0.2.11 port 40000 name sub.test
auth bob@hosted.test
mail <bob@bytes.test> SIZE=6000
rcpt <x@b1.test>
data
body-size 6000
eom
expect continue
mail <bob2@bytes.test> SIZE=6000
expect tempfail 451 4.7.1 Rate limit exceeded, try again in
mail <bob3@bytes.test> SIZE=3000
rcpt <x@b2.test>
data
body-size 3000
eom
expect continue
quit
EOF
)
check "sender_domain/bytes: SIZE= checked at MAIL, the body size committed at EOM" run_client all "$f"

f=$(scenario rcptdomain <<'EOF'
connect 192.0.2.12 port 40000 name sub.test
auth carol@hosted.test
mail <carol@c1.test>
rcpt <a@dest.test>
rcpt <b@dest.test>
data
body hi
eom
expect continue
mail <carol@c2.test>
rcpt <c@dest.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 3600 seconds
rcpt <c@other-dest.test>
expect continue
quit
EOF
)
check "recipient_domain/messages: counted once per message and domain" run_client all "$f"

f=$(scenario sender <<'EOF'
connect 192.0.2.13 port 40000 name sub.test
auth dave@hosted.test
mail <dave@d.test>
rcpt <a@d1.test>
data
body hi
eom
expect continue
mail <DAVE@D.TEST>
expect reject 550 5.7.1 Rate limit exceeded
quit
EOF
)
check "sender/messages with action = reject: 550 5.7.1, the address compared case-insensitively" run_client all "$f"

DAEMON_NAME=MX
f=$(scenario trusted <<'EOF'
connect 127.0.0.1 port 40000 name localhost
mail <a@sender.test>
rcpt <u@example.com>
data
body one
eom
expect continue
mail <a@sender.test>
rcpt <u@example.com>
data
body two
eom
expect continue
mail <a@sender.test>
expect continue
quit
EOF
)
check "a trusted client is exempt" run_client all "$f"

check "decision line: queue id, stage, limit and retry" \
	grep -qE 'NOQUEUE: rate: action=tempfail, stage=mail, reason=rate-limit, client=c.test\[198.51.1.7\], listener=mx, from=<c@sender.test>, limit=per_client, retry=1800, reply="451 4.7.1 Rate limit exceeded' "$PC_DIR/all.log"
check "decision line for a refused recipient names the limit" \
	grep -qE ': rate: action=tempfail, stage=rcpt, reason=rate-limit, .*rcpt=<r4@four.test>, limit=per_login, retry=1200' "$PC_DIR/all.log"

# [global] statistics is relay's port; rate listens two above it
metrics=$(http_get 127.0.0.1 "$((STATS_PORT + 2))" /metrics)
check "metrics: portcullis_rate_limited_total by limit and action" \
	grep -qE '^portcullis_rate_limited_total\{limit="per_client",action="tempfail"\} 4$' <<<"$metrics"
check "metrics: the reject action is its own series" \
	grep -qE '^portcullis_rate_limited_total\{limit="per_sender",action="reject"\} 1$' <<<"$metrics"
check "metrics: portcullis_store_fallback_total is exported (memory store: 0)" \
	grep -qE '^portcullis_store_fallback_total 0$' <<<"$metrics"

# ----------------------------------------------------------- quarantine
write_config quar <<'EOF'
[rate.hold]
key = client_ip
count = messages
rate = 1/1h
action = quarantine
EOF
start_rate quar
for MTA in postfix sendmail; do
	f=$(scenario quar-$MTA <<EOF
connect 198.18.0.$([ $MTA = postfix ] && echo 1 || echo 2) port 40000 name c.test
mail <a@sender.test>
rcpt <u@example.com>
data
body one
eom
expect continue
mail <a@sender.test>
expect continue
rcpt <u@example.com>
expect continue
data
body two
eom
expect quarantine
expect-mod quarantine portcullis-rate: limit hold exceeded
quit
EOF
)
	check "$MTA: action = quarantine holds the message over the limit instead of refusing it" run_client quar "$f"
done

# ----------------------------------------------------------- greylisting
write_config grey <<'EOF'
[greylist]
enabled = yes
delay = 2s
retry_window = 1m
allow_domains = friendly.test
EOF
start_rate grey
for MTA in postfix sendmail; do
	ip=198.19.$([ $MTA = postfix ] && echo 1 || echo 2).5
	first=$(scenario grey1-$MTA <<EOF
connect $ip port 40000 name c.test
mail <a@sender.test>
rcpt <u@example.com>
expect tempfail 451 4.7.1 Greylisted, try again in 2 seconds
rcpt <v@example.com>
expect tempfail 451 4.7.1 Greylisted, try again in
mail <a@friendly.test>
rcpt <u@example.com>
expect continue
quit
reconnect
connect $ip port 40001 name c.test
auth someone
mail <a@sender.test>
rcpt <w@example.com>
expect continue
quit
EOF
)
	retry=$(scenario grey2-$MTA <<EOF
connect $ip port 40002 name c.test
mail <A@sender.test>
rcpt <u@example.com>
expect continue
data
body hi
eom
expect continue
quit
EOF
)
	check "$MTA: greylisting defers the first attempt; allow lists and AUTH pass" run_client grey "$first"
	# the feature is time-based: wait out the 2 s delay, not a condition
	sleep 2.05
	check "$MTA: the retry after the delay is accepted" run_client grey "$retry"
done
too_early=$(scenario grey3 <<'EOF'
connect 198.19.3.5 port 40000 name c.test
mail <a@sender.test>
rcpt <u@example.com>
expect tempfail 451 4.7.1 Greylisted, try again in 2 seconds
rcpt <u@example.com>
expect tempfail 451 4.7.1 Greylisted, try again in
quit
EOF
)
check "a retry before the delay is deferred again" run_client grey "$too_early"
check "greylisting logs reason=greylisted" \
	grep -qE 'rate: action=tempfail, stage=rcpt, reason=greylisted, .*rcpt=<u@example.com>, reply="451 4.7.1 Greylisted' "$PC_DIR/grey.log"

# ----------------------------------------------------- per-domain override
write_config dom <<'EOF'
[rate.per_login]
key = login
count = messages
rate = 1/1h
EOF
printf '[rate.per_login]\nrate = 3/1h\n' >"$PC_DIR/domains.d/big.test.conf"
start_rate dom
MTA=postfix
f=$(scenario dom <<'EOF'
connect 192.0.2.20 port 40000 name c.test
auth alice@big.test
mail <alice@big.test>
rcpt <x@y.test>
data
body 1
eom
expect continue
mail <alice@big.test>
rcpt <x@y.test>
data
body 2
eom
expect continue
quit
reconnect
connect 192.0.2.21 port 40000 name c.test
auth bob@small.test
mail <bob@small.test>
rcpt <x@y.test>
data
body 1
eom
expect continue
mail <bob@small.test>
expect tempfail 451 4.7.1 Rate limit exceeded, try again in 3600 seconds
quit
EOF
)
check "domains.d/DOMAIN.conf overrides a limit's rate for that domain's logins" run_client dom "$f"

# ---------------------------------------------------- reload and checking
printf '[rate.per_login]\nrate = lots\n' >"$PC_DIR/domains.d/big.test.conf"
kill -HUP "$PID_dom"
check "a bad rate in a domain file fails the reload, naming file, line, section and key" \
	wait_log "$PC_DIR/dom.log" "reload failed, keeping the running configuration: $PC_DIR/domains.d/big.test.conf:2: \[rate.per_login\] rate: 'lots' is not a rate"
if "$RATE" -n -c "$PC_DIR/dom.conf" >"$PC_DIR/n.out" 2>&1; then
	not_ok "-n on a broken config exits non-zero" "$PC_DIR/n.out"
else
	check "-n reports the broken domain file" grep -q "big.test.conf:2: \[rate.per_login\] rate" "$PC_DIR/n.out"
fi
rm "$PC_DIR/domains.d/big.test.conf"
check "-n -v prints every limit" bash -c "'$RATE' -n -v -c '$PC_DIR/all.conf' -p 'unix:$PC_DIR/n.sock' | grep -q '^\[rate.per_sender_domain\]'"

for name in all quar grey dom; do
	eval "pid=\$PID_$name"
	stop_pid "$pid"
done
check "SIGTERM: clean stop" grep -q stopping "$PC_DIR/all.log"

finish
