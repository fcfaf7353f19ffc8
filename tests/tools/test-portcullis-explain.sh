#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-explain.sh PORTCULLIS RELAY AUTH CLIENT PC-TEST-DNS:
# `portcullis explain`.
#  1. Differential: for every combination of listener role, trusted or not,
#     login or not, no TLS / TLS 1.1 / TLS 1.3 and envelope sender (owned,
#     someone else's, another domain's [auth] senders, <>, an outside
#     address), with recipients of every relay class, explain's decisions
#     for auth (MAIL) and relay (each RCPT) are turned into expectations and
#     played against the running portcullis-auth and portcullis-relay with
#     the same configuration: explain must say what the daemons do.
#  2. The reasons name the file and line that decided: sender_login_maps'
#     line, a domains.d file's [auth] senders, local_domains,
#     trusted_networks, require_tls, the listener's role, a [rate.NAME] and
#     [greylist], a signing key's domains.d line, spf_fail_action (--dns).
#  3. Nothing is written: a redis store that cannot be reached does not
#     matter; no DNS without --dns (a dead server does not matter).
#  4. Usage: no listener, an unknown one (its names listed), a bad address,
#     no recipient: status 2. TAP.
set -u
PORTCULLIS=$1
RELAY=$2
AUTH=$3
CLIENT=$4
PC_TEST_DNS=$5
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-explain-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

mkdir -p "$PC_DIR/domains.d" "$PC_DIR/keys"
cat >"$PC_DIR/sender_login" <<'EOF2'
# the test's owners
alice@example.com	alice
@example.net	bob, alice
EOF2
cat >"$PC_DIR/domains.d/example.org.conf" <<'EOF2'
[auth]
senders = carol@example.org = carol
EOF2
# listeners: the line numbers below are asserted, keep them in step
cat >"$PC_DIR/e.conf" <<EOF2
[global]
local_domains = example.com; example.net; .sub.example.com
trusted_networks = 127.0.0.0/8
domains_dir = $PC_DIR/domains.d
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
EOF2
line_of() { grep -n "^$2" "$1" | head -1 | cut -d: -f1; }
CONF_LOCAL=$(line_of "$PC_DIR/e.conf" local_domains)
CONF_TRUSTED=$(line_of "$PC_DIR/e.conf" trusted_networks)
CONF_MAPS=$(line_of "$PC_DIR/e.conf" sender_login_maps)
CONF_REQUIRE=$(line_of "$PC_DIR/e.conf" require_tls)

explain() { "$PORTCULLIS" explain -c "$PC_DIR/e.conf" "$@"; }
# status WANT COMMAND...: the command exits with WANT, output in out/err
status() {
	local want=$1
	shift
	"$@" >"$PC_DIR/out" 2>"$PC_DIR/err"
	[ $? = "$want" ]
}
has() { grep -qF -- "$1" "$PC_DIR/out"; }

if start_daemon "$RELAY" relay "$PC_DIR/e.conf" && start_daemon "$AUTH" auth "$PC_DIR/e.conf"; then
	ok "portcullis-relay and portcullis-auth start on the test configuration"
else
	not_ok "portcullis-relay and portcullis-auth start" "$PC_DIR/auth.log"
	finish
	exit 1
fi

# ------------------------------------------------------------ differential
declare -A MACRO=([mx]=MX [submission]=ORIGINATING [smtps]=SMTPS [internal]=INTERNAL)
RCPTS=("<friend@example.com>" "<x@outside.test>" "<y@a.sub.example.com>"
	"<carol@example.org>" "<@outside.test:x@example.com>" "<outside.test!x@example.com>"
	"<x@[192.0.2.1]>")

# the reply line explain gives for DAEMON's STAGE WHAT ("<addr>") in out
reply_of() { # reply_of DAEMON STAGE WHAT
	awk -v d="$1:" -v prefix="  $2  $3: " '
		/^[a-z]+:/ { inside = (substr($0, 1, length(d)) == d) }
		inside && index($0, prefix) == 1 { print substr($0, length(prefix) + 1); exit }
	' "$PC_DIR/out"
}
# expect_line REPLY: the client's expectation for a reply explain printed
expect_line() {
	case "$1" in
	continue) echo "expect continue" ;;
	4*) echo "expect tempfail $1" ;;
	5*) echo "expect reject $1" ;;
	*) echo "expect UNPARSED $1" ;;
	esac
}

: >"$PC_DIR/auth.scn"
: >"$PC_DIR/relay.scn"
rows=0
missing=0
for role in mx submission smtps internal; do
	for client in 198.51.100.7 127.0.0.1; do
		for login in - alice; do
			for tls in - TLSv1.1 TLSv1.3; do
				for sender in "<alice@example.com>" "<bob@example.com>" \
					"<carol@example.org>" "<>" "<x@outside.test>"; do
					args=(--listener "$role" --client "$client" --from "$sender")
					[ "$login" != - ] && args+=(--login "$login")
					[ "$tls" != - ] && args+=(--tls "$tls")
					for r in "${RCPTS[@]}"; do args+=(--rcpt "$r"); done
					explain "${args[@]}" >"$PC_DIR/out" 2>&1
					conn=("macro {daemon_name} ${MACRO[$role]}"
						"connect $client port 40000 name client.test"
						"helo client.test")
					[ "$tls" != - ] && conn+=("starttls $tls 256" "helo client.test")
					[ "$login" != - ] && conn+=("auth $login")
					mail_reply=$(reply_of auth MAIL "$sender")
					[ -n "$mail_reply" ] || missing=$((missing + 1))
					{
						printf '%s\n' "# $role $client $login $tls $sender" "${conn[@]}"
						echo "mail $sender"
						expect_line "$mail_reply"
						echo "abort"
						echo "quit"
					} >>"$PC_DIR/auth.scn"
					{
						printf '%s\n' "# $role $client $login $tls $sender" "${conn[@]}"
						echo "mail $sender"
						for r in "${RCPTS[@]}"; do
							reply=$(reply_of relay RCPT "$r")
							[ -n "$reply" ] || missing=$((missing + 1))
							echo "rcpt $r"
							expect_line "$reply"
						done
						echo "abort"
						echo "quit"
					} >>"$PC_DIR/relay.scn"
					rows=$((rows + 1))
				done
			done
		done
	done
done
check "explain gave a decision for every one of $rows transactions (auth MAIL, relay RCPT)" \
	test "$missing" = 0
check "explain's auth decisions are portcullis-auth's ($rows transactions)" \
	run_client auth "$PC_DIR/auth.scn"
check "explain's relay decisions are portcullis-relay's ($((rows * ${#RCPTS[@]})) recipients)" \
	run_client relay "$PC_DIR/relay.scn"
check "the table is not all one answer: auth refuses and accepts" \
	bash -c "grep -q 'expect reject 553' '$PC_DIR/auth.scn' && grep -q 'expect reject 530' '$PC_DIR/auth.scn' && grep -q 'expect reject 554' '$PC_DIR/auth.scn' && grep -q 'expect continue' '$PC_DIR/auth.scn'"
check "... and relay refuses and accepts" \
	bash -c "grep -q 'expect reject 554' '$PC_DIR/relay.scn' && grep -q 'expect continue' '$PC_DIR/relay.scn'"

# ------------------------------------------------------------ the reasons
SUB=(--listener submission --client 198.51.100.7 --tls TLSv1.3)
status 0 explain "${SUB[@]}" --login alice --from alice@example.com --rcpt friend@example.com
check "an owned sender: the map's line that lists it and the key that names the map" \
	has "alice@example.com matches the key alice@example.com at $PC_DIR/sender_login:2 ([auth] sender_login_maps at $PC_DIR/e.conf:$CONF_MAPS): alice is one of its owners"
status 0 explain "${SUB[@]}" --login alice --from bob@example.com --rcpt friend@example.com
check "a sender nobody owns: 553, the map has no key for it" \
	has "MAIL  <bob@example.com>: 553 5.7.1 <bob@example.com>: Sender address rejected: not owned by user alice"
check "... and why, naming the map and [auth] senders" \
	has "no owner is listed for bob@example.com: $PC_DIR/sender_login ([auth] sender_login_maps at $PC_DIR/e.conf:$CONF_MAPS) has no key for it"
check "... the summary: the MTA answers MAIL with auth's reply" \
	grep -qE '^  MAIL  553 5\.7\.1 <bob@example\.com>: .*\(auth\)$' "$PC_DIR/out"
status 0 explain "${SUB[@]}" --login bob --from anyone@example.net --rcpt friend@example.com
check "a domain-wide key (@example.net) and its line" \
	has "anyone@example.net matches the key @example.net at $PC_DIR/sender_login:3"
status 0 explain "${SUB[@]}" --login alice --from carol@example.org --rcpt friend@example.com
check "a domains.d file's [auth] senders, with its file and line" \
	has "carol@example.org matches the key carol@example.org of [auth] senders at $PC_DIR/domains.d/example.org.conf:2: alice is not one of its owners"
status 0 explain "${SUB[@]}" --login alice --from alice@example.com \
	--header-from 'Bob <bob@example.com>' --rcpt friend@example.com
check "the From header is explained at EOH" \
	grep -qE '^  EOH   553 5\.7\.1 <bob@example\.com>: Sender address rejected' "$PC_DIR/out"
check "... the summary refuses the DATA" grep -qE '^  DATA  553 5\.7\.1 .*\(auth\)$' "$PC_DIR/out"
status 0 explain --listener submission --client 198.51.100.7 --login alice \
	--from alice@example.com --rcpt friend@example.com
check "no TLS on submission: 530 and require_tls's line" \
	has "TLS is required on submission ([auth] require_tls at $PC_DIR/e.conf:$CONF_REQUIRE)"
status 0 explain --listener submission --client 198.51.100.7 --tls TLSv1.3 \
	--from alice@example.com --rcpt friend@example.com
check "no login on submission: the listener's role and its line" \
	has "the listener's role submission ([listener.submission] role at $PC_DIR/e.conf:13) takes logged-in clients only"
status 0 explain --listener internal --client 198.51.100.7 --from app@example.com \
	--rcpt friend@example.com
check "an untrusted client on an internal listener: trusted_networks' line" \
	has "is not in [global] trusted_networks at $PC_DIR/e.conf:$CONF_TRUSTED"
status 0 explain --listener mx --client 198.51.100.7 --from a@outside.test \
	--rcpt x@elsewhere.test --rcpt friend@example.com
check "a foreign recipient: local_domains' line and the domains.d file looked for" \
	has "elsewhere.test is not ours: [global] local_domains at $PC_DIR/e.conf:$CONF_LOCAL lists neither it nor a parent, and $PC_DIR/domains.d has no elsewhere.test.conf"
check "a local one: local_domains' line" \
	has "example.com is ours: [global] local_domains at $PC_DIR/e.conf:$CONF_LOCAL"
check "the summary: one recipient refused by relay, one accepted, DATA accepted" \
	bash -c "grep -qE '^  RCPT  <x@elsewhere\.test>: 554 5\.7\.1 .*\(relay\)$' '$PC_DIR/out' && grep -qE '^  RCPT  <friend@example\.com>: accepted$' '$PC_DIR/out' && grep -qE '^  DATA  accepted$' '$PC_DIR/out'"
status 0 explain --listener mx --client 198.51.100.7 --from a@outside.test \
	--rcpt carol@example.org
check "a domain with a domains.d file is ours: the file named" \
	has "example.org is ours: $PC_DIR/domains.d/example.org.conf exists"
check "the defaults are said to be defaults" has "[verify] spf_fail_action (default)"
check "verify is not asked DNS without --dns" has "not evaluated: SPF and DMARC need DNS (--dns)"
check "sign is not on the mx list: shown for reference" \
	has "sign: (not on this listener's milter list in the shipped snippets; shown for reference)"

# rate: a limit and greylisting, with their lines
cp "$PC_DIR/e.conf" "$PC_DIR/r.conf"
cat >>"$PC_DIR/r.conf" <<'EOF2'

[rate.per_client]
key = client_ip
count = messages
rate = 100/1h

[greylist]
enabled = yes
EOF2
RATE_LINE=$(grep -n '^rate = 100/1h' "$PC_DIR/r.conf" | cut -d: -f1)
GREY_LINE=$(grep -n '^enabled = yes' "$PC_DIR/r.conf" | cut -d: -f1)
status 0 "$PORTCULLIS" explain -c "$PC_DIR/r.conf" --listener mx --client 198.51.100.7 \
	--from a@outside.test --rcpt friend@example.com
check "rate lists its limits with their lines" has "limits: [rate.per_client] rate at $PC_DIR/r.conf:$RATE_LINE"
check "a first attempt is greylisted: 451 and [greylist] enabled's line" \
	bash -c "grep -qE '^  RCPT  <friend@example\.com>: 451 4\.7\.1 ' '$PC_DIR/out' && grep -qF '[greylist] enabled at $PC_DIR/r.conf:$GREY_LINE' '$PC_DIR/out'"
check "the summary: the MTA defers the recipient (rate)" \
	grep -qE '^  RCPT  <friend@example\.com>: 451 .*\(rate\)$' "$PC_DIR/out"

# sign: a key in a domains.d file
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$PC_DIR/keys/rsa.pem" 2>/dev/null
chmod 600 "$PC_DIR/keys/rsa.pem"
printf '[auth]\nsenders = carol@example.org = carol\n[sign]\nselector = s1\nkey = %s\n' \
	"$PC_DIR/keys/rsa.pem" >"$PC_DIR/domains.d/example.org.conf"
status 0 explain "${SUB[@]}" --login carol --from carol@example.org \
	--header-from carol@example.org --rcpt x@outside.test
check "sign: the signature it would add, with the key file" \
	has "EOM   signs rsa-sha256: d=example.org s=s1 with $PC_DIR/keys/rsa.pem"
check "... and the domains.d line that names the key" \
	has "why: the key of example.org (domain): [sign] key at $PC_DIR/domains.d/example.org.conf:5"
check "... the summary: accepted and signed" \
	grep -qE '^  DATA  accepted, signed: rsa-sha256 d=example\.org s=s1$' "$PC_DIR/out"
status 0 explain "${SUB[@]}" --login alice --from alice@example.com \
	--header-from alice@example.com --rcpt x@outside.test
check "sign: no key for the From domain, and where one would be" \
	has "no key for example.com: [sign] key (default)"

# ------------------------------------------------------------ no writes, no DNS
# a redis store nobody answers, a "DNS server" that records what reaches it,
# rate limits, greylisting and a relay ban after 2 attempts: every decision
# comes from the fresh memory store (no store error), nothing reaches DNS
DNS_TRAP_PORT=$(pick_port)
python3 - "$DNS_TRAP_PORT" "$PC_DIR/dns-trap" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
open(sys.argv[2], "w").close()
try:
    while True:
        data = s.recv(4096)
        with open(sys.argv[2], "a") as f:
            f.write("query\n")
except socket.timeout:
    pass
PY
PIDS+=($!)
wait_until 10 test -f "$PC_DIR/dns-trap"
sed -e "s/^user =\$/user =\nstore = redis:\/\/127.0.0.1:1\/0\ndns = 127.0.0.1@$DNS_TRAP_PORT/" \
	-e 's/^probe_limit = 0$/probe_limit = 2/' "$PC_DIR/r.conf" >"$PC_DIR/dead.conf"
printf '\n[verify]\nspf_fail_action = reject\n' >>"$PC_DIR/dead.conf"
status 0 "$PORTCULLIS" explain -c "$PC_DIR/dead.conf" --listener mx --client 198.51.100.7 \
	--helo mail.outside.test --from a@outside.test --header-from a@outside.test \
	--rcpt x@elsewhere.test --rcpt y@elsewhere.test --rcpt friend@example.com
check "a redis store nobody answers does not matter: relay refuses from its fresh counts" \
	grep -qE '^  RCPT  <x@elsewhere\.test>: 554 5\.7\.1 .*\(relay\)$' "$PC_DIR/out"
check "... and bans at probe_limit: the next recipient is refused as banned, and why" \
	bash -c "grep -qE '^  RCPT  <friend@example\.com>: 554 5\.7\.1 Client host \[198\.51\.100\.7\] blocked' '$PC_DIR/out' && grep -qF 'the client is banned for its relay attempts: [relay] probe_limit at $PC_DIR/dead.conf' '$PC_DIR/out'"
check "... rate is not asked about recipients relay refused, as the MTA would not ask it" \
	grep -qE '^  RCPT  <x@elsewhere\.test>: not asked: the MTA stopped at relay.s refusal' "$PC_DIR/out"
check "... no store error anywhere (no 4.3.0)" bash -c "! grep -q '4\.3\.0' '$PC_DIR/out'"
check "... verify says it evaluated nothing, and the summary says so" \
	bash -c "grep -q 'not evaluated: SPF and DMARC need DNS (--dns)' '$PC_DIR/out' && ! grep -q 'DATA  accepted\$' '$PC_DIR/out'"
check "... and not one query reached the DNS server" test ! -s "$PC_DIR/dns-trap"
status 0 "$PORTCULLIS" explain -c "$PC_DIR/dead.conf" --listener mx --client 198.51.100.7 \
	--from a@outside.test --rcpt 'postmaster@[192.0.2.25]'
check "an IP literal recipient without --server-addr is not ours" \
	grep -qE '^  RCPT  <postmaster@\[192\.0\.2\.25\]>: 554 5\.7\.1' "$PC_DIR/out"
status 0 "$PORTCULLIS" explain -c "$PC_DIR/dead.conf" --listener mx --client 198.51.100.7 \
	--server-addr 192.0.2.25 --from a@outside.test --rcpt 'postmaster@[192.0.2.25]'
check "... with --server-addr naming it, it is ours, as portcullis-relay decides" \
	grep -qE '^  RCPT  <postmaster@\[192\.0\.2\.25\]>: continue' "$PC_DIR/out"

# --dns: SPF through the test DNS server, spf_fail_action = reject
cat >"$PC_DIR/spf.zone" <<'EOF2'
$ZONE outside.test.
outside.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
EOF2
if read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/spf.zone" \
	2>"$PC_DIR/dns.err") && [ -n "${DNS_PORT:-}" ]; then
	sed "s/^user =\$/user =\ndns = $DNS_ADDRESS@$DNS_PORT/" "$PC_DIR/e.conf" >"$PC_DIR/dns.conf"
	printf '\n[verify]\nspf_fail_action = reject\ndmarc = no\n' >>"$PC_DIR/dns.conf"
	SPF_LINE=$(grep -n '^spf_fail_action' "$PC_DIR/dns.conf" | cut -d: -f1)
	status 0 "$PORTCULLIS" explain -c "$PC_DIR/dns.conf" --dns --listener mx \
		--client 198.51.100.7 --from a@outside.test --rcpt friend@example.com
	check "--dns: SPF fails for an address outside the record" has "MAIL  SPF fail for outside.test"
	check "... the recipient refused with 550 5.7.23 and spf_fail_action's line" \
		bash -c "grep -qE '^  RCPT  <friend@example\.com>: 550 5\.7\.23 ' '$PC_DIR/out' && grep -qF '[verify] spf_fail_action at $PC_DIR/dns.conf:$SPF_LINE' '$PC_DIR/out'"
	status 0 "$PORTCULLIS" explain -c "$PC_DIR/dns.conf" --dns --listener mx \
		--client 192.0.2.9 --from a@outside.test --rcpt friend@example.com
	check "--dns: a pass from inside the record" has "MAIL  SPF pass for outside.test"
else
	not_ok "the test DNS server starts" "$PC_DIR/dns.err"
fi

# ------------------------------------------------------------ usage
check "no --listener: status 2" status 2 explain --rcpt a@example.com
check "no --rcpt: status 2" status 2 explain --listener mx
status 2 explain --listener nosuch --rcpt a@example.com
check "an unknown listener: status 2, the listeners named" \
	grep -qF "has no [listener.nosuch] (its listeners: mx, submission, smtps, internal)" "$PC_DIR/err"
check "a client that is no address: status 2" \
	status 2 explain --listener mx --client 999.1.1.1 --rcpt a@example.com
printf '[global]\nbogus = 1\n' >"$PC_DIR/bad.conf"
check "a configuration that does not load: status 2" \
	status 2 "$PORTCULLIS" explain -c "$PC_DIR/bad.conf" --listener mx --rcpt a@example.com
check "... and the error, on stderr, names the file and line" grep -qF "$PC_DIR/bad.conf:2" "$PC_DIR/err"

finish
