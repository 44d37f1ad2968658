#!/usr/bin/python3
"""Fault injection: blwatch against a misbehaving DNS server (faultdns.py).

    /usr/bin/python3 tests/integration/test_faults.py BLWATCH_BIN [TEST...]

TEST names (default: all): check tries run flip load.
BLWATCH_TEST_SEED sets the seed of the load test's UDP drops (printed).

One zone per behaviour (timeout, slow, SERVFAIL, REFUSED, truncation,
wildcard, dead, refusal code, answers outside 127/8, NXDOMAIN hijack,
several A records, a long TXT, malformed packets, wrong query id, wrong
question name); every expectation follows SPEC "What a lookup means" and is
computed from the zone description below, never from blwatch's output:

  check    `check --json`, all zones at once and each zone alone (exit codes)
  tries    error results come after `tries` queries per name
  run      `run --once` twice: state, events (sqlite3 read-only),
           `status --json`, `zones --json`
  flip     one zone lists X, then times out, SERVFAILs, goes dead, lists
           everything...: X stays listed, no delisted/changed event, no
           false listing; a real delisting at the end is seen
  load     10,000 targets, a zone dropping 5% of UDP queries, tries = 3:
           every listing found with its codes or honestly `error`

The server is checked directly first (so a failure is blwatch's, not the
harness's).  Every blwatch run has a time limit; stderr is scanned for
sanitizer reports.  Exit status: 0 all passed, 1 something failed, 2
harness problem.  Standard library only; run with /usr/bin/python3.
"""

import ipaddress
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import faultdns as F   # noqa: E402
from faultdns import (Normal, Timeout, Slow, Rcode, Truncate, ListsAll,  # noqa: E402
                      ListsNothing, Refusal, Outside, Malformed, WrongId, WrongName, Drop,
                      Outage)

UNKNOWN = ("refused", "bogus", "error", "untrusted")
PAIR_EVENTS = ("listed", "delisted", "changed")
ZONE_EVENTS = ("zone_unhealthy", "zone_healthy")
SAN_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                    r"SUMMARY: (Address|Leak|Undefined)", re.M)
UNLISTED = "unlisted return code"
REASON_MAX = 1023          # blwatch keeps at most this many bytes of reason
TIMEOUT, TRIES = "1s", 2   # resolver settings of the behaviour tests
FLIP_TIMEOUT = "0.4s"      # the flip tests' (their late answers come after 1 s)

BLWATCH = None
SANITIZER_REPORTS = []
RUNS = [0]

# --------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------

CODES = [("127.0.0.2", "127.0.0.2", "spam source"),
         ("127.0.0.3", "127.0.0.3", "snowshoe spam"),
         ("127.0.0.4", "127.0.0.7", "exploited host"),
         ("127.0.0.8", "127.0.0.21", "policy listing")]
REFUSALS = [("127.255.255.254", "127.255.255.254", "public resolver blocked"),
            ("127.255.255.255", "127.255.255.255", "query limit exceeded")]

LONG_TXT = ["[%d]" % i + chr(ord("a") + i) * 252 for i in range(5)]   # 5 x 255 bytes
assert all(len(s) == 255 for s in LONG_TXT)

T_NORMAL = {"192.0.2.10": (["127.0.0.2"], ["normal: 192.0.2.10 sends spam"])}
T_MULTI = {"192.0.2.12": (["127.0.0.4", "127.0.0.2", "127.0.0.99", "127.0.0.3"],
                          ["multi: 192.0.2.12 has four codes"])}
T_LONG = {"192.0.2.13": (["127.0.0.3"], LONG_TXT)}
T_MANY = {"192.0.2.12": (["127.0.0.%d" % i for i in range(21, 1, -1)], ["many: twenty codes"])}
T_ALL = dict(T_NORMAL, **T_MULTI, **T_LONG)
T_DOM = {"spam.example": (["127.0.0.2"], ["dom: spam.example sends spam"])}

IP_TARGETS = [("192.0.2.10", "mx-out-1"), ("192.0.2.11", None), ("192.0.2.12", "mx-out-3"),
              ("192.0.2.13", None)]
DOM_TARGETS = [("spam.example", None), ("clean.example", "clean-dom")]
TARGETS = IP_TARGETS + DOM_TARGETS


def Z(zid, beh, expect, tp, kind="ip4", table=None, nx="clear", note=""):
    return dict(id=zid, zone=zid[2:] + ".fault.test", beh=beh, expect=expect, tp=tp,
                kind=kind, table=table, nx=nx, note=note)


# expect: "table" (listed per table, else `nx`), or one result, or a tuple
# of results that are all fair readings.
ZONES = [
    Z("f-normal", lambda: Normal(T_NORMAL), "table", True, table=T_NORMAL, note="normal zone"),
    Z("f-multi", lambda: Normal(T_MULTI), "table", True, table=T_MULTI, note="several A records"),
    Z("f-manya", lambda: Normal(T_MANY), "table", True, table=T_MANY, note="twenty A records"),
    Z("f-longtxt", lambda: Normal(T_LONG), "table", True, table=T_LONG,
      note="TXT of 5 x 255 bytes (UDP truncated, TCP full)"),
    Z("f-slow", lambda: Slow(400, Normal(T_ALL)), "table", True, table=T_ALL,
      note="answers after 400 ms (timeout 1 s)"),
    Z("f-trunc", lambda: Truncate(Normal(T_ALL)), "table", True, table=T_ALL,
      note="TC over UDP for everything, full answer over TCP"),
    Z("f-hijack", lambda: Normal(T_ALL, nx_answer="198.51.100.1"), "table", True, table=T_ALL,
      nx="bogus", note="listings true, NXDOMAIN replaced by 198.51.100.1"),
    Z("f-timeout", Timeout, "error", True, note="never answers"),
    Z("f-slowlate", lambda: Slow(2500, Normal(T_ALL)), "error", False,
      note="answers after 2.5 s (timeout 1 s)"),
    Z("f-servfail", lambda: Rcode(2), "error", False, note="SERVFAIL"),
    Z("f-refused", lambda: Rcode(5), "error", True, note="REFUSED rcode"),
    Z("f-mal-short", lambda: Malformed("short"), "error", False, note="7-byte answer"),
    Z("f-mal-qcut", lambda: Malformed("qcut"), "error", True, note="question cut"),
    Z("f-mal-cut", lambda: Malformed("cut"), "error", False, note="answer RR cut"),
    Z("f-mal-rdlen", lambda: Malformed("rdlen"), "error", True, note="rdlength past the end"),
    Z("f-mal-loop", lambda: Malformed("loop"), "error", False, note="compression loop"),
    Z("f-mal-a3", lambda: Malformed("a3"), "error", True, note="A record of 3 bytes"),
    Z("f-mal-a3n", lambda: Malformed("a3"), "error", False,
      note="A record of 3 bytes, no test points"),
    Z("f-wrongid", WrongId, "error", True, note="listing under a wrong query id"),
    Z("f-wrongname", WrongName, "error", False, note="listing for another question name"),
    Z("f-wild", ListsAll, "untrusted", True, note="lists everything (127.0.0.1 too)"),
    Z("f-dead", ListsNothing, "untrusted", True, note="lists nothing (127.0.0.2 neither)"),
    Z("f-refusal", Refusal, "refused", False, note="127.255.255.254 for every name"),
    Z("f-refusal-tp", Refusal, ("refused", "untrusted"), True,
      note="127.255.255.254 for every name, test points too"),
    Z("f-bogus", Outside, "bogus", False, note="198.51.100.1 for every name"),
    Z("f-normal-dom", lambda: Normal(T_DOM, kind="domain"), "table", True, kind="domain",
      table=T_DOM, note="normal domain zone"),
    Z("f-wild-dom", ListsAll, "untrusted", True, kind="domain", note="domain wildcard"),
    Z("f-dead-dom", ListsNothing, "untrusted", True, kind="domain", note="dead domain zone"),
]
ZBY = {z["id"]: z for z in ZONES}
BEHAVIOUR_IDS = [z["id"] for z in ZONES]
# Retrying these (same server, same question) is what `tries` is for.
MUST_RETRY = ("f-timeout", "f-slowlate", "f-servfail", "f-wrongid", "f-wrongname")

# Extra zones: the flip zone (behaviour changes between cycles) and the load zone.
FLIP = dict(id="f-flip", zone="flip.fault.test", kind="ip4", tp=True)
FLIPN = dict(id="f-flipn", zone="flipn.fault.test", kind="ip4", tp=False)
LOAD = dict(id="f-load", zone="load.fault.test", kind="ip4", tp=True)


def ip_int(a):
    return int(ipaddress.IPv4Address(a))


def meaning(code):
    for lo, hi, m in CODES:
        if ip_int(lo) <= ip_int(code) <= ip_int(hi):
            return m
    return UNLISTED


def kind_of(target):
    try:
        ipaddress.IPv4Address(target)
        return "ip4"
    except ValueError:
        return "domain"


def listed_expect(a, txt):
    codes = sorted(set(a), key=ip_int)
    return dict(result="listed", codes=codes, meanings=[meaning(c) for c in codes],
                reason=None if not txt else "".join(txt))


def expect(z, target):
    """Expected result dict for (zone, target), or None when the zone does
    not apply.  result is a str or a tuple of fair readings."""
    if kind_of(target) != z["kind"]:
        return None
    if z["expect"] == "table":
        key = target.lower()
        if key in z["table"]:
            a, txt = z["table"][key]
            return listed_expect(a, txt)
        return dict(result=z["nx"])
    return dict(result=z["expect"])


def catalog_section(zid, zone, kind, tp):
    lines = ["[%s]" % zid, "name = Fault %s" % zid, "zone = %s" % zone, "kind = %s" % kind]
    for lo, hi, m in CODES:
        lines.append("code = %s %s" % (lo if lo == hi else "%s-%s" % (lo, hi), m))
    for lo, hi, m in REFUSALS:
        lines.append("refusal = %s %s" % (lo if lo == hi else "%s-%s" % (lo, hi), m))
    lines += ["delist = https://fault.test/%s" % zid, "default = yes",
              "testpoints = %s" % ("yes" if tp else "no"), ""]
    return "\n".join(lines)


def catalog_text():
    parts = [catalog_section(z["id"], z["zone"], z["kind"], z["tp"]) for z in ZONES]
    for x in (FLIP, FLIPN, LOAD):
        parts.append(catalog_section(x["id"], x["zone"], x["kind"], x["tp"]))
    return "\n".join(parts)


def write_conf(path, port, catalog, use, timeout=TIMEOUT, tries=TRIES, db=None,
               targets=None, confirm="0"):
    text = ("[resolver]\nservers = 127.0.0.1:%d\ntimeout = %s\ntries = %d\n\n"
            "[zones]\ncatalog = %s\nuse = %s\n" % (port, timeout, tries, catalog, " ".join(use)))
    if db is not None:
        text += "\n[poller]\ninterval = 1h\ndatabase = %s\nconfirm = %s\n" % (db, confirm)
    if targets:
        text += "\n[targets]\n"
        for t, label in targets:
            text += "%s = %s%s\n" % ("ip" if kind_of(t) == "ip4" else "domain", t,
                                     " " + label if label else "")
    with open(path, "w") as f:
        f.write(text)
    return path


# --------------------------------------------------------------------------
# Running blwatch
# --------------------------------------------------------------------------

class Run:
    pass


def blwatch(conf, args, stdin=None, timeout=60):
    """Runs blwatch under a time limit; r.rc is None when it hung."""
    cmd = [BLWATCH] + (["-c", conf] if conf else []) + list(args)
    r = Run()
    r.cmd = " ".join(cmd) + ("  <<stdin %d lines>>" % stdin.count("\n") if stdin else "")
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
        r.rc, r.out, r.err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        r.rc = None
        r.out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        r.err = (e.stderr or b"").decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    r.dur = time.monotonic() - t0
    RUNS[0] += 1
    m = SAN_RE.search(r.err or "")
    if m:
        SANITIZER_REPORTS.append((r.cmd, r.err[max(0, m.start() - 200):m.start() + 3000]))
    if r.rc is not None and r.rc < 0:
        r.crash = "killed by signal %d" % -r.rc
    else:
        r.crash = None
    return r


def run_problem(r, limit):
    """A hang or crash, as a failure line, else None."""
    if r.rc is None:
        return "`%s` did not finish within %ds (hang); stderr tail %r" % (r.cmd, limit, r.err[-400:])
    if r.crash:
        return "`%s` crashed (%s); stderr tail %r" % (r.cmd, r.crash, r.err[-600:])
    return None


def parse_json(r, fails, where):
    try:
        doc = json.loads(r.out)
        if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list):
            raise ValueError("no 'targets' list")
        return doc
    except ValueError as e:
        fails.append("%s: `%s` stdout is not the JSON document (%s): %r; stderr %r"
                     % (where, r.cmd, e, r.out[:300], r.err[-300:]))
        return None


def results_of(doc):
    out = {}
    for t in doc.get("targets", []):
        for res in t.get("results") or []:
            out[(t.get("target"), res.get("list"))] = dict(res, _label=t.get("label"))
    return out


def fmt_res(g):
    if g is None:
        return "<absent>"
    return "%s codes=%s detail=%r" % (g.get("result"), g.get("codes"), g.get("detail"))


def reason_fails(where, got, want):
    """want: the full TXT text (or None).  A long reason may be cut to its
    first REASON_MAX bytes; it must be a prefix of the real text."""
    if want is None:
        return [] if got is None else ["%s: reason %r, expected none (no TXT)" % (where, got)]
    if got == want:
        return []
    if isinstance(got, str) and len(want) > REASON_MAX and want.startswith(got) \
            and len(got) >= REASON_MAX - 24:
        return []
    if isinstance(got, str) and len(want) > REASON_MAX:
        return ["%s: reason (%d bytes) is not the first %d bytes of the %d-byte TXT: %r..."
                % (where, len(got), REASON_MAX, len(want), got[:120])]
    return ["%s: reason %r, expected %r" % (where, got, want)]


def compare_result(where, g, e, tolerate_missing_reason=False):
    """g: a result object from blwatch (check/status JSON or state row),
    e: the expectation.  Returns failure lines."""
    fails = []
    if g is None:
        return ["%s: no result, expected %s" % (where, e["result"])]
    want = e["result"] if isinstance(e["result"], tuple) else (e["result"],)
    got = g.get("result")
    if got not in want:
        verdict = ""
        if got == "clear" and "clear" not in want:
            verdict = " (FALSE CLEAR)"
        elif got == "listed" and "listed" not in want:
            verdict = " (FALSE LISTING)"
        return ["%s: result %s, expected %s%s" % (where, fmt_res(g), " or ".join(want), verdict)]
    if got == "listed":
        gc = g.get("codes")
        gm = g.get("meanings")
        if not isinstance(gc, list) or not isinstance(gm, list) or len(gc) != len(gm):
            fails.append("%s: codes/meanings malformed: %r / %r" % (where, gc, gm))
        else:
            pairs = sorted(zip(gc, gm), key=lambda p: ip_int(p[0]) if re.match(r"^\d+\.\d+\.\d+\.\d+$", str(p[0])) else 0)
            if [p[0] for p in pairs] != e["codes"]:
                miss = [c for c in e["codes"] if c not in gc]
                fails.append("%s: codes %s, expected %s%s" % (where, gc, e["codes"],
                             " (missing %s)" % miss if miss else ""))
            elif [p[1] for p in pairs] != e["meanings"]:
                fails.append("%s: meanings %s for codes %s, expected %s"
                             % (where, gm, gc, e["meanings"]))
        if not (tolerate_missing_reason and g.get("reason") is None):
            fails += reason_fails(where, g.get("reason"), e["reason"])
    elif got in UNKNOWN:
        d = g.get("detail")
        if not isinstance(d, str) or not d.strip():
            fails.append("%s: %s result without a detail (%r)" % (where, got, d))
    return fails


def expected_pairs(zone_ids, targets=TARGETS):
    out = {}
    for t, _l in targets:
        for zid in zone_ids:
            e = expect(ZBY[zid], t)
            if e is not None:
                out[(t, zid)] = e
    return out


def exit_for(pairs):
    """check/status exit code per SPEC.  Pairs with several fair readings
    are unknown in every reading used here."""
    res = [e["result"] for e in pairs.values()]
    if "listed" in res:
        return 1
    if any(r != "clear" for r in res):
        return 2
    return 0


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.results = []
        self.notes = []

    def add(self, name, fails):
        self.results.append((name, fails))
        print("%s  %s" % ("PASS" if not fails else "FAIL", name), flush=True)
        for f in fails[:50]:
            print("      - " + f.replace("\n", "\n        "))
        if len(fails) > 50:
            print("      ... and %d more" % (len(fails) - 50))
        sys.stdout.flush()

    def note(self, text):
        self.notes.append(text)
        print("      note: " + text, flush=True)

    @property
    def failed(self):
        return [n for n, f in self.results if f]


# --------------------------------------------------------------------------
# Harness self-check: the server does what each behaviour says
# --------------------------------------------------------------------------

def selfcheck(srv):
    fails = []
    p = srv.port

    def q(zid, target, qtype=F.T_A, tcp=False, timeout=0.5):
        return F.ask(p, F.qname_for(target, ZBY[zid]["zone"]), qtype, tcp=tcp, timeout=timeout)

    def want(cond, text):
        if not cond:
            fails.append(text)

    _, r = q("f-normal", "192.0.2.10")
    want(r and r.a == ["127.0.0.2"] and r.rcode == 0, "normal 192.0.2.10: %r" % r)
    _, r = q("f-normal", "192.0.2.11")
    want(r and r.rcode == 3 and not r.a, "normal 192.0.2.11 should be NXDOMAIN: %r" % r)
    _, r = q("f-normal", "127.0.0.2")
    want(r and r.a == ["127.0.0.2"], "normal test point 127.0.0.2: %r" % r)
    _, r = q("f-normal", "127.0.0.1")
    want(r and r.rcode == 3, "normal test point 127.0.0.1 should be NXDOMAIN: %r" % r)
    _, r = q("f-normal-dom", "test")
    want(r and r.a == ["127.0.0.2"], "domain test point TEST: %r" % r)
    _, r = q("f-normal-dom", "invalid")
    want(r and r.rcode == 3, "domain test point INVALID: %r" % r)
    _, r = q("f-normal", "192.0.2.10", F.T_TXT)
    want(r and r.txt == [["normal: 192.0.2.10 sends spam"]], "normal TXT: %r" % r)
    _, r = q("f-multi", "192.0.2.12")
    want(r and sorted(r.a) == sorted(T_MULTI["192.0.2.12"][0]), "multi A: %r" % r)
    _, r = q("f-manya", "192.0.2.12")
    want(r and len(r.a) == 20 and not r.tc, "twenty A in one UDP answer: %r" % r)
    _, r = q("f-longtxt", "192.0.2.13", F.T_TXT)
    want(r and r.tc and not r.txt, "long TXT over UDP should be truncated: %r" % r)
    _, r = q("f-longtxt", "192.0.2.13", F.T_TXT, tcp=True)
    want(r and r.txt == [LONG_TXT] and not r.tc, "long TXT over TCP: %r" % r)
    t0 = time.monotonic()
    _, r = q("f-slow", "192.0.2.10", timeout=2)
    dt = time.monotonic() - t0
    want(r and r.a == ["127.0.0.2"] and 0.35 <= dt < 1.0, "slow: %r after %.2fs" % (r, dt))
    _, r = q("f-slowlate", "192.0.2.10", timeout=1.0)
    want(r is None, "slowlate should not answer within 1 s: %r" % r)
    _, r = q("f-trunc", "192.0.2.11")
    want(r and r.tc and not r.a, "trunc over UDP: %r" % r)
    _, r = q("f-trunc", "192.0.2.12", tcp=True)
    want(r and sorted(r.a) == sorted(T_MULTI["192.0.2.12"][0]) and not r.tc, "trunc over TCP: %r" % r)
    _, r = q("f-trunc", "192.0.2.11", tcp=True)
    want(r and r.rcode == 3, "trunc over TCP, unlisted: %r" % r)
    _, r = q("f-hijack", "192.0.2.11")
    want(r and r.a == ["198.51.100.1"], "hijack unlisted: %r" % r)
    _, r = q("f-hijack", "127.0.0.1")
    want(r and r.a == ["198.51.100.1"], "hijack 127.0.0.1: %r" % r)
    _, r = q("f-hijack", "192.0.2.10")
    want(r and r.a == ["127.0.0.2"], "hijack listed: %r" % r)
    for tcp in (False, True):
        _, r = q("f-timeout", "192.0.2.10", tcp=tcp, timeout=0.3)
        want(r is None, "timeout zone answered (tcp=%s): %r" % (tcp, r))
    _, r = q("f-servfail", "192.0.2.10")
    want(r and r.rcode == 2, "servfail: %r" % r)
    _, r = q("f-refused", "192.0.2.10", tcp=True)
    want(r and r.rcode == 5, "refused (tcp): %r" % r)
    for zid in ("f-wild", "f-wild-dom"):
        for t in (("127.0.0.1", "192.0.2.11") if zid == "f-wild" else ("invalid", "clean.example")):
            _, r = q(zid, t)
            want(r and r.a == ["127.0.0.2"], "%s %s: %r" % (zid, t, r))
    for zid, t in (("f-dead", "127.0.0.2"), ("f-dead", "192.0.2.10"), ("f-dead-dom", "test")):
        _, r = q(zid, t)
        want(r and r.rcode == 3, "%s %s: %r" % (zid, t, r))
    _, r = q("f-refusal-tp", "127.0.0.2")
    want(r and r.a == ["127.255.255.254"], "refusal test point: %r" % r)
    _, r = q("f-bogus", "127.0.0.2")
    want(r and r.a == ["198.51.100.1"], "bogus: %r" % r)
    for v in Malformed.VARIANTS:
        qid, r = q("f-mal-" + v, "192.0.2.10")
        want(r is not None and r.id == qid if v != "short" else r is not None and r.size == 7,
             "malformed %s: no answer with the query id: %r" % (v, r))
        if r is not None:
            want(r.parse_error is not None, "malformed %s parses cleanly: %r" % (v, r))
    qid, r = q("f-wrongid", "192.0.2.10")
    want(r and r.id != qid and r.a == ["127.0.0.2"], "wrongid: %r (query id %d)" % (r, qid))
    _, r = q("f-wrongname", "192.0.2.10")
    want(r and r.qname and r.qname.startswith("x.") and r.a == ["127.0.0.2"], "wrongname: %r" % r)
    drop = Drop(0.5, Normal(T_NORMAL), seed=7)
    srv.set_zone("selftest-drop.fault.test", drop)
    got = sum(1 for _ in range(40)
              if F.ask(p, "10.2.0.192.selftest-drop.fault.test", timeout=0.2)[1] is not None)
    want(got == drop.passed and drop.dropped + drop.passed == 40 and 8 <= got <= 32,
         "drop mode: %d answers of 40 (server: %d passed, %d dropped)" % (got, drop.passed, drop.dropped))
    _, r = F.ask(p, "10.2.0.192.selftest-drop.fault.test", tcp=True, timeout=1)
    want(r and r.a == ["127.0.0.2"], "drop mode over TCP: %r" % r)
    _, r = F.ask(p, "1.2.3.4.not-served.test", timeout=0.5)
    want(r and r.rcode == 5, "unserved zone should be REFUSED: %r" % r)
    return fails


# --------------------------------------------------------------------------
# 1. check --json
# --------------------------------------------------------------------------

def compare_check(r, pairs, where, limit, targets=TARGETS, zones_n=None):
    fails = []
    prob = run_problem(r, limit)
    if prob:
        return [prob]
    want_exit = exit_for(pairs)
    if r.rc != want_exit:
        fails.append("exit %d, expected %d (SPEC: 1 listed, 2 nothing listed and something "
                     "unknown); stderr %r" % (r.rc, want_exit, r.err.strip()[-300:]))
    doc = parse_json(r, fails, where)
    if doc is None:
        return fails
    got = results_of(doc)
    names = [t.get("target") for t in doc["targets"]]
    if names != [t for t, _ in targets]:
        fails.append("targets %s, expected %s" % (names, [t for t, _ in targets]))
    for k, e in sorted(pairs.items()):
        fails += compare_result("%s@%s" % k, got.get(k), e)
    for k in sorted(set(got) - set(pairs)):
        fails.append("%s@%s: unexpected result %s" % (k[0], k[1], fmt_res(got[k])))
    res = [e["result"] for e in pairs.values()]
    n_listed = res.count("listed")
    n_clear = res.count("clear")
    want_sum = dict(targets=len(targets), listed=n_listed, clear=n_clear,
                    unknown=len(res) - n_listed - n_clear,
                    listed_targets=len(set(k[0] for k, e in pairs.items() if e["result"] == "listed")))
    if zones_n is not None:
        want_sum["zones"] = zones_n
    sm = doc.get("summary") or {}
    for key, v in want_sum.items():
        if sm.get(key) != v:
            fails.append("summary.%s = %r, expected %r" % (key, sm.get(key), v))
    return fails


def test_check(ctx):
    rep, srv = ctx.rep, ctx.srv
    args = ["check", "--json"] + [t for t, _ in TARGETS]
    conf = write_conf(os.path.join(ctx.tmp, "check-all.conf"), srv.port, ctx.catalog, BEHAVIOUR_IDS)
    srv.reset_counts()
    r = blwatch(conf, args, timeout=60)
    ctx.check_all_counts = {z["id"]: _zone_counts(srv, z) for z in ZONES}
    pairs = expected_pairs(BEHAVIOUR_IDS)
    fails = compare_check(r, pairs, "check all", 60, zones_n=len(BEHAVIOUR_IDS))
    if fails:
        fails.insert(0, "command: %s  (%.1fs)" % (r.cmd, r.dur))
    rep.add("check --json, all %d behaviour zones at once (%.1fs)" % (len(ZONES), r.dur), fails)

    # Each zone alone: its results and the exit code it alone gives.
    jobs = []
    for z in ZONES:
        c = write_conf(os.path.join(ctx.tmp, "check-%s.conf" % z["id"]), srv.port, ctx.catalog, [z["id"]])
        jobs.append((z, c))
    out = {}

    def work(z, c):
        out[z["id"]] = blwatch(c, args, timeout=60)

    pending = list(jobs)
    while pending:
        batch, pending = pending[:6], pending[6:]
        ths = [threading.Thread(target=work, args=j) for j in batch]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
    for z, c in jobs:
        r = out[z["id"]]
        pairs = expected_pairs([z["id"]])
        fails = compare_check(r, pairs, z["id"], 60, zones_n=1)
        if fails:
            fails.insert(0, "command: %s" % r.cmd)
        res = sorted(set(e["result"] if isinstance(e["result"], str) else "/".join(e["result"])
                         for e in pairs.values()))
        rep.add("check --json, %s alone (%s): %s, exit %d" % (z["id"], z["note"], ",".join(res),
                                                             exit_for(pairs)), fails)


def _zone_counts(srv, z):
    """{qname: A queries} asked in the zone, all transports."""
    out = {}
    with srv.lock:
        items = list(srv.counts.items())
    for (zone, name, qt, _tr), c in items:
        if zone == z["zone"] and qt == F.T_A:
            out[name] = out.get(name, 0) + c
    return out


def test_tries(ctx):
    """Error results come after `tries` attempts (counts from the
    all-zones check run)."""
    rep = ctx.rep
    counts = getattr(ctx, "check_all_counts", None)
    if counts is None:
        rep.add("tries: error results come after tries = %d queries per name" % TRIES,
                ["the check test did not run"])
        return
    fails = []
    for zid in MUST_RETRY:
        c = counts[zid]
        if not c:
            fails.append("%s: blwatch asked nothing in the zone" % zid)
        low = {n: k for n, k in c.items() if k < TRIES}
        if low:
            fails.append("%s (%s): names asked fewer than tries = %d times before giving up: %s"
                         % (zid, ZBY[zid]["note"], TRIES, low))
    rep.add("tries: timeout, late answers, SERVFAIL, wrong id, wrong name are retried "
            "(tries = %d) before `error`" % TRIES, fails)
    for zid in BEHAVIOUR_IDS:
        z = ZBY[zid]
        if z["expect"] == "error" and zid not in MUST_RETRY:
            c = counts[zid]
            most = max(c.values()) if c else 0
            rep.note("%s (%s): at most %d queries per name (tries = %d)" % (zid, z["note"], most, TRIES))


# --------------------------------------------------------------------------
# 2. run --once: state, events, status --json, zones --json
# --------------------------------------------------------------------------

from dbread import db_rows, db_state, db_events  # noqa: E402,F401
from results import parse_args as results_parse_args  # noqa: E402


def fmt_ev(e):
    return "%s %s@%s result=%s codes=%s" % (e["type"], e["target_key"], e["list"], e["result"], e["codes"])


def run_once(conf, fails, what, limit=120):
    r = blwatch(conf, ["run", "--once"], timeout=limit)
    prob = run_problem(r, limit)
    if prob:
        fails.append("%s: %s" % (what, prob))
    elif r.rc != 0:
        fails.append("%s: `%s` exit %d, expected 0 (cycle completed); stderr %r"
                     % (what, r.cmd, r.rc, r.err.strip()[-500:]))
    return r


def status_doc(conf, fails, where, want_exit):
    r = blwatch(conf, ["status", "--json"], timeout=30)
    prob = run_problem(r, 30)
    if prob:
        fails.append("%s: %s" % (where, prob))
        return None
    if r.rc != want_exit:
        fails.append("%s: `%s` exit %d, expected %d; stderr %r"
                     % (where, r.cmd, r.rc, want_exit, r.err.strip()[-300:]))
    return parse_json(r, fails, where)


def check_state(db, pairs, fails, where):
    """The state table (its layout is blwatch's choice, SPEC: "how it is
    stored is yours"): a listed row with the right codes for every true
    listing, no listed row for anything else, no clear pair stored as
    unknown; unknown pairs may live elsewhere (status --json is checked)."""
    st = db_state(db)
    for k, e in sorted(pairs.items()):
        g = st.get(k)
        want = e["result"] if isinstance(e["result"], tuple) else (e["result"],)
        if "listed" in want:
            fails += compare_result("%s: state %s@%s" % (where, k[0], k[1]), g, e)
        elif g is None or g["result"] == "clear":
            continue
        elif g["result"] == "listed":
            fails.append("%s: state %s@%s listed %s, expected %s (FALSE LISTING)"
                         % (where, k[0], k[1], g["codes"], " or ".join(want)))
        elif g["result"] not in want:
            fails += compare_result("%s: state %s@%s" % (where, k[0], k[1]), g, e)
    for k in sorted(set(st) - set(pairs)):
        fails.append("%s: state row for %s@%s (%s), no such pair" % (where, k[0], k[1], st[k]["result"]))
    return st


def test_run(ctx):
    rep, srv = ctx.rep, ctx.srv
    fails = []
    db = os.path.join(ctx.tmp, "run.db")
    conf = write_conf(os.path.join(ctx.tmp, "run.conf"), srv.port, ctx.catalog, BEHAVIOUR_IDS,
                      db=db, targets=TARGETS)
    pairs = expected_pairs(BEHAVIOUR_IDS)
    labels = dict(TARGETS)
    r1 = run_once(conf, fails, "cycle 1")
    if r1.rc is None or r1.crash:
        rep.add("run --once with every behaviour zone", fails)
        return
    ev1 = db_events(db)
    check_state(db, pairs, fails, "after cycle 1")
    # Pair events: exactly one `listed` for each true listing, nothing else.
    want_listed = {k: e for k, e in pairs.items() if e["result"] == "listed"}
    seen = {}
    for e in ev1:
        if e["type"] in PAIR_EVENTS or e["target_key"] is not None:
            seen.setdefault((e["type"], e["target_key"], e["list"]), []).append(e)
    for k, e in sorted(want_listed.items()):
        evs = seen.pop(("listed", k[0], k[1]), [])
        if len(evs) != 1:
            fails.append("cycle 1: %d listed events for %s@%s, expected 1" % (len(evs), k[0], k[1]))
            continue
        ev = evs[0]
        fails += compare_result("cycle 1: listed event %s@%s" % k, ev, e)
        if ev["label"] != labels.get(k[0]):
            fails.append("cycle 1: listed event %s@%s label %r, expected %r"
                         % (k[0], k[1], ev["label"], labels.get(k[0])))
        if ev["zone"] != ZBY[k[1]]["zone"]:
            fails.append("cycle 1: listed event %s@%s zone %r" % (k[0], k[1], ev["zone"]))
    for k, evs in sorted(seen.items()):
        fails.append("cycle 1: unexpected event(s) %s (zone behaviour: %s)"
                     % ([fmt_ev(e) for e in evs], ZBY.get(k[2], {}).get("note")))

    r2 = run_once(conf, fails, "cycle 2")
    ev_all = db_events(db)
    ev2 = ev_all[len(ev1):]
    for e in ev2:
        if e["type"] in PAIR_EVENTS or e["target_key"] is not None:
            fails.append("cycle 2 (nothing changed): unexpected event %s" % fmt_ev(e))
    check_state(db, pairs, fails, "after cycle 2")

    # Zone events over both cycles.
    must_unhealthy = [z["id"] for z in ZONES if z["expect"] == "untrusted"]
    healthy = [z["id"] for z in ZONES if z["expect"] == "table"]
    for zid in BEHAVIOUR_IDS:
        zev = [e["type"] for e in ev_all if e["type"] in ZONE_EVENTS and e["list"] == zid]
        if zid in must_unhealthy:
            if zev != ["zone_unhealthy"]:
                fails.append("%s (%s): zone events over two cycles %s, expected exactly one "
                             "zone_unhealthy" % (zid, ZBY[zid]["note"], zev))
        elif zid in healthy:
            if zev:
                fails.append("%s (%s, test points fine): zone events %s, expected none"
                             % (zid, ZBY[zid]["note"], zev))
        else:
            if zev not in ([], ["zone_unhealthy"]):
                fails.append("%s (%s): zone events %s over two cycles, expected at most one "
                             "zone_unhealthy" % (zid, ZBY[zid]["note"], zev))
            elif zev:
                rep.note("run: %s (%s) got a zone_unhealthy event" % (zid, ZBY[zid]["note"]))
    for e in ev_all:
        if e["type"] in ZONE_EVENTS and (e["target"] is not None or e["target_key"] is not None):
            fails.append("zone event %s carries a target" % fmt_ev(e))

    # status --json: listed and unknown results, never the clear ones.
    doc = status_doc(conf, fails, "status after 2 cycles", exit_for(pairs))
    if doc is not None:
        got = results_of(doc)
        for k, e in sorted(pairs.items()):
            g = got.get(k)
            want = e["result"] if isinstance(e["result"], tuple) else (e["result"],)
            if want == ("clear",):
                if g is not None:
                    fails.append("status: %s@%s shows %s, expected nothing (clear)" % (k[0], k[1], fmt_res(g)))
                continue
            fails += compare_result("status %s@%s" % k, g, e)
            if g is not None and g.get("result") == "listed" and \
                    not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", str(g.get("since"))):
                fails.append("status %s@%s: since %r is not RFC 3339" % (k[0], k[1], g.get("since")))
        for k in sorted(set(got) - set(pairs)):
            fails.append("status: unexpected result %s@%s %s" % (k[0], k[1], fmt_res(got[k])))
        res = [e["result"] for e in pairs.values()]
        nl, nc = res.count("listed"), res.count("clear")
        want_sum = dict(targets=len(TARGETS), zones=len(BEHAVIOUR_IDS), listed=nl, clear=nc,
                        unknown=len(res) - nl - nc,
                        listed_targets=len(set(k[0] for k, e in pairs.items() if e["result"] == "listed")))
        sm = doc.get("summary") or {}
        for key, v in want_sum.items():
            if sm.get(key) != v:
                fails.append("status summary.%s = %r, expected %r" % (key, sm.get(key), v))

    # zones --json: the health the poller saw.
    want_health = {}
    for z in ZONES:
        if not z["tp"]:
            want_health[z["id"]] = ("untested",)
        elif z["id"] == "f-hijack":
            # test points pass (127.0.0.1 is not listed), but the resolver
            # hijacks NXDOMAIN: "error" is a fair health to show too.
            want_health[z["id"]] = ("ok", "error")
        elif z["expect"] == "table":
            want_health[z["id"]] = ("ok",)
        elif z["id"] in ("f-wild", "f-wild-dom"):
            want_health[z["id"]] = ("wildcard",)
        elif z["id"] in ("f-dead", "f-dead-dom"):
            want_health[z["id"]] = ("dead",)
        elif z["id"] == "f-refusal-tp":
            want_health[z["id"]] = ("refused",)
        else:
            want_health[z["id"]] = ("error",)
    r = blwatch(conf, ["zones", "--json"], timeout=30)
    prob = run_problem(r, 30)
    if prob:
        fails.append(prob)
    else:
        try:
            zdoc = {z["id"]: z for z in json.loads(r.out)["zones"]}
            for zid, want in sorted(want_health.items()):
                h = (zdoc.get(zid) or {}).get("health")
                if zid == "f-hijack":
                    rep.note("zones --json: f-hijack (test points pass, NXDOMAIN hijacked) health %r" % h)
                if h not in want:
                    fails.append("zones --json: %s (%s, testpoints=%s) health %r, expected %s"
                                 % (zid, ZBY[zid]["note"], ZBY[zid]["tp"], h, " or ".join(want)))
        except (ValueError, KeyError, TypeError) as e:
            fails.append("zones --json: not {\"zones\":[...]} (%s): %r" % (e, r.out[:300]))
    if fails:
        fails.insert(0, "config %s; commands `%s run --once` x2, status --json, zones --json"
                     % (conf, BLWATCH))
    rep.add("run --once x2 with every behaviour zone: state, events, status --json, zones --json "
            "(%.1fs + %.1fs)" % (r1.dur, r2.dur), fails)


# --------------------------------------------------------------------------
# 3. A listing survives a failing zone (no false delisting, no false listing)
# --------------------------------------------------------------------------

X, Y = "192.0.2.10", "192.0.2.11"
X_CODES = ["127.0.0.4"]


def flip_phases(tp):
    """(label, behaviour, cycles).  Without test points a dead or wildcard
    zone cannot be told from real data, so those phases need them."""
    tx = {X: (X_CODES, ["flip: 192.0.2.10 is an exploited host"])}
    out = [
        ("timeout", Timeout(), 1),
        ("SERVFAIL", Rcode(2), 1),
        ("REFUSED rcode", Rcode(5), 1),
    ]
    for v in Malformed.VARIANTS:
        out.append(("malformed (%s)" % v, Malformed(v), 1))
    out += [
        ("wrong query id (127.0.0.2)", WrongId(), 1),
        ("wrong question name (127.0.0.2)", WrongName(), 1),
        ("answers 1 s late", Slow(1000, Normal(tx)), 1),
        ("refusal code for every name", Refusal(), 1),
        ("198.51.100.1 for every name", Outside(), 1),
        ("back to normal", Normal(tx), 1),
    ]
    if tp:
        out += [
            ("lists nothing (dead)", ListsNothing(), 2),
            ("lists everything as 127.0.0.2 (wildcard)", ListsAll(), 1),
            ("back to normal again", Normal(tx), 1),
        ]
    return out


def test_flip(ctx):
    flip_zone(ctx, FLIP)
    flip_zone(ctx, FLIPN)


def flip_zone(ctx, FZ):
    rep, srv = ctx.rep, ctx.srv
    fails = []
    zone = FZ["zone"]
    tx = {X: (X_CODES, ["flip: 192.0.2.10 is an exploited host"])}
    srv.set_zone(zone, Normal(tx))
    db = os.path.join(ctx.tmp, "%s.db" % FZ["id"])
    targets = [(X, "mx-x"), (Y, "mx-y")]
    # A shorter timeout than the behaviour tests: some 15 phases of timeouts
    # and late answers, each through run --once and check, twice.
    conf = write_conf(os.path.join(ctx.tmp, "%s.conf" % FZ["id"]), srv.port, ctx.catalog, [FZ["id"]],
                      timeout=FLIP_TIMEOUT, db=db, targets=targets)
    r = run_once(conf, fails, "normal zone, cycle 1")
    if r.rc is None or r.crash:
        rep.add("flip (%s, testpoints=%s): listing kept while the zone fails" % (FZ["id"], FZ["tp"]), fails)
        return
    ev = db_events(db)
    lev = [e for e in ev if e["type"] == "listed"]
    if [(e["target_key"], e["codes"]) for e in lev] != [(X, X_CODES)]:
        fails.append("normal zone: listed events %s, expected one for %s %s"
                     % ([fmt_ev(e) for e in lev], X, X_CODES))
    st = db_state(db)
    base = st.get((X, FZ["id"]))
    if base is None or base["result"] != "listed":
        fails.append("normal zone: state of %s is %r, expected listed" % (X, base))
        rep.add("flip (%s, testpoints=%s): listing kept while the zone fails" % (FZ["id"], FZ["tp"]), fails)
        return
    base_since = base["since"]
    st_doc = status_doc(conf, fails, "normal zone", 1)
    base_status_since = None
    if st_doc is not None:
        g = results_of(st_doc).get((X, FZ["id"]))
        base_status_since = g.get("since") if g else None
    time.sleep(1.1)   # so a re-recorded listing would get another `since`
    n = len(db_events(db))
    phases = flip_phases(FZ["tp"])
    was_unhealthy = False
    for label, beh, cycles in phases:
        srv.set_zone(zone, beh)
        where = "zone %s" % label
        for c in range(cycles):
            rr = run_once(conf, fails, "%s, cycle %d" % (where, c + 1))
            if rr.rc is None or rr.crash:
                break
        evs = db_events(db)
        new, n = evs[n:], len(evs)
        for e in new:
            if e["type"] in PAIR_EVENTS:
                kind = {"delisted": "FALSE DELISTING", "listed": "FALSE LISTING",
                        "changed": "codes changed on a failing zone"}[e["type"]]
                fails.append("%s: %s event %s (%s)" % (where, e["type"], fmt_ev(e), kind))
        zev = [e["type"] for e in new if e["type"] in ZONE_EVENTS]
        if label.startswith("lists nothing"):
            if zev != ["zone_unhealthy"]:
                fails.append("%s (after a healthy cycle), 2 cycles: zone events %s, expected "
                             "exactly one zone_unhealthy" % (where, zev))
        if label == "back to normal again" and was_unhealthy and "zone_healthy" not in zev:
            fails.append("%s: zone events %s, expected zone_healthy" % (where, zev))
        if "zone_unhealthy" in zev:
            was_unhealthy = True
        if "zone_healthy" in zev:
            was_unhealthy = False
        st = db_state(db)
        gx = st.get((X, FZ["id"]))
        lost = False
        if gx is None or gx["result"] != "listed" or gx["codes"] != X_CODES or gx["since"] != base_since:
            lost = True
            fails.append("%s: state of %s is %s, expected still listed %s since %s"
                         % (where, X, None if gx is None else (gx["result"], gx["codes"], gx["since"]),
                            X_CODES, base_since))
        gy = st.get((Y, FZ["id"]))
        if gy is not None and gy["result"] == "listed":
            fails.append("%s: %s stored as listed %s (FALSE LISTING)" % (where, Y, gy["codes"]))
        doc = status_doc(conf, fails, where, 1)
        if doc is not None:
            got = results_of(doc)
            g = got.get((X, FZ["id"]))
            if g is None or g.get("result") != "listed" or g.get("codes") != X_CODES:
                fails.append("%s: status --json shows %s as %s, expected listed %s (a listing whose "
                             "zone later fails stays listed)" % (where, X, fmt_res(g), X_CODES))
            elif base_status_since is not None and g.get("since") != base_status_since:
                fails.append("%s: status --json since of %s moved from %s to %s"
                             % (where, X, base_status_since, g.get("since")))
            gy = got.get((Y, FZ["id"]))
            if gy is not None and gy.get("result") in ("listed", "clear"):
                fails.append("%s: status --json shows %s as %s" % (where, Y, fmt_res(gy)))
        # check (stateless) on the same zone: X never clear, Y never listed.
        rc = blwatch(conf, ["check", "--json", X, Y], timeout=60)
        prob = run_problem(rc, 60)
        if prob:
            fails.append("%s: %s" % (where, prob))
        else:
            cdoc = parse_json(rc, fails, where + " check")
            if cdoc is not None:
                got = results_of(cdoc)
                gx, gy = got.get((X, FZ["id"])), got.get((Y, FZ["id"]))
                healthy = label.startswith("back to normal")
                if healthy:
                    fails += compare_result("%s: check %s" % (where, X), gx,
                                            listed_expect(*tx[X]))
                    fails += compare_result("%s: check %s" % (where, Y), gy, dict(result="clear"))
                else:
                    for t, g in ((X, gx), (Y, gy)):
                        if g is None or g.get("result") not in UNKNOWN:
                            fails.append("%s: check --json %s is %s, expected an unknown result "
                                         "(the zone gave no usable answer)" % (where, t, fmt_res(g)))
                    if rc.rc != 2 and not healthy:
                        fails.append("%s: check exit %d, expected 2 (nothing listed, all unknown)"
                                     % (where, rc.rc))
        if lost:
            # Re-establish the listing so the next phases test something.
            srv.set_zone(zone, Normal(tx))
            run_once(conf, [], "re-list")
            time.sleep(1.1)
            n = len(db_events(db))
            gx = db_state(db).get((X, FZ["id"]))
            base_since = gx["since"] if gx else None
            d = status_doc(conf, [], "re-list", 1)
            g = results_of(d).get((X, FZ["id"])) if d else None
            base_status_since = g.get("since") if g else None
            print("      (%s: re-listed %s after the failure above)" % (FZ["id"], X), flush=True)
    # Positive control: a real delisting with the zone healthy is seen.
    srv.set_zone(zone, Normal({}))
    run_once(conf, fails, "X delisted for real")
    new = db_events(db)[n:]
    pev = [(e["type"], e["target_key"]) for e in new if e["type"] in PAIR_EVENTS]
    if pev != [("delisted", X)]:
        fails.append("X delisted for real (zone healthy, NXDOMAIN): pair events %s, expected "
                     "one delisted for %s" % (pev, X))
    st = db_state(db)
    if (X, FZ["id"]) in st and st[(X, FZ["id"])]["result"] != "clear":
        fails.append("X delisted for real: state still %s" % st[(X, FZ["id"])]["result"])
    if fails:
        fails.insert(0, "config %s (confirm = 0); zone %s switched between `run --once` cycles"
                     % (conf, zone))
    rep.add("flip (%s, testpoints=%s): %s listed, then the zone times out, SERVFAILs, REFUSEs, "
            "sends malformed / wrong-id / wrong-name / late / refusal / bogus answers%s: %s stays "
            "listed (same codes, same since), no delisted/changed/listed event; a real delisting "
            "is then seen" % (FZ["id"], "yes" if FZ["tp"] else "no", X,
                              ", goes dead, lists everything" if FZ["tp"] else "", X), fails)


# --------------------------------------------------------------------------
# 4. Under load: 10,000 targets, 5% of UDP queries dropped
# --------------------------------------------------------------------------

def load_world(n=10000):
    base = ip_int("10.40.0.0")
    targets = [str(ipaddress.IPv4Address(base + i)) for i in range(n)]
    table = {}
    choices = [["127.0.0.2"], ["127.0.0.3", "127.0.0.4"], ["127.0.0.2", "127.0.0.5", "127.0.0.10"]]
    for i, t in enumerate(targets):
        if i % 50 == 7:
            table[t] = (choices[i % 3], ["load: %s listed (%d)" % (t, i)])
    return targets, table


def test_load(ctx):
    rep, srv = ctx.rep, ctx.srv
    fails = []
    targets, table = load_world()
    drop = Drop(0.05, Normal(table), seed=ctx.seed)
    srv.set_zone(LOAD["zone"], drop)
    conf = write_conf(os.path.join(ctx.tmp, "load.conf"), srv.port, ctx.catalog, [LOAD["id"]],
                      timeout="1s", tries=3)
    stdin = "".join(t + "\n" for t in targets)
    limit = 170
    r = blwatch(conf, ["check", "--json", "-"], stdin=stdin, timeout=limit)
    prob = run_problem(r, limit)
    counts = dict(listed_ok=0, listed_error=0, listed_other_unknown=0, clear_ok=0, clear_error=0,
                  clear_other_unknown=0)
    if prob:
        fails.append(prob)
    else:
        if r.rc != 1:
            fails.append("exit %d, expected 1 (listings exist); stderr %r" % (r.rc, r.err.strip()[-300:]))
        doc = parse_json(r, fails, "load")
        if doc is not None:
            got = results_of(doc)
            bad = []
            for t in targets:
                g = got.get((t, LOAD["id"]))
                res = g.get("result") if g else None
                if t in table:
                    e = listed_expect(*table[t])
                    if res == "listed":
                        f = compare_result("%s" % t, g, e, tolerate_missing_reason=True)
                        if f:
                            bad += f
                        else:
                            counts["listed_ok"] += 1
                    elif res == "error":
                        counts["listed_error"] += 1
                    elif res in UNKNOWN:
                        counts["listed_other_unknown"] += 1
                    else:
                        bad.append("%s is listed %s on the zone, blwatch says %s%s"
                                   % (t, e["codes"], fmt_res(g),
                                      " (FALSE CLEAR)" if res == "clear" else ""))
                else:
                    if res == "clear":
                        counts["clear_ok"] += 1
                    elif res == "error":
                        counts["clear_error"] += 1
                    elif res in UNKNOWN:
                        counts["clear_other_unknown"] += 1
                    else:
                        bad.append("%s is not listed, blwatch says %s%s"
                                   % (t, fmt_res(g), " (FALSE LISTING)" if res == "listed" else ""))
            fails += bad
            no_reason = sum(1 for t in table if (got.get((t, LOAD["id"])) or {}).get("result") == "listed"
                            and (got.get((t, LOAD["id"])) or {}).get("reason") is None)
            if no_reason:
                rep.note("load: %d listed pairs without reason (TXT lost to drops?)" % no_reason)
            if counts["listed_other_unknown"] or counts["clear_other_unknown"]:
                rep.note("load: unknown results other than error: %d (listed targets), %d (others)"
                         % (counts["listed_other_unknown"], counts["clear_other_unknown"]))
    errors = counts["listed_error"] + counts["clear_error"]
    summary = ("%d targets, %d listed on the zone; %d UDP queries dropped of %d; %.1fs; "
               "listings found %d, listings ended as error %d; unlisted clear %d, unlisted error %d; "
               "total error %d"
               % (len(targets), len(table), drop.dropped, drop.dropped + drop.passed, r.dur,
                  counts["listed_ok"], counts["listed_error"], counts["clear_ok"],
                  counts["clear_error"], errors))
    print("      load: " + summary, flush=True)
    if fails:
        fails.insert(0, "command: %s (seed %d)" % (r.cmd, ctx.seed))
    rep.add("load: 10,000 targets, 5%% of UDP queries dropped (seed %d), tries = 3, timeout = 1s: "
            "every listing found with its codes or honestly error (%d errors)" % (ctx.seed, errors),
            fails)


def stats_of(err):
    """The figures of `check --stats` (stderr) as a dict of numbers."""
    m = re.search(r"^stats: (.*)$", err, re.M)
    if not m:
        return None
    out = {}
    for kv in m.group(1).split():
        k, _, v = kv.partition("=")
        out[k] = float(v.rstrip("s"))
    return out


def test_window(ctx):
    """The in-flight window backs off when timeouts appear and grows back
    when answers flow, and the retries of a stall end in right answers."""
    rep, srv = ctx.rep, ctx.srv
    fails = []
    targets, table = load_world(4000)
    srv.set_zone(LOAD["zone"], Outage(0.6, Normal(table), after=1000))
    conf = write_conf(os.path.join(ctx.tmp, "window.conf"), srv.port, ctx.catalog, [LOAD["id"]],
                      timeout="0.3s", tries=4)
    r = blwatch(conf, ["check", "--json", "--stats", "-"],
                stdin="".join(t + "\n" for t in targets), timeout=120)
    prob = run_problem(r, 120)
    st = stats_of(r.err or "")
    if prob:
        fails.append(prob)
    elif st is None:
        fails.append("no stats line in stderr: %r" % (r.err or "")[-300:])
    else:
        print("      window: %s" % " ".join("%s=%g" % kv for kv in sorted(st.items())), flush=True)
        # Default concurrency 100: the stall's timeouts halve the window
        # (at most once per timeout period), the answers after it add one
        # per window's worth.
        if not st["window_low"] < 100:
            fails.append("window_low %g: the window never backed off from 100 during a 0.6 s "
                         "stall with timeout 0.3s" % st["window_low"])
        if not st["window"] > st["window_low"]:
            fails.append("window %g at the end, window_low %g: it did not grow back once "
                         "answers flowed" % (st["window"], st["window_low"]))
        if not st["timeouts"] >= 50:
            fails.append("only %g timeouts: the stall did not hit the queries in flight"
                         % st["timeouts"])
        doc = parse_json(r, fails, "window")
        if doc is not None:
            got = results_of(doc)
            wrong = [t for t in targets
                     if (got.get((t, LOAD["id"])) or {}).get("result")
                     != ("listed" if t in table else "clear")]
            if wrong:
                fails.append("%d of %d targets without their true result after the stall, "
                             "e.g. %s: %s" % (len(wrong), len(targets), wrong[0],
                                              fmt_res(got.get((wrong[0], LOAD["id"])))))
    rep.add("window: a 0.6 s stall of the server after 1,000 queries (timeout 0.3s, tries 4): the "
            "window backs off "
            "from 100 and grows back, every target ends with its true result", fails)


# --------------------------------------------------------------------------

class Ctx:
    pass


TESTS = [("check", test_check), ("tries", test_tries), ("run", test_run), ("flip", test_flip),
         ("load", test_load), ("window", test_window)]


def main():
    global BLWATCH
    parsed = results_parse_args(sys.argv[1:], __doc__, TESTS)
    if isinstance(parsed, int):
        return parsed
    BLWATCH, names = parsed
    if "tries" in names and "check" not in names:
        names.insert(names.index("tries"), "check")

    ctx = Ctx()
    ctx.rep = Report()
    ctx.seed = int(os.environ.get("BLWATCH_TEST_SEED", "20240611"))
    print("      seed %d (BLWATCH_TEST_SEED)" % ctx.seed)
    ctx.tmp = tempfile.mkdtemp(prefix="blwatch-faults-")
    srv = None
    t0 = time.monotonic()
    harness_broken = False
    try:
        ctx.catalog = os.path.join(ctx.tmp, "catalog.conf")
        with open(ctx.catalog, "w") as f:
            f.write(catalog_text())
        zones = {z["zone"]: z["beh"]() for z in ZONES}
        zones[FLIP["zone"]] = ListsNothing()
        zones[FLIPN["zone"]] = ListsNothing()
        zones[LOAD["zone"]] = ListsNothing()
        srv = F.FaultDNS(zones).start()
        ctx.srv = srv
        print("      faultdns on 127.0.0.1:%d (UDP+TCP), work dir %s" % (srv.port, ctx.tmp), flush=True)
        sc = selfcheck(srv)
        ctx.rep.add("harness: faultdns answers as each behaviour says", sc)
        if sc:
            harness_broken = True
            return 2
        for name, fn in TESTS:
            if name in names:
                t1 = time.monotonic()
                try:
                    fn(ctx)
                except Exception:
                    traceback.print_exc()
                    ctx.rep.add("%s ran to the end" % name, ["exception (see traceback above)"])
                print("      (%s: %.1fs)" % (name, time.monotonic() - t1), flush=True)
    except Exception:
        traceback.print_exc()
        ctx.rep.add("harness ran to the end", ["exception (see traceback above)"])
    finally:
        if srv is not None:
            srv.stop()
        if not harness_broken:
            shutil.rmtree(ctx.tmp, ignore_errors=True)

    fl = ["`%s`:\n%s" % (c, t) for c, t in SANITIZER_REPORTS[:5]]
    ctx.rep.add("no sanitizer report in the stderr of %d blwatch runs" % RUNS[0], fl)
    print()
    print("total %.1fs" % (time.monotonic() - t0))
    if ctx.rep.notes:
        print("notes:")
        for n in ctx.rep.notes:
            print("  - " + n)
    if ctx.rep.failed:
        print("FAILED %d of %d checks:" % (len(ctx.rep.failed), len(ctx.rep.results)))
        for n in ctx.rep.failed:
            print("  - " + n)
        return 1
    print("all %d checks passed" % len(ctx.rep.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
