#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/packaging/test-units.sh SOURCE-ROOT BUILD-ROOT: the systemd units
# meson generates (packaging/), the sysusers.d and tmpfiles.d files, and the
# readiness protocol the units rely on (Type=notify).
#  - each unit: `systemd-analyze verify` says nothing (its ExecStart pointed
#    at the build's binary, its Documentation= pages found in the tree),
#    `systemd-analyze security --offline=true` scores 3.0 or less, and it
#    has what the design says (Type=notify, its user, group portcullis, the
#    nested RuntimeDirectory, a HUP reload, Before=postfix.service, UMask);
#  - sysusers.d makes the users and group in an empty root, tmpfiles.d the
#    socket directory with its owner and mode;
#  - a daemon sends READY=1 once its socket listens, RELOADING=1 then
#    READY=1 around a SIGHUP, STOPPING=1 at SIGTERM, to $NOTIFY_SOCKET.
# TAP.
set -u
ROOT=$1
BUILD=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-units-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

mkdir -p "$PC_DIR/man/man8" "$PC_DIR/man/man5"
cp "$ROOT"/docs/man/*.8 "$PC_DIR/man/man8/"
cp "$BUILD/docs/portcullis.conf.5" "$PC_DIR/man/man5/"
declare -A USER_OF=([relay]=portcullis [auth]=portcullis [rate]=portcullis
	[verify]=portcullis [sign]=portcullis-sign [stack]=portcullis)

for name in relay auth rate verify sign stack; do
	unit=$BUILD/packaging/portcullis-$name.service
	copy=$PC_DIR/portcullis-$name.service
	if ! [ -f "$unit" ]; then
		not_ok "portcullis-$name.service is generated"
		continue
	fi
	sed "s#^ExecStart=.*#ExecStart=$BUILD/milters/portcullis-$name#" "$unit" >"$copy"
	MANPATH=$PC_DIR/man systemd-analyze verify "$copy" >"$PC_DIR/verify.out" 2>&1
	rc=$?
	check "portcullis-$name.service: systemd-analyze verify is clean" \
		bash -c "[ $rc = 0 ] && ! [ -s '$PC_DIR/verify.out' ]" ||
		cat "$PC_DIR/verify.out" >&2
	systemd-analyze security --offline=true "$unit" >"$PC_DIR/security.out" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$PC_DIR/security.out")
	check "portcullis-$name.service: exposure ${score:-?} is 3.0 or less" \
		awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.0) }'
	want=("Type=notify" "User=${USER_OF[$name]}" "Group=portcullis" "UMask=0007"
		"RuntimeDirectory=portcullis/$name" "ExecReload=/bin/kill -HUP \$MAINPID"
		"Before=postfix.service postfix@-.service sendmail.service" "Restart=on-failure"
		"CapabilityBoundingSet=" "NoNewPrivileges=yes" "ProtectSystem=strict"
		"Documentation=man:portcullis-$name(8) man:portcullis.conf(5) man:portcullis(8)")
	missing=
	for line in "${want[@]}"; do
		grep -qxF -- "$line" "$unit" || missing="$missing [$line]"
	done
	check "portcullis-$name.service has the design's lines${missing:+ (missing:$missing)}" \
		test -z "$missing"
done
check "only portcullis-verify and portcullis-stack (verify a member) keep state (StateDirectory=portcullis/dmarc)" \
	bash -c "[ \"\$(grep -l '^StateDirectory=' '$BUILD'/packaging/portcullis-*.service | tr '\n' ' ')\" = '$BUILD/packaging/portcullis-stack.service $BUILD/packaging/portcullis-verify.service ' ] && grep -qx 'StateDirectory=portcullis/dmarc' '$BUILD/packaging/portcullis-verify.service' '$BUILD/packaging/portcullis-stack.service'"

# ------------------------------------------------------------ sysusers, tmpfiles
FAKE=$PC_DIR/root
mkdir -p "$FAKE/etc"
: >"$FAKE/etc/passwd"
: >"$FAKE/etc/group"
if systemd-sysusers --root="$FAKE" "$ROOT/packaging/sysusers.d/portcullis.conf" \
	>"$PC_DIR/sysusers.out" 2>&1; then
	ok "systemd-sysusers reads packaging/sysusers.d/portcullis.conf"
else
	not_ok "systemd-sysusers reads packaging/sysusers.d/portcullis.conf" "$PC_DIR/sysusers.out"
fi
gid=$(awk -F: '$1 == "portcullis" { print $3 }' "$FAKE/etc/group")
check "group portcullis is made" test -n "$gid"
check "users portcullis and portcullis-sign, both with group portcullis as their primary" \
	bash -c "[ \"\$(awk -F: '\$4 == \"$gid\" { print \$1 }' '$FAKE/etc/passwd' | sort | paste -sd' ')\" = 'portcullis portcullis-sign' ]"
check "neither can log in" \
	bash -c "! awk -F: '\$1 ~ /^portcullis/ && \$7 !~ /nologin/' '$FAKE/etc/passwd' | grep -q ."
if systemd-tmpfiles --create --root="$FAKE" "$ROOT/packaging/tmpfiles.d/portcullis.conf" \
	>"$PC_DIR/tmpfiles.out" 2>&1; then
	ok "systemd-tmpfiles reads packaging/tmpfiles.d/portcullis.conf"
else
	not_ok "systemd-tmpfiles reads packaging/tmpfiles.d/portcullis.conf" "$PC_DIR/tmpfiles.out"
fi
check "the socket directory: Postfix's queue directory's run/portcullis, 0770, group portcullis" \
	bash -c "[ \"\$(stat -c '%a %u %g' '$FAKE/var/spool/postfix/run/portcullis')\" = '770 0 $gid' ]"

# ------------------------------------------------------------ Type=notify
cat >"$PC_DIR/n.conf" <<EOF3
[global]
user =
control_dir = $PC_DIR/run
EOF3
mkdir -p "$PC_DIR/run"
# the receiver notes, as each message arrives, whether the milter socket exists
"${PYTHON:-/usr/bin/python3}" - "$PC_DIR/notify.sock" "$PC_DIR/notify.log" "$PC_DIR/relay.sock" <<'PY' &
import os, stat, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
def listening(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False
with open(sys.argv[2], "a", buffering=1) as log:
    try:
        while True:
            data = s.recv(4096).decode()
            sock = "socket=yes" if listening(sys.argv[3]) else "socket=no"
            log.write(data.replace("\n", " ") + " " + sock + "\n")
            if data.startswith("STOPPING=1"):
                break
    except socket.timeout:
        pass
PY
PIDS+=($!)
wait_until 10 test -S "$PC_DIR/notify.sock"
NOTIFY_SOCKET=$PC_DIR/notify.sock "$BUILD/milters/portcullis-relay" -f -c "$PC_DIR/n.conf" \
	-p "unix:$PC_DIR/relay.sock" >"$PC_DIR/relay.log" 2>&1 &
RELAY=$!
PIDS+=($RELAY)
check "READY=1 once the socket listens" wait_until 10 grep -q '^READY=1 STATUS=serving' "$PC_DIR/notify.log"
check "... and the socket was there when READY=1 arrived" \
	grep -q '^READY=1 STATUS=serving socket=yes' "$PC_DIR/notify.log"
check "the control socket is in the daemon's own directory (nested RuntimeDirectory)" \
	wait_until 10 test -S "$PC_DIR/run/relay/relay.control"
kill -HUP "$RELAY"
check "a reload: RELOADING=1, then READY=1" \
	wait_until 10 bash -c "sed -n '2,3p' '$PC_DIR/notify.log' | paste -sd'|' | grep -qE '^RELOADING=1 MONOTONIC_USEC=[0-9]+ socket=yes\|READY=1 STATUS=serving socket=yes\$'"
kill -TERM "$RELAY"
check "SIGTERM: STOPPING=1" wait_until 15 grep -q '^STOPPING=1' "$PC_DIR/notify.log"
finish
