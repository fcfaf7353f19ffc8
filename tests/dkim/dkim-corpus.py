#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""dkim-corpus: the DKIM test corpus of portcullis-verify, made fresh by each
run with an independent signer (dkimpy, python3-dkim; Ed25519 through
python3-nacl) and keys generated on the spot (openssl, nacl): no key is
committed.

    dkim-corpus.py generate DIR         keys, DIR/zone (a pc-test-dns zone
                                        description), DIR/messages/CASE.eml,
                                        DIR/cases.json
    dkim-corpus.py scenario DIR MTA     a pc-milter-client scenario that sends
                                        every case as one transaction (stdout);
                                        DIR/lines-MTA.json maps EOM lines to cases
    dkim-corpus.py check DIR MTA REPORT the Authentication-Results of each case
                                        against the table: "ok|WHAT" or
                                        "not ok|WHAT" lines, "# " details
    dkim-corpus.py check-tool DIR OUT LABEL
                                        the same for `portcullis verify`: OUT/CASE
                                        holds what it printed for CASE
    dkim-corpus.py table                the table, for the documentation

Each case carries the result RFC 6376, RFC 8301 and RFC 8463 require for
each signature (top down), with RFC 8601's words, and the reason: never
what libopendkim happens to say. Where libopendkim says otherwise by itself
the case's note says so.
"""
import base64
import json
import os
import re
import subprocess
import sys

try:
    import dkim
    import nacl.signing
except ImportError as e:  # the caller reports a SKIP
    print(f"dkim-corpus: {e} (python3-dkim and python3-nacl are needed)", file=sys.stderr)
    sys.exit(77)

DOMAIN = b"dkim.test"
SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"x-spacing",
                  b"mime-version", b"content-type"]
CANONS = {"ss": (b"simple", b"simple"), "sr": (b"simple", b"relaxed"),
          "rs": (b"relaxed", b"simple"), "rr": (b"relaxed", b"relaxed")}


# ------------------------------------------------------------------ keys

def rsa_key(bits):
    pem = subprocess.run(["openssl", "genrsa", "-traditional", str(bits)], check=True,
                         capture_output=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem,
                         check=True, capture_output=True).stdout
    return {"private": pem, "public": base64.b64encode(der).decode()}


def ed25519_key():
    key = nacl.signing.SigningKey.generate()
    return {"private": base64.b64encode(bytes(key)),
            "public": base64.b64encode(bytes(key.verify_key)).decode()}


def make_keys():
    return {"rsa512": rsa_key(512), "rsa1024": rsa_key(1024), "rsa2048": rsa_key(2048),
            "ed25519": ed25519_key()}


def txt(name, text):
    """a zone line: TXT in 255-octet character-strings"""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return f'{name} 300 IN TXT ' + " ".join('"' + p + '"' for p in parts)


def zone_lines(keys):
    rsa = keys["rsa2048"]["public"]
    ed = keys["ed25519"]["public"]
    stray = rsa[:40] + "$$" + rsa[40:]
    records = {
        "rsa512": f"v=DKIM1; k=rsa; p={keys['rsa512']['public']}",
        "rsa1024": f"v=DKIM1; k=rsa; p={keys['rsa1024']['public']}",
        "rsa2048": f"v=DKIM1; k=rsa; p={rsa}",
        "ed25519": f"v=DKIM1; k=ed25519; p={ed}",
        "testing": f"v=DKIM1; k=rsa; t=y; p={rsa}",
        "strict": f"v=DKIM1; k=rsa; t=s; p={rsa}",
        "revoked": "v=DKIM1; k=rsa; p=",
        "badb64": f"v=DKIM1; k=rsa; p={stray}",
        "sha1only": f"v=DKIM1; k=rsa; h=sha1; p={rsa}",
        "wrongk": f"v=DKIM1; k=ed25519; p={rsa}",
        "edasrsa": f"v=DKIM1; k=rsa; p={ed}",
        "unknownk": f"v=DKIM1; k=dsa; p={rsa}",
        "keyv2": f"v=DKIM2; k=rsa; p={rsa}",
        "keydup": f"v=DKIM1; k=rsa; p={rsa}; p={rsa}",
        "notemail": f"v=DKIM1; k=rsa; s=tlsrpt; p={rsa}",
        "nop": "v=DKIM1; k=rsa",
    }
    lines = ["; made by tests/dkim/dkim-corpus.py: keys of this run", "$ZONE dkim.test."]
    for selector, text in records.items():
        lines.append(txt(f"{selector}._domainkey.dkim.test.", text))
    lines.append(txt("multi._domainkey.dkim.test.", f"v=DKIM1; k=rsa; p={rsa}"))
    lines.append(txt("multi._domainkey.dkim.test.", f"v=DKIM1; k=ed25519; p={ed}"))
    lines.append("nodata._domainkey.dkim.test. 300 IN A 192.0.2.1")
    lines.append("alias._domainkey.dkim.test. 300 IN CNAME rsa2048._domainkey.dkim.test.")
    # keys for the end-to-end test, whose names no other case asks for (nothing cached)
    for selector in ("e2e", "e2e-down-pf", "e2e-down-sm"):
        lines.append(txt(f"{selector}._domainkey.dkim.test.", f"v=DKIM1; k=rsa; p={rsa}"))
    lines += ["$SERVFAIL servfail.test.", "$TIMEOUT timeout.test."]
    return lines


# -------------------------------------------------------------- messages

def base_message(name, body=None):
    """CRLF message; the blanks after some colons and the folding are on purpose"""
    headers = (
        b"From: Alice <alice@dkim.test>\r\n"
        b"To: Bob <bob@example.com>\r\n"
        b"Subject:  corpus " + name.encode() + b"\r\n\twith a folded line\r\n"
        b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
        b"Message-ID: <" + name.encode() + b"@dkim.test>\r\n"
        b"X-Spacing:\ta tab after the colon,  two spaces inside\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\n")
    if body is None:
        body = (b"Hello Bob,\r\n"
                b"\r\n"
                b"A line with  two spaces, a tab\tand blanks at the end  \r\n"
                b" a line that starts with a blank\r\n"
                b"The last line.\r\n"
                b"\r\n"
                b"\r\n")
    return headers + b"\r\n" + body


def big_body():
    line = b"0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ %05d\r\n"
    return b"".join(line % i for i in range(6000))


def sign(message, selector, key, alg=b"rsa-sha256", canon="rr", domain=DOMAIN, identity=None,
         length=False, headers=None):
    """the message with one more DKIM-Signature on top"""
    signature = dkim.sign(message, selector.encode(), domain, key["private"],
                          identity=identity, canonicalize=CANONS[canon],
                          signature_algorithm=alg,
                          include_headers=headers or SIGNED_HEADERS, length=length)
    return signature + message


def rewrite_signature(message, edit):
    """the top DKIM-Signature's tags through edit(list of [name, value]), unfolded"""
    end = message.index(b"\r\n", 0)
    while message[end + 2:end + 3] in (b" ", b"\t"):
        end = message.index(b"\r\n", end + 2)
    value = message[len(b"DKIM-Signature:"):end].decode()
    tags = [[p.split("=", 1)[0].strip(), re.sub(r"\s+", "", p.split("=", 1)[1])]
            for p in value.split(";") if p.strip()]
    tags = edit(tags)
    text = "; ".join(t if isinstance(t, str) else f"{t[0]}={t[1]}" for t in tags)
    return b"DKIM-Signature: " + text.encode() + message[end:]


def set_tag(name, value):
    def edit(tags):
        return [[t[0], value] if t[0] == name else t for t in tags]
    return edit


def drop_tag(name):
    return lambda tags: [t for t in tags if t[0] != name]


def add_tag(text):
    return lambda tags: tags + [text]


def flip_b(tags):
    out = []
    for name, value in tags:
        if name == "b":
            value = value[:10] + ("B" if value[10] != "B" else "C") + value[11:]
        out.append([name, value])
    return out


def stray_b(tags):
    return [[n, v[:20] + "$" + v[20:]] if n == "b" else [n, v] for n, v in tags]


# ------------------------------------------------------------------ cases

class Case:
    def __init__(self, name, kind, make, expect, note=""):
        self.name = name
        self.kind = kind        # pass, fail, permerror, temperror, multiple, none
        self.make = make        # keys -> message bytes
        self.expect = expect    # [(result, reason substring or None, d, s)], top down
        self.note = note


def P(d="dkim.test", s=None):
    return ("pass", None, d, s)


def CASES():
    cases = []
    add = cases.append
    m = base_message

    # --- pass: every key type and size RFC 8301/8463 accept, every canonicalisation
    for key in ("rsa1024", "rsa2048", "ed25519"):
        alg = b"ed25519-sha256" if key == "ed25519" else b"rsa-sha256"
        for canon in CANONS:
            name = f"{key}-{canon}"
            add(Case(name, "pass",
                     lambda k, key=key, alg=alg, canon=canon, name=name:
                     sign(m(name), key, k[key], alg=alg, canon=canon),
                     [P(s=key)]))
    add(Case("large-body-ss", "pass",
             lambda k: sign(m("large-body-ss", big_body()), "rsa2048", k["rsa2048"], canon="ss"),
             [P(s="rsa2048")], "a 400 KiB body: several milter body chunks, cut mid-line"))
    add(Case("large-body-ed25519-rr", "pass",
             lambda k: sign(m("large-body-ed25519-rr", big_body()), "ed25519", k["ed25519"],
                            alg=b"ed25519-sha256"),
             [P(s="ed25519")]))
    add(Case("empty-body", "pass",
             lambda k: sign(m("empty-body", b""), "rsa2048", k["rsa2048"], canon="ss"),
             [P(s="rsa2048")]))
    add(Case("length-appended", "pass",
             lambda k: sign(m("length-appended"), "rsa2048", k["rsa2048"], length=True)
             + b"appended after signing\r\n",
             [P(s="rsa2048")], "l= covers the original body; RFC 6376 3.5 lets text follow it"))
    add(Case("relaxed-header-respaced", "pass",
             lambda k: sign(m("relaxed-header-respaced"), "rsa2048", k["rsa2048"], canon="rs")
             .replace(b"Subject:  corpus", b"SUBJECT:corpus   "),
             [P(s="rsa2048")], "relaxed header canonicalisation ignores case and blanks"))
    add(Case("relaxed-body-respaced", "pass",
             lambda k: sign(m("relaxed-body-respaced"), "rsa2048", k["rsa2048"], canon="sr")
             .replace(b"two spaces, a tab\tand", b"two  spaces,  a tab and")
             + b"\r\n\r\n",
             [P(s="rsa2048")], "relaxed body: blank runs and empty lines at the end"))
    add(Case("simple-body-empty-lines", "pass",
             lambda k: sign(m("simple-body-empty-lines"), "rsa2048", k["rsa2048"], canon="ss")
             + b"\r\n\r\n\r\n",
             [P(s="rsa2048")], "simple body ignores empty lines at the end"))
    add(Case("unsigned-header-added", "pass",
             lambda k: sign(m("unsigned-header-added"), "rsa2048", k["rsa2048"])
             .replace(b"\r\n\r\n", b"\r\nX-Added: after signing\r\n\r\n", 1),
             [P(s="rsa2048")]))
    add(Case("testing-key", "pass",
             lambda k: sign(m("testing-key"), "testing", k["rsa2048"]),
             [P(s="testing")], "t=y: reported as verified, marked in the log"))
    add(Case("strict-same-domain", "pass",
             lambda k: sign(m("strict-same-domain"), "strict", k["rsa2048"],
                            identity=b"alice@dkim.test"),
             [P(s="strict")]))
    add(Case("key-through-cname", "pass",
             lambda k: sign(m("key-through-cname"), "alias", k["rsa2048"]),
             [P(s="alias")]))

    # --- fail: the hashes do not match (RFC 6376 6.1.3)
    body_tamper = (b"The last line.", b"The last line!")
    for key, canon in (("rsa2048", "ss"), ("rsa2048", "rr"), ("ed25519", "rr")):
        alg = b"ed25519-sha256" if key == "ed25519" else b"rsa-sha256"
        name = f"body-tampered-{key}-{canon}"
        add(Case(name, "fail",
                 lambda k, key=key, alg=alg, canon=canon, name=name:
                 sign(m(name), key, k[key], alg=alg, canon=canon).replace(*body_tamper),
                 [("fail", "body hash did not verify", "dkim.test", key)]))
    add(Case("simple-body-respaced", "fail",
             lambda k: sign(m("simple-body-respaced"), "rsa2048", k["rsa2048"], canon="ss")
             .replace(b"blanks at the end  \r\n", b"blanks at the end\r\n"),
             [("fail", "body hash did not verify", "dkim.test", "rsa2048")]))
    add(Case("subject-tampered", "fail",
             lambda k: sign(m("subject-tampered"), "rsa2048", k["rsa2048"])
             .replace(b"with a folded line", b"with a changed line"),
             [("fail", "signature did not verify", "dkim.test", "rsa2048")]))
    add(Case("from-tampered-ss", "fail",
             lambda k: sign(m("from-tampered-ss"), "rsa2048", k["rsa2048"], canon="ss")
             .replace(b"From: Alice <alice@", b"From: Mallory <alice@"),
             [("fail", "signature did not verify", "dkim.test", "rsa2048")]))
    add(Case("simple-header-respaced", "fail",
             lambda k: sign(m("simple-header-respaced"), "rsa2048", k["rsa2048"], canon="ss")
             .replace(b"Subject:  corpus", b"Subject: corpus"),
             [("fail", "signature did not verify", "dkim.test", "rsa2048")],
             "simple header canonicalisation keeps the blanks after the colon"))
    add(Case("from-appended", "fail",
             lambda k: sign(m("from-appended"), "rsa2048", k["rsa2048"])
             .replace(b"\r\n\r\n", b"\r\nFrom: Mallory <mallory@evil.test>\r\n\r\n", 1),
             [("fail", "signature did not verify", "dkim.test", "rsa2048")],
             "h=from takes the last From (RFC 6376 5.4.2): the one added"))
    add(Case("b-tampered", "fail",
             lambda k: rewrite_signature(sign(m("b-tampered"), "rsa2048", k["rsa2048"]), flip_b),
             [("fail", "signature did not verify", "dkim.test", "rsa2048")]))
    add(Case("length-truncated", "fail",
             lambda k: sign(m("length-truncated"), "rsa2048", k["rsa2048"], canon="ss",
                            length=True).replace(b"The last line.\r\n", b""),
             [("fail", "body shorter than l=", "dkim.test", "rsa2048")]))

    # --- permerror: RFC 8301 (libopendkim verifies rsa-sha1 as good)
    add(Case("rsa-sha1", "permerror",
             lambda k: sign(m("rsa-sha1"), "rsa2048", k["rsa2048"], alg=b"rsa-sha1"),
             [("permerror", "rsa-sha1", "dkim.test", "rsa2048")], "RFC 8301 3.1"))
    add(Case("rsa512", "permerror",
             lambda k: sign(m("rsa512"), "rsa512", k["rsa512"]),
             [("permerror", "under 1024 bits", "dkim.test", "rsa512")], "RFC 8301 3.2"))
    add(Case("rsa512-tampered", "permerror",
             lambda k: sign(m("rsa512-tampered"), "rsa512", k["rsa512"]).replace(*body_tamper),
             [("permerror", "under 1024 bits", "dkim.test", "rsa512")],
             "the key is unusable before any hash is compared (RFC 6376 6.1.2)"))
    # --- permerror: the key record (RFC 6376 6.1.2)
    key_cases = [
        ("key-nxdomain", "nokey", "no key for signature",
         "NXDOMAIN; libopendkim's own resolver calls it temperror"),
        ("key-nodata", "nodata", "no key for signature", "the name exists, no TXT"),
        ("key-revoked", "revoked", "key revoked", "p= empty"),
        ("key-bad-base64", "badb64", "p= is not base64",
         "libopendkim skips the stray characters and verifies"),
        ("key-sha1-only", "sha1only", "inappropriate hash algorithm", "h=sha1, a=rsa-sha256"),
        ("key-wrong-k", "wrongk", "inappropriate key algorithm",
         "k=ed25519 holding an RSA key: libopendkim verifies with it"),
        ("key-unknown-k", "unknownk", "inappropriate key algorithm", "k=dsa"),
        ("key-two-records", "multi", "multiple key records", "RFC 6376 3.6.2.2"),
        ("key-version", "keyv2", "incompatible key version", "v=DKIM2"),
        ("key-duplicate-p", "keydup", "key syntax error", "p= twice (RFC 6376 3.2)"),
        ("key-not-email", "notemail", "key not for email", "s=tlsrpt"),
        ("key-no-p", "nop", "key syntax error", "no p="),
    ]
    for name, selector, reason, note in key_cases:
        add(Case(name, "permerror",
                 lambda k, name=name, selector=selector: sign(m(name), selector, k["rsa2048"]),
                 [("permerror", reason, "dkim.test", selector)], note))
    add(Case("key-rsa-for-ed25519", "permerror",
             lambda k: sign(m("key-rsa-for-ed25519"), "edasrsa", k["ed25519"],
                            alg=b"ed25519-sha256"),
             [("permerror", "inappropriate key algorithm", "dkim.test", "edasrsa")],
             "an Ed25519 key in a k=rsa record"))
    add(Case("key-strict-subdomain", "permerror",
             lambda k: sign(m("key-strict-subdomain"), "strict", k["rsa2048"],
                            identity=b"alice@mail.dkim.test"),
             [("permerror", "t=s", "dkim.test", "strict")],
             "t=s and i= in a subdomain; libopendkim still flags it passed"))
    # --- permerror: the signature (RFC 6376 3.2, 3.5, 6.1.1)
    sig_cases = [
        ("sig-no-d", drop_tag("d"), "missing required tag d=", None, "rsa2048",
         "still reported, with s= and b="),
        ("sig-bare-tag", add_tag("x"), "tag-list syntax error", "dkim.test", "rsa2048", ""),
        ("sig-duplicate-d", add_tag("d=evil.test"), "duplicate tag", "dkim.test", "rsa2048",
         "libopendkim keeps the last d="),
        ("sig-b-stray", stray_b, "b= is not base64", "dkim.test", "rsa2048",
         "libopendkim skips the '$' and verifies"),
        ("sig-unknown-a", set_tag("a", "rsa-md5"), "unsupported algorithm", "dkim.test",
         "rsa2048", ""),
        ("sig-version-2", set_tag("v", "2"), "incompatible version", "dkim.test", "rsa2048", ""),
        ("sig-from-unsigned", set_tag("h", "to:subject"), "From field not signed", "dkim.test",
         "rsa2048", ""),
        ("sig-i-outside-d", set_tag("i", "@evil.test"), "domain mismatch", "dkim.test",
         "rsa2048", ""),
        ("sig-expired", add_tag("x=1000000000"), "signature expired", "dkim.test", "rsa2048",
         "x= in 2001"),
        ("sig-d-not-a-name", set_tag("d", "dkim..test"), "d= is not a domain name",
         "dkim..test", "rsa2048", ""),
        ("sig-t-not-a-number", set_tag("t", "yesterday"), "signature syntax error",
         "dkim.test", "rsa2048", "libopendkim reads t= as 0 and goes on"),
    ]
    for name, edit, reason, d, s, note in sig_cases:
        add(Case(name, "permerror",
                 lambda k, name=name, edit=edit:
                 rewrite_signature(sign(m(name), "rsa2048", k["rsa2048"]), edit),
                 [("permerror", reason, d, s)], note))

    # --- temperror: the key could not be had
    add(Case("key-servfail", "temperror",
             lambda k: sign(m("key-servfail"), "sel", k["rsa2048"], domain=b"servfail.test"),
             [("temperror", "SERVFAIL", "servfail.test", "sel")]))
    add(Case("key-timeout", "temperror",
             lambda k: sign(m("key-timeout"), "sel", k["rsa2048"], domain=b"timeout.test"),
             [("temperror", "timeout", "timeout.test", "sel")]))

    # --- several signatures, each reported, top down
    def good_and_bad(k):
        message = sign(m("one-good-one-bad"), "rsa2048", k["rsa2048"],
                       headers=[b"from", b"to", b"date"])
        message = sign(message, "ed25519", k["ed25519"], alg=b"ed25519-sha256")
        return message.replace(b"with a folded line", b"with a changed line")
    add(Case("one-good-one-bad", "multiple", good_and_bad,
             [("fail", "signature did not verify", "dkim.test", "ed25519"), P(s="rsa2048")],
             "the Ed25519 one signs Subject, which changed; the RSA one does not"))
    add(Case("dual-rsa-ed25519", "multiple",
             lambda k: sign(sign(m("dual-rsa-ed25519"), "rsa2048", k["rsa2048"]), "ed25519",
                            k["ed25519"], alg=b"ed25519-sha256"),
             [P(s="ed25519"), P(s="rsa2048")], "RFC 8463's dual signing"))
    add(Case("good-and-missing-key", "multiple",
             lambda k: sign(sign(m("good-and-missing-key"), "nokey", k["rsa2048"]), "rsa2048",
                            k["rsa2048"]),
             [P(s="rsa2048"), ("permerror", "no key for signature", "dkim.test", "nokey")]))
    add(Case("good-and-sha1", "multiple",
             lambda k: sign(sign(m("good-and-sha1"), "rsa1024", k["rsa1024"], alg=b"rsa-sha1"),
                            "rsa2048", k["rsa2048"]),
             [P(s="rsa2048"), ("permerror", "rsa-sha1", "dkim.test", "rsa1024")]))

    def seven(k):
        message = m("over-max-signatures")
        for i in range(7):
            message = sign(message, "rsa1024" if i % 2 else "ed25519",
                           k["rsa1024"] if i % 2 else k["ed25519"],
                           alg=b"rsa-sha256" if i % 2 else b"ed25519-sha256")
        return message
    add(Case("over-max-signatures", "multiple", seven,
             [P(s="ed25519"), P(s="rsa1024"), P(s="ed25519"), P(s="rsa1024"), P(s="ed25519")],
             "7 signatures, max_signatures = 5: the 5 on top reported, 2 logged as ignored"))

    def budget(k):
        message = sign(m("dns-budget"), "a", k["rsa2048"], domain=b"timeout.test")
        return sign(message, "b", k["rsa2048"], domain=b"timeout.test")
    add(Case("dns-budget", "temperror", budget,
             [("temperror", "timeout", "timeout.test", "b"),
              ("temperror", "budget", "timeout.test", "a")],
             "dns_timeout 1 s, dns_message_budget 1.5 s: the second lookup has 0.5 s left"))

    # --- unsigned
    add(Case("unsigned", "none", lambda k: m("unsigned"), [("none", None, None, None)]))
    return cases


# ------------------------------------------------------------- commands

def command_generate(directory):
    os.makedirs(os.path.join(directory, "messages"), exist_ok=True)
    keys = make_keys()
    with open(os.path.join(directory, "zone"), "w") as f:
        f.write("\n".join(zone_lines(keys)) + "\n")
    table = []
    for case in CASES():
        message = case.make(keys)
        with open(os.path.join(directory, "messages", case.name + ".eml"), "wb") as f:
            f.write(message)
        table.append({"name": case.name, "kind": case.kind, "expect": case.expect,
                      "note": case.note})
    with open(os.path.join(directory, "cases.json"), "w") as f:
        json.dump(table, f, indent=1)
    # the end-to-end test's messages, one per MTA (its token is the name):
    # simple/simple, so that any change an MTA makes shows
    for mta in ("pf", "sm"):
        for kind, selector, tamper in (("pass", "e2e", None),
                                       ("tampered", "e2e", (b"The last line.",
                                                            b"The last line!")),
                                       ("down", f"e2e-down-{mta}", None)):
            name = f"e2e-{kind}-{mta}"
            message = sign(base_message(name), selector, keys["rsa2048"], canon="ss")
            if tamper:
                message = message.replace(*tamper)
            with open(os.path.join(directory, "messages", name + ".eml"), "wb") as f:
                f.write(message)
    return 0


def escape(data):
    """pc-milter-client text: \\xHH for bytes it would not take as they are"""
    out = []
    for byte in data:
        c = chr(byte)
        if c == "\\":
            out.append("\\\\")
        elif 0x20 <= byte < 0x7f:
            out.append(c)
        else:
            out.append(f"\\x{byte:02X}")
    return "".join(out)


def scenario_lines(message):
    head, _, body = message.partition(b"\r\n\r\n")
    lines = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            # a folded line: its leading blank as it is, the rest escaped
            lines.append(chr(line[0]) + escape(line[1:]))
        else:
            lines.append("header " + escape(line))
    body_lines = body.split(b"\r\n")
    if body_lines and body_lines[-1] == b"":
        body_lines.pop()
    for line in body_lines:
        text = escape(line)
        # the client drops blanks after the keyword: the first one is escaped
        if text[:1] == " ":
            text = "\\x20" + text[1:]
        lines.append("body " + text if text else "body")
    return lines


def command_scenario(directory, mta):
    with open(os.path.join(directory, "cases.json")) as f:
        table = json.load(f)
    out = [f"mta {mta}", "connect 192.0.2.10 port 40001 name client.example.net",
           "helo client.example.net"]
    eom_lines = {}
    for case in table:
        with open(os.path.join(directory, "messages", case["name"] + ".eml"), "rb") as f:
            message = f.read()
        out += [f"# case {case['name']}", "mail <alice@dkim.test>", "rcpt <bob@example.com>",
                "data"]
        out += scenario_lines(message)
        out.append("eom")
        eom_lines[len(out)] = case["name"]
        out.append("expect continue")
    out.append("quit")
    with open(os.path.join(directory, f"lines-{mta}.json"), "w") as f:
        json.dump(eom_lines, f)
    print("\n".join(out))
    return 0


def parse_authres(rendered):
    """the entries of our A-R as the client renders it ("\\n\\t" folding)"""
    value = rendered.replace("\\n", "\n").replace("\\t", "\t")
    entries = []
    for part in value.split(";")[1:]:
        part = part.strip()
        method, _, rest = part.partition("=")
        result, _, rest = rest.partition(" ")
        props = dict(re.findall(r'([a-z.]+)=("(?:[^"\\]|\\.)*"|\S+)', rest))
        props = {k: v.strip('"') for k, v in props.items()}
        entries.append({"method": method, "result": result, **props})
    return entries


def check_case(case, entries):
    """None when the entries are what the table says, else why not"""
    dkim_entries = [e for e in entries if e["method"] == "dkim"]
    want = case["expect"]
    if len(dkim_entries) != len(want):
        return f"{len(dkim_entries)} dkim entries, want {len(want)}"
    for i, (entry, (result, reason, d, s)) in enumerate(zip(dkim_entries, want)):
        where = f"signature {i + 1}"
        if entry["result"] != result:
            return f"{where}: {entry['result']} ({entry.get('reason')}), want {result}"
        if reason is not None and reason not in entry.get("reason", ""):
            return f"{where}: reason {entry.get('reason')!r}, want {reason!r}"
        if result == "pass" and "reason" in entry:
            return f"{where}: a pass with a reason"
        if d is not None and entry.get("header.d") != d:
            return f"{where}: header.d={entry.get('header.d')}, want {d}"
        if s is not None and entry.get("header.s") != s:
            return f"{where}: header.s={entry.get('header.s')}, want {s}"
        if result != "none" and len(entry.get("header.b", "")) < 8:
            return f"{where}: header.b={entry.get('header.b')!r} (RFC 6008: 8 characters)"
    return None


def command_check(directory, mta, report):
    with open(os.path.join(directory, "cases.json")) as f:
        table = {c["name"]: c for c in json.load(f)}
    with open(os.path.join(directory, f"lines-{mta}.json")) as f:
        eom_lines = {int(k): v for k, v in json.load(f).items()}
    inserted = {}
    with open(report, errors="replace") as f:
        for line in f:
            m = re.match(r"(\d+) eom: insheader 0 Authentication-Results: (.*)$", line.rstrip())
            if m:
                inserted[int(m.group(1))] = m.group(2)
    failed = 0
    for lineno, name in sorted(eom_lines.items()):
        case = table[name]
        rendered = inserted.get(lineno)
        why = "no Authentication-Results inserted" if rendered is None else \
            check_case(case, parse_authres(rendered))
        want = ", ".join(e[0] for e in case["expect"])
        if why is None:
            print(f"ok|{mta}: {name}: {want}")
        else:
            failed += 1
            print(f"not ok|{mta}: {name}: {want}")
            print(f"# {why}")
            if rendered is not None:
                print(f"# got: {rendered}")
    return 1 if failed else 0


def command_check_tool(directory, outdir, label):
    with open(os.path.join(directory, "cases.json")) as f:
        table = json.load(f)
    failed = 0
    for case in table:
        name = case["name"]
        want = ", ".join(e[0] for e in case["expect"])
        try:
            with open(os.path.join(outdir, name), errors="replace") as f:
                printed = f.read()
        except OSError:
            printed = ""
        if not printed.startswith("Authentication-Results: "):
            why = "no Authentication-Results printed"
        else:
            why = check_case(case, parse_authres(printed[len("Authentication-Results: "):]))
        if why is None:
            print(f"ok|{label}: {name}: {want}")
        else:
            failed += 1
            print(f"not ok|{label}: {name}: {want}")
            print(f"# {why}")
            for line in printed.splitlines():
                print(f"# got: {line}")
    return 1 if failed else 0


def command_table():
    counts = {}
    for case in CASES():
        results = ", ".join(e[0] + (f" ({e[1]})" if e[1] else "") for e in case.expect)
        print(f"| {case.name} | {case.kind} | {results} | {case.note} |")
        counts[case.kind] = counts.get(case.kind, 0) + 1
    print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())), f"total={sum(counts.values())}")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "generate":
        return command_generate(argv[2])
    if len(argv) == 4 and argv[1] == "scenario":
        return command_scenario(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "check":
        return command_check(argv[2], argv[3], argv[4])
    if len(argv) == 5 and argv[1] == "check-tool":
        return command_check_tool(argv[2], argv[3], argv[4])
    if len(argv) == 2 and argv[1] == "table":
        return command_table()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
