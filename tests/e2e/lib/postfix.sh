# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# tests/e2e/lib/postfix.sh: a private Postfix (postfix -c STATE/postfix/etc)
# on loopback, built from conf/postfix/main.cf.portcullis and
# master.cf.portcullis (sourced after common.sh).
#
#   pc_postfix_start STATE MX-PORT SUBMISSION-PORT SMTPS-PORT SINK-PORT [NAME=SOCKET]...
#   pc_postfix_stop STATE
#   pc_postfix_running STATE
#   pc_postfix_queue_count STATE
#   pc_postfix_socket STATE NAME
#
# Postfix runs in common.sh's private namespace (no lookup leaves the host).
# The three smtpd listeners are the snippet's smtp (MX, no AUTH), submission
# (STARTTLS required, then SASL AUTH with Cyrus sasldb) and submissions
# (implicit TLS, AUTH) services, moved to 127.0.0.1:PORT with chroot off.
# Postfix's own relay restrictions are open: what refuses a relay attempt is
# the relay guard alone. example.com is Postfix's own domain
# (mydestination), delivered by local_transport to the local sink on
# SINK-PORT+1 with no user check; everything else goes to the relay sink on
# SINK-PORT (relayhost), example.net too (a domain the relay guard calls
# local and Postfix forwards, like a backup MX's). Postfix's address
# rewriting is at its defaults (allow_percent_hack, swap_bangpath), as a
# relay battery must see it. No DNS is used.
#
# Milters: each NAME=SOCKET puts portcullis-NAME's socket into the snippet's
# portcullis_NAME_milter; a daemon the snippet defines but the list does not
# name is left out, and a NAME the snippet does not know (a test's own
# milter) is appended to every listener's list. A SOCKET below the queue
# directory (pc_postfix_socket) is written relative to it, in the form the
# snippet uses for a chrooted Postfix.
#
# PC_POSTFIX_MAIN_EXTRA (optional): NAME = VALUE lines appended to main.cf,
# after the snippet, replacing the harness's own setting of NAME: a test's
# own settings (test-auth offers AUTH on the MX listener).
#
# PC_POSTFIX_MASTER_EXTRA (optional): master.cf lines appended after the
# snippet's services: a test's own services (test-sender-login adds a
# listener where Postfix itself checks the sender). Its inet services must
# listen on 127.0.0.1 with chroot n; the test waits for their ports.

PC_POSTFIX_SNIPPETS=$PC_E2E_SOURCE_ROOT/conf/postfix

# pc_postfix_socket STATE NAME: where portcullis-NAME listens so that the
# snippet's relative path (run/portcullis/NAME.sock) reaches it
pc_postfix_socket() {
	echo "$1/postfix/spool/run/portcullis/$2.sock"
}

pc_postfix_pid() {
	pc_e2e_pid "$1/postfix/spool/pid/master.pid"
}

pc_postfix_running() {
	pc_e2e_alive "$(pc_postfix_pid "$1")"
}

# pc_postfix_queue_count STATE: messages in the queue (accepted, not delivered)
pc_postfix_queue_count() {
	find "$1/postfix/spool/incoming" "$1/postfix/spool/active" \
		"$1/postfix/spool/deferred" "$1/postfix/spool/hold" \
		"$1/postfix/spool/maildrop" -type f 2>/dev/null | wc -l
}

# main.cf: what the harness needs around the snippet
pc_postfix_write_main() {
	local state=$1 sink_port=$2 pf=$1/postfix
	cat <<EOF
# written by tests/e2e/lib/postfix.sh: a private instance on loopback
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
# logs without syslog; the prefix list must allow the path, or postfix
# exits 1 without a word
maillog_file = $pf/maillog
maillog_file_prefixes = $state
myhostname = $PC_E2E_HOSTNAME
mydomain = example.com
myorigin = \$mydomain
inet_interfaces = loopback-only
inet_protocols = ipv4
# local delivery is the local sink (any user): a test can tell what Postfix
# delivered locally from what it relayed
mydestination = example.com
local_recipient_maps =
local_transport = smtp:[127.0.0.1]:$((sink_port + 1))
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
relayhost = [127.0.0.1]:$sink_port
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
smtp_tls_security_level = none
# Postfix's own relay control is open, so the relay guard alone refuses:
# every loopback client may relay (an access map's OK would not do: Postfix
# refuses to OK an address with a routing operator, % ! or a quoted @)
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
# server TLS and SASL (the submission services switch them on)
smtpd_tls_cert_file = $state/pki/cert.pem
smtpd_tls_key_file = $state/pki/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_auth_enable = no
smtpd_sasl_authenticated_header = yes
# quick tests: no error sleeps, short queue timers
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 2000
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 30s
smtputf8_enable = no
EOF
}

# master.cf: Postfix's internal services, chroot off
pc_postfix_write_master() {
	cat <<'EOF'
# written by tests/e2e/lib/postfix.sh
# service type  private unpriv  chroot  wakeup  maxproc command + args
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# pc_postfix_main_snippet STATE NAME=SOCKET...: main.cf.portcullis with the
# sockets put in (see the header comment)
pc_postfix_main_snippet() {
	local queue=$1/postfix/spool spec extras="" defs=""
	shift
	for spec in "$@"; do
		grep -q "^portcullis_${spec%%=*}_milter *=" "$PC_POSTFIX_SNIPPETS/main.cf.portcullis" &&
			continue
		extras="$extras \$portcullis_${spec%%=*}_milter"
		defs="${defs}portcullis_${spec%%=*}_milter = { unix:${spec#*=}, default_action=tempfail }"$'\n'
	done
	awk -v queue="$queue/" -v extras="$extras" -v specs="$*" '
		BEGIN {
			n = split(specs, list, " ")
			for (i = 1; i <= n; i++) {
				eq = index(list[i], "=")
				socket[substr(list[i], 1, eq - 1)] = substr(list[i], eq + 1)
			}
		}
		/^portcullis_[a-z]+_milter *=/ {
			name = $1
			sub(/^portcullis_/, "", name)
			sub(/_milter$/, "", name)
			if (!(name in socket)) {
				print "portcullis_" name "_milter ="
				next
			}
			path = socket[name]
			if (index(path, queue) == 1)
				path = substr(path, length(queue) + 1)
			sub(/unix:[^,} ]+/, "unix:" path)
			print
			next
		}
		/^portcullis_[a-z]+_milters *=/ { print $0 extras; next }
		{ print }' "$PC_POSTFIX_SNIPPETS/main.cf.portcullis"
	printf '%s' "$defs"
}

# pc_postfix_master_snippet MX SUBMISSION SMTPS: master.cf.portcullis on
# 127.0.0.1 ports, chroot off
pc_postfix_master_snippet() {
	awk -v mx="$1" -v submission="$2" -v smtps="$3" '
		/^[a-z]/ {
			if ($1 == "smtp" && $2 == "inet") $1 = "127.0.0.1:" mx
			else if ($1 == "submission") $1 = "127.0.0.1:" submission
			else if ($1 == "submissions") $1 = "127.0.0.1:" smtps
			$5 = "n"
		}
		{ print }' "$PC_POSTFIX_SNIPPETS/master.cf.portcullis"
}

pc_postfix_configure() {
	local state=$1 mx=$2 submission=$3 smtps=$4 sink=$5 pf=$1/postfix
	shift 5
	mkdir -p "$pf/etc/sasl" "$pf/spool/run/portcullis" "$pf/data"
	# the queue directory and its parents: root-owned, not group/other
	# writable; data_directory: owned by mail_owner
	chown root:root "$pf" "$pf/etc" "$pf/spool"
	chmod 0755 "$pf" "$pf/etc" "$pf/spool"
	chown postfix:postfix "$pf/data"
	chmod 0700 "$pf/data"
	{
		# a setting of PC_POSTFIX_MAIN_EXTRA replaces the harness's own
		# (not overridden later: Postfix warns about a repeated name)
		pc_postfix_write_main "$state" "$sink" |
			awk -v extra="${PC_POSTFIX_MAIN_EXTRA:-}" '
				BEGIN {
					n = split(extra, lines, "\n")
					for (i = 1; i <= n; i++)
						if (split(lines[i], kv, / *= */) > 1) set[kv[1]] = 1
				}
				{ split($0, kv, / *= */) }
				!(kv[1] in set)'
		echo
		echo "# ---- conf/postfix/main.cf.portcullis, sockets filled in"
		pc_postfix_main_snippet "$state" "$@"
		if [ -n "${PC_POSTFIX_MAIN_EXTRA:-}" ]; then
			echo
			echo "# ---- the test's own settings (PC_POSTFIX_MAIN_EXTRA)"
			printf '%s\n' "$PC_POSTFIX_MAIN_EXTRA"
		fi
	} >"$pf/etc/main.cf"
	{
		pc_postfix_write_master
		echo
		echo "# ---- conf/postfix/master.cf.portcullis, on loopback ports, chroot off"
		pc_postfix_master_snippet "$mx" "$submission" "$smtps"
		if [ -n "${PC_POSTFIX_MASTER_EXTRA:-}" ]; then
			echo
			echo "# ---- the test's own services (PC_POSTFIX_MASTER_EXTRA)"
			printf '%s\n' "$PC_POSTFIX_MASTER_EXTRA"
		fi
	} >"$pf/etc/master.cf"
	# Debian's Postfix reads the Cyrus application config from
	# <config_directory>/sasl/smtpd.conf, whatever cyrus_sasl_config_path says
	cat >"$pf/etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $pf/etc/sasl/sasldb2
mech_list: PLAIN LOGIN
EOF
	pc_e2e_sasldb "$pf/etc/sasl/sasldb2" || return 1
	# smtpd runs as postfix
	chown root:postfix "$pf/etc/sasl/sasldb2"
	chmod 0640 "$pf/etc/sasl/sasldb2"
}

# pc_postfix_start STATE MX SUBMISSION SMTPS SINK [NAME=SOCKET]...
pc_postfix_start() {
	local state=$1 mx=$2 submission=$3 smtps=$4 pf=$1/postfix
	if pc_postfix_running "$state"; then
		pc_e2e_log "postfix: already running"
		return 0
	fi
	pc_e2e_ports_free "$mx" "$submission" "$smtps" || return 1
	pc_postfix_configure "$@" || return 1
	: >"$pf/maillog"
	# start-fg keeps the master a child of this job: no orphan for a PID 1
	# that does not reap, and its PID lands in the queue's pid/master.pid.
	# In the private namespace, like Sendmail: no lookup leaves the host.
	(pc_e2e_ns_exec "$state" -- postfix -c "$pf/etc" start-fg >"$pf/start.out" 2>&1 </dev/null) &
	echo $! >"$pf/start-fg.pid"
	if ! pc_e2e_wait_alive "$(pc_e2e_pid "$pf/start-fg.pid")" 20 \
		pc_postfix_listening "$state" "$mx" "$submission" "$smtps"; then
		pc_e2e_log "postfix did not start:"
		cat "$pf/start.out" "$pf/maillog" >&2
		pc_postfix_stop "$state"
		return 1
	fi
}

pc_postfix_listening() {
	local state=$1
	shift
	pc_postfix_running "$state" || return 1
	for port in "$@"; do pc_e2e_listening "$port" || return 1; done
}

# pc_postfix_stop STATE: TERM to the master (which stops its children), wait
pc_postfix_stop() {
	local pf=$1/postfix pid
	pid=$(pc_postfix_pid "$1")
	if [ -n "$pid" ]; then
		echo "$pid" >"$pf/master.pid.stop"
		pc_e2e_stop_pid_files "$pf/master.pid.stop"
	fi
	pc_e2e_stop_pid_files "$pf/start-fg.pid"
}
