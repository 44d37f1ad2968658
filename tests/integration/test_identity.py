#!/usr/bin/python3
"""Integration test of the sender identity checks and `blwatch report`.

    /usr/bin/python3 tests/integration/test_identity.py BLWATCH_BIN

Starts identitydns.py (python3-dnslib) on 127.0.0.1 serving PTR, A, MX and
TXT records for good and broken setups, plus a tiny blocklist zone
(bl.test, with its RFC 5782 test points and one listing) and a zone that
answers SERVFAIL to everything (broken.test).  Then:

  1. check --identity --json: every target's identity object, exactly;
  2. run --once three times, changing the server's data in between:
     first results stored without events; then the exact identity_changed
     events (confirm = 0), none for names answering SERVFAIL; then with
     confirm = 1s a change that holds (an event) and one that flaps back
     before the re-check (no event);
  3. status, history and report (Markdown sections, --json values);
  4. [identity] enabled = no: nothing checked or stored.

Exit status: 0 passed, 1 failed, 2 harness problem (no dnslib).
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    from identitydns import IdentityDNS   # noqa: E402
except ImportError as e:  # pragma: no cover
    print("SKIP/HARNESS: python3-dnslib is missing (%s)" % e)
    sys.exit(2)

SAN_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                    r"SUMMARY: (Address|Leak|Undefined)", re.M)
BLWATCH = None
FAILS = []

GOOD_SPF = "v=spf1 ip4:192.0.2.0/24 include:_spf.good.test -all"
GOOD_DMARC = "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
DEEP_SPF = "v=spf1 include:a.deep.test include:b.deep.test -all"
DEEP_DMARC = "v=DMARC1; p=rejct; rua=mailto:d@deep.test"

CATALOG = """# identity test catalog
[bl-test]
name       = Test BL
zone       = bl.test
kind       = ip4
code       = 127.0.0.2 test listing
delist     = https://bl.test/delist
default    = yes
testpoints = yes

[broken-test]
name       = Broken
zone       = broken.test
kind       = ip4
default    = yes
testpoints = yes
"""


def world():
    """The server's records at the start."""
    return {
        # the blocklist zone: test points and one listing
        "2.0.0.127.bl.test": [("A", "127.0.0.2"), ("TXT", "test point")],
        "12.2.0.192.bl.test": [("A", "127.0.0.2"),
                               ("TXT", "Listed for test: https://bl.test/q/192.0.2.12")],
        "broken.test": "SERVFAIL",
        # addresses
        "10.2.0.192.in-addr.arpa": [("PTR", "mx1.good.test")],
        "mx1.good.test": [("A", "192.0.2.10")],
        "12.2.0.192.in-addr.arpa": [("PTR", "mx2.good.test")],
        "mx2.good.test": [("A", "192.0.2.99")],
        "13.2.0.192.in-addr.arpa": [("PTR", "192-0-2-13.dynamic.isp.test")],
        "192-0-2-13.dynamic.isp.test": [("A", "192.0.2.13")],
        "14.2.0.192.in-addr.arpa": "SERVFAIL",
        # domains
        "good.test": [("MX", (20, "mx2.good.test")), ("MX", (10, "mx1.good.test")),
                      ("TXT", GOOD_SPF), ("TXT", "site-verification=abc123")],
        "_spf.good.test": [("TXT", "v=spf1 a mx ~all")],
        "_dmarc.good.test": [("TXT", GOOD_DMARC)],
        "_mta-sts.good.test": [("TXT", "v=STSv1; id=20261129")],
        "_smtp._tls.good.test": [("TXT", "v=TLSRPTv1; rua=mailto:tls@good.test")],
        "twospf.test": [("MX", (10, "mx.twospf.test")), ("TXT", "v=spf1 mx -all"),
                        ("TXT", "v=spf1 a -all")],
        "deep.test": [("MX", (10, "mx.deep.test")), ("TXT", DEEP_SPF)],
        "a.deep.test": [("TXT", "v=spf1 a mx include:c.deep.test ~all")],
        "b.deep.test": [("TXT", "v=spf1 mx exists:e.deep.test ~all")],
        "c.deep.test": [("TXT", "v=spf1 a:x.deep.test a:y.deep.test mx:z.deep.test a ~all")],
        "_dmarc.deep.test": [("TXT", DEEP_DMARC)],
        "nomx.test": [("TXT", "v=spf1 -all")],
        "_dmarc.nomx.test": [("TXT", "v=DMARC1; p=none")],
    }


TARGETS = ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14",
           "good.test", "twospf.test", "deep.test", "nomx.test"]


def addr(ptr, fcrdns, generic, problems=(), warnings=(), errors=()):
    return {"ptr": ptr, "fcrdns": fcrdns, "generic": generic,
            "problems": list(problems), "warnings": list(warnings), "errors": list(errors)}


NO_DMARC = "no DMARC record"
EXPECTED = {
    "192.0.2.10": addr("mx1.good.test", True, False),
    "192.0.2.11": addr(None, False, False, ["no PTR record for 192.0.2.11"]),
    "192.0.2.12": addr("mx2.good.test", False, False,
                       ["PTR mx2.good.test does not resolve back to 192.0.2.12 "
                        "(not forward-confirmed)"]),
    "192.0.2.13": addr("192-0-2-13.dynamic.isp.test", True, True, [],
                       ["PTR 192-0-2-13.dynamic.isp.test looks generic (it holds the address)"]),
    "192.0.2.14": addr(None, None, None, [], [], ["PTR lookup failed: SERVFAIL"]),
    "good.test": {
        "mx": ["mx1.good.test", "mx2.good.test"],
        "spf": {"record": GOOD_SPF, "lookups": 3, "problems": []},
        "dmarc": {"record": GOOD_DMARC, "policy": "reject", "rua": ["mailto:dmarc@good.test"],
                  "problems": []},
        "mta_sts": True, "tls_rpt": True, "problems": [], "warnings": [], "errors": []},
    "twospf.test": {
        "mx": ["mx.twospf.test"],
        "spf": {"record": None, "lookups": None,
                "problems": ["2 SPF records (there must be one: RFC 7208 permerror)"]},
        "dmarc": {"record": None, "policy": None, "rua": [], "problems": [NO_DMARC]},
        "mta_sts": False, "tls_rpt": False,
        "problems": ["2 SPF records (there must be one: RFC 7208 permerror)", NO_DMARC],
        "warnings": [], "errors": []},
    "deep.test": {
        "mx": ["mx.deep.test"],
        "spf": {"record": DEEP_SPF, "lookups": 11,
                "problems": ["SPF needs 11 DNS lookups, more than 10 (RFC 7208 permerror)"]},
        "dmarc": {"record": DEEP_DMARC, "policy": None, "rua": [],
                  "problems": ["DMARC record does not parse: bad policy p=rejct"]},
        "mta_sts": False, "tls_rpt": False,
        "problems": ["SPF needs 11 DNS lookups, more than 10 (RFC 7208 permerror)",
                     "DMARC record does not parse: bad policy p=rejct"],
        "warnings": [], "errors": []},
    "nomx.test": {
        "mx": [],
        "spf": {"record": "v=spf1 -all", "lookups": 0, "problems": []},
        "dmarc": {"record": "v=DMARC1; p=none", "policy": "none", "rua": [], "problems": []},
        "mta_sts": False, "tls_rpt": False, "problems": ["no MX record"],
        "warnings": ["DMARC policy is none (monitoring only)",
                     "DMARC record has no rua (no aggregate reports)"],
        "errors": []},
}


def fail(msg):
    FAILS.append(msg)
    print("      - " + msg, flush=True)


def blwatch(conf, args, want=None, timeout=60):
    cmd = [BLWATCH, "-c", conf] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    m = SAN_RE.search(p.stderr or "")
    if m:
        fail("sanitizer report from %s:\n%s" % (" ".join(args), p.stderr[m.start():][:2000]))
    if want is not None and p.returncode != want:
        fail("%s exited %d, expected %d; stderr: %s" % (" ".join(args), p.returncode, want,
                                                        p.stderr.strip()[-600:]))
    return p


def write_conf(path, port, db, catalog, confirm="0", identity=True):
    lines = ["[poller]", "database = %s" % db, "confirm = %s" % confirm, "",
             "[resolver]", "servers = 127.0.0.1:%d" % port, "timeout = 1s", "tries = 2", "",
             "[zones]", "catalog = %s" % catalog, "use = all", "", "[targets]"]
    lines += ["ip = %s" % t for t in TARGETS if t[0].isdigit()]
    lines += ["domain = %s" % t for t in TARGETS if not t[0].isdigit()]
    lines += ["", "[identity]", "enabled = %s" % ("yes" if identity else "no")]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def identity_events(db, after=0):
    c = sqlite3.connect(db)
    try:
        return [r for r in c.execute(
            "SELECT id, target_key, result, detail FROM events"
            " WHERE type = 'identity_changed' AND id > ? ORDER BY id", (after,))]
    finally:
        c.close()


def last_event_id(db):
    c = sqlite3.connect(db)
    try:
        return c.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    finally:
        c.close()


def expect_events(got, want, where):
    got_set = sorted((k, f, d) for _, k, f, d in got)
    if got_set != sorted(want):
        fail("%s: identity events\n  got  %s\n  want %s" % (where, got_set, sorted(want)))


# --------------------------------------------------------------------------

def test_check(conf):
    print("check --identity --json", flush=True)
    p = blwatch(conf, ["check", "--identity", "--json"] + TARGETS, want=1)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        fail("check --json is not JSON: %r" % p.stdout[:500])
        return
    got = {t["target"]: t.get("identity") for t in doc["targets"]}
    for t in TARGETS:
        if got.get(t) != EXPECTED[t]:
            fail("identity of %s:\n  got  %s\n  want %s" % (
                t, json.dumps(got.get(t)), json.dumps(EXPECTED[t])))
    listed = [(t["target"], r["list"]) for t in doc["targets"] for r in t["results"]
              if r["result"] == "listed"]
    if listed != [("192.0.2.12", "bl-test")]:
        fail("listings: %s" % listed)
    # Without --identity there is no identity object.
    p = blwatch(conf, ["check", "--json", "192.0.2.10"], want=2)
    if "identity" in json.loads(p.stdout)["targets"][0]:
        fail("check without --identity shows an identity")
    p = blwatch(conf, ["check", "--identity", "192.0.2.12", "deep.test"], want=1)
    for s in ("Identity of 192.0.2.12:", "PTR:     mx2.good.test (not forward-confirmed)",
              "Identity of deep.test:", "(11 DNS lookups)",
              "problem: DMARC record does not parse: bad policy p=rejct"):
        if s not in p.stdout:
            fail("check --identity text lacks %r:\n%s" % (s, p.stdout))


def test_runs(srv, conf, conf_confirm, db):
    print("run --once: first results, changes, SERVFAIL, confirmation", flush=True)
    blwatch(conf, ["run", "--once"], want=0)
    if identity_events(db):
        fail("first run recorded identity events: %s" % identity_events(db))
    c = sqlite3.connect(db)
    facts = dict(((k, f), v) for k, f, v in c.execute(
        "SELECT t.key, i.fact, i.value FROM identity i JOIN targets t ON t.id = i.target"))
    c.close()
    for key, fact, value in (("192.0.2.10", "ptr", "mx1.good.test"),
                             ("192.0.2.12", "fcrdns", "no"),
                             ("good.test", "mx", "10 mx1.good.test\n20 mx2.good.test"),
                             ("deep.test", "spf_limit", "over"),
                             ("good.test", "dmarc", GOOD_DMARC)):
        if facts.get((key, fact)) != value:
            fail("stored %s %s = %r, expected %r" % (key, fact, facts.get((key, fact)), value))
    if any(k == "192.0.2.14" for k, _ in facts):
        fail("a PTR lookup that failed was stored: %s" %
             [(k, f) for k, f in facts if k == "192.0.2.14"])

    # Phase 2 (confirm = 0): changes become events at once; SERVFAIL never
    # reads as a removal.
    w = world()
    del w["10.2.0.192.in-addr.arpa"]
    del w["_dmarc.good.test"]
    w["_spf.good.test"] = [("TXT", "v=spf1 include:deep.test ~all")]
    w["11.2.0.192.in-addr.arpa"] = [("PTR", "mail.example.net")]
    w["mail.example.net"] = [("A", "192.0.2.11")]
    w["13.2.0.192.in-addr.arpa"] = "SERVFAIL"
    w["_dmarc.nomx.test"] = "SERVFAIL"
    w["twospf.test"] = "SERVFAIL"
    srv.set_records(w)
    mark = last_event_id(db)
    blwatch(conf, ["run", "--once"], want=0)
    expect_events(identity_events(db, mark), [
        ("192.0.2.10", "ptr", "PTR for 192.0.2.10 removed (was: mx1.good.test)"),
        ("192.0.2.11", "ptr", "PTR for 192.0.2.11 added: mail.example.net"),
        ("good.test", "dmarc", "DMARC record removed for good.test (was: %s)" % GOOD_DMARC),
        ("good.test", "spf_limit", "SPF for good.test now exceeds 10 lookups (13)"),
    ], "after the changes")

    # Phase 3 (confirm = 1s): DMARC comes back and holds; twospf.test shows
    # one SPF record for one answer only, then two again: no event.
    w2 = dict(w)
    w2["_dmarc.good.test"] = [("TXT", GOOD_DMARC)]
    w2["twospf.test"] = world()["twospf.test"]
    srv.set_records(w2)
    srv.override("twospf.test", [("MX", (10, "mx.twospf.test")), ("TXT", "v=spf1 mx -all")],
                  times=2)   # MX and TXT of the first look
    mark = last_event_id(db)
    t0 = time.time()
    blwatch(conf_confirm, ["run", "--once"], want=0)
    if time.time() - t0 < 1.0:
        fail("run --once with confirm = 1s did not wait for the confirmation")
    expect_events(identity_events(db, mark), [
        ("good.test", "dmarc", "DMARC record added for good.test: %s" % GOOD_DMARC),
    ], "with confirm = 1s")
    if srv.queries("twospf.test") < 4:
        fail("twospf.test was not asked again to confirm (%d queries)" % srv.queries("twospf.test"))


def test_reading(conf, db):
    print("status, history, report", flush=True)
    p = blwatch(conf, ["status", "--json"], want=1)
    doc = json.loads(p.stdout)
    t12 = [t for t in doc["targets"] if t["target"] == "192.0.2.12"]
    if not t12 or t12[0].get("identity") != EXPECTED["192.0.2.12"]:
        fail("status --json identity of 192.0.2.12: %s" % (t12[0].get("identity") if t12 else None))
    p = blwatch(conf, ["status"], want=1)
    for s in ("identity  192.0.2.10: problem: no PTR record for 192.0.2.10",
              "identity  deep.test: problem: SPF needs 11 DNS lookups",
              "identity  192.0.2.13: warning: PTR 192-0-2-13.dynamic.isp.test looks generic"):
        if s not in p.stdout:
            fail("status text lacks %r:\n%s" % (s, p.stdout))
    p = blwatch(conf, ["history", "--json", "good.test"], want=0)
    ev = [e for e in json.loads(p.stdout)["events"] if e["type"] == "identity_changed"]
    # Newest first; the two of one cycle in the order they were recorded.
    if [e["result"] for e in ev] != ["dmarc", "dmarc", "spf_limit"] or ev[0]["target"] != "good.test":
        fail("history --json good.test: %s" % ev)
    # The text lines of identity events: the detail, no empty list column.
    p = blwatch(conf, ["history", "good.test"], want=0)
    lines = [l for l in p.stdout.splitlines() if "identity_changed" in l]
    if len(lines) != len(ev) or any("- (-)" in l for l in lines) or \
            (ev and ev[0]["detail"] not in lines[0]):
        fail("history good.test, identity lines: %s" % lines)

    p = blwatch(conf, ["report", "192.0.2.12", "good.test"], want=0)
    md = p.stdout
    for s in ("# blwatch evidence report", "## 192.0.2.12", "### Current listings",
              "| bl-test | bl.test | 127.0.0.2 | test listing |",
              "Listed for test: https://bl.test/q/192.0.2.12 | https://bl.test/delist |",
              "### Listing timeline since", "| still listed |", "### Sender identity",
              "- PTR: mx2.good.test", "- Forward-confirmed (FCrDNS): no",
              "### Zone coverage", "2 enabled zones list targets of this kind: listed on 1, "
              "clean on 0, could not be checked on 1.", "Could not be checked:",
              "- broken-test (broken.test): error: SERVFAIL", "## good.test",
              "- SPF: `%s` (13 DNS lookups; the limit is 10)" % GOOD_SPF,
              "- DMARC: `%s`" % GOOD_DMARC,
              "SPF for good.test now exceeds 10 lookups (13)",
              "No enabled zone lists targets of this kind.", "Watched by blwatch since"):
        if s not in md:
            fail("report lacks %r" % s)
    with open(os.path.join(os.path.dirname(db), "report.md"), "w") as f:
        f.write(md)
    p = blwatch(conf, ["report", "--json", "--since", "1d", "192.0.2.12", "good.test"], want=0)
    doc = json.loads(p.stdout)
    r12, rgood = doc["targets"]
    checks = [
        (r12["found"], True), (r12["kind"], "ip4"),
        (r12["coverage"], {"zones": 2, "listed": 1, "clear": 0, "unknown": 1}),
        ([(x["list"], x["codes"], x["meanings"], x["delist"]) for x in r12["listings"]],
         [("bl-test", ["127.0.0.2"], ["test listing"], "https://bl.test/delist")]),
        (r12["listings"][0]["reason"], "Listed for test: https://bl.test/q/192.0.2.12"),
        ([(x["list"], x["result"], x["detail"]) for x in r12["unchecked"]],
         [("broken-test", "error", "SERVFAIL")]),
        ([(x["list"], x["cleared"], x["codes"]) for x in r12["timeline"]],
         [("bl-test", None, ["127.0.0.2"])]),
        (r12["identity"], EXPECTED["192.0.2.12"]),
        (rgood["identity"]["spf"]["lookups"], 13),
        (rgood["identity"]["dmarc"]["policy"], "reject"),
        ([(x["fact"], x["detail"]) for x in rgood["identity_changes"]],
         [("spf_limit", "SPF for good.test now exceeds 10 lookups (13)"),
          ("dmarc", "DMARC record removed for good.test (was: %s)" % GOOD_DMARC),
          ("dmarc", "DMARC record added for good.test: %s" % GOOD_DMARC)]),
    ]
    for got, want in checks:
        if got != want:
            fail("report --json: got %r, want %r" % (got, want))
    p = blwatch(conf, ["report", "192.0.2.77"], want=1)
    if "Not in the database" not in p.stdout:
        fail("report of an unknown target: %r" % p.stdout)
    blwatch(conf, ["report"], want=64)


def test_disabled(port, tmp, catalog):
    print("[identity] enabled = no", flush=True)
    db = os.path.join(tmp, "off.db")
    conf = write_conf(os.path.join(tmp, "off.conf"), port, db, catalog, identity=False)
    blwatch(conf, ["run", "--once"], want=0)
    c = sqlite3.connect(db)
    n = c.execute("SELECT count(*) FROM identity").fetchone()[0]
    c.close()
    if n != 0:
        fail("[identity] enabled = no still stored %d facts" % n)
    p = blwatch(conf, ["config-check"], want=0)
    if "enabled     = no" not in p.stdout:
        fail("config-check does not show [identity] enabled = no")


def main():
    global BLWATCH
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    BLWATCH = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="blwatch-identity-")
    ok = False
    try:
        catalog = os.path.join(tmp, "catalog.conf")
        with open(catalog, "w") as f:
            f.write(CATALOG)
        with IdentityDNS(world()) as srv:
            db = os.path.join(tmp, "id.db")
            conf = write_conf(os.path.join(tmp, "id.conf"), srv.port, db, catalog)
            conf_confirm = write_conf(os.path.join(tmp, "idc.conf"), srv.port, db, catalog,
                                      confirm="1s")
            test_check(conf)
            test_runs(srv, conf, conf_confirm, db)
            test_reading(conf, db)
            test_disabled(srv.port, tmp, catalog)
        ok = not FAILS
        print("%s  identity (%d failures)" % ("PASS" if ok else "FAIL", len(FAILS)))
    finally:
        if ok and not os.environ.get("BLWATCH_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("files kept in %s" % tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
