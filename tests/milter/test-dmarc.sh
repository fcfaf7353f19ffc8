#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/milter/test-dmarc.sh VERIFY CLIENT PC-TEST-DNS: portcullis-verify's
# DMARC through pc-milter-client as Postfix and as Sendmail, the records
# served by a real DNS server on loopback (tests/dns/pc-test-dns): a pass
# by aligned SPF; each policy (p, sp for an existing subdomain, np for one
# that does not exist, t=y, a public suffix operator's psd=y record) and
# what it gets (550 5.7.1, the hold queue, nothing); the From header rules
# (none, two, two addresses: 550 5.7.1 on mx); temperror when the DNS fails
# or is silent (451 4.4.3, never a pass); permerror for a broken record;
# none without a record; an IDN author domain; per-recipient-domain
# enforcement (domains.d: dmarc_enforce = no, dmarc_reject_action) with
# the least severe action for mixed recipients; trusted forwarders;
# trusted and authenticated clients not evaluated; messages with ARC
# headers; the log line and the metrics. Then the aggregate reports of
# what it saw (portcullis dmarc-report over the day's history): each
# validates against its form's schema (tests/dmarc/*.xsd, xmllint), its
# counts add up to the history's lines, and --send hands sendmail (a
# capturing stand-in) the right recipients and attachment: an external
# destination only when its DNS agrees, none over a URI's size limit,
# none for dmarc_no_report_domains; old day files are removed. TAP.
set -u
VERIFY=$1
CLIENT=$2
PC_TEST_DNS=$3
PORTCULLIS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

PC_DIR=$(mktemp -d /tmp/pc-dmarc-test.XXXXXX)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
	"$PC_TEST_DNS" stop "$PC_DIR/dns" >/dev/null 2>&1
	[ -n "${PC_KEEP:-}" ] || rm -rf "$PC_DIR"
}
trap cleanup EXIT

# dmarc.test is a public suffix operator's (psd=y): each name below it is
# an organisation. 192.0.2.0/24 may send for all of them (SPF).
SPF='"v=spf1 ip4:192.0.2.0/24 -all"'
cat >"$PC_DIR/zone.txt" <<EOF
\$ZONE .
\$ZONE dmarc.test.
_dmarc.dmarc.test. 300 IN TXT "v=DMARC1; p=none; psd=y"
reject.dmarc.test. 300 IN TXT $SPF
_dmarc.reject.dmarc.test. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:agg@reject.dmarc.test"
quar.dmarc.test. 300 IN TXT $SPF
_dmarc.quar.dmarc.test. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@reports.test,mailto:x@unauth.test"
none.dmarc.test. 300 IN TXT $SPF
_dmarc.none.dmarc.test. 300 IN TXT "v=DMARC1; p=none; rua=mailto:agg@none.dmarc.test"
testing.dmarc.test. 300 IN TXT $SPF
_dmarc.testing.dmarc.test. 300 IN TXT "v=DMARC1; p=reject; t=y; rua=mailto:agg@testing.dmarc.test!1"
org.dmarc.test. 300 IN TXT $SPF
_dmarc.org.dmarc.test. 300 IN TXT "v=DMARC1; p=none; sp=reject; np=quarantine; rua=mailto:agg@org.dmarc.test"
sub.org.dmarc.test. 300 IN A 192.0.2.99
broken.dmarc.test. 300 IN TXT $SPF
_dmarc.broken.dmarc.test. 300 IN TXT "v=DMARC1; p=reject; p=none"
nopolicy.dmarc.test. 300 IN TXT $SPF
_dmarc.xn--bcher-kva.dmarc.test. 300 IN TXT "v=DMARC1; p=reject"
\$ZONE example.org.
example.org. 300 IN TXT $SPF
\$ZONE reports.test.
quar.dmarc.test._report._dmarc.reports.test. 300 IN TXT "v=DMARC1"
\$SERVFAIL dmarcfail.test.
\$TIMEOUT dmarcslow.test.
EOF
if ! read -r DNS_ADDRESS DNS_PORT < <("$PC_TEST_DNS" start "$PC_DIR/dns" "$PC_DIR/zone.txt"); then
	not_ok "the test DNS server starts" "$PC_DIR/dns/unbound.log"
	finish
	exit 1
fi

STATS_PORT=$(pick_port)
mkdir -p "$PC_DIR/domains.d"
# lists.example.com receives mailing lists: DMARC fails are reported only
cat >"$PC_DIR/domains.d/lists.example.com.conf" <<'EOF'
[verify]
dmarc_enforce = no
EOF
# held.example.com holds what p=reject would refuse
cat >"$PC_DIR/domains.d/held.example.com.conf" <<'EOF'
[verify]
dmarc_reject_action = quarantine
EOF
cat >"$PC_DIR/v.conf" <<EOF
[global]
local_domains = example.com
domains_dir = $PC_DIR/domains.d
authserv_id = mx.example.com
user =
statistics = 127.0.0.1:$((STATS_PORT - 3))
dns = $DNS_ADDRESS@$DNS_PORT
dns_timeout = 1s

[verify]
dmarc_trusted_forwarders = 203.0.113.0/24
dmarc_history_dir = $PC_DIR/history
dmarc_report_email = reports@mx.example.com
dmarc_report_sendmail = $PC_DIR/sendmail
dmarc_no_report_domains = none.dmarc.test
EOF
mkdir -p "$PC_DIR/history" "$PC_DIR/sent"
# a stand-in for sendmail: each call's arguments and message, kept
cat >"$PC_DIR/sendmail" <<EOF
#!/bin/sh
n=\$(ls "$PC_DIR/sent" | wc -l)
printf '%s\n' "\$@" >"$PC_DIR/sent/\$n.args"
cat >"$PC_DIR/sent/\$n.eml"
EOF
chmod +x "$PC_DIR/sendmail"

if start_daemon "$VERIFY" v; then
	ok "portcullis-verify starts"
else
	not_ok "portcullis-verify starts" "$PC_DIR/v.log"
	finish
	exit 1
fi

# scenario MTA CLIENT SENDER FROM-HEADERS RCPTS EXPECT...: one message from
# CLIENT; FROM-HEADERS is '|'-separated From header values ("" for none),
# RCPTS space-separated; each EXPECT is one expect line after EOM
scenario() {
	local mta=$1 client=$2 sender=$3 froms=$4 rcpts=$5 from rcpt
	shift 5
	echo "mta $mta"
	echo "macro {daemon_name} MX"
	echo "connect $client port 40001 name client.example.net"
	echo "helo client.example.net"
	echo "mail <$sender>"
	for rcpt in $rcpts; do echo "rcpt <$rcpt>"; done
	echo "data"
	if [ -n "$froms" ]; then
		IFS='|' read -ra from <<<"$froms"
		for f in "${from[@]}"; do echo "header From: $f"; done
	fi
	echo "header Subject: dmarc"
	echo "body hello"
	echo "eom"
	for e in "$@"; do echo "$e"; done
	echo "quit"
}

GOOD=192.0.2.10
BAD=198.51.100.7
R='bob@example.com'
# label|client|sender|From values|recipients|expect lines ('^' separated)
CASES=(
	"pass by aligned SPF|$GOOD|a@reject.dmarc.test|<a@reject.dmarc.test>|$R|expect continue^expect-mod insheader dmarc=pass (p=reject dis=none) header.from=reject.dmarc.test"
	"p=reject, SPF fails: 550 5.7.1|$BAD|a@reject.dmarc.test|Alice <a@reject.dmarc.test>|$R|expect reject 550 5.7.1 Rejected by DMARC policy for reject.dmarc.test"
	"p=reject, SPF passes for another domain: 550 5.7.1|$GOOD|a@example.org|<a@reject.dmarc.test>|$R|expect reject 550 5.7.1 Rejected by DMARC policy for reject.dmarc.test"
	"p=reject, SPF passes for a sibling under the public suffix: 550|$GOOD|a@none.dmarc.test|<a@reject.dmarc.test>|$R|expect reject 550 5.7.1 Rejected by DMARC policy for reject.dmarc.test"
	"p=quarantine: the hold queue|$BAD|a@quar.dmarc.test|<a@quar.dmarc.test>|$R|expect quarantine^expect-mod insheader dmarc=fail (p=quarantine dis=quarantine) header.from=quar.dmarc.test"
	"p=none: delivered, reported|$BAD|a@none.dmarc.test|<a@none.dmarc.test>|$R|expect continue^expect-mod insheader dmarc=fail (p=none dis=none) header.from=none.dmarc.test"
	"t=y: p=reject is held instead|$BAD|a@testing.dmarc.test|<a@testing.dmarc.test>|$R|expect quarantine^expect-mod insheader dmarc=fail (p=reject dis=quarantine)"
	"sp=reject for an existing subdomain|$BAD|a@sub.org.dmarc.test|<a@sub.org.dmarc.test>|$R|expect reject 550 5.7.1 Rejected by DMARC policy for sub.org.dmarc.test"
	"np=quarantine for a subdomain that does not exist|$BAD|a@nx.org.dmarc.test|<a@nx.org.dmarc.test>|$R|expect quarantine"
	"the organisation itself takes p=none, not sp=|$BAD|a@org.dmarc.test|<a@org.dmarc.test>|$R|expect continue^expect-mod insheader dmarc=fail (p=none sp=reject np=quarantine dis=none)"
	"the public suffix operator's record for an organisation without one|$BAD|a@nopolicy.dmarc.test|<a@nopolicy.dmarc.test>|$R|expect continue^expect-mod insheader dmarc=fail (p=none dis=none) header.from=nopolicy.dmarc.test"
	"relaxed alignment: SPF of a subdomain aligns with its organisation|$GOOD|a@org.dmarc.test|<a@sub.org.dmarc.test>|$R|expect continue^expect-mod insheader dmarc=pass"
	"no DMARC record: none|$BAD|a@example.org|<a@example.org>|$R|expect continue^expect-mod insheader dmarc=none header.from=example.org"
	"a record that cannot be read: permerror, delivered|$BAD|a@broken.dmarc.test|<a@broken.dmarc.test>|$R|expect continue^expect-mod insheader dmarc=permerror header.from=broken.dmarc.test"
	"an IDN author domain is judged as its A-label|$BAD|a@example.org|<a@bücher.dmarc.test>|$R|expect reject 550 5.7.1 Rejected by DMARC policy for xn--bcher-kva.dmarc.test"
	"SERVFAIL: 451 4.4.3, never a pass|$GOOD|a@example.org|<a@dmarcfail.test>|$R|expect tempfail 451 4.4.3 Temporary DNS failure evaluating DMARC for dmarcfail.test, try again later"
	"a silent server: 451 4.4.3|$GOOD|a@example.org|<a@dmarcslow.test>|$R|expect tempfail 451 4.4.3 Temporary DNS failure evaluating DMARC for dmarcslow.test, try again later"
	"no From header: 550 5.7.1|$GOOD|a@reject.dmarc.test||$R|expect reject 550 5.7.1 Message must have exactly one From header"
	"two From headers: 550 5.7.1|$GOOD|a@reject.dmarc.test|<a@reject.dmarc.test>|<a@evil.dmarc.test>|$R|expect reject 550 5.7.1 Message must have exactly one From header"
	"two addresses in one From: 550 5.7.1|$GOOD|a@reject.dmarc.test|<a@reject.dmarc.test>, <b@evil.dmarc.test>|$R|expect reject 550 5.7.1 From header must hold exactly one address with a domain name"
	"a group in From: 550 5.7.1|$GOOD|a@reject.dmarc.test|undisclosed:;|$R|expect reject 550 5.7.1 From header must hold exactly one address with a domain name"
	"dmarc_enforce = no for the recipient's domain: delivered|$BAD|a@reject.dmarc.test|<a@reject.dmarc.test>|list@lists.example.com|expect continue^expect-mod insheader dmarc=fail (p=reject dis=none) header.from=reject.dmarc.test policy.dmarc=none"
	"mixed recipients: the least severe action|$BAD|a@reject.dmarc.test|<a@reject.dmarc.test>|$R list@lists.example.com|expect continue"
	"dmarc_reject_action = quarantine for the recipient's domain: held|$BAD|a@reject.dmarc.test|<a@reject.dmarc.test>|x@held.example.com|expect quarantine^expect-mod insheader policy.dmarc=quarantine"
	"held and rejected recipients: held|$BAD|a@reject.dmarc.test|<a@reject.dmarc.test>|x@held.example.com $R|expect quarantine"
	"a trusted forwarder is never acted on|203.0.113.5|a@reject.dmarc.test|<a@reject.dmarc.test>|$R|expect continue^expect-mod insheader dmarc=fail (p=reject dis=none)"
	"a trusted client is not evaluated|127.0.0.1|a@reject.dmarc.test|<a@reject.dmarc.test>|$R|expect continue^expect-no-mod insheader 0 dmarc="
)
n=0
for mta in postfix sendmail; do
	for row in "${CASES[@]}"; do
		IFS='|' read -r label client sender froms rest <<<"$row"
		# the From values may hold '|' (two headers): the last two fields are fixed
		rcpts=${row%|*}
		rcpts=${rcpts##*|}
		expects=${row##*|}
		froms=${row#*|*|*|}
		froms=${froms%|*|*}
		n=$((n + 1))
		IFS='^' read -ra lines <<<"$expects"
		scenario $mta "$client" "$sender" "$froms" "$rcpts" "${lines[@]}" >"$PC_DIR/c$n.scn"
		check "$mta: $label" run_client v "$PC_DIR/c$n.scn"
	done
done

# an authenticated client: not evaluated, whatever its From
cat >"$PC_DIR/auth.scn" <<'EOF'
mta postfix
macro {daemon_name} MX
connect 198.51.100.7 port 40001 name client.example.net
helo client.example.net
auth alice
mail <a@reject.dmarc.test>
rcpt <bob@example.com>
data
header From: <a@reject.dmarc.test>
header From: <b@reject.dmarc.test>
body hello
eom
expect continue
expect-no-mod insheader 0 dmarc=
quit
EOF
check "an authenticated client is not evaluated (two From headers and all)" \
	run_client v "$PC_DIR/auth.scn"

# a message carrying ARC headers (OpenDMARC 1.4.2 crashed on some): judged like any other
cat >"$PC_DIR/arc.scn" <<'EOF'
mta postfix
macro {daemon_name} MX
connect 192.0.2.10 port 40001 name client.example.net
helo client.example.net
mail <a@reject.dmarc.test>
rcpt <bob@example.com>
data
header ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.org; s=arc; t=1; b=AAAA
header ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=arc; h=from; bh=AAAA; b=AAAA
header ARC-Authentication-Results: i=1; example.org; dmarc=pass header.from=reject.dmarc.test
header ARC-Seal: i=0; cv=; d=; b=
header From: <a@reject.dmarc.test>
body hello
eom
expect continue
expect-mod insheader dmarc=pass
quit
EOF
check "a message with ARC headers, broken ones too: judged, no crash" run_client v "$PC_DIR/arc.scn"
check "portcullis-verify is still running" kill -0 "$PID_v"

# the log line and the metrics
check "a refusal's line names the result, domain, policy and action" \
	grep -qE 'verify: action=reject, stage=eom, reason=dmarc-reject, .*dmarc=fail, dmarc_from=reject.dmarc.test, dmarc_policy_domain=reject.dmarc.test, dmarc_policy=p=reject, dmarc_disposition=reject, dmarc_action=reject' "$PC_DIR/v.log"
check "a pass names what aligned" \
	grep -qE 'dmarc=pass, dmarc_from=reject.dmarc.test, .*dmarc_aligned=spf' "$PC_DIR/v.log"
check "a forwarder's fail says why it was not acted on" \
	grep -qE 'dmarc=fail, dmarc_from=reject.dmarc.test, .*dmarc_action=none, dmarc_override=trusted-forwarder' "$PC_DIR/v.log"
check "t=y is named as the reason for the milder disposition" \
	grep -qE 'dmarc_from=testing.dmarc.test, .*dmarc_downgraded=t=y' "$PC_DIR/v.log"
check "a temperror names the DNS failure" \
	grep -qE 'reason=dmarc-temperror, .*dmarc=temperror, dmarc_from=dmarcfail.test, dmarc_reason=dns-error' "$PC_DIR/v.log"
check "the From problems are named" \
	grep -qE 'reason=dmarc-from, .*dmarc=permerror, dmarc_reason=several-from' "$PC_DIR/v.log"
metrics=$(http_get 127.0.0.1 "$STATS_PORT" /metrics)
check "the metrics count the results (2 MTAs x 2 passes, and the ARC message)" \
	grep -q '^portcullis_verify_dmarc_results_total{result="pass"} 5$' <<<"$metrics"
check "the metrics count the fails' actions" \
	grep -q '^portcullis_verify_dmarc_fail_actions_total{action="reject"} [1-9]' <<<"$metrics"
check "the metrics count the From problems (2 MTAs x 4)" \
	grep -q '^portcullis_verify_dmarc_from_invalid_total 8$' <<<"$metrics"

# ------------------------------------------------------- aggregate reports
SCHEMAS=$HERE/../dmarc
# an old day file: removed by --send and --out
printf 'old\n' >"$PC_DIR/history/2000-01-01.log"
DAYS=$(cd "$PC_DIR/history" && ls 20[0-9][0-9]-*.log | grep -v '^2000-' | sed 's/\.log$//')
check "the day's history is kept ($DAYS)" test -n "$DAYS"
# history_count DOMAIN: lines of the history for that policy domain (field 7)
history_count() {
	cat "$PC_DIR/history/"*.log | awk -F'\t' -v d="$1" '$1 == 1 && $7 == d { n++ } END { print n + 0 }'
}
check "a pass, a refusal, a held and a forwarded message are in it" \
	bash -c "grep -qP '\tpass\t' '$PC_DIR/history/'*.log && grep -qP '\treject\t' '$PC_DIR/history/'*.log &&
		grep -qP '\tquarantine\t' '$PC_DIR/history/'*.log && grep -q 'trusted-forwarder' '$PC_DIR/history/'*.log"
check "nothing is kept for temperror, none or permerror" \
	bash -c "! grep -qE 'dmarcfail|dmarcslow|broken\.dmarc' '$PC_DIR/history/'*.log &&
		! awk -F'\t' '\$7 == \"example.org\"' '$PC_DIR/history/'*.log | grep -q ."

for day in $DAYS; do
	check "the listing ($day) succeeds" "$PORTCULLIS" dmarc-report -c "$PC_DIR/v.conf" --day "$day"
	check "a listing changes nothing (the old day file is there)" test -e "$PC_DIR/history/2000-01-01.log"
	mkdir -p "$PC_DIR/out-$day"
	check "--out writes the reports ($day)" \
		"$PORTCULLIS" dmarc-report -c "$PC_DIR/v.conf" --day "$day" --out "$PC_DIR/out-$day"
done
check "the day files older than dmarc_history_keep are removed" \
	test ! -e "$PC_DIR/history/2000-01-01.log"

# validate FILE.xml.gz: against the schema of its form
validate() {
	local xml=${1%.gz}
	gunzip -c "$1" >"$xml" || return 1
	if grep -q 'urn:ietf:params:xml:ns:dmarc-2.0' "$xml"; then
		xmllint --noout --schema "$SCHEMAS/rfc9990-aggregate.xsd" "$xml"
	else
		xmllint --noout --schema "$SCHEMAS/rfc7489-aggregate.xsd" "$xml"
	fi
}
# counted DOMAIN: the sum of the <count>s of DOMAIN's reports
counted() {
	local total=0 f n
	for f in "$PC_DIR"/out-*/"mx.example.com!$1!"*.xml; do
		[ -e "$f" ] || continue
		n=$(xmllint --xpath 'sum(//*[local-name()="count"])' "$f")
		total=$((total + n))
	done
	echo $total
}
# every policy domain of the history has a report (but none.dmarc.test) that
# validates and counts what the history holds
for domain in $(cat "$PC_DIR/history/"*.log | awk -F'\t' '$1 == 1 { print $7 }' | sort -u); do
	[ "$domain" = none.dmarc.test ] && continue
	files=$(ls "$PC_DIR"/out-*/"mx.example.com!$domain!"*.xml.gz 2>/dev/null)
	if [ -z "$files" ]; then
		not_ok "$domain: a report is written"
		continue
	fi
	for f in $files; do
		check "$domain: $(basename "$f") validates against its schema" validate "$f"
	done
	check "$domain: the report counts what the history holds ($(history_count "$domain"))" \
		test "$(counted "$domain")" = "$(history_count "$domain")"
done
check "the report of a DMARCbis record is in RFC 9990's form, with the discovery method" \
	bash -c "grep -q '<discovery_method>treewalk</discovery_method>' '$PC_DIR'/out-*/'mx.example.com!testing.dmarc.test!'*.xml"
check "an RFC 7489 record's report gives sp and pct" \
	bash -c "grep -q '<sp>reject</sp>' '$PC_DIR'/out-*/'mx.example.com!reject.dmarc.test!'*.xml &&
		grep -q '<pct>100</pct>' '$PC_DIR'/out-*/'mx.example.com!reject.dmarc.test!'*.xml"
check "a trusted forwarder's fail is reported as such" \
	bash -c "grep -q '<type>trusted_forwarder</type>' '$PC_DIR'/out-*/'mx.example.com!reject.dmarc.test!'*.xml"
check "t=y is reported as policy_test_mode" \
	bash -c "grep -q '<type>policy_test_mode</type>' '$PC_DIR'/out-*/'mx.example.com!testing.dmarc.test!'*.xml"
check "no report for a domain in dmarc_no_report_domains" \
	bash -c "! ls '$PC_DIR'/out-*/'mx.example.com!none.dmarc.test!'* 2>/dev/null"

# --send: the captured calls of the sendmail stand-in
for day in $DAYS; do
	"$PORTCULLIS" dmarc-report -c "$PC_DIR/v.conf" --day "$day" --send >"$PC_DIR/send-$day.out" 2>&1
	echo $? >"$PC_DIR/send-$day.status"
done
# sent_to ADDRESS...: some call's arguments are exactly -i -f FROM -- ADDRESS...
sent_to() {
	local want f
	want=$(printf '%s\n' -i -f reports@mx.example.com -- "$@")
	for f in "$PC_DIR"/sent/*.args; do
		[ "$(cat "$f")" = "$want" ] && return 0
	done
	return 1
}
check "--send ends well" bash -c "! grep -qv '^0$' '$PC_DIR'/send-*.status"
check "the report for reject.dmarc.test goes to its rua (same organisation)" \
	sent_to agg@reject.dmarc.test
check "an external destination that agrees in the DNS gets its report" \
	sent_to dmarc@reports.test
check "no mail to the external destination that did not agree" \
	bash -c "! grep -q 'x@unauth.test' '$PC_DIR'/sent/*.args"
check "a report over the URI's size limit is not sent" \
	bash -c "! grep -q 'agg@testing.dmarc.test' '$PC_DIR'/sent/*.args && grep -q 'larger than its limit' '$PC_DIR'/send-*.out"
check "nothing for dmarc_no_report_domains" \
	bash -c "! grep -q 'agg@none.dmarc.test' '$PC_DIR'/sent/*.args"
# the message handed over: Subject, attachment name, and the attachment itself
mail=$(grep -l 'agg@reject.dmarc.test' "$PC_DIR"/sent/*.args | head -1)
mail=${mail%.args}.eml
check "the report mail's Subject is the RFC's" \
	grep -qE '^Subject: Report Domain: reject\.dmarc\.test Submitter: mx\.example\.com' "$mail"
check "the attachment has the RFC's file name" \
	grep -qE 'filename="mx\.example\.com!reject\.dmarc\.test![0-9]+![0-9]+\.xml\.gz"' "$mail"
extract_attachment() {
	awk '/^Content-Transfer-Encoding: base64/ { on = 1; getline; next } on && /^--/ { on = 0 } on' "$mail" |
		tr -d '\r' | base64 -d >"$PC_DIR/attached.xml.gz" && validate "$PC_DIR/attached.xml.gz"
}
check "the attachment is the gzipped report, and it validates" extract_attachment

finish

