#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/packaging/test-rpm.sh SOURCE-ROOT: packaging/rpm/portcullis.spec as
# far as Debian can check it (building RPMs needs Fedora or EL, see
# docs/INSTALL.md): rpmspec parses it, rpmlint finds nothing (with the
# settings in packaging/rpm/rpmlint.toml), its version is meson's, and each
# daemon's package has its binary, unit and man page, the configuration is
# %config(noreplace), the keys directory the signer's alone. TAP.
set -u
ROOT=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"
PC_DIR=$(mktemp -d /tmp/pc-rpm-test.XXXXXX)
trap '[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"' EXIT
SPEC=$ROOT/packaging/rpm/portcullis.spec

check "rpmspec -P parses the spec" bash -c "rpmspec -P '$SPEC' >'$PC_DIR/spec' 2>'$PC_DIR/spec.err'"
rpmlint -c "$ROOT/packaging/rpm/rpmlint.toml" "$SPEC" >"$PC_DIR/rpmlint.out" 2>&1
check "rpmlint: 0 errors, 0 warnings" grep -Eq '(^|[^0-9])0 errors, 0 warnings' "$PC_DIR/rpmlint.out"
meson_version=$(sed -n "s/^  version: '\([^']*\)',/\1/p" "$ROOT/meson.build")
spec_version=$(sed -n 's/^Version: *//p' "$SPEC")
check "the spec's version ($spec_version) is meson's ($meson_version)" \
	test -n "$meson_version" -a "$spec_version" = "$meson_version"
# files_of PACKAGE: the %files lines of that subpackage, expanded
files_of() {
	awk -v want="%files $1" '/^%files/ { on = ($0 == want); next } /^%(package|description|prep|build|install|check|pre|post|preun|postun|changelog)( |$)/ { on = 0 } on && NF' "$PC_DIR/spec"
}
for d in relay auth rate verify sign stack; do
	check "%files $d: its binary, unit and man page" \
		bash -c "$(declare -f files_of); PC_DIR='$PC_DIR'; f=\$(files_of $d); grep -q 'sbin/portcullis-$d\$' <<<\"\$f\" && grep -q 'portcullis-$d.service\$' <<<\"\$f\" && grep -q 'man8/portcullis-$d.8\*\$' <<<\"\$f\""
	check "$d: systemd scriptlets (post, preun, postun with restart)" \
		bash -c "grep -A1 -x '%post $d' '$SPEC' | grep -q 'systemd_post portcullis-$d.service' && grep -A1 -x '%preun $d' '$SPEC' | grep -q systemd_preun && grep -A1 -x '%postun $d' '$SPEC' | grep -q systemd_postun_with_restart"
done
check "%files common: the configuration is %config(noreplace)" \
	bash -c "$(declare -f files_of); PC_DIR='$PC_DIR'; files_of common | grep -q '^%config(noreplace) %attr(0640,root,portcullis) .*/portcullis/portcullis.conf\$'"
check "%files common: the licence, sysusers.d and tmpfiles.d" \
	bash -c "$(declare -f files_of); PC_DIR='$PC_DIR'; f=\$(files_of common); grep -q '^%license LICENSE' <<<\"\$f\" && grep -q 'sysusers' <<<\"\$f\" && grep -q 'tmpfiles' <<<\"\$f\""
check "the users come from the sysusers.d file (sysusers_create_compat)" \
	bash -c "grep -A1 -x '%pre common' '$SPEC' | grep -q 'sysusers_create_compat'"
check "%files sign: the keys directory, 0700 portcullis-sign" \
	bash -c "$(declare -f files_of); PC_DIR='$PC_DIR'; files_of sign | grep -q '^%dir %attr(0700,portcullis-sign,portcullis) .*/portcullis/keys\$'"
check "every man page meson installs is in a %files section" \
	bash -c "for p in '$ROOT'/docs/man/*.8 portcullis.conf.5; do n=\$(basename \$p); grep -q \"man[58]/\$n\*\$\" '$PC_DIR/spec' || { echo \$n; exit 1; }; done"
finish
