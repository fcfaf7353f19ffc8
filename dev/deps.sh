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
	fi
}

# what building and the unit/milter tests need
PC_BUILD_PACKAGES="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libmilter-dev libmicrohttpd-dev"
