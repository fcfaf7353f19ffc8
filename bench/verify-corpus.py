#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""verify-corpus: the messages of bench/verify.sh, made fresh by each run.

    verify-corpus.py DIR [SPF-IP4]
                            DIR/zone (a tests/dns/pc-test-dns description),
                            DIR/rsa2048.scn and DIR/ed25519.scn (pc-milter-client
                            scenarios: one transaction from 192.0.2.10, HELO
                            mail.example.org, MAIL FROM <alice@example.org>),
                            and the signed messages as DIR/rsa2048.eml and
                            DIR/ed25519.eml (CRLF; bench/stack.sh sends them)

One message of ordinary size (seven headers, about 3 KB of text), signed
relaxed/relaxed by dkimpy (python3-dkim) as example.org with a fresh
RSA-2048 key (selector rsa2048) or Ed25519 key (ed25519). example.org
publishes SPF "ip4:SPF-IP4 -all" (default 192.0.2.0/24, the scenarios'
client), so the client passes SPF too, and DMARC p=none. The
keys, signer and scenario writer are tests/dkim/dkim-corpus.py's.
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "dkim_corpus", os.path.join(HERE, "..", "tests", "dkim", "dkim-corpus.py"))
corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corpus)

DOMAIN = b"example.org"
HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
           b"content-type"]


def message():
    body = b"".join(b"Line %03d of an ordinary message: a few words of text, as people write"
                    b" them.\r\n" % i for i in range(40))
    return (b"From: Alice <alice@example.org>\r\n"
            b"To: Bob <bob@example.com>\r\n"
            b"Subject: the quarterly figures\r\n"
            b"Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <bench-verify@example.org>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"\r\n" + body)


def scenario(signed):
    lines = ["# bench/verify-corpus.py: one signed message from a client SPF allows",
             "mta postfix", "macro {daemon_name} MX", "macro {daemon_port} 25",
             "connect 192.0.2.10 port 40000 name mail.example.org",
             "helo mail.example.org", "mail <alice@example.org>", "rcpt <bob@example.com>",
             "data"]
    return "\n".join(lines + corpus.scenario_lines(signed) + ["eom", ""])


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    directory = argv[1]
    spf_ip4 = argv[2] if len(argv) == 3 else "192.0.2.0/24"
    os.makedirs(directory, exist_ok=True)
    rsa = corpus.rsa_key(2048)
    ed = corpus.ed25519_key()
    zone = ["; bench/verify-corpus.py: keys of this run", "$ZONE example.org.",
            f'example.org. 300 IN TXT "v=spf1 ip4:{spf_ip4} -all"',
            '_dmarc.example.org. 300 IN TXT "v=DMARC1; p=none"',
            corpus.txt("rsa2048._domainkey.example.org.", f"v=DKIM1; k=rsa; p={rsa['public']}"),
            corpus.txt("ed25519._domainkey.example.org.", f"v=DKIM1; k=ed25519; p={ed['public']}")]
    with open(os.path.join(directory, "zone"), "w") as f:
        f.write("\n".join(zone) + "\n")
    for name, key, alg in (("rsa2048", rsa, b"rsa-sha256"), ("ed25519", ed, b"ed25519-sha256")):
        signed = corpus.sign(message(), name, key, alg=alg, canon="rr", domain=DOMAIN,
                             headers=HEADERS)
        with open(os.path.join(directory, f"{name}.scn"), "w") as f:
            f.write(scenario(signed))
        with open(os.path.join(directory, f"{name}.eml"), "wb") as f:
            f.write(signed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
