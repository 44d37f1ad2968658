#!/usr/bin/python3
"""systemd notifications: `blwatch run` under a NOTIFY_SOCKET sends
READY=1 once started, STATUS= after each cycle (targets, listings, the
zones whose answers are unknown), RELOADING=1 then READY=1 around a SIGHUP
(STATUS=reload failed for a broken config, and the last cycle's status
again after a good one), and STOPPING=1 on SIGTERM.  The socket is ours, as systemd's would be.

    /usr/bin/python3 test_notify.py BLWATCH
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from rbl import Rbldnsd, make_workdir, write_config


def collect(sock, want, timeout=15.0):
    """Messages received until one contains want (or the time is up)."""
    got, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(msg)
        if want in msg:
            break
    return got


def main():
    binary = sys.argv[1]
    failures = []
    work = make_workdir("blwatch-notify-")
    with open(os.path.join(work, "bl.data"), "w") as f:
        f.write("$SOA 60 ns.nt.test. h.nt.test. 1 60 60 600 60\n"
                ":127.0.0.2:listed\n127.0.0.2\n192.0.2.10\n")
    catalog = os.path.join(work, "catalog.conf")
    with open(catalog, "w") as f:
        f.write("[nt]\nzone = bl.nt.test\nkind = ip4\ntestpoints = yes\n"
                "code = 127.0.0.2 spam\n"
                # Lists nothing, not even its test point: dead.
                "[nd]\nzone = bl.nd.test\nkind = ip4\ntestpoints = yes\n"
                "code = 127.0.0.2 spam\n")
    with open(os.path.join(work, "dead.data"), "w") as f:
        f.write("$SOA 60 ns.nt.test. h.nt.test. 1 60 60 600 60\n")
    sock_path = os.path.join(work, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    proc = None
    with Rbldnsd(work, [("bl.nt.test", "ip4set", "bl.data"),
                        ("bl.nd.test", "ip4set", "dead.data")],
                 probe=("2.0.0.127.bl.nt.test", True), quiet=True) as srv:
        conf = os.path.join(work, "blwatch.conf")
        extra = ("[poller]\ndatabase = %s/db.sqlite\ninterval = 1h\nconfirm = 0\n"
                 "[targets]\nip = 192.0.2.10\n" % work)
        write_config(conf, srv.port, catalog, extra=extra)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        proc = subprocess.Popen([binary, "-c", conf, "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            got = collect(sock, "STATUS=cycle")
            joined = "\n".join(got)
            if "READY=1" not in joined:
                failures.append("no READY=1 after start: %r" % got)
            if "STATUS=cycle 1: 1 targets, 1 listed, 1 of 2 zones unknown " \
               "(nd dead)" not in joined:
                failures.append("no STATUS line for the first cycle: %r" % got)
            # A broken config: RELOADING, then READY with a failure status.
            with open(conf, "a") as f:
                f.write("bogus_key = 1\n")
            proc.send_signal(signal.SIGHUP)
            got = collect(sock, "reload failed")
            joined = "\n".join(got)
            if "RELOADING=1" not in joined or "MONOTONIC_USEC=" not in joined:
                failures.append("no RELOADING=1 with MONOTONIC_USEC: %r" % got)
            if "STATUS=reload failed" not in joined or "blwatch.conf:" not in joined:
                failures.append("no 'reload failed' status naming the file: %r" % got)
            # A good one again.
            write_config(conf, srv.port, catalog, extra=extra)
            proc.send_signal(signal.SIGHUP)
            got = collect(sock, "STATUS=cycle")
            if not any("RELOADING=1" in m for m in got) or \
               not any("READY=1" in m for m in got):
                failures.append("good reload: RELOADING/READY missing: %r" % got)
            if not any(m.startswith("STATUS=cycle 1: ") for m in got):
                failures.append("good reload: the status still reads %r, not "
                                "the last cycle" % got)
            proc.send_signal(signal.SIGTERM)
            got = collect(sock, "STOPPING=1")
            if not any("STOPPING=1" in m for m in got):
                failures.append("no STOPPING=1 on SIGTERM: %r" % got)
            rc = proc.wait(timeout=10)
            if rc != 0:
                failures.append("exit %d after SIGTERM, expected 0" % rc)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sock.close()
    shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL  " + f)
    print("test_notify: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
