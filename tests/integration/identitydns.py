#!/usr/bin/python3
"""A small authoritative-style DNS server for blwatch's identity tests.

Needs Debian's python3-dnslib; run with /usr/bin/python3.  Listens on
127.0.0.1 (UDP) at a free port and answers from a table that the test can
replace at run time:

    from identitydns import IdentityDNS
    records = {
        "mx1.example.test": [("A", "192.0.2.10")],
        "10.2.0.192.in-addr.arpa": [("PTR", "mx1.example.test")],
        "example.test": [("MX", (10, "mx1.example.test")),
                         ("TXT", "v=spf1 -all")],
        "_dmarc.example.test": [("TXT", "v=DMARC1; p=reject")],
        "broken.test": "SERVFAIL",       # this name and every name under it
    }
    with IdentityDNS(records) as srv:
        srv.port
        srv.set_records(other)           # switch at run time
        srv.override("x.test", [("TXT", "v=spf1 ~all")], times=1)
                                         # the next answer only, then the table
        srv.queries("example.test")      # how many queries that name got

Types: A, AAAA, PTR, MX (pref, host), TXT (a string, split into 255-byte
character-strings, or a list of strings), CNAME.  A value of "SERVFAIL",
"REFUSED" or "TIMEOUT" (no answer) applies to the name and every name
below it.  A name with no records is NXDOMAIN unless a name below it
exists (then NOERROR with no data).
"""

import socket
import sys
import threading
import time

from dnslib import AAAA, CNAME, MX, PTR, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import DNSError, DNSHandler, DNSServer

from lifetime import LIVE as _LIVE  # noqa: E402  (stopped at exit)


class _Drop(Exception):
    pass


class _Quiet:
    """dnslib's logger, silenced."""

    def __getattr__(self, _name):
        return lambda *a, **k: None


def _rdata(kind, value):
    if kind == "A":
        return QTYPE.A, A(value)
    if kind == "AAAA":
        return QTYPE.AAAA, AAAA(value)
    if kind == "PTR":
        return QTYPE.PTR, PTR(value)
    if kind == "CNAME":
        return QTYPE.CNAME, CNAME(value)
    if kind == "MX":
        return QTYPE.MX, MX(value[1], value[0])
    if kind == "TXT":
        parts = value if isinstance(value, list) else [value]
        chunks = []
        for p in parts:
            b = p.encode()
            chunks += [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
        return QTYPE.TXT, TXT(chunks)
    raise ValueError(kind)


class _Resolver:
    def __init__(self, srv):
        self.srv = srv

    def resolve(self, request, handler):
        q = request.q
        name = str(q.qname).rstrip(".").lower()
        reply = request.reply()
        reply.header.aa = 1
        table, special = self.srv._lookup(name)
        if special == "TIMEOUT":
            raise _Drop()
        if special in ("SERVFAIL", "REFUSED"):
            reply.header.rcode = getattr(RCODE, special)
            return reply
        if table is None:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        owner = name
        for _ in range(8):  # follow CNAMEs inside the table
            cname = [v for k, v in table if k == "CNAME"]
            if not cname or q.qtype == QTYPE.CNAME:
                break
            reply.add_answer(RR(owner, QTYPE.CNAME, rdata=CNAME(cname[0]), ttl=60))
            owner = cname[0].rstrip(".").lower()
            table, special = self.srv._lookup(owner)
            if table is None:
                return reply
        for kind, value in table:
            qt, rd = _rdata(kind, value)
            if qt == q.qtype or q.qtype == QTYPE.ANY:
                reply.add_answer(RR(owner, qt, rdata=rd, ttl=60))
        return reply


class _Handler(DNSHandler):
    def get_reply(self, data):
        try:
            return super().get_reply(data)
        except _Drop:
            raise DNSError("dropped on purpose")


class IdentityDNS:
    def __init__(self, records=None):
        self._lock = threading.Lock()
        self._records = {}
        self._overrides = {}
        self._counts = {}
        self.set_records(records or {})
        self._server = DNSServer(_Resolver(self), address="127.0.0.1", port=0,
                                 logger=_Quiet(), handler=_Handler)
        self.port = self._server.server.server_address[1]

    def start(self):
        self._server.start_thread()
        _LIVE.add(self)
        deadline = time.time() + 5
        while time.time() < deadline:
            if self._probe():
                return self
            time.sleep(0.05)
        raise RuntimeError("identitydns did not answer")

    def _probe(self):
        q = DNSRecord.question("probe.invalid")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        try:
            s.sendto(q.pack(), ("127.0.0.1", self.port))
            s.recvfrom(4096)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        _LIVE.discard(self)
        self._server.stop()
        self._server.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def set_records(self, records):
        norm = {}
        for name, recs in records.items():
            norm[name.rstrip(".").lower()] = recs
        with self._lock:
            self._records = norm
            self._overrides = {}

    def override(self, name, recs, times=1):
        with self._lock:
            self._overrides[name.lower()] = [recs, times]

    def queries(self, name):
        with self._lock:
            return self._counts.get(name.lower(), 0)

    def _lookup(self, name):
        """(records or None, special word or None) for a name."""
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1
            ov = self._overrides.get(name)
            if ov is not None:
                ov[1] -= 1
                if ov[1] <= 0:
                    del self._overrides[name]
                recs = ov[0]
            else:
                recs = self._records.get(name)
            labels = name.split(".")
            for i in range(len(labels)):
                v = self._records.get(".".join(labels[i:]))
                if isinstance(v, str):
                    return None, v
            if isinstance(recs, str):
                return None, recs
            if recs is not None:
                return recs, None
            suffix = "." + name
            if any(k.endswith(suffix) for k in self._records):
                return [], None
            return None, None


if __name__ == "__main__":
    # identitydns.py serve: an empty server, prints its port.
    srv = IdentityDNS({}).start()
    print(srv.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    sys.exit(0)
