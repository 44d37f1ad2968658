#!/usr/bin/python3
"""A misbehaving DNS server for blwatch fault-injection tests.

Standard library only; run with /usr/bin/python3.  Listens on 127.0.0.1,
UDP and TCP on the same free port.  Every zone gets its own behaviour,
chosen by zone name:

    from faultdns import FaultDNS, Normal, Timeout, Slow, Rcode, ...

    table = {"192.0.2.10": (["127.0.0.2"], ["spam source"])}
    with FaultDNS({"normal.fault.test": Normal(table),
                   "slow.fault.test": Slow(400, Normal(table)),
                   "dead.fault.test": ListsNothing()}) as srv:
        srv.port                       # UDP and TCP
        srv.set_zone("normal.fault.test", Timeout())   # switch at run time
        srv.count(zone="slow.fault.test")              # queries seen

Behaviours (one object per zone; see each class):

    Normal(table, kind="ip4", testpoints=True, nx_answer=None)
    Timeout()                   never answers (UDP or TCP)
    Slow(ms, inner)             inner's answer after ms milliseconds
    Rcode(rcode)                SERVFAIL (2), REFUSED (5), ... for every name
    Truncate(inner)             TC over UDP, inner's full answer over TCP
    ListsAll(code)              A code for every name (127.0.0.1 too)
    ListsNothing()              NXDOMAIN for every name (127.0.0.2 too)
    Refusal(code)               the refusal code (127.255.255.254) for every name
    Outside(addr)               an answer outside 127/8 for every name
    Malformed(variant)          broken packets: short, qcut, cut, rdlen, loop, a3
    WrongId(inner)              inner's answer with another query id
    WrongName(inner)            inner's answer for another question name
    Drop(fraction, inner, seed) drops that fraction of UDP queries (seeded)

Answers over UDP that do not fit in 512 bytes (or the EDNS size the query
offers) are truncated (TC, no records) as a real server does; TCP carries
them in full.  Names outside every zone get REFUSED.

Run alone for a manual look:  faultdns.py serve  (prints the port).
"""

import heapq
import ipaddress
import os
import random
import socket
import struct
import sys
import threading
import time

T_A, T_TXT, T_AAAA, T_OPT = 1, 16, 28, 41

from lifetime import LIVE as _LIVE  # noqa: E402  (stopped at exit)


# --------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not raw or len(raw) > 63:
            raise ValueError("bad label in %r" % name)
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def txt_rdata(strings):
    out = b""
    for s in strings:
        raw = s.encode("ascii") if isinstance(s, str) else bytes(s)
        if len(raw) > 255:
            raise ValueError("TXT character-string longer than 255 bytes")
        out += bytes([len(raw)]) + raw
    return out


class Query:
    """A parsed query: id, flags, name (lower case), raw question bytes,
    qtype, the UDP payload size it offers (512 without EDNS)."""

    def __init__(self, buf):
        if len(buf) < 12:
            raise ValueError("short")
        self.id, self.flags, qd, _an, _ns, ar = struct.unpack("!HHHHHH", buf[:12])
        if self.flags & 0x8000 or qd != 1:
            raise ValueError("not a one-question query")
        labels, off = [], 12
        while True:
            n = buf[off]
            if n == 0:
                off += 1
                break
            if n & 0xC0:
                raise ValueError("compressed question")
            labels.append(buf[off + 1:off + 1 + n].decode("ascii", "replace").lower())
            off += 1 + n
        self.name = ".".join(labels)
        self.qtype, self.qclass = struct.unpack("!HH", buf[off:off + 4])
        off += 4
        self.question = buf[12:off]
        self.udp_size = 512
        if ar:
            try:
                # an OPT RR: root name, type 41, class = payload size
                if buf[off] == 0 and struct.unpack("!H", buf[off + 1:off + 3])[0] == T_OPT:
                    self.udp_size = max(512, struct.unpack("!H", buf[off + 3:off + 5])[0])
            except (IndexError, struct.error):
                pass


def response(q, rcode=0, answers=(), tc=False, qid=None, question=None, aa=True):
    """answers: [(rtype, rdata)], owner name = a pointer to the question."""
    flags = 0x8000 | (q.flags & 0x0100) | rcode
    if aa:
        flags |= 0x0400
    if tc:
        flags |= 0x0200
    head = struct.pack("!HHHHHH", q.id if qid is None else qid, flags, 1, len(answers), 0, 0)
    body = b"".join(struct.pack("!HHHIH", 0xC00C, rtype, 1, 60, len(rd)) + rd
                    for rtype, rd in answers)
    return head + (q.question if question is None else question) + body


def truncated(q, qid=None):
    return response(q, 0, (), tc=True, qid=qid)


class Reply:
    """What a behaviour returns: data (bytes) or None to stay silent; delay
    in seconds; raw = send as is (no size check / truncation)."""

    def __init__(self, data, delay=0.0, raw=False):
        self.data = data
        self.delay = delay
        self.raw = raw


SILENT = Reply(None)


def reverse_ip4(rel):
    """'10.2.0.192' -> '192.0.2.10' (None if rel is not 4 numeric labels)."""
    parts = rel.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    return ".".join(reversed(parts))


def qname_for(target, zone):
    """The DNSBL query name of an IPv4 address or a domain."""
    try:
        ipaddress.IPv4Address(target)
        return ".".join(reversed(target.split("."))) + "." + zone
    except ValueError:
        return target.lower().rstrip(".") + "." + zone


# --------------------------------------------------------------------------
# Behaviours
# --------------------------------------------------------------------------
# answer(q, rel, zone, transport) -> Reply.  rel: the query name without the
# zone (lower case), transport: "udp" or "tcp".

class Behaviour:
    def answer(self, q, rel, zone, transport):
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__


class Normal(Behaviour):
    """A working DNSBL.  table: {target: (A list, TXT strings or None)},
    target an IPv4 address (kind ip4) or a domain (kind domain).  With
    testpoints, 127.0.0.2 / TEST are listed (127.0.0.2, TXT) and
    127.0.0.1 / INVALID are not.  Everything else is NXDOMAIN, or, with
    nx_answer, an A record nx_answer (an NXDOMAIN-hijacking resolver)."""

    def __init__(self, table, kind="ip4", testpoints=True, nx_answer=None):
        self.kind = kind
        self.table = {}
        for key, (a, txt) in table.items():
            self.table[key.lower()] = (list(a), None if txt is None else list(txt))
        if testpoints:
            tp = "127.0.0.2" if kind == "ip4" else "test"
            self.table.setdefault(tp, (["127.0.0.2"], ["RFC 5782 test point"]))
            self.table.pop("127.0.0.1" if kind == "ip4" else "invalid", None)
        self.nx_answer = nx_answer

    def lookup(self, rel):
        key = reverse_ip4(rel) if self.kind == "ip4" else rel
        return self.table.get(key) if key is not None else None

    def answer(self, q, rel, zone, transport):
        entry = self.lookup(rel)
        if entry is None:
            if self.nx_answer is not None and q.qtype == T_A:
                return Reply(response(q, 0, [(T_A, socket.inet_aton(self.nx_answer))]))
            if self.nx_answer is not None:
                return Reply(response(q, 0))
            return Reply(response(q, 3))
        a, txt = entry
        if q.qtype == T_A:
            return Reply(response(q, 0, [(T_A, socket.inet_aton(x)) for x in a]))
        if q.qtype == T_TXT and txt:
            return Reply(response(q, 0, [(T_TXT, txt_rdata(txt))]))
        return Reply(response(q, 0))

    def __repr__(self):
        return "Normal(%d names%s)" % (len(self.table),
                                      ", nx->%s" % self.nx_answer if self.nx_answer else "")


class Timeout(Behaviour):
    def answer(self, q, rel, zone, transport):
        return SILENT


class Slow(Behaviour):
    def __init__(self, ms, inner):
        self.ms, self.inner = ms, inner

    def answer(self, q, rel, zone, transport):
        r = self.inner.answer(q, rel, zone, transport)
        return Reply(r.data, r.delay + self.ms / 1000.0, r.raw)

    def __repr__(self):
        return "Slow(%dms, %r)" % (self.ms, self.inner)


class Rcode(Behaviour):
    def __init__(self, rcode):
        self.rcode = rcode

    def answer(self, q, rel, zone, transport):
        return Reply(response(q, self.rcode, aa=False))

    def __repr__(self):
        return "Rcode(%d)" % self.rcode


class Truncate(Behaviour):
    def __init__(self, inner):
        self.inner = inner

    def answer(self, q, rel, zone, transport):
        if transport == "udp":
            return Reply(truncated(q))
        return self.inner.answer(q, rel, zone, transport)

    def __repr__(self):
        return "Truncate(%r)" % self.inner


class ListsAll(Behaviour):
    """A wildcard: every name is listed, test point 127.0.0.1 too."""

    def __init__(self, code="127.0.0.2", txt="listed by a wildcard"):
        self.code, self.txt = code, txt

    def answer(self, q, rel, zone, transport):
        if q.qtype == T_A:
            return Reply(response(q, 0, [(T_A, socket.inet_aton(self.code))]))
        if q.qtype == T_TXT:
            return Reply(response(q, 0, [(T_TXT, txt_rdata([self.txt]))]))
        return Reply(response(q, 0))


class ListsNothing(Behaviour):
    """A dead list: NXDOMAIN for everything, test point 127.0.0.2 too."""

    def answer(self, q, rel, zone, transport):
        return Reply(response(q, 3))


class Refusal(ListsAll):
    """Answers a refusal code (e.g. Spamhaus 127.255.255.254) to every name:
    the same answer for every name as a wildcard, with another code."""

    def __init__(self, code="127.255.255.254", txt="query refused: public resolver"):
        super().__init__(code, txt)


class Outside(Behaviour):
    """An answer outside 127.0.0.0/8 for every name (NXDOMAIN hijacking)."""

    def __init__(self, addr="198.51.100.1"):
        self.addr = addr

    def answer(self, q, rel, zone, transport):
        if q.qtype == T_A:
            return Reply(response(q, 0, [(T_A, socket.inet_aton(self.addr))], aa=False))
        return Reply(response(q, 0, aa=False))


class Malformed(Behaviour):
    """Broken answers that carry the query's id (so they are not dropped as
    foreign) and look like a listing:
      short  7 bytes: the id and junk (shorter than a header)
      qcut   header (1 question, 1 answer), question cut in the middle
      cut    header + question, the answer RR cut after its type
      rdlen  an A RR whose rdlength (200) runs past the end of the packet
      loop   an answer name that is a compression pointer to itself
      a3     an A RR with rdlength 3 (an impossible address)"""

    VARIANTS = ("short", "qcut", "cut", "rdlen", "loop", "a3")

    def __init__(self, variant="cut"):
        if variant not in self.VARIANTS:
            raise ValueError(variant)
        self.variant = variant

    def answer(self, q, rel, zone, transport):
        v = self.variant
        flags = 0x8400 | (q.flags & 0x0100)
        head = struct.pack("!HHHHHH", q.id, flags, 1, 1, 0, 0)
        if v == "short":
            data = struct.pack("!H", q.id) + b"\x81\x80\x00\x01\x00"
        elif v == "qcut":
            data = head + q.question[:max(1, len(q.question) // 2)]
        elif v == "cut":
            data = head + q.question + struct.pack("!HH", 0xC00C, T_A)
        elif v == "rdlen":
            data = head + q.question + struct.pack("!HHHIH", 0xC00C, T_A, 1, 60, 200) + \
                socket.inet_aton("127.0.0.2")
        elif v == "loop":
            ptr = 12 + len(q.question)
            data = head + q.question + struct.pack("!HHHIH", 0xC000 | ptr, q.qtype, 1, 60, 4) + \
                socket.inet_aton("127.0.0.2")
        else:  # a3
            data = head + q.question + struct.pack("!HHHIH", 0xC00C, T_A, 1, 60, 3) + b"\x7f\x00\x00"
        return Reply(data, raw=True)

    def __repr__(self):
        return "Malformed(%s)" % self.variant


class WrongId(Behaviour):
    """inner's answer (a listing by default) under another query id."""

    def __init__(self, inner=None):
        self.inner = inner or ListsAll()

    def answer(self, q, rel, zone, transport):
        r = self.inner.answer(q, rel, zone, transport)
        if r.data is None:
            return r
        bad = (q.id ^ 0x5A5A) or 1
        return Reply(struct.pack("!H", bad) + r.data[2:], r.delay, raw=True)


class WrongName(Behaviour):
    """inner's answer (a listing by default) for another question name: the
    question section names 'x' + the asked name."""

    def __init__(self, inner=None):
        self.inner = inner or ListsAll()

    def answer(self, q, rel, zone, transport):
        r = self.inner.answer(q, rel, zone, transport)
        if r.data is None:
            return r
        other = b"\x01x" + q.question
        return Reply(r.data[:12] + other + r.data[12 + len(q.question):], r.delay, raw=True)


class Drop(Behaviour):
    """Drops `fraction` of the UDP queries at random (seeded), answers the
    rest (and everything over TCP) as inner does."""

    def __init__(self, fraction, inner, seed=1):
        self.fraction, self.inner = fraction, inner
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.dropped = 0
        self.passed = 0

    def answer(self, q, rel, zone, transport):
        if transport == "udp":
            with self.lock:
                drop = self.rng.random() < self.fraction
                if drop:
                    self.dropped += 1
                else:
                    self.passed += 1
            if drop:
                return SILENT
        return self.inner.answer(q, rel, zone, transport)

    def __repr__(self):
        return "Drop(%.3f, %r)" % (self.fraction, self.inner)


class Outage(Behaviour):
    """Answers `after` queries as inner does, then nothing over UDP for
    `seconds`, then as inner again: a server that stalls for a moment."""

    def __init__(self, seconds, inner, after=0):
        self.seconds, self.inner, self.after = seconds, inner, after
        self.lock = threading.Lock()
        self.seen = 0
        self.start = None

    def answer(self, q, rel, zone, transport):
        now = time.monotonic()
        with self.lock:
            self.seen += 1
            if self.start is None and self.seen > self.after:
                self.start = now
            down = (transport == "udp" and self.start is not None
                    and now - self.start < self.seconds)
        return SILENT if down else self.inner.answer(q, rel, zone, transport)

    def __repr__(self):
        return "Outage(%.1fs, %r)" % (self.seconds, self.inner)


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------

class _Scheduler:
    """Sends delayed answers from one thread."""

    def __init__(self, stopping):
        self.heap, self.seq = [], 0
        self.cv = threading.Condition()
        self.stopping = stopping
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def later(self, delay, fn):
        with self.cv:
            self.seq += 1
            heapq.heappush(self.heap, (time.monotonic() + delay, self.seq, fn))
            self.cv.notify()

    def _run(self):
        while not self.stopping.is_set():
            with self.cv:
                if not self.heap:
                    self.cv.wait(0.1)
                    continue
                when = self.heap[0][0]
                now = time.monotonic()
                if when > now:
                    self.cv.wait(min(0.1, when - now))
                    continue
                _, _, fn = heapq.heappop(self.heap)
            try:
                fn()
            except OSError:
                pass

    def stop(self):
        with self.cv:
            self.cv.notify_all()
        self.thread.join(timeout=2)


class FaultDNS:
    """The server.  zones: {zone name: Behaviour}."""

    def __init__(self, zones):
        self.zones = {z.lower().rstrip("."): b for z, b in zones.items()}
        self.lock = threading.Lock()
        self.counts = {}      # (zone, name, qtype, transport) -> queries
        self.udp = self.tcp = None
        self.port = None
        self.stopping = threading.Event()
        self.threads = []
        self.conns = set()
        self.started = False

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        last = None
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                udp.bind(("127.0.0.1", 0))
                port = udp.getsockname()[1]
                tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                tcp.bind(("127.0.0.1", port))
                tcp.listen(64)
                break
            except OSError as e:
                last = e
                udp.close()
                tcp.close()
        else:
            raise RuntimeError("no free port for UDP+TCP on 127.0.0.1: %s" % last)
        self.udp, self.tcp, self.port = udp, tcp, port
        try:
            self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        except OSError:
            pass
        self.udp.settimeout(0.1)
        self.tcp.settimeout(0.1)
        self.sched = _Scheduler(self.stopping)
        for fn in (self._serve_udp, self._serve_tcp):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)
        self.started = True
        _LIVE.add(self)
        return self

    def stop(self):
        if not self.started:
            return
        self.started = False
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=3)
        self.sched.stop()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
        self.udp.close()
        self.tcp.close()
        _LIVE.discard(self)

    # -- configuration ------------------------------------------------------
    def set_zone(self, zone, behaviour):
        with self.lock:
            self.zones[zone.lower().rstrip(".")] = behaviour

    def reset_counts(self):
        with self.lock:
            self.counts = {}

    def count(self, zone=None, name=None, qtype=None, transport=None):
        with self.lock:
            items = list(self.counts.items())
        n = 0
        for (z, nm, qt, tr), c in items:
            if (zone is None or z == zone) and (name is None or nm == name.lower()) and \
                    (qtype is None or qt == qtype) and (transport is None or tr == transport):
                n += c
        return n

    # -- answering ----------------------------------------------------------
    def _find(self, name):
        with self.lock:
            best = None
            for z, b in self.zones.items():
                if name == z or name.endswith("." + z):
                    if best is None or len(z) > len(best[0]):
                        best = (z, b)
        return best

    def _reply(self, buf, transport):
        try:
            q = Query(buf)
        except (ValueError, IndexError, struct.error):
            return None
        found = self._find(q.name)
        if found is None:
            return Reply(response(q, 5, aa=False))
        zone, beh = found
        rel = q.name[:-len(zone)].rstrip(".")
        with self.lock:
            key = (zone, q.name, q.qtype, transport)
            self.counts[key] = self.counts.get(key, 0) + 1
        r = beh.answer(q, rel, zone, transport)
        if r.data is not None and not r.raw and transport == "udp" and len(r.data) > q.udp_size:
            r = Reply(truncated(q), r.delay)
        return r

    def _serve_udp(self):
        while not self.stopping.is_set():
            try:
                buf, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            r = self._reply(buf, "udp")
            if r is None or r.data is None:
                continue
            send = (lambda d=r.data, p=peer: self.udp.sendto(d, p))
            if r.delay > 0:
                self.sched.later(r.delay, send)
            else:
                try:
                    send()
                except OSError:
                    pass

    def _serve_tcp(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.conns.add(conn)
            t = threading.Thread(target=self._serve_conn, args=(conn,), daemon=True)
            t.start()

    def _serve_conn(self, conn):
        wlock = threading.Lock()

        def send(data):
            with wlock:
                conn.sendall(struct.pack("!H", len(data)) + data)

        conn.settimeout(0.2)
        try:
            while not self.stopping.is_set():
                head = self._recv_exact(conn, 2)
                if head is None:
                    return
                n = struct.unpack("!H", head)[0]
                buf = self._recv_exact(conn, n)
                if buf is None:
                    return
                r = self._reply(buf, "tcp")
                if r is None or r.data is None:
                    continue
                if r.delay > 0:
                    self.sched.later(r.delay, lambda d=r.data: send(d))
                else:
                    send(r.data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _recv_exact(self, conn, n):
        buf = b""
        while len(buf) < n:
            if self.stopping.is_set():
                return None
            try:
                chunk = conn.recv(n - len(buf))
            except socket.timeout:
                continue
            if not chunk:
                return None
            buf += chunk
        return buf


# --------------------------------------------------------------------------
# A small client, for checking the server itself
# --------------------------------------------------------------------------

class Raw:
    """A response as received: id, flags, rcode, tc, a, txt (list of lists
    of strings), size; parse_error when the packet did not parse."""

    def __init__(self, buf):
        self.buf = buf
        self.size = len(buf)
        self.a, self.txt, self.parse_error = [], [], None
        self.id = self.flags = self.rcode = None
        self.tc = False
        self.qname = None
        try:
            self.id, self.flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", buf[:12])
            self.rcode = self.flags & 0xF
            self.tc = bool(self.flags & 0x0200)
            off = 12
            for _ in range(qd):
                self.qname, off = _read_name(buf, off)
                off += 4
            for _ in range(an):
                _n, off = _read_name(buf, off)
                rtype, _c, _ttl, rdlen = struct.unpack("!HHIH", buf[off:off + 10])
                off += 10
                rd = buf[off:off + rdlen]
                if len(rd) != rdlen:
                    raise ValueError("rdata past the end")
                off += rdlen
                if rtype == T_A:
                    if rdlen != 4:
                        raise ValueError("A rdlength %d" % rdlen)
                    self.a.append(socket.inet_ntoa(rd))
                elif rtype == T_TXT:
                    parts, i = [], 0
                    while i < len(rd):
                        parts.append(rd[i + 1:i + 1 + rd[i]].decode("ascii", "replace"))
                        i += 1 + rd[i]
                    self.txt.append(parts)
        except (ValueError, IndexError, struct.error) as e:
            self.parse_error = str(e) or e.__class__.__name__

    def __repr__(self):
        return "Raw(id=%s rcode=%s tc=%s a=%r txt=%d size=%d%s)" % (
            self.id, self.rcode, self.tc, self.a, len(self.txt), self.size,
            " parse_error=%s" % self.parse_error if self.parse_error else "")


def _read_name(buf, off):
    labels, jumps, end = [], 0, None
    while True:
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            jumps += 1
            if jumps > 20:
                raise ValueError("compression loop")
            continue
        if n == 0:
            return ".".join(labels), (end if end is not None else off + 1)
        labels.append(buf[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n


def ask(port, name, qtype=T_A, tcp=False, timeout=1.0, qid=None):
    """One query; returns (query id, Raw) or (query id, None) on timeout."""
    qid = random.randrange(65536) if qid is None else qid
    pkt = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", qtype, 1)
    if tcp:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            s.sendall(struct.pack("!H", len(pkt)) + pkt)
            head = b""
            deadline = time.monotonic() + timeout
            while len(head) < 2 and time.monotonic() < deadline:
                try:
                    chunk = s.recv(2 - len(head))
                except socket.timeout:
                    return qid, None
                if not chunk:
                    return qid, None
                head += chunk
            if len(head) < 2:
                return qid, None
            n = struct.unpack("!H", head)[0]
            buf = b""
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    break
                buf += chunk
            return qid, Raw(buf)
        except socket.timeout:
            return qid, None
        finally:
            s.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(pkt, ("127.0.0.1", port))
        buf, _ = s.recvfrom(65535)
        return qid, Raw(buf)
    except socket.timeout:
        return qid, None
    finally:
        s.close()


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        table = {"192.0.2.10": (["127.0.0.2"], ["example listing"])}
        srv = FaultDNS({"normal.fault.test": Normal(table),
                        "timeout.fault.test": Timeout(),
                        "servfail.fault.test": Rcode(2),
                        "wild.fault.test": ListsAll(),
                        "dead.fault.test": ListsNothing()}).start()
        print("faultdns on 127.0.0.1:%d (UDP+TCP); Ctrl-C stops" % srv.port, flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            srv.stop()
    else:
        print(__doc__)
