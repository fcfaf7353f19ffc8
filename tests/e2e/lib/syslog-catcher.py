#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""syslog-catcher.py SOCKET FILE: a minimal syslog receiver for the e2e harness.

Binds a unix datagram socket, the kind syslog(3) writes to through /dev/log,
and appends every message to FILE as "HH:MM:SS facility.severity text". The
harness points the /dev/log of its private namespace at SOCKET, so Sendmail
logs somewhere without a syslog daemon and without touching the host's /dev.
"""
import os
import re
import signal
import socket
import sys
import time

FACILITIES = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
              "cron", "authpriv", "ftp"]
SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
PRIORITY = re.compile(rb"^<(\d+)>")


def label(priority):
    facility = priority >> 3
    name = FACILITIES[facility] if facility < len(FACILITIES) else str(facility)
    return "%s.%s " % (name, SEVERITIES[priority & 7])


def main(socket_path, log_path):
    try:
        os.unlink(socket_path)
    except FileNotFoundError:
        pass
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(socket_path)
    os.chmod(socket_path, 0o666)  # sendmail writes as root, its children as other users
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(log_path, "ab", buffering=0) as out:
        while True:
            data = receiver.recv(65536)
            prefix = b""
            match = PRIORITY.match(data)
            if match:
                prefix = label(int(match.group(1))).encode()
                data = data[match.end():]
            out.write(time.strftime("%H:%M:%S ").encode() + prefix + data.rstrip(b"\n\0") + b"\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
