#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""milter-raw.py: an MTA-side milter client that sends exactly the bytes it
is told to, for the abuse tests (tests/milter/test-abuse.sh). Where
pc-milter-client plays a realistic MTA and checks every answer, this one
writes packets as a script says, well-formed or not, in any order, while a
reader thread collects whatever comes back. It never waits for an answer
unless told to ("optneg", "wait"), so commands the milter ignores cannot
stall it.

    milter-raw.py [-T SECONDS] [--deadline SECONDS] SOCKET [SCRIPT]
    milter-raw.py [-T SECONDS] [--deadline SECONDS] --serve

SOCKET is unix:PATH, local:PATH, an absolute path or inet:PORT@HOST. The
script (a file, or standard input) has one step a line; "#" starts a
comment line. Arguments are split at blanks; '...' quotes blanks, and in
every argument \\xHH is the byte 0xHH and \\\\ a backslash.

  optneg [VERSION [ACTIONS [PROTOCOL]]]  SMFIC_OPTNEG (default 6 0x1ff 0x1fffff);
                                    as the first packet, waits up to -T for the reply
  connect HOST ADDR [PORT [FAMILY]] SMFIC_CONNECT (family 4, 6, L or U; guessed)
  macro STAGE [NAME VALUE]...       SMFIC_MACRO for STAGE (C H M R T N E)
  helo NAME | mail ARG... | rcpt ARG... | header NAME VALUE | data | eoh
  body TEXT | body-size N | eom | abort | quit | quit-nc
  packet CMD [DATA]                 a well-formed packet (CMD one byte)
  packet-size CMD N                 a well-formed packet with N bytes of data
  lenpacket LEN CMD [DATA]          the length field says LEN whatever follows
  raw DATA                          bytes as they are
  garbage N [SEED]                  N pseudo-random bytes
  repeat N STEP [; STEP]...         the steps N times; $N in them is the index 0..N-1
  batch STEP [; STEP]...            the steps' bytes in a single write
  wait N [SECONDS]                  until N replies have arrived in total
  close                             drop the connection now and stop

After the last step (unless "close") the client half-closes the connection
and waits up to -T seconds for the milter to close its side, which it does
once it has run its close callback: the end of the session is a condition to
wait for, not a delay. A write the milter refuses (it already hung up) stops
the script there; that is reported, not an error.

With --serve it reads "SOCKET SCRIPT REPORT-FILE" lines on standard input,
plays each, writes the report to REPORT-FILE and prints the exit status on a
line of its own: one python start for a whole test.

Exit status: 0 the session ended (the milter closed, or "close"), 1 the
milter did not close its side within -T, 2 usage or script error, 3 the
whole run exceeded --deadline (a write blocked, say). The report on stdout
is one "key: value" line each: sent, replies (counts by reply command),
sequence (the first 200 reply commands, one letter each), end.
"""

import argparse
import random
import re
import shlex
import signal
import socket
import struct
import sys
import threading
import time

MAX_REPLY = 64 * 1024 * 1024
BODY_CHUNK = 65535
SEQUENCE_MAX = 200
STAGES = {"connect": b"C", "helo": b"H", "mail": b"M", "envfrom": b"M", "rcpt": b"R",
          "envrcpt": b"R", "data": b"T", "eoh": b"N", "eom": b"E"}


class ScriptError(Exception):
    pass


class Deadline(Exception):
    pass


def unescape(text):
    """(bytes) text with \\xHH and \\\\ decoded"""
    def one(match):
        return b"\\" if match.group(1) is None else bytes([int(match.group(1), 16)])
    return re.sub(rb"\\x([0-9A-Fa-f]{2})|\\\\", one, text.encode("utf-8"))


def split_line(line):
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.escape = ""
    lexer.commenters = ""
    return list(lexer)


def number(text):
    return int(text, 0)


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def strings(*parts):
    return b"".join(part + b"\0" for part in parts)


class Reader(threading.Thread):
    """collects reply packets until EOF; counts them by command byte"""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock = sock
        self.cond = threading.Condition()
        self.counts = {}
        self.total = 0
        self.sequence = []
        self.eof_at = None
        self.error = None

    def run(self):
        buf = bytearray()
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError as e:
                self.error = e.strerror or str(e)
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 5:
                (length,) = struct.unpack(">I", buf[:4])
                if length == 0 or length > MAX_REPLY:
                    self.error = "reply length %d" % length
                    buf.clear()
                    break
                if len(buf) < 4 + length:
                    break
                cmd = bytes(buf[4:5]).decode("latin-1")
                del buf[:4 + length]
                with self.cond:
                    self.counts[cmd] = self.counts.get(cmd, 0) + 1
                    self.total += 1
                    if len(self.sequence) < SEQUENCE_MAX:
                        self.sequence.append(cmd)
                    self.cond.notify_all()
        with self.cond:
            self.eof_at = time.monotonic()
            self.cond.notify_all()

    def wait(self, predicate, seconds):
        with self.cond:
            return self.cond.wait_for(predicate, timeout=seconds)


class Client:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.reader = Reader(sock)
        self.sent_packets = 0
        self.sent_bytes = 0
        self.write_error = None
        self.closed = False
        self.batch = None  # bytes collected by a "batch" step, sent in one write
        self.batched = 0

    def send(self, data, packets=1):
        if self.batch is not None:
            self.batch += data
            self.batched += packets
            return
        if self.write_error is not None or self.closed:
            return
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.write_error = e.strerror or str(e)
            return
        self.sent_packets += packets
        self.sent_bytes += len(data)

    def run_step(self, words, where):
        op, args = words[0], [unescape(w) for w in words[1:]]
        if op == "batch":
            self.batch = bytearray()
            step = []
            for word in words[1:] + [";"]:
                if word != ";":
                    step.append(word)
                elif step:
                    self.run_step(step, where)
                    step = []
            data, self.batch = self.batch, None
            self.send(bytes(data), packets=self.batched)
            self.batched = 0
            return
        if op == "repeat":
            if len(words) < 3:
                raise ScriptError("%s: repeat N STEP..." % where)
            for index in range(number(words[1])):
                step = []
                for word in words[2:] + [";"]:
                    if word != ";":
                        step.append(word.replace("$N", str(index)))
                    elif step:
                        self.run_step(step, where)
                        step = []
                    if self.write_error is not None or self.closed:
                        return
            return
        handler = getattr(self, "step_" + op.replace("-", "_"), None)
        if handler is None:
            raise ScriptError("%s: unknown step %r" % (where, op))
        try:
            handler(*args)
        except (TypeError, ValueError) as e:
            raise ScriptError("%s: %s: %s" % (where, op, e)) from None

    # ------------------------------------------------------------ steps
    def step_optneg(self, version=b"6", actions=b"0x1ff", protocol=b"0x1fffff"):
        first = self.sent_packets == 0 and self.sent_bytes == 0
        before = self.reader.total
        self.send(packet(b"O", struct.pack(">III", number(version.decode()),
                                           number(actions.decode()),
                                           number(protocol.decode()))))
        if first:
            self.reader.wait(lambda: self.reader.total > before or self.reader.eof_at,
                             self.timeout)

    def step_connect(self, host, addr, port=b"25", family=None):
        if family is None:
            family = b"U" if addr == b"unknown" else b"6" if b":" in addr else b"4"
        data = host + b"\0" + family
        if family != b"U":
            data += struct.pack(">H", number(port.decode())) + addr + b"\0"
        self.send(packet(b"C", data))

    def step_macro(self, stage, *pairs):
        code = STAGES.get(stage.decode("latin-1"), stage[:1])
        self.send(packet(b"D", code + strings(*pairs)))

    def step_helo(self, name):
        self.send(packet(b"H", strings(name)))

    def step_mail(self, *args):
        self.send(packet(b"M", strings(*args)))

    def step_rcpt(self, *args):
        self.send(packet(b"R", strings(*args)))

    def step_header(self, name, value):
        self.send(packet(b"L", strings(name, value)))

    def step_data(self):
        self.send(packet(b"T"))

    def step_eoh(self):
        self.send(packet(b"N"))

    def step_body(self, text=b""):
        self.send(packet(b"B", text + b"\r\n"))

    def step_body_size(self, size):
        left = number(size.decode())
        line = (b"x" * 76 + b"\r\n") * (BODY_CHUNK // 78 + 1)
        while left > 0:
            n = min(left, BODY_CHUNK)
            self.send(packet(b"B", line[:n]))
            left -= n

    def step_eom(self):
        self.send(packet(b"E"))

    def step_abort(self):
        self.send(packet(b"A"))

    def step_quit(self):
        self.send(packet(b"Q"))

    def step_quit_nc(self):
        self.send(packet(b"K"))

    def step_packet(self, cmd, data=b""):
        self.send(packet(cmd[:1], data))

    def step_packet_size(self, cmd, size):
        self.send(packet(cmd[:1], b"x" * number(size.decode())))

    def step_lenpacket(self, length, cmd, data=b""):
        self.send(struct.pack(">I", number(length.decode()) & 0xffffffff) + cmd[:1] + data)

    def step_raw(self, data):
        self.send(data, packets=0)

    def step_garbage(self, size, seed=b"1"):
        rng = random.Random(number(seed.decode()))
        self.send(bytes(rng.getrandbits(8) for _ in range(number(size.decode()))),
                  packets=0)

    def step_wait(self, count, seconds=None):
        want = number(count.decode())
        limit = float(seconds.decode()) if seconds else self.timeout
        if not self.reader.wait(lambda: self.reader.total >= want or self.reader.eof_at,
                                limit) or self.reader.total < want:
            raise ScriptError("wait: %d replies of %d after %.1f s"
                              % (self.reader.total, want, limit))

    def step_close(self):
        self.drop()

    def drop(self):
        """closes the socket; shutdown first wakes the reader's recv()"""
        if self.closed:
            return
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.closed = True

    # ------------------------------------------------------------ end
    def finish(self):
        """half-close and wait for the milter's EOF; True when it came"""
        if self.closed:
            return True
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        started = time.monotonic()
        done = self.reader.wait(lambda: self.reader.eof_at is not None, self.timeout)
        self.end = ("eof %.3f s after the last step" % (time.monotonic() - started)
                    if done else "no eof within %g s" % self.timeout)
        return done

    def report(self, out):
        counts = " ".join("%s=%d" % (k, v) for k, v in sorted(self.reader.counts.items()))
        print("sent: %d packets, %d bytes" % (self.sent_packets, self.sent_bytes), file=out)
        print("replies: %d%s" % (self.reader.total, " " + counts if counts else ""), file=out)
        print("sequence: %s" % "".join(self.reader.sequence), file=out)
        if self.write_error is not None:
            print("write: %s (the milter hung up first)" % self.write_error, file=out)
        if self.reader.error is not None:
            print("read: %s" % self.reader.error, file=out)
        print("end: %s" % ("closed by us" if self.closed else self.end), file=out)


def open_socket(spec):
    for prefix in ("unix:", "local:"):
        if spec.startswith(prefix):
            spec = spec[len(prefix):]
    if spec.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(spec)
        return sock
    match = re.fullmatch(r"inet6?:(\d+)(?:@\[?([^\]]+)\]?)?", spec)
    if match is None:
        raise ScriptError("bad socket %r" % spec)
    return socket.create_connection((match.group(2) or "127.0.0.1", int(match.group(1))))


def on_alarm(signum, frame):
    raise Deadline()


def run(spec, script, timeout, deadline, out):
    """plays script (a path, or - for stdin) on spec; the exit status"""
    signal.alarm(deadline)
    client = None
    try:
        text = sys.stdin.read() if script == "-" else open(script).read()
        steps = []
        for line_no, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                steps.append((line_no, split_line(line)))
        client = Client(open_socket(spec), timeout)
        client.reader.start()
        for line_no, words in steps:
            client.run_step(words, "%s:%d" % (script, line_no))
            if client.write_error is not None or client.closed:
                break
        ok = client.finish()
        client.report(out)
        return 0 if ok else 1
    except ScriptError as e:
        print("milter-raw.py: %s" % e, file=out)
        if client is not None:
            client.end = "script error"
            client.report(out)
        return 2
    except (OSError, ValueError) as e:
        print("milter-raw.py: %s" % e, file=out)
        return 2
    except Deadline:
        print("milter-raw.py: deadline of %d s exceeded" % deadline, file=out)
        if client is not None:
            client.end = "deadline"
            client.report(out)
        return 3
    finally:
        signal.alarm(0)
        if client is not None:
            client.drop()


def serve(timeout, deadline):
    """--serve: one "SOCKET SCRIPT REPORT-FILE" a line on stdin, the exit
    status a line on stdout; saves a python start per case"""
    for line in sys.stdin:
        words = line.split()
        if len(words) != 3:
            print(2, flush=True)
            continue
        with open(words[2], "w") as out:
            status = run(words[0], words[1], timeout, deadline, out)
        print(status, flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-T", type=float, default=10.0, dest="timeout",
                        help="seconds to wait for an answer and for the final EOF")
    parser.add_argument("--deadline", type=int, default=120,
                        help="seconds for the whole run")
    parser.add_argument("--serve", action="store_true",
                        help="read SOCKET SCRIPT REPORT-FILE lines from stdin")
    parser.add_argument("socket", nargs="?")
    parser.add_argument("script", nargs="?", default="-")
    opts = parser.parse_args()
    signal.signal(signal.SIGALRM, on_alarm)
    if opts.serve:
        return serve(opts.timeout, opts.deadline)
    if opts.socket is None:
        parser.error("SOCKET is needed")
    return run(opts.socket, opts.script, opts.timeout, opts.deadline, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
