#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/packaging/install-test.sh DIR PC-TEST-DNS: run by test-deb.sh inside
# new mount, network and pid namespaces (unshare). The packages listed in
# DIR/debs are installed on an overlay of / (a copy-on-write image of this
# Debian 12 system whose changes land in a tmpfs), and everything below
# happens in a chroot of it:
#   install; the admin's steps (the postfix group, two lines of
#   portcullis.conf, the Postfix snippets wired into the distribution's
#   Postfix, chrooted smtpd and all); each daemon started from its
#   packaged unit's lines (ExecStart, User=, Group=, UMask=,
#   RuntimeDirectory=, StateDirectory=, no capabilities, NOTIFY_SOCKET:
#   ready when it says READY=1; there is no systemd here, so the unit's
#   sandboxing lines are not applied: test-units.sh checks those); mail from an outside address through
#   Postfix: a relay attempt refused by portcullis-relay, local mail
#   delivered with portcullis-verify's SPF and DMARC passes (DNS from a test
#   server in the namespace); a reload; the daemons stopped: Postfix
#   tempfails; purge: nothing of Portcullis is left (the overlay's upper
#   layer is exactly what changed).
# Prints TAP lines and "done" at the end.
set -u
DIR=$1
PC_TEST_DNS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"
PC_DIR=$DIR/install
mkdir -p "$PC_DIR"
M=$PC_DIR/merged
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	# the namespaces go with the last process; the tmpfs and mounts with them
}
trap cleanup EXIT
# in_root COMMAND...: in the image, with a clean environment
in_root() { chroot "$M" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
fail_and_stop() {
	not_ok "$1" "${2:-/dev/null}"
	echo done
	exit 1
}

# ------------------------------------------------------------ the image
mount --make-rprivate /
ip link set lo up
ip addr add 192.0.2.10/32 dev lo
mkdir -p "$PC_DIR/ov" "$M"
mount -t tmpfs -o size=2g tmpfs "$PC_DIR/ov" || fail_and_stop "a tmpfs for the overlay"
mkdir -p "$PC_DIR/ov/upper" "$PC_DIR/ov/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$PC_DIR/ov/upper,workdir=$PC_DIR/ov/work" "$M" ||
	fail_and_stop "an overlay of / (the image)"
mount -t proc proc "$M/proc"
# /dev: a few nodes, and a /dev/log of our own (the image's syslog)
mount -t tmpfs -o mode=0755 tmpfs "$M/dev"
for node in null zero full random urandom tty; do
	touch "$M/dev/$node"
	mount --bind "/dev/$node" "$M/dev/$node"
done
mkdir -p "$M/dev/pts" "$M/dev/shm"
# /run and /tmp of the image start empty, as after a boot
mount -t tmpfs -o mode=0755 tmpfs "$M/run"
mount -t tmpfs -o mode=1777 tmpfs "$M/tmp"
# whatever the host has mounted below /var is not part of the image's layers
python3 - "$M/dev/log" "$PC_DIR/syslog" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(65536).decode(errors="replace").rstrip("\n") + "\n")
PY
PIDS+=($!)
wait_until 10 test -S "$M/dev/log"
ok "an overlay image of this system in private namespaces"

# ------------------------------------------------------------ install
mkdir -p "$M/root/debs"
xargs -a "$DIR/debs" cp -t "$M/root/debs"
in_root sh -c 'dpkg -i /root/debs/*.deb' >"$PC_DIR/dpkg-install.out" 2>&1 ||
	fail_and_stop "dpkg -i installs the packages" "$PC_DIR/dpkg-install.out"
ok "dpkg -i installs the packages (their dependencies are this system's)"
check "postinst names the one command for the postfix group" \
	grep -qF 'usermod -a -G portcullis postfix' "$PC_DIR/dpkg-install.out"
check "... and does not run it: postfix is not in group portcullis" \
	bash -c "! chroot '$M' id -nG postfix | tr ' ' '\n' | grep -qx portcullis"
check "users portcullis and portcullis-sign, group portcullis" \
	bash -c "chroot '$M' getent passwd portcullis >/dev/null && chroot '$M' getent passwd portcullis-sign >/dev/null && [ \"\$(chroot '$M' id -gn portcullis-sign)\" = portcullis ]"
check "the socket directory in Postfix's queue directory: 0770 root:portcullis" \
	bash -c "[ \"\$(chroot '$M' stat -c '%a %U %G' /var/spool/postfix/run/portcullis)\" = '770 root portcullis' ]"
check "the DKIM keys directory: 0700 portcullis-sign" \
	bash -c "[ \"\$(chroot '$M' stat -c '%a %U' /etc/portcullis/keys)\" = '700 portcullis-sign' ]"
check "the units are installed" test -f "$M/lib/systemd/system/portcullis-verify.service"
check "the configuration: 0640 root:portcullis (a store URL may hold a password)" \
	bash -c "[ \"\$(chroot '$M' stat -c '%a %U %G' /etc/portcullis/portcullis.conf /etc/portcullis/sender_login | sort -u)\" = '640 root portcullis' ]"

# ------------------------------------------------------------ the admin's steps
# DNS: a test server in this namespace, serving the sender's domain
cat >"$PC_DIR/zone" <<'EOF3'
$ZONE sender.test.
sender.test. 300 IN TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc.sender.test. 300 IN TXT "v=DMARC1; p=reject"
EOF3
read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone" 2>"$PC_DIR/dns.err") ||
	fail_and_stop "the test DNS server starts" "$PC_DIR/dns.err"
CONF=$M/etc/portcullis/portcullis.conf
sed -i "s/^local_domains = .*/local_domains = example.com/" "$CONF"
sed -i "/^\[global\]/a dns = $DNS_ADDRESS@$DNS_PORT" "$CONF"
in_root portcullis check >"$PC_DIR/portcullis-check.out" 2>&1
check "portcullis check: the installed configuration, as shipped but for DNS, loads in every daemon" \
	grep -qE ': 0 errors' "$PC_DIR/portcullis-check.out" || cat "$PC_DIR/portcullis-check.out" >&2
in_root usermod -a -G portcullis postfix
in_root useradd -m alice

# Postfix: the distribution's, with the installed snippets
PF=$M/etc/postfix
DOC=$M/usr/share/doc/portcullis-common/postfix
cat >"$PF/main.cf" <<'EOF3'
compatibility_level = 3.6
myhostname = mx.example.com
mydomain = example.com
myorigin = $mydomain
mydestination = $myhostname, localhost, example.com
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8, [::1]/128
# Postfix itself would relay to foreign.test (a relay domain): only
# Portcullis stands in the way, so that its answer is the one seen
relay_domains = foreign.test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
maillog_file = /var/log/postfix.log
smtpd_tls_security_level = none
EOF3
cat "$DOC/main.cf.portcullis" >>"$PF/main.cf"
# master.cf: the snippet's services replace the default smtp service
awk '/^smtp[ \t]+inet/ { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' \
	"$PF/master.cf" >"$PF/master.cf.new"
grep -v '^#' "$DOC/master.cf.portcullis" |
	awk '/^[a-z]/ { keep = ($1 != "submission" && $1 != "submissions") } keep' >>"$PF/master.cf.new"
mv "$PF/master.cf.new" "$PF/master.cf"
echo "postmaster: root" >"$M/etc/aliases"
in_root newaliases
in_root postfix check >"$PC_DIR/postfix-check.out" 2>&1
check "postfix check accepts the configuration with the snippets" test $? = 0 ||
	cat "$PC_DIR/postfix-check.out" >&2

# ------------------------------------------------------------ the daemons, as their units
# start_unit NAME: ExecStart as User=/Group= with UMask=, the runtime and
# state directories made as systemd makes them, no capabilities, and
# NOTIFY_SOCKET: returns once the daemon says READY=1
start_unit() {
	local unit=$M/lib/systemd/system/portcullis-$1.service
	local exec user group umask rundir statedir notify=/run/pc-notify-$1
	exec=$(sed -n 's/^ExecStart=//p' "$unit")
	user=$(sed -n 's/^User=//p' "$unit")
	group=$(sed -n 's/^Group=//p' "$unit")
	umask=$(sed -n 's/^UMask=//p' "$unit")
	rundir=$(sed -n 's/^RuntimeDirectory=//p' "$unit")
	statedir=$(sed -n 's/^StateDirectory=//p' "$unit")
	in_root install -d -m 0755 "/run/${rundir%/*}"
	in_root install -d -m "$(sed -n 's/^RuntimeDirectoryMode=//p' "$unit")" -o "$user" -g "$group" "/run/$rundir"
	if [ -n "$statedir" ]; then
		in_root install -d -m 0755 "/var/lib/${statedir%/*}"
		in_root install -d -m "$(sed -n 's/^StateDirectoryMode=//p' "$unit")" -o "$user" -g "$group" "/var/lib/$statedir"
	fi
	python3 - "$M$notify" "$PC_DIR/notify-$1" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
PY
	PIDS+=($!)
	wait_until 10 test -S "$M$notify" || return 1
	# shellcheck disable=SC2086
	chroot "$M" /usr/bin/env -i PATH=/usr/sbin:/usr/bin NOTIFY_SOCKET=$notify \
		setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs \
		--inh-caps=-all --bounding-set=-all \
		sh -c "umask $umask && exec $exec" >"$PC_DIR/$1.out" 2>&1 &
	eval "PID_$1=$!"
	PIDS+=($!)
	wait_until 20 grep -q '^READY=1' "$PC_DIR/notify-$1"
}
for d in relay auth rate verify sign; do
	if start_unit "$d"; then
		ok "portcullis-$d starts with its unit's ExecStart, user, group, umask and directories, and says READY=1"
	else
		not_ok "portcullis-$d starts with its unit's ExecStart, user, group, umask and directories, and says READY=1" "$PC_DIR/$d.out"
		tail -20 "$PC_DIR/syslog" >&2
	fi
done
chroot "$M" stat -c '%n %a %U %G' /var/spool/postfix/run/portcullis/relay.sock \
	/var/spool/postfix/run/portcullis/sign.sock >"$PC_DIR/sockets" 2>&1
check "the sockets: 0660, each daemon's user, group portcullis" \
	bash -c "cat '$PC_DIR/sockets'; [ \"\$(cut -d' ' -f2- '$PC_DIR/sockets' | paste -sd,)\" = '660 portcullis portcullis,660 portcullis-sign portcullis' ]"
check "portcullis-sign runs as portcullis-sign, the others as portcullis" \
	bash -c "[ \$(stat -c %u /proc/$PID_sign) = \$(chroot '$M' id -u portcullis-sign) ] && [ \$(stat -c %u /proc/$PID_relay) = \$(chroot '$M' id -u portcullis) ]"
check "the control sockets, one directory per daemon" test -S "$M/run/portcullis/relay/relay.control"

in_root postfix start >"$PC_DIR/postfix-start.out" 2>&1 ||
	fail_and_stop "Postfix starts" "$PC_DIR/postfix-start.out"
wait_until 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/25" 2>/dev/null ||
	fail_and_stop "Postfix listens on port 25" "$M/var/log/postfix.log"
ok "the distribution's Postfix starts with the Portcullis milters"
check "portcullis check --postfix: the wiring doctor finds no error in it" \
	bash -c "chroot '$M' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin portcullis check --postfix >'$PC_DIR/doctor.out' 2>&1; grep -q ': 0 errors' '$PC_DIR/doctor.out'" ||
	cat "$PC_DIR/doctor.out" >&2

# ------------------------------------------------------------ mail
swaks_from_outside() { # swaks_from_outside RCPT: the transcript in swaks.out
	swaks --server 127.0.0.1 --port 25 --local-interface 192.0.2.10 --helo mail.sender.test \
		--from bob@sender.test --to "$1" --header "Subject: portcullis install test" \
		--h-From "Bob <bob@sender.test>" --body "hello" --timeout 30 >"$PC_DIR/swaks.out" 2>&1
}
swaks_from_outside x@foreign.test
check "a relay attempt from outside (to a domain Postfix would relay to): 554 5.7.1" \
	grep -qF '554 5.7.1 <x@foreign.test>: Relay access denied' "$PC_DIR/swaks.out" ||
	cat "$PC_DIR/swaks.out" >&2
check "... from portcullis-relay, which logged its decision" \
	grep -q 'portcullis-relay\[[0-9]*\]: NOQUEUE: relay: action=reject, stage=rcpt, reason=foreign-domain, client=[^,]*\[192\.0\.2\.10\]' "$PC_DIR/syslog"
swaks_from_outside alice@example.com
check "local mail from outside is accepted" grep -qE '^<- +250 2\.0\.0 Ok: queued' "$PC_DIR/swaks.out" ||
	{ cat "$PC_DIR/swaks.out"; tail -20 "$M/var/log/postfix.log"; } >&2
if wait_until 30 grep -q 'portcullis install test' "$M/var/mail/alice"; then
	ok "... and delivered to alice's mailbox"
else
	not_ok "... and delivered to alice's mailbox" "$M/var/log/postfix.log"
fi
check "... with portcullis-verify's header: SPF and DMARC pass" \
	bash -c "grep -A6 '^Authentication-Results: mx.example.com' '$M/var/mail/alice' | tr -s '\n\t ' '   ' | grep -q 'spf=pass smtp.mailfrom=sender.test.*dmarc=pass' || { head -30 '$M/var/mail/alice'; false; }"

# ------------------------------------------------------------ reload, stop
for d in relay auth rate verify sign; do
	eval "kill -HUP \$PID_$d"
done
check "a reload: every daemon says RELOADING=1 then READY=1" \
	wait_until 20 bash -c "for d in relay auth rate verify sign; do grep -q '^RELOADING=1' '$PC_DIR/notify-'\$d && [ \$(grep -c '^READY=1 STATUS=serving' '$PC_DIR/notify-'\$d) -ge 2 ] || exit 1; done"
check "... and logs it to syslog, every daemon, none failed" \
	bash -c "for d in relay auth rate verify sign; do grep -q \"portcullis-\$d.*reload: configuration /etc/portcullis/portcullis.conf loaded\" '$PC_DIR/syslog' || exit 1; done; ! grep -q 'reload failed' '$PC_DIR/syslog'"
for d in relay auth rate verify sign; do
	eval "kill -TERM \$PID_$d"
done
check "SIGTERM: every daemon stops" \
	wait_until 20 bash -c "for d in relay auth rate verify sign; do grep -q '^STOPPING=1' '$PC_DIR/notify-'\$d || exit 1; done"
swaks_from_outside alice@example.com
check "with the daemons stopped Postfix tempfails (default_action=tempfail): no mail passes unchecked" \
	grep -qE '^<\*\* +4[0-9][0-9] ' "$PC_DIR/swaks.out" || cat "$PC_DIR/swaks.out" >&2
in_root postfix stop >/dev/null 2>&1
wait_until 20 bash -c "! pgrep -f -x '/usr/lib/postfix/sbin/master -w' >/dev/null"

# ------------------------------------------------------------ purge
rm -rf "$M/root/debs"
in_root dpkg --purge portcullis portcullis-relay portcullis-auth portcullis-rate \
	portcullis-verify portcullis-sign portcullis-stack portcullis-common >"$PC_DIR/purge.out" 2>&1
check "dpkg --purge removes every package" test $? = 0 || cat "$PC_DIR/purge.out" >&2
# what is left of Portcullis in the image: the overlay's upper layer holds
# every change; the admin's own files (Postfix's configuration, the mail,
# the users database, dpkg's records, logs) are not ours to remove
(cd "$PC_DIR/ov/upper" && find . -path '*portcullis*' \
	! -path './var/lib/dpkg/*' ! -path './var/log/*' ! -path './etc/postfix/*' \
	! -path './var/mail/*' ! -path './var/cache/*' ! -path './etc/passwd*' \
	! -path './etc/group*' ! -path './etc/shadow*' ! -path './etc/gshadow*' \
	-printf '%p\n') >"$PC_DIR/leftovers"
check "purge leaves nothing of Portcullis behind (the upper layer)" test ! -s "$PC_DIR/leftovers" ||
	cat "$PC_DIR/leftovers" >&2
check "... /run/portcullis, /var/lib/portcullis, the socket directory and /etc/portcullis are gone" \
	bash -c "! [ -e '$M/run/portcullis' ] && ! [ -e '$M/var/lib/portcullis' ] && ! [ -e '$M/var/spool/postfix/run/portcullis' ] && ! [ -e '$M/etc/portcullis' ]"
echo done
