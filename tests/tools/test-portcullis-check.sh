#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-check.sh PORTCULLIS DAEMONS-DIR: `portcullis
# check` on a sound configuration (status 0, no warning), on one with each
# risky setting its rules know (one warning each, naming section and key),
# and on broken ones: errors in the main file and in a domains.d file, all
# of them at once with file, line, section and key (status 1); the
# daemons' own -n (a key file missing for portcullis-sign, a socket
# directory missing) said once each; no warnings while there are errors;
# the usage. TAP.
set -u
PORTCULLIS=$1
DAEMONS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-check-test.XXXXXX)
cleanup() { [ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"; }
trap cleanup EXIT
mkdir -p "$PC_DIR/domains.d" "$PC_DIR/run" "$PC_DIR/dmarc"

# sound NAME [EXTRA...]: a sound configuration, EXTRA lines appended
sound() {
	local name=$1
	shift
	{
		cat <<EOF
[global]
local_domains = example.com
trusted_networks = 127.0.0.0/8 ::1
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

[relay]
socket = unix:$PC_DIR/run/relay.sock
[auth]
socket = unix:$PC_DIR/run/auth.sock
[rate]
socket = unix:$PC_DIR/run/rate.sock
[rate.per_ip]
key = client_ip
rate = 60/1m; 500/1h
[verify]
socket = unix:$PC_DIR/run/verify.sock
dmarc_history_dir = $PC_DIR/dmarc
[sign]
socket = unix:$PC_DIR/run/sign.sock
EOF
		printf '%s\n' "$@"
	} >"$PC_DIR/$name.conf"
}
# check_run NAME: portcullis check on NAME.conf, output in NAME.out, status in STATUS
check_run() {
	"$PORTCULLIS" check -c "$PC_DIR/$1.conf" --daemons-dir "$DAEMONS" >"$PC_DIR/$1.out" 2>&1
	STATUS=$?
}
said() { grep -qF -- "$2" "$PC_DIR/$1.out"; }
count() { grep -c -- "$2" "$PC_DIR/$1.out"; }

sound good
check_run good
check "a sound configuration: status 0" test "$STATUS" = 0
check "... no error, no warning, every daemon ran its -n" \
	said good "good.conf: 0 errors, 0 warnings (5 daemons checked themselves)"

# ------------------------------------------------------------- warnings
# label|lines to change (sed expressions on the sound file, ';'-free)|what the warning says
WARNINGS=(
	"submission without TLS|s/^\[auth\]$/[auth]\nrequire_tls = smtps/|[auth] require_tls: does not list submission, the role of [listener.submission]"
	"TLS 1.0 allowed|s/^\[auth\]$/[auth]\nmin_tls_version = TLSv1/|[auth] min_tls_version: below TLSv1.2"
	"AUTH on port 25|s/^\[auth\]$/[auth]\nauth_on_mx = allow/|[auth] auth_on_mx: allow"
	"relay on_error accept|s/^\[relay\]$/[relay]\non_error = accept/|[relay] on_error: accept"
	"no local domain|s/^local_domains = example.com$/local_domains =/|[global] local_domains: empty, and no domains.d file"
	"no listener|/^\[listener\./,/^daemon_names/d|[listener]: none defined"
	"the Internet trusted|s#^trusted_networks = .*#trusted_networks = 0.0.0.0/0#|[global] trusted_networks: 0.0.0.0/0 is a large part of the Internet"
	"IPv6 /16 trusted|s#^trusted_networks = .*#trusted_networks = 2001::/16#|[global] trusted_networks: 2001::/16 is a large part"
	"two limits on one key|s/^\[verify\]$/[rate.also_ip]\nkey = client_ip\nrate = 100\/1m\n[verify]/|[rate.per_ip] and [rate.also_ip]: both count messages per client_ip"
	"no DMARC history directory|s#^dmarc_history_dir = .*#dmarc_history_dir = $PC_DIR/nowhere#|[verify] dmarc_history_dir: $PC_DIR/nowhere is not a directory"
	"the public suffix list|s/^\[verify\]$/[verify]\ndmarc_org_domain = psl/|[verify] dmarc_org_domain: psl"
	"a stack that signs|s/^\[verify\]$/[stack]\nmembers = relay; sign\n[verify]/|[stack] members: sign: portcullis-stack"
)
n=0
for row in "${WARNINGS[@]}"; do
	IFS='|' read -r label expression want <<<"$row"
	n=$((n + 1))
	sed -e "$expression" "$PC_DIR/good.conf" >"$PC_DIR/w$n.conf"
	check_run w$n
	# the warning names the file, with the line when the key is set there
	check "warning: $label: status 0, and said" \
		bash -c "[ $STATUS = 0 ] && grep -F -- ': $want' '$PC_DIR/w$n.out' | grep -qE '^warning: $PC_DIR/w$n\.conf(:[0-9]+)?: '"
done
check "a warning names the line that sets the key" \
	grep -qE "^warning: $PC_DIR/w4\.conf:[0-9]+: \[relay\] on_error: accept" "$PC_DIR/w4.out"
check "rate limits on different roles do not overlap" bash -c "
	sed 's/^rate = 60\/1m; 500\/1h$/rate = 60\/1m\nroles = mx\n[rate.sub_ip]\nkey = client_ip\nrate = 10\/1m\nroles = submission/' '$PC_DIR/good.conf' >'$PC_DIR/roles.conf' &&
	'$PORTCULLIS' check -c '$PC_DIR/roles.conf' --daemons-dir '$DAEMONS' | grep -q ' 0 warnings'"

# --------------------------------------------------------------- errors
sound broken
sed -i -e 's/^\[auth\]$/[auth]\nmin_tls_vresion = TLSv1.2/' \
	-e 's/^\[relay\]$/[relay]\nprobe_limit = many/' "$PC_DIR/broken.conf"
printf '[sign]\nselector = s1\nkey = %s/keys/none.pem\n[auth]\ncolour = blue\n' "$PC_DIR" \
	>"$PC_DIR/domains.d/example.org.conf"
check_run broken
check "errors: status 1" test "$STATUS" = 1
check "an unknown key in the main file: file, line, section and key" \
	grep -qE "^error: .*broken\.conf:[0-9]+: \[auth\] min_tls_vresion: unknown key" "$PC_DIR/broken.out"
check "a value that does not parse, in the same run" \
	grep -qE "^error: .*broken\.conf:[0-9]+: \[relay\] probe_limit: " "$PC_DIR/broken.out"
check "an error in a domains.d file: that file and its line" \
	grep -qE "^error: .*domains\.d/example\.org\.conf:[0-9]+: \[auth\] colour: unknown key" "$PC_DIR/broken.out"
check "each error said once, though five daemons read the file" \
	bash -c "[ \$(grep -c 'min_tls_vresion' '$PC_DIR/broken.out') = 1 ]"
check "no warnings while there are errors" bash -c "! grep -q '^warning:' '$PC_DIR/broken.out'"
rm -f "$PC_DIR/domains.d/example.org.conf"

# what only the daemons check: portcullis-sign's key, a socket directory
sound keys
printf '[sign]\nselector = s1\nkey = %s/keys/none.pem\n' "$PC_DIR" >"$PC_DIR/domains.d/example.org.conf"
sed -i "s|^socket = unix:$PC_DIR/run/verify.sock|socket = unix:$PC_DIR/gone/verify.sock|" "$PC_DIR/keys.conf"
check_run keys
check "portcullis-sign's own check: a key file missing, status 1" \
	bash -c "[ $STATUS = 1 ] && grep -qE '^error: portcullis-sign: .*example\.org\.conf:[0-9]+: \[sign\]: key: .*none\.pem' '$PC_DIR/keys.out'"
check "portcullis-verify's own check: its socket directory missing" \
	grep -qE "^error: portcullis-verify: .*\[verify\] socket: directory $PC_DIR/gone does not exist" "$PC_DIR/keys.out"
"$PORTCULLIS" check -c "$PC_DIR/keys.conf" --no-daemons >"$PC_DIR/nod.out" 2>&1
STATUS=$?
check "--no-daemons: only the file itself (the key is not opened): status 0" \
	bash -c "[ $STATUS = 0 ] && grep -q '(0 daemons checked themselves)' '$PC_DIR/nod.out'"
rm -f "$PC_DIR/domains.d/example.org.conf"

# ---------------------------------------------------------------- usage
check "a missing file: status 1, named" \
	bash -c "'$PORTCULLIS' check -c '$PC_DIR/none.conf' --no-daemons >'$PC_DIR/none.out' 2>&1; [ \$? = 1 ] && grep -q 'none.conf' '$PC_DIR/none.out'"
check "an argument: status 2" bash -c "'$PORTCULLIS' check extra >/dev/null 2>&1; [ \$? = 2 ]"
check "help lists check" bash -c "'$PORTCULLIS' help | grep -q '^  check '"
finish
