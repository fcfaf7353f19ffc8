# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# tests/e2e/lib/sendmail.sh: a private Sendmail on loopback, its .mc built
# around conf/sendmail/portcullis.mc (sourced after common.sh).
#
#   pc_sendmail_start STATE MX-PORT SUBMISSION-PORT SMTPS-PORT SINK-PORT [NAME=SOCKET]...
#   pc_sendmail_stop STATE
#   pc_sendmail_running STATE
#   pc_sendmail_queue_count STATE
#
# The three listeners are the snippet's MX, ORIGINATING (AUTH required,
# STARTTLS offered) and SMTPS (implicit TLS) daemons, moved to
# 127.0.0.1:PORT. Sendmail's own relay control is open
# (FEATURE(promiscuous_relay)), so the relay guard alone refuses; note that
# Sendmail always lets 127.0.0.1 relay anyway, so an outside client must come
# from another loopback address (swaks -li 127.0.0.2). example.com is
# Sendmail's own domain (class w): its local mailer is an SMTP connection to
# the local sink on SINK-PORT+1, for any user; everything else goes to the
# smart host, the relay sink on SINK-PORT. Milters: as in postfix.sh, each NAME=SOCKET
# fills the snippet's portcullis-NAME filter, unnamed ones are left out, and
# unknown names are appended as filters of their own.
#
# The sendmail binary: the sendmail-bin package conflicts with postfix (both
# are a mail-transport-agent), so its .deb and libwrap0's are fetched with
# apt-get download and unpacked with dpkg -x into PC_E2E_CACHE (default
# /var/cache/portcullis/e2e), once per version. It runs in the private
# namespace of common.sh, where the host name is qualified, no DNS leaves the
# host, /dev/log is the harness's syslog and libsasl2 finds our Sendmail.conf.

PC_SENDMAIL_SNIPPET=$PC_E2E_SOURCE_ROOT/conf/sendmail/portcullis.mc
PC_E2E_CACHE=${PC_E2E_CACHE:-/var/cache/portcullis/e2e}

# pc_sendmail_root: prints the unpacked package tree, fetching it if needed
pc_sendmail_root() {
	local debs=$PC_E2E_CACHE/debs root version
	mkdir -p "$debs"
	if ! ls "$debs"/sendmail-bin_*.deb >/dev/null 2>&1 ||
		! ls "$debs"/libwrap0_*.deb >/dev/null 2>&1; then
		# _apt must write the directory, or apt downloads unsandboxed (and says so)
		chown _apt "$debs" 2>/dev/null || true
		# (with an apt-get update first when the package lists are stale)
		(cd "$debs" && { apt-get download -q sendmail-bin libwrap0 ||
			{ apt-get update -qq && apt-get download -q sendmail-bin libwrap0; }; } \
			>"$debs/download.log" 2>&1) || {
			pc_e2e_log "apt-get download sendmail-bin libwrap0 failed:"
			cat "$debs/download.log" >&2
			return 1
		}
	fi
	version=$(basename "$(ls "$debs"/sendmail-bin_*.deb | tail -n 1)" .deb)
	root=$PC_E2E_CACHE/$version
	if [ ! -x "$root/usr/libexec/sendmail/sendmail" ]; then
		rm -rf "$root.tmp"
		mkdir -p "$root.tmp"
		dpkg -x "$(ls "$debs"/sendmail-bin_*.deb | tail -n 1)" "$root.tmp" &&
			dpkg -x "$(ls "$debs"/libwrap0_*.deb | tail -n 1)" "$root.tmp" || return 1
		# setgid smmsp: with egid != gid the loader ignores LD_LIBRARY_PATH,
		# and libwrap.so.0 is only in the private tree
		chmod 0755 "$root.tmp/usr/libexec/sendmail/sendmail"
		rm -rf "$root"
		mv "$root.tmp" "$root"
	fi
	# the other libraries come from PC_E2E_PACKAGES (sendmail-bin's Depends)
	if LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu ldd "$root/usr/libexec/sendmail/sendmail" |
		grep -q 'not found'; then
		pc_e2e_log "the sendmail binary misses libraries:"
		LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu ldd "$root/usr/libexec/sendmail/sendmail" |
			grep 'not found' >&2
		return 1
	fi
	echo "$root"
}

pc_sendmail_pid() {
	pc_e2e_pid "$1/sendmail/sendmail-bd.pid"
}

pc_sendmail_running() {
	pc_e2e_alive "$(pc_sendmail_pid "$1")"
}

# pc_sendmail_queue_count STATE: messages in the queue (accepted, not delivered)
pc_sendmail_queue_count() {
	find "$1/sendmail/mqueue" -type f -name 'qf*' 2>/dev/null | wc -l
}

# pc_sendmail_snippet MX SUBMISSION SMTPS NAME=SOCKET...: portcullis.mc on
# 127.0.0.1 ports, with the sockets filled in
pc_sendmail_snippet() {
	local mx=$1 submission=$2 smtps=$3 spec
	shift 3
	awk -v mx="$mx" -v submission="$submission" -v smtps="$smtps" -v specs="$*" '
		BEGIN {
			n = split(specs, list, " ")
			for (i = 1; i <= n; i++) {
				eq = index(list[i], "=")
				socket[substr(list[i], 1, eq - 1)] = substr(list[i], eq + 1)
			}
			port["MX"] = mx
			port["ORIGINATING"] = submission
			port["SMTPS"] = smtps
		}
		/^DAEMON_OPTIONS/ {
			match($0, /Name=[A-Za-z0-9-]+/)
			name = substr($0, RSTART + 5, RLENGTH - 5)
			sub(/Port=[a-z0-9]+/, "Addr=127.0.0.1, Port=" port[name])
			print
			next
		}
		/^INPUT_MAIL_FILTER/ {
			match($0, /portcullis-[a-z]+/)
			name = substr($0, RSTART + 11, RLENGTH - 11)
			if (!(name in socket))
				next
			sub(/S=unix:[^,]+/, "S=unix:" socket[name])
			print
			next
		}
		{ print }' "$PC_SENDMAIL_SNIPPET"
	for spec in "$@"; do
		grep -q "^INPUT_MAIL_FILTER(\`portcullis-${spec%%=*}'" "$PC_SENDMAIL_SNIPPET" && continue
		echo "INPUT_MAIL_FILTER(\`pc-e2e-${spec%%=*}', \`S=unix:${spec#*=}, F=T, T=C:10s;S:30s;R:30s;E:2m')dnl"
	done
}

pc_sendmail_configure() {
	local state=$1 mx=$2 submission=$3 smtps=$4 sink=$5 root=$6 sm=$1/sendmail
	local cf=/usr/share/sendmail/cf
	shift 6
	mkdir -p "$sm/mqueue" "$sm/sasl2"
	chmod 0700 "$sm/mqueue"
	printf 'postmaster: root\n' >"$sm/aliases"
	: >"$sm/sendmail.st"
	printf 'hosts\tfiles\naliases\tfiles\n' >"$sm/service.switch"
	printf 'example.com\n' >"$sm/local-host-names"
	: >"$sm/relay-domains"
	cp "$state/pki/cert.pem" "$sm/cacert.pem"
	cat >"$sm/sendmail.mc" <<EOF
divert(-1)dnl
# written by tests/e2e/lib/sendmail.sh: a private instance on loopback
divert(0)dnl
include(\`$cf/m4/cf.m4')dnl
VERSIONID(\`portcullis e2e')dnl
dnl # linux, not debian: that one hardwires /etc/mail and /var/lib/sendmail
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$PC_E2E_HOSTNAME')dnl
define(\`QUEUE_DIR', \`$sm/mqueue')dnl
define(\`confPID_FILE', \`$sm/sendmail.pid')dnl
define(\`STATUS_FILE', \`$sm/sendmail.st')dnl
define(\`confHELP_FILE', \`$root/etc/mail/helpfile')dnl
define(\`ALIAS_FILE', \`$sm/aliases')dnl
define(\`confCW_FILE', \`$sm/local-host-names')dnl
define(\`confCR_FILE', \`$sm/relay-domains')dnl
define(\`confSERVICE_SWITCH_FILE', \`$sm/service.switch')dnl
define(\`confEBINDIR', \`$root/usr/libexec/sendmail')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confTO_IDENT', \`0s')dnl
define(\`confTO_CONNECT', \`5s')dnl
define(\`confDELIVERY_MODE', \`background')dnl
define(\`confLOG_LEVEL', \`12')dnl
define(\`confPRIVACY_FLAGS', \`authwarnings,noexpn,novrfy')dnl
define(\`confMAX_DAEMON_CHILDREN', \`64')dnl
dnl # a busy CI machine must not make sendmail queue or refuse mail
define(\`confQUEUE_LA', \`200')dnl
define(\`confREFUSE_LA', \`400')dnl
define(\`confMIN_QUEUE_AGE', \`0')dnl
dnl # no confHOST_STATUS_DIRECTORY: with it, concurrent deliveries to the
dnl # sink that cannot lock its host status are deferred ("stat=Deferred")
define(\`confDEF_USER_ID', \`mail:mail')dnl
define(\`confSERVER_CERT', \`$state/pki/cert.pem')dnl
define(\`confSERVER_KEY', \`$state/pki/key.pem')dnl
define(\`confCACERT', \`$sm/cacert.pem')dnl
define(\`confCACERT_PATH', \`$sm')dnl
dnl # the state directory is below /tmp (1777): without TrustStickyBit
dnl # sendmail finds every file under it unsafe
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit,GroupReadableKeyFile')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
define(\`confAUTH_OPTIONS', \`A,p')dnl
dnl # no DNS, and Sendmail's own relay control open: the relay guard decides
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`promiscuous_relay')dnl
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $sink')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sink')dnl
define(\`SMTP_MAILER_ARGS', \`TCP \$h $sink')dnl
dnl # ---- conf/sendmail/portcullis.mc, on loopback ports, sockets filled in
$(pc_sendmail_snippet "$mx" "$submission" "$smtps" "$@")
FEATURE(\`use_cw_file')dnl
dnl # local delivery: the local sink, any user (no w: no passwd check; no f, r: no -f argument, which [IPC] would take for a host; no P: no Return-Path header, the sink records the envelope)
define(\`LOCAL_MAILER_PATH', \`[IPC]')dnl
define(\`LOCAL_MAILER_ARGS', \`TCP 127.0.0.1 $((sink + 1))')dnl
MODIFY_MAILER_FLAGS(\`LOCAL', \`-wfrP')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
	m4 "$sm/sendmail.mc" >"$sm/sendmail.cf" 2>"$sm/m4.err" || {
		pc_e2e_log "m4 failed on $sm/sendmail.mc: $(cat "$sm/m4.err")"
		return 1
	}
	chmod 0644 "$sm/sendmail.cf"
	# sendmail has no option for the Cyrus config path: Sendmail.conf is
	# bound over libsasl2's search directories in the namespace
	cat >"$sm/sasl2/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $sm/sasldb2
mech_list: PLAIN LOGIN
EOF
	pc_e2e_sasldb "$sm/sasldb2" || return 1
	# sendmail reads it as root and refuses a group- or world-readable one
	chmod 0600 "$sm/sasldb2"
}

# pc_sendmail_ns STATE ROOT COMMAND...: execs COMMAND in the namespace
pc_sendmail_ns() {
	local state=$1 root=$2 binds=() dir
	shift 2
	# libsasl2 looks in /etc/sasl2 /etc/sasl /usr/lib/x86_64-linux-gnu/sasl2
	# /usr/lib/sasl2: cover those that exist; sasl2-bin ships /usr/lib/sasl2
	for dir in /usr/lib/sasl2 /etc/sasl2 /etc/sasl; do
		[ -d "$dir" ] && binds+=(--bind "$state/sendmail/sasl2" "$dir")
	done
	export LD_LIBRARY_PATH=$root/usr/lib/x86_64-linux-gnu
	pc_e2e_ns_exec "$state" "${binds[@]}" -- "$@"
}

# pc_sendmail_start STATE MX SUBMISSION SMTPS SINK [NAME=SOCKET]...
pc_sendmail_start() {
	local state=$1 mx=$2 submission=$3 smtps=$4 sink=$5 sm=$1/sendmail root
	shift 5
	if pc_sendmail_running "$state"; then
		pc_e2e_log "sendmail: already running"
		return 0
	fi
	pc_e2e_ports_free "$mx" "$submission" "$smtps" || return 1
	root=$(pc_sendmail_root) || return 1
	pc_sendmail_configure "$state" "$mx" "$submission" "$smtps" "$sink" "$root" "$@" ||
		return 1
	(pc_sendmail_ns "$state" "$root" "$root/usr/libexec/sendmail/sendmail" \
		-C "$sm/sendmail.cf" -bi) >"$sm/newaliases.out" 2>&1 ||
		pc_e2e_log "sendmail: newaliases failed: $(cat "$sm/newaliases.out")"
	# -bD: the daemon in the foreground, so $! is its PID (the subshell execs
	# unshare, which execs bash, which execs sendmail); a queue run every
	# 15 s retries anything deferred while a test still waits for it
	(pc_sendmail_ns "$state" "$root" "$root/usr/libexec/sendmail/sendmail" \
		-bD -q15s -C "$sm/sendmail.cf" >"$sm/sendmail.out" 2>&1 </dev/null) &
	echo $! >"$sm/sendmail-bd.pid"
	if ! pc_e2e_wait_alive "$(pc_sendmail_pid "$state")" 20 \
		pc_sendmail_listening "$state" "$mx" "$submission" "$smtps"; then
		pc_e2e_log "sendmail did not start:"
		cat "$sm/sendmail.out" >&2
		grep sendmail "$state/syslog/syslog.log" | tail -n 20 >&2
		pc_sendmail_stop "$state"
		return 1
	fi
}

pc_sendmail_listening() {
	local state=$1
	shift
	pc_sendmail_running "$state" || return 1
	for port in "$@"; do pc_e2e_listening "$port" || return 1; done
}

pc_sendmail_stop() {
	pc_e2e_stop_pid_files "$1/sendmail/sendmail-bd.pid"
	rm -f "$1/sendmail/sendmail.pid"
}
