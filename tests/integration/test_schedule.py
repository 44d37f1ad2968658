#!/usr/bin/python3
"""Integration test of `host` targets and of the poller's schedule:
pacing, `rate` and a zone's `max_daily`.

    /usr/bin/python3 tests/integration/test_schedule.py BLWATCH_BIN [TEST...]

TEST names (default: all): hostcheck hostrun hostfail rate maxdaily pacing.

One DNS server on 127.0.0.1 (identitydns.py, Debian's python3-dnslib)
answers A and AAAA for the host names and serves two blocklist zones from
the same table (blwatch sends every query to its first server, so one
server must do both).  It logs when each name was asked, which is what the
schedule tests measure:

  hostcheck  `check host:NAME` resolves A and AAAA and checks each address;
             results exactly as the zone data says; a name answering
             SERVFAIL makes the answer incomplete (exit 2)
  hostrun    `run --once` with `[targets] host =` checks each address; after
             the name's A record moves, the next cycle checks the new
             address and retires the old one, whose history stays
  hostfail   a host lookup that fails (SERVFAIL, timeout) retires nothing,
             and the addresses are still checked
  rate       `check` and `run --once` with `rate` take at least
             (queries - burst) / rate seconds, results still exact
  maxdaily   a zone whose max_daily the targets would exceed: over six
             `run --once` cycles no cycle queries it more than
             max_daily / cycles-a-day times, every target is still checked
             there, the other zone every cycle; the log says so once a run
  pacing     `run --once` with interval = 1h checks every target at once;
             `run` with interval = 1m spreads the targets over the interval
             (the 4th of 12 at least half its due 15 s after the first:
             unpaced they come within milliseconds) and logs the stretched
             zone once

Only lower bounds on time are asserted (a slow machine passes); the upper
limits are the harness's deadlines.  Exit status: 0 all passed, 1 something
failed, 2 harness problem.  Run with /usr/bin/python3.
"""

import ipaddress
import json
import os
import re
import shutil
import signal
import sys
import time
import traceback

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rbl               # noqa: E402
import test_poller as tp  # noqa: E402  (running blwatch, sanitizer reports)
from dbread import db_rows, db_state, db_events  # noqa: E402
from results import finish as results_finish, parse_args as results_parse_args  # noqa: E402

try:
    from identitydns import IdentityDNS   # noqa: E402
except ImportError as e:  # pragma: no cover
    print("SKIP/HARNESS: python3-dnslib is missing (%s)" % e)
    sys.exit(2)


# --------------------------------------------------------------------------
# The world: two zones and a host name, served from one table
# --------------------------------------------------------------------------

ZONES = {
    "sched-a": dict(zone="a.sched.test", kinds=("ip4", "ip6"),
                    codes={"127.0.0.2": "A: spam source", "127.0.0.3": "A: policy listing"}),
    "sched-cap": dict(zone="c.sched.test", kinds=("ip4",),
                      codes={"127.0.0.2": "C: listed"}, max_daily=150),
}
CAP = ZONES["sched-cap"]["max_daily"]

CATALOG = """# test_schedule.py
[sched-a]
name       = Schedule A
zone       = a.sched.test
kind       = ip4, ip6
code       = 127.0.0.2 A: spam source
code       = 127.0.0.3 A: policy listing
delist     = https://a.sched.test/delist
testpoints = yes

[sched-cap]
name       = Schedule capped
zone       = c.sched.test
kind       = ip4
code       = 127.0.0.2 C: listed
testpoints = yes
max_daily  = %d
""" % CAP

HOST = "mx.example.test"
FAILHOST = "fail.example.test"
HOST_V4 = ["192.0.2.10", "192.0.2.11"]
HOST_V6 = ["2001:db8::25"]
MOVED_V4 = ["192.0.2.12", "192.0.2.11"]   # 192.0.2.10 -> 192.0.2.12

# zone id -> {address: (code, TXT)}; everything else is NXDOMAIN.
LISTINGS = {
    "sched-a": {"192.0.2.10": ("127.0.0.2", "A: 192.0.2.10 sends spam"),
                "192.0.2.12": ("127.0.0.2", "A: 192.0.2.12 sends spam"),
                "2001:db8::25": ("127.0.0.3", "A: policy for 2001:db8::25"),
                "192.0.2.70": ("127.0.0.2", "A: 192.0.2.70 sends spam"),
                "192.0.2.99": ("127.0.0.3", "A: policy for 192.0.2.99")},
    "sched-cap": {"192.0.2.11": ("127.0.0.2", "C: 192.0.2.11 listed"),
                  "192.0.2.80": ("127.0.0.2", "C: 192.0.2.80 listed")},
}


def qname(addr, zid):
    zone = ZONES[zid]["zone"]
    if ":" in addr:
        return rbl.ip6_qname(addr, zone)
    return rbl.ip4_qname(addr, zone)


def applies(zid, addr):
    return ("ip6" if ":" in addr else "ip4") in ZONES[zid]["kinds"]


def records(host_v4=HOST_V4, host=None):
    """The server's table: test points, listings, the host names."""
    rec = {}
    for zid in ZONES:
        rec[qname("127.0.0.2", zid)] = [("A", "127.0.0.2"), ("TXT", "test point")]
        for addr, (code, txt) in LISTINGS[zid].items():
            rec[qname(addr, zid)] = [("A", code), ("TXT", txt)]
    rec[HOST] = host if host is not None else (
        [("A", a) for a in host_v4] + [("AAAA", a) for a in HOST_V6])
    rec[FAILHOST] = "SERVFAIL"
    return rec


def model(addr, zid):
    """(result, codes, meanings, reason) the zone data gives for a pair."""
    hit = LISTINGS[zid].get(addr)
    if hit is None:
        return ("clear", [], [], None)
    return ("listed", [hit[0]], [ZONES[zid]["codes"][hit[0]]], hit[1])


def model_listed(addrs, zids):
    """{(addr, zone id): model} of the listed pairs."""
    out = {}
    for a in addrs:
        for z in zids:
            if applies(z, a) and model(a, z)[0] == "listed":
                out[(a, z)] = model(a, z)
    return out


class ScheduleDNS(IdentityDNS):
    """identitydns.py, plus a log of (monotonic time, name) per query."""

    def __init__(self, recs):
        self.log = []
        super().__init__(recs)

    def _lookup(self, name):
        with self._lock:
            self.log.append((time.monotonic(), name))
        return super()._lookup(name)

    def mark(self):
        with self._lock:
            return len(self.log)

    def since(self, mark, suffix=""):
        with self._lock:
            return [(t, n) for t, n in self.log[mark:] if n.endswith(suffix)]


# --------------------------------------------------------------------------
# Configs and reading results
# --------------------------------------------------------------------------

def write_conf(ctx, name, targets, zones, db=None, interval="1h", rate=None,
               timeout="1s"):
    """A config at TMP/NAME.conf: targets [(kind, value, label)], zone ids,
    confirm = 0 and identity checks off (only the blocklist queries)."""
    poller = ["[poller]", "interval = %s" % interval, "confirm = 0"]
    if db:
        poller.append("database = %s" % db)
    if rate is not None:
        poller.append("rate = %d" % rate)
    lines = ["%s = %s%s" % (k, v, " " + l if l else "") for k, v, l in targets]
    extra = ("\n".join(poller) + "\n\n[targets]\n" + "\n".join(lines) +
             "\n\n[identity]\nenabled = no\n")
    path = os.path.join(ctx.tmp, name + ".conf")
    return rbl.write_config(path, ctx.srv.port, ctx.catalog, use=" ".join(zones),
                            timeout=timeout, tries=2, extra=extra)


def check_json(proc, fails, where):
    try:
        return json.loads(proc.stdout)
    except ValueError:
        fails.append("%s: `%s` stdout is not JSON (exit %d): %r; stderr %r"
                     % (where, proc.cmd, proc.returncode, proc.stdout[:300],
                        proc.stderr[-500:]))
        return None


def compare_check(doc, want_targets, zids, fails, where, label=None):
    """check --json against the model: every target, every zone that
    applies, result/codes/meanings/reason exactly."""
    got = {t["target"]: t for t in doc.get("targets", [])}
    if sorted(got) != sorted(want_targets):
        fails.append("%s: targets %s, expected %s" % (where, sorted(got), sorted(want_targets)))
    for addr in sorted(set(got) & set(want_targets)):
        t = got[addr]
        if label is not None and t.get("label") != label:
            fails.append("%s: %s label %r, expected %r" % (where, addr, t.get("label"), label))
        res = {r["list"]: r for r in t.get("results", [])}
        for z in zids:
            if not applies(z, addr):
                if z in res:
                    fails.append("%s: %s has a %s result, but that zone lists no %s"
                                 % (where, addr, z, "IPv6" if ":" in addr else "IPv4"))
                continue
            result, codes, meanings, reason = model(addr, z)
            r = res.get(z)
            if r is None:
                fails.append("%s: %s has no %s result, expected %s" % (where, addr, z, result))
                continue
            g = (r.get("result"), r.get("codes"), r.get("meanings"), r.get("reason"))
            want = (result, codes, meanings, reason)
            if g != want:
                fails.append("%s: %s@%s %r, expected %r" % (where, addr, z, g, want))


def compare_state(db, want_listed, fails, where):
    """The state table holds exactly the model's listed pairs, no unknown."""
    st = db_state(db)
    got = {k: (r["result"], r["codes"], r["meanings"], r["reason"]) for k, r in st.items()}
    if got != want_listed:
        fails.append("%s: state rows %s, expected %s" % (where, sorted(got.items()),
                                                         sorted(want_listed.items())))


def host_targets(db):
    """{key: row} of the targets that came from a host name."""
    return {r["key"]: r for r in db_rows(db, "SELECT * FROM targets WHERE source LIKE 'host:%'")}


def queried(srv, mark, names):
    """The names (of `names`) the server was asked since mark."""
    asked = set(n for _, n in srv.since(mark))
    return set(n for n in names if n in asked)


def title(fn):
    """A test's docstring on one line, for its PASS/FAIL line."""
    return " ".join(fn.__doc__.split())


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

def test_hostcheck(ctx):
    """2a. check host:NAME: A and AAAA resolved, each address checked, exact
    results; a name answering SERVFAIL: exit 2 with the reason"""
    fails = []
    zids = list(ZONES)
    conf = write_conf(ctx, "hostcheck", [], zids)
    p = tp.blwatch(conf, ["check", "--json", "host:" + HOST])
    if p.returncode != 1:
        fails.append("`%s` exit %d, expected 1 (listed); stderr %r" % (p.cmd, p.returncode, p.stderr[-500:]))
    doc = check_json(p, fails, "check host:")
    if doc is not None:
        compare_check(doc, HOST_V4 + HOST_V6, zids, fails, "check host:%s" % HOST, label=HOST)
        listed = len(model_listed(HOST_V4 + HOST_V6, zids))
        if doc.get("summary", {}).get("listed") != listed:
            fails.append("summary %r, expected listed = %d" % (doc.get("summary"), listed))
    p = tp.blwatch(conf, ["check", "--json", "host:" + FAILHOST])
    if p.returncode != 2:
        fails.append("`%s` (the name answers SERVFAIL) exit %d, expected 2 (incomplete)"
                     % (p.cmd, p.returncode))
    if FAILHOST not in p.stderr or "SERVFAIL" not in p.stderr:
        fails.append("`%s`: stderr %r does not say %s failed with SERVFAIL"
                     % (p.cmd, p.stderr[-300:], FAILHOST))
    ctx.report(title(test_hostcheck), fails)


def test_hostrun(ctx):
    """2b. run --once with host =: each address checked; after the A record
    moves, the new address is checked and the old retired, history kept"""
    fails = []
    zids = list(ZONES)
    db = os.path.join(ctx.tmp, "hostrun.db")
    conf = write_conf(ctx, "hostrun", [("host", HOST, "mx-label")], zids, db=db)
    ctx.srv.set_records(records())
    tp.run_once(conf, fails, "first run --once")
    first = HOST_V4 + HOST_V6
    rows = host_targets(db)
    active = sorted(k for k, r in rows.items() if r["retired"] is None)
    if active != sorted(first):
        fails.append("after the first cycle the host's targets are %s, expected %s" % (active, sorted(first)))
    for k, r in rows.items():
        if r["label"] != "mx-label" or r["source"] != "host:" + HOST:
            fails.append("target %s: label %r, source %r; expected 'mx-label', 'host:%s'"
                         % (k, r["label"], r["source"], HOST))
    compare_state(db, model_listed(first, zids), fails, "first cycle")
    ev = sorted((e["type"], e["target_key"], e["list"]) for e in db_events(db))
    want = sorted(("listed", a, z) for a, z in model_listed(first, zids))
    if ev != want:
        fails.append("first cycle: events %s, expected %s" % (ev, want))

    # The A record moves from 192.0.2.10 to 192.0.2.12.
    ctx.srv.set_records(records(host_v4=MOVED_V4))
    ans = rbl.dns_query(ctx.srv.port, HOST)
    if sorted(ans.a) != sorted(MOVED_V4):
        raise tp.HarnessError("the server still answers %r for %s" % (ans, HOST))
    n_events = len(db_events(db))
    mark = ctx.srv.mark()
    tp.run_once(conf, fails, "run --once after the A record moved")
    moved = MOVED_V4 + HOST_V6
    rows = host_targets(db)
    active = sorted(k for k, r in rows.items() if r["retired"] is None)
    if active != sorted(moved):
        fails.append("after the move the host's active targets are %s, expected %s"
                     % (active, sorted(moved)))
    old = rows.get("192.0.2.10")
    if old is None:
        fails.append("the row of 192.0.2.10 is gone; a retired target keeps its row and history")
    elif old["retired"] is None:
        fails.append("192.0.2.10 (no longer an address of %s) is not retired" % HOST)
    asked = queried(ctx.srv, mark, [qname(a, z) for a in moved + ["192.0.2.10"]
                                    for z in zids if applies(z, a)])
    for z in zids:
        if qname("192.0.2.12", z) not in asked:
            fails.append("the new address 192.0.2.12 was not looked up in %s" % z)
        if qname("192.0.2.10", z) in asked:
            fails.append("the retired address 192.0.2.10 was still looked up in %s" % z)
    want_state = model_listed(moved, zids)
    st = {k: (r["result"], r["codes"], r["meanings"], r["reason"])
          for k, r in db_state(db).items() if k[0] != "192.0.2.10"}
    if st != want_state:
        fails.append("after the move: state rows %s, expected %s"
                     % (sorted(st.items()), sorted(want_state.items())))
    new_ev = sorted((e["type"], e["target_key"], e["list"]) for e in db_events(db)[n_events:])
    want = sorted(("listed", a, z) for a, z in model_listed(["192.0.2.12"], zids))
    if new_ev != want:
        fails.append("second cycle: events %s, expected %s (the new address listed; retiring "
                     "the old one is no delisting)" % (new_ev, want))
    p = tp.blwatch(conf, ["history", "192.0.2.10", "--json"])
    doc = check_json(p, fails, "history 192.0.2.10")
    if doc is not None:
        kinds = [(e.get("type"), e.get("list")) for e in doc.get("events", [])]
        if ("listed", "sched-a") not in kinds:
            fails.append("history of the retired 192.0.2.10 lost its listed event: %s" % kinds)
    p = tp.blwatch(conf, ["status", "--json"])
    doc = check_json(p, fails, "status")
    if doc is not None:
        shown = sorted(t["target"] for t in doc.get("targets", []))
        want = sorted(set(a for a, _ in model_listed(moved, zids)))
        if shown != want:
            fails.append("status --json shows %s, expected the listed active addresses %s"
                         % (shown, want))
    ctx.hostrun = (conf, db)
    ctx.report(title(test_hostrun), fails)


def test_hostfail(ctx):
    """2c. a host lookup that fails (SERVFAIL, timeout) retires none of the
    host's addresses, and they are still checked"""
    fails = []
    if not getattr(ctx, "hostrun", None):
        db = os.path.join(ctx.tmp, "hostfail.db")
        conf = write_conf(ctx, "hostfail", [("host", HOST, "mx-label")], list(ZONES), db=db)
        ctx.srv.set_records(records(host_v4=MOVED_V4))
        tp.run_once(conf, fails, "run --once to fill the database")
    else:
        conf, db = ctx.hostrun
    before = sorted(k for k, r in host_targets(db).items() if r["retired"] is None)
    if sorted(before) != sorted(MOVED_V4 + HOST_V6):
        raise tp.HarnessError("the host's targets before the failure are %s" % before)
    for how in ("SERVFAIL", "TIMEOUT"):
        ctx.srv.set_records(records(host=how))
        mark = ctx.srv.mark()
        p = tp.run_once(conf, fails, "run --once while %s answers %s" % (HOST, how))
        after = sorted(k for k, r in host_targets(db).items() if r["retired"] is None)
        if after != before:
            fails.append("%s for %s: active targets %s, expected %s unchanged (a failed "
                         "lookup is no removal)" % (how, HOST, after, before))
        if not re.search(r"host %s: .*lookup failed" % re.escape(HOST), p.stderr):
            fails.append("%s for %s: the log does not say the lookup failed: %r"
                         % (how, HOST, p.stderr[-600:]))
        names = [qname(a, "sched-a") for a in before]
        missing = sorted(set(names) - queried(ctx.srv, mark, names))
        if missing:
            fails.append("%s for %s: the host's addresses were not checked: %s" % (how, HOST, missing))
    ctx.srv.set_records(records())
    ctx.report(title(test_hostfail), fails)


RATE_NET = "192.0.2.64/26"   # 64 addresses; 192.0.2.70 and .99 listed in sched-a


def test_rate(ctx):
    """3b. rate = 40: check and run --once take at least (queries - burst) /
    rate seconds, and every result is right"""
    fails = []
    rate, burst = 40, 4   # the engine's bucket holds a tenth of a second
    addrs = [str(a) for a in ipaddress.IPv4Network(RATE_NET)]
    db = os.path.join(ctx.tmp, "rate.db")
    conf = write_conf(ctx, "rate", [("ip", RATE_NET, None)], ["sched-a"], db=db, rate=rate)
    mark = ctx.srv.mark()
    p = tp.blwatch(conf, ["check", "--json", RATE_NET])
    n = len(ctx.srv.since(mark, ".sched.test"))
    if p.returncode != 1:
        fails.append("`%s` exit %d, expected 1" % (p.cmd, p.returncode))
    doc = check_json(p, fails, "check with rate")
    if doc is not None:
        compare_check(doc, addrs, ["sched-a"], fails, "check with rate = %d" % rate)
    low = (n - burst) / rate
    if n < len(addrs) or p.duration < low:
        fails.append("check: %d queries in %.2fs with rate = %d; expected at least %.2fs"
                     % (n, p.duration, rate, low))
    mark = ctx.srv.mark()
    p = tp.run_once(conf, fails, "run --once with rate")
    n = len(ctx.srv.since(mark, ".sched.test"))
    compare_state(db, model_listed(addrs, ["sched-a"]), fails, "run --once with rate")
    low = (n - burst) / rate
    if n < len(addrs) or p.duration < low:
        fails.append("run --once: %d queries in %.2fs with rate = %d; expected at least %.2fs"
                     % (n, p.duration, rate, low))
    ctx.notes.append("rate %d: check and run --once, %d queries each, %.1f s lower bound"
                     % (rate, n, low))
    ctx.report(title(test_rate), fails)


CAP_TARGETS = [("ip", "192.0.2.32/29", None), ("ip", "192.0.2.40", None),
               ("ip", "192.0.2.41", None)]   # 10 addresses, none listed in sched-cap
CAP_RE = r"zone sched-cap: .*every (\d+) cycles"


def cap_addrs():
    return [str(a) for a in ipaddress.IPv4Network("192.0.2.32/29")] + ["192.0.2.40", "192.0.2.41"]


def test_maxdaily(ctx):
    """3c. max_daily: over six run --once cycles (interval 1h) the capped
    zone never gets more than max_daily/24 queries a cycle, every target
    is still checked there, the other zone every cycle; logged once a run"""
    fails = []
    addrs = cap_addrs()
    per_cycle = CAP // 24
    db = os.path.join(ctx.tmp, "maxdaily.db")
    conf = write_conf(ctx, "maxdaily", CAP_TARGETS, ["sched-a", "sched-cap"], db=db)
    counts = {a: 0 for a in addrs}
    for i in range(6):
        mark = ctx.srv.mark()
        p = tp.run_once(conf, fails, "run --once #%d" % (i + 1))
        cap_q = [n for _, n in ctx.srv.since(mark, ".c.sched.test")]
        a_q = set(n for _, n in ctx.srv.since(mark, ".a.sched.test"))
        if len(cap_q) > per_cycle:
            fails.append("cycle %d: %d queries to the capped zone; %d cycles a day make %d, "
                         "over its max_daily of %d (at most %d a cycle fit)"
                         % (i + 1, len(cap_q), 24, 24 * len(cap_q), CAP, per_cycle))
        for a in addrs:
            counts[a] += cap_q.count(qname(a, "sched-cap"))
            if qname(a, "sched-a") not in a_q:
                fails.append("cycle %d: %s not checked in the uncapped zone" % (i + 1, a))
        said = re.findall(CAP_RE, p.stderr)
        if len(said) != 1 or int(said[0]) < 2:
            fails.append("cycle %d: the log should say once that sched-cap is stretched; "
                         "found %s in %r" % (i + 1, said, p.stderr[-600:]))
    never = sorted(a for a, c in counts.items() if c == 0)
    if never:
        fails.append("in six cycles %s were never checked in the capped zone (it is stretched, "
                     "not skipped)" % never)
    rows = db_rows(db, "SELECT id, queries FROM cycles ORDER BY id")
    if len(rows) != 6:
        fails.append("%d cycles rows, expected 6" % len(rows))
    ctx.notes.append("max_daily %d: capped-zone checks per target over six cycles: %s"
                     % (CAP, sorted(set(counts.values()))))
    ctx.report(title(test_maxdaily), fails)


PACE_TARGETS = [("ip", "198.51.100.0/29", None), ("ip", "198.51.100.8/30", None)]  # 12


def test_pacing(ctx):
    """3a. pacing: run --once (interval 1h) checks every target at once; run
    (interval 1m) spreads them over the interval (the 4th target comes
    seconds after the first, not in the same burst) and logs the stretched
    zone once"""
    fails = []
    addrs = [str(a) for a in ipaddress.IPv4Network("198.51.100.0/29")] + \
            [str(a) for a in ipaddress.IPv4Network("198.51.100.8/30")]
    names = {qname(a, "sched-a"): a for a in addrs}
    interval = 60.0
    step = interval / len(names)   # target i is due at start + i * step
    watch = 4                      # targets watched before stopping
    db = os.path.join(ctx.tmp, "pacing.db")
    zids = ["sched-a", "sched-cap"]
    once = write_conf(ctx, "pacing-once", PACE_TARGETS, zids, db=db, interval="1h")
    conf = write_conf(ctx, "pacing", PACE_TARGETS, zids, db=db, interval="1m")
    # run --once is not paced: an interval of an hour, and it ends (within
    # the harness's two minutes) having checked every target.
    mark = ctx.srv.mark()
    tp.run_once(once, fails, "run --once, interval 1h", timeout=120)
    missing = sorted(set(names) - queried(ctx.srv, mark, names))
    if missing:
        fails.append("run --once did not check %s" % missing)

    # run: no new targets now, so the first cycle is paced from its start.
    # Waiting for the first few targets shows the pacing (unpaced, they
    # all come within milliseconds) without waiting for the whole minute.
    mark = ctx.srv.mark()
    bg = tp.Bg(conf, ["run"], os.path.join(ctx.tmp, "pacing.log"))
    first = {}
    try:
        deadline = time.monotonic() + 2 * interval
        while time.monotonic() < deadline and len(first) < watch:
            time.sleep(0.2)
            if not bg.alive():
                raise tp.HarnessError("`%s` exited (%r): %s" % (bg.cmd, bg.proc.returncode, bg.log()[-1500:]))
            for t, n in ctx.srv.since(mark, ".a.sched.test"):
                if n in names:      # not a test point
                    first.setdefault(n, t)
        bg.send(signal.SIGTERM)
        if bg.wait(15) != 0:
            fails.append("SIGTERM: no clean exit within 15 s")
    finally:
        bg.close()
    times = sorted(first.values())
    if len(times) < watch:
        fails.append("within %.0f s the paced cycle checked %d targets, expected at least %d"
                     % (2 * interval, len(times), watch))
    else:
        # A lower bound only: a slow machine spreads them more, never less.
        spread, want = times[watch - 1] - times[0], 0.5 * (watch - 1) * step
        ctx.notes.append("pacing: target %d came %.1f s after the first (due %.1f s)"
                         % (watch, spread, (watch - 1) * step))
        if spread < want:
            fails.append("the first %d targets came within %.1f s; with %d targets over %.0f s "
                         "the %dth is due %.0f s after the first (not one burst)"
                         % (watch, spread, len(names), interval, watch, (watch - 1) * step))
    said = re.findall(CAP_RE, bg.log())
    if len(said) != 1:
        fails.append("run: the stretched zone was logged %d times, expected once: %r"
                     % (len(said), said))
    ctx.report(title(test_pacing), fails)


TESTS = [("hostcheck", test_hostcheck), ("hostrun", test_hostrun), ("hostfail", test_hostfail),
         ("rate", test_rate), ("maxdaily", test_maxdaily), ("pacing", test_pacing)]


class Ctx:
    def __init__(self, tmp, srv, catalog):
        self.tmp, self.srv, self.catalog = tmp, srv, catalog
        self.results = []
        self.notes = []
        self.hostrun = None

    def report(self, name, failures):
        self.results.append((name, failures))
        print("%s  %s" % ("PASS" if not failures else "FAIL", name), flush=True)
        for f in failures[:40]:
            print("      - " + f.replace("\n", "\n        "))
        sys.stdout.flush()


def selfcheck(srv):
    """The server answers what the model says (else: harness problem)."""
    for zid in ZONES:
        ans = rbl.dns_query(srv.port, qname("127.0.0.2", zid))
        if ans.a != ["127.0.0.2"]:
            raise tp.HarnessError("test point of %s: %r" % (zid, ans))
        ans = rbl.dns_query(srv.port, qname("192.0.2.1", zid))
        if ans.rcode_name != "NXDOMAIN":
            raise tp.HarnessError("unlisted name in %s: %r" % (zid, ans))
    ans = rbl.dns_query(srv.port, HOST)
    if sorted(ans.a) != sorted(HOST_V4):
        raise tp.HarnessError("%s: %r" % (HOST, ans))


def main():
    parsed = results_parse_args(sys.argv[1:], __doc__, TESTS)
    if isinstance(parsed, int):
        return parsed
    tp.BLWATCH, wanted = parsed
    tmp = rbl.make_workdir("blwatch-schedule-")
    t_start = time.monotonic()
    harness_problem = False
    srv = None
    ctx = None
    try:
        srv = ScheduleDNS(records()).start()
        selfcheck(srv)
        catalog = os.path.join(tmp, "catalog.conf")
        with open(catalog, "w") as f:
            f.write(CATALOG)
        print("      DNS server on 127.0.0.1:%d, files in %s" % (srv.port, tmp), flush=True)
        ctx = Ctx(tmp, srv, catalog)
        for name, fn in TESTS:
            if name not in wanted:
                continue
            t0 = time.monotonic()
            try:
                fn(ctx)
            except tp.HarnessError as e:
                harness_problem = True
                ctx.report("%s (harness)" % title(fn), ["harness problem: %s" % e])
            except Exception:
                ctx.report(title(fn), ["exception:\n" + traceback.format_exc()])
            finally:
                tp._kill_children()
                srv.set_records(records())
            print("      (%s: %.1fs)" % (name, time.monotonic() - t0), flush=True)
    except (tp.HarnessError, TimeoutError, RuntimeError) as e:
        print("harness problem: %s" % e)
        return 2
    finally:
        tp._kill_children()
        if srv is not None:
            srv.stop()
        if os.environ.get("BLWATCH_TEST_KEEP"):
            print("      kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return results_finish(ctx.results, t_start, harness_problem, tp.SANITIZER_REPORTS,
                          ctx.notes)


if __name__ == "__main__":
    sys.exit(main())
