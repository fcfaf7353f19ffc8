#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-doctor.sh PORTCULLIS: the wiring doctor,
# `portcullis check --postfix --config-dir DIR` and `--sendmail FILE.cf`,
# on the configurations the end-to-end harness generates from the shipped
# snippets (tests/e2e/lib: Postfix's main.cf and master.cf, Sendmail's
# .cf through m4), correct and deliberately broken: each listener's
# daemons found, a missing daemon, a default action that is not tempfail,
# a {daemon_name} no [listener] knows, another milter attached,
# mynetworks and trusted_networks apart, and Postfix's user kept from a
# socket (with the usermod command that fixes it). Nothing is started:
# postconf reads the files. TAP.
set -u
PORTCULLIS=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"
PC_E2E_LIB=$HERE/../e2e/lib
. "$PC_E2E_LIB/common.sh"
. "$PC_E2E_LIB/postfix.sh"
. "$PC_E2E_LIB/sendmail.sh"

if ! command -v postconf >/dev/null || ! command -v m4 >/dev/null ||
	[ ! -e /usr/share/sendmail/cf/m4/cf.m4 ] || ! getent passwd postfix >/dev/null; then
	echo "1..0 # SKIP Postfix, m4 or sendmail-cf missing (dev/deps.sh PC_E2E_PACKAGES)"
	exit 0
fi

PC_DIR=$(mktemp -d /tmp/pc-doctor-test.XXXXXX)
cleanup() { [ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"; }
trap cleanup EXIT
chmod 0755 "$PC_DIR"
SOCKDIR=$PC_DIR/postfix/spool/run/portcullis
SPECS=()
for d in relay auth rate verify sign; do SPECS+=("$d=$SOCKDIR/$d.sock"); done

# the harness's Postfix configuration: the shipped snippets, sockets below the queue directory
mkdir -p "$PC_DIR/pki"
if ! pc_postfix_configure "$PC_DIR" 2525 2587 2465 2526 "${SPECS[@]}" >"$PC_DIR/configure.out" 2>&1; then
	not_ok "the harness writes Postfix's configuration" "$PC_DIR/configure.out"
	finish
	exit 1
fi
ok "the harness writes Postfix's configuration"
PF=$PC_DIR/postfix/etc

# our side: the same sockets, the snippets' listener names
cat >"$PC_DIR/p.conf" <<EOF
[global]
local_domains = example.com
trusted_networks = 127.0.0.0/8 ::1
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
EOF
for d in relay auth rate verify sign; do
	printf '[%s]\nsocket = unix:%s/%s.sock\n' "$d" "$SOCKDIR" "$d" >>"$PC_DIR/p.conf"
done
# sockets that exist, as running daemons leave them (root's, group postfix, 0660)
mkdir -p "$SOCKDIR"
for d in relay auth rate verify sign; do
	/usr/bin/python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCKDIR/$d.sock"
done
chgrp postfix "$SOCKDIR" "$SOCKDIR"/*.sock
chmod 0750 "$SOCKDIR"
chmod 0660 "$SOCKDIR"/*.sock

doctor() { # doctor NAME ARGS...: output in NAME.out, status in STATUS
	local name=$1
	shift
	"$PORTCULLIS" check -c "$PC_DIR/p.conf" --no-daemons "$@" >"$PC_DIR/$name.out" 2>&1
	STATUS=$?
}
said() { grep -qE -- "$2" "$PC_DIR/$1.out"; }

# postconf, with the harness's mynetworks made ours
postconf -c "$PF" -e 'mynetworks = 127.0.0.0/8 [::1]/128'
doctor good --postfix --config-dir "$PF"
check "Postfix as shipped: status 0" test "$STATUS" = 0
check "... no error" bash -c "! grep -q '^error:' '$PC_DIR/good.out'"
check "the MX listener: relay, auth, rate and verify" \
	said good '^ok: postfix listener 127\.0\.0\.1:2525 \(port 2525, role mx, \{daemon_name\} MX\): relay auth rate verify$'
check "submission: relay, auth, rate and sign" \
	said good '^ok: postfix listener 127\.0\.0\.1:2587 \(port 2587, role submission, \{daemon_name\} ORIGINATING\): relay auth rate sign$'
check "smtps: relay, auth, rate and sign" \
	said good '^ok: postfix listener 127\.0\.0\.1:2465 \(port 2465, role smtps, \{daemon_name\} SMTPS\): relay auth rate sign$'
check "no warning about the networks when they agree" bash -c "! grep -q 'mynetworks' '$PC_DIR/good.out'"

# broken: each change on a copy of the good configuration
broken() { # broken NAME: a copy of Postfix's etc as PC_DIR/NAME
	rm -rf "${PC_DIR:?}/$1"
	cp -a "$PF" "$PC_DIR/$1"
}
broken no-verify
postconf -c "$PC_DIR/no-verify" -e 'portcullis_mx_milters = $portcullis_relay_milter, $portcullis_auth_milter, $portcullis_rate_milter'
doctor no-verify --postfix --config-dir "$PC_DIR/no-verify"
check "verify left off the MX list: an error, status 1" \
	bash -c "[ $STATUS = 1 ] && grep -qE '^error: postfix listener 127\.0\.0\.1:2525 \(role mx\): portcullis-verify is not attached' '$PC_DIR/no-verify.out'"

# chroot: an absolute unix: path of a chrooted smtpd is below the queue
# directory (the snippet's relative path is, chroot or not)
broken chroot
sed -i 's|^portcullis_verify_milter = { unix:run/portcullis/verify.sock|portcullis_verify_milter = { unix:/run/portcullis/verify.sock|' "$PC_DIR/chroot/main.cf"
doctor chroot-off --postfix --config-dir "$PC_DIR/chroot"
check "an absolute path from an smtpd that is not chrooted: not our socket" \
	said chroot-off '^error: postfix listener 127\.0\.0\.1:2525 \(role mx\): portcullis-verify is not attached'
awk '$1 == "127.0.0.1:2525" && $2 == "inet" { $5 = "y" } { print }' "$PC_DIR/chroot/master.cf" >"$PC_DIR/chroot/master.cf.new" &&
	mv "$PC_DIR/chroot/master.cf.new" "$PC_DIR/chroot/master.cf"
doctor chroot-on --postfix --config-dir "$PC_DIR/chroot"
check "the same path from a chrooted smtpd: the socket below the queue directory" \
	said chroot-on '^ok: postfix listener 127\.0\.0\.1:2525 \(port 2525, role mx, \{daemon_name\} MX\): relay auth rate verify$'

broken accept
sed -i 's|^portcullis_relay_milter = { \(unix:[^,]*\), default_action=tempfail|portcullis_relay_milter = { \1, default_action=accept|' "$PC_DIR/accept/main.cf"
doctor accept --postfix --config-dir "$PC_DIR/accept"
check "relay's default_action accept: an error on every listener" \
	bash -c "[ $STATUS = 1 ] && [ \$(grep -c \"^error: .*portcullis-relay's default action is accept: while the daemon is down mail is let through unchecked\" '$PC_DIR/accept.out') = 3 ]"

broken macro
sed -i 's/milter_macro_daemon_name=ORIGINATING/milter_macro_daemon_name=SUBMIT/' "$PC_DIR/macro/master.cf"
doctor macro --postfix --config-dir "$PC_DIR/macro"
check "a {daemon_name} no [listener] has: a warning, judged as mx" \
	said macro '^warning: postfix listener 127\.0\.0\.1:2587 \(port 2587\): \{daemon_name\} SUBMIT matches no \[listener\]'
check "... so verify is missing there" \
	said macro '^error: postfix listener 127\.0\.0\.1:2587 \(role mx\): portcullis-verify is not attached'

broken opendkim
postconf -c "$PC_DIR/opendkim" -e 'portcullis_submission_milters = $portcullis_relay_milter, $portcullis_auth_milter, $portcullis_rate_milter, $portcullis_sign_milter, inet:127.0.0.1:8891'
doctor opendkim --postfix --config-dir "$PC_DIR/opendkim"
check "another milter (OpenDKIM's inet socket): a warning" \
	said opendkim '^warning: postfix listener 127\.0\.0\.1:2587: another milter is attached \(inet:127\.0\.0\.1:8891\)'

broken networks
postconf -c "$PC_DIR/networks" -e 'mynetworks = 127.0.0.0/8 [::1]/128 192.0.2.0/24'
doctor networks --postfix --config-dir "$PC_DIR/networks"
check "mynetworks with a network trusted_networks lacks: a warning" \
	said networks "^warning: Postfix's mynetworks has 192\.0\.2\.0/24, \[global\] trusted_networks does not"

# Postfix's user kept from the sockets: the directory not its group
chgrp root "$SOCKDIR"
doctor access --postfix --config-dir "$PF"
check "postfix kept from a socket: an error with the command that fixes it" \
	bash -c "[ $STATUS = 1 ] && grep -qE '^error: the postfix user cannot open $SOCKDIR/relay\.sock \($SOCKDIR is mode 0750\): run .usermod -a -G root postfix. and restart the MTA' '$PC_DIR/access.out'"
chgrp postfix "$SOCKDIR"
rm -f "$SOCKDIR/sign.sock"
doctor gone --postfix --config-dir "$PF"
check "a socket that is not there: a warning (the daemon is not running)" \
	said gone "^warning: $SOCKDIR/sign\.sock does not exist: portcullis-sign is not running"

# ---------------------------------------------------------------- Sendmail
{
	echo "include(\`/usr/share/sendmail/cf/m4/cf.m4')dnl"
	echo "OSTYPE(\`linux')dnl"
	pc_sendmail_snippet 2525 2587 2465 "${SPECS[@]}"
	echo "MAILER(\`local')dnl"
	echo "MAILER(\`smtp')dnl"
} >"$PC_DIR/sendmail.mc"
if m4 "$PC_DIR/sendmail.mc" >"$PC_DIR/sendmail.cf" 2>"$PC_DIR/m4.err"; then
	ok "the harness's Sendmail snippet goes through m4"
else
	not_ok "the harness's Sendmail snippet goes through m4" "$PC_DIR/m4.err"
fi
doctor sm --sendmail "$PC_DIR/sendmail.cf"
check "Sendmail as shipped: status 0" test "$STATUS" = 0
check "every Sendmail daemon has all five filters, F=T" \
	bash -c "[ \$(grep -cE '^ok: sendmail listener (MX|ORIGINATING|SMTPS) .*: relay auth rate verify sign$' '$PC_DIR/sm.out') = 3 ]"
sed 's/^\(Xportcullis-verify, .*\)F=T, /\1/' "$PC_DIR/sendmail.cf" >"$PC_DIR/sendmail-nof.cf"
doctor sm-nof --sendmail "$PC_DIR/sendmail-nof.cf"
check "a filter without F=T: an error (mail goes on unchecked while it is down)" \
	said sm-nof "^error: sendmail listener MX: portcullis-verify's default action is accept"
sed 's/^O InputMailFilters=.*/O InputMailFilters=portcullis-relay, portcullis-auth/' "$PC_DIR/sendmail.cf" >"$PC_DIR/sendmail-short.cf"
doctor sm-short --sendmail "$PC_DIR/sendmail-short.cf"
check "filters missing from InputMailFilters: rate and verify missing on MX" \
	bash -c "grep -q '^error: sendmail listener MX (role mx): portcullis-rate is not attached' '$PC_DIR/sm-short.out' &&
		grep -q '^error: sendmail listener MX (role mx): portcullis-verify is not attached' '$PC_DIR/sm-short.out'"
printf 'not a sendmail.cf\n' >"$PC_DIR/junk.cf"
doctor junk --sendmail "$PC_DIR/junk.cf"
check "a file that is no sendmail.cf: an error, status 1" \
	bash -c "[ $STATUS = 1 ] && grep -q 'not a sendmail.cf' '$PC_DIR/junk.out'"
check "--postfix and --sendmail together: status 2" \
	bash -c "'$PORTCULLIS' check -c '$PC_DIR/p.conf' --postfix --sendmail '$PC_DIR/sendmail.cf' >/dev/null 2>&1; [ \$? = 2 ]"
finish
