#!/usr/bin/python3
"""Integration test of the blwatch poller (`run`, `status`, `history`)
against a local rbldnsd on 127.0.0.1.

    /usr/bin/python3 tests/integration/test_poller.py BLWATCH_BIN [TEST...]

TEST names (default: all): listings confirm unanswered zonehealth sighup
sigterm kill9 nagios errors.  BLWATCH_TEST_SEED sets the seed of the kill -9
moments (printed at the start).

The test world (zones, data, targets) is defined below; every expected value
is computed from it by a model of SPEC "What a lookup means" and "State,
history, alerts", never copied from blwatch's output.  Between steps the
zone data is rewritten (rbl.Rbldnsd.update_files) and each changed name is
asked directly until rbldnsd answers what the model says, so a failure below
is blwatch's, not the harness's.

Exit status: 0 all passed, 1 something failed, 2 harness problem.
Standard library only; run with /usr/bin/python3.
"""

import copy
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rbl   # noqa: E402

UNKNOWN = ("refused", "bogus", "error", "untrusted")
PAIR_EVENTS = ("listed", "delisted", "changed")
ZONE_EVENTS = ("zone_unhealthy", "zone_healthy")
UNLISTED = "unlisted return code"
SAN_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                    r"SUMMARY: (Address|Leak|Undefined)", re.M)

BLWATCH = None          # path of the binary under test
SANITIZER_REPORTS = []  # (command, excerpt)
_CHILDREN = []          # blwatch processes started in the background


# --------------------------------------------------------------------------
# The world: zones, their data, targets
# --------------------------------------------------------------------------
# A zone: id, zone, kind ("ip4" or "domain"), dtype (rbldnsd dataset type),
# ndata (datasets merged by rbldnsd: a key in two of them answers with both
# A records), codes/refusals [(lo, hi, meaning)], delist.
# A data state: {zone id: [dataset dict {key: (A value, TXT or None)}]}.
# ip4trie keys may be CIDR ranges (longest prefix wins); other keys are
# single addresses or exact domain names.

ZONES = [
    dict(id="p-a", name="Poll A", zone="a.pl.test", kind="ip4", dtype="ip4set", ndata=2,
         codes=[("127.0.0.2", "127.0.0.2", "A: spam source"),
                ("127.0.0.3", "127.0.0.3", "A: snowshoe spam"),
                ("127.0.0.4", "127.0.0.7", "A: exploited host")],
         refusals=[("127.255.255.255", "127.255.255.255", "A: query limit exceeded")],
         delist="https://a.test/delist"),
    dict(id="p-b", name="Poll B", zone="b.pl.test", kind="ip4", dtype="ip4trie", ndata=1,
         codes=[("127.0.0.2", "127.0.0.2", "B: listed"),
                ("127.0.0.10", "127.0.0.10", "B: policy block")],
         refusals=[], delist=None),
    dict(id="p-d", name="Poll D", zone="d.pl.test", kind="domain", dtype="dnset", ndata=1,
         codes=[("127.0.1.2", "127.0.1.2", "D: spam domain"),
                ("127.0.1.3", "127.0.1.3", "D: phishing domain")],
         refusals=[], delist="https://d.test/"),
    # Zones that go bad in the zone-health test: wildcard, dead, refusing.
    dict(id="p-w", name="Poll W", zone="w.pl.test", kind="ip4", dtype="ip4trie", ndata=1,
         codes=[("127.0.0.2", "127.0.0.2", "W: listed"),
                ("127.0.0.3", "127.0.0.3", "W: policy")],
         refusals=[], delist="https://w.test/"),
    dict(id="p-x", name="Poll X", zone="x.pl.test", kind="ip4", dtype="ip4set", ndata=1,
         codes=[("127.0.0.2", "127.0.0.2", "X: listed")],
         refusals=[], delist=None),
    dict(id="p-r", name="Poll R", zone="r.pl.test", kind="ip4", dtype="ip4trie", ndata=1,
         codes=[("127.0.0.2", "127.0.0.2", "R: listed")],
         refusals=[("127.255.255.254", "127.255.255.254", "R: public resolver blocked")],
         delist="https://r.test/"),
]
ZBY = {z["id"]: z for z in ZONES}
SOA = "$SOA 60 ns.pl.test. hostmaster.pl.test. 1 60 60 600 60\n$NS 60 ns.pl.test.\n"
TESTPOINTS = {"ip4": ("127.0.0.2", "127.0.0.1"), "domain": ("test", "invalid")}

BULK_NET = "198.18.0.0/20"   # 4096 addresses, for the SIGTERM and kill -9 tests


def baseline():
    return {
        "p-a": [{"127.0.0.2": ("127.0.0.2", "A test point"),
                 "192.0.2.10": ("127.0.0.2", "A: 192.0.2.10 sends spam"),
                 "192.0.2.12": ("127.0.0.2", "A: 192.0.2.12 sends spam"),
                 "192.0.2.13": ("127.0.0.99", "A: odd code for 192.0.2.13"),
                 "198.51.100.1": ("127.0.0.5", None),
                 "203.0.113.9": ("127.0.0.3", "A: snowshoe 203.0.113.9"),
                 "203.0.113.10": ("127.0.0.2", "A: 203.0.113.10 sends spam")},
                {"192.0.2.10": ("127.0.0.4", "A: 192.0.2.10 is exploited")}],
        "p-b": [{"127.0.0.2": ("127.0.0.2", None),
                 "192.0.2.10": ("127.0.0.10", "B: policy 192.0.2.10"),
                 "192.0.2.13": ("127.0.0.2", "B: listed 192.0.2.13")}],
        "p-d": [{"test": ("127.0.1.2", "D test point"),
                 "spam.example": ("127.0.1.2", "D: spam.example sends spam"),
                 "phish.example": ("127.0.1.3", "D: phishing at phish.example")}],
        "p-w": [{"127.0.0.2": ("127.0.0.2", None),
                 "192.0.2.20": ("127.0.0.3", "W: policy 192.0.2.20")}],
        "p-x": [{"127.0.0.2": ("127.0.0.2", None),
                 "192.0.2.20": ("127.0.0.2", "X: 192.0.2.20")}],
        "p-r": [{"127.0.0.2": ("127.0.0.2", None),
                 "192.0.2.20": ("127.0.0.2", "R: 192.0.2.20")}],
    }


def bulk_world(phase=1):
    """Baseline plus listings inside BULK_NET on p-a, p-b and p-w.
    Phase 2 delists some of phase 1 and lists others (kill -9 test)."""
    w = baseline()
    net = ipaddress.IPv4Network(BULK_NET)
    for i in range(net.num_addresses):
        a = str(net[i])
        if i % 97 == 5 and not (phase == 2 and i % 2 == 0):
            w["p-a"][0][a] = (["127.0.0.2", "127.0.0.3", "127.0.0.4"][i % 3],
                              None if i % 5 == 0 else "A: bulk %d" % i)
        if phase == 2 and i % 89 == 11:
            w["p-a"][0][a] = ("127.0.0.2", "A: phase 2 bulk %d" % i)
        if i % 131 == 7:
            w["p-b"][0][a] = (["127.0.0.2", "127.0.0.10"][i % 2], "B: bulk %d" % i)
    w["p-w"][0]["198.18.8.0/28"] = ("127.0.0.3", "W: bulk range")
    return w


def ip_int(a):
    return int(ipaddress.IPv4Address(a))


def _in_ranges(code, ranges):
    for lo, hi, m in ranges:
        if ip_int(lo) <= ip_int(code) <= ip_int(hi):
            return m
    return None


def meaning(z, code):
    m = _in_ranges(code, z["codes"])
    return m if m is not None else UNLISTED


def _match_len(z, key, target):
    """Prefix length when dataset key matches target, else None."""
    if z["kind"] == "domain":
        return 0 if key == target.lower() else None
    if "/" in key:
        net = ipaddress.IPv4Network(key)
        return net.prefixlen if ipaddress.IPv4Address(target) in net else None
    return 32 if key == target else None


def raw_answer(state, z, target):
    """[(A, TXT)] rbldnsd gives for target: one per dataset that matches."""
    out = []
    for ds in state[z["id"]]:
        best = None
        for key, (a, txt) in ds.items():
            n = _match_len(z, key, target)
            if n is not None and (best is None or n > best[0]):
                best = (n, a, txt)
        if best is not None:
            out.append((best[1], best[2]))
    return out


def model_result(state, z, target):
    """dict(result, codes, meanings, reason_parts) for one pair, ignoring
    zone health."""
    hits = raw_answer(state, z, target)
    if not hits:
        return dict(result="clear", codes=[], meanings=[], reason_parts=[])
    codes = sorted(set(a for a, _ in hits), key=ip_int)
    if all(_in_ranges(c, z["refusals"]) for c in codes):
        return dict(result="refused", codes=codes, meanings=[], reason_parts=[])
    return dict(result="listed", codes=codes, meanings=[meaning(z, c) for c in codes],
                reason_parts=sorted(t for _, t in hits if t is not None))


def model_health(state, z):
    pos, neg = TESTPOINTS[z["kind"]]
    rp, rn = model_result(state, z, pos), model_result(state, z, neg)
    if rn["result"] == "listed":
        return "wildcard"
    if rp["result"] == "clear":
        return "dead"
    if rp["result"] == "refused" or rn["result"] == "refused":
        return "refused"
    return "ok"


# Target config lines: (kind, value, label).
def expand(targets):
    """[(key, kind, label)] in config order, ranges expanded."""
    out = []
    for kind, value, label in targets:
        if kind == "domain":
            out.append((value.lower(), "domain", label))
        elif "/" in value:
            out += [(str(a), "ip4", label) for a in ipaddress.IPv4Network(value)]
        else:
            out.append((str(ipaddress.IPv4Address(value)), "ip4", label))
    return out


def pairs_of(targets, zone_ids):
    return [(key, zid) for key, kind, _l in expand(targets) for zid in zone_ids
            if ZBY[zid]["kind"] == kind]


def model_listed(state, targets, zone_ids):
    """{(key, list): model_result} of the listed pairs on healthy zones."""
    out = {}
    for key, zid in pairs_of(targets, zone_ids):
        z = ZBY[zid]
        if model_health(state, z) != "ok":
            continue
        r = model_result(state, z, key)
        if r["result"] == "listed":
            out[(key, zid)] = r
    return out


def labels_of(targets):
    lab = {}
    for kind, value, label in targets:          # ranges first, as a single address wins
        if kind == "ip" and "/" in value:
            for key, _k, l in expand([(kind, value, label)]):
                lab[key] = l
    for key, _k, l in expand([t for t in targets if not (t[0] == "ip" and "/" in t[1])]):
        lab[key] = l
    return lab


def catalog_text(overrides=None):
    """The test catalog; overrides {id: {field: value}} (e.g. another zone
    name for one list)."""
    out = ["# blwatch poller integration-test catalog (generated by test_poller.py)", ""]
    for z in ZONES:
        z = dict(z, **((overrides or {}).get(z["id"], {})))
        out.append("[%s]" % z["id"])
        out.append("name       = %s" % z["name"])
        out.append("zone       = %s" % z["zone"])
        out.append("kind       = %s" % z["kind"])
        for lo, hi, m in z["codes"]:
            out.append("code       = %s %s" % (lo if lo == hi else "%s-%s" % (lo, hi), m))
        for lo, hi, m in z["refusals"]:
            out.append("refusal    = %s %s" % (lo if lo == hi else "%s-%s" % (lo, hi), m))
        if z["delist"]:
            out.append("delist     = %s" % z["delist"])
        out.append("default    = yes")
        out.append("testpoints = yes")
        out.append("")
    return "\n".join(out)


def data_files(state):
    files = {}
    for z in ZONES:
        for i in range(z["ndata"]):
            ds = state[z["id"]][i] if i < len(state[z["id"]]) else {}
            lines = [SOA.rstrip("\n"), "# generated by test_poller.py"]
            for key, (a, txt) in ds.items():
                lines.append("%s :%s:%s" % (key, a, txt if txt is not None else ""))
            files["%s-%d.data" % (z["id"], i)] = "\n".join(lines) + "\n"
    return files


def rbldnsd_zones():
    return [(z["zone"], z["dtype"], "%s-%d.data" % (z["id"], i))
            for z in ZONES for i in range(z["ndata"])]


def qname(z, key):
    if z["kind"] == "domain":
        return key + "." + z["zone"]
    return rbl.ip4_qname(key, z["zone"])


def probe_names(state, z):
    """Names worth asking to see that rbldnsd serves `state` for zone z."""
    keys = set(TESTPOINTS[z["kind"]])
    for ds in state[z["id"]]:
        for key in ds:
            keys.add(str(ipaddress.IPv4Network(key)[0]) if "/" in key else key)
    return sorted(keys)


class World:
    """The rbldnsd data on disk and in the server, kept equal to a state."""

    def __init__(self, workdir):
        self.dir = workdir
        self.state = baseline()
        for name, text in data_files(self.state).items():
            with open(os.path.join(workdir, name), "w") as f:
                f.write(text)
        self.srv = rbl.Rbldnsd(workdir, rbldnsd_zones(), probe=("2.0.0.127.a.pl.test", True))

    def start(self):
        self.srv.start()
        self.verify(self.state, [z["id"] for z in ZONES], once=True)

    def _mismatch(self, state, zids):
        for zid in zids:
            z = ZBY[zid]
            names = set(probe_names(state, z)) | set(probe_names(self.state, z))
            for key in sorted(names):
                want = sorted(set(a for a, _ in raw_answer(state, z, key)))
                ans = rbl.dns_query(self.srv.port, qname(z, key), timeout=0.5, tries=3)
                if sorted(set(ans.a)) != want or ans.rcode not in (0, 3):
                    return qname(z, key), want, ans
                want_txt = sorted(t for _, t in raw_answer(state, z, key) if t is not None)
                if want:
                    txt = rbl.dns_query(self.srv.port, qname(z, key), "TXT", timeout=0.5, tries=3)
                    if sorted(txt.txt) != want_txt:
                        return qname(z, key) + " TXT", want_txt, txt
        return None

    def verify(self, state, zids, once=False):
        bad = self._mismatch(state, zids)
        if bad and once:
            raise HarnessError("rbldnsd does not answer what the model says: %s want %r, got %r"
                               % bad)
        return bad

    def _changed_name(self, state, zids):
        """A (zone, key) whose answer differs between the served state and
        `state`: the probe that shows rbldnsd reloaded."""
        for zid in zids:
            z = ZBY[zid]
            for key in sorted(set(probe_names(state, z)) | set(probe_names(self.state, z))):
                if sorted(set(a for a, _ in raw_answer(state, z, key))) != \
                        sorted(set(a for a, _ in raw_answer(self.state, z, key))):
                    return z, key
        return ZBY[zids[0]], probe_names(state, ZBY[zids[0]])[0]

    def apply(self, state, timeout=15.0):
        """Rewrite the data files that differ and wait until rbldnsd
        answers every changed name as `state` says."""
        new, old = data_files(state), data_files(self.state)
        changed = {n: t for n, t in new.items() if old.get(n) != t}
        if not changed:
            return
        zids = sorted(set(n.rsplit("-", 1)[0] for n in changed))
        deadline = time.monotonic() + timeout
        files = changed
        while True:
            bad = None
            try:
                z0, k0 = self._changed_name(state, zids)
                want0 = sorted(set(a for a, _ in raw_answer(state, z0, k0)))
                self.srv.update_files(files, probe=(qname(z0, k0),
                                                    lambda a, w=want0: sorted(set(a.a)) == w),
                                      timeout=max(1.0, deadline - time.monotonic()))
                bad = self._mismatch(state, zids)
            except rbl.RbldnsdError as e:
                raise HarnessError(str(e))
            if bad is None:
                break
            if time.monotonic() > deadline:
                raise HarnessError("rbldnsd did not reload: %s want %r, got %r" % bad)
            # Some file was not picked up yet: touch them all again.
            files = changed
            time.sleep(0.2)
        self.state = copy.deepcopy(state)


class HarnessError(RuntimeError):
    pass


# --------------------------------------------------------------------------
# Configs, running blwatch, reading the database
# --------------------------------------------------------------------------

def target_lines(targets):
    out = []
    for kind, value, label in targets:
        out.append("%-6s = %s%s" % (kind, value, " " + label if label else ""))
    return out


def write_conf(path, port, catalog, db, targets, zones, confirm="0", interval="1h",
               rate=None, alerts=(), timeout="1s", tries=2, poller_extra=(), atomic=False):
    poller = ["[poller]", "interval = %s" % interval, "database = %s" % db,
              "confirm = %s" % confirm]
    if rate is not None:
        poller.append("rate = %s" % rate)
    poller += list(poller_extra)
    text = "\n".join(poller) + "\n\n[targets]\n" + "\n".join(target_lines(targets)) + "\n"
    for name in alerts:
        text += '\n[alert "%s"]\ntype = webhook\nurl = http://127.0.0.1:1/%s\n' % (name, name)
    tmp = path + ".tmp" if atomic else path
    rbl.write_config(tmp, port, catalog, use=" ".join(zones), timeout=timeout, tries=tries,
                     extra=text)
    if atomic:
        os.replace(tmp, path)
    return path


def check_sanitizer(cmd, text):
    m = SAN_RE.search(text or "")
    if m:
        start = max(0, m.start() - 200)
        SANITIZER_REPORTS.append((cmd, text[start:start + 2500]))


def blwatch(conf, args, timeout=120):
    cmd = [BLWATCH] + (["-c", conf] if conf else []) + list(args)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    p.duration = time.monotonic() - t0
    p.cmd = " ".join(cmd)
    check_sanitizer(p.cmd, p.stderr)
    return p


def run_once(conf, fails, what="run --once", timeout=120):
    p = blwatch(conf, ["run", "--once"], timeout=timeout)
    if p.returncode != 0:
        fails.append("%s: `%s` exited %d, expected 0 (the cycle should complete); stderr: %s"
                     % (what, p.cmd, p.returncode, p.stderr.strip()[-800:]))
    return p


class Bg:
    """blwatch in the background, stderr+stdout to a log file."""

    def __init__(self, conf, args, logpath):
        self.logpath = logpath
        self.logf = open(logpath, "wb")
        self.cmd = " ".join([BLWATCH, "-c", conf] + list(args))
        self.proc = subprocess.Popen([BLWATCH, "-c", conf] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        _CHILDREN.append(self)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, regex, timeout, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(regex, self.log()[start:], re.M):
                return True
            if self.proc.poll() is not None:
                return bool(re.search(regex, self.log()[start:], re.M))
            time.sleep(0.05)
        return False

    def alive(self):
        return self.proc.poll() is None

    def send(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self.logf.closed:
            self.logf.close()
            check_sanitizer(self.cmd, self.log())
        if self in _CHILDREN:
            _CHILDREN.remove(self)


def _kill_children():
    for c in list(_CHILDREN):
        try:
            c.close()
        except Exception:
            pass


from dbread import db_connect, db_rows, db_state, db_events  # noqa: E402,F401


def reason_ok(got, parts):
    if not parts:
        return got is None
    return isinstance(got, str) and sorted(got.split("; ")) == parts


def fmt_ev(e):
    return "%s %s@%s codes=%s" % (e.get("type"), e.get("target_key", e.get("target")),
                                 e.get("list"), e.get("codes"))


# --------------------------------------------------------------------------
# Reusable checks
# --------------------------------------------------------------------------

def check_state(db, expected_listed, fails, where, allow_unknown=False, unknown_expected=None):
    """The state table: a listed row for exactly the expected listed pairs,
    with the model's codes, meanings and reason; other rows only unknown
    results where allowed (unknown_expected: exact set of pairs)."""
    st = db_state(db)
    listed = {k: r for k, r in st.items() if r["result"] == "listed"}
    other = {k: r for k, r in st.items() if r["result"] != "listed"}
    for k in sorted(set(expected_listed) - set(listed)):
        fails.append("%s: state has no listed row for %s@%s (zone data lists it: %s)"
                     % (where, k[0], k[1], expected_listed[k]["codes"]))
    for k in sorted(set(listed) - set(expected_listed)):
        fails.append("%s: state has a listed row for %s@%s (codes %s) that the zone data "
                     "does not justify" % (where, k[0], k[1], listed[k]["codes"]))
    for k in sorted(set(listed) & set(expected_listed)):
        e, g = expected_listed[k], listed[k]
        if g["codes"] != e["codes"]:
            fails.append("%s: state %s@%s codes %s, expected %s" % (where, k[0], k[1], g["codes"], e["codes"]))
        if g["meanings"] != e["meanings"]:
            fails.append("%s: state %s@%s meanings %s, expected %s"
                         % (where, k[0], k[1], g["meanings"], e["meanings"]))
        if not reason_ok(g["reason"], e["reason_parts"]):
            fails.append("%s: state %s@%s reason %r, expected parts %r"
                         % (where, k[0], k[1], g["reason"], e["reason_parts"]))
    for k, r in sorted(other.items()):
        if r["result"] not in UNKNOWN:
            fails.append("%s: state row %s@%s has result %r (only listed and unknown pairs "
                         "are stored)" % (where, k[0], k[1], r["result"]))
        elif not allow_unknown and unknown_expected is None:
            fails.append("%s: unexpected unknown state row %s@%s (%s: %s)"
                         % (where, k[0], k[1], r["result"], r["detail"]))
    if unknown_expected is not None:
        got = set(other)
        for k in sorted(unknown_expected - got):
            fails.append("%s: expected an unknown state row for %s@%s, found none" % (where, k[0], k[1]))
        for k in sorted(got - unknown_expected):
            fails.append("%s: unexpected state row %s@%s (%s)" % (where, k[0], k[1], other[k]["result"]))
    return st


def check_pair_events(new_events, expected, fails, where, labels, state_model=None):
    """new_events: events rows; expected: [(type, key, list, model_result
    or None)] -- every pair event must be expected, each exactly once."""
    got = [e for e in new_events if e["type"] in PAIR_EVENTS or e["target_key"] is not None]
    want = {(t, k, l): m for t, k, l, m in expected}
    seen = {}
    for e in got:
        seen.setdefault((e["type"], e["target_key"], e["list"]), []).append(e)
    for key in sorted(set(want) - set(seen)):
        fails.append("%s: missing %s event for %s@%s" % (where, key[0], key[1], key[2]))
    for key in sorted(set(seen) - set(want)):
        fails.append("%s: unexpected %s event(s) for %s@%s: %s"
                     % (where, key[0], key[1], key[2], [fmt_ev(e) for e in seen[key]]))
    for key in sorted(set(seen) & set(want)):
        evs = seen[key]
        if len(evs) != 1:
            fails.append("%s: %d %s events for %s@%s, expected exactly one"
                         % (where, len(evs), key[0], key[1], key[2]))
        e, m = evs[0], want[key]
        z = ZBY[key[2]]
        if e["zone"] != z["zone"]:
            fails.append("%s: event %s zone %r, expected %r" % (where, fmt_ev(e), e["zone"], z["zone"]))
        if e["label"] != labels.get(key[1]):
            fails.append("%s: event %s label %r, expected %r" % (where, fmt_ev(e), e["label"], labels.get(key[1])))
        if e["delist"] != z["delist"]:
            fails.append("%s: event %s delist %r, expected %r" % (where, fmt_ev(e), e["delist"], z["delist"]))
        if key[0] == "delisted":
            if e["result"] != "clear":
                fails.append("%s: delisted event %s result %r, expected 'clear'" % (where, fmt_ev(e), e["result"]))
            continue
        if e["result"] != "listed":
            fails.append("%s: %s result %r, expected 'listed'" % (where, fmt_ev(e), e["result"]))
        if m is not None:
            if e["codes"] != m["codes"]:
                fails.append("%s: %s codes %s, expected %s" % (where, fmt_ev(e), e["codes"], m["codes"]))
            if e["meanings"] != m["meanings"]:
                fails.append("%s: %s meanings %s, expected %s" % (where, fmt_ev(e), e["meanings"], m["meanings"]))
            if not reason_ok(e["reason"], m["reason_parts"]):
                fails.append("%s: %s reason %r, expected parts %r" % (where, fmt_ev(e), e["reason"], m["reason_parts"]))


def status_json(conf, fails, where, want_exit=None):
    p = blwatch(conf, ["status", "--json"])
    if want_exit is not None and p.returncode != want_exit:
        fails.append("%s: `%s` exit %d, expected %d; stderr %r"
                     % (where, p.cmd, p.returncode, want_exit, p.stderr.strip()[:300]))
    try:
        doc = json.loads(p.stdout)
        if not isinstance(doc.get("targets"), list) or not isinstance(doc.get("summary"), dict):
            raise ValueError("no targets list / summary object")
        return doc
    except (ValueError, AttributeError) as e:
        fails.append("%s: `%s` stdout is not the status JSON (%s): %r" % (where, p.cmd, e, p.stdout[:300]))
        return None


def history_json(conf, fails, where, target=None, extra=()):
    p = blwatch(conf, ["history"] + ([target] if target else []) + list(extra) + ["--json"])
    if p.returncode != 0:
        fails.append("%s: `%s` exit %d, expected 0; stderr %r" % (where, p.cmd, p.returncode, p.stderr.strip()[:300]))
    try:
        doc = json.loads(p.stdout)
        if not isinstance(doc.get("events"), list):
            raise ValueError("no events list")
        return doc["events"]
    except (ValueError, AttributeError) as e:
        fails.append("%s: `%s` stdout is not {\"events\":[...]} (%s): %r" % (where, p.cmd, e, p.stdout[:300]))
        return None


def status_results(doc):
    """{(target, list): result dict} from status --json."""
    out = {}
    for t in doc["targets"]:
        for r in t.get("results") or []:
            out[(t.get("target"), r.get("list"))] = dict(r, _label=t.get("label"))
    return out


def check_status(doc, expected_listed, fails, where, labels, n_targets, n_zones, n_pairs,
                 unknown_pairs=None):
    """status --json against the model: listed results with codes,
    meanings, reason, since; unknown results (exact set when
    unknown_pairs is given, else none); no clear results; the summary."""
    if doc is None:
        return
    res = status_results(doc)
    listed = {k: r for k, r in res.items() if r.get("result") == "listed"}
    for k in sorted(set(expected_listed) - set(listed)):
        fails.append("%s: status --json does not show %s listed on %s" % (where, k[0], k[1]))
    for k in sorted(set(listed) - set(expected_listed)):
        fails.append("%s: status --json shows %s listed on %s (codes %s), not in the zone data"
                     % (where, k[0], k[1], listed[k].get("codes")))
    for k in sorted(set(listed) & set(expected_listed)):
        g, e = listed[k], expected_listed[k]
        if g.get("codes") != e["codes"] or g.get("meanings") != e["meanings"]:
            fails.append("%s: status %s@%s codes/meanings %s/%s, expected %s/%s"
                         % (where, k[0], k[1], g.get("codes"), g.get("meanings"), e["codes"], e["meanings"]))
        if not reason_ok(g.get("reason"), e["reason_parts"]):
            fails.append("%s: status %s@%s reason %r, expected parts %r" % (where, k[0], k[1], g.get("reason"), e["reason_parts"]))
        if not isinstance(g.get("since"), str) or not re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", g["since"]):
            fails.append("%s: status %s@%s since %r is not RFC 3339" % (where, k[0], k[1], g.get("since")))
        if g.get("zone") != ZBY[k[1]]["zone"]:
            fails.append("%s: status %s@%s zone %r" % (where, k[0], k[1], g.get("zone")))
        if g["_label"] != labels.get(k[0]):
            fails.append("%s: status %s label %r, expected %r" % (where, k[0], g["_label"], labels.get(k[0])))
    others = {k: r for k, r in res.items() if r.get("result") != "listed"}
    for k, r in sorted(others.items()):
        if r.get("result") not in UNKNOWN:
            fails.append("%s: status --json shows %s@%s as %r (only listed and unknown results belong there)"
                         % (where, k[0], k[1], r.get("result")))
        elif not isinstance(r.get("detail"), str) or not r["detail"].strip():
            fails.append("%s: status %s@%s (%s) has no detail" % (where, k[0], k[1], r.get("result")))
    if unknown_pairs is not None:
        for k in sorted(unknown_pairs - set(others)):
            fails.append("%s: status --json should show %s@%s as unknown, it does not" % (where, k[0], k[1]))
        for k in sorted(set(others) - unknown_pairs):
            fails.append("%s: status --json shows %s@%s as %s, expected nothing (clear)"
                         % (where, k[0], k[1], others[k].get("result")))
    n_unknown = len(unknown_pairs or ())
    want = dict(targets=n_targets, zones=n_zones, listed=len(expected_listed),
                unknown=n_unknown, clear=n_pairs - len(expected_listed) - n_unknown,
                listed_targets=len(set(k[0] for k in expected_listed)))
    sm = doc.get("summary", {})
    for k, v in want.items():
        if sm.get(k) != v:
            fails.append("%s: status summary.%s = %r, expected %r" % (where, k, sm.get(k), v))


def check_history_agrees(conf, db, status_doc, fails, where):
    """history --json equals the events table, and replaying it gives the
    listings status --json shows, each with since = its listing's time."""
    hist = history_json(conf, fails, where)
    if hist is None or status_doc is None:
        return
    dbe = db_events(db)
    if len(hist) != len(dbe):
        fails.append("%s: history --json has %d events, the database %d" % (where, len(hist), len(dbe)))
    got = sorted((e.get("type"), e.get("target"), e.get("list"), json.dumps(e.get("codes"))) for e in hist)
    want = sorted((e["type"], e["target_key"], e["list"], json.dumps(e["codes"])) for e in dbe)
    if got != want:
        fails.append("%s: history --json events differ from the events table:\n  history %s\n  table   %s"
                     % (where, got[:20], want[:20]))
    for e in hist:
        for key in ("type", "target", "label", "list", "zone", "result", "codes", "meanings",
                    "reason", "delist", "at"):
            if key not in e:
                fails.append("%s: history --json event lacks %r: %r" % (where, key, e))
                break
    ats = [e.get("at") for e in hist]
    if ats != sorted(ats, reverse=True):
        fails.append("%s: history --json is not newest first: %s" % (where, ats))
    # Replay oldest first.
    cur = {}
    for e in reversed(hist):
        k = (e.get("target"), e.get("list"))
        if e.get("type") == "listed":
            cur[k] = dict(codes=e.get("codes"), since=e.get("at"))
        elif e.get("type") == "changed":
            cur[k] = dict(codes=e.get("codes"), since=cur.get(k, {}).get("since"))
        elif e.get("type") == "delisted":
            cur.pop(k, None)
    st = {k: r for k, r in status_results(status_doc).items() if r.get("result") == "listed"}
    if set(cur) != set(st):
        fails.append("%s: history and status disagree: listed per history %s, per status %s"
                     % (where, sorted(set(cur) - set(st)), sorted(set(st) - set(cur))))
    for k in sorted(set(cur) & set(st)):
        if cur[k]["codes"] != st[k].get("codes"):
            fails.append("%s: %s@%s codes per history %s, per status %s" % (where, k[0], k[1], cur[k]["codes"], st[k].get("codes")))
        if cur[k]["since"] != st[k].get("since"):
            fails.append("%s: %s@%s listed since %s per history, %s per status"
                         % (where, k[0], k[1], cur[k]["since"], st[k].get("since")))


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------

T1_TARGETS = [("ip", "192.0.2.10", "mx-out-1"), ("ip", "192.0.2.11", "relay"),
              ("ip", "192.0.2.12", None), ("ip", "192.0.2.13", "odd"),
              ("ip", "198.51.100.0/30", "office"),
              ("domain", "spam.example", None), ("domain", "clean.example", None)]
T1_ZONES = ["p-a", "p-b", "p-d"]


def t1_change(state):
    """New listing for .11, .12 delisted, .13's code on p-b changed."""
    s = copy.deepcopy(state)
    s["p-a"][0]["192.0.2.11"] = ("127.0.0.3", "A: snowshoe 192.0.2.11")
    del s["p-a"][0]["192.0.2.12"]
    s["p-b"][0]["192.0.2.13"] = ("127.0.0.10", "B: policy 192.0.2.13")
    return s


def test_listings(ctx):
    """1. Listings appear and clear between cycles."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    db = os.path.join(tmp, "t1.db")
    conf = write_conf(os.path.join(tmp, "t1.conf"), w.srv.port, ctx.catalog, db, T1_TARGETS, T1_ZONES)
    labels = labels_of(T1_TARGETS)
    npairs = len(pairs_of(T1_TARGETS, T1_ZONES))
    ntargets = len(expand(T1_TARGETS))

    # Cycle 1, fresh database: a listed event for exactly the listed pairs.
    exp1 = model_listed(w.state, T1_TARGETS, T1_ZONES)
    assert len(exp1) == 7, exp1   # the world is built that way
    run_once(conf, fails, "cycle 1")
    ev1 = db_events(db)
    check_pair_events(ev1, [("listed", k[0], k[1], m) for k, m in exp1.items()], fails,
                      "cycle 1", labels)
    zev = [fmt_ev(e) for e in ev1 if e["type"] in ZONE_EVENTS]
    if zev:
        fails.append("cycle 1: zone events although every zone is healthy: %s" % zev)
    check_state(db, exp1, fails, "cycle 1")
    cyc = db_rows(db, "SELECT * FROM cycles ORDER BY id")
    if len(cyc) != 1 or cyc[0]["ended"] is None:
        fails.append("cycle 1: expected one ended row in cycles, got %r" % cyc)
    else:
        c = cyc[0]
        want = dict(targets=ntargets, listed=len(exp1), clear=npairs - len(exp1),
                    refused=0, bogus=0, error=0, untrusted=0)
        for k, v in want.items():
            if c.get(k) != v:
                fails.append("cycle 1: cycles.%s = %r, expected %r" % (k, c.get(k), v))
        if (c.get("queries") or 0) < npairs:
            fails.append("cycle 1: cycles.queries = %r, expected at least the %d pairs"
                         % (c.get("queries"), npairs))
    doc = status_json(conf, fails, "cycle 1", want_exit=1)
    check_status(doc, exp1, fails, "cycle 1", labels, ntargets, len(T1_ZONES), npairs, set())
    check_history_agrees(conf, db, doc, fails, "cycle 1")

    # Cycle 2: one new listing, one delisting, one code change.
    w.apply(t1_change(w.state))
    exp2 = model_listed(w.state, T1_TARGETS, T1_ZONES)
    n_before = len(ev1)
    run_once(conf, fails, "cycle 2")
    ev2 = db_events(db)[n_before:]
    check_pair_events(ev2, [("listed", "192.0.2.11", "p-a", exp2[("192.0.2.11", "p-a")]),
                            ("delisted", "192.0.2.12", "p-a", None),
                            ("changed", "192.0.2.13", "p-b", exp2[("192.0.2.13", "p-b")])],
                      fails, "cycle 2", labels)
    if [e for e in ev2 if e["type"] in ZONE_EVENTS]:
        fails.append("cycle 2: unexpected zone events %s" % [fmt_ev(e) for e in ev2 if e["type"] in ZONE_EVENTS])
    st2 = check_state(db, exp2, fails, "cycle 2")
    st2_since = {k: r["since"] for k, r in db_state(db).items()}
    doc = status_json(conf, fails, "cycle 2", want_exit=1)
    check_status(doc, exp2, fails, "cycle 2", labels, ntargets, len(T1_ZONES), npairs, set())
    check_history_agrees(conf, db, doc, fails, "cycle 2")
    h = history_json(conf, fails, "cycle 2 history 192.0.2.12", target="192.0.2.12")
    if h is not None:
        types = [e.get("type") for e in h]
        if types != ["delisted", "listed"] or any(e.get("target") != "192.0.2.12" for e in h):
            fails.append("cycle 2: `history 192.0.2.12 --json` should be [delisted, listed] for "
                         "192.0.2.12 only, got %s" % [(e.get("type"), e.get("target")) for e in h])

    h_all = history_json(conf, fails, "cycle 2 history")
    h_since = history_json(conf, fails, "cycle 2 history --since 1h", extra=["--since", "1h"])
    if h_all is not None and h_since is not None and h_since != h_all:
        fails.append("`history --since 1h --json` should give all %d events (all are recent), "
                     "gave %d" % (len(h_all), len(h_since)))
    h = history_json(conf, fails, "history of a target without events", target="192.0.2.99")
    if h:
        fails.append("`history 192.0.2.99 --json` (never a target) should be empty, got %s" % h)

    # Cycle 3: nothing changed -> no event, no state change.
    n_before = len(db_events(db))
    run_once(conf, fails, "cycle 3")
    ev3 = db_events(db)[n_before:]
    if ev3:
        fails.append("cycle 3 (nothing changed): new events %s" % [fmt_ev(e) for e in ev3])
    st3 = db_state(db)
    strip = lambda st: {k: {f: v for f, v in r.items() if f != "checked"} for k, r in st.items()}
    if strip(st3) != strip(st2):
        diff = [k for k in set(st2) | set(st3) if strip(st2).get(k) != strip(st3).get(k)]
        fails.append("cycle 3 (nothing changed): state rows changed: %s" % sorted(diff))
    for k, since in st2_since.items():
        if k in st3 and st3[k]["since"] != since:
            fails.append("cycle 3: %s@%s since moved from %s to %s" % (k[0], k[1], since, st3[k]["since"]))
    cyc = db_rows(db, "SELECT * FROM cycles ORDER BY id")
    if len(cyc) != 3 or any(c["ended"] is None for c in cyc):
        fails.append("after 3 runs: expected 3 ended cycles, got %r" % [(c["id"], c["ended"]) for c in cyc])
    ctx.report("1. listings appear and clear between cycles (confirm = 0)", fails)


def test_confirm(ctx):
    """2. confirm: a change that reverts before the re-query is no event;
    one that persists is exactly one event."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    confirm_s = 4
    db = os.path.join(tmp, "t2.db")
    conf = write_conf(os.path.join(tmp, "t2.conf"), w.srv.port, ctx.catalog, db, T1_TARGETS,
                      T1_ZONES, confirm="%ds" % confirm_s)
    labels = labels_of(T1_TARGETS)

    # First results are recorded without the confirm re-query.
    exp1 = model_listed(w.state, T1_TARGETS, T1_ZONES)
    p = run_once(conf, fails, "first cycle")
    check_pair_events(db_events(db), [("listed", k[0], k[1], m) for k, m in exp1.items()],
                      fails, "first cycle (confirm = %ds)" % confirm_s, labels)
    if p.duration >= confirm_s:
        fails.append("first cycle took %.1fs with confirm = %ds: first results must be "
                     "recorded without the confirm re-query" % (p.duration, confirm_s))
    st_before = db_state(db)
    n_before = len(db_events(db))

    # A change that reverts within the confirm window.
    w.apply(t1_change(w.state))
    bg = Bg(conf, ["run", "--once"], os.path.join(tmp, "t2-revert.log"))
    try:
        # Wait for the cycle's own queries to be done (its log line), at
        # most 2s, then revert the data before the re-query is due.
        bg.wait_log(r"cycle \d+ (done|stopped)", 2.0)
        w.apply(baseline())
        if time.monotonic() - bg.started > confirm_s - 0.5:
            raise HarnessError("revert took too long (%.1fs after the start; confirm %ds)"
                               % (time.monotonic() - bg.started, confirm_s))
        rc = bg.wait(60)
        dur = time.monotonic() - bg.started
        if rc != 0:
            fails.append("reverting change: `%s` exit %r, expected 0; log: %s" % (bg.cmd, rc, bg.log()[-600:]))
        if dur < confirm_s - 0.5:
            fails.append("reverting change: run --once returned after %.1fs, before the "
                         "confirm re-query was due (confirm = %ds)" % (dur, confirm_s))
    finally:
        bg.close()
    ev = db_events(db)[n_before:]
    if ev:
        fails.append("a change that reverted before the re-query became events: %s" % [fmt_ev(e) for e in ev])
    st_after = db_state(db)
    strip = lambda st: {k: (r["result"], r["codes"], r["since"]) for k, r in st.items()}
    if strip(st_after) != strip(st_before):
        fails.append("a change that reverted changed the state: before %s, after %s"
                     % (sorted(strip(st_before).items()), sorted(strip(st_after).items())))

    # The same change, persisting: exactly one event per changed pair.
    w.apply(t1_change(w.state))
    exp2 = model_listed(w.state, T1_TARGETS, T1_ZONES)
    p = run_once(conf, fails, "persisting change")
    if p.duration < confirm_s - 0.5:
        fails.append("persisting change: run --once returned after %.1fs, before the confirm "
                     "re-query was due (confirm = %ds)" % (p.duration, confirm_s))
    ev = db_events(db)[n_before:]
    check_pair_events(ev, [("listed", "192.0.2.11", "p-a", exp2[("192.0.2.11", "p-a")]),
                           ("delisted", "192.0.2.12", "p-a", None),
                           ("changed", "192.0.2.13", "p-b", exp2[("192.0.2.13", "p-b")])],
                      fails, "persisting change (confirm = %ds)" % confirm_s, labels)
    check_state(db, exp2, fails, "persisting change")
    ctx.report("2. confirm = %ds: a change reverted before the re-query is no event; a lasting "
               "one is exactly one event" % confirm_s, fails)


def test_unanswered(ctx):
    """3. A zone that stops answering: listings stay, no delisting, status
    shows the unknown results."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    db = os.path.join(tmp, "t3.db")
    conf = write_conf(os.path.join(tmp, "t3.conf"), w.srv.port, ctx.catalog, db, T1_TARGETS, T1_ZONES)
    labels = labels_of(T1_TARGETS)
    pairs = pairs_of(T1_TARGETS, T1_ZONES)
    ntargets = len(expand(T1_TARGETS))
    exp = model_listed(w.state, T1_TARGETS, T1_ZONES)
    run_once(conf, fails, "baseline cycle")
    base_state = db_state(db)
    n0 = len(db_events(db))

    # (a) The resolver never answers (every zone times out).
    with rbl.FakeDNS("drop") as fake:
        conf_dead = write_conf(os.path.join(tmp, "t3-dead.conf"), fake.port, ctx.catalog, db,
                               T1_TARGETS, T1_ZONES, timeout="0.5s", tries=1)
        run_once(conf_dead, fails, "resolver never answers")
        if fake.queries == 0:
            fails.append("resolver never answers: blwatch sent no query to it")
    ev = db_events(db)[n0:]
    bad = [fmt_ev(e) for e in ev if e["type"] in PAIR_EVENTS]
    if bad:
        fails.append("timeouts: pair events recorded (timeouts never list or delist): %s" % bad)
    unknown = set(pairs) - set(exp)
    st = check_state(db, exp, fails, "timeouts", unknown_expected=unknown)
    for k in exp:
        if k in st and k in base_state and st[k]["since"] != base_state[k]["since"]:
            fails.append("timeouts: %s@%s listing since moved" % k)
    for k in unknown:
        if k in st and st[k]["result"] != "error":
            fails.append("timeouts: %s@%s stored as %r, expected 'error'" % (k[0], k[1], st[k]["result"]))
    doc = status_json(conf, fails, "timeouts", want_exit=1)
    check_status(doc, exp, fails, "timeouts", labels, ntargets, len(T1_ZONES), len(pairs), unknown)

    # (b) One zone (p-a) moved to a name nobody serves (REFUSED rcode).
    cat_gone = os.path.join(tmp, "catalog-gone.conf")
    with open(cat_gone, "w") as f:
        f.write(catalog_text({"p-a": {"zone": "gone.pl.test"}}))
    conf_gone = write_conf(os.path.join(tmp, "t3-gone.conf"), w.srv.port, cat_gone, db,
                           T1_TARGETS, T1_ZONES)
    n1 = len(db_events(db))
    run_once(conf_gone, fails, "p-a not served")
    ev = db_events(db)[n1:]
    bad = [fmt_ev(e) for e in ev if e["type"] in PAIR_EVENTS]
    if bad:
        fails.append("p-a not served: pair events recorded: %s" % bad)
    unknown_b = set(k for k in pairs if k[1] == "p-a") - set(exp)
    check_state(db, exp, fails, "p-a not served", unknown_expected=unknown_b)

    # (c) Back to normal: unknown rows go, listings stay, no events.
    n2 = len(db_events(db))
    run_once(conf, fails, "zones answer again")
    ev = db_events(db)[n2:]
    bad = [fmt_ev(e) for e in ev if e["type"] in PAIR_EVENTS]
    if bad:
        fails.append("zones answer again: pair events recorded: %s" % bad)
    st = check_state(db, exp, fails, "zones answer again", unknown_expected=set())
    for k in exp:
        if k in st and k in base_state and st[k]["since"] != base_state[k]["since"]:
            fails.append("zones answer again: %s@%s listing since moved" % k)
    doc = status_json(conf, fails, "zones answer again", want_exit=1)
    check_status(doc, exp, fails, "zones answer again", labels, ntargets, len(T1_ZONES), len(pairs), set())
    ctx.report("3. zones that stop answering (timeouts; REFUSED rcode): listings stay, no "
               "delisting, status shows the unknown results", fails)


T4_TARGETS = [("ip", "192.0.2.20", "victim"), ("ip", "192.0.2.21", None), ("ip", "192.0.2.10", None)]
T4_ZONES = ["p-a", "p-w", "p-x", "p-r"]


def t4_bad(state):
    """p-w lists everything, p-x lists nothing, p-r refuses everything;
    p-a (healthy) lists 192.0.2.21."""
    s = copy.deepcopy(state)
    s["p-w"] = [{"0.0.0.0/0": ("127.0.0.2", "W: everything")}]
    s["p-x"] = [{}]
    s["p-r"] = [{"0.0.0.0/0": ("127.255.255.254", None)}]
    s["p-a"][0]["192.0.2.21"] = ("127.0.0.2", "A: 192.0.2.21")
    return s


def test_zone_health(ctx):
    """4. Wildcard, dead and refusing zones: one zone_unhealthy each, no
    per-target events, listings kept; zone_healthy when fixed."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    db = os.path.join(tmp, "t4.db")
    conf = write_conf(os.path.join(tmp, "t4.conf"), w.srv.port, ctx.catalog, db, T4_TARGETS, T4_ZONES)
    labels = labels_of(T4_TARGETS)
    pairs = pairs_of(T4_TARGETS, T4_ZONES)
    ntargets = len(expand(T4_TARGETS))
    bad_zones = ["p-w", "p-x", "p-r"]

    exp0 = model_listed(w.state, T4_TARGETS, T4_ZONES)
    assert set(("192.0.2.20", z) for z in bad_zones) <= set(exp0)
    run_once(conf, fails, "healthy cycle")
    check_pair_events(db_events(db), [("listed", k[0], k[1], m) for k, m in exp0.items()],
                      fails, "healthy cycle", labels)
    base_state = db_state(db)

    bad = t4_bad(w.state)
    w.apply(bad)
    health = {z: model_health(bad, ZBY[z]) for z in T4_ZONES}
    assert health == {"p-a": "ok", "p-w": "wildcard", "p-x": "dead", "p-r": "refused"}, health
    # Expected: earlier listings on the bad zones stay; p-a works normally.
    exp1 = dict((k, v) for k, v in exp0.items() if k[1] in bad_zones)
    exp1.update(model_listed(bad, T4_TARGETS, ["p-a"]))
    n0 = len(db_events(db))
    for cyc in (1, 2):
        run_once(conf, fails, "bad zones, cycle %d" % cyc)
    ev = db_events(db)[n0:]
    check_pair_events(ev, [("listed", "192.0.2.21", "p-a", exp1[("192.0.2.21", "p-a")])],
                      fails, "bad zones (2 cycles)", labels)
    for z in bad_zones:
        zev = [e for e in ev if e["type"] in ZONE_EVENTS and e["list"] == z]
        if [e["type"] for e in zev] != ["zone_unhealthy"]:
            fails.append("zone %s turned %s: expected exactly one zone_unhealthy event over two "
                         "cycles, got %s" % (z, health[z], [e["type"] for e in zev]))
        for e in zev:
            if e["target"] is not None or e["target_key"] is not None:
                fails.append("zone event %s carries a target %r" % (fmt_ev(e), e["target_key"]))
            if e["zone"] != ZBY[z]["zone"]:
                fails.append("zone event %s zone %r, expected %r" % (fmt_ev(e), e["zone"], ZBY[z]["zone"]))
    other = [fmt_ev(e) for e in ev if e["type"] in ZONE_EVENTS and e["list"] not in bad_zones]
    if other:
        fails.append("bad zones: zone events for healthy zones: %s" % other)
    zrows = {r["list"]: r for r in db_rows(db, "SELECT * FROM zones")}
    for z in T4_ZONES:
        if (zrows.get(z) or {}).get("health") != health[z]:
            fails.append("zones table: %s health %r, expected %r"
                         % (z, (zrows.get(z) or {}).get("health"), health[z]))
    st = check_state(db, exp1, fails, "bad zones", allow_unknown=True)
    for k in exp1:
        if k in st and k in base_state and (st[k]["codes"], st[k]["since"]) != \
                (base_state[k]["codes"], base_state[k]["since"]):
            fails.append("bad zones: listing %s@%s changed from %s to %s"
                         % (k[0], k[1], (base_state[k]["codes"], base_state[k]["since"]),
                            (st[k]["codes"], st[k]["since"])))
    # status: the kept listings, and the other pairs of the bad zones as unknown.
    unknown = set(k for k in pairs if k[1] in bad_zones) - set(exp1)
    doc = status_json(conf, fails, "bad zones", want_exit=1)
    check_status(doc, exp1, fails, "bad zones", labels, ntargets, len(T4_ZONES), len(pairs), unknown)

    # Fixed (data back to the baseline, p-a listing kept).
    fixed = copy.deepcopy(baseline())
    fixed["p-a"] = copy.deepcopy(bad["p-a"])
    w.apply(fixed)
    exp2 = model_listed(fixed, T4_TARGETS, T4_ZONES)
    n1 = len(db_events(db))
    run_once(conf, fails, "zones fixed")
    ev = db_events(db)[n1:]
    check_pair_events(ev, [], fails, "zones fixed", labels)
    for z in bad_zones:
        zev = [e["type"] for e in ev if e["type"] in ZONE_EVENTS and e["list"] == z]
        if zev != ["zone_healthy"]:
            fails.append("zone %s fixed: expected one zone_healthy event, got %s" % (z, zev))
    zrows = {r["list"]: r for r in db_rows(db, "SELECT * FROM zones")}
    for z in T4_ZONES:
        if (zrows.get(z) or {}).get("health") != "ok":
            fails.append("zones fixed: %s health %r, expected 'ok'" % (z, (zrows.get(z) or {}).get("health")))
    check_state(db, exp2, fails, "zones fixed", unknown_expected=set())
    h = history_json(conf, fails, "zones fixed")
    if h is not None:
        zh = [(e.get("type"), e.get("list"), e.get("target")) for e in h if e.get("type") in ZONE_EVENTS]
        want = sorted([("zone_healthy", z, None) for z in bad_zones] +
                      [("zone_unhealthy", z, None) for z in bad_zones])
        if sorted(zh) != want:
            fails.append("history --json zone events %s, expected %s" % (sorted(zh), want))
    ctx.report("4. wildcard, dead and refusing zones: one zone_unhealthy each, no per-target "
               "events, listings kept; zone_healthy when fixed", fails)


T5_TARGETS_A = [("ip", "192.0.2.10", "mx-out-1"), ("ip", "192.0.2.12", "old-mx"),
                ("ip", "192.0.2.13", None), ("ip", "192.0.2.11", None),
                ("domain", "spam.example", None)]
T5_ZONES = ["p-a", "p-b", "p-d"]


def test_first_start(ctx):
    """5a. `run` on a fresh database with interval = 1h: every target is
    checked at once (not paced over the hour), then the paced cycle goes
    on."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    db = os.path.join(tmp, "t5a.db")
    conf = os.path.join(tmp, "t5a.conf")
    write_conf(conf, w.srv.port, ctx.catalog, db, T5_TARGETS_A, T5_ZONES, interval="1h")
    exp = model_listed(w.state, T5_TARGETS_A, T5_ZONES)
    assert exp, "the T5 targets should have listings in the world"
    want = set((k[0], k[1]) for k in exp)
    bg = Bg(conf, ["run"], os.path.join(tmp, "t5a.log"))
    got = set()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not want <= got:
            time.sleep(0.25)
            if not bg.alive():
                raise HarnessError("`%s` exited (%r): %s" % (bg.cmd, bg.proc.returncode, bg.log()))
            got = set((e["target_key"], e["list"]) for e in db_events(db) if e["type"] == "listed")
        if not want <= got:
            fails.append("interval 1h, fresh database: within 10 s only %d of %d listings recorded "
                         "(missing %s): new targets should be checked at once, not paced; log:\n%s"
                         % (len(want & got), len(want), sorted(want - got)[:5], bg.log()[-1500:]))
        bg.send(signal.SIGTERM)
        if bg.wait(10) != 0:
            fails.append("SIGTERM: no clean exit within 10 s")
    finally:
        bg.close()
    ctx.report("5a. first start with interval = 1h: every never-checked target is checked at once",
               fails)


def test_sighup(ctx):
    """5. SIGHUP: a good config adding and removing targets takes effect
    promptly; a broken one is reported with FILE:LINE and the old stays."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    db = os.path.join(tmp, "t5.db")
    conf = os.path.join(tmp, "t5.conf")
    write_conf(conf, w.srv.port, ctx.catalog, db, T5_TARGETS_A, T5_ZONES, interval="1h")
    run_once(conf, fails, "initial run --once")
    bg = Bg(conf, ["run"], os.path.join(tmp, "t5.log"))
    try:
        time.sleep(1.5)
        if not bg.alive():
            raise HarnessError("`%s` exited at once (%r): %s" % (bg.cmd, bg.proc.returncode, bg.log()))
        # Good config: 192.0.2.12 removed, 203.0.113.9 (listed on p-a) added.
        targets_b = [t for t in T5_TARGETS_A if t[1] != "192.0.2.12"] + [("ip", "203.0.113.9", "new-mx")]
        write_conf(conf, w.srv.port, ctx.catalog, db, targets_b, T5_ZONES, interval="1h", atomic=True)
        exp_new = model_listed(w.state, [("ip", "203.0.113.9", "new-mx")], T5_ZONES)
        assert exp_new, "203.0.113.9 should be listed in the world"
        t_hup = time.monotonic()
        bg.send(signal.SIGHUP)
        deadline = t_hup + 10
        ok_new = ok_retired = False
        while time.monotonic() < deadline and not (ok_new and ok_retired):
            time.sleep(0.25)
            evs = db_events(db)
            ok_new = set(("listed", "203.0.113.9", l) for (_k, l) in exp_new) <= \
                set((e["type"], e["target_key"], e["list"]) for e in evs)
            ok_retired = bool(db_rows(db, "SELECT 1 FROM targets WHERE key = '192.0.2.12' "
                                          "AND retired IS NOT NULL"))
        if not ok_new:
            fails.append("SIGHUP adding 203.0.113.9 (interval 1h): no listed event for it within "
                         "10s (expected %s); daemon log:\n%s"
                         % (sorted(l for _k, l in exp_new), bg.log()[-1500:]))
        else:
            got = [e for e in db_events(db) if e["target_key"] == "203.0.113.9"]
            check_pair_events(got, [("listed", k[0], k[1], m) for k, m in exp_new.items()], fails,
                              "SIGHUP new target", labels_of(targets_b))
        if not ok_retired:
            fails.append("SIGHUP removing 192.0.2.12: targets row not retired within 10s")
        doc = status_json(conf, fails, "after SIGHUP")
        if doc is not None:
            shown = set(t.get("target") for t in doc["targets"])
            if "192.0.2.12" in shown:
                fails.append("after SIGHUP: status --json still shows the removed target 192.0.2.12")
            if doc["summary"].get("targets") != len(expand(targets_b)):
                fails.append("after SIGHUP: status summary.targets = %r, expected %d"
                             % (doc["summary"].get("targets"), len(expand(targets_b))))
        h = history_json(conf, fails, "history of the removed target", target="192.0.2.12")
        if h is not None and not any(e.get("type") == "listed" and e.get("list") == "p-a" for e in h):
            fails.append("the removed target's history is gone: `history 192.0.2.12 --json` gave %s" % h)

        # Broken config: an unknown key; it also drops 192.0.2.13 and adds
        # 203.0.113.10, which must not happen.
        targets_c = [t for t in targets_b if t[1] != "192.0.2.13"] + [("ip", "203.0.113.10", None)]
        write_conf(conf, w.srv.port, ctx.catalog, db, targets_c, T5_ZONES, interval="1h",
                   poller_extra=["colour = blue"], atomic=True)
        with open(conf) as f:
            badline = [i + 1 for i, l in enumerate(f.read().split("\n")) if l.startswith("colour")][0]
        mark = len(bg.log())
        bg.send(signal.SIGHUP)
        pat = re.escape("%s:%d:" % (os.path.basename(conf), badline))
        if not bg.wait_log(pat, 5.0, start=mark):
            fails.append("broken config on SIGHUP: the log should name %s:%d:, got:\n%s"
                         % (conf, badline, bg.log()[mark:][-800:]))
        time.sleep(2.0)
        if not bg.alive():
            fails.append("broken config on SIGHUP: the daemon exited (%r)" % bg.proc.returncode)
        rows = {r["key"]: r for r in db_rows(db, "SELECT key, retired FROM targets")}
        if "203.0.113.10" in rows:
            fails.append("broken config on SIGHUP was applied: 203.0.113.10 became a target")
        if rows.get("192.0.2.13", {}).get("retired") is not None:
            fails.append("broken config on SIGHUP was applied: 192.0.2.13 was retired")

        # SIGTERM: exit 0 within a few seconds.
        t0 = time.monotonic()
        bg.send(signal.SIGTERM)
        rc = bg.wait(10)
        if rc is None:
            fails.append("SIGTERM: the daemon did not exit within 10s")
        elif rc != 0 or time.monotonic() - t0 > 5:
            fails.append("SIGTERM: exit %d after %.1fs, expected 0 within 5s"
                         % (rc, time.monotonic() - t0))
    finally:
        bg.close()
    ctx.report("5. SIGHUP: added target checked and removed one retired at once (interval 1h); "
               "broken config reported with FILE:LINE, old one kept; SIGTERM exit 0", fails)


BULK_TARGETS = [("ip", BULK_NET, "bulk"), ("ip", "192.0.2.10", "mx-out-1")]
BULK_ZONES = ["p-a", "p-b", "p-w"]


def check_complete(db, state, fails, where, labels):
    """After a completed cycle on a bulk DB: state == the zone data, every
    transition once (events per pair alternate listed/delisted, starting
    with listed), the latest cycle ended."""
    exp = model_listed(state, BULK_TARGETS, BULK_ZONES)
    check_state(db, exp, fails, where)
    # Replay every pair's events: listed only when not listed, changed only
    # to other codes while listed, delisted only while listed; the end
    # must be the zone data.  A duplicate is a replay error.
    seq = {}
    for e in db_events(db):
        if e["type"] in ZONE_EVENTS:
            fails.append("%s: unexpected zone event %s" % (where, fmt_ev(e)))
            continue
        seq.setdefault((e["target_key"], e["list"]), []).append(e)
    for k, evs in sorted(seq.items()):
        cur = None
        for e in evs:
            t = e["type"]
            ok = ((t == "listed" and cur is None) or
                  (t == "changed" and cur is not None and e["codes"] != cur) or
                  (t == "delisted" and cur is not None))
            if not ok:
                fails.append("%s: %s@%s events %s: each transition must be recorded exactly once"
                             % (where, k[0], k[1], [(x["type"], x["codes"]) for x in evs]))
                break
            cur = None if t == "delisted" else e["codes"]
        else:
            want = exp[k]["codes"] if k in exp else None
            if cur != want:
                fails.append("%s: %s@%s events end with codes %s, the zone data says %s"
                             % (where, k[0], k[1], cur, want))
    for k in exp:
        if k not in seq:
            fails.append("%s: %s@%s is listed but has no listed event" % (where, k[0], k[1]))
    last = db_rows(db, "SELECT * FROM cycles ORDER BY id DESC LIMIT 1")
    if not last or last[0]["ended"] is None:
        fails.append("%s: the last cycle has not ended: %r" % (where, last))
    elif last[0]["targets"] != len(expand(BULK_TARGETS)):
        fails.append("%s: last cycle checked %r targets, expected %d"
                     % (where, last[0]["targets"], len(expand(BULK_TARGETS))))
    return exp


def test_sigterm(ctx):
    """6. SIGTERM mid-cycle: exit 0 within ~5 s, DB fine, cycle not ended;
    a run --once then completes the work."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(bulk_world(1))
    db = os.path.join(tmp, "t6.db")
    labels = labels_of(BULK_TARGETS)
    variants = [("run (paced, interval 1m), SIGTERM", ["run"], "1m", signal.SIGTERM),
                ("run --once, SIGINT", ["run", "--once"], "1h", signal.SIGINT)]
    for i, (label, args, interval, sig) in enumerate(variants):
        conf = write_conf(os.path.join(tmp, "t6-%d.conf" % i), w.srv.port, ctx.catalog, db,
                          BULK_TARGETS, BULK_ZONES, interval=interval, rate=2000)
        bg = Bg(conf, args, os.path.join(tmp, "t6-%d.log" % i))
        try:
            time.sleep(2.5)
            if not bg.alive():
                fails.append("%s: exited (%r) before SIGTERM; the test expects a cycle of several "
                             "seconds; log: %s" % (label, bg.proc.returncode, bg.log()[-500:]))
                continue
            t0 = time.monotonic()
            bg.send(sig)
            rc = bg.wait(15)
            dt = time.monotonic() - t0
            if rc is None:
                fails.append("%s mid-cycle: still running after 15s" % label)
                continue
            if rc != 0 or dt > 5.0:
                fails.append("%s mid-cycle: exit %d after %.1fs, expected 0 within 5s; log: %s"
                             % (label, rc, dt, bg.log()[-600:]))
        finally:
            bg.close()
        try:
            con = db_connect(db)
            ic = con.execute("PRAGMA integrity_check").fetchall()
            cyc = con.execute("SELECT id, ended FROM cycles ORDER BY id").fetchall()
            con.close()
            if ic != [("ok",)]:
                fails.append("%s: integrity_check after SIGTERM: %s" % (label, ic))
            if not cyc or cyc[-1][1] is not None:
                fails.append("%s: after the signal mid-cycle the cycle row should have ended NULL, "
                             "cycles: %s" % (label, cyc))
        except sqlite3.Error as e:
            fails.append("%s: database unreadable after SIGTERM: %s" % (label, e))
        if i == 0:
            p = blwatch(conf, ["status", "--nagios"])
            if p.returncode != 3 or "UNKNOWN" not in p.stdout:
                fails.append("status --nagios with no completed cycle: exit %d %r, expected 3 UNKNOWN"
                             % (p.returncode, p.stdout.strip()))
    conf = write_conf(os.path.join(tmp, "t6.conf"), w.srv.port, ctx.catalog, db,
                      BULK_TARGETS, BULK_ZONES, rate=2000)
    run_once(conf, fails, "run --once after SIGTERM")
    check_complete(db, w.state, fails, "after SIGTERM + run --once", labels)
    ctx.report("6. SIGTERM/SIGINT mid-cycle (run and run --once, %s x %d zones, rate 2000): exit 0 "
               "within 5s, cycle left open, run --once completes" % (BULK_NET, len(BULK_ZONES)), fails)


def test_kill9(ctx):
    """7. kill -9 at seeded random moments, then run --once: nothing lost,
    nothing twice, outbox rows for every event per channel."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(bulk_world(1))
    db = os.path.join(tmp, "t7.db")
    channels = ["hook-a", "hook-b"]
    conf = write_conf(os.path.join(tmp, "t7.conf"), w.srv.port, ctx.catalog, db,
                      BULK_TARGETS, BULK_ZONES, rate=2000, alerts=channels, confirm="1s")
    labels = labels_of(BULK_TARGETS)
    rnd = random.Random(ctx.seed)
    delays = [round(rnd.uniform(0.3, 5.0), 2) for _ in range(4)]
    print("      kill -9 moments (seed %d): %s s" % (ctx.seed, delays), flush=True)
    for n, delay in enumerate(delays):
        if n == 2:   # the data changes between the 2nd and 3rd kill
            w.apply(bulk_world(2))
        bg = Bg(conf, ["run", "--once"], os.path.join(tmp, "t7-%d.log" % n))
        try:
            time.sleep(delay)
            if not bg.alive():
                fails.append("kill %d: run --once had already exited (%r) after %.1fs; the test "
                             "expects a longer cycle" % (n + 1, bg.proc.returncode, delay))
            bg.send(signal.SIGKILL)
            bg.wait(10)
        finally:
            bg.close()
        try:
            con = db_connect(db)
            ic = con.execute("PRAGMA integrity_check").fetchall()
            con.close()
            if ic != [("ok",)]:
                fails.append("after kill %d at %.2fs: integrity_check %s" % (n + 1, delay, ic))
        except sqlite3.Error as e:
            if delay > 0.5 or os.path.exists(db):
                fails.append("after kill %d at %.2fs: database unreadable: %s" % (n + 1, delay, e))
    run_once(conf, fails, "run --once after the kills", timeout=180)
    try:
        con = db_connect(db)
        ic = con.execute("PRAGMA integrity_check").fetchall()
        con.close()
        if ic != [("ok",)]:
            fails.append("final integrity_check: %s" % ic)
    except sqlite3.Error as e:
        fails.append("final database unreadable: %s" % e)
    exp = check_complete(db, w.state, fails, "after %d kills + run --once" % len(delays), labels)
    # Pairs listed in both phases with the same codes: exactly one listed event.
    # Outbox: one row per event and channel.
    evs = db_events(db)
    ob = db_rows(db, "SELECT event, channel, count(*) AS n FROM outbox GROUP BY event, channel")
    have = {(r["event"], r["channel"]): r["n"] for r in ob}
    for e in evs:
        for ch in channels:
            n = have.get((e["id"], ch), 0)
            if n != 1:
                fails.append("event %d (%s): %d outbox rows for channel %s, expected 1"
                             % (e["id"], fmt_ev(e), n, ch))
    orphans = set(ev for ev, _ch in have) - set(e["id"] for e in evs)
    if orphans:
        fails.append("outbox rows for events that do not exist: %s" % sorted(orphans)[:20])
    extra_ch = set(ch for _ev, ch in have) - set(channels)
    if extra_ch:
        fails.append("outbox rows for unknown channels: %s" % extra_ch)
    print("      (%d listed pairs, %d events, %d outbox rows)" % (len(exp), len(evs), sum(have.values())))
    ctx.report("7. kill -9 at %d moments (seed %d) then run --once: DB intact, state complete, each "
               "transition once, outbox row per event and channel" % (len(delays), ctx.seed), fails)


def test_nagios(ctx):
    """8. status --nagios: CRITICAL, WARNING, OK, UNKNOWN; status exits."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    # CRITICAL: listings.
    db = os.path.join(tmp, "t8-listed.db")
    conf = write_conf(os.path.join(tmp, "t8-listed.conf"), w.srv.port, ctx.catalog, db, T1_TARGETS, T1_ZONES)
    run_once(conf, fails, "listed world")
    exp = model_listed(w.state, T1_TARGETS, T1_ZONES)
    p = blwatch(conf, ["status", "--nagios"])
    line = p.stdout.strip()
    if p.returncode != 2 or not re.search(r"\bCRITICAL\b", line) or "\n" in line:
        fails.append("`%s` with listings: exit %d %r, expected exit 2 and one CRITICAL line"
                     % (p.cmd, p.returncode, line))
    else:
        for key, zid in exp:
            if key not in line or zid not in line:
                fails.append("CRITICAL line should name %s and %s: %r" % (key, zid, line))
    # OK: clean targets on healthy zones.
    clean = [("ip", "192.0.2.99", None), ("domain", "clean.example", None)]
    db = os.path.join(tmp, "t8-clean.db")
    conf = write_conf(os.path.join(tmp, "t8-clean.conf"), w.srv.port, ctx.catalog, db, clean, T1_ZONES)
    run_once(conf, fails, "clean world")
    p = blwatch(conf, ["status", "--nagios"])
    if p.returncode != 0 or not re.search(r"\bOK\b", p.stdout):
        fails.append("`%s` all clean: exit %d %r, expected 0 OK" % (p.cmd, p.returncode, p.stdout.strip()))
    p = blwatch(conf, ["status"])
    if p.returncode != 0:
        fails.append("`%s` all clean: exit %d, expected 0" % (p.cmd, p.returncode))
    doc = status_json(conf, fails, "all clean", want_exit=0)
    check_status(doc, {}, fails, "all clean", {}, 2, len(T1_ZONES), len(pairs_of(clean, T1_ZONES)), set())
    # WARNING: nothing listed, some unknown (a resolver that never answers).
    db = os.path.join(tmp, "t8-unknown.db")
    with rbl.FakeDNS("drop") as fake:
        conf = write_conf(os.path.join(tmp, "t8-unknown.conf"), fake.port, ctx.catalog, db, clean,
                          T1_ZONES, timeout="0.5s", tries=1)
        run_once(conf, fails, "resolver never answers")
    p = blwatch(conf, ["status", "--nagios"])
    if p.returncode != 1 or not re.search(r"\bWARNING\b", p.stdout):
        fails.append("`%s` unknown only: exit %d %r, expected 1 WARNING" % (p.cmd, p.returncode, p.stdout.strip()))
    p = blwatch(conf, ["status"])
    if p.returncode != 2:
        fails.append("`%s` unknown only: exit %d, expected 2" % (p.cmd, p.returncode))
    # UNKNOWN: no database.
    conf = write_conf(os.path.join(tmp, "t8-nodb.conf"), w.srv.port, ctx.catalog,
                      os.path.join(tmp, "never-created.db"), clean, T1_ZONES)
    p = blwatch(conf, ["status", "--nagios"])
    if p.returncode != 3 or not re.search(r"\bUNKNOWN\b", p.stdout):
        fails.append("`%s` no database: exit %d %r, expected 3 UNKNOWN" % (p.cmd, p.returncode, p.stdout.strip()))
    if os.path.exists(os.path.join(tmp, "never-created.db")):
        fails.append("status --nagios created the database file")
    ctx.report("8. status --nagios: CRITICAL with a listing (names them), OK clean, WARNING "
               "unknown, UNKNOWN without a database; status exit 1/0/2", fails)


def test_errors(ctx):
    """9. Config errors: 78 with FILE:LINE; database problems: 1, clear
    message, a foreign file left untouched."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    targets = [("ip", "192.0.2.10", None)]
    for label, extra in (("unknown key", ["colour = blue"]), ("interval below 60s", None)):
        conf = os.path.join(tmp, "t9-%s.conf" % label.split()[0])
        write_conf(conf, w.srv.port, ctx.catalog, os.path.join(tmp, "t9.db"), targets, T1_ZONES,
                   interval="30s" if extra is None else "1h", poller_extra=extra or [])
        with open(conf) as f:
            lines = f.read().split("\n")
        key = "colour" if extra else "interval"
        lineno = [i + 1 for i, l in enumerate(lines) if l.startswith(key)][0]
        p = blwatch(conf, ["run", "--once"])
        want = "%s:%d:" % (os.path.basename(conf), lineno)
        if p.returncode != 78 or want not in p.stderr:
            fails.append("`%s` (%s): exit %d, stderr %r; expected exit 78 and %r"
                         % (p.cmd, label, p.returncode, p.stderr.strip()[:300], want))
        if os.path.exists(os.path.join(tmp, "t9.db")):
            fails.append("%s: run --once created the database despite the config error" % label)
    # Database in a directory that does not exist.
    missing = os.path.join(tmp, "no-such-dir", "sub", "blwatch.db")
    conf = write_conf(os.path.join(tmp, "t9-nodir.conf"), w.srv.port, ctx.catalog, missing, targets, T1_ZONES)
    p = blwatch(conf, ["run", "--once"])
    if p.returncode != 1 or missing not in p.stderr:
        fails.append("`%s` (database in a missing directory): exit %d, stderr %r; expected exit 1 "
                     "and a message naming %s" % (p.cmd, p.returncode, p.stderr.strip()[:300], missing))
    if os.path.exists(os.path.dirname(missing)):
        fails.append("run --once created the missing directory %s" % os.path.dirname(missing))
    # A file that is not an SQLite database.
    notdb = os.path.join(tmp, "not-a-database.txt")
    blob = ("These are somebody's notes, not an SQLite database.\n" * 200).encode()
    with open(notdb, "wb") as f:
        f.write(blob)
    conf = write_conf(os.path.join(tmp, "t9-notdb.conf"), w.srv.port, ctx.catalog, notdb, targets, T1_ZONES)
    for args in (["run", "--once"], ["status"], ["history"]):
        p = blwatch(conf, args)
        if p.returncode != 1 or notdb not in p.stderr:
            fails.append("`%s` (database is not SQLite): exit %d, stderr %r; expected exit 1 and a "
                         "message naming the file" % (p.cmd, p.returncode, p.stderr.strip()[:300]))
        with open(notdb, "rb") as f:
            if f.read() != blob:
                fails.append("`%s` modified the file that is not a database" % p.cmd)
    leftovers = [n for n in os.listdir(tmp) if n.startswith("not-a-database.txt") and n != "not-a-database.txt"]
    if leftovers:
        fails.append("files left next to the foreign file: %s" % leftovers)
    ctx.report("9. run --once: config errors exit 78 with FILE:LINE; database in a missing "
               "directory or not SQLite: exit 1, clear message, file untouched", fails)


def test_logging(ctx):
    """10. run logs one line per event to stderr: "blwatch: " lines on a
    terminal or file, "<N>" priority prefixes when stderr is the journal
    stream named by $JOURNAL_STREAM.  The first line names the database
    in full although the config gives it relative to the working folder."""
    fails = []
    w, tmp = ctx.world, ctx.tmp
    w.apply(baseline())
    exp = model_listed(w.state, T1_TARGETS, T1_ZONES)
    for journal in (False, True):
        db = "t10-%d.db" % journal  # relative to cwd=tmp below
        conf = write_conf(os.path.join(tmp, "t10-%d.conf" % journal), w.srv.port, ctx.catalog, db,
                          T1_TARGETS, T1_ZONES)
        logpath = os.path.join(tmp, "t10-%d.log" % journal)
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        with open(logpath, "wb") as logf:
            if journal:
                st = os.fstat(logf.fileno())
                env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
            cmd = [BLWATCH, "-c", conf, "run", "--once"]
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=logf, env=env, timeout=120, cwd=tmp)
        with open(logpath, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        check_sanitizer(" ".join(cmd), log)
        what = "stderr is the journal" if journal else "stderr is a file"
        if p.returncode != 0:
            fails.append("%s: `%s` exit %d; log %s" % (what, " ".join(cmd), p.returncode, log[-400:]))
        lines = [l for l in log.split("\n") if l.strip()]
        if not lines:
            fails.append("%s: run --once logged nothing (%d events)" % (what, len(exp)))
        full = os.path.join(os.path.realpath(tmp), db)
        if not lines or "started:" not in lines[0] or not lines[0].endswith(" database " + full):
            fails.append("%s: the first line should be 'started: ... database %s', not %r"
                         % (what, full, lines[:1]))
        pat = r"^<[0-7]>\S" if journal else r"^blwatch: \S"
        bad = [l for l in lines if not re.match(pat, l)]
        if bad:
            fails.append("%s: lines should match /%s/, these do not: %s" % (what, pat, bad[:5]))
        for key, zid in sorted(exp):
            if not any(key in l and zid in l for l in lines):
                fails.append("%s: no log line for the listing of %s on %s" % (what, key, zid))
    ctx.report("10. run logs a line per event; 'blwatch: ' prefix on a file, '<N>' syslog "
               "priorities when stderr is the journal", fails)


TESTS = [("listings", test_listings), ("confirm", test_confirm), ("unanswered", test_unanswered),
         ("zonehealth", test_zone_health), ("firststart", test_first_start),
         ("sighup", test_sighup), ("sigterm", test_sigterm),
         ("kill9", test_kill9), ("nagios", test_nagios), ("errors", test_errors),
         ("logging", test_logging)]


class Ctx:
    def __init__(self, tmp, world, catalog, seed):
        self.tmp, self.world, self.catalog, self.seed = tmp, world, catalog, seed
        self.results = []

    def report(self, name, failures):
        self.results.append((name, failures))
        print("%s  %s" % ("PASS" if not failures else "FAIL", name), flush=True)
        for f in failures[:40]:
            print("      - " + f.replace("\n", "\n        "))
        if len(failures) > 40:
            print("      ... and %d more" % (len(failures) - 40))
        sys.stdout.flush()


from results import finish as results_finish, parse_args as results_parse_args  # noqa: E402


def main():
    global BLWATCH
    parsed = results_parse_args(sys.argv[1:], __doc__, TESTS)
    if isinstance(parsed, int):
        return parsed
    BLWATCH, wanted = parsed
    seed = int(os.environ.get("BLWATCH_TEST_SEED", "5782"))
    tmp = rbl.make_workdir("blwatch-poller-")
    world = None
    t_start = time.monotonic()
    harness_problem = False
    try:
        world = World(tmp)
        world.start()
        catalog = os.path.join(tmp, "catalog.conf")
        with open(catalog, "w") as f:
            f.write(catalog_text())
        print("      rbldnsd on 127.0.0.1:%d, data in %s, seed %d" % (world.srv.port, tmp, seed), flush=True)
        ctx = Ctx(tmp, world, catalog, seed)
        for name, fn in TESTS:
            if name not in wanted:
                continue
            t0 = time.monotonic()
            try:
                fn(ctx)
            except HarnessError as e:
                harness_problem = True
                ctx.report("%s (harness)" % (fn.__doc__ or name).strip().split("\n")[0], ["harness problem: %s" % e])
            except Exception:
                ctx.report("%s" % (fn.__doc__ or name).strip().split("\n")[0],
                           ["exception:\n" + traceback.format_exc()])
            finally:
                _kill_children()
            print("      (%s: %.1fs)" % (name, time.monotonic() - t0), flush=True)
    except HarnessError as e:
        print("harness problem: %s" % e)
        return 2
    finally:
        _kill_children()
        if world is not None:
            world.srv.stop()
        if os.environ.get("BLWATCH_TEST_KEEP"):
            print("      kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    return results_finish(ctx.results, t_start, harness_problem, SANITIZER_REPORTS)


if __name__ == "__main__":
    sys.exit(main())
