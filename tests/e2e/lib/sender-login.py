#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""sender-login.py: the pairs of tests/e2e/test-sender-login.sh.

One sender login map, in Postfix's syntax, is read both by Postfix
(smtpd_sender_login_maps = texthash:FILE, reject_sender_login_mismatch) and by
portcullis-auth (sender_login_maps = texthash:FILE). This helper writes that
map, derives (login, sender) pairs from its keys, sends every pair's
MAIL FROM to both listeners, and compares the answers.

    sender-login.py map FILE             write the map
    sender-login.py pairs FILE           write the pairs (JSON lines)
    sender-login.py run PAIRS ANSWERS    send them; ANSWERS: the pairs with both replies
    sender-login.py compare ANSWERS WHO ALLOWED KNOWN
                                         disagreements of WHO (auth or unauth)
    sender-login.py known ANSWERS WHO KNOWN
                                         per KNOWN rule: "COUNT<TAB>RULE", its pairs
    sender-login.py check-model ANSWERS WHO
                                         Postfix against this file's model of it
    sender-login.py counts ANSWERS       pairs by class, deciding key and form

ALLOWED and KNOWN are rule files: "WHO SELECTOR POSTFIX OURS WHY" lines, WHO
auth, unauth or a login; SELECTOR a pair's class, its sender form,
sender=<ADDRESS> or key=KEY (the map key it was derived from); POSTFIX and
OURS the reply classes (2, 4, 5) of the disagreement the rule covers.

The environment gives the setup both sides share (test-sender-login.sh sets
it): SL_LOGINS (the SASL logins), SL_PASSWORD, SL_DELIMITER (Postfix's
recipient_delimiter), SL_LOCAL_DOMAINS (where Postfix tries a bare local
part: $myorigin, $mydestination, [$inet_interfaces]), SL_MYORIGIN, and for
run SL_POSTFIX_PORT, SL_PORTCULLIS_PORT, SL_CLIENT (the source address).

The model (postfix_owners) says which key Postfix should find for a sender,
so that each pair has a class (owner, non-owner, unowned, null; owned
without AUTH) and an expected Postfix answer. It is this test's reading of
Postfix 3.7 (smtpd rewrites the sender in the local context and resolves
it, then mail_addr_find looks it up with the default strategy), checked
against the real Postfix by check-model. For the routing forms it does not
follow (source routes, a quoted "@", the percent hack) it says "unknown",
and only the two listeners' answers are compared.
"""
import base64
import json
import os
import smtplib
import ssl
import sys

# ------------------------------------------------------------------- the map

# Keys of every class Postfix reads; owners separated by commas, blanks or
# both, in any case, some on a continuation line. Comments and blank lines
# as postmap allows them.
MAP_TEXT = """\
# tests/e2e/test-sender-login.sh: one map for Postfix (texthash:) and
# portcullis-auth; written by tests/e2e/lib/sender-login.py

# --- user@domain, one owner each
alice@example.com	alice@example.com
bob@example.com		bob@example.com
carol@hosted.example	carol@hosted.example

# --- several owners: commas, blanks, both, a continuation line, any case
shared@example.com	alice@example.com, BOB@Example.com
team@hosted.example	alice@example.com,bob@example.com   carol@hosted.example
sales@local.example.org	dave,
	Erin@example.com ,  carol@hosted.example
# an owner that is not a login: alice logs in as alice@example.com
ivy@example.com		alice

# --- @domain: the domain's other addresses
@hosted.example		carol@hosted.example
@local.example.org	dave

# --- bare keys: that local part in Postfix's own domains only
postmaster		alice@example.com
info			bob@example.com erin@example.com

# --- address extensions (recipient_delimiter +-): the full key comes first
alice+list@example.com	bob@example.com
# base keys of local parts Postfix never splits (mailer-daemon, owner-*,
# *-request, double-bounce)
mailer@example.com	alice@example.com
owner@example.com	alice@example.com
list@example.com	bob@example.com
double@example.com	bob@example.com

# --- quoted local parts
"john doe"@example.com	dave
"JANE Q. PUBLIC"@hosted.example	ERIN@EXAMPLE.COM
# quotes the local part does not need: Postfix looks frank@ up unquoted,
# so this key never matches there
"frank"@local.example.org	alice@example.com

# --- mixed case keys
Grace@Example.COM	erin@example.com
HENRY@Hosted.Example	Carol@Hosted.Example

# --- $myhostname and an address literal ([$inet_interfaces])
kate@mail.example.com	bob@example.com
alice@[127.0.0.1]	alice@example.com
"""

# domains a bare key's local part is tried in: Postfix's own first
DOMAINS = ["example.com", "local.example.org", "mail.example.com", "[127.0.0.1]",
           "hosted.example", "sub.example.com", "example.net", "other.test"]


def env_list(name):
    return os.environ.get(name, "").split()


def parse_map(text):
    """({folded key as written, quoted parts still quoted: owners}, keys in order),
    as texthash reads the file"""
    logical = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            logical[-1] += " " + line.strip()
        else:
            logical.append(line.rstrip())
    table = {}
    keys = []
    for line in logical:
        in_quotes = False
        end = 0
        while end < len(line):
            char = line[end]
            if char == "\\":
                end += 1
            elif char in " \t" and not in_quotes:
                break
            elif char == '"':
                in_quotes = not in_quotes
            end += 1
        key = line[:end]
        table[key.lower()] = line[end:].replace(",", " ").split()
        keys.append(key)
    return table, keys


# ------------------------------------------------------------ address forms

SPECIALS = '()<>@,;:\\".[]'


def needs_quotes(local):
    """as Postfix's quote_822_local: anything but a dot-atom is quoted"""
    if local == "" or local.startswith(".") or local.endswith(".") or ".." in local:
        return True
    return any(ord(c) <= 32 or ord(c) >= 127 or (c in SPECIALS and c != ".") for c in local)


def external(local):
    if not needs_quotes(local):
        return local
    return '"' + local.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote_local(local):
    """the internal (unquoted) form of a local part as the client wrote it"""
    if not (local.startswith('"') and local.endswith('"') and len(local) >= 2):
        return local
    out = []
    i = 1
    while i < len(local) - 1:
        if local[i] == "\\" and i + 1 < len(local) - 1:
            i += 1
        out.append(local[i])
        i += 1
    return "".join(out)


def split_path(path):
    """(local part as written, domain) of a path without brackets; domain None
    when there is none"""
    if path.startswith('"'):
        close = 1
        while close < len(path) and path[close] != '"':
            close += 2 if path[close] == "\\" else 1
        rest = path[close + 1:]
        if rest.startswith("@"):
            return path[:close + 1], rest[1:]
        return path, None
    if "@" not in path:
        return path, None
    at = path.rindex("@")
    return path[:at], path[at + 1:]


def strip_extension(local, delimiters):
    """the local part without its extension as Postfix's split_addr cuts it;
    None when it does not split"""
    lower = local.lower()
    if not delimiters or lower in ("postmaster", "mailer-daemon", "double-bounce"):
        return None
    if "-" in delimiters and (lower.startswith("owner-") or
                              (len(lower) > 8 and lower.endswith("-request"))):
        return None
    cut = next((i for i, c in enumerate(local) if c in delimiters), len(local))
    if cut == 0 or cut == len(local):
        return None
    return local[:cut]


def never_split(local, delimiters):
    """a local part with a delimiter after its first octet that Postfix still
    does not split (postmaster, mailer-daemon, owner-*, *-request, ...)"""
    has_delimiter = any(c in delimiters for c in local[1:])
    return bool(delimiters) and has_delimiter and strip_extension(local, delimiters) is None


def postfix_owners(table, sender):
    """(owners or None, the key class that decided) as Postfix should find
    them; ("unknown", None) for the forms this model does not follow,
    ("syntax", None) for what smtpd refuses before any restriction"""
    if sender.startswith("@") or "%" in sender:
        return "unknown", None
    local, domain = split_path(sender)
    local = unquote_local(local)
    if "@" in local:
        return "unknown", None
    if local.startswith("-"):
        # smtpd refuses it outright (no command-line option look-alikes)
        return "syntax", None
    if domain is None:
        # smtpd rewrites the sender in the local context first: @$myorigin
        domain = os.environ.get("SL_MYORIGIN", "")
    if domain.endswith(".") and not domain.endswith(".."):
        domain = domain[:-1]
    delimiters = os.environ.get("SL_DELIMITER", "")
    local_domains = [d.lower() for d in env_list("SL_LOCAL_DOMAINS")]
    stripped = strip_extension(local, delimiters)

    def find(key_local, with_domain):
        # the external (quoted) form first, then the internal one if it differs
        for form in (external(key_local), key_local):
            key = (form + "@" + domain if with_domain else form).lower()
            if key in table:
                return table[key]
        return None

    steps = [("full", local, True)]
    if stripped is not None:
        steps.append(("noext", stripped, True))
    if domain.lower() in local_domains:
        steps.append(("bare", local, False))
        if stripped is not None:
            steps.append(("bare-noext", stripped, False))
    for name, key_local, with_domain in steps:
        owners = find(key_local, with_domain)
        if owners is not None:
            return owners, name
    if ("@" + domain).lower() in table:
        return table[("@" + domain).lower()], "@domain"
    return None, "none"


def owns(owners, login):
    return any(owner.lower() == login.lower() for owner in owners)


# ------------------------------------------------------------------ senders

def variants_of_address(local, domain):
    """(sender, form) derived from one user@domain key"""
    yield local + "@" + domain, "exact"
    yield local.upper() + "@" + domain.upper(), "case"
    yield local[:1].upper() + local[1:].lower() + "@" + domain.lower(), "case"
    if local.startswith('"'):
        inner = local[1:-1]
        yield '"' + inner + '+x"@' + domain, "quoted+ext"
        yield '"' + inner.swapcase() + '"@' + domain, "quoted+case"
        yield inner.replace(" ", ".") + "@" + domain, "quoted-dotted"
        return
    yield local + "+tag@" + domain, "ext"
    yield local + "-tag@" + domain, "ext"
    yield local.upper() + "+Tag-2@" + domain, "ext+case"
    yield '"' + local + '"@' + domain, "quoted"
    yield local + "@" + domain + ".", "trailing-dot"


def senders(keys):
    """(sender, form, the key it was derived from) for every sender tried,
    in a stable order, each once"""
    out = []
    seen = set()
    delimiters = os.environ.get("SL_DELIMITER", "")

    def add(sender, form, key=None):
        if sender in seen:
            return
        seen.add(sender)
        if sender and never_split(unquote_local(split_path(sender)[0]), delimiters):
            form = "no-split"
        out.append((sender, form, key))

    for key in keys:
        if key.startswith("@"):
            add("someone" + key, "catch-all", key)
            add("Someone@" + key[1:].upper(), "catch-all+case", key)
            add("someone+tag" + key, "catch-all+ext", key)
            continue
        local, domain = split_path(key)
        if domain is None:
            # a bare key: that local part in every domain, and unqualified
            for each in DOMAINS:
                add(local + "@" + each, "bare", key)
            add(local.upper() + "@example.com", "bare+case", key)
            add(local + "+tag@local.example.org", "bare+ext", key)
            add(local, "unqualified", key)
            continue
        for sender, form in variants_of_address(local, domain):
            add(sender, form, key)
    # no key at all, in every domain; the logins' local parts elsewhere
    for each in DOMAINS:
        add("nobody@" + each, "unowned")
    for each in ("other.test", "sub.example.com", "example.net", "mail.example.com"):
        add("alice@" + each, "unowned")
    # local parts Postfix never splits, over the base keys that would own them
    for sender in ("mailer-daemon@example.com", "MAILER-DAEMON@example.com",
                   "owner-list@example.com", "list-request@example.com",
                   "double-bounce@example.com", "postmaster+tag@example.com"):
        add(sender, "no-split")
    # a delimiter as the first character is no extension
    add("+alice@example.com", "leading-delimiter")
    add("-alice@example.com", "leading-delimiter")
    add("alice+a+b@example.com", "ext")
    add("alice-+x@example.com", "ext")
    add("alice", "unqualified")
    add("kate", "unqualified")
    add("alice@localhost", "local-domain")
    add("postmaster@localhost", "local-domain")
    add("alice@[127.000.000.001]", "literal")
    # routing forms: compared, not modelled
    add("@relay.example:alice@example.com", "route")
    add('"alice@example.com"@local.example.org', "route")
    add("alice%example.com@local.example.org", "route")
    add("", "null")
    return out


def pairs(table, keys):
    rows = []
    for login in env_list("SL_LOGINS") + [None]:
        for sender, form, key in senders(keys):
            owners, step = postfix_owners(table, sender)
            if sender == "":
                klass = "null"
            elif owners in ("unknown", "syntax"):
                klass = owners
            elif owners is None:
                klass = "unowned"
            elif login is None:
                klass = "owned"
            else:
                klass = "owner" if owns(owners, login) else "non-owner"
            if login is None:
                # reject_sender_login_mismatch: an owned sender needs a login
                expect = {"null": 2, "unowned": 2, "owned": 5, "syntax": 5}.get(klass)
            else:
                expect = {"null": 2, "owner": 2, "non-owner": 5, "unowned": 5,
                          "syntax": 5}.get(klass)
            rows.append({"login": login, "sender": sender, "form": form, "from_key": key,
                         "class": klass, "key": step or "-", "expect": expect})
    return rows


# --------------------------------------------------------------- the client

def session(port, login, password, senders_to_try):
    """one SMTP session from SL_CLIENT: STARTTLS, AUTH PLAIN (unless login is
    None), then MAIL FROM for each sender (RSET after an accepted one); the
    replies as [code, text]"""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.org", timeout=30,
                        source_address=(os.environ.get("SL_CLIENT", "127.0.0.2"), 0))
    try:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        if login is not None:
            token = base64.b64encode(("\0%s\0%s" % (login, password)).encode()).decode()
            code, text = smtp.docmd("AUTH", "PLAIN " + token)
            if code != 235:
                raise RuntimeError("AUTH as %s on port %d: %d %s" % (login, port, code,
                                                                     text.decode()))
        replies = []
        for sender in senders_to_try:
            code, text = smtp.docmd("MAIL", "FROM:<%s>" % sender)
            replies.append([code, text.decode("utf-8", "replace").replace("\n", " / ")])
            if 200 <= code < 300:
                smtp.docmd("RSET")
        smtp.quit()
        return replies
    finally:
        smtp.close()


def run(pairs_file, answers_file):
    rows = load(pairs_file)
    password = os.environ["SL_PASSWORD"]
    ports = {"postfix": int(os.environ["SL_POSTFIX_PORT"]),
             "portcullis": int(os.environ["SL_PORTCULLIS_PORT"])}
    by_login = {}
    for row in rows:
        by_login.setdefault(row["login"], []).append(row)
    # a client that is not logged in meets portcullis-auth on the MX
    # listener (unauthenticated_owned_senders = mx:reject there): on
    # submission it would only ever get 530, AUTH being required
    unauth_port = int(os.environ.get("SL_PORTCULLIS_UNAUTH_PORT", ports["portcullis"]))
    for login, group in by_login.items():
        for side, port in ports.items():
            if side == "portcullis" and login is None:
                port = unauth_port
            replies = session(port, login, password, [row["sender"] for row in group])
            for row, reply in zip(group, replies):
                row[side] = reply
    with open(answers_file, "w") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")


# -------------------------------------------------------------- comparisons

def load(path):
    with open(path) as rows:
        return [json.loads(line) for line in rows]


def shown(row):
    login = row["login"] if row["login"] is not None else "(no AUTH)"
    return "%s MAIL FROM:<%s> [%s, %s]: Postfix %s | portcullis-auth %s" % (
        login, row["sender"], row["form"], row["class"], " ".join(map(str, row["postfix"])),
        " ".join(map(str, row["portcullis"])))


def read_rules(path):
    rules = []
    with open(path) as lines:
        for line in lines:
            fields = line.split(None, 4)
            if len(fields) >= 4 and not fields[0].startswith("#"):
                rules.append(fields)
    return rules


def rule_text(rule):
    return " ".join(field.strip() for field in rule)


def disagree(row):
    return row["postfix"][0] // 100 != row["portcullis"][0] // 100


def selected(row, who):
    return (who == "auth") == (row["login"] is not None)


def matches(rule, row):
    who, selector, postfix_class, ours_class = rule[:4]
    if who == "auth" and row["login"] is None or who == "unauth" and row["login"] is not None:
        return False
    if who not in ("auth", "unauth") and who != row["login"]:
        return False
    if selector.startswith("sender="):
        if selector[len("sender="):] != "<%s>" % row["sender"]:
            return False
    elif selector.startswith("key="):
        if selector[len("key="):] != row["from_key"]:
            return False
    elif selector != "any" and selector not in (row["class"], row["form"]):
        return False
    return (postfix_class == str(row["postfix"][0] // 100) and
            ours_class == str(row["portcullis"][0] // 100))


def compare(answers_file, who, allowed_file, known_file):
    """prints the disagreements no rule covers; 1 when there are some"""
    allowed = read_rules(allowed_file)
    known = read_rules(known_file)
    unexplained = 0
    covered = {}
    total = 0
    for row in load(answers_file):
        if not selected(row, who):
            continue
        total += 1
        if not disagree(row):
            continue
        rule = next((rule for rule in allowed + known if matches(rule, row)), None)
        if rule is None:
            unexplained += 1
            print("disagree: " + shown(row))
            continue
        kind = "policy" if rule in allowed else "known bug"
        covered.setdefault((kind, rule_text(rule)), []).append(row)
    for (kind, text), rows in covered.items():
        print("%s (%s): %d pairs, e.g. %s" % (kind, text, len(rows), shown(rows[0])))
    print("%d pairs, %d disagreements: %d unexplained, %d policy, %d known bugs" % (
        total, unexplained + sum(len(rows) for rows in covered.values()), unexplained,
        sum(len(rows) for (kind, _), rows in covered.items() if kind == "policy"),
        sum(len(rows) for (kind, _), rows in covered.items() if kind == "known bug")))
    return 1 if unexplained else 0


def known(answers_file, who, known_file):
    """per known-bug rule of WHO: 'COUNT<TAB>RULE', then its pairs indented"""
    rows = [row for row in load(answers_file) if selected(row, who) and disagree(row)]
    for rule in read_rules(known_file):
        if rule[0] == "unauth" and who == "auth" or rule[0] != "unauth" and who == "unauth":
            continue
        hits = [row for row in rows if matches(rule, row)]
        print("%d\t%s" % (len(hits), rule_text(rule)))
        for row in hits:
            print("  " + shown(row))


def check_model(answers_file, who):
    """Postfix's answers against the model's expectation (modelled pairs only)"""
    bad = 0
    for row in load(answers_file):
        if not selected(row, who) or row["expect"] is None:
            continue
        if row["postfix"][0] // 100 != row["expect"]:
            bad += 1
            print("model: expected %dxx (key %s): %s" % (row["expect"], row["key"], shown(row)))
    return 1 if bad else 0


def counts(answers_file):
    rows = load(answers_file)
    for title, field in (("class", "class"), ("deciding key", "key"), ("sender form", "form")):
        tally = {}
        for row in rows:
            side = "auth" if row["login"] is not None else "no-auth"
            name = "%s/%s" % (side, row[field]) if field == "class" else row[field]
            tally[name] = tally.get(name, 0) + 1
        print("pairs by %s: %s" % (title, ", ".join(
            "%s %d" % item for item in sorted(tally.items()))))
    refused = [row for row in rows if row["postfix"][0] // 100 == 5 == row["portcullis"][0] // 100]
    same = sum(1 for row in refused if row["postfix"] == row["portcullis"])
    same_code = sum(1 for row in refused if row["postfix"][0] == row["portcullis"][0] and
                    row["postfix"] != row["portcullis"])
    print("texts: of %d pairs both refuse, %d get the same reply word for word, %d the same "
          "code with another text (the address as each shows it), %d another code" % (
              len(refused), same, same_code, len(refused) - same - same_code))
    logins = len({row["login"] for row in rows if row["login"] is not None})
    senders_per_login = len({row["sender"] for row in rows})
    print("%d pairs: %d senders, each with %d logins and without AUTH" % (
        len(rows), senders_per_login, logins))


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "map":
        with open(argv[2], "w") as out:
            out.write(MAP_TEXT)
        return 0
    table, keys = parse_map(MAP_TEXT)
    if command == "pairs":
        with open(argv[2], "w") as out:
            for row in pairs(table, keys):
                out.write(json.dumps(row) + "\n")
        return 0
    if command == "run":
        run(argv[2], argv[3])
        return 0
    if command == "compare":
        return compare(argv[2], argv[3], argv[4], argv[5])
    if command == "known":
        known(argv[2], argv[3], argv[4])
        return 0
    if command == "check-model":
        return check_model(argv[2], argv[3])
    if command == "counts":
        counts(argv[2])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
