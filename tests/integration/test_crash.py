#!/usr/bin/python3
"""Crash-safety test of blwatch: SIGKILL at many moments of `run --once`,
and a broken database file.

    /usr/bin/python3 tests/integration/test_crash.py BLWATCH_BIN [TEST...]

TEST names (default: all): kills broken.

kills   SPEC "State, history, alerts": every event is written in the same
        transaction as its state change and its outbox rows, so a crash at
        any moment loses nothing, and notices are delivered at least once.
        A /20 (4,096 addresses) on three zones at `rate = 3000` makes a cycle
        of several seconds.  Before every killed run the zone data changes
        (thousands of listings appear, clear or change codes at once, so the
        batches blwatch commits are large), then blwatch `run --once` is
        killed with SIGKILL:
          dns     at a seeded random moment of the DNS work (rate 3000);
          commit  with `rate = 0`, so that blwatch commits 2,000-write
                  batches back to back for most of the cycle: at a seeded
                  moment up to 150 ms after the -wal file first changes;
          walhit  (rate 3000) at a seeded moment, then on the next write to
                  the -wal file plus a seeded 0-0.5 ms: inside a commit;
          notice  while a webhook POST is in flight (the "slow" receiver
                  holds its answer for 2 s);
          ckpt    (rate 3000, rounds 2 and 4) on the next write to the
                  database file itself (a checkpoint) plus 0-0.5 ms.
        After every kill PRAGMA integrity_check must say ok; the next run
        --once is the restart.  Each round ends with a run --once that must
        complete, and then: the state table equals the zone data; replaying
        each pair's events (oldest first) is alternating listed/delisted with
        `changed` only while listed and to other codes, every event carries
        what the zone data said in the run that recorded it, and the replay
        ends at the state; one outbox row per event and channel.  At the end
        every event must have reached both receivers in a POST they answered
        before any kill (duplicates allowed, counted), and every outbox row
        must be delivered.  Three rounds with confirm = 0, one with
        confirm = 1s; each round kills once of each kind, in a seeded order.
        The report says how many kills landed while the -wal file was being
        written, and how many left uncommitted frames in it.
broken  run --once against a corrupt database (middle third overwritten),
        a read-only one (chattr +i as root, chmod 0444 otherwise; and a
        read-only bind mount of its folder), a locked one (another process
        holds BEGIN EXCLUSIVE for 10 s; blwatch's busy timeout is 5 s) and
        a full disk (256 KiB tmpfs, as root only): exit 1 (SPEC: "1 on any
        other failure"), an error naming the file, no crash, the file still
        there (same inode), its bytes unchanged where nothing could be
        written (corrupt, locked, read-only).

BLWATCH_TEST_SEED sets the master seed (printed); BLWATCH_TEST_KEEP=1 keeps
the temp directory.  Exit status: 0 all passed, 1 something failed,
2 harness problem.  Standard library only; run with /usr/bin/python3.
Reuses the world and helpers of test_poller.py (zones p-a, p-b, p-w).
"""

import copy
import datetime
import hashlib
import http.server
import ipaddress
import json
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rbl                 # noqa: E402
import test_poller as tp   # noqa: E402

NET = tp.BULK_NET                      # 198.18.0.0/20
TARGETS = [("ip", NET, "bulk")]
ZONE_IDS = ["p-a", "p-b", "p-w"]
ADDRS = [str(a) for a in ipaddress.IPv4Network(NET)]
CHANNELS = ["fast", "slow"]
SLOW_DELAY = 2.0
PHASE_LIST_P = 0.22        # first phase: share of pairs listed
PHASE_DROP_P = 0.45        # later phases: listed pair cleared
PHASE_CHANGE_P = 0.12      #               listed pair gets other codes
PHASE_ADD_P = 0.12         #               clear pair listed

HarnessError = tp.HarnessError


def note(msg):
    print("      " + msg, flush=True)


# --------------------------------------------------------------------------
# The world: test_poller's zones, bulk listings generated per phase
# --------------------------------------------------------------------------

def txt_for(zid, addr, code):
    # The TXT follows the code, so a reason never changes without the codes.
    return "%s: %s listed as %s" % (zid.upper(), addr, code)


def next_phase(prev, rnd):
    """A new data state: from baseline when prev is None, else prev with
    many listings cleared, changed and added."""
    s = copy.deepcopy(prev) if prev is not None else tp.baseline()
    for zid in ZONE_IDS:
        z = tp.ZBY[zid]
        codes = [lo for lo, hi, _m in z["codes"]]
        ds = s[zid][0]
        for a in ADDRS:
            if prev is None:
                if rnd.random() < PHASE_LIST_P:
                    c = rnd.choice(codes)
                    ds[a] = (c, txt_for(zid, a, c))
                continue
            if a in ds:
                r = rnd.random()
                if r < PHASE_DROP_P:
                    del ds[a]
                elif r < PHASE_DROP_P + PHASE_CHANGE_P:
                    c = rnd.choice([x for x in codes if x != ds[a][0]])
                    ds[a] = (c, txt_for(zid, a, c))
            elif rnd.random() < PHASE_ADD_P:
                c = rnd.choice(codes)
                ds[a] = (c, txt_for(zid, a, c))
        if zid == "p-a":
            # A second dataset: some addresses answer with two A records
            # (a code outside the catalog's codes: "unlisted return code").
            ds1 = s[zid][1]
            for a in list(ds1):
                if a in ADDRS and (a not in ds or rnd.random() < 0.3):
                    del ds1[a]
            for a in ADDRS:
                if a in ds and a not in ds1 and rnd.random() < 0.03:
                    ds1[a] = ("127.0.0.99", None)
    return s


def flip_phase(prev, rnd, per_zone):
    """prev with `per_zone` addresses of each zone flipped: listed ones
    cleared, clear ones listed."""
    s = copy.deepcopy(prev)
    for zid in ZONE_IDS:
        codes = [lo for lo, hi, _m in tp.ZBY[zid]["codes"]]
        for a in rnd.sample(ADDRS, per_zone):
            if any(a in ds for ds in s[zid]):
                for ds in s[zid]:
                    ds.pop(a, None)
            else:
                c = rnd.choice(codes)
                s[zid][0][a] = (c, txt_for(zid, a, c))
    return s


def pair_model(state, addr, zid):
    """model_result for single-address keys (a dict lookup instead of
    test_poller's scan, which is quadratic for thousands of keys)."""
    z = tp.ZBY[zid]
    hits = [ds[addr] for ds in state[zid] if addr in ds]
    if not hits:
        return None
    codes = sorted(set(a for a, _ in hits), key=tp.ip_int)
    return dict(result="listed", codes=codes, meanings=[tp.meaning(z, c) for c in codes],
                reason_parts=sorted(t for _, t in hits if t is not None))


def model_listed(state):
    out = {}
    for zid in ZONE_IDS:
        keys = set()
        for ds in state[zid]:
            keys.update(k for k in ds if k in ADDR_SET)
        for a in keys:
            out[(a, zid)] = pair_model(state, a, zid)
    return out


ADDR_SET = set(ADDRS)


class FastWorld(tp.World):
    """test_poller's World with checks that scale to thousands of keys: a
    reload is verified by asking rbldnsd for a sample of the changed names
    of every zone (rbldnsd swaps a whole data file at once) and the test
    points."""

    def _answer(self, state, zid, key):
        return sorted(set(a for ds in state[zid] for k, (a, _t) in ds.items() if k == key)) \
            if "/" in key or key not in ADDR_SET else \
            sorted(set(ds[key][0] for ds in state[zid] if key in ds))

    def _changed(self, state, zid):
        keys = set()
        for st in (state, self.state):
            for ds in st[zid]:
                keys.update(ds)
        return sorted(k for k in keys if "/" not in k and
                      self._answer(state, zid, k) != self._answer(self.state, zid, k))

    def _changed_name(self, state, zids):
        for zid in zids:
            ch = self._changed(state, zid)
            if ch:
                return tp.ZBY[zid], ch[0]
        return tp.ZBY[zids[0]], tp.TESTPOINTS[tp.ZBY[zids[0]]["kind"]][0]

    def _mismatch(self, state, zids):
        rnd = random.Random(len(zids))
        for zid in zids:
            z = tp.ZBY[zid]
            ch = self._changed(state, zid)
            sample = sorted(set(rnd.sample(ch, min(len(ch), 60)) +
                                list(tp.TESTPOINTS[z["kind"]]) + ch[:3] + ch[-3:]))
            for key in sample:
                want = self._answer(state, zid, key)
                ans = rbl.dns_query(self.srv.port, tp.qname(z, key), timeout=0.5, tries=3)
                if sorted(set(ans.a)) != want or ans.rcode not in (0, 3):
                    return tp.qname(z, key), want, ans
                if want and key in ADDR_SET:
                    want_txt = sorted(ds[key][1] for ds in state[zid]
                                      if key in ds and ds[key][1] is not None)
                    txt = rbl.dns_query(self.srv.port, tp.qname(z, key), "TXT", timeout=0.5, tries=3)
                    if sorted(txt.txt) != want_txt:
                        return tp.qname(z, key) + " TXT", want_txt, txt
        return None


# --------------------------------------------------------------------------
# A webhook receiver that can hold its answer (kill while a POST is in flight)
# --------------------------------------------------------------------------

class Req:
    def __init__(self, path, headers, body):
        self.path = path
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.t_recv = time.monotonic()
        self.t_answered = None     # when the whole answer was written
        self.error = None


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        owner = self.server.owner
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        req = Req(self.path, list(self.headers.items()), body)
        owner.add(req)
        delay = owner.delay.get(self.path, 0.0)
        end = time.monotonic() + delay
        while time.monotonic() < end and not owner.stopping:
            time.sleep(0.01)
        reply = b'{"ok":true}'
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply)
            self.wfile.flush()
            req.t_answered = time.monotonic()
        except OSError as e:
            req.error = str(e)
        self.close_connection = True

    do_PUT = do_POST


class _Srv(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class SlowReceiver:
    """HTTP on 127.0.0.1: records every request; `delay[path]` seconds
    before it answers 200."""

    def __init__(self):
        self.delay = {}
        self.reqs = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.stopping = False
        self.srv = _Srv(("127.0.0.1", 0), _Handler)
        self.srv.owner = self
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def add(self, req):
        with self.cond:
            self.reqs.append(req)
            self.cond.notify_all()

    def requests(self):
        with self.lock:
            return list(self.reqs)

    def wait_new(self, path, after, timeout):
        """The first request to path received after monotonic time `after`."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for r in self.reqs:
                    if r.path == path and r.t_recv >= after:
                        return r
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.05))

    def stop(self):
        self.stopping = True
        self.srv.shutdown()
        self.srv.server_close()


# --------------------------------------------------------------------------
# Watching the database files; reading the WAL
# --------------------------------------------------------------------------

def _stat(path):
    try:
        st = os.stat(path)
        return (st.st_size, st.st_mtime_ns, st.st_ino)
    except OSError:
        return None


class FileWatch:
    """Polls the -wal and the database file every ~0.3 ms in a thread and
    remembers when each last changed (size, mtime or inode)."""

    def __init__(self, db):
        self.paths = {"wal": db + "-wal", "db": db}
        self.last = {k: _stat(p) for k, p in self.paths.items()}
        self.changed_at = {k: None for k in self.paths}
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_ev.is_set():
            for k, p in self.paths.items():
                s = _stat(p)
                if s != self.last[k]:
                    self.last[k] = s
                    self.changed_at[k] = time.monotonic()
            time.sleep(0.0003)

    def stop(self):
        self.stop_ev.set()
        self.thread.join(timeout=2)


def _cksum(buf, s0, s1, big):
    words = struct.unpack((">" if big else "<") + "%dI" % (len(buf) // 4), buf)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def wal_info(path):
    """Valid frames of the current WAL generation (salts and checksum chain
    as SQLite checks them) and how many follow the last commit frame: frames
    of a transaction whose commit was never written."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    info = dict(size=len(data), frames=0, committed=0, uncommitted=0, tail=0)
    if len(data) < 32:
        return info
    magic, _ver, psz, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:32])
    if magic not in (0x377f0682, 0x377f0683) or psz < 512:
        info["bad_header"] = True
        return info
    big = magic & 1
    s0, s1 = _cksum(data[:24], 0, 0, big)
    if (s0, s1) != (c1, c2):
        info["bad_header"] = True
        return info
    off, n, last_commit = 32, 0, 0
    while off + 24 + psz <= len(data):
        pg, commit, fs1, fs2, fc1, fc2 = struct.unpack(">6I", data[off:off + 24])
        if (fs1, fs2) != (salt1, salt2):
            break
        s0, s1 = _cksum(data[off:off + 8], s0, s1, big)
        s0, s1 = _cksum(data[off + 24:off + 24 + psz], s0, s1, big)
        if (s0, s1) != (fc1, fc2):
            break
        n += 1
        if commit:
            last_commit = n
        off += 24 + psz
    info.update(frames=n, committed=last_commit, uncommitted=n - last_commit,
                end=off)
    return info


def integrity(db):
    con = tp.db_connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# Part 1: kills
# --------------------------------------------------------------------------

def write_conf(path, port, catalog, db, hook, confirm, rate=3000, targets=TARGETS, alerts=True):
    text = "[poller]\ninterval = 1h\ndatabase = %s\nconfirm = %s\nrate = %s\n\n[targets]\n" \
        % (db, confirm, rate)
    text += "\n".join(tp.target_lines(targets)) + "\n"
    if alerts:
        for ch in CHANNELS:
            text += '\n[alert "%s"]\ntype = webhook\nurl = %s\nretry = 1s\n' % (ch, hook.url("/" + ch))
    rbl.write_config(path + ".tmp", port, catalog, use=" ".join(ZONE_IDS), timeout="1s", tries=2,
                     extra=text)
    os.replace(path + ".tmp", path)
    return path


def rfc3339_epoch(s):
    try:
        return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())
    except (AttributeError, ValueError):
        return None


def check_db(db, exp, fails, where, cycle_phase=None, phases=None, channels=CHANNELS):
    """A database after a run: integrity; the state table equals `exp`
    (model_listed; None: only check that the events agree with the state);
    replaying each pair's events oldest first is one record per transition,
    each event as the zone data of its run said (when cycle_phase maps
    cycles to data phases) and the replay ends at the state; one outbox row
    per event and channel."""
    try:
        ic = integrity(db)
    except sqlite3.Error as e:
        fails.append("%s: database does not open: %s" % (where, e))
        return
    if ic != [("ok",)]:
        fails.append("%s: integrity_check %s" % (where, ic[:5]))
    if exp is not None:
        tp.check_state(db, exp, fails, where)
    else:
        exp = {k: r for k, r in tp.db_state(db).items() if r["result"] == "listed"}
    evs = tp.db_events(db)
    seq = {}
    for e in evs:
        if e["type"] in tp.ZONE_EVENTS or e["target_key"] is None:
            fails.append("%s: unexpected event %s (the zones stay healthy)" % (where, tp.fmt_ev(e)))
            continue
        seq.setdefault((e["target_key"], e["list"]), []).append(e)
    bad_seq = bad_data = 0
    for k, es in sorted(seq.items()):
        cur = None
        for e in es:
            t = e["type"]
            ok = ((t == "listed" and cur is None) or
                  (t == "changed" and cur is not None and e["codes"] != cur) or
                  (t == "delisted" and cur is not None))
            if not ok:
                bad_seq += 1
                if bad_seq <= 15:
                    fails.append("%s: %s@%s events %s: not one record per transition (a "
                                 "duplicate or a lost event)"
                                 % (where, k[0], k[1],
                                    [(x["id"], x["type"], x["codes"], x["cycle"]) for x in es]))
                break
            if cycle_phase is not None:
                ph = cycle_phase.get(e["cycle"])
                why = None
                if ph is None:
                    why = "its cycle %r is not a cycle of any run" % e["cycle"]
                else:
                    m = pair_model(phases[ph], k[0], k[1])
                    if t == "delisted" and m is not None:
                        why = "the zone data of that run lists it with %s" % m["codes"]
                    elif t != "delisted" and m is None:
                        why = "the zone data of that run does not list it"
                    elif t != "delisted" and (e["codes"] != m["codes"] or e["meanings"] != m["meanings"]
                                              or not tp.reason_ok(e["reason"], m["reason_parts"])):
                        why = "the zone data of that run says %s %s %r" % (
                            m["codes"], m["meanings"], m["reason_parts"])
                if why:
                    bad_data += 1
                    if bad_data <= 15:
                        fails.append("%s: event %d %s (reason %r, cycle %r, data phase %r): %s"
                                     % (where, e["id"], tp.fmt_ev(e), e["reason"], e["cycle"], ph, why))
            cur = None if t == "delisted" else e["codes"]
        else:
            want = exp[k]["codes"] if k in exp else None
            if cur != want:
                bad_seq += 1
                if bad_seq <= 15:
                    fails.append("%s: %s@%s events end with codes %s, the state says %s"
                                 % (where, k[0], k[1], cur, want))
    missing = sorted(set(exp) - set(seq))
    for k in missing[:15]:
        fails.append("%s: %s@%s is listed but has no listed event" % (where, k[0], k[1]))
    if bad_seq > 15 or bad_data > 15 or len(missing) > 15:
        fails.append("%s: %d pairs with a broken event sequence, %d events that disagree with the "
                     "zone data, %d listings without events (first 15 of each shown)"
                     % (where, bad_seq, bad_data, len(missing)))
    # Outbox: one row per event and channel.
    ob = tp.db_rows(db, "SELECT event, channel, count(*) AS n FROM outbox GROUP BY event, channel")
    have = {(r["event"], r["channel"]): r["n"] for r in ob}
    bad = [(e["id"], ch, have.get((e["id"], ch), 0)) for e in evs for ch in channels
           if have.get((e["id"], ch), 0) != 1]
    if bad:
        fails.append("%s: %d (event, channel) with other than one outbox row, e.g. %s"
                     % (where, len(bad), bad[:10]))
    orphans = set(ev for ev, _ch in have) - set(e["id"] for e in evs)
    if orphans:
        fails.append("%s: outbox rows for events that do not exist: %s" % (where, sorted(orphans)[:20]))
    if set(ch for _e, ch in have) - set(channels):
        fails.append("%s: outbox rows for unknown channels %s"
                     % (where, set(ch for _e, ch in have) - set(channels)))
    pend = sum(r["n"] for r in tp.db_rows(db, "SELECT count(*) AS n FROM outbox WHERE delivered IS NULL"))
    note("%s: %d listed pairs, %d events, %d outbox rows (%d pending)"
         % (where, len(exp), len(evs), sum(have.values()), pend))


class KillRun:
    """One killed run: what it was, when, where the WAL stood."""

    def __init__(self, n, kind, phase, confirm):
        self.n, self.kind, self.phase, self.confirm = n, kind, phase, confirm
        self.t_start = self.t_kill = None
        self.at = None
        self.alive = None
        self.wal_before = self.wal_after = None
        self.db_before = self.db_after = None
        self.wal_recent_ms = self.db_recent_ms = None
        self.wal = None
        self.inflight = None
        self.cycle_ended = None

    @property
    def wal_near(self):
        """The -wal file was written within 5 ms before the kill."""
        return self.wal_recent_ms is not None and self.wal_recent_ms <= 5.0

    @property
    def wal_growing(self):
        """The -wal file was still being written when the kill came: it
        changed between the last look before the kill and the process's
        death, or it holds frames of a transaction without its commit
        frame."""
        return self.wal_before != self.wal_after or bool((self.wal or {}).get("uncommitted"))

    def describe(self):
        w = self.wal or {}
        bits = ["kill %2d %-6s confirm=%-2s phase %d at %5.2fs" % (self.n, self.kind, self.confirm,
                                                                 self.phase, self.at or 0)]
        if not self.alive:
            bits.append("(had already exited)")
        bits.append("wal %s" % ("BEING WRITTEN AT THE KILL" if self.wal_growing else
                                "written just before" if self.wal_near else "quiet"))
        if self.wal_recent_ms is not None:
            bits.append("last wal write %s" % ("%.1fms before the kill" % self.wal_recent_ms
                                               if self.wal_recent_ms > 0 else "at the kill"))
        if self.db_before != self.db_after:
            bits.append("DB FILE BEING WRITTEN AT THE KILL (checkpoint)")
        elif self.db_recent_ms is not None and self.db_recent_ms < 50:
            bits.append("db file written %.1fms before the kill (checkpoint)" % max(0, self.db_recent_ms))
        if w.get("frames") == 0 and self.wal_near and not w.get("bad_header"):
            bits.append("(the -wal had just been restarted: no frame of the new transaction yet)")
        if w.get("bad_header"):
            bits.append("wal header not (yet) valid")
        bits.append("wal frames %d, uncommitted %d" % (w.get("frames", 0), w.get("uncommitted", 0)))
        if self.inflight is not None:
            bits.append("POST in flight: %s" % ("yes" if self.inflight else "NO"))
        if self.cycle_ended is not None:
            bits.append("cycle %s" % ("ended" if self.cycle_ended else "open"))
        return ", ".join(bits)


class Part1:
    def __init__(self, ctx):
        self.ctx = ctx
        self.tmp = ctx.tmp
        self.world = ctx.world
        self.db = os.path.join(self.tmp, "crash.db")
        self.hook = SlowReceiver()
        self.phases = []          # data states, by index
        self.cycle_phase = {}     # cycle id -> phase index
        self.kills = []
        self.runs = 0
        self.last_cycle = 0
        self.fails = []

    # -- runs ------------------------------------------------------------
    def conf(self, confirm, rate=3000):
        return write_conf(os.path.join(self.tmp, "crash-%s-%s.conf" % (confirm, rate)),
                          self.world.srv.port, self.ctx.catalog, self.db, self.hook, confirm, rate)

    def new_phase(self, rnd):
        st = next_phase(self.phases[-1] if self.phases else None, rnd)
        self.world.apply(st, timeout=20)
        self.phases.append(st)
        return len(self.phases) - 1

    def map_cycles(self):
        try:
            rows = tp.db_rows(self.db, "SELECT id, ended FROM cycles WHERE id > ? ORDER BY id",
                              (self.last_cycle,))
        except sqlite3.Error as e:
            self.fails.append("cannot read cycles after run %d: %s" % (self.runs, e))
            return []
        for r in rows:
            self.cycle_phase[r["id"]] = len(self.phases) - 1
            self.last_cycle = max(self.last_cycle, r["id"])
        return rows

    def wait_wal(self, bg, timeout):
        """Until the -wal file changes (or blwatch exits, or timeout)."""
        wal = self.db + "-wal"
        base = _stat(wal)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and bg.proc.poll() is None and _stat(wal) == base:
            time.sleep(0.0002)

    def kill_on_wal_write(self, bg, k, extra, timeout=4.0, path=None):
        """SIGKILL `extra` seconds after the -wal file (or `path`) next
        changes."""
        wal = path or self.db + "-wal"
        base = _stat(wal)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and bg.proc.poll() is None:
            s = _stat(wal)
            if s != base:
                t = time.monotonic() + extra
                while time.monotonic() < t:
                    pass
                k.wal_before = _stat(self.db + "-wal")
                k.db_before = _stat(self.db)
                k.alive = True
                k.t_kill = time.monotonic()
                os.kill(bg.proc.pid, signal.SIGKILL)
                return

    def killed_run(self, kind, conf, confirm, rnd):
        self.runs += 1
        k = KillRun(len(self.kills) + 1, kind, len(self.phases) - 1, confirm)
        self.kills.append(k)
        self.hook.delay = {"/slow": SLOW_DELAY}
        watch = FileWatch(self.db)
        bg = tp.Bg(conf, ["run", "--once"], os.path.join(self.tmp, "kill-%02d.log" % k.n))
        k.t_start = bg.started
        try:
            if kind == "dns":
                time.sleep(rnd.uniform(0.3, 3.2))
            elif kind == "commit":
                # rate = 0: 2,000-write batches back to back.  Once the -wal
                # file first changes, a seeded moment within 120 ms, then
                # the next write to the -wal file.
                self.wait_wal(bg, 10.0)
                time.sleep(rnd.uniform(0.0, 0.12))
                self.kill_on_wal_write(bg, k, rnd.uniform(0.0, 0.0002))
            elif kind == "walhit":
                # rate = 3000: a seeded moment, then the next write to the
                # -wal file (a commit starting) plus a seeded 0-0.2 ms.
                time.sleep(rnd.uniform(0.3, 3.2))
                self.kill_on_wal_write(bg, k, rnd.uniform(0.0, 0.0002))
            elif kind == "ckpt":
                # The next write to the database file itself: a checkpoint
                # (when the -wal file passes 1,000 pages, or when blwatch
                # closes the database), plus a seeded 0-0.5 ms.
                time.sleep(rnd.uniform(0.2, 1.0))
                self.kill_on_wal_write(bg, k, rnd.uniform(0.0, 0.0005), timeout=30, path=self.db)
            elif kind == "notice":
                req = self.hook.wait_new("/slow", bg.started, timeout=25)
                if req is None:
                    self.fails.append("kill %d (notice): no POST to the slow receiver within 25 s "
                                      "of starting run --once (the cycle has events to notify)"
                                      % k.n)
                time.sleep(rnd.uniform(0.05, SLOW_DELAY - 0.2))
            if k.t_kill is None:
                k.wal_before = _stat(self.db + "-wal")
                k.db_before = _stat(self.db)
                k.alive = bg.proc.poll() is None
                k.t_kill = time.monotonic()
                bg.proc.send_signal(signal.SIGKILL)
            bg.wait(10)
        finally:
            bg.close()
            watch.stop()
        k.at = k.t_kill - k.t_start
        k.wal_after = _stat(self.db + "-wal")
        k.db_after = _stat(self.db)
        if watch.changed_at["wal"] is not None:
            k.wal_recent_ms = (k.t_kill - watch.changed_at["wal"]) * 1000
        if watch.changed_at["db"] is not None:
            k.db_recent_ms = (k.t_kill - watch.changed_at["db"]) * 1000
        k.wal = wal_info(self.db + "-wal")
        if kind == "notice":
            inflight = [r for r in self.hook.requests()
                        if r.t_recv <= k.t_kill and (r.t_answered is None or r.t_answered >= k.t_kill)
                        and r.t_recv >= k.t_start]
            k.inflight = bool(inflight)
            if not inflight:
                self.fails.append("kill %d (notice): no POST was in flight at the kill (harness "
                                  "timing)" % k.n)
        if not k.alive:
            self.fails.append("kill %d (%s) at %.2fs: run --once had already exited (rc %r); the "
                              "test expects a longer cycle" % (k.n, kind, k.at, bg.proc.returncode))
        # The database must open and be intact after the kill.
        if os.path.exists(self.db):
            try:
                ic = integrity(self.db)
                if ic != [("ok",)]:
                    self.fails.append("after kill %d (%s at %.2fs): PRAGMA integrity_check = %s"
                                      % (k.n, kind, k.at, ic[:5]))
            except sqlite3.Error as e:
                self.fails.append("after kill %d (%s at %.2fs): database does not open: %s"
                                  % (k.n, kind, k.at, e))
            rows = self.map_cycles()
            if rows:
                k.cycle_ended = rows[-1]["ended"] is not None
        elif k.at > 1.0:
            self.fails.append("after kill %d at %.2fs: no database file %s" % (k.n, k.at, self.db))
        note(k.describe())
        return k

    def completed_run(self, conf, where, slow_delay=0.0):
        self.runs += 1
        self.hook.delay = {"/slow": slow_delay}
        t0 = time.monotonic()
        p = tp.run_once(conf, self.fails, where, timeout=240)
        rows = self.map_cycles()
        if not rows or rows[-1]["ended"] is None:
            self.fails.append("%s: its cycle did not end: %r" % (where, rows))
        return p, time.monotonic() - t0

    # -- checks ----------------------------------------------------------
    def check_round(self, where):
        check_db(self.db, model_listed(self.phases[-1]), self.fails, where,
                 self.cycle_phase, self.phases, CHANNELS)

    def check_deliveries(self, where):
        """Every event reached every channel in a POST answered before any
        kill; every outbox row delivered; none marked delivered without such
        a POST."""
        fails = self.fails
        evs = tp.db_events(self.db)
        by_key = {}
        for e in evs:
            by_key.setdefault((e["type"], e["target_key"], e["list"], json.dumps(e["codes"]), e["at"]),
                              []).append(e["id"])
        kill_times = [k.t_kill for k in self.kills]
        acked = {ch: {} for ch in CHANNELS}
        seen = {ch: {} for ch in CHANNELS}
        unknown = []
        reqs = self.hook.requests()
        interrupted = 0
        for r in reqs:
            ch = r.path.lstrip("/")
            if ch not in CHANNELS:
                fails.append("%s: POST to unexpected path %s" % (where, r.path))
                continue
            cut = any(r.t_recv <= t and (r.t_answered is None or r.t_answered >= t) for t in kill_times)
            interrupted += cut
            try:
                doc = json.loads(r.body.decode("utf-8"))
                items = doc["events"]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
                fails.append("%s: a POST to %s is not the webhook JSON (%s): %r" % (where, r.path, e, r.body[:200]))
                continue
            for x in items:
                key = (x.get("type"), x.get("target"), x.get("list"), json.dumps(x.get("codes")),
                       rfc3339_epoch(x.get("at")))
                ids = by_key.get(key)
                if not ids:
                    unknown.append(key)
                    continue
                for i in ids:
                    seen[ch][i] = seen[ch].get(i, 0) + 1
                    if not cut and r.t_answered is not None:
                        acked[ch][i] = acked[ch].get(i, 0) + 1
        if unknown:
            fails.append("%s: %d delivered events match no event in the database, e.g. %s"
                         % (where, len(unknown), unknown[:5]))
        for ch in CHANNELS:
            never = [e for e in evs if e["id"] not in seen[ch]]
            unacked = [e for e in evs if e["id"] in seen[ch] and e["id"] not in acked[ch]]
            if never:
                fails.append("%s: %d events never reached channel %s, e.g. %s"
                             % (where, len(never), ch, [(e["id"], tp.fmt_ev(e)) for e in never[:5]]))
            if unacked:
                fails.append("%s: %d events reached channel %s only in POSTs cut off by a kill (never "
                             "redelivered), e.g. %s" % (where, len(unacked), ch,
                                                        [(e["id"], tp.fmt_ev(e)) for e in unacked[:5]]))
            dups = sum(1 for n in seen[ch].values() if n > 1)
            note("channel %s: %d POSTs, %d of %d events received, %d more than once (allowed, "
                 "at-least-once), max %d times" % (ch, sum(1 for r in reqs if r.path == "/" + ch),
                                                   len(seen[ch]), len(evs), dups,
                                                   max(seen[ch].values() or [0])))
        rows = tp.db_rows(self.db, "SELECT id, event, channel, delivered, dead, attempts, last_error "
                                   "FROM outbox")
        pending = [r for r in rows if r["delivered"] is None]
        if pending:
            fails.append("%s: %d outbox rows not delivered, e.g. %s" % (where, len(pending), pending[:3]))
        lied = [r for r in rows if r["delivered"] is not None and r["event"] not in acked[r["channel"]]]
        if lied:
            fails.append("%s: %d outbox rows marked delivered although no answered POST carried their "
                         "event, e.g. %s" % (where, len(lied), lied[:3]))
        note("%d POSTs in all, %d of them cut off by a kill" % (len(reqs), interrupted))

    def drain(self, conf):
        """run --once (no data change) until nothing is pending: SPEC lets
        run --once leave notices in the outbox after 10 s."""
        for i in range(4):
            pend = tp.db_rows(self.db, "SELECT count(*) AS n, max(due_ms) / 1000.0 AS due FROM outbox "
                                       "WHERE delivered IS NULL AND dead = 0")[0]
            if not pend["n"]:
                return i
            wait = (pend["due"] or 0) - time.time() + 0.05
            if 0 < wait < 30:
                time.sleep(wait)
            self.completed_run(conf, "drain run --once %d (%d rows pending)" % (i + 1, pend["n"]))
        return 4


ROUNDS = [  # (confirm, kinds); each round shuffles its kinds with its seed
    ("0", ["dns", "commit", "walhit", "notice"]),
    ("0", ["dns", "commit", "walhit", "notice", "ckpt"]),
    ("0", ["dns", "commit", "walhit", "notice"]),
    ("1s", ["dns", "commit", "walhit", "notice", "ckpt"]),
]
RATE = {"dns": 3000, "commit": 0, "walhit": 3000, "notice": 3000, "ckpt": 3000}


def test_kills(ctx):
    """1. SIGKILL during DNS work, commits and notice delivery, data
    changing between kills: nothing lost, nothing twice, notices at least
    once"""
    p1 = Part1(ctx)
    try:
        note("master seed %d; %s x %d zones, rate 3000; %d rounds, %d kills"
             % (ctx.seed, NET, len(ZONE_IDS), len(ROUNDS), sum(len(k) for _c, k in ROUNDS)))
        for rno, (confirm, kinds) in enumerate(ROUNDS):
            rnd = random.Random(ctx.seed * 1000 + rno)
            conf = p1.conf(confirm)
            kinds = list(kinds)
            rnd.shuffle(kinds)
            note("round %d (seed %d, confirm = %s)" % (rno + 1, ctx.seed * 1000 + rno, confirm))
            for kind in kinds:
                p1.new_phase(rnd)
                p1.killed_run(kind, p1.conf(confirm, RATE[kind]), confirm, rnd)
            _p, dt = p1.completed_run(conf, "round %d: run --once after the kills" % (rno + 1))
            p1.check_round("round %d (after a completed run --once, %.1fs)" % (rno + 1, dt))
        n = p1.drain(p1.conf("0"))
        if n:
            note("%d extra run --once needed to drain the outbox" % n)
        p1.check_round("final")
        p1.check_deliveries("final")
        grow = [k for k in p1.kills if k.wal_growing]
        near = [k for k in p1.kills if k.wal_near]
        unc = [k for k in p1.kills if (k.wal or {}).get("uncommitted")]
        ck = [k for k in p1.kills if k.db_before != k.db_after]
        note("kills: %d; the -wal file written within 5 ms before the kill: %d (%s); still being "
             "written at the kill: %d (%s), of them leaving uncommitted frames: %d (%s); the "
             "database file being written (checkpoint): %d (%s); a POST in flight: %d; the cycle "
             "still open: %d"
             % (len(p1.kills), len(near), ",".join(str(k.n) for k in near), len(grow),
                ",".join(str(k.n) for k in grow), len(unc), ",".join(str(k.n) for k in unc),
                len(ck), ",".join(str(k.n) for k in ck), sum(1 for k in p1.kills if k.inflight),
                sum(1 for k in p1.kills if k.cycle_ended is False)))
        commit_kills = [k for k in p1.kills if k.kind in ("commit", "walhit")]
        if commit_kills and not any(k.wal_growing for k in commit_kills):
            note("WARNING: no commit kill landed while the -wal file was being written")
    finally:
        p1.hook.stop()
    ctx.report("1. %d SIGKILLs (dns/commit/walhit/notice/ckpt, seed %d) across %d data phases, confirm 0 and 1s: "
               "DB intact, state = zone data, each transition once, outbox row per event and "
               "channel, every notice delivered at least once"
               % (len(p1.kills), ctx.seed, len(p1.phases)), p1.fails)


# --------------------------------------------------------------------------
# Part 2: a broken database
# --------------------------------------------------------------------------

def run_broken(conf, db, what, fails, timeout=90):
    p = tp.blwatch(conf, ["run", "--once"], timeout=timeout)
    err = p.stderr.strip()
    short = err[-600:]
    if p.returncode < 0:
        fails.append("%s: `%s` died of signal %d (a crash); stderr: %s" % (what, p.cmd, -p.returncode, short))
    elif p.returncode == 0:
        fails.append("%s: `%s` exited 0, expected 1 (SPEC: run --once exits 1 on any other failure); "
                     "stderr: %s" % (what, p.cmd, short))
    elif p.returncode != 1:
        fails.append("%s: `%s` exited %d, expected 1 (SPEC: run --once exits 0 when the cycle "
                     "completed, 78 on a config error, 1 on any other failure); stderr: %s"
                     % (what, p.cmd, p.returncode, short))
    if db not in err:
        fails.append("%s: `%s`: the error does not name the database file %s; stderr: %s"
                     % (what, p.cmd, db, short or "(empty)"))
    if "core dumped" in err or "Segmentation" in err:
        fails.append("%s: `%s` crashed: %s" % (what, p.cmd, short))
    note("%s: exit %d after %.1fs; stderr: %s" % (what, p.returncode, p.duration,
                                                 (err.splitlines() or ["(empty)"])[-1][:300]))
    return p


def check_kept(db, ino, digest, what, fails, same_bytes=True):
    if not os.path.exists(db):
        fails.append("%s: the database file %s was deleted" % (what, db))
        return
    if os.stat(db).st_ino != ino:
        fails.append("%s: the database file %s was replaced (new inode): recreated" % (what, db))
    if same_bytes and sha256(db) != digest:
        fails.append("%s: the bytes of %s changed" % (what, db))


def make_base(ctx, name, targets):
    """A real blwatch database, cleanly closed (no -wal left)."""
    d = os.path.join(ctx.tmp, "base-" + name)
    os.makedirs(d, exist_ok=True)
    db = os.path.join(d, "blwatch.db")
    conf = write_conf(os.path.join(d, "base.conf"), ctx.world.srv.port, ctx.catalog, db, None, "0",
                      rate=0, targets=targets, alerts=False)
    fails = []
    tp.run_once(conf, fails, "making the %s database" % name, timeout=120)
    if fails:
        raise HarnessError("; ".join(fails))
    if os.path.exists(db + "-wal") and os.path.getsize(db + "-wal"):
        raise HarnessError("blwatch left a non-empty %s-wal after a completed run" % db)
    return db


def fresh_copy(base, d):
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    db = os.path.join(d, "blwatch.db")
    shutil.copyfile(base, db)
    return db


def case_conf(ctx, d, db):
    return write_conf(os.path.join(ctx.tmp, os.path.basename(d) + ".conf"), ctx.world.srv.port,
                      ctx.catalog, db, None, "0", rate=0, alerts=False)


def test_broken(ctx):
    """2. run --once on a corrupt, read-only, locked database and on a full
    disk: exit 1, the file named, no crash, nothing deleted or recreated"""
    fails = []
    skipped = []
    base = make_base(ctx, "big", TARGETS)
    small = make_base(ctx, "small", [("ip", "198.18.0.0/28", "small")])
    note("base databases: %d bytes (the /20), %d bytes (a /28)" % (os.path.getsize(base), os.path.getsize(small)))

    # -- corrupt: the middle third overwritten with garbage --------------
    d = os.path.join(ctx.tmp, "corrupt")
    db = fresh_copy(base, d)
    size = os.path.getsize(db)
    rnd = random.Random(ctx.seed)
    with open(db, "r+b") as f:
        f.seek(size // 3)
        f.write(bytes(rnd.getrandbits(8) for _ in range(size // 3)))
    ino, digest = os.stat(db).st_ino, sha256(db)
    run_broken(case_conf(ctx, d, db), db, "corrupt database (bytes %d-%d of %d are garbage)"
               % (size // 3, 2 * (size // 3), size), fails)
    check_kept(db, ino, digest, "corrupt database", fails)
    w = wal_info(db + "-wal")
    if w and w["frames"]:
        fails.append("corrupt database: blwatch left %d frames (%d committed) in %s-wal: it wrote into "
                     "a database it should refuse" % (w["frames"], w["committed"], db))

    # -- read-only file: chmod 0444 (not root) or chattr +i (root) -------
    d = os.path.join(ctx.tmp, "readonly")
    db = fresh_copy(base, d)
    ino, digest = os.stat(db).st_ino, sha256(db)
    how = None
    if os.geteuid() != 0:
        os.chmod(db, 0o444)
        how = "chmod 0444"
    elif shutil.which("chattr"):
        r = subprocess.run(["chattr", "+i", db], capture_output=True, text=True)
        if r.returncode == 0:
            how = "chattr +i"
        else:
            skipped.append("read-only file: `chattr +i %s` failed (%s); running as root, chmod "
                           "does not stop writes" % (db, r.stderr.strip()))
    else:
        skipped.append("read-only file: running as root (chmod does not stop writes) and no chattr")
    if how:
        try:
            run_broken(case_conf(ctx, d, db), db, "read-only database file (%s)" % how, fails)
        finally:
            if how == "chattr +i":
                subprocess.run(["chattr", "-i", db])
        check_kept(db, ino, digest, "read-only database file", fails)

    # -- read-only folder: a read-only bind mount ------------------------
    d = os.path.join(ctx.tmp, "robind")
    db = fresh_copy(base, d)
    ino, digest = os.stat(db).st_ino, sha256(db)
    mounted = False
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "--bind", d, d], capture_output=True, text=True)
        if r.returncode == 0:
            mounted = True
            r = subprocess.run(["mount", "-o", "remount,ro,bind", d], capture_output=True, text=True)
            if r.returncode != 0:
                skipped.append("read-only bind mount: remount ro failed: %s" % r.stderr.strip())
                subprocess.run(["umount", d])
                mounted = False
        else:
            skipped.append("read-only bind mount: `mount --bind` not permitted: %s" % r.stderr.strip())
    else:
        skipped.append("read-only bind mount: needs root")
    if mounted:
        try:
            run_broken(case_conf(ctx, d, db), db, "database in a read-only bind mount", fails)
            check_kept(db, ino, digest, "database in a read-only bind mount", fails)
        finally:
            subprocess.run(["umount", d])

    # -- locked: another process holds BEGIN EXCLUSIVE for 10 s ----------
    d = os.path.join(ctx.tmp, "locked")
    db = fresh_copy(base, d)
    ino, digest = os.stat(db).st_ino, sha256(db)
    locker = subprocess.Popen(
        ["/usr/bin/python3", "-c",
         "import sqlite3, sys, time\n"
         "con = sqlite3.connect(sys.argv[1], timeout=1, isolation_level=None)\n"
         "con.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\n"
         "time.sleep(10)\n"
         "con.execute('ROLLBACK')\n"
         "con.close()\n", db],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = locker.stdout.readline().strip()
        if line != "locked":
            raise HarnessError("the locking process did not get its lock: %r %r"
                               % (line, locker.stderr.read()))
        t_lock = time.monotonic()
        p = run_broken(case_conf(ctx, d, db), db, "locked database (BEGIN EXCLUSIVE held 10 s)", fails)
        held = time.monotonic() - t_lock
        if held >= 10.0:
            fails.append("locked database: `%s` took %.1fs, past the 10 s lock (busy timeout 5 s)"
                         % (p.cmd, held))
        elif p.duration < 4.0:
            fails.append("locked database: `%s` gave up after %.1fs, before its 5 s busy timeout"
                         % (p.cmd, p.duration))
    finally:
        try:
            locker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            locker.kill()
            locker.wait()
    check_kept(db, ino, digest, "locked database", fails)

    # -- full disk: 256 KiB tmpfs ----------------------------------------
    d = os.path.join(ctx.tmp, "full")
    os.makedirs(d)
    mounted = False
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", d],
                           capture_output=True, text=True)
        mounted = r.returncode == 0
        if not mounted:
            skipped.append("full disk: `mount -t tmpfs -o size=256k tmpfs %s` not permitted: %s"
                           % (d, r.stderr.strip()))
    else:
        skipped.append("full disk: mounting a small tmpfs needs root")
    if mounted:
        try:
            db = fresh_copy(small, d)
            ino = os.stat(db).st_ino
            n_before = tp.db_rows(db, "SELECT count(*) AS n FROM events")[0]["n"]
            st = os.statvfs(d)
            note("full disk: %s on a 256 KiB tmpfs, %d bytes, %d KiB free; the /20 needs more"
                 % (db, os.path.getsize(db), st.f_bavail * st.f_frsize // 1024))
            run_broken(case_conf(ctx, d, db), db, "full disk (256 KiB tmpfs)", fails)
            check_kept(db, ino, None, "full disk", fails, same_bytes=False)
            try:
                ic = integrity(db)
                if ic != [("ok",)]:
                    fails.append("full disk: integrity_check afterwards: %s" % ic[:5])
                n_after = tp.db_rows(db, "SELECT count(*) AS n FROM events")[0]["n"]
                if n_after < n_before:
                    fails.append("full disk: %d events before, %d after: history lost" % (n_before, n_after))
            except sqlite3.Error as e:
                fails.append("full disk: the database does not open afterwards: %s" % e)
        finally:
            r = subprocess.run(["umount", d], capture_output=True, text=True)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", d])

    # -- full disk in the middle of a cycle: the /20 database with a little
    # room, thousands of new events; then room again: nothing lost -------
    if mounted:
        full_mid_cycle(ctx, base, fails, skipped)
    for s in skipped:
        note("SKIPPED " + s)
    ctx.report("2. broken database (corrupt, read-only%s, locked%s): exit 1, error names the file, "
               "no crash, file kept" % ("" if not any("read-only" in s for s in skipped) else " [partly skipped]",
                                        ", full disk (256 KiB, and mid-cycle)"
                                        if not any("full disk" in s for s in skipped)
                                        else " [full disk skipped]"), fails)


def full_mid_cycle(ctx, base, fails, skipped):
    """Two variants: rate = 0 with 1,200 changes (the whole cycle is one
    batch, committed when the cycle ends: blwatch commits after 2,000
    writes or a second) and rate = 3000 with 3,600 changes (a commit every
    second while the cycle runs)."""
    for n, (rate, flips, how) in enumerate((
            (0, 400, "rate 0, 1,200 changes: one batch, committed at the cycle's end"),
            (3000, 1200, "rate 3000, 3,600 changes: a commit every second"))):
        d = os.path.join(ctx.tmp, "full-mid-%d" % n)
        os.makedirs(d)
        room = 192 * 1024
        size_k = (os.path.getsize(base) + 64 * 1024 + room) // 1024
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dk,mode=0755" % size_k, "tmpfs", d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            skipped.append("full disk mid-cycle: mount failed: %s" % r.stderr.strip())
            return
        what = "full disk mid-cycle (%s; %d KiB tmpfs, %d KiB free for the new events)" \
            % (how, size_k, room // 1024)
        try:
            db = fresh_copy(base, d)
            ino = os.stat(db).st_ino
            new = flip_phase(ctx.world.state, random.Random(ctx.seed + 7 + n), flips)
            ctx.world.apply(new, timeout=20)
            exp = model_listed(new)
            before = {(e["type"], e["target_key"], e["list"], e["at"]) for e in tp.db_events(db)}
            conf = write_conf(os.path.join(ctx.tmp, "full-mid-%d.conf" % n), ctx.world.srv.port,
                              ctx.catalog, db, None, "0", rate=rate, alerts=False)
            run_broken(conf, db, what, fails)
            check_kept(db, ino, None, what, fails, same_bytes=False)
            if not os.path.exists(db):
                continue
            after = {(e["type"], e["target_key"], e["list"], e["at"]) for e in tp.db_events(db)}
            if before - after:
                fails.append("%s: %d events of the history are gone" % (what, len(before - after)))
            # Whatever was kept is whole: the events replay to the state.
            check_db(db, None, fails, what + ", after the failed run", channels=[])
            r = subprocess.run(["mount", "-o", "remount,size=64m", d], capture_output=True, text=True)
            if r.returncode != 0:
                skipped.append("full disk mid-cycle: remount with room failed: %s" % r.stderr.strip())
                continue
            tp.run_once(conf, fails, what + ": run --once once the disk has room again")
            check_db(db, exp, fails, what + ", then run --once with room", channels=[])
        finally:
            r = subprocess.run(["umount", d], capture_output=True, text=True)
            if r.returncode != 0:
                subprocess.run(["umount", "-l", d])


# --------------------------------------------------------------------------

TESTS = [("kills", test_kills), ("broken", test_broken)]


Ctx = tp.Ctx   # the same work folder, world, catalog, seed and report


from results import finish as results_finish, parse_args as results_parse_args  # noqa: E402


def main():
    parsed = results_parse_args(sys.argv[1:], __doc__, TESTS)
    if isinstance(parsed, int):
        return parsed
    tp.BLWATCH, wanted = parsed
    sys.setswitchinterval(0.0005)
    seed = int(os.environ.get("BLWATCH_TEST_SEED", "4242"))
    tmp = rbl.make_workdir("blwatch-crash-")
    world = None
    t_start = time.monotonic()
    harness_problem = False
    ctx = None
    try:
        world = FastWorld(tmp)
        world.start()
        catalog = os.path.join(tmp, "catalog.conf")
        with open(catalog, "w") as f:
            f.write(tp.catalog_text())
        note("rbldnsd on 127.0.0.1:%d, data in %s, seed %d" % (world.srv.port, tmp, seed))
        ctx = Ctx(tmp, world, catalog, seed)
        for name, fn in TESTS:
            if name not in wanted:
                continue
            t0 = time.monotonic()
            try:
                fn(ctx)
            except HarnessError as e:
                harness_problem = True
                ctx.report("%s (harness)" % (fn.__doc__ or name).strip().split("\n")[0],
                           ["harness problem: %s" % e])
            except Exception:
                ctx.report("%s" % (fn.__doc__ or name).strip().split("\n")[0],
                           ["exception:\n" + traceback.format_exc()])
            finally:
                tp._kill_children()
            note("(%s: %.1fs)" % (name, time.monotonic() - t0))
    except HarnessError as e:
        print("harness problem: %s" % e)
        return 2
    finally:
        tp._kill_children()
        if world is not None:
            world.srv.stop()
        if os.environ.get("BLWATCH_TEST_KEEP"):
            note("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    return results_finish(ctx.results, t_start, harness_problem, tp.SANITIZER_REPORTS)


if __name__ == "__main__":
    sys.exit(main())
