#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/e2e/lib/relay-battery.py: the generated relay battery of
tests/e2e/test-relay-battery.sh.

  relay-battery.py forms
      the table: ID CLASS EXPECT RCPT-TEXT, one line each
  relay-battery.py send HOST PORT SOURCE SENDER OUT.json
      one SMTP session from SOURCE: MAIL FROM:<SENDER>, then RCPT TO:TEXT for
      every form, then one message to whatever was accepted; the replies
      go to OUT.json
  relay-battery.py judge SINK-DIR TRUTH.json GUARDED.json MTA-NAME
      compares, prints "CHECK<TAB>NAME<TAB>ok|fail<TAB>DETAIL" lines

Each form carries a tag (pcbNNN) in its local part, so a delivered copy is
found by the tag in the sink's X-Rcpt-Args lines, whatever the MTA rewrote.
The truth run comes from a trusted address (the relay guard stands aside):
it shows what the MTA itself does with each form, accepted or not, and
delivered where: the local sink (local.* files) or the relay sink (relay.*).
The guarded run comes from the untrusted outside address.

EXPECT is what the guard must do with a form: accept (a local mailbox of a
local domain: the MTA's answer must be the same as without the guard),
refuse (another destination: refused by the guard, or by the MTA itself),
or policy (refused though an MTA may deliver it locally: routing operators
and address forms that one MTA reads differently from another; each is
named in the man page). The judge checks, per MTA: every form's outcome
against EXPECT; that nothing the guard let through reached the relay sink
(the hole check); that everything accepted was delivered somewhere; and
that no form labelled refuse is one the MTA delivers locally (a false
positive must be a deliberate policy row, not an accident).
"""
import json
import re
import socket
import sys

LOCAL = "example.com"
FOREIGN = "outside.test"
# the relay sink may take a local domain the MTA forwards (Postfix and
# Sendmail forward example.net, which the guard calls local, like a backup MX)
FORWARDED_LOCAL = ("example.net",)


def forms():
    """(class, expect, template): {u} is the tag, {v} a foreign mailbox
    tagged the same way"""
    rows = []

    def add(cls, expect, text):
        rows.append((cls, expect, text))

    # ---- local parts of a local domain, each plain form of the domain
    locals_ = [
        ("plain", "{u}"),
        ("dots", "{u}.first.last"),
        ("plus", "{u}+tag"),
        ("upper", "{U}"),
        ("atext", "{u}#$&'*-/=?^_`{|}~"),
        ("quoted", '"{u}"'),
        ("quoted-blank", '"{u} x"'),
        ("quoted-escape", '"{u}\\"x"'),
        ("quoted-dot", '"{u}..x"'),
        ("len-64", "{u}" + "x" * 58),
        ("len-65", "{u}" + "x" * 59),
        ("len-200", "{u}" + "x" * 194),
    ]
    domains = [("", LOCAL), ("upper", "EXAMPLE.COM"), ("dot", LOCAL + "."),
               ("mixed-dot", "Example.Com.")]
    for lname, local in locals_:
        for dname, domain in domains:
            add("local-" + lname + ("-" + dname if dname else ""), "accept",
                "<%s@%s>" % (local, domain))
    # a hard bound well above RFC 5321's 64, though both MTAs take more
    add("local-len-201", "policy", "<{u}" + "x" * 195 + "@" + LOCAL + ">")
    add("local-bare", "accept", "<{u}>")
    add("local-bare-unbracketed", "accept", "{u}")

    # ---- wrappers around one address: (name, expect-for-local, template)
    # {a} is the address; the expectation for a foreign address is refuse
    wrappers = [
        ("brackets", "accept", "<{a}>"),
        ("unbracketed", "accept", "{a}"),
        ("blank-lead", "accept", "< {a}>"),
        ("blank-trail", "accept", "<{a} >"),
        ("blank-both", "accept", "<  {a}  >"),
        ("tab-lead", "accept", "<\t{a}>"),
        ("double-brackets", "accept", "<<{a}>>"),
        ("triple-brackets", "accept", "<<<{a}>>>"),
        # Postfix delivers it to the mailbox, Sendmail refuses it
        ("unbalanced-close", "policy", "<{a}>>"),
        ("unbalanced-open", "refuse", "<<{a}>"),
        ("comment-lead", "accept", "<(c){a}>"),
        ("comment-trail", "accept", "<{a}(c)>"),
        ("comment-trail-blank", "accept", "<{a} (c)>"),
        ("comment-nested", "accept", "<{a} (c (d))>"),
        ("comment-escaped-paren", "accept", "<{a} (c \\) d)>"),
        ("comment-outside", "refuse", "<{a}> (c)"),
        ("comment-unbalanced", "policy", "<{a} (c>"),
        ("comment-close-only", "refuse", "<{a} c)>"),
        ("phrase", "refuse", "Name <{a}>"),
        ("quoted-phrase", "refuse", '"Name" <{a}>'),
        # two paths, the first empty: both MTAs take the second; refused
        ("empty-brackets-before", "policy", "<><{a}>"),
        ("comment-blank", "accept", "<( ){a}>"),
        ("comments-both", "accept", "< (c) {a} (d) >"),
        ("brackets-comments", "accept", "<<(c) {a} (d)>>"),
    ]
    # the bases a wrapper goes around: (name, expect when the wrapper is
    # accepted, address)
    bases = [
        ("local", None, "{u}@" + LOCAL),
        ("quoted", None, '"{u} x"@' + LOCAL),
        ("bare", None, "{u}"),
        ("literal", None, "{u}@[127.0.0.1]"),
        ("forwarded", None, "{u}@" + FORWARDED_LOCAL[0]),
        ("foreign", "refuse", "{u}@" + FOREIGN),
        ("foreign-literal", "refuse", "{u}@[192.0.2.1]"),
        ("percent", "policy", "{u}%" + FOREIGN + "@" + LOCAL),
        ("route", "policy", "@" + LOCAL + ":{u}@" + FOREIGN),
    ]
    for wname, wexpect, template in wrappers:
        for bname, bexpect, address in bases:
            expect = wexpect
            if bexpect is not None and wexpect == "accept":
                expect = bexpect
            add("wrap-" + wname + "-" + bname, expect, template.replace("{a}", address))
    # a comment inside the address, at each token boundary
    for pos, text in [("before-at", "<{u}(c)@" + LOCAL + ">"),
                      ("after-at", "<{u}@(c)" + LOCAL + ">"),
                      ("blank-before-at", "<{u} @" + LOCAL + ">"),
                      ("blank-after-at", "<{u}@ " + LOCAL + ">"),
                      ("in-domain", "<{u}@example(c).com>"),
                      ("blank-in-domain", "<{u}@example .com>")]:
        add("inner-" + pos, "accept", text)

    # ---- a second destination hidden around a local address
    hidden = [
        "{v}<{u}@" + LOCAL + ">",
        "<{u}@" + LOCAL + "><{v}>",
        "<{u}@" + LOCAL + ">{v}",
        "<{u}@" + LOCAL + " ({v})>",
        "<{u}@" + LOCAL + "({v})>",
        "<({v}){u}@" + LOCAL + ">",
        "<{u}({v})@" + LOCAL + ">",
        "<{u}@" + LOCAL + " (<{v}>)>",
        "<{u}@" + LOCAL + ">, <{v}>",
        "<{u}@" + LOCAL + ",{v}>",
        "<{u}@" + LOCAL + ", {v}>",
        "<{u}@" + LOCAL + ":{v}>",
        "<{u}@" + LOCAL + ";{v}>",
        "<{u}@" + LOCAL + " {v}>",
        "<{v} {u}@" + LOCAL + ">",
        "<{u}@" + LOCAL + " \"{v}\">",
        "<\"{v}\" {u}@" + LOCAL + ">",
        "<{v} <{u}@" + LOCAL + ">>",
        "<<{u}@" + LOCAL + "> {v}>",
        "<{u}@" + LOCAL + "\\>{v}>",
    ]
    # refused, whatever each MTA makes of it (some deliver to the local one)
    for i, text in enumerate(hidden):
        add("hidden-%02d" % i, "policy", text)

    # ---- routing operators: policy (an MTA may route them anywhere)
    routing = [
        "<{u}%" + FOREIGN + "@" + LOCAL + ">",
        "<{u}%" + FOREIGN + "%" + LOCAL + "@" + LOCAL + ">",
        "<{u}%" + LOCAL + "@" + LOCAL + ">",
        "<" + FOREIGN + "!{u}@" + LOCAL + ">",
        "<" + LOCAL + "!{u}@" + LOCAL + ">",
        "<" + FOREIGN + "!{u}>",
        "<{u}%" + FOREIGN + ">",
        "<@" + LOCAL + ":{v}>",
        "<@" + LOCAL + ",@" + FOREIGN + ":{u}@" + LOCAL + ">",
        "<@" + FOREIGN + ":{u}@" + LOCAL + ">",
        '<"{v}"@' + LOCAL + ">",
        '<"{u}%' + FOREIGN + '"@' + LOCAL + ">",
        '<"' + FOREIGN + '!{u}"@' + LOCAL + ">",
        "<{u}\\@" + FOREIGN + "@" + LOCAL + ">",
        "<{v}@" + LOCAL + ">",
        "<{u}@@" + LOCAL + ">",
        "<{u}@" + LOCAL + "@" + LOCAL + ">",
        "<{v}." + LOCAL + ">",
    ]
    for i, text in enumerate(routing):
        add("routing-%02d" % i, "policy", text)

    # ---- foreign domains and look-alikes
    for i, domain in enumerate([FOREIGN, "OUTSIDE.TEST", FOREIGN + ".", "sub." + LOCAL,
                                LOCAL + "." + FOREIGN, LOCAL + "x", "x" + LOCAL,
                                "." + LOCAL, "example", "com",
                                "example.org", "localhost.localdomain"]):
        add("foreign-%02d" % i, "refuse", "<{u}@" + domain + ">")
    # local to Sendmail (its own name; empty labels dropped), refused by
    # Postfix or not local to it
    add("foreign-localhost", "policy", "<{u}@localhost>")
    add("foreign-double-dot", "policy", "<{u}@" + LOCAL + "..>")

    # ---- IP literals: ours only in forms both MTAs deliver locally
    literals = [
        ("ours", "accept", "[127.0.0.1]"),
        # valid, local to Postfix, routed elsewhere by Sendmail
        ("zeros-all", "policy", "[127.000.000.001]"),
        ("zeros-one", "policy", "[127.0.0.01]"),
        ("zeros-octal-same", "policy", "[127.0.0.001]"),
        ("zeros-octal-differs", "refuse", "[0127.0.0.1]"),
        ("short", "refuse", "[127.1]"),
        ("trailing-dot", "refuse", "[127.0.0.1.]"),
        ("blanks", "policy", "[ 127.0.0.1 ]"),
        ("other-loopback", "refuse", "[127.0.0.2]"),
        ("documentation", "refuse", "[192.0.2.1]"),
        ("ipv6-loopback", "refuse", "[IPv6:::1]"),
        # local to Postfix, routed elsewhere by Sendmail
        ("mapped", "policy", "[IPv6:::ffff:127.0.0.1]"),
        ("mapped-upper", "policy", "[IPV6:::FFFF:127.0.0.1]"),
        ("mapped-hex", "policy", "[IPv6:::ffff:7f00:1]"),
        ("mapped-full", "policy", "[IPv6:0:0:0:0:0:ffff:127.0.0.1]"),
        ("hex", "refuse", "[0x7f.0.0.1]"),
        ("decimal", "refuse", "[2130706433]"),
        ("hostname", "refuse", "[" + LOCAL + "]"),
        ("empty", "refuse", "[]"),
    ]
    for name, expect, literal in literals:
        add("literal-" + name, expect, "<{u}@" + literal + ">")
    return rows


def table():
    out = []
    for number, (cls, expect, template) in enumerate(forms()):
        tag = "pcb%03d" % number
        text = template.replace("{u}", tag).replace("{U}", tag.upper()).replace(
            "{v}", tag + "@" + FOREIGN)
        out.append({"id": tag, "class": cls, "expect": expect, "text": text})
    return out


class Session:
    def __init__(self, host, port, source):
        self.sock = socket.create_connection((host, port), timeout=60,
                                             source_address=(source, 0))
        self.file = self.sock.makefile("rb")

    def reply(self):
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError("connection closed")
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if len(line) < 4 or line[3] != "-":
                return line

    def command(self, text):
        self.sock.sendall(text.encode("utf-8", "surrogateescape") + b"\r\n")
        return self.reply()


def send(host, port, source, sender, out_path):
    rows = table()
    session = Session(host, int(port), source)
    session.reply()
    session.command("EHLO client.example.org")
    mail = session.command("MAIL FROM:<%s>" % sender)
    accepted = 0
    for row in rows:
        row["reply"] = session.command("RCPT TO:" + row["text"])
        accepted += row["reply"].startswith("2")
    result = {"mail": mail, "rows": rows, "data": None}
    if accepted:
        data = session.command("DATA")
        if data.startswith("354"):
            body = "From: <%s>\r\nSubject: battery %s\r\n\r\nrelay battery\r\n.\r\n" % (
                sender, sender)
            session.sock.sendall(body.encode())
            result["data"] = session.reply()
        else:
            result["data"] = data
    session.command("QUIT")
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)


def deliveries(sink_dir, sender):
    """tag -> set of (sink, recipient) for the copies of SENDER's message"""
    found = {}
    import os
    for name in os.listdir(sink_dir):
        path = os.path.join(sink_dir, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if "X-Mail-Args: <%s>" % sender not in text:
            continue
        sink = name.split(".")[0]
        for rcpt in re.findall(r"^X-Rcpt-Args: (.*)$", text, re.M):
            for tag in re.findall(r"pcb\d\d\d", rcpt, re.I):
                found.setdefault(tag.lower(), set()).add((sink, rcpt))
    return found


def where(sink, rcpt):
    """local (the local sink), forwarded (the relay sink, to a domain the
    guard calls local) or relay"""
    if sink == "local":
        return "local"
    match = re.match(r"<[^>]*@([^>@]*)>", rcpt)
    if match and match.group(1).lower().rstrip(".") in FORWARDED_LOCAL:
        return "forwarded"
    return "relay"


def guard_refusal(reply):
    return re.match(r"(554 5\.7\.1 .*Relay access denied|501 5\.1\.3 )", reply) is not None


def judge(sink_dir, truth_path, guarded_path, mta):
    with open(truth_path) as f:
        truth = json.load(f)
    with open(guarded_path) as f:
        guarded = json.load(f)
    t_deliv = deliveries(sink_dir, truth["_sender"])
    g_deliv = deliveries(sink_dir, guarded["_sender"])
    checks = {"expect": [], "hole": [], "lost": [], "false-positive": [], "truth-accept": []}
    for t, g in zip(truth["rows"], guarded["rows"]):
        tag, expect = t["id"], t["expect"]
        t_ok = t["reply"].startswith("2")
        g_ok = g["reply"].startswith("2")
        t_where = {where(s, r) for s, r in t_deliv.get(tag, ())}
        g_where = g_deliv.get(tag, set())
        desc = "%s %s %r: truth %r -> %s; guarded %r -> %s" % (
            tag, t["class"], t["text"], t["reply"], sorted(t_where) or "-",
            g["reply"], sorted(g_where) or "-")
        # the outcome against the expectation
        if expect == "accept":
            if g["reply"][:1] != t["reply"][:1] or guard_refusal(g["reply"]) and t_ok:
                checks["expect"].append("accept wanted: " + desc)
        elif g_ok:
            checks["expect"].append("refusal wanted: " + desc)
        elif t_ok and not guard_refusal(g["reply"]):
            checks["expect"].append("the guard's refusal wanted: " + desc)
        # the hole check: what the guard let through went nowhere else
        for sink, rcpt in g_where:
            if where(sink, rcpt) == "relay":
                checks["hole"].append("relayed to %s: %s" % (rcpt, desc))
        # accepted means delivered (no copy lost)
        if g_ok and not g_where and guarded.get("data", "") and guarded["data"].startswith("250"):
            checks["lost"].append("accepted, not delivered: " + desc)
        if t_ok and not t_where and truth.get("data", "") and truth["data"].startswith("250"):
            checks["lost"].append("accepted without the guard, not delivered: " + desc)
        # a plain "refuse" row the MTA delivers locally is a false positive
        if expect == "refuse" and t_ok and t_where and t_where <= {"local", "forwarded"}:
            checks["false-positive"].append("delivered locally without the guard: " + desc)
        # an "accept" row the MTA would route elsewhere is a table error
        if expect == "accept" and t_ok and "relay" in t_where:
            checks["truth-accept"].append("routed elsewhere without the guard: " + desc)
    rows = len(truth["rows"])
    names = {
        "expect": "%d forms: each accepted or refused as its row expects" % rows,
        "hole": "hole check: nothing the guard let through reached the relay sink",
        "lost": "everything accepted was delivered (with and without the guard)",
        "false-positive": "no form labelled refuse is delivered locally by the MTA itself",
        "truth-accept": "every form labelled accept is delivered locally by the MTA itself",
    }
    for key, name in names.items():
        bad = checks[key]
        print("CHECK\t%s: %s\t%s" % (mta, name, "fail" if bad else "ok"))
        for line in bad[:60]:
            print("DETAIL\t" + line.replace("\n", " "))


def main(argv):
    if len(argv) >= 2 and argv[1] == "forms":
        for row in table():
            print("%s\t%s\t%s\t%s" % (row["id"], row["class"], row["expect"], row["text"]))
        return 0
    if len(argv) == 7 and argv[1] == "send":
        send(*argv[2:6], argv[6])
        with open(argv[6]) as f:
            result = json.load(f)
        result["_sender"] = argv[5]
        with open(argv[6], "w") as f:
            json.dump(result, f, indent=1)
        return 0
    if len(argv) == 6 and argv[1] == "judge":
        judge(*argv[2:6])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
