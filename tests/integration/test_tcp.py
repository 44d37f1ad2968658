#!/usr/bin/python3
"""TCP fallback: a DNS server that answers listed names over UDP with the
TC (truncated) bit and no records, and in full over TCP.  blwatch must get
every code and the whole multi-string TXT reason through its TCP retry.

rbldnsd speaks UDP only, so this test runs its own small server (standard
library, 127.0.0.1, a free port for both UDP and TCP).

    /usr/bin/python3 test_tcp.py BLWATCH
"""

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

from rbl import _encode_name, _skip_name

ZONE = "tc.test"
# name -> (A records, TXT character-strings); everything else is NXDOMAIN.
REASON = ["part one of a long reason " + "x" * 200, " then part two " + "y" * 200,
          " and the end"]
DATA = {
    "2.0.0.127." + ZONE: (["127.0.0.2"], ["RFC 5782 test point"]),
    "10.2.0.192." + ZONE: (["127.0.0.4", "127.0.0.2", "127.0.0.3"], REASON),
}


def qname_of(buf):
    labels, off = [], 12
    while buf[off]:
        n = buf[off]
        labels.append(buf[off + 1:off + 1 + n].decode().lower())
        off += n + 1
    qtype = struct.unpack("!H", buf[off + 1:off + 3])[0]
    return ".".join(labels), qtype, off + 5


def rr(name, rtype, rdata):
    return _encode_name(name) + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata


def answer(buf, truncate):
    """The reply to one query; truncate: set TC and leave the records out."""
    qid, flags = struct.unpack("!HH", buf[:4])
    name, qtype, end = qname_of(buf)
    question = buf[12:end]
    entry = DATA.get(name)
    rflags = 0x8400 | (flags & 0x0100)  # QR, AA, RD copied
    if entry is None:
        return struct.pack("!HHHHHH", qid, rflags | 3, 1, 0, 0, 0) + question
    if truncate:
        return struct.pack("!HHHHHH", qid, rflags | 0x0200, 1, 0, 0, 0) + question
    records = b""
    if qtype == 1:
        records = b"".join(rr(name, 1, socket.inet_aton(a)) for a in entry[0])
        count = len(entry[0])
    else:
        txt = b"".join(bytes([len(s)]) + s.encode() for s in entry[1])
        records, count = rr(name, 16, txt), 1
    return struct.pack("!HHHHHH", qid, rflags, 1, count, 0, 0) + question + records


class TruncatingDNS:
    def __init__(self):
        self.udp_queries = self.tcp_queries = 0
        for _ in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        self.tcp.listen(16)
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self.serve_udp, self.serve_tcp)]
        for t in self.threads:
            t.start()

    def serve_udp(self):
        while not self.stopping.is_set():
            try:
                buf, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            self.udp_queries += 1
            self.udp.sendto(answer(buf, truncate=True), peer)

    def serve_tcp(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.serve_conn, args=(conn,), daemon=True).start()

    def serve_conn(self, conn):
        conn.settimeout(5)
        try:
            while True:
                head = conn.recv(2)
                if len(head) < 2:
                    return
                n = struct.unpack("!H", head)[0]
                buf = b""
                while len(buf) < n:
                    chunk = conn.recv(n - len(buf))
                    if not chunk:
                        return
                    buf += chunk
                self.tcp_queries += 1
                reply = answer(buf, truncate=False)
                conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=2)
        self.udp.close()
        self.tcp.close()


def main():
    binary = sys.argv[1]
    failures = []
    srv = TruncatingDNS()
    try:
        with tempfile.TemporaryDirectory(prefix="blwatch-tcp-") as tmp:
            catalog = os.path.join(tmp, "catalog.conf")
            with open(catalog, "w") as f:
                f.write("[tc]\nzone = %s\nkind = ip4\ntestpoints = yes\n"
                        "code = 127.0.0.2 spam source\ncode = 127.0.0.3 snowshoe\n"
                        "code = 127.0.0.4 exploited host\n" % ZONE)
            conf = os.path.join(tmp, "blwatch.conf")
            with open(conf, "w") as f:
                f.write("[resolver]\nservers = 127.0.0.1:%d\ntimeout = 2s\ntries = 2\n"
                        "[zones]\ncatalog = %s\nuse = all\n" % (srv.port, catalog))
            p = subprocess.run([binary, "-c", conf, "check", "--json",
                                "192.0.2.10", "192.0.2.11"],
                               capture_output=True, text=True, timeout=60)
            try:
                out = json.loads(p.stdout)
            except ValueError:
                out = None
                failures.append("stdout is not JSON: %r (stderr %r)" % (p.stdout, p.stderr))
            if p.returncode != 1:
                failures.append("exit %d, expected 1 (listed); stderr %r" % (p.returncode, p.stderr))
            if out is not None:
                res = {t["target"]: t["results"][0] for t in out["targets"]}
                listed = res.get("192.0.2.10", {})
                if listed.get("result") != "listed":
                    failures.append("192.0.2.10: %r, expected listed" % listed)
                if listed.get("codes") != ["127.0.0.2", "127.0.0.3", "127.0.0.4"]:
                    failures.append("codes %r, expected all three through TCP" % listed.get("codes"))
                if listed.get("meanings") != ["spam source", "snowshoe", "exploited host"]:
                    failures.append("meanings %r" % listed.get("meanings"))
                if listed.get("reason") != "".join(REASON):
                    failures.append("reason %r, expected the three strings joined" % listed.get("reason"))
                if res.get("192.0.2.11", {}).get("result") != "clear":
                    failures.append("192.0.2.11: %r, expected clear" % res.get("192.0.2.11"))
            if srv.tcp_queries < 3:
                failures.append("only %d queries over TCP; the truncated answers "
                                "(test point, A and TXT) were not retried over TCP"
                                % srv.tcp_queries)
    finally:
        srv.stop()
    for f in failures:
        print("FAIL  " + f)
    print("test_tcp: %s" % ("FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
