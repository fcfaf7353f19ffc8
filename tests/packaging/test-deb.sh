#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/packaging/test-deb.sh SOURCE-ROOT PC-TEST-DNS: the Debian packages.
#  1. builds them from a copy of the tree exactly as the README says
#     (cp -r packaging/debian debian && dpkg-buildpackage -b -us -uc; the
#     unit tests are not run again: nocheck);
#  2. lintian: no error and no warning (overrides only with a written reason);
#  3. what each package holds: the daemon, its unit and man page in its own
#     package, the configuration as conffiles, users and directories in
#     portcullis-common;
#  4. the install test (install-test.sh) in private mount, network and pid
#     namespaces over an overlay of /: nothing it does reaches this machine.
# Needs root. TAP.
set -u
ROOT=$1
PC_TEST_DNS=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-deb-test.XXXXXX)
cleanup() {
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

VERSION=$(sed -n '1s/^portcullis (\([^)]*\)).*/\1/p' "$ROOT/packaging/debian/changelog")
SRC=$PC_DIR/portcullis-$VERSION
mkdir -p "$SRC"
# the tracked files, as a fresh clone has them (a build directory is not copied)
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
		(cd "$ROOT" && xargs -0 cp --parents -t "$SRC" 2>/dev/null)
else
	tar -C "$ROOT" --exclude='./build*' -cf - . | tar -C "$SRC" -xf -
fi
start=$(date +%s)
(cd "$SRC" && cp -r packaging/debian debian &&
	DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck dpkg-buildpackage -b -us -uc) \
	>"$PC_DIR/build.log" 2>&1
rc=$?
BUILD_SECONDS=$(($(date +%s) - start))
if [ $rc = 0 ]; then
	ok "dpkg-buildpackage -b -us -uc builds the packages (${BUILD_SECONDS} s)"
else
	tail -40 "$PC_DIR/build.log" >"$PC_DIR/build.tail"
	not_ok "dpkg-buildpackage -b -us -uc builds the packages" "$PC_DIR/build.tail"
	finish
	exit 1
fi
PACKAGES="portcullis-common portcullis-relay portcullis-auth portcullis-rate portcullis-verify portcullis-sign portcullis-stack"
for p in $PACKAGES; do
	check "$p is built" test -f "$PC_DIR/${p}_${VERSION}_$(dpkg --print-architecture).deb"
done
check "the metapackage portcullis is built" test -f "$PC_DIR/portcullis_${VERSION}_all.deb"

# ------------------------------------------------------------ lintian
lintian --fail-on error,warning --display-info "$PC_DIR/portcullis_${VERSION}_$(dpkg --print-architecture).changes" \
	>"$PC_DIR/lintian.out" 2>&1
rc=$?
grep -E '^[EW]: ' "$PC_DIR/lintian.out" >"$PC_DIR/lintian.ew"
check "lintian: no error and no warning ($(grep -c '^I: ' "$PC_DIR/lintian.out") info tags)" \
	bash -c "[ $rc = 0 ] && ! [ -s '$PC_DIR/lintian.ew' ]" || cat "$PC_DIR/lintian.out" >&2

# ------------------------------------------------------------ contents
deb() { echo "$PC_DIR/${1}_${VERSION}_$(dpkg --print-architecture).deb"; }
holds() { dpkg-deb -c "$(deb "$1")" | awk '{ print $6 }' | sed 's#^\./#/#' | grep -qx -- "$2"; }
for d in relay auth rate verify sign stack; do
	check "portcullis-$d holds its daemon, unit and man page" \
		bash -c "$(declare -f deb holds); PC_DIR='$PC_DIR' VERSION='$VERSION'; holds portcullis-$d /usr/sbin/portcullis-$d && holds portcullis-$d /lib/systemd/system/portcullis-$d.service && holds portcullis-$d /usr/share/man/man8/portcullis-$d.8.gz"
done
check "portcullis-common holds the command, portcullis.conf(5), sysusers.d and tmpfiles.d" \
	bash -c "$(declare -f deb holds); PC_DIR='$PC_DIR' VERSION='$VERSION'; holds portcullis-common /usr/sbin/portcullis && holds portcullis-common /usr/share/man/man5/portcullis.conf.5.gz && holds portcullis-common /usr/lib/sysusers.d/portcullis.conf && holds portcullis-common /usr/lib/tmpfiles.d/portcullis.conf"
check "the configuration files are conffiles" \
	bash -c "dpkg-deb -I '$(deb portcullis-common)' conffiles | grep -qx /etc/portcullis/portcullis.conf"
check "each daemon package depends on portcullis-common of the same version" \
	bash -c "for d in relay auth rate verify sign stack; do dpkg-deb -f '$PC_DIR/portcullis-'\$d'_${VERSION}_$(dpkg --print-architecture).deb' Depends | grep -qF 'portcullis-common (= $VERSION)' || exit 1; done"
check "portcullis-common's postinst tells the admin about the postfix group, and changes no group" \
	bash -c "dpkg-deb -I '$(deb portcullis-common)' postinst | grep -q 'usermod -a -G portcullis' && ! dpkg-deb -I '$(deb portcullis-common)' postinst | grep -vE '^[[:space:]]*(#|echo)' | grep -qE '(usermod|adduser|gpasswd) '"

# ------------------------------------------------------------ install test
ls "$PC_DIR"/*.deb | grep -v dbgsym >"$PC_DIR/debs"
start=$(date +%s)
unshare --mount --net --pid --fork --uts --ipc --mount-proc \
	bash "$HERE/install-test.sh" "$PC_DIR" "$PC_TEST_DNS" >"$PC_DIR/install.tap" 2>"$PC_DIR/install.err"
INSTALL_SECONDS=$(($(date +%s) - start))
# its results become ours
while IFS= read -r line; do
	case "$line" in
	"ok "*) ok "install: ${line#ok * - }" ;;
	"not ok "*)
		not_ok "install: ${line#not ok * - }" "$PC_DIR/install.err"
		;;
	esac
done <"$PC_DIR/install.tap"
check "the install test ran to its end (${INSTALL_SECONDS} s)" grep -qx 'done' "$PC_DIR/install.tap" ||
	tail -30 "$PC_DIR/install.err" >&2
finish
