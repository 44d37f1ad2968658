"""The one description of the integration-test world.

ZONES below is the single source of truth.  From it this module generates
  * the test zone catalog (blwatch's INI catalog format, SPEC "Zone catalog"),
  * the rbldnsd data files and the rbldnsd zone specs,
  * the expected result of every (target, zone) pair (SPEC "What a lookup
    means"), independently of blwatch.

A committed copy of the generated files lives in tests/integration/data/
(for reading and for other tests); test_check.py fails if it drifts.
Regenerate it with:

    /usr/bin/python3 tests/integration/testdata.py --write tests/integration/data
"""

import ipaddress
import os
import sys

# --------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------
# Zone fields:
#   id, name, zone, kind (list), codes [(lo, hi, meaning)], refusals [(lo, hi,
#   meaning)], bitmask [(bit, meaning)], delist, default, testpoints, dqs,
#   max_daily, served (does rbldnsd serve it), datasets.
# Dataset: (file, rbldnsd type, [(key, A value, TXT template or None)]).
#   TXT None = the entry has no TXT record.  In a template "$" is what rbldnsd
#   substitutes: the queried address for IP datasets, the listed entry (without
#   wildcard prefix) for dnset.
# Several datasets of one zone are merged by rbldnsd: a key present in two of
# them answers with both A records (and both TXT records).

SOA = "$SOA 60 ns.bl.test. hostmaster.bl.test. 1 60 60 600 60\n$NS 60 ns.bl.test.\n"

ZONES = [
    dict(id="t-multi", name="Test Multi (ZEN style)", zone="multi.bl.test",
         kind=["ip4", "ip6"], kind_text="ip4, ip6",
         codes=[("127.0.0.2", "127.0.0.2", "SBL: spam source"),
                ("127.0.0.3", "127.0.0.3", "CSS: snowshoe spam"),
                ("127.0.0.4", "127.0.0.7", "XBL: exploited host"),
                ("127.0.0.10", "127.0.0.11", "PBL: end-user address range")],
         refusals=[("127.255.255.254", "127.255.255.254", "query came through a public resolver"),
                   ("127.255.255.255", "127.255.255.255", "query limit exceeded")],
         bitmask=[], delist="https://check.multi.test/", default=True, testpoints=True,
         dqs="multi.dq.test", max_daily=1000000, served=True,
         datasets=[
             ("multi-sbl.data", "ip4set", [
                 ("127.0.0.2", "127.0.0.2", "SBL test point $"),
                 ("192.0.2.10", "127.0.0.2", "SBL: https://multi.test/sbl/$"),
                 ("198.51.100.7", "127.0.0.2", "SBL: https://multi.test/sbl/$"),
             ]),
             ("multi-xbl.data", "ip4set", [
                 ("192.0.2.10", "127.0.0.4", "XBL: $ is exploited"),
                 ("192.0.2.12", "127.0.0.4", "XBL: $ is exploited"),
                 ("192.0.2.14", "127.0.0.6", None),
             ]),
             ("multi-pbl.data", "ip4set", [
                 ("192.0.2.12", "127.0.0.10", "PBL: $ is dynamic"),
                 ("192.0.2.14", "127.0.0.11", "PBL: $ is end-user space"),
                 ("198.51.100.7", "127.0.0.2", "CSS duplicate for $"),
                 ("198.51.100.99", "127.0.0.99", "odd code for $"),
             ]),
             # No ::ffff:7f00:2 entry here: rbldnsd answers IPv4-mapped
             # names (the IPv6 test points) from the zone's ip4 datasets.
             ("multi-v6.data", "ip6trie", [
                 ("2001:db8::25", "127.0.0.3", "CSS: $ snowshoe"),
             ]),
         ]),
    dict(id="t-v6", name="Test IPv6 list", zone="v6.bl.test",
         kind=["ip6"], kind_text="ip6",
         codes=[("127.0.0.2", "127.0.0.2", "IPv6 spam source"),
                ("127.0.0.5", "127.0.0.5", "IPv6 hijacked range")],
         refusals=[], bitmask=[], delist="https://v6.test/remove", default=True,
         testpoints=True, dqs=None, max_daily=None, served=True,
         datasets=[
             ("v6.data", "ip6trie", [
                 ("::ffff:7f00:2", "127.0.0.2", "v6 test point"),
                 ("2001:db8::25", "127.0.0.2", "v6 spam from $"),
                 ("2001:db8:1::/48", "127.0.0.5", "hijacked range, $"),
             ]),
         ]),
    dict(id="t-dom", name="Test domain list", zone="dom.bl.test",
         kind=["domain"], kind_text="domain",
         codes=[("127.0.1.2", "127.0.1.2", "spam domain"),
                ("127.0.1.3", "127.0.1.3", "phishing domain"),
                ("127.0.1.4", "127.0.1.6", "abused redirector")],
         refusals=[], bitmask=[], delist="https://dom.test/", default=True,
         testpoints=True, dqs=None, max_daily=None, served=True,
         datasets=[
             ("dom.data", "dnset", [
                 ("test", "127.0.1.2", "test point"),
                 ("spam.example", "127.0.1.2", "Domain $ sends spam"),
                 ("phish.example", "127.0.1.3", "Phishing: $"),
                 (".badhost.example", "127.0.1.5", "Abused: $ and subdomains"),
             ]),
         ]),
    dict(id="t-uribl", name="Test URIBL-style bitmask list", zone="uribl.bl.test",
         kind=["domain"], kind_text="domain",
         codes=[], refusals=[("127.0.0.1", "127.0.0.1", "query refused")],
         bitmask=[(2, "black"), (4, "grey"), (8, "red")],
         delist="https://uribl.test/", default=True, testpoints=True, dqs=None,
         max_daily=None, served=True,
         datasets=[
             ("uribl-a.data", "dnset", [
                 ("test", "127.0.0.14", "test point"),
                 ("spam.example", "127.0.0.2", "black: $"),
                 ("grey.example", "127.0.0.4", "grey: $"),
                 ("multi.example", "127.0.0.10", "black+red: $"),
                 ("refused.example", "127.0.0.1", None),
                 ("both.example", "127.0.0.2", "part a: $"),
             ]),
             ("uribl-b.data", "dnset", [
                 ("both.example", "127.0.0.8", "part b: $"),
             ]),
         ]),
    dict(id="t-sh", name="Test Spamhaus-style refusals", zone="sh.bl.test",
         kind=["ip4"], kind_text="ip4",
         codes=[("127.0.0.2", "127.0.0.2", "SBL: spam source"),
                ("127.0.0.9", "127.0.0.9", "DROP: hijacked netblock")],
         refusals=[("127.255.255.254", "127.255.255.254", "query came through a public resolver"),
                   ("127.255.255.255", "127.255.255.255", "query limit exceeded")],
         bitmask=[], delist="https://sh.test/", default=True, testpoints=True,
         dqs=None, max_daily=None, served=True,
         datasets=[
             ("sh.data", "ip4set", [
                 ("127.0.0.2", "127.0.0.2", None),
                 ("198.51.100.7", "127.0.0.2", "SBL $"),
                 ("198.51.100.20", "127.255.255.254", None),
                 ("198.51.100.21", "127.255.255.255", None),
                 ("192.0.2.8/30", "127.0.0.9", "DROP $"),
             ]),
         ]),
    dict(id="t-bogus", name="Test list with a hijacked answer", zone="bogus.bl.test",
         kind=["ip4"], kind_text="ip4",
         codes=[("127.0.0.2", "127.0.0.2", "listed")], refusals=[], bitmask=[],
         delist=None, default=True, testpoints=True, dqs=None, max_daily=None, served=True,
         datasets=[
             ("bogus.data", "ip4set", [
                 ("127.0.0.2", "127.0.0.2", None),
                 ("198.51.100.30", "10.9.9.9", "parked"),
                 ("198.51.100.31", "127.0.0.2", None),
             ]),
         ]),
    dict(id="t-wild", name="Test list that lists everything", zone="wild.bl.test",
         kind=["ip4"], kind_text="ip4",
         codes=[("127.0.0.2", "127.0.0.2", "listed")], refusals=[], bitmask=[],
         delist=None, default=True, testpoints=True, dqs=None, max_daily=None, served=True,
         datasets=[
             ("wild.data", "ip4trie", [
                 ("0.0.0.0/0", "127.0.0.2", "everything is listed"),
             ]),
         ]),
    dict(id="t-dead", name="Test dead list", zone="dead.bl.test",
         kind=["ip4"], kind_text="ip4",
         codes=[("127.0.0.2", "127.0.0.2", "listed")], refusals=[], bitmask=[],
         delist=None, default=True, testpoints=True, dqs=None, max_daily=None, served=True,
         datasets=[
             ("dead.data", "ip4set", [
                 ("192.0.2.10", "127.0.0.2", "stale entry $"),
             ]),
         ]),
    dict(id="t-notp", name="Test list without test points", zone="notp.bl.test",
         kind=["ip4"], kind_text="ip4",
         codes=[("127.0.0.3", "127.0.0.3", "policy listing")], refusals=[], bitmask=[],
         delist="https://notp.test/", default=True, testpoints=False, dqs=None,
         max_daily=None, served=True,
         datasets=[
             ("notp.data", "ip4set", [
                 ("192.0.2.11", "127.0.0.3", "notp: $"),
                 ("203.0.113.2", "127.0.0.3", "notp: $"),
             ]),
         ]),
    dict(id="t-gone", name="Test list nobody serves", zone="gone.bl.test",
         kind=["ip4", "domain"], kind_text="ip4 domain",
         codes=[("127.0.0.2", "127.0.0.2", "listed")], refusals=[], bitmask=[],
         delist=None, default=True, testpoints=True, dqs=None, max_daily=None,
         served=False, datasets=[]),
    dict(id="t-optin", name="Test opt-in list", zone="optin.bl.test",
         kind=["ip4"], kind_text="ip4",
         codes=[("127.0.0.2", "127.0.0.2", "opt-in listing")], refusals=[], bitmask=[],
         delist=None, default=False, testpoints=True, dqs=None, max_daily=None, served=True,
         datasets=[
             ("optin.data", "ip4set", [
                 ("127.0.0.2", "127.0.0.2", None),
                 ("203.0.113.1", "127.0.0.2", "optin $"),
             ]),
         ]),
    # Not in the main catalog (extra=True): a list that refuses every query,
    # test points included, as Spamhaus does through a public resolver.  Its
    # pairs must be unknown (refused or untrusted), never clear.
    dict(id="t-blocked", name="Test list refusing everything", zone="blocked.bl.test",
         kind=["ip4"], kind_text="ip4",
         codes=[("127.0.0.2", "127.0.0.2", "SBL: spam source")],
         refusals=[("127.255.255.254", "127.255.255.254", "query came through a public resolver")],
         bitmask=[], delist=None, default=True, testpoints=True, dqs=None, max_daily=None,
         served=True, extra=True,
         datasets=[
             ("blocked.data", "ip4trie", [
                 ("0.0.0.0/0", "127.255.255.254", None),
             ]),
         ]),
]

# Zones that pass their test points and are served: an all-clean target set
# against these must exit 0.
HEALTHY = ["t-multi", "t-v6", "t-dom", "t-uribl", "t-sh", "t-bogus", "t-notp", "t-optin"]

# Command-line targets of the main run (input order matters).
CLI_TARGETS = [
    "192.0.2.8/29",
    "198.51.100.7", "198.51.100.20", "198.51.100.21", "198.51.100.30",
    "198.51.100.31", "198.51.100.99", "203.0.113.1", "203.0.113.50",
    "2001:db8::25", "2001:DB8:1:0:0:0:0:ABCD", "2001:db8:ffff::1",
    "Spam.Example", "phish.example", "mx.badhost.example", "grey.example",
    "multi.example", "both.example", "refused.example", "clean.example",
]

# Targets read from stdin: (target, label or None); STDIN_TEXT is built from
# it with comments, blank lines and varied whitespace around it.
STDIN_TARGETS = [
    ("192.0.2.14", "mx-out-1"),
    ("198.51.100.50", "relay"),
    ("2001:db8::25", "v6-mx"),
    ("SPAM.example", "web"),
    ("203.0.113.0/30", "office"),
    ("clean.example", None),
    ("198.51.100.99", None),
]
STDIN_TEXT = (
    "# blwatch integration test: targets from stdin\n"
    "192.0.2.14 mx-out-1\n"
    "\n"
    "198.51.100.50\trelay   # trailing comment\n"
    "2001:db8::25    v6-mx\n"
    "SPAM.example web\n"
    "# a CIDR range: every address gets the label\n"
    "203.0.113.0/30 office\n"
    "clean.example\n"
    "198.51.100.99\n"
)

CLEAN_TARGETS = ["203.0.113.50", "2001:db8:ffff::1", "clean.example"]

# Targets checked against a resolver that never answers / answers SERVFAIL:
# every pair must be "error" (never "clear"), even the listed ones.
DEAD_RESOLVER_TARGETS = ["192.0.2.10", "2001:db8::25", "spam.example"]

UNLISTED = "unlisted return code"


# --------------------------------------------------------------------------
# Generation of files
# --------------------------------------------------------------------------

def zone_by_id(zid):
    for z in ZONES:
        if z["id"] == zid:
            return z
    raise KeyError(zid)


def catalog_text(zone_ids=None):
    ids = zone_ids if zone_ids is not None else [z["id"] for z in ZONES if not z.get("extra")]
    out = ["# blwatch integration-test catalog.",
           "# GENERATED by tests/integration/testdata.py from its ZONES table; do not edit.",
           ""]
    for z in ZONES:
        if z["id"] not in ids:
            continue
        out.append("[%s]" % z["id"])
        out.append("name       = %s" % z["name"])
        out.append("zone       = %s" % z["zone"])
        out.append("kind       = %s" % z["kind_text"])
        for lo, hi, m in z["codes"]:
            out.append("code       = %s %s" % (lo if lo == hi else "%s-%s" % (lo, hi), m))
        for bit, m in z["bitmask"]:
            out.append("bitmask    = %d %s" % (bit, m))
        for lo, hi, m in z["refusals"]:
            out.append("refusal    = %s %s" % (lo if lo == hi else "%s-%s" % (lo, hi), m))
        if z["delist"]:
            out.append("delist     = %s" % z["delist"])
        out.append("default    = %s" % ("yes" if z["default"] else "no"))
        out.append("testpoints = %s" % ("yes" if z["testpoints"] else "no"))
        if z["dqs"]:
            out.append("dqs        = %s" % z["dqs"])
        if z["max_daily"]:
            out.append("max_daily  = %d" % z["max_daily"])
        out.append("")
    return "\n".join(out)


def dataset_text(entries):
    lines = [SOA.rstrip("\n"), "# GENERATED by tests/integration/testdata.py; do not edit."]
    for key, a, txt in entries:
        lines.append("%s :%s:%s" % (key, a, txt if txt is not None else ""))
    return "\n".join(lines) + "\n"


def data_files():
    """{filename: text} for every rbldnsd data file."""
    files = {}
    for z in ZONES:
        for fname, _dtype, entries in z["datasets"]:
            files[fname] = dataset_text(entries)
    return files


def rbldnsd_zones():
    """[(zone, type, file)] for Rbldnsd."""
    return [(z["zone"], dtype, fname) for z in ZONES if z["served"]
            for fname, dtype, _e in z["datasets"]]


def write_all(directory):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "catalog.conf"), "w") as f:
        f.write(catalog_text())
    for name, text in data_files().items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(text)
    with open(os.path.join(directory, "rbldnsd.zones"), "w") as f:
        f.write("# rbldnsd zone specs (zone:type:file), GENERATED by testdata.py\n")
        for zone, dtype, fname in rbldnsd_zones():
            f.write("%s:%s:%s\n" % (zone, dtype, fname))


def expected_files():
    files = dict(data_files())
    files["catalog.conf"] = catalog_text()
    lines = ["# rbldnsd zone specs (zone:type:file), GENERATED by testdata.py"]
    lines += ["%s:%s:%s" % s for s in rbldnsd_zones()]
    files["rbldnsd.zones"] = "\n".join(lines) + "\n"
    return files


# --------------------------------------------------------------------------
# The model: what each (target, zone) pair must give
# --------------------------------------------------------------------------

def ip_int(a):
    return int(ipaddress.IPv4Address(a))


def target_kind(t):
    try:
        return "ip4" if ipaddress.ip_address(t).version == 4 else "ip6"
    except ValueError:
        return "domain"


def expand_targets(spec):
    """CLI/stdin target spec -> list of canonical targets."""
    if "/" in spec:
        net = ipaddress.ip_network(spec, strict=False)
        return [str(a) for a in net]   # every address of the range
    try:
        return [str(ipaddress.ip_address(spec))]   # canonical, lowercase
    except ValueError:
        return [spec.lower().rstrip(".")]


def _entry_matches(dtype, key, target):
    """Does rbldnsd entry `key` of a dataset of type dtype match `target`?
    Returns the string rbldnsd substitutes for '$', or None."""
    if dtype in ("ip4set", "ip4trie"):
        if target_kind(target) == "ip6":
            # rbldnsd answers an IPv4-mapped IPv6 name (::ffff:a.b.c.d,
            # e.g. the IPv6 test points) from its IPv4 datasets.
            mapped = ipaddress.IPv6Address(target).ipv4_mapped
            if mapped is None:
                return None
            target = str(mapped)
        if target_kind(target) != "ip4":
            return None
        return target if ipaddress.IPv4Address(target) in ipaddress.IPv4Network(key) else None
    if dtype in ("ip6trie", "ip6tset"):
        if target_kind(target) != "ip6":
            return None
        return target if ipaddress.IPv6Address(target) in ipaddress.IPv6Network(key) else None
    if dtype == "dnset":
        if target_kind(target) != "domain":
            return None
        t = target.lower()
        if key.startswith("*."):
            base = key[2:]
            return base if t.endswith("." + base) else None
        if key.startswith("."):
            base = key[1:]
            return base if (t == base or t.endswith("." + base)) else None
        return key if t == key else None
    raise ValueError(dtype)


def raw_answer(z, target):
    """What rbldnsd answers for `target` in zone z: (A list, TXT list)."""
    a, txt = [], []
    for _fname, dtype, entries in z["datasets"]:
        hits = [(k, av, tv, _entry_matches(dtype, k, target)) for k, av, tv in entries]
        hits = [h for h in hits if h[3] is not None]
        if len(hits) > 1:
            raise AssertionError("test data ambiguous: %s matches %d entries of one dataset in %s"
                                 % (target, len(hits), z["id"]))
        for _k, av, tv, subst in hits:
            a.append(av)
            if tv is not None:
                txt.append(tv.replace("$", subst))
    return a, txt


def _in_ranges(code, ranges):
    c = ip_int(code)
    for lo, hi, m in ranges:
        if ip_int(lo) <= c <= ip_int(hi):
            return m
    return None


def meaning(z, code):
    if z["bitmask"]:
        last = ip_int(code) & 0xFF
        parts = [m for bit, m in sorted(z["bitmask"]) if last & bit]
        return " + ".join(parts) if parts else UNLISTED
    m = _in_ranges(code, z["codes"])
    return m if m is not None else UNLISTED


def is_refusal(z, code):
    return _in_ranges(code, z["refusals"]) is not None


def _listed_for_testpoint(z, point):
    a, _ = raw_answer(z, point)
    in127 = [x for x in a if ipaddress.IPv4Address(x) in ipaddress.IPv4Network("127.0.0.0/8")]
    return any(not is_refusal(z, x) for x in in127)


TESTPOINTS = {"ip4": ("127.0.0.2", "127.0.0.1"),
              "ip6": ("::ffff:7f00:2", "::ffff:7f00:1"),
              "domain": ("test", "invalid")}


def zone_trusted(z):
    """RFC 5782 health per kind; the data is built so that every kind of a
    multi-kind zone gives the same verdict (asserted), so it does not matter
    which test points blwatch picks for such a zone."""
    if not z["testpoints"]:
        return True
    verdicts = set()
    for k in z["kind"]:
        pos, neg = TESTPOINTS[k]
        verdicts.add(_listed_for_testpoint(z, pos) and not _listed_for_testpoint(z, neg))
    if len(verdicts) != 1:
        raise AssertionError("test data ambiguous: %s test points disagree across kinds" % z["id"])
    return verdicts.pop()


def expected_result(z, target):
    """Expected result dict for one applicable pair (keys: list, zone,
    result, codes, meanings, reason)."""
    r = dict(list=z["id"], zone=z["zone"], codes=[], meanings=[], reason=None)
    if not z["served"]:
        r["result"] = "error"
        return r
    if not zone_trusted(z):
        r["result"] = "untrusted"
        return r
    a, txt = raw_answer(z, target)
    if not a:
        r["result"] = "clear"
        return r
    if any(ipaddress.IPv4Address(x) not in ipaddress.IPv4Network("127.0.0.0/8") for x in a):
        if not all(ipaddress.IPv4Address(x) not in ipaddress.IPv4Network("127.0.0.0/8") for x in a):
            raise AssertionError("test data ambiguous: mixed bogus answer for %s in %s" % (target, z["id"]))
        r["result"] = "bogus"
        return r
    codes = sorted(set(a), key=ip_int)
    refusals = [c for c in codes if is_refusal(z, c)]
    if refusals and len(refusals) != len(codes):
        raise AssertionError("test data ambiguous: refusal mixed with listing for %s in %s" % (target, z["id"]))
    r["codes"] = codes
    r["meanings"] = [meaning(z, c) if not refusals else _in_ranges(c, z["refusals"]) for c in codes]
    if refusals:
        r["result"] = "refused"
        return r
    r["result"] = "listed"
    r["reason"] = "; ".join(txt) if txt else None
    r["reason_parts"] = sorted(txt)
    return r


def enabled_zones(use="all", zone_ids=None):
    zs = [z for z in ZONES if (z["id"] in zone_ids if zone_ids is not None else not z.get("extra"))]
    if use == "default":
        zs = [z for z in zs if z["default"]]
    return zs


def expected_run(target_specs, zones, force_result=None):
    """target_specs: list of (spec, label).  Returns (targets, summary, exit)
    where targets is [{"target","label","results":[...]}].
    force_result: every pair has this result (e.g. "error" when the resolver
    is dead)."""
    targets = []
    for spec, label in target_specs:
        for t in expand_targets(spec):
            k = target_kind(t)
            if force_result:
                results = [dict(list=z["id"], zone=z["zone"], codes=[], meanings=[], reason=None,
                                result=force_result) for z in zones if k in z["kind"]]
            else:
                results = [expected_result(z, t) for z in zones if k in z["kind"]]
            targets.append(dict(target=t, label=label, results=results))
    pairs = [r for t in targets for r in t["results"]]
    listed = sum(r["result"] == "listed" for r in pairs)
    clear = sum(r["result"] == "clear" for r in pairs)
    summary = dict(targets=len(targets), zones=len(zones), listed=listed, clear=clear,
                   unknown=len(pairs) - listed - clear,
                   listed_targets=sum(any(r["result"] == "listed" for r in t["results"]) for t in targets))
    exit_code = 1 if listed else (2 if summary["unknown"] else 0)
    return targets, summary, exit_code


def all_probe_names():
    """(zone dict, target or test point) pairs worth checking against rbldnsd
    directly, to validate this model before blaming blwatch."""
    names = set()
    for spec in CLI_TARGETS + [s for s, _ in STDIN_TARGETS] + CLEAN_TARGETS:
        names.update(expand_targets(spec))
    for pos, neg in TESTPOINTS.values():
        names.update([pos, neg])
    out = []
    for z in ZONES:
        for t in sorted(names):
            if target_kind(t) in z["kind"]:
                out.append((z, t))
    return out


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write":
        write_all(sys.argv[2])
        print("wrote", sys.argv[2])
    else:
        print(__doc__)
        sys.exit(64)
