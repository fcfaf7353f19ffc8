#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""rfc7208-suite.py: the RFC 7208 test suite against our SPF code.

    rfc7208-suite.py PORTCULLIS PC-TEST-DNS [SUITE.yml[.gz]] [TEST...]

Runs every test of the openspf.org RFC 7208 suite (Debian ships it with
python3-spf as /usr/share/doc/python3-spf/rfc7208-tests.yml.gz) through
`portcullis spf`, the admin command that checks with the daemon's code,
configuration and resolver, against a real DNS server: for each scenario
of the suite, tests/dns/pc-test-dns serves the scenario's zone data (see
zone_description below for how the suite's records become a zone
description), and each test's host, mailfrom and helo are checked. A
result is right when it is the expected one or one of the listed
alternatives; the explanation of a fail is compared where the test gives
one ("DEFAULT" stands for our default text).

Prints every test that went wrong, the explanations that differ, and the
counts. Exit status: 0 when at least PC_SPF_MIN_PASS (default 201) tests
give the expected result, 1 otherwise, 77 (skipped) when python3-yaml or
the suite is missing, 2 on a usage error. With TEST names only those run;
PC_SPF_VERBOSE=1 prints every test's outcome, PC_KEEP=1 keeps the zone
descriptions and server logs.
"""
import concurrent.futures
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEFAULT_SUITE = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"
MIN_PASS = int(os.environ.get("PC_SPF_MIN_PASS", "201"))
DNS_TIMEOUT = os.environ.get("PC_SPF_DNS_TIMEOUT", "2s")
# our default explanation (pc-spf.c), which the suite calls DEFAULT
DEFAULT_EXPLANATION = re.compile(r"^\S+ does not designate \S+ as permitted sender$")
SKIP = 77


def name_text(name):
    """A domain name in zone-file form: octets other than letters, digits,
    '-' and '_' as \\DDD, dots as separators, absolute."""
    if name in ("", "."):
        return "."
    out = []
    for octet in name.rstrip(".").encode("utf-8"):
        c = chr(octet)
        if c.isascii() and (c.isalnum() or c in "-_."):
            out.append(c)
        else:
            out.append("\\%03d" % octet)
    return "".join(out) + "."


def suite_bytes(text):
    """The suite writes octets as \\xHH escapes in YAML strings, which
    YAML reads as code points U+0000..U+00FF: those are octets again;
    anything beyond is UTF-8."""
    out = bytearray()
    for c in text:
        if ord(c) < 256:
            out.append(ord(c))
        else:
            out += c.encode("utf-8")
    return bytes(out)


def txt_rdata(strings):
    """TXT rdata in zone-file form: each string quoted (cut at 255 octets),
    octets outside printable ASCII, '"' and '\\' as \\DDD."""
    pieces = []
    for string in strings:
        data = suite_bytes(string)
        chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
        for chunk in chunks:
            text = "".join(chr(b) if 0x20 <= b < 0x7f and chr(b) not in '"\\' else "\\%03d" % b
                           for b in chunk)
            pieces.append('"' + text + '"')
    return " ".join(pieces)


def zone_description(zonedata):
    """(description text, notes): the scenario's records as pc-test-dns
    reads them.

    - The suite's convention for RFC 4408's SPF type: a name with SPF
      records and no TXT records gets them as TXT records ("TXT: NONE" says
      there are none); type SPF itself is not served, we never ask it.
    - TIMEOUT: a name with TXT records keeps them (its other types are then
      NODATA, not a timeout: only the spftimeout test has such a name, and
      it asks TXT only); a name without any is a $TIMEOUT zone, where every
      query goes unanswered.
    - "$ZONE ." serves the root: a name the scenario does not list is
      NXDOMAIN, as the suite's driver answers. Reverse names get a zone of
      their own each, because unbound has built-in empty zones for private
      and documentation reverse ranges (168.192.in-addr.arpa, ...) that
      would hide them; so do names below a $TIMEOUT name.
    - An empty TXT record (no strings, which zone-file syntax cannot write)
      is left out.
    """
    notes = []
    records = []
    timeouts = []
    zones = ["."]
    for owner, entries in zonedata.items():
        typed = {}
        timeout = False
        for entry in entries:
            if entry == "TIMEOUT":
                timeout = True
                continue
            (rrtype, value), = entry.items()
            typed.setdefault(rrtype.upper(), []).append(value)
        txt = typed.get("TXT")
        if txt is None:
            txt = typed.get("SPF", [])
        txt = [t for t in txt if t != "NONE"]
        if timeout and not txt:
            timeouts.append(owner)
            if typed:
                notes.append(f"{owner}: TIMEOUT for every type ({', '.join(typed)} not served)")
            continue
        if timeout:
            notes.append(f"{owner}: TIMEOUT only for types it has no records of, served NODATA")
        name = name_text(owner)
        if owner.lower().endswith((".in-addr.arpa", ".ip6.arpa")):
            zones.append(name)
        for value in txt:
            strings = value if isinstance(value, list) else [value]
            if not strings:
                notes.append(f"{owner}: an empty TXT record left out")
                continue
            records.append(f"{name} 300 IN TXT {txt_rdata(strings)}")
        for rrtype in ("A", "AAAA", "PTR", "CNAME", "MX"):
            for value in typed.get(rrtype, []):
                if rrtype == "MX":
                    rdata = f"{int(value[0])} {name_text(value[1])}"
                elif rrtype in ("PTR", "CNAME"):
                    rdata = name_text(value)
                else:
                    rdata = str(value)
                records.append(f"{name} 300 IN {rrtype} {rdata}")
    # a $TIMEOUT zone covers the names below it: those the scenario lists
    # get zones of their own, so only the name itself goes unanswered
    timeout_names = [name_text(owner) for owner in timeouts]
    for record in records:
        owner = record.split()[0]
        if owner not in zones and any(owner.endswith("." + t) for t in timeout_names):
            zones.append(owner)
    lines = ["; generated by tests/spf/rfc7208-suite.py"]
    for zone in zones:
        lines.append(f"$ZONE {zone}")
    for owner in timeouts:
        lines.append(f"$TIMEOUT {name_text(owner)}")
    # pc-test-dns places each record in its closest zone itself
    lines += records
    return "\n".join(lines) + "\n", notes


class Server:
    """pc-test-dns run: stops when its stdin closes."""

    def __init__(self, pc_test_dns, state_dir, zone_file):
        self.process = subprocess.Popen([pc_test_dns, "run", state_dir, zone_file],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline().split()
        if len(line) != 2:
            self.stop()
            raise OSError(f"pc-test-dns did not start (see {state_dir}/unbound.log)")
        self.address, self.port = line

    def stop(self):
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def write_config(path, state_dir, server):
    domains = os.path.join(state_dir, "domains.d")
    os.makedirs(domains, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"""[global]
domains_dir = {domains}
user =
authserv_id = receiver.example
dns = {server.address}@{server.port}
dns_timeout = {DNS_TIMEOUT}
dns_message_budget = 20s
""")


def run_test(portcullis, config, test):
    argv = [portcullis, "spf", "-v", "-c", config, str(test["host"]), str(test.get("mailfrom", "")),
            str(test.get("helo", ""))]
    done = subprocess.run(argv, capture_output=True, timeout=120)
    fields = done.stdout.decode("utf-8", "replace").rstrip("\n").split("\t")
    if done.returncode != 0 or len(fields) < 2:
        return None, None, f"exit {done.returncode}: {done.stderr.decode('utf-8', 'replace')}"
    return fields[0], fields[1], fields[2] if len(fields) > 2 else ""


def expected_results(test):
    wanted = test["result"]
    return wanted if isinstance(wanted, list) else [wanted]


def explanation_matches(wanted, got):
    if wanted == "DEFAULT":
        return DEFAULT_EXPLANATION.match(got or "") is not None
    return wanted == got


def run_scenario(portcullis, pc_test_dns, work, number, scenario, only):
    tests = {name: t for name, t in scenario["tests"].items() if not only or name in only}
    if not tests:
        return []
    state_dir = os.path.join(work, f"scenario-{number}")
    os.makedirs(state_dir)
    description, notes = zone_description(scenario.get("zonedata") or {})
    zone_file = os.path.join(state_dir, "zone.txt")
    with open(zone_file, "w", encoding="utf-8") as f:
        f.write(description)
    for note in notes:
        print(f"# {scenario['description']}: {note}")
    server = Server(pc_test_dns, state_dir, zone_file)
    try:
        config = os.path.join(state_dir, "portcullis.conf")
        write_config(config, state_dir, server)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            futures = {name: pool.submit(run_test, portcullis, config, test)
                       for name, test in tests.items()}
            return [(name, tests[name], futures[name].result()) for name in tests]
    finally:
        server.stop()


def main(argv):
    if len(argv) < 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    portcullis, pc_test_dns = argv[1], argv[2]
    rest = argv[3:]
    suite_path = DEFAULT_SUITE
    if rest and (rest[0].endswith(".yml") or rest[0].endswith(".gz")):
        suite_path = rest.pop(0)
    try:
        import yaml
    except ImportError:
        print("SKIP: python3-yaml is not installed")
        return SKIP
    if not os.path.exists(suite_path):
        print(f"SKIP: no {suite_path} (Debian package python3-spf)")
        return SKIP
    opener = gzip.open if suite_path.endswith(".gz") else open
    with opener(suite_path, "rt", encoding="utf-8") as f:
        scenarios = [s for s in yaml.safe_load_all(f) if s]
    work = tempfile.mkdtemp(prefix="pc-spf-suite.")
    total = passed = exp_total = exp_passed = 0
    try:
        for number, scenario in enumerate(scenarios):
            for name, test, (result, explanation, why) in run_scenario(
                    portcullis, pc_test_dns, work, number, scenario, set(rest)):
                total += 1
                wanted = expected_results(test)
                if os.environ.get("PC_SPF_VERBOSE"):
                    print(f"{name}: {result}\t{explanation}\t{why}")
                if result in wanted:
                    passed += 1
                else:
                    print(f"FAIL {name}: {result} (want {' or '.join(wanted)}; "
                          f"spec {test.get('spec', '?')}): {why}")
                if "explanation" in test:
                    exp_total += 1
                    if explanation_matches(test["explanation"], explanation):
                        exp_passed += 1
                    else:
                        same_case = (explanation or "").lower() == str(test["explanation"]).lower()
                        print(f"EXPLANATION {name}: '{explanation}' (want "
                              f"'{test['explanation']}'{'; differs in case only' if same_case else ''})")
    finally:
        if not os.environ.get("PC_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} of {total} tests give the expected result (at least {MIN_PASS} wanted); "
          f"{exp_passed} of {exp_total} explanations as expected")
    return 0 if passed >= min(MIN_PASS, total) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
