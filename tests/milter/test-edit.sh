#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-edit.sh EDIT CLIENT: the pc-milter skeleton's header
# edits and body streaming, through pc-edit-milter (a test daemon) driven by
# pc-milter-client as Postfix and as Sendmail. What is asked of the MTA is
# derived from the daemon's hooks: header actions negotiated, no stage but
# EOM waited for. The daemon resolves through the skeleton's resolver with
# a message budget (X-Edit-DNS). TAP output.
set -u
EDIT=$1
CLIENT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-edit-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

mkdir -p "$PC_DIR/domains.d"
cat >"$PC_DIR/e.conf" <<EOF
[global]
local_domains = example.com
domains_dir = $PC_DIR/domains.d
user =
# never asked: localhost is answered by the resolver itself
dns = 127.0.0.1@9
EOF

if start_daemon "$EDIT" e; then
	ok "the test daemon starts"
else
	not_ok "the test daemon starts" "$PC_DIR/e.log"
	finish
	exit 1
fi

# scenario MTA BODY-SIZE: one message with two X-Change, two X-Delete headers
scenario() {
	cat <<EOF
mta $1
connect 192.0.2.10 port 40001 name client.example.net
helo client.example.net
mail <alice@example.org>
rcpt <bob@example.com>
data
header From: Alice <alice@example.org>
header X-Change: one
header X-Delete: first
header X-Change: two
header X-Delete: second
header Subject: edits
body-size $2
eom
expect continue
expect-mod insheader 0 X-Edit-Top: top
expect-mod chgheader 2 X-Change: changed-2
expect-mod chgheader 1 X-Delete (delete)
expect-no-mod chgheader 1 X-Change
expect-no-mod chgheader 2 X-Delete
expect-mod addheader X-Edit-Body: bytes=$2 chunks=
expect-mod addheader X-Edit-DNS: localhost=127.0.0.1 queries=1
quit
EOF
}

for mta in postfix sendmail; do
	scenario $mta 5242880 >"$PC_DIR/$mta.scn"
	check "$mta: insert at the top, change the 2nd X-Change, delete the 1st X-Delete, 5 MiB body streamed" \
		run_client e "$PC_DIR/$mta.scn"
	# the body came in the client's chunks (at most 65535 bytes), never whole
	chunks=$(sed -n 's/.*addheader X-Edit-Body: bytes=5242880 chunks=\([0-9]*\) .*/\1/p' "$PC_DIR/$mta.scn.out")
	check "$mta: the body hook saw each chunk as sent (${chunks:-?} chunks)" \
		test "${chunks:-0}" -ge 80
	# edits come before the final reply, in the order applied: changes and deletes, inserts, adds
	check "$mta: edits applied in order (change/delete, insert, add)" bash -c "
		grep -E 'eom: (chgheader|insheader|addheader)' '$PC_DIR/$mta.scn.out' |
		sed -E 's/.*eom: (chgheader|insheader|addheader).*/\1/' | tr '\n' ' ' |
		grep -qx 'chgheader chgheader insheader addheader addheader '"
done

# a message that is refused gets no edits (none here: the daemon refuses nothing),
# and a session with no headers still gets EOM's own
cat >"$PC_DIR/plain.scn" <<EOF
connect 192.0.2.10
mail <alice@example.org>
rcpt <bob@example.com>
data
body hello
eom
expect continue
expect-mod insheader 0 X-Edit-Top: top
expect-no-mod chgheader
quit
EOF
check "no X-Change or X-Delete: only EOM's own edits" run_client e "$PC_DIR/plain.scn"
check "the decision line names the daemon's note" \
	grep -qE 'edit: action=continue, stage=eom, reason=edited' "$PC_DIR/e.log"

stop_pid "$PID_e"
check "SIGTERM: clean stop" grep -q stopping "$PC_DIR/e.log"
finish
