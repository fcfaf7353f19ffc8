#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# dev/deps.sh PACKAGE...: installs the Debian packages that are missing, with
# "apt-get update" first. Sourced by dev/test and dev/demo; does nothing when
# everything is there, so a second run is quick.
set -eu

pc_install_packages() {
	missing=""
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
			missing="$missing $pkg"
		fi
	done
	if [ -n "$missing" ]; then
		echo "dev: installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		# Postfix with "No configuration": no main.cf, nothing started on the host
		echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
		# unbound is for the test DNS server, which runs its own: the system
		# resolver service the package starts under systemd is switched off
		case " $missing " in
		*" unbound "*)
			if [ -d /run/systemd/system ]; then
				systemctl disable --now unbound.service >/dev/null 2>&1 || true
			fi
			;;
		esac
	fi
}

# what building and the unit/milter tests need (libmilter-dev: only for the
# reference filters of tests/e2e and bench/, never linked into a daemon)
PC_BUILD_PACKAGES="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libmilter-dev libmicrohttpd-dev libhiredis-dev libunbound-dev libopendkim-dev"

# what the milter tests and bench/rate.sh start besides the daemons: a private
# redis-server on a unix socket (tests/milter/test-rate-redis.sh); python3 for
# the raw milter-protocol clients of the abuse and timeout tests; clang-format
# for the formatting check (tests/check-format.sh); unbound for the test DNS
# server on loopback (tests/dns/pc-test-dns); dns-root-data, the root trust
# anchor a daemon with [global] dnssec = yes reads (a runtime dependency of
# the daemons that resolve; the tests load it); python3-dkim (dkimpy) and
# python3-nacl, the independent DKIM signer of the verify tests' corpus
# (tests/dkim), Ed25519 included, and openssl, which makes its RSA keys;
# python3-spf for the RFC 7208 test suite it ships (tests/spf,
# rfc7208-tests.yml.gz; its SPF code is not used) and python3-yaml to read it
PC_TEST_PACKAGES="redis-server python3 clang-format unbound dns-root-data python3-dkim python3-nacl openssl python3-spf python3-yaml"
# portcullis-sign: its keys are read with OpenSSL's libcrypto (libssl-dev);
# its tests also use dnspython
PC_BUILD_PACKAGES="$PC_BUILD_PACKAGES libssl-dev"
PC_TEST_PACKAGES="$PC_TEST_PACKAGES python3-dnspython"
# portcullis-verify's DMARC with dmarc_org_domain = psl reads Debian's public
# suffix list; its unit test checks the real list
PC_TEST_PACKAGES="$PC_TEST_PACKAGES publicsuffix"
# the DMARC aggregate reports are checked against their schemas with xmllint
PC_TEST_PACKAGES="$PC_TEST_PACKAGES libxml2-utils"
# the man pages are rendered (man-db, groff-base) and the bash completion tried
PC_TEST_PACKAGES="$PC_TEST_PACKAGES man-db groff-base bash-completion"
# the packages are built and checked (tests/packaging): dpkg-buildpackage
# with debhelper (build-essential: make and the compiler it expects),
# lintian, and rpm's rpmspec with rpmlint for the RPM spec; systemd for
# systemd-analyze, systemd-sysusers and systemd-tmpfiles
PC_TEST_PACKAGES="$PC_TEST_PACKAGES build-essential debhelper lintian rpm rpmlint systemd"

# what the end-to-end suite (tests/e2e) and dev/demo need: a private Postfix
# (smtp-sink comes with it), Cyrus SASL with sasldb, swaks with TLS, the
# Sendmail .mc macros and m4, the libraries the sendmail binary links (the
# binary itself conflicts with postfix: tests/e2e/lib/sendmail.sh fetches
# sendmail-bin and libwrap0 with apt-get download), and the tools the
# harness runs (openssl, ss, unshare and mount, python3)
PC_E2E_PACKAGES="postfix sasl2-bin libsasl2-modules swaks libnet-ssleay-perl sendmail-cf m4 libdb5.3 libldap-2.5-0 libnsl2 libsasl2-2 libssl3 openssl iproute2 util-linux mount python3"
