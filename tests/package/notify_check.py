#!/usr/bin/env python3
"""Runs `blwatch run` the way systemd's Type=notify does and checks what it
says on $NOTIFY_SOCKET: READY=1 after start-up, RELOADING=1 (with
MONOTONIC_USEC) then READY=1 around a SIGHUP, a STATUS= line after a cycle,
and STOPPING=1 then exit 0 on SIGTERM.

    notify_check.py [--user NAME] -- /usr/bin/blwatch -c FILE run

Prints one PASS/FAIL line per step and exits 1 if any failed.  The config
must not make blwatch query anything real (the package test points it at a
dead resolver on 127.0.0.1).
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

TIMEOUT = 30.0


class Listener:
    def __init__(self):
        self.name = "blwatch-notify-test-%d" % os.getpid()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # An abstract socket: no file, so no permissions to arrange for
        # the service user.
        self.sock.bind("\0" + self.name)
        self.seen = []  # every message, split into KEY=VALUE lines

    def wait_for(self, pred, timeout=TIMEOUT):
        """Reads messages until one satisfies pred; returns it or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return None
            lines = data.decode("utf-8", "replace").split("\n")
            self.seen.append(lines)
            if pred(lines):
                return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--user")
    ap.add_argument("cmd", nargs="+")
    args = ap.parse_args()

    failed = []

    def report(ok, what, detail=""):
        print("%s: notify: %s%s" % ("PASS" if ok else "FAIL", what,
                                    " (%s)" % detail if detail else ""))
        if not ok:
            failed.append(what)
        return ok

    lst = Listener()
    env = dict(os.environ, NOTIFY_SOCKET="@" + lst.name)
    env.pop("JOURNAL_STREAM", None)
    kw = {}
    if args.user:
        kw = {"user": args.user, "group": args.user, "extra_groups": []}
    proc = subprocess.Popen(args.cmd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            **kw)
    try:
        ready = lst.wait_for(lambda m: "READY=1" in m)
        if not report(ready is not None, "READY=1 after start-up"):
            return 1
        status = lst.wait_for(lambda m: any(x.startswith("STATUS=cycle")
                                            for x in m))
        report(status is not None, "STATUS= after the first cycle",
               next((x for x in status if x.startswith("STATUS=")), "")
               if status else "")

        proc.send_signal(signal.SIGHUP)
        reloading = lst.wait_for(lambda m: "RELOADING=1" in m)
        if report(reloading is not None, "RELOADING=1 on SIGHUP"):
            report(any(x.startswith("MONOTONIC_USEC=") for x in reloading),
                   "MONOTONIC_USEC= with RELOADING=1")
            again = lst.wait_for(lambda m: "READY=1" in m)
            report(again is not None, "READY=1 after the reload")

        proc.send_signal(signal.SIGTERM)
        stopping = lst.wait_for(lambda m: "STOPPING=1" in m)
        report(stopping is not None, "STOPPING=1 on SIGTERM")
        try:
            rc = proc.wait(timeout=TIMEOUT)
            report(rc == 0, "exit status 0 after SIGTERM", "got %d" % rc)
        except subprocess.TimeoutExpired:
            report(False, "exit after SIGTERM", "still running")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode("utf-8", "replace")
        if failed and err:
            sys.stdout.write("  blwatch's log:\n")
            for line in err.splitlines()[-20:]:
                sys.stdout.write("    " + line + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
