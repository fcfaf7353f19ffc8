#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""dkim-verify.py: checks DKIM signatures with dkimpy, a verifier that shares
no code with libopendkim (Debian's python3-dkim; Ed25519 through python3-nacl).
Debian's interpreter on purpose: that is where the packages are.

    dkim-verify.py --dns ADDRESS PORT [--expect ALG[,ALG]] [--fail] FILE...

Public keys are asked of the DNS server at ADDRESS PORT (the test server,
tests/dns/pc-test-dns) over UDP, through dkimpy's dnsfunc hook. For each
file one line: "FILE: a=ALG d=DOMAIN s=SELECTOR pass|fail ..." per
signature. Exit status 0 when every file is as expected:

  --expect ALGS   the signatures' a= values are exactly these (any order)
  --fail          every signature fails (a message changed after signing)

otherwise every signature must pass; 1 when one is not, 2 on usage errors.

    dkim-verify.py record DOMAIN SELECTOR PUBLIC-B64 rsa|ed25519

prints the key's TXT record as a zone-description line, the p= value split
into strings of at most 255 bytes.
"""
import argparse
import sys

import dkim
import dns.message
import dns.query
import dns.rdatatype


def dns_lookup(address, port):
    def lookup(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        query = dns.message.make_query(name, dns.rdatatype.TXT)
        answer = dns.query.udp(query, address, port=port, timeout=timeout)
        for rrset in answer.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(list(rrset.items)[0].strings)
        return None

    return lookup


def tag(signature, name):
    for part in signature.split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key.strip() == name:
            return b"".join(value.split()).decode("ascii", "replace")
    return "?"


def check_file(path, lookup, expect, want_fail):
    with open(path, "rb") as f:
        message = f.read()
    verifier = dkim.DKIM(message)
    headers = [v for (n, v) in verifier.headers if n.lower() == b"dkim-signature"]
    results = []
    ok = len(headers) > 0
    for index, value in enumerate(headers):
        try:
            passed = verifier.verify(idx=index, dnsfunc=lookup)
        except dkim.DKIMException as e:
            passed = False
            print(f"# {path}: signature {index}: {e}", file=sys.stderr)
        results.append(
            f"a={tag(value, b'a')} d={tag(value, b'd')} s={tag(value, b's')} "
            + ("pass" if passed else "fail")
        )
        ok = ok and (passed != want_fail)
    algorithms = sorted(tag(v, b"a") for v in headers)
    if expect is not None and algorithms != sorted(expect):
        ok = False
        results.append(f"expected {','.join(sorted(expect))}")
    print(f"{path}: " + ("; ".join(results) if results else "no signature"))
    return ok


def record(argv):
    domain, selector, public, kind = argv
    strings = [public[i : i + 255] for i in range(0, len(public), 255)]
    k = "rsa" if kind == "rsa" else "ed25519"
    parts = " ".join(f'"{s}"' for s in [f"v=DKIM1; k={k}; p="] + strings)
    print(f"{selector}._domainkey.{domain}. 300 IN TXT {parts}")
    return 0


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "record":
        return record(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--dns", nargs=2, metavar=("ADDRESS", "PORT"), required=True)
    parser.add_argument("--expect")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    lookup = dns_lookup(args.dns[0], int(args.dns[1]))
    expect = args.expect.split(",") if args.expect else None
    ok = True
    for path in args.files:
        ok = check_file(path, lookup, expect, args.fail) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
