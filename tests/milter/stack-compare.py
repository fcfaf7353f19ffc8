#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""stack-compare.py STACK-OUT MEMBER-OUT...: the stack's answers are the
chain's. Each file is pc-milter-client's report of one scenario, played
against portcullis-stack and against each member's own daemon (in the
members' order). For every step, the stack must answer what an MTA with the
separate daemons attached in that order would get: the first answer that is
not continue, or continue; and the modifications of the members asked up
to it. After a refused MAIL the transaction is over for the MTA, so the
rest of it up to the next connect is not compared (the separate daemons
went on seeing it). Prints the differences; exit 1 when there is one."""
import re
import sys

STEP = re.compile(r"^(\d+) (.*?): (continue|accept|reject|tempfail|discard|quarantine|skip|closed|sent)(?: (.*))?$")
MODS = ("addheader", "insheader", "chgheader", "replbody", "addrcpt", "delrcpt", "chgfrom", "quarantine")


def read(path):
    """[(key, outcome, rest, [mods])] in order"""
    steps = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#") or line.startswith("FAIL"):
                continue
            m = STEP.match(line)
            if m is None:
                continue
            lineno, what, outcome, rest = m.groups()
            key = lineno + " " + what
            if steps and steps[-1][0] == key and outcome in MODS:
                steps[-1][3].append(outcome + " " + (rest or ""))
                continue
            # the notes (skipped: ..., no reply: ...) depend on what each negotiated
            rest = re.sub(r" ?\((skipped|no reply)[^)]*\)$", "", rest or "")
            steps.append((key, outcome, rest, []))
    return steps


def main():
    stack = read(sys.argv[1])
    members = [read(p) for p in sys.argv[2:]]
    differences = 0
    compared = 0
    skip_transaction = False
    for i, (key, outcome, rest, mods) in enumerate(stack):
        rows = [m[i] for m in members]
        if any(r[0] != key for r in rows):
            print(f"step {i}: the reports are not of the same scenario ({key})")
            return 1
        what = key.split(" ", 1)[1]
        if what.startswith("connect "):
            skip_transaction = False
        if skip_transaction:
            continue
        want_outcome, want_rest, want_mods = "continue", "", []
        for r in rows:
            want_mods += r[3]
            if r[1] not in ("continue", "skip", "sent", "quarantine"):
                want_outcome, want_rest = r[1], r[2]
                break
            if r[1] == "quarantine":
                want_outcome = "quarantine"
        if outcome == "sent":
            continue  # abort, quit: the client's own steps, no answer to compare
        compared += 1
        if (outcome, rest, sorted(mods)) != (want_outcome, want_rest, sorted(want_mods)):
            differences += 1
            if differences <= 20:
                print(f"{key}: stack {outcome} {rest} {mods}; chain {want_outcome} {want_rest} {want_mods}")
        if what.startswith("mail ") and want_outcome in ("reject", "tempfail"):
            skip_transaction = True
    print(f"{compared} steps compared, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
