"""Helpers for blwatch integration tests: a local rbldnsd, a tiny DNS client,
and blwatch test configs.

Standard library only; run with /usr/bin/python3.

    from rbl import Rbldnsd, dns_query, write_config

    with Rbldnsd(workdir, [("bl.test", "ip4set", "bl.data")],
                 probe=("2.0.0.127.bl.test", True)) as srv:
        ans = dns_query(srv.port, "2.0.0.127.bl.test")   # ans.rcode, ans.a, ans.txt
        write_config(conf_path, srv.port, catalog_path)
        ...
        srv.update_files({"bl.data": new_text},
                         probe=("10.2.0.192.bl.test", lambda a: a.a == ["127.0.0.2"]))

Everything binds to 127.0.0.1 only.  rbldnsd runs in the foreground (-n);
stop() (also called by the context manager and at interpreter exit) always
terminates it.
"""

import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

QTYPE = {"A": 1, "NS": 2, "SOA": 6, "TXT": 16, "AAAA": 28}
RCODE_NAME = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
              4: "NOTIMP", 5: "REFUSED"}


# --------------------------------------------------------------------------
# Minimal DNS client (UDP, one question, A/TXT parsing)
# --------------------------------------------------------------------------

class Answer:
    """Result of dns_query: rcode (int), a (list of dotted strings, in answer
    order), txt (list of str, one per TXT RR, character-strings joined)."""

    def __init__(self, rcode, a, txt):
        self.rcode = rcode
        self.a = a
        self.txt = txt

    @property
    def rcode_name(self):
        return RCODE_NAME.get(self.rcode, str(self.rcode))

    def __repr__(self):
        return "Answer(%s, a=%r, txt=%r)" % (self.rcode_name, self.a, self.txt)


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if not label:
            raise ValueError("empty label in %r" % name)
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError("label too long in %r" % name)
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def _skip_name(buf, off):
    while True:
        n = buf[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def dns_query(port, name, qtype="A", server="127.0.0.1", timeout=1.0, tries=3):
    """Send one query, return an Answer.  Raises TimeoutError after `tries`
    attempts without a matching response."""
    qt = QTYPE[qtype] if isinstance(qtype, str) else int(qtype)
    last = None
    for _ in range(tries):
        qid = random.randrange(65536)
        pkt = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + _encode_name(name) + struct.pack("!HH", qt, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(timeout)
            s.sendto(pkt, (server, port))
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout()
                s.settimeout(left)
                buf, _ = s.recvfrom(4096)
                if len(buf) < 12:
                    continue
                rid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", buf[:12])
                if rid != qid or not flags & 0x8000:
                    continue
                return _parse_response(buf, flags, qd, an)
        except (socket.timeout, ConnectionRefusedError, OSError) as e:
            last = e
        finally:
            s.close()
    raise TimeoutError("no answer from %s:%d for %s %s (%s)" % (server, port, name, qtype, last))


def _parse_response(buf, flags, qd, an):
    off = 12
    for _ in range(qd):
        off = _skip_name(buf, off) + 4
    a, txt = [], []
    for _ in range(an):
        off = _skip_name(buf, off)
        rtype, _rclass, _ttl, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
        off += 10
        rdata = buf[off:off + rdlen]
        off += rdlen
        if rtype == 1 and rdlen == 4:
            a.append(socket.inet_ntoa(rdata))
        elif rtype == 16:
            parts, i = [], 0
            while i < len(rdata):
                n = rdata[i]
                parts.append(rdata[i + 1:i + 1 + n].decode("utf-8", "replace"))
                i += 1 + n
            txt.append("".join(parts))
    return Answer(flags & 0xF, a, txt)


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

def ip4_qname(addr, zone):
    return ".".join(reversed(addr.split("."))) + "." + zone


def ip6_qname(addr, zone):
    import ipaddress
    nibbles = ipaddress.IPv6Address(addr).exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + "." + zone


def free_udp_port():
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def find_rbldnsd():
    path = shutil.which("rbldnsd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/local/sbin")
    if not path:
        raise RuntimeError("rbldnsd not found (Debian: apt-get install rbldnsd)")
    return path


# --------------------------------------------------------------------------
# rbldnsd
# --------------------------------------------------------------------------

from lifetime import LIVE as _LIVE  # noqa: E402  (stopped at exit)


class RbldnsdError(RuntimeError):
    pass


class Rbldnsd:
    """One rbldnsd on 127.0.0.1:<free port>.

    workdir: directory holding the data files (made world-readable, since
             rbldnsd drops root privileges to user rbldns).
    zones:   list of (zone, dataset_type, file[,file...]) tuples; the same zone
             may appear several times (rbldnsd merges the datasets, which is
             how a name gets several A records).
    probe:   (qname, want_listed) queried until the server gives that answer
             (want_listed True: an A record; False: NXDOMAIN/NOERROR-empty);
             default: any response for the first zone's apex.
    check:   rbldnsd -c interval (e.g. "1s"); None leaves rbldnsd's default.
    """

    def __init__(self, workdir, zones, probe=None, check=None, quiet=False,
                 extra_args=(), start_timeout=10.0):
        self.workdir = os.path.abspath(workdir)
        self.zones = list(zones)
        self.probe = probe
        self.check = check
        self.quiet = quiet
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.workdir, "rbldnsd.log")
        self._logf = None

    # -- lifecycle --------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _args(self, port):
        args = [find_rbldnsd(), "-n", "-b", "127.0.0.1/%d" % port, "-w", self.workdir]
        if os.geteuid() == 0:
            args += ["-u", "rbldns" if _user_exists("rbldns") else "nobody"]
        if self.quiet:
            args.append("-q")
        if self.check is not None:
            args += ["-c", str(self.check)]
        args += self.extra_args
        for spec in self.zones:
            zone, dtype, files = spec[0], spec[1], spec[2:]
            args.append("%s:%s:%s" % (zone, dtype, ",".join(files)))
        return args

    def start(self):
        _make_readable(self.workdir)
        last_err = None
        for _attempt in range(5):
            port = free_udp_port()
            self._logf = open(self.log_path, "wb")
            self.proc = subprocess.Popen(self._args(port), stdin=subprocess.DEVNULL,
                                         stdout=self._logf, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
            self.port = port
            _LIVE.add(self)
            try:
                self._wait_ready()
                self._check_log()
                return self
            except RbldnsdError as e:
                last_err = e
                self.stop()
                if "Address already in use" not in str(e):
                    raise
        raise last_err

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            self.proc = None
        if self._logf is not None:
            self._logf.close()
            self._logf = None
        _LIVE.discard(self)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _check_log(self):
        bad = [l for l in self.log().splitlines()
               if re.search(r"file \S+\(\d+\):|unable to|not all datasets|error", l, re.I)]
        if bad:
            raise RbldnsdError("rbldnsd reported data problems:\n  " + "\n  ".join(bad))

    def _probe_ok(self, ans):
        if self.probe is None:
            return ans.rcode in (0, 3)
        want = self.probe[1]
        if callable(want):
            return want(ans)
        return bool(ans.a) == bool(want) and ans.rcode in (0, 3)

    def _probe_name(self):
        return self.probe[0] if self.probe else self.zones[0][0]

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        name = self._probe_name()
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RbldnsdError("rbldnsd exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                last = dns_query(self.port, name, timeout=0.2, tries=1)
                if self._probe_ok(last):
                    return
            except TimeoutError as e:
                last = e
            time.sleep(0.05)
        raise RbldnsdError("rbldnsd on port %d not ready after %.0fs (probe %s: %r)\n%s"
                           % (self.port, self.start_timeout, name, last, self.log()))

    # -- data changes -------------------------------------------------------
    def update_files(self, files, probe, timeout=15.0):
        """Atomically rewrite data files ({name: text}), make rbldnsd reload
        them (SIGHUP; its -c timer would also do), and wait until `probe`
        ((qname, want) as in the constructor) is satisfied."""
        for name, text in files.items():
            path = os.path.join(self.workdir, name)
            old = os.stat(path).st_mtime if os.path.exists(path) else 0
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            # rbldnsd compares whole-second mtimes: make sure it moves.
            new = max(time.time(), int(old) + 1.0)
            os.utime(tmp, (new, new))
            os.replace(tmp, path)
        saved = self.probe
        self.probe = probe
        try:
            deadline = time.monotonic() + timeout
            last = None
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    raise RbldnsdError("rbldnsd died during reload:\n" + self.log())
                self.proc.send_signal(signal.SIGHUP)
                t_end = min(deadline, time.monotonic() + 1.0)
                while time.monotonic() < t_end:
                    try:
                        last = dns_query(self.port, probe[0], timeout=0.2, tries=1)
                        if self._probe_ok(last):
                            self._check_log()
                            return
                    except TimeoutError as e:
                        last = e
                    time.sleep(0.05)
            raise RbldnsdError("rbldnsd did not pick up new data within %.0fs (probe %s: %r)\n%s"
                               % (timeout, probe[0], last, self.log()))
        finally:
            self.probe = saved


def _user_exists(name):
    import pwd
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _make_readable(workdir):
    """rbldnsd runs as an unprivileged user when started by root."""
    os.chmod(workdir, 0o755)
    for entry in os.listdir(workdir):
        p = os.path.join(workdir, entry)
        if os.path.isfile(p):
            os.chmod(p, 0o644)


def make_workdir(prefix="blwatch-it-"):
    """A fresh temp dir that rbldnsd (as user rbldns) can read."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    return d


# --------------------------------------------------------------------------
# A broken DNS server: never answers, or answers everything with one rcode
# --------------------------------------------------------------------------

class FakeDNS:
    """UDP server on 127.0.0.1:<free port> in a thread.
    mode "drop": read queries and never answer (timeouts);
    mode "servfail" / "refused": answer every query with that rcode."""

    def __init__(self, mode="drop"):
        import threading
        self.mode = mode
        self.rcode = {"drop": None, "servfail": 2, "refused": 5}[mode]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self.sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                buf, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(buf) < 12:
                continue
            self.queries += 1
            if self.rcode is None:
                continue
            qid, flags, qd = struct.unpack("!HHH", buf[:6])
            off = 12
            for _ in range(qd):
                off = _skip_name(buf, off) + 4
            rflags = 0x8000 | (flags & 0x0100) | self.rcode
            resp = struct.pack("!HHHHHH", qid, rflags, qd, 0, 0, 0) + buf[12:off]
            try:
                self.sock.sendto(resp, peer)
            except OSError:
                pass


# --------------------------------------------------------------------------
# blwatch config
# --------------------------------------------------------------------------

def write_config(path, port, catalog, use="all", timeout="1s", tries=2, extra=""):
    """Write a minimal blwatch config pointing at 127.0.0.1:port and the given
    catalog.  `extra` is appended verbatim (e.g. a [poller] section)."""
    text = ("[resolver]\n"
            "servers = 127.0.0.1:%d\n"
            "timeout = %s\n"
            "tries = %d\n"
            "\n"
            "[zones]\n"
            "catalog = %s\n"
            "use = %s\n" % (port, timeout, tries, os.path.abspath(catalog), use))
    if extra:
        text += "\n" + extra.rstrip("\n") + "\n"
    with open(path, "w") as f:
        f.write(text)
    return path


def run_blwatch(binary, conf, args, stdin=None, timeout=120):
    """Run `blwatch -c conf ARGS`; returns CompletedProcess (text mode)."""
    cmd = [binary] + (["-c", conf] if conf else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
    # Tiny CLI: rbl.py query PORT NAME [TYPE]
    if len(sys.argv) >= 4 and sys.argv[1] == "query":
        print(dns_query(int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "A"))
    else:
        print(__doc__)
