#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/test-portcullis-stats.sh PORTCULLIS RELAY CLIENT: `portcullis
# stats` against a running portcullis-relay (its statistics at [global]
# statistics + 0) after a session it refused and one it let through: the
# table shows it up with those decisions and the reason of the refusal;
# the four daemons not running are shown down with why, never skipped;
# --watch shows rates per second (bounded by --count); a configuration
# without statistics shows every daemon off; usage errors give 2. TAP.
set -u
PORTCULLIS=$1
RELAY=$2
CLIENT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../milter/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-stats-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

PORT=$(pick_port)
cat >"$PC_DIR/r.conf" <<CONF
[global]
local_domains = example.com
user =
statistics = 127.0.0.1:$PORT
CONF
if start_daemon "$RELAY" r; then
	ok "portcullis-relay starts"
else
	not_ok "portcullis-relay starts" "$PC_DIR/r.log"
	finish
	exit 1
fi
cat >"$PC_DIR/s.scn" <<'SCN'
connect 198.51.100.7 port 40001 name client.example.net
helo client.example.net
mail <a@example.org>
rcpt <victim@elsewhere.test>
expect reject
rcpt <bob@example.com>
expect continue
quit
SCN
check "a session with one refused and one accepted recipient" run_client r "$PC_DIR/s.scn"

stats() { "$PORTCULLIS" stats -c "$PC_DIR/r.conf" "$@" >"$PC_DIR/out" 2>&1; }
stats
check "status 0" test $? = 0
check "relay is up at [global] statistics" grep -qE "^relay +up +127\.0\.0\.1:$PORT\$" "$PC_DIR/out"
check "its decisions: the refusal counted" grep -qE '^  decisions +.*reject 1' "$PC_DIR/out"
check "its own counter: the reason of the refusal" \
	grep -qE '^  relay_denied +foreign-domain 1$' "$PC_DIR/out"
check "reloads are shown, both results" grep -qE '^  reloads +ok 0, failed 0$' "$PC_DIR/out"
for d in auth:1 rate:2 verify:3 sign:4; do
	check "${d%:*} is not running: down at its offset (+${d#*:}), with why, not skipped" \
		grep -qE "^${d%:*} +down +127\.0\.0\.1:$((PORT + ${d#*:})): .*(refused|Could not connect)" "$PC_DIR/out"
done

stats --watch 1 --count 2
check "--watch: two rounds, the second as rates" \
	bash -c "[ \$(grep -c '^relay ' '$PC_DIR/out') = 2 ] && grep -qE '^  reloads +ok 0\.0/s, failed 0\.0/s' '$PC_DIR/out'"

kill "$PID_r"
wait "$PID_r" 2>/dev/null
stats
check "the relay stopped: down" grep -qE "^relay +down " "$PC_DIR/out"

grep -v '^statistics' "$PC_DIR/r.conf" >"$PC_DIR/off.conf"
"$PORTCULLIS" stats -c "$PC_DIR/off.conf" >"$PC_DIR/out" 2>&1
check "no statistics address: every daemon off" \
	bash -c "[ \$(grep -c ' off ' '$PC_DIR/out') = 5 ]"
check "a missing configuration: status 2" \
	bash -c "'$PORTCULLIS' stats -c '$PC_DIR/none.conf' >/dev/null 2>&1; [ \$? = 2 ]"
check "--watch out of range: status 2" \
	bash -c "'$PORTCULLIS' stats -c '$PC_DIR/r.conf' --watch 0 --count -1 >/dev/null 2>&1; [ \$? = 2 ]"
check "help lists stats" bash -c "'$PORTCULLIS' help | grep -q '^  stats '"
finish
