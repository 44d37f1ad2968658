#!/usr/bin/python3
"""Integration test of blwatch's notices: webhooks (JSON, Slack) and email
through real receivers on 127.0.0.1, the durable outbox, retries, give-up,
kill -9, per-channel event filters, `test-alert`, secret handling, grouping
in a paced `run` (group_interval), starttls = try, zone-health notices and
a receiver that never answers.

    /usr/bin/python3 tests/integration/test_notices.py BLWATCH_BIN [TEST...]

TEST names (default: all): webhook grouping email inject retry down giveup
kill9 filter testalert secrets paced starttry zonehealth stall once.
paced (about 35 s) and stall (about 12 s) wait for `run`'s pacing.

The DNSBL data comes from a local rbldnsd (rbl.py); webhooks go to a threaded
http.server and mail to aiosmtpd servers (receivers.py: plain, AUTH,
STARTTLS with a self-signed certificate made by the openssl CLI).  Every
expected value is derived from the zone data and the configs below and from
SPEC ("State, history, alerts", "Details that scripts and tests rely on"),
never copied from blwatch's output.

Exit status: 0 all passed, 1 something failed, 2 harness problem.
Run with /usr/bin/python3 (Debian's python3-aiosmtpd; standard library
otherwise).  BLWATCH_TEST_KEEP=1 keeps the temp directory.
"""

import datetime
import email
import email.policy
import email.utils
import hashlib
import hmac
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rbl         # noqa: E402
import receivers   # noqa: E402

SAN_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                    r"SUMMARY: (Address|Leak|Undefined)", re.M)
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
RFC3339_ANY = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
EVENT_KEYS = ("type", "target", "label", "list", "zone", "codes", "meanings", "reason",
              "delist", "at")

BLWATCH = None
VERSION = None
SANITIZER_REPORTS = []
OUTPUTS = []          # (command, stdout + stderr) of every blwatch run, for the secrets check
NOTES = []            # SPEC ambiguities worth reporting, not failures
_CHILDREN = []

# Secrets: they must never show up in blwatch's output.
SMTP_USER = "blwatch-notices"
SMTP_PASSWORD = "pw-Zq7!s3cret-9f2c"
WEBHOOK_SECRET = "whsec-Kx81/secret+value"
ENV_SECRET = "envsec-4d1e-not-for-logs"
ENV_PASSWORD = "envpw-77ac-not-for-logs"
URL_PASSWORD = "urlpw-c3d9-not-for-logs"      # in an smtp:// URL's userinfo
HOOK_TOKEN = "T0KEN-b7e1-not-for-logs"         # a webhook URL's path is its secret
SECRETS = (SMTP_PASSWORD, WEBHOOK_SECRET, ENV_SECRET, ENV_PASSWORD, URL_PASSWORD, HOOK_TOKEN)


# --------------------------------------------------------------------------
# The world: two zones, their data, the expected answers
# --------------------------------------------------------------------------

ZONES = [
    dict(id="n-a", name="Notice A", zone="a.nt.test", dtype="ip4set",
         codes={"127.0.0.2": "A: spam source", "127.0.0.4": "A: exploited host"},
         delist="https://a.test/delist"),
    dict(id="n-b", name="Notice B", zone="b.nt.test", dtype="ip4trie",
         codes={"127.0.0.2": "B: listed", "127.0.0.10": "B: policy block"},
         delist="https://b.test/removal?src=blwatch"),
]
ZBY = {z["id"]: z for z in ZONES}

RANGE = "198.51.100.0/28"
HOSTILE = "192.0.2.40"
# A TXT reason with a CR, an injected header and a terminal escape: rbldnsd
# serves these bytes as they are (it cannot serve an LF: its data is
# line-based).
HOSTILE_TXT = "A: hostile\rBcc: evil@example.org\x1b[31m end"


def baseline():
    """{zone id: {key: (A, TXT or None)}}; n-b is an ip4trie (CIDR keys)."""
    return {
        "n-a": {"127.0.0.2": ("127.0.0.2", "A test point"),
                "192.0.2.10": ("127.0.0.2", "A: 192.0.2.10 sends spam, see https://a.test/q/10"),
                "192.0.2.11": ("127.0.0.4", "A: exploited host 192.0.2.11"),
                "192.0.2.30": ("127.0.0.2", "A: filter test 192.0.2.30"),
                HOSTILE: ("127.0.0.2", HOSTILE_TXT)},
        "n-b": {"127.0.0.2": ("127.0.0.2", None),
                RANGE: ("127.0.0.10", "B: policy block for the range"),
                "192.0.2.11": ("127.0.0.2", "B: 192.0.2.11 listed")},
    }


SOA = "$SOA 60 ns.nt.test. hostmaster.nt.test. 1 60 60 600 60\n$NS 60 ns.nt.test.\n"


def data_files(state):
    out = {}
    for z in ZONES:
        lines = [SOA.rstrip("\n")]
        for key, (a, txt) in state[z["id"]].items():
            lines.append("%s :%s:%s" % (key, a, txt if txt is not None else ""))
        out["%s.data" % z["id"]] = "\n".join(lines) + "\n"
    return out


def catalog_text():
    out = ["# blwatch notices integration-test catalog", ""]
    for z in ZONES:
        out += ["[%s]" % z["id"], "name       = %s" % z["name"], "zone       = %s" % z["zone"],
                "kind       = ip4"]
        for code, m in z["codes"].items():
            out.append("code       = %s %s" % (code, m))
        out += ["delist     = %s" % z["delist"], "default    = yes", "testpoints = yes", ""]
    return "\n".join(out)


def answer(state, zid, target):
    """(A, TXT) that rbldnsd gives for target, or None."""
    best = None
    for key, val in state[zid].items():
        if "/" in key:
            net = ipaddress.IPv4Network(key)
            if ipaddress.IPv4Address(target) in net and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, val)
        elif key == target:
            best = (32, val)
    return best[1] if best else None


def expand(targets):
    """[(address, label)] with ranges expanded."""
    out = []
    for value, label in targets:
        if "/" in value:
            out += [(str(a), label) for a in ipaddress.IPv4Network(value)]
        else:
            out.append((value, label))
    return out


def expected_listed(state, targets):
    """{("listed", target, list): expected event fields}."""
    out = {}
    for addr, label in expand(targets):
        for z in ZONES:
            hit = answer(state, z["id"], addr)
            if hit is None:
                continue
            code, txt = hit
            out[("listed", addr, z["id"])] = dict(
                type="listed", target=addr, label=label, list=z["id"], zone=z["zone"],
                codes=[code], meanings=[z["codes"].get(code, "unlisted return code")],
                reason=txt, delist=z["delist"])
    return out


def qname(zid, addr):
    return rbl.ip4_qname(addr, ZBY[zid]["zone"])


class HarnessError(RuntimeError):
    pass


class World:
    def __init__(self, workdir):
        self.dir = workdir
        self.state = baseline()
        for name, text in data_files(self.state).items():
            with open(os.path.join(workdir, name), "w") as f:
                f.write(text)
        self.srv = rbl.Rbldnsd(workdir, [(z["zone"], z["dtype"], "%s.data" % z["id"]) for z in ZONES],
                               probe=("2.0.0.127.a.nt.test", True))

    def start(self):
        self.srv.start()
        self.verify()

    def verify(self):
        """Ask rbldnsd about every key of the state: the harness must agree."""
        for z in ZONES:
            keys = set(str(ipaddress.IPv4Network(k)[0]) if "/" in k else k for k in self.state[z["id"]])
            keys |= {"127.0.0.1", "192.0.2.99"}
            for k in sorted(keys):
                want = answer(self.state, z["id"], k)
                a = rbl.dns_query(self.srv.port, qname(z["id"], k), timeout=0.5, tries=3)
                if a.a != ([want[0]] if want else []):
                    raise HarnessError("rbldnsd: %s A %r, model says %r" % (qname(z["id"], k), a.a, want))
                if want and want[1] is not None:
                    t = rbl.dns_query(self.srv.port, qname(z["id"], k), "TXT", timeout=0.5, tries=3)
                    if t.txt != [want[1]]:
                        raise HarnessError("rbldnsd: %s TXT %r, model says %r"
                                           % (qname(z["id"], k), t.txt, want[1]))

    def apply(self, state, probe_zid, probe_addr):
        files = data_files(state)
        want = answer(state, probe_zid, probe_addr)
        try:
            self.srv.update_files(files, probe=(qname(probe_zid, probe_addr),
                                                lambda a: a.a == ([want[0]] if want else [])))
        except rbl.RbldnsdError as e:
            raise HarnessError(str(e))
        self.state = state
        self.verify()


# --------------------------------------------------------------------------
# Running blwatch
# --------------------------------------------------------------------------

def check_sanitizer(cmd, text):
    m = SAN_RE.search(text or "")
    if m:
        start = max(0, m.start() - 200)
        SANITIZER_REPORTS.append((cmd, text[start:start + 3000]))


def blwatch(conf, args, timeout=60, env=None):
    cmd = [BLWATCH] + (["-c", conf] if conf else []) + list(args)
    t0 = time.monotonic()
    full_env = dict(os.environ)
    full_env.pop("BLWATCH_CONFIG", None)
    if env:
        full_env.update(env)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, env=full_env, errors="replace")
    p.duration = time.monotonic() - t0
    p.cmd = " ".join(cmd)
    p.t0, p.t1 = time.time() - p.duration, time.time()
    check_sanitizer(p.cmd, p.stderr)
    OUTPUTS.append((p.cmd, p.stdout + p.stderr))
    return p


def run_once(conf, fails, what="run --once", env=None):
    p = blwatch(conf, ["run", "--once"], env=env)
    if p.returncode != 0:
        fails.append("%s: `%s` exited %d, expected 0; stderr: %s"
                     % (what, p.cmd, p.returncode, p.stderr.strip()[-800:]))
    return p


class Bg:
    """blwatch in the background, output to a log file."""

    def __init__(self, conf, args, logpath):
        self.logpath = logpath
        self.logf = open(logpath, "wb")
        self.cmd = " ".join([BLWATCH, "-c", conf] + list(args))
        env = dict(os.environ)
        env.pop("BLWATCH_CONFIG", None)
        self.proc = subprocess.Popen([BLWATCH, "-c", conf] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        _CHILDREN.append(self)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc.poll() is None

    def close(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self.logf.closed:
            self.logf.close()
            text = self.log()
            check_sanitizer(self.cmd, text)
            OUTPUTS.append((self.cmd, text))
        if self in _CHILDREN:
            _CHILDREN.remove(self)


def _kill_children():
    for c in list(_CHILDREN):
        try:
            c.close()
        except Exception:
            pass


def write_secret(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def write_conf(ctx, name, targets, alerts, confirm="0", interval="1h"):
    """targets: [(value, label)]; alerts: [(name, {key: value or [values]})].
    Returns (conf path, db path)."""
    path = os.path.join(ctx.tmp, name + ".conf")
    db = os.path.join(ctx.tmp, name + ".db")
    text = ("[poller]\ninterval = %s\ndatabase = %s\nconfirm = %s\n\n[targets]\n"
            % (interval, db, confirm))
    for value, label in targets:
        text += "ip = %s%s\n" % (value, " " + label if label else "")
    for aname, keys in alerts:
        text += '\n[alert "%s"]\n' % aname
        for k, v in keys.items():
            for one in (v if isinstance(v, list) else [v]):
                text += "%s = %s\n" % (k, one)
    rbl.write_config(path, ctx.world.srv.port, ctx.catalog, use="n-a n-b", timeout="1s",
                     tries=2, extra=text)
    return path, db


from dbread import db_rows  # noqa: E402


def db_exec(path, sql, args=()):
    con = sqlite3.connect(path, timeout=10)
    try:
        with con:
            con.execute(sql, args)
    finally:
        con.close()


def outbox(db, channel=None):
    try:
        return db_rows(db, "SELECT * FROM outbox" + (" WHERE channel = ?" if channel else "")
                       + " ORDER BY id", (channel,) if channel else ())
    except sqlite3.Error:
        return []


def wait_due(db, channel, limit=12.0):
    """Wait until every pending outbox row of channel is due (the retry
    delay the previous run chose has passed).  False if that is further
    away than `limit` seconds."""
    rows = [r for r in outbox(db, channel) if r["delivered"] is None and not r["dead"]]
    if not rows:
        return True
    due = max(r["due_ms"] for r in rows) / 1000
    wait = due - time.time() + 0.05
    if wait > limit:
        return False
    if wait > 0:
        time.sleep(wait)
    return True


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

def parse_rfc3339(s):
    if not isinstance(s, str) or not RFC3339_RE.match(s):
        return None
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def expected_host():
    """SPEC: `host` is the machine's FQDN where it has one."""
    name = socket.gethostname()
    if "." not in name:
        try:
            for ai in socket.getaddrinfo(name, None, flags=socket.AI_CANONNAME):
                if ai[3] and "." in ai[3]:
                    return {ai[3]}
        except OSError:
            pass
    return {name}


def hook_json(req, where, fails):
    try:
        return json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fails.append("%s: body is not JSON (%s): %r" % (where, e, req.body[:300]))
        return None


def check_webhook_headers(req, where, fails, secret=None):
    ct = req.headers.get("content-type", "")
    if ct.split(";")[0].strip().lower() != "application/json":
        fails.append("%s: Content-Type %r, expected application/json (SPEC)" % (where, ct))
    ua = req.headers.get("user-agent")
    if ua != "blwatch/%s" % VERSION:
        fails.append("%s: User-Agent %r, expected %r (SPEC)" % (where, ua, "blwatch/" + VERSION))
    if req.method != "POST":
        fails.append("%s: method %s, expected POST" % (where, req.method))
    sig = req.header_values("X-Blwatch-Signature")
    if secret is None:
        if sig:
            fails.append("%s: X-Blwatch-Signature %r on a channel without a secret" % (where, sig))
    else:
        want = "sha256=" + hmac.new(secret.encode(), req.body, hashlib.sha256).hexdigest()
        if sig != [want]:
            fails.append("%s: X-Blwatch-Signature %r, expected [%r] (HMAC-SHA256 of the raw body "
                         "with the secret minus its trailing newline)" % (where, sig, want))
    nid = notice_id(req)
    if not nid:
        fails.append("%s: no notice id header (X-Blwatch-Notice / Idempotency-Key)" % where)


def notice_id(req):
    return (req.headers.get("x-blwatch-notice"), req.headers.get("idempotency-key")) \
        if (req.headers.get("x-blwatch-notice") or req.headers.get("idempotency-key")) else None


def check_json_notice(doc, expected, window, where, fails, exact=True):
    """doc: the webhook body; expected: {(type, target, list): fields};
    window: (t0, t1) the events and `sent` must fall into."""
    if not isinstance(doc, dict):
        fails.append("%s: body is not a JSON object" % where)
        return
    if doc.get("source") != "blwatch":
        fails.append("%s: source %r, expected 'blwatch'" % (where, doc.get("source")))
    hosts = expected_host()
    if doc.get("host") not in hosts:
        fails.append("%s: host %r, expected one of %s (the machine's FQDN where it has one)"
                     % (where, doc.get("host"), sorted(hosts)))
    sent = parse_rfc3339(doc.get("sent"))
    if sent is None or not window[0] - 2 <= sent <= window[1] + 2:
        fails.append("%s: sent %r is not an RFC 3339 time within the run" % (where, doc.get("sent")))
    evs = doc.get("events")
    if not isinstance(evs, list):
        fails.append("%s: events is not a list: %r" % (where, evs))
        return
    seen = {}
    for e in evs:
        if not isinstance(e, dict):
            fails.append("%s: event is not an object: %r" % (where, e))
            continue
        missing = [k for k in EVENT_KEYS if k not in e]
        if missing:
            fails.append("%s: event %s %s@%s lacks %s (SPEC webhook body)"
                         % (where, e.get("type"), e.get("target"), e.get("list"), missing))
        key = (e.get("type"), e.get("target"), e.get("list"))
        seen[key] = seen.get(key, 0) + 1
        want = expected.get(key)
        if want is None:
            if exact:
                fails.append("%s: unexpected event %s %s@%s" % (where, key[0], key[1], key[2]))
            continue
        for k, v in want.items():
            if k in e and e[k] != v:
                fails.append("%s: event %s %s@%s: %s = %r, expected %r"
                             % (where, key[0], key[1], key[2], k, e[k], v))
        at = parse_rfc3339(e.get("at"))
        if at is None or not window[0] - 2 <= at <= window[1] + 2:
            fails.append("%s: event %s %s@%s: at %r is not an RFC 3339 time within the run"
                         % (where, key[0], key[1], key[2], e.get("at")))
    for key in sorted(set(expected) - set(seen)):
        fails.append("%s: missing event %s %s@%s" % (where, key[0], key[1], key[2]))
    for key, n in sorted(seen.items()):
        if n > 1:
            fails.append("%s: event %s %s@%s appears %d times" % (where, key[0], key[1], key[2], n))


def events_of(doc):
    return sorted((e.get("type"), e.get("target"), e.get("list"), json.dumps(e.get("codes")),
                   e.get("at")) for e in (doc or {}).get("events", []) if isinstance(e, dict))


def parse_mail(msg, where, fails):
    raw = msg.data
    # RFC 5322: CR and LF only as CRLF.  A bare one would let DNS data split
    # a line (or a header) apart.
    stripped = raw.replace(b"\r\n", b"")
    if b"\r" in stripped or b"\n" in stripped:
        i = max(stripped.find(b"\r"), stripped.find(b"\n"))
        fails.append("%s: the message has a bare CR or LF (RFC 5322 2.3), near %r"
                     % (where, stripped[max(0, i - 60):i + 40]))
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def body_text(m):
    if m.is_multipart():
        parts = [p for p in m.walk() if p.get_content_type() == "text/plain"]
        m = parts[0] if parts else m
    payload = m.get_payload(decode=True) or b""
    return payload.decode(m.get_content_charset() or "utf-8", "replace")


def check_mail_headers(m, where, fails, from_addr, to_addrs, window):
    d = m.get("Date")
    try:
        dt = email.utils.parsedate_to_datetime(d).timestamp() if d else None
    except (TypeError, ValueError):
        dt = None
    if dt is None or not window[0] - 120 <= dt <= window[1] + 120:
        fails.append("%s: Date header %r missing, unparsable or not near now" % (where, d))
    mid = m.get("Message-ID")
    if not mid or not re.match(r"^<[^<>@\s]+@[^<>@\s]+>$", mid.strip()):
        fails.append("%s: Message-ID %r is not <left@right>" % (where, mid))
    frm = email.utils.getaddresses(m.get_all("From", []))
    if [a for _n, a in frm] != [from_addr]:
        fails.append("%s: From %r, expected %s" % (where, m.get_all("From"), from_addr))
    to = [a for _n, a in email.utils.getaddresses(m.get_all("To", []))]
    if sorted(to) != sorted(to_addrs):
        fails.append("%s: To header %r parses (RFC 5322 address-list) as %s, expected the "
                     "addresses %s" % (where, m.get_all("To"), to, sorted(to_addrs)))
    for h in ("Date", "From", "To", "Subject", "Message-ID"):
        if len(m.get_all(h, [])) != 1:
            fails.append("%s: %d %s headers, expected 1" % (where, len(m.get_all(h, [])), h))
    for h in ("Bcc", "Cc"):
        if m.get_all(h):
            fails.append("%s: the message has a %s header %r (injected?)" % (where, h, m.get_all(h)))
    ct = m.get_content_type()
    if ct != "text/plain":
        fails.append("%s: Content-Type %s, expected text/plain" % (where, ct))


def check_mail_body(text, expected, window, where, fails):
    for (t, target, lst), e in sorted(expected.items()):
        z = ZBY[lst]
        facts = [("target", target), ("code", e["codes"][0]), ("meaning", e["meanings"][0]),
                 ("delisting link", e["delist"])]
        if e.get("label"):
            facts.append(("label", e["label"]))
        if e.get("reason"):
            facts.append(("reason", e["reason"]))
        for what, val in facts:
            if val not in text:
                fails.append("%s: body lacks the %s %r of %s %s@%s" % (where, what, val, t, target, lst))
        if z["name"] not in text and lst not in text:
            fails.append("%s: body names neither list %s nor %r" % (where, lst, z["name"]))
    times = [parse_rfc3339(s) for s in RFC3339_ANY.findall(text)]
    good = [x for x in times if x is not None and window[0] - 2 <= x <= window[1] + 2]
    if len(good) < len(expected):
        fails.append("%s: body has %d RFC 3339 times within the run, expected one per event (%d)"
                     % (where, len(good), len(expected)))


def new_reqs(hook, path, before):
    return hook.requests(path)[before:]


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

T1_TARGETS = [("192.0.2.10", "mx-out-1"), ("192.0.2.11", "mx-out-2"), ("192.0.2.99", "clean-one")]


def test_webhook(ctx):
    """1. webhook JSON: one POST with the SPEC body, headers, HMAC signature,
    notice id; a second run --once sends nothing"""
    fails = []
    hook = ctx.hook
    conf, db = write_conf(ctx, "t1", T1_TARGETS, [
        ("hook", {"type": "webhook", "url": hook.url("/t1/hook"), "format": "json",
                  "secret_file": ctx.secret_file}),
        ("plain", {"type": "webhook", "url": hook.url("/t1/plain")}),
        ("chat", {"type": "webhook", "url": hook.url("/t1/chat"), "format": "slack",
                  "secret_file": ctx.secret_file}),
    ])
    exp = expected_listed(ctx.world.state, T1_TARGETS)
    p = run_once(conf, fails)
    window = (p.t0, p.t1)
    for path, secret in (("/t1/hook", WEBHOOK_SECRET), ("/t1/plain", None)):
        reqs = hook.requests(path)
        if len(reqs) != 1:
            fails.append("%s: %d POSTs after run --once, expected exactly 1 (3 events, one notice)"
                         % (path, len(reqs)))
        for r in reqs[:1]:
            check_webhook_headers(r, path, fails, secret)
            doc = hook_json(r, path, fails)
            check_json_notice(doc, exp, window, path, fails)
            if doc and any(isinstance(e, dict) and "result" not in e for e in doc.get("events", [])):
                NOTES.append("webhook events have no \"result\" field: SPEC prose says each event "
                             "carries target, label, list, zone, result, ... but the SPEC JSON "
                             "example has no result either")
    # Slack: {"text": "..."} with the facts, signed the same way.
    reqs = hook.requests("/t1/chat")
    if len(reqs) != 1:
        fails.append("/t1/chat (slack): %d POSTs, expected 1" % len(reqs))
    for r in reqs[:1]:
        check_webhook_headers(r, "/t1/chat", fails, WEBHOOK_SECRET)
        doc = hook_json(r, "/t1/chat", fails)
        check_slack(doc, exp, "/t1/chat", fails, reasons=True)
    rows = outbox(db)
    if len(rows) != 3 * len(exp):
        fails.append("outbox: %d rows, expected %d (one per event and channel)"
                     % (len(rows), 3 * len(exp)))
    for r in rows:
        if r["delivered"] is None or r["dead"] or r["attempts"] != 0:
            fails.append("outbox row %d (%s): delivered=%s dead=%s attempts=%s, expected delivered "
                         "at the first attempt" % (r["id"], r["channel"], r["delivered"], r["dead"],
                                                    r["attempts"]))
    # Nothing new: no second notice.
    before = {pth: len(hook.requests(pth)) for pth in ("/t1/hook", "/t1/plain", "/t1/chat")}
    run_once(conf, fails, "second run --once")
    for pth, n in before.items():
        if len(hook.requests(pth)) != n:
            fails.append("%s: second run --once (no new events) sent %d more POSTs, expected none"
                         % (pth, len(hook.requests(pth)) - n))
    ctx.report("1. webhook JSON: headers (Content-Type, User-Agent blwatch/%s, HMAC, notice id), "
               "body per SPEC with exactly the expected events; Slack text; nothing resent" % VERSION,
               fails)


def check_slack(doc, expected, where, fails, reasons=False):
    if not isinstance(doc, dict) or set(doc) != {"text"} or not isinstance(doc.get("text"), str):
        fails.append("%s: Slack body should be {\"text\": \"...\"}, got %r" % (where, str(doc)[:300]))
        return
    text = doc["text"]
    for (t, target, lst), e in sorted(expected.items()):
        if not re.search(r"(?<![\d.])%s(?![\d])" % re.escape(target), text):
            fails.append("%s: Slack text does not mention %s" % (where, target))
        if ZBY[lst]["name"] not in text and lst not in text:
            fails.append("%s: Slack text names neither %s nor %r" % (where, lst, ZBY[lst]["name"]))
        if e["delist"] not in text:
            fails.append("%s: Slack text lacks the delisting link %s" % (where, e["delist"]))
        if reasons:
            for val in (e["codes"][0], e["meanings"][0], e["reason"] or ""):
                if val and val not in text:
                    fails.append("%s: Slack text lacks %r (%s@%s)" % (where, val, target, lst))


def test_grouping(ctx):
    """2. a /28 listed at once: exactly one POST per channel and one email
    with all 16 events"""
    fails = []
    hook, mx = ctx.hook, ctx.smtp_plain
    targets = [(RANGE, "range-28")]
    to = ["group@example.net"]
    conf, db = write_conf(ctx, "t2", targets, [
        ("hook", {"type": "webhook", "url": hook.url("/t2/hook"), "secret_file": ctx.secret_file}),
        ("chat", {"type": "webhook", "url": hook.url("/t2/chat"), "format": "slack"}),
        ("mail", {"type": "email", "url": mx.url(), "starttls": "no",
                  "from": "blwatch-t2@example.org", "to": to}),
    ])
    exp = expected_listed(ctx.world.state, targets)
    if len(exp) != 16:
        raise HarnessError("the model lists %d addresses of %s, expected 16" % (len(exp), RANGE))
    m0 = len(mx.messages)
    p = run_once(conf, fails)
    window = (p.t0, p.t1)
    reqs = hook.requests("/t2/hook")
    if len(reqs) != 1:
        fails.append("json channel: %d POSTs, expected exactly 1 for 16 events of one cycle"
                     % len(reqs))
    for r in reqs:
        check_webhook_headers(r, "json channel", fails, WEBHOOK_SECRET)
        check_json_notice(hook_json(r, "json", fails), exp, window, "json channel POST %d"
                          % (reqs.index(r) + 1), fails, exact=True)
    reqs = hook.requests("/t2/chat")
    if len(reqs) != 1:
        fails.append("slack channel: %d POSTs, expected exactly 1" % len(reqs))
    for r in reqs[:1]:
        check_webhook_headers(r, "slack channel", fails, None)
        check_slack(hook_json(r, "slack", fails), exp, "slack channel", fails)
    time.sleep(0.2)
    msgs = [m for m in mx.messages[m0:] if m.rcpt_tos == to]
    if len(msgs) != 1:
        fails.append("email: %d messages, expected exactly 1 for 16 events" % len(msgs))
    for msg in msgs[:1]:
        m = parse_mail(msg, "email", fails)
        check_mail_headers(m, "email", fails, "blwatch-t2@example.org", to, window)
        subj = m.get("Subject", "")
        if not subj.startswith("blwatch:") or "16" not in subj:
            fails.append("email: Subject %r should start with 'blwatch:' and give the count (16)" % subj)
        check_mail_body(body_text(m), exp, window, "email body", fails)
    ctx.report("2. grouping: %s listed at once -> one POST per channel (JSON, Slack) and one "
               "email, each with all 16 events" % RANGE, fails)


def test_email(ctx):
    """4. email: plain, AUTH, STARTTLS with ca_file; headers, body;
    STARTTLS required against a server without it fails"""
    fails = []
    plain, auth, tls, plain2 = ctx.smtp_plain, ctx.smtp_auth, ctx.smtp_tls, ctx.smtp_plain2
    targets = [("192.0.2.10", "mx-out-1")]
    to_plain = ["ops1@example.net", "ops2@example.net", "ops3@example.net", "ops4@example.net"]
    frm = "blwatch@example.org"
    pwfile = ctx.password_file
    conf, db = write_conf(ctx, "t4", targets, [
        ("mail-plain", {"type": "email", "url": plain.url(), "starttls": "no", "from": frm,
                        "to": ["ops1@example.net, ops2@example.net ops3@example.net",
                               "ops4@example.net"]}),
        ("mail-auth", {"type": "email", "url": auth.url(), "starttls": "no", "from": frm,
                       "to": "auth@example.net", "username": SMTP_USER, "password_file": pwfile}),
        ("mail-tls", {"type": "email", "url": tls.url(), "starttls": "required", "from": frm,
                      "to": "tls@example.net", "username": SMTP_USER, "password_file": pwfile,
                      "ca_file": ctx.cert}),
        ("mail-noclear", {"type": "email", "url": plain2.url(), "starttls": "required",
                          "from": frm, "to": "noclear@example.net", "retry": "1h"}),
    ])
    exp = expected_listed(ctx.world.state, targets)
    n0 = {s: len(s.messages) for s in (plain, auth, tls, plain2)}
    mails0 = len(plain2.mails)
    p = run_once(conf, fails)
    window = (p.t0, p.t1)
    time.sleep(0.2)
    subject = "blwatch: 192.0.2.10 listed on %s" % ZBY["n-a"]["name"]
    for srv, name, rcpts in ((plain, "mail-plain", to_plain), (auth, "mail-auth", ["auth@example.net"]),
                             (tls, "mail-tls", ["tls@example.net"])):
        msgs = srv.messages[n0[srv]:]
        if len(msgs) != 1:
            fails.append("%s: %d messages received, expected 1" % (name, len(msgs)))
            continue
        msg = msgs[0]
        if msg.mail_from != frm:
            fails.append("%s: MAIL FROM %r, expected %r" % (name, msg.mail_from, frm))
        if sorted(msg.rcpt_tos) != sorted(rcpts):
            fails.append("%s: RCPT TO %s, expected one for each of %s" % (name, msg.rcpt_tos, rcpts))
        m = parse_mail(msg, name, fails)
        check_mail_headers(m, name, fails, frm, rcpts, window)
        if m.get("Subject") != subject:
            fails.append("%s: Subject %r, expected %r" % (name, m.get("Subject"), subject))
        check_mail_body(body_text(m), exp, window, name + " body", fails)
        if name == "mail-auth":
            if msg.user != SMTP_USER:
                fails.append("mail-auth: delivered without AUTH as %s (user %r); auths %r"
                             % (SMTP_USER, msg.user, auth.auths))
        if name == "mail-tls":
            if not msg.tls:
                fails.append("mail-tls: the message was not sent over TLS")
            if msg.user != SMTP_USER:
                fails.append("mail-tls: not authenticated as %s (auths %r)" % (SMTP_USER, tls.auths))
    # STARTTLS required, server without STARTTLS: nothing sent in clear.
    if len(plain2.messages) != n0[plain2]:
        fails.append("mail-noclear (starttls = required, server offers no STARTTLS): the message "
                     "was sent in clear")
    if len(plain2.mails) != mails0:
        fails.append("mail-noclear: MAIL FROM %r sent in clear" % plain2.mails[mails0:])
    rows = outbox(db, "mail-noclear")
    if not rows or any(r["delivered"] is not None or not r["last_error"] or r["attempts"] < 1
                       for r in rows):
        fails.append("mail-noclear: outbox rows should be failed and pending (delivered NULL, "
                     "attempts >= 1, last_error set): %r" % rows)
    for ch in ("mail-plain", "mail-auth", "mail-tls"):
        rows = outbox(db, ch)
        if not rows or any(r["delivered"] is None for r in rows):
            fails.append("%s: outbox rows not all delivered: %r" % (ch, rows))
    ctx.report("4. email: plain (4 recipients from two `to` lines), AUTH LOGIN with password_file, "
               "STARTTLS + AUTH PLAIN with ca_file; Date, Message-ID, From, To, Subject, body; "
               "starttls = required refuses a server without STARTTLS", fails)


def test_inject(ctx):
    """4b. a TXT reason with CR, a Bcc: line and an escape: no injected
    header, no extra recipient, no bare CR in the message"""
    fails = []
    mx, hook = ctx.smtp_plain, ctx.hook
    targets = [(HOSTILE, "hostile")]
    to = ["inject@example.net"]
    conf, db = write_conf(ctx, "t4b", targets, [
        ("mail", {"type": "email", "url": mx.url(), "starttls": "no",
                  "from": "blwatch@example.org", "to": to}),
        ("hook", {"type": "webhook", "url": hook.url("/t4b/hook")}),
    ])
    n0 = len(mx.messages)
    p = run_once(conf, fails)
    time.sleep(0.2)
    msgs = mx.messages[n0:]
    if len(msgs) != 1:
        fails.append("%d messages, expected 1" % len(msgs))
    for msg in msgs[:1]:
        if sorted(msg.rcpt_tos) != to:
            fails.append("RCPT TO %s, expected only %s" % (msg.rcpt_tos, to))
        m = parse_mail(msg, "hostile reason", fails)
        check_mail_headers(m, "hostile reason", fails, "blwatch@example.org", to, (p.t0, p.t1))
        for k, v in m.items():
            if "\r" in v or "\n" in v.replace("\r\n ", "").replace("\r\n\t", ""):
                fails.append("header %s has CR/LF: %r" % (k, v))
        text = body_text(m)
        if "evil@example.org" not in text:
            fails.append("the reason text (with 'Bcc: evil@example.org') is missing from the body")
        if "\x1b" in text:
            fails.append("the body carries the terminal escape from the TXT reason")
    for r in hook.requests("/t4b/hook")[:1]:
        doc = hook_json(r, "hook", fails)
        for e in (doc or {}).get("events", []):
            if e.get("target") == HOSTILE and "evil@example.org" not in (e.get("reason") or ""):
                fails.append("webhook reason %r lost the TXT text" % e.get("reason"))
    if len(hook.requests("/t4b/hook")) != 1:
        fails.append("webhook: %d POSTs, expected 1" % len(hook.requests("/t4b/hook")))
    ctx.report("4b. hostile TXT reason (CR + 'Bcc:' + ESC; rbldnsd cannot serve LF): no header "
               "injection, no extra RCPT, no bare CR in the mail", fails)


def test_retry(ctx):
    """5a. receiver answers 500 twice, then 200 (retry = 1s): delivered
    once, same notice id and events on every attempt, attempts == 2"""
    fails = []
    hook = ctx.hook
    path = "/t5/flaky"
    boundary = None   # index of the first request sent by a second process
    targets = [("192.0.2.10", "mx-out-1"), ("192.0.2.11", "mx-out-2")]
    conf, db = write_conf(ctx, "t5", targets, [
        ("flaky", {"type": "webhook", "url": hook.url(path), "retry": "1s",
                   "secret_file": ctx.secret_file})])
    exp = expected_listed(ctx.world.state, targets)
    hook.fail_next(2, 500, path)
    p = run_once(conf, fails)
    reqs = hook.requests(path)
    rows = outbox(db, "flaky")
    if not rows or any(r["delivered"] is None for r in rows):
        fails.append("`%s` with the receiver answering 500 twice and retry = 1s returned after "
                     "%.1fs with the notice undelivered (%d POSTs; outbox attempts %s). SPEC: run "
                     "--once waits up to 10 s for its notices to be delivered; retries after ~1 s "
                     "and ~2 s fit in that" % (p.cmd, p.duration, len(reqs),
                                               sorted(set(r["attempts"] for r in rows))))
        # Let a running poller finish the job, to test the retries themselves.
        boundary = len(reqs)
        bg = Bg(conf, ["run"], os.path.join(ctx.tmp, "t5-run.log"))
        try:
            deadline = time.monotonic() + 25
            while time.monotonic() < deadline:
                rows = outbox(db, "flaky")
                if rows and all(r["delivered"] is not None for r in rows):
                    break
                time.sleep(0.2)
        finally:
            bg.close(signal.SIGTERM)
    reqs = hook.requests(path)
    rows = outbox(db, "flaky")
    if [r.status for r in reqs] != [500, 500, 200]:
        fails.append("answers to blwatch's POSTs: %s, expected [500, 500, 200] (delivered once)"
                     % [r.status for r in reqs])
    if rows and all(r["delivered"] is not None for r in rows):
        bad = [(r["id"], r["attempts"]) for r in rows if r["attempts"] != 2]
        if bad:
            fails.append("outbox (row, attempts) %s: expected attempts == 2 (two failed attempts "
                         "before the delivery)" % bad)
        if any(r["dead"] or r["last_error"] for r in rows):
            fails.append("delivered rows still dead or with last_error: %r" % rows)
    else:
        fails.append("the notice was never delivered: outbox %r" % rows)
    ids = set(notice_id(r) for r in reqs)
    if len(ids) != 1:
        fails.append("notice id headers differ between attempts: %s" % sorted(map(str, ids)))
    evsets = set(json.dumps(events_of(hook_json(r, "attempt", fails))) for r in reqs)
    if len(evsets) != 1:
        fails.append("the attempts carry different events: %s" % sorted(evsets))
    for i, r in enumerate(reqs):
        check_webhook_headers(r, "attempt %d" % (i + 1), fails, WEBHOOK_SECRET)
    if reqs:
        check_json_notice(hook_json(reqs[-1], "last", fails), exp, (p.t0, time.time()),
                          "delivered attempt", fails)
    gaps = [round(reqs[i + 1].time - reqs[i].time, 2) for i in range(len(reqs) - 1)]
    print("      retry gaps: %s s (retry = 1s, doubling, +-25%%)" % gaps, flush=True)
    # retry = 1s: the first retry after 1 s +-25%, the second after 2 s
    # +-25%, timed to the millisecond.  Never earlier (50 ms for the two
    # clocks); later by up to 2 s, for a loaded machine or valgrind.  Only
    # gaps between two attempts of the same process count.
    for i, (lo, hi) in enumerate(((0.75, 1.25), (1.5, 2.5))):
        if boundary is not None and i < boundary <= i + 1:
            continue
        if i < len(gaps) and not lo - 0.05 <= gaps[i] <= hi + 2.0:
            fails.append("retry %d came %.2fs after the previous attempt; retry = 1s (first delay, "
                         "doubling, +-25%% jitter) means %.2f..%.2fs"
                         % (i + 1, gaps[i], lo, hi))
    before = len(hook.requests(path))
    run_once(conf, fails, "run --once after delivery")
    if len(hook.requests(path)) != before:
        fails.append("run --once after delivery sent %d more POSTs (duplicate)"
                     % (len(hook.requests(path)) - before))
    ctx.report("5a. retries: 500, 500, 200 with retry = 1s -> delivered once, same notice id and "
               "events on every attempt, outbox attempts == 2, no duplicate", fails)


def test_down(ctx):
    """5b. receiver down during run --once: notice stays pending, status
    works; receiver back: the next run --once delivers it exactly once with
    the same notice id"""
    fails = []
    hook = receivers.HttpReceiver()
    hook.start()
    try:
        path = "/t5b/down"
        targets = [("192.0.2.10", "mx-out-1"), ("192.0.2.11", "mx-out-2")]
        conf, db = write_conf(ctx, "t5b", targets, [
            ("down", {"type": "webhook", "url": hook.url(path), "retry": "1s"})])
        exp = expected_listed(ctx.world.state, targets)
        hook.stop()
        p = run_once(conf, fails, "run --once with the receiver down")
        if p.duration > 15:
            fails.append("run --once with the receiver down took %.1fs (SPEC: waits up to 10 s for "
                         "notices)" % p.duration)
        rows = outbox(db, "down")
        if len(rows) != len(exp):
            fails.append("outbox: %d rows, expected %d" % (len(rows), len(exp)))
        bad = [r for r in rows if r["delivered"] is not None or r["dead"] or r["attempts"] < 1
               or not r["last_error"]]
        if bad:
            fails.append("outbox rows should be pending with attempts >= 1 and last_error set: %r" % bad)
        notices = set(r["notice"] for r in rows)
        st = blwatch(conf, ["status"])
        if st.returncode != 1 or "192.0.2.10" not in st.stdout:
            fails.append("`%s` with notices pending: exit %d (expected 1, listed), stdout %r"
                         % (st.cmd, st.returncode, st.stdout[:300]))
        sj = blwatch(conf, ["status", "--json"])
        try:
            doc = json.loads(sj.stdout)
            got = sorted(t.get("target") for t in doc.get("targets", []))
            if got != ["192.0.2.10", "192.0.2.11"]:
                fails.append("status --json targets %s, expected the two listed" % got)
        except ValueError:
            fails.append("`%s`: not JSON: %r %r" % (sj.cmd, sj.stdout[:200], sj.stderr[:200]))
        hook.start()
        if not wait_due(db, "down"):
            fails.append("pending rows are due only in more than 12 s with retry = 1s: %r"
                         % outbox(db, "down"))
        p2 = run_once(conf, fails, "run --once with the receiver back")
        reqs = hook.requests(path)
        if len(reqs) != 1:
            fails.append("receiver back: %d POSTs, expected exactly 1" % len(reqs))
        for r in reqs[:1]:
            check_webhook_headers(r, "redelivery", fails, None)
            check_json_notice(hook_json(r, "redelivery", fails), exp, (p.t0, p2.t1), "redelivery",
                              fails)
            nid = notice_id(r)
            if len(notices) == 1 and None not in notices:
                n = str(list(notices)[0])
                if not any(v and re.search(r"(?<!\d)%s$" % n, v) for v in nid or ()):
                    fails.append("notice id headers %r do not carry the notice %s stored in the "
                                 "outbox when the first attempt failed" % (nid, n))
            else:
                fails.append("outbox rows of one cycle have notice ids %s (expected one)" % notices)
        rows = outbox(db, "down")
        if not rows or any(r["delivered"] is None for r in rows):
            fails.append("after redelivery, outbox rows not delivered: %r" % rows)
        before = len(hook.requests(path))
        run_once(conf, fails, "third run --once")
        if len(hook.requests(path)) != before:
            fails.append("third run --once sent the notice again")
    finally:
        hook.stop()
    ctx.report("5b. receiver down: run --once exits 0, notice pending (attempts >= 1, last_error), "
               "status works; receiver back: delivered exactly once with the same notice id", fails)


def test_giveup(ctx):
    """6. give_up = 60s, rows aged an hour: the next failed attempt marks
    them dead with last_error; status and history still work"""
    fails = []
    port = receivers.closed_tcp_port()
    targets = [("192.0.2.10", "mx-out-1")]
    conf, db = write_conf(ctx, "t6", targets, [
        ("gone", {"type": "webhook", "url": "http://127.0.0.1:%d/gone" % port, "retry": "1s",
                  "give_up": "60s"})])
    run_once(conf, fails, "run --once with nothing listening")
    rows = outbox(db, "gone")
    if not rows or any(r["dead"] or r["delivered"] is not None for r in rows):
        fails.append("after the first attempt the rows should be pending (not yet 60 s old): %r" % rows)
    now = int(time.time())
    db_exec(db, "UPDATE outbox SET created = created - 3600, due_ms = ?", ((now - 1) * 1000,))
    run_once(conf, fails, "run --once with rows an hour old")
    rows = outbox(db, "gone")
    if not rows or any(not r["dead"] or not r["last_error"] or r["delivered"] is not None
                       for r in rows):
        fails.append("rows older than give_up = 60s should be dead with last_error after the next "
                     "failed attempt: %r" % rows)
    attempts = [r["attempts"] for r in rows]
    run_once(conf, fails, "run --once after giving up")
    if [r["attempts"] for r in outbox(db, "gone")] != attempts:
        fails.append("a dead notice was attempted again: attempts %s -> %s"
                     % (attempts, [r["attempts"] for r in outbox(db, "gone")]))
    st = blwatch(conf, ["status"])
    if st.returncode != 1 or "192.0.2.10" not in st.stdout:
        fails.append("`%s` after giving up: exit %d (expected 1), %r" % (st.cmd, st.returncode,
                                                                       st.stdout[:300]))
    # The given-up notice shows, with the reason, in text and JSON.
    dead = [r for r in outbox(db, "gone") if r["dead"]]
    last_error = dead[-1]["last_error"] if dead else None
    line = "notices to gone: 0 pending, %d given up; last error: %s" % (len(dead), last_error)
    if not dead or line not in st.stdout.split("\n"):
        fails.append("`%s` after giving up: no line %r in %r" % (st.cmd, line, st.stdout))
    sj = blwatch(conf, ["status", "--json"])
    try:
        notices = json.loads(sj.stdout).get("notices")
        want = [{"channel": "gone", "pending": 0, "failed": len(dead), "last_error": last_error,
                 "last_delivered": None}]
        if notices != want:
            fails.append("`%s` after giving up: notices %r, expected %r"
                         % (sj.cmd, notices, want))
    except (ValueError, AttributeError):
        fails.append("`%s` after giving up: not a JSON object: %r" % (sj.cmd, sj.stdout[:200]))
    h = blwatch(conf, ["history", "--json"])
    try:
        evs = json.loads(h.stdout).get("events", [])
        if not any(e.get("type") == "listed" and e.get("target") == "192.0.2.10" for e in evs):
            fails.append("history --json lacks the listed event: %r" % evs)
    except ValueError:
        fails.append("`%s`: not JSON: %r" % (h.cmd, h.stdout[:200]))
    # give_up below the 60 s minimum is a config error naming the line.
    badconf, _ = write_conf(ctx, "t6-bad", targets, [
        ("gone", {"type": "webhook", "url": "http://127.0.0.1:%d/gone" % port, "give_up": "30s"})])
    bad = blwatch(badconf, ["config-check"])
    with open(badconf) as f:
        line = [i + 1 for i, l in enumerate(f.read().split("\n")) if l.startswith("give_up")][0]
    if bad.returncode != 78 or "%s:%d:" % (os.path.basename(badconf), line) not in bad.stderr:
        fails.append("`%s` with give_up = 30s (min 60s): exit %d, stderr %r; expected 78 and "
                     "FILE:%d:" % (bad.cmd, bad.returncode, bad.stderr.strip()[:300], line))
    ctx.report("6. give-up: rows aged past give_up = 60s become dead with last_error on the next "
               "failure, are not retried; status (text and --json notices) shows them given up "
               "with the error; history works; give_up = 30s is refused", fails)


def test_kill9(ctx):
    """7. run with the receiver down, kill -9, receiver up, run --once:
    every event delivered at least once"""
    fails = []
    hook = receivers.HttpReceiver()
    hook.start()
    try:
        path = "/t7/k9"
        targets = [("192.0.2.10", "mx-out-1"), ("192.0.2.11", "mx-out-2"), (RANGE, "range-28")]
        conf, db = write_conf(ctx, "t7", targets, [
            ("k9", {"type": "webhook", "url": hook.url(path), "retry": "1s"})], interval="1m")
        exp = expected_listed(ctx.world.state, targets)
        hook.stop()
        bg = Bg(conf, ["run"], os.path.join(ctx.tmp, "t7-run.log"))
        try:
            # `run` paces the cycle over the interval and holds a burst's
            # rows back to group them: kill it once a few are recorded.
            deadline = time.monotonic() + 30
            seen = 0
            while time.monotonic() < deadline:
                rows = outbox(db, "k9")
                seen = len(rows)
                if seen >= 4:
                    break
                if not bg.alive():
                    fails.append("run exited early: %s" % bg.log()[-500:])
                    break
                time.sleep(0.1)
            else:
                fails.append("run recorded only %d outbox rows within 30 s" % seen)
            bg.proc.send_signal(signal.SIGKILL)
            bg.proc.wait(timeout=10)
        finally:
            bg.close()
        before_kill = outbox(db, "k9")
        print("      killed with %d outbox rows (%d pending)" % (
            len(before_kill), sum(r["delivered"] is None for r in before_kill)), flush=True)
        hook.start()
        if not wait_due(db, "k9", limit=40):
            fails.append("pending rows due too far in the future: %r"
                         % [r["due_ms"] / 1000 - time.time() for r in outbox(db, "k9")])
        run_once(conf, fails, "run --once after kill -9")
        time.sleep(0.2)
        got = {}
        for r in hook.requests(path):
            doc = hook_json(r, "k9", fails) or {}
            for e in doc.get("events", []):
                k = (e.get("type"), e.get("target"), e.get("list"))
                got[k] = got.get(k, 0) + 1
        db_events = db_rows(db, "SELECT type, target_key, list FROM events WHERE target_key IS NOT NULL")
        for e in db_events:
            k = (e["type"], e["target_key"], e["list"])
            if k not in got:
                fails.append("event %s %s@%s (recorded) was never delivered" % k)
        for k in sorted(set(exp) - set(got)):
            fails.append("listing %s %s@%s (zone data) was never delivered" % k)
        rows = outbox(db, "k9")
        bad = [r for r in rows if r["delivered"] is None]
        if bad:
            fails.append("%d outbox rows still pending after run --once: %r" % (len(bad), bad[:3]))
        dup = {k: n for k, n in got.items() if n > 1}
        if dup:
            print("      (delivered more than once, allowed: %s)" % dup, flush=True)
    finally:
        hook.stop()
    ctx.report("7. kill -9 of `run` with the receiver down, then run --once: every event "
               "delivered at least once, outbox drained", fails)


def test_filter(ctx):
    """8. events = delisted: nothing for a listing, the delisting when the
    zone data drops it (confirm = 0)"""
    fails = []
    hook = ctx.hook
    targets = [("192.0.2.30", "filter-me")]
    conf, db = write_conf(ctx, "t8", targets, [
        ("all", {"type": "webhook", "url": hook.url("/t8/all"), "events": "all"}),
        ("gone", {"type": "webhook", "url": hook.url("/t8/gone"), "events": "delisted"}),
        ("lst", {"type": "webhook", "url": hook.url("/t8/lst"), "events": "listed, zone_unhealthy"}),
    ])
    exp = expected_listed(ctx.world.state, targets)
    p = run_once(conf, fails)
    if hook.requests("/t8/gone"):
        fails.append("events = delisted: got %d POSTs for a listing" % len(hook.requests("/t8/gone")))
    for pth in ("/t8/all", "/t8/lst"):
        reqs = hook.requests(pth)
        if len(reqs) != 1:
            fails.append("%s: %d POSTs for the listing, expected 1" % (pth, len(reqs)))
        for r in reqs[:1]:
            check_json_notice(hook_json(r, pth, fails), exp, (p.t0, p.t1), pth, fails)
    new = baseline()
    del new["n-a"]["192.0.2.30"]
    ctx.world.apply(new, "n-a", "192.0.2.30")
    try:
        p2 = run_once(conf, fails, "run --once after the delisting")
        want = {("delisted", "192.0.2.30", "n-a"): dict(type="delisted", target="192.0.2.30",
                                                         label="filter-me", list="n-a",
                                                         zone=ZBY["n-a"]["zone"],
                                                         delist=ZBY["n-a"]["delist"])}
        for pth, n in (("/t8/gone", 1), ("/t8/all", 2), ("/t8/lst", 1)):
            reqs = hook.requests(pth)
            if len(reqs) != n:
                fails.append("%s: %d POSTs after the delisting, expected %d" % (pth, len(reqs), n))
            if pth != "/t8/lst" and len(reqs) == n:
                check_json_notice(hook_json(reqs[-1], pth, fails), want, (p2.t0, p2.t1),
                                  pth + " delisting", fails)
    finally:
        ctx.world.apply(baseline(), "n-a", "192.0.2.30")
    ctx.report("8. per-channel events: 'delisted' gets only the delisting, 'listed, "
               "zone_unhealthy' only the listing, 'all' both", fails)


def test_testalert(ctx):
    """9. test-alert: NAME: ok / NAME: failed: REASON, exit codes, NAME
    selects one channel"""
    fails = []
    hook, mx, tls = ctx.hook, ctx.smtp_plain, ctx.smtp_tls
    dead_port = receivers.closed_tcp_port()
    alerts = [
        ("hook", {"type": "webhook", "url": hook.url("/t9/hook"), "secret_file": ctx.secret_file}),
        ("mail", {"type": "email", "url": mx.url(), "starttls": "no",
                  "from": "blwatch@example.org", "to": "t9a@example.net, t9b@example.net"}),
        ("tls", {"type": "email", "url": tls.url(), "starttls": "required", "ca_file": ctx.cert,
                 "from": "blwatch@example.org", "to": "t9tls@example.net", "username": SMTP_USER,
                 "password_file": ctx.password_file}),
        ("dead", {"type": "webhook", "url": "http://127.0.0.1:%d/dead" % dead_port}),
    ]
    conf, _db = write_conf(ctx, "t9", [("192.0.2.99", None)], alerts)
    n_mail, n_tls = len(mx.messages), len(tls.messages)
    p = blwatch(conf, ["test-alert"])
    lines = p.stdout.rstrip("\n").split("\n") if p.stdout.strip() else []
    ok_lines = sorted(l for l in lines if not l.startswith("dead:"))
    if ok_lines != ["hook: ok", "mail: ok", "tls: ok"]:
        fails.append("`%s`: lines %r, expected exactly 'hook: ok', 'mail: ok', 'tls: ok' and a "
                     "'dead: failed: ...' line" % (p.cmd, lines))
    dead = [l for l in lines if l.startswith("dead:")]
    if len(dead) != 1 or not re.match(r"^dead: failed: \S", dead[0]):
        fails.append("`%s`: dead channel line %r, expected 'dead: failed: REASON'" % (p.cmd, dead))
    if len(lines) != 4:
        fails.append("`%s`: %d lines, expected one per channel (4)" % (p.cmd, len(lines)))
    if p.returncode != 1:
        fails.append("`%s` with a dead channel: exit %d, expected 1" % (p.cmd, p.returncode))
    reqs = hook.requests("/t9/hook")
    if len(reqs) != 1:
        fails.append("test-alert: %d POSTs to the webhook, expected 1" % len(reqs))
    for r in reqs[:1]:
        check_webhook_headers(r, "test-alert webhook", fails, WEBHOOK_SECRET)
        doc = hook_json(r, "test-alert webhook", fails)
        if doc is not None and (doc.get("source") != "blwatch" or
                                doc.get("host") not in expected_host()):
            fails.append("test-alert webhook body: source/host %r/%r" % (doc.get("source"),
                                                                        doc.get("host")))
    time.sleep(0.2)
    msgs = mx.messages[n_mail:]
    if len(msgs) != 1 or sorted(msgs[0].rcpt_tos) != ["t9a@example.net", "t9b@example.net"]:
        fails.append("test-alert mail: %r, expected one message to t9a and t9b" % msgs)
    for msg in msgs[:1]:
        m = parse_mail(msg, "test-alert mail", fails)
        check_mail_headers(m, "test-alert mail", fails, "blwatch@example.org",
                           ["t9a@example.net", "t9b@example.net"], (p.t0, p.t1))
        if not (m.get("Subject") or "").startswith("blwatch"):
            fails.append("test-alert mail Subject %r" % m.get("Subject"))
    if len(tls.messages) - n_tls != 1 or not tls.messages[-1].tls:
        fails.append("test-alert over STARTTLS: %r" % tls.messages[n_tls:])
    # One channel by name.
    n_hook = len(hook.requests("/t9/hook"))
    n_mail = len(mx.messages)
    p = blwatch(conf, ["test-alert", "hook"])
    if p.stdout != "hook: ok\n" or p.returncode != 0:
        fails.append("`%s`: exit %d, stdout %r; expected exit 0 and exactly 'hook: ok'"
                     % (p.cmd, p.returncode, p.stdout))
    time.sleep(0.2)
    if len(hook.requests("/t9/hook")) != n_hook + 1 or len(mx.messages) != n_mail:
        fails.append("`test-alert hook` should send only to hook: %d POSTs, %d mails"
                     % (len(hook.requests("/t9/hook")) - n_hook, len(mx.messages) - n_mail))
    p = blwatch(conf, ["test-alert", "dead"])
    if p.returncode != 1 or not re.match(r"^dead: failed: \S[^\n]*\n$", p.stdout):
        fails.append("`%s`: exit %d, stdout %r; expected exit 1 and 'dead: failed: REASON'"
                     % (p.cmd, p.returncode, p.stdout))
    # A NAME that is no channel is a usage error, before anything is sent.
    n_hook, n_mail = len(hook.requests("/t9/hook")), len(mx.messages)
    for args in (["nosuch"], ["hook", "nosuch"]):
        p = blwatch(conf, ["test-alert"] + args)
        want = ("blwatch: test-alert: no [alert] channel named 'nosuch' (configured: hook, "
                "mail, tls, dead)\n")
        if p.returncode != 64 or p.stdout != "" or p.stderr != want:
            fails.append("`%s`: exit %d, stdout %r, stderr %r; expected exit 64, nothing on "
                         "stdout and %r" % (p.cmd, p.returncode, p.stdout, p.stderr, want))
    time.sleep(0.2)
    if len(hook.requests("/t9/hook")) != n_hook or len(mx.messages) != n_mail:
        fails.append("test-alert with an unknown NAME sent %d POSTs and %d mails, expected none"
                     % (len(hook.requests("/t9/hook")) - n_hook, len(mx.messages) - n_mail))
    check_test_notices(ctx, conf, fails)
    # Failure reasons a user can act on: HTTP 500, wrong password,
    # untrusted certificate, STARTTLS missing.
    alerts2 = [
        ("err500", {"type": "webhook", "url": hook.url("/t9/500")}),
        ("badpw", {"type": "email", "url": ctx.smtp_auth.url(), "starttls": "no",
                   "from": "blwatch@example.org", "to": "x@example.net", "username": SMTP_USER,
                   "password_file": ctx.bad_password_file}),
        ("noca", {"type": "email", "url": tls.url(), "starttls": "required",
                  "from": "blwatch@example.org", "to": "x@example.net", "username": SMTP_USER,
                  "password_file": ctx.password_file}),
        ("noclear", {"type": "email", "url": ctx.smtp_plain2.url(), "starttls": "required",
                     "from": "blwatch@example.org", "to": "x@example.net"}),
        ("smtps", {"type": "email", "url": ctx.smtps.url(), "ca_file": ctx.cert,
                   "from": "blwatch@example.org", "to": "smtps@example.net"}),
        ("envhook", {"type": "webhook", "url": hook.url("/t9/env"), "secret_env": "BW_T9_SECRET"}),
    ]
    conf2, _ = write_conf(ctx, "t9b", [("192.0.2.99", None)], alerts2)
    hook.fail_next(1, 500, "/t9/500")
    n_plain2, n_auth, n_tls = len(ctx.smtp_plain2.mails), len(ctx.smtp_auth.messages), len(tls.messages)
    p = blwatch(conf2, ["test-alert"], env={"BW_T9_SECRET": ENV_SECRET})
    got = dict(l.split(": ", 1) for l in p.stdout.strip().split("\n") if ": " in l)
    want_ok = {"smtps", "envhook"}
    for name, _k in alerts2:
        res = got.get(name)
        if name in want_ok:
            if res != "ok":
                fails.append("test-alert %s: %r, expected ok" % (name, res))
        elif not res or not res.startswith("failed: ") or len(res) <= len("failed: "):
            fails.append("test-alert %s: %r, expected 'failed: REASON'" % (name, res))
    if "500" not in got.get("err500", ""):
        fails.append("test-alert err500: reason %r does not mention HTTP 500" % got.get("err500"))
    if p.returncode != 1:
        fails.append("`%s`: exit %d, expected 1" % (p.cmd, p.returncode))
    if len(ctx.smtp_plain2.mails) != n_plain2:
        fails.append("noclear: MAIL FROM sent in clear despite starttls = required")
    if len(ctx.smtp_auth.messages) != n_auth:
        fails.append("badpw: a message was accepted with the wrong password")
    if len(tls.messages) != n_tls:
        fails.append("noca: a message went to a server whose certificate is not trusted")
    for r in hook.requests("/t9/env")[:1]:
        check_webhook_headers(r, "secret_env webhook", fails, ENV_SECRET)
    if len(hook.requests("/t9/env")) != 1:
        fails.append("envhook: %d POSTs, expected 1" % len(hook.requests("/t9/env")))
    ctx.report("9. test-alert: 'NAME: ok' / 'NAME: failed: REASON', exit 1 when any failed, "
               "NAME selects, an unknown NAME exits 64 sending nothing; 500, wrong password, "
               "untrusted cert, no STARTTLS fail; smtps and secret_env work; test notices have "
               "their own ids and read as a sentence", fails)


def check_test_notices(ctx, conf, fails):
    """Two test-alerts in one second: two notice ids; the text reads as a
    sentence, the JSON carries an event of type test with it."""
    hook, mx = ctx.hook, ctx.smtp_plain
    host = sorted(expected_host())[0]
    sentence = "This is a test notice from blwatch on %s: this channel works." % host
    n_hook, n_mail = len(hook.requests("/t9/hook")), len(mx.messages)
    for _ in range(2):
        blwatch(conf, ["test-alert", "hook", "mail"])
    time.sleep(0.2)
    reqs = hook.requests("/t9/hook")[n_hook:]
    mails = mx.messages[n_mail:]
    ids = [notice_id(r) for r in reqs]
    if len(reqs) != 2 or ids[0] == ids[1]:
        fails.append("two test-alerts: %d POSTs with notice ids %s, expected 2 different ids"
                     % (len(reqs), ids))
    for r in reqs[:1]:
        doc = hook_json(r, "test notice", fails) or {}
        evs = doc.get("events", [])
        if len(evs) != 1 or evs[0].get("type") != "test" or evs[0].get("detail") != sentence:
            fails.append("test notice JSON events %r, expected one event of type test with "
                         "detail %r" % (evs, sentence))
        nid = doc.get("notice")
        if not isinstance(nid, int) or nid < 10 ** 12 or nid >= 2 ** 53:
            fails.append("test notice id %r: expected a positive integer far above the outbox "
                         "notice ids and below 2^53" % nid)
    msg_ids = [parse_mail(m, "test mail", fails).get("Message-ID") for m in mails]
    if len(mails) != 2 or len(set(msg_ids)) != 2:
        fails.append("two test-alerts: %d mails with Message-IDs %s, expected 2 different"
                     % (len(mails), msg_ids))
    for m in mails[:1]:
        text = body_text(parse_mail(m, "test mail", fails))
        if sentence not in text.replace("\r\n", "\n").replace("\n    ", " ") or "?" in text:
            fails.append("test mail body %r, expected the sentence %r" % (text[:300], sentence))


def check_url_file(ctx, fails):
    """A webhook whose URL (its path a token) comes from url_file is
    delivered there; config-check names the file; url with url_file, or
    password_file with password_env, is an error naming the later line."""
    hook = ctx.hook
    path = "/t10u/%s" % HOOK_TOKEN
    url_file = write_secret(os.path.join(ctx.secrets, "hook.url"), hook.url(path) + "\n")
    conf, db = write_conf(ctx, "t10u", [("192.0.2.10", "mx-out-1")], [
        ("hook", {"type": "webhook", "url_file": url_file})])
    p = blwatch(conf, ["config-check"])
    if p.returncode != 0 or not re.search(r"url_file\s*= %s\n" % re.escape(url_file), p.stdout):
        fails.append("`%s`: exit %d, expected 0 and url_file = %s in %r"
                     % (p.cmd, p.returncode, url_file, p.stdout[-400:]))
    run_once(conf, fails, "run --once with url_file")
    reqs = hook.requests(path)
    if len(reqs) != 1:
        fails.append("url_file: %d POSTs to the URL in the file, expected 1" % len(reqs))
    for r in reqs[:1]:
        check_json_notice(hook_json(r, "url_file", fails),
                          expected_listed(ctx.world.state, [("192.0.2.10", "mx-out-1")]),
                          (p.t0, time.time()), "url_file", fails)
    for extra, later, words in (
            ({"url": hook.url("/x"), "url_file": url_file}, "url_file", "url_file and url"),
            ({"url_env": "BW_T10_URL", "url_file": url_file}, "url_file",
             "url_file and url_env"),
            ({"url": hook.url("/x"), "secret_file": ctx.secret_file, "secret_env": "BW_T10_S"},
             "secret_env", "secret_env and secret_file")):
        c, _ = write_conf(ctx, "t10x", [("192.0.2.99", None)],
                          [("hook", dict({"type": "webhook"}, **extra))])
        with open(c) as f:
            line = [i + 1 for i, l in enumerate(f.read().split("\n")) if l.startswith(later)][0]
        p = blwatch(c, ["config-check"], env={"BW_T10_URL": hook.url("/x"), "BW_T10_S": "x"})
        if p.returncode != 78 or "%s:%d:" % (os.path.basename(c), line) not in p.stderr \
                or words not in p.stderr:
            fails.append("`%s` with %s: exit %d, stderr %r; expected 78, FILE:%d: and %r"
                         % (p.cmd, sorted(extra), p.returncode, p.stderr.strip(), line, words))


def test_secrets(ctx):
    """10. world-readable password_file warns; secrets never printed"""
    fails = []
    loose = write_secret(os.path.join(ctx.secrets, "loose.secret"), SMTP_PASSWORD + "\n", 0o644)
    alerts = [
        ("mail", {"type": "email", "url": ctx.smtp_auth.url(), "starttls": "no",
                  "from": "blwatch@example.org", "to": "x@example.net", "username": SMTP_USER,
                  "password_file": loose}),
        ("hook", {"type": "webhook", "url": ctx.hook.url("/t10"), "secret_file": ctx.secret_file}),
        ("envs", {"type": "webhook", "url": ctx.hook.url("/t10e"), "secret_env": "BW_T10_SECRET"}),
        ("envp", {"type": "email", "url": ctx.smtp_auth.url(), "starttls": "no",
                  "from": "blwatch@example.org", "to": "y@example.net", "username": SMTP_USER,
                  "password_env": "BW_T10_PW"}),
    ]
    conf, _ = write_conf(ctx, "t10", [("192.0.2.99", None)], alerts)
    env = {"BW_T10_SECRET": ENV_SECRET, "BW_T10_PW": ENV_PASSWORD}
    p = blwatch(conf, ["config-check"], env=env)
    if p.returncode != 0:
        fails.append("`%s`: exit %d, stderr %r" % (p.cmd, p.returncode, p.stderr[:400]))
    warn = [l for l in p.stderr.split("\n") if loose in l or "readable" in l.lower()]
    if not warn:
        fails.append("`%s`: no warning on stderr about %s (mode 0644, readable by others); "
                     "stderr %r" % (p.cmd, loose, p.stderr[:400]))
    conf2, _ = write_conf(ctx, "t10b", [("192.0.2.99", None)], [
        ("mail", dict(alerts[0][1], password_file=ctx.password_file)), alerts[1]])
    p2 = blwatch(conf2, ["config-check"])
    if p2.returncode != 0 or ctx.password_file in p2.stderr or "readable" in p2.stderr.lower():
        fails.append("`%s` (password_file mode 0600): exit %d, stderr %r; expected no warning"
                     % (p2.cmd, p2.returncode, p2.stderr[:400]))
    # Runs that fail with the secrets in play: their logs must not carry
    # them, nor the password or path of a URL.
    bad_conf, _ = write_conf(ctx, "t10c", [("192.0.2.10", "mx-out-1")], [
        ("mail", dict(alerts[0][1], password_file=ctx.password_file,
                      url="smtp://%s:%s@127.0.0.1:%d" % (SMTP_USER, URL_PASSWORD,
                                                       receivers.closed_tcp_port()))),
        ("hook", dict(alerts[1][1], url="http://127.0.0.1:%d/%s"
                      % (receivers.closed_tcp_port(), HOOK_TOKEN)))])
    blwatch(bad_conf, ["run", "--once"])
    blwatch(bad_conf, ["test-alert"])
    blwatch(bad_conf, ["status"])
    p3 = blwatch(bad_conf, ["config-check"])
    if "smtp://%s:<hidden>@127.0.0.1:" % SMTP_USER not in p3.stdout or \
            not re.search(r"url\s*= http://127\.0\.0\.1:\d+/<hidden>\n", p3.stdout):
        fails.append("`%s`: URLs not shown redacted (scheme, host and port kept, password "
                     "and path <hidden>): %r" % (p3.cmd, p3.stdout[-600:]))
    check_url_file(ctx, fails)
    leaks = []
    for cmd, out in OUTPUTS:
        for s in SECRETS:
            if s in out:
                leaks.append("`%s` printed the secret %r" % (cmd, s[:6] + "..."))
    fails += leaks
    ctx.report("10. secrets: world-readable password_file warns (0600 does not); config-check "
               "shows URLs redacted; a webhook URL from url_file delivers; two sources for one "
               "secret are an error; no password, webhook secret, URL password or webhook "
               "token in any blwatch output of this test (%d runs checked)" % len(OUTPUTS), fails)


# --------------------------------------------------------------------------
# Grouping in a paced `run`, starttls = try, zone health, a stalled receiver
# --------------------------------------------------------------------------

PACED = [("203.0.113.%d" % i, "paced-%d" % i) for i in range(1, 9)]
PACED_LISTED = [a for a, _l in PACED[:4]]   # the first four: paced 7.5 s apart


def paced_state():
    state = baseline()
    for a in PACED_LISTED:
        state["n-a"][a] = ("127.0.0.2", "A: paced listing of %s" % a)
    return state


def posted_events(hook, path, where, fails):
    """[[(type, target, list), ...] per POST] of the JSON notices to path."""
    out = []
    for r in hook.requests(path):
        doc = hook_json(r, where, fails) or {}
        out.append([(e.get("type"), e.get("target"), e.get("list"))
                    for e in doc.get("events", []) if isinstance(e, dict)])
    return out


def test_paced(ctx):
    """11. paced `run` (interval 1m, 8 targets, listings 7.5 s apart):
    group_interval = 30s sends the first listing within seconds and the
    rest as one notice; group_interval = 0 sends one notice per listing"""
    fails = []
    hook = ctx.hook
    chans = {"grouped": ("/t11/grouped", "30s"), "each": ("/t11/each", "0")}
    confs = {}
    for name, (path, gi) in chans.items():
        confs[name] = write_conf(ctx, "t11-" + name, PACED, [
            (name, {"type": "webhook", "url": hook.url(path), "group_interval": gi})],
            interval="1m")
        run_once(confs[name][0], fails, "run --once (%s) recording the targets clear" % name)
    if any(hook.requests(p) for p, _g in chans.values()):
        fails.append("notices before anything was listed: %r"
                     % {p: len(hook.requests(p)) for p, _g in chans.values()})
    want = sorted(("listed", a, "n-a") for a in PACED_LISTED)
    ctx.world.apply(paced_state(), "n-a", PACED_LISTED[0])
    bgs = []
    try:
        t0, t0_wall = time.monotonic(), time.time()
        for name in chans:
            bgs.append(Bg(confs[name][0], ["run"], os.path.join(ctx.tmp, "t11-%s.log" % name)))
        deadline = t0 + 55
        while time.monotonic() < deadline:
            got = {n: sum(posted_events(hook, p, n, []), []) for n, (p, _g) in chans.items()}
            if all(sorted(set(v)) == want for v in got.values()):
                break
            if not all(b.alive() for b in bgs):
                fails.append("`run` exited early: %s" % [b.log()[-400:] for b in bgs])
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
    finally:
        for b in bgs:
            b.close(signal.SIGTERM)
        ctx.world.apply(baseline(), "n-a", PACED_LISTED[0])
    per = {n: posted_events(hook, p, n, fails) for n, (p, _g) in chans.items()}
    for name, posts in per.items():
        flat = sorted(sum(posts, []))
        if flat != want:
            fails.append("%s: the listings delivered across %d POSTs are %s, expected each of "
                         "%s exactly once" % (name, len(posts), flat, want))
    grouped, each = len(per["grouped"]), len(per["each"])
    print("      POSTs: group_interval = 30s -> %d %s, group_interval = 0 -> %d (%.1fs)"
          % (grouped, [len(p) for p in per["grouped"]], each, elapsed), flush=True)
    if not 1 < grouped < len(want):
        fails.append("group_interval = 30s: %d POSTs for %d listings paced 7.5 s apart, "
                     "expected 2 (the first at once, the rest together)" % (grouped, len(want)))
    if per["grouped"] and per["grouped"][0] != [("listed", PACED_LISTED[0], "n-a")]:
        fails.append("group_interval = 30s: the first notice %s should be the first listing "
                     "alone (sent after the quiet period, not held)" % per["grouped"][0])
    first = hook.requests(chans["grouped"][0])[:1]
    if first and first[0].time - t0_wall > 15:
        fails.append("group_interval = 30s: the first notice came %.1fs after the start, "
                     "expected within about 10 s (quiet period)" % (first[0].time - t0_wall))
    if each <= grouped:
        fails.append("control: group_interval = 0 sent %d POSTs, not more than group_interval "
                     "= 30s (%d): the grouping is not what made the difference" % (each, grouped))
    ctx.report("11. paced run: group_interval = 30s groups listings 7.5 s apart (first at once, "
               "the rest in one notice, each listing once); group_interval = 0 sends more", fails)


def test_starttry(ctx):
    """12. starttls = try: STARTTLS used where offered (certificate
    verified with ca_file), plain text where not"""
    fails = []
    tls, plain = ctx.smtp_tls_open, ctx.smtp_plain
    frm = "blwatch@example.org"
    conf, db = write_conf(ctx, "t12", [("192.0.2.10", "mx-out-1")], [
        ("try-tls", {"type": "email", "url": tls.url(), "starttls": "try",
                     "ca_file": ctx.cert, "from": frm, "to": "try-tls@example.net"}),
        ("try-plain", {"type": "email", "url": plain.url(), "starttls": "try",
                       "from": frm, "to": "try-plain@example.net"}),
    ])
    n_tls, n_plain = len(tls.messages), len(plain.messages)
    run_once(conf, fails)
    time.sleep(0.2)
    got_tls = [m for m in tls.messages[n_tls:] if m.rcpt_tos == ["try-tls@example.net"]]
    got_plain = [m for m in plain.messages[n_plain:] if m.rcpt_tos == ["try-plain@example.net"]]
    if len(got_tls) != 1 or not got_tls[0].tls:
        fails.append("starttls = try, server offers STARTTLS: %r, expected one message over TLS"
                     % got_tls)
    if len(got_plain) != 1 or got_plain[0].tls:
        fails.append("starttls = try, server without STARTTLS: %r, expected one message in clear"
                     % got_plain)
    for ch in ("try-tls", "try-plain"):
        rows = outbox(db, ch)
        if not rows or any(r["delivered"] is None for r in rows):
            fails.append("%s: outbox rows not delivered: %r" % (ch, rows))
    ctx.report("12. starttls = try: TLS where the server offers STARTTLS, clear text where it "
               "does not; both delivered", fails)


def test_zonehealth(ctx):
    """13. a zone that lists 127.0.0.1: one notice with one zone_unhealthy
    event, no per-target listing (its 16 listed addresses set aside)"""
    fails = []
    hook = ctx.hook
    state = baseline()
    state["n-b"]["127.0.0.1"] = ("127.0.0.2", "B lists everything")
    targets = [(RANGE, "range-28"), ("192.0.2.99", "clean-one")]
    conf, db = write_conf(ctx, "t13", targets, [
        ("hook", {"type": "webhook", "url": hook.url("/t13/hook")}),
        ("chat", {"type": "webhook", "url": hook.url("/t13/chat"), "format": "slack"})])
    ctx.world.apply(state, "n-b", "127.0.0.1")
    try:
        run_once(conf, fails)
    finally:
        ctx.world.apply(baseline(), "n-b", "127.0.0.1")
    reqs = hook.requests("/t13/hook")
    if len(reqs) != 1:
        fails.append("%d POSTs, expected exactly 1 (one zone-health notice)" % len(reqs))
    for r in reqs[:1]:
        doc = hook_json(r, "zone health", fails) or {}
        evs = doc.get("events", [])
        kinds = [(e.get("type"), e.get("list"), e.get("target")) for e in evs]
        if kinds != [("zone_unhealthy", "n-b", None)]:
            fails.append("events %s, expected exactly [zone_unhealthy n-b] with no target and no "
                         "listing of the range's addresses" % kinds)
        for e in evs[:1]:
            if e.get("zone") != ZBY["n-b"]["zone"] or not e.get("result"):
                fails.append("zone event: zone %r result %r, expected %s and the health"
                             % (e.get("zone"), e.get("result"), ZBY["n-b"]["zone"]))
    chat = hook.requests("/t13/chat")
    if len(chat) != 1:
        fails.append("slack channel: %d POSTs, expected 1" % len(chat))
    for r in chat[:1]:
        text = (hook_json(r, "zone health slack", fails) or {}).get("text", "")
        if ZBY["n-b"]["name"] not in text or "198.51.100." in text:
            fails.append("slack text should name %r and no address of the range: %r"
                         % (ZBY["n-b"]["name"], text[:300]))
    listed = db_rows(db, "SELECT count(*) AS n FROM events WHERE type = 'listed'")[0]["n"]
    if listed:
        fails.append("%d listed events recorded from a zone that lists everything" % listed)
    ctx.report("13. zone health: a zone listing 127.0.0.1 gives one notice with one "
               "zone_unhealthy event and no listing of its 16 addresses", fails)


def test_stall(ctx):
    """14. a receiver that takes the POST and never answers: DNS polling
    goes on (later paced listings recorded) while the notice hangs; once
    it is dropped the notice is retried and delivered"""
    fails = []
    hook = receivers.HttpReceiver().start()
    try:
        path = "/t14/stall"
        state = baseline()
        for a in PACED_LISTED[:2]:
            state["n-a"][a] = ("127.0.0.2", "A: stalled listing of %s" % a)
        conf, db = write_conf(ctx, "t14", PACED, [
            ("stall", {"type": "webhook", "url": hook.url(path), "retry": "1s",
                       "group_interval": "0"})], interval="1m")
        run_once(conf, fails, "run --once recording the targets clear")
        ctx.world.apply(state, "n-a", PACED_LISTED[0])
        hook.stall_next(1, path)
        bg = Bg(conf, ["run"], os.path.join(ctx.tmp, "t14-run.log"))
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not hook.stalled():
                time.sleep(0.1)
            if not hook.stalled():
                fails.append("the first notice never reached the stalling receiver: %s"
                             % bg.log()[-400:])
            # The second listing is paced 7.5 s after the first: recorded
            # while the first notice hangs.
            second = PACED_LISTED[1]
            while time.monotonic() < deadline:
                rows = db_rows(db, "SELECT count(*) AS n FROM events WHERE type = 'listed' "
                                   "AND target_key = ?", (second,))
                if rows[0]["n"]:
                    break
                time.sleep(0.2)
            else:
                fails.append("no event for %s within 30 s while the notice hung: polling held up"
                             % second)
            if hook.stalled() != 1:
                fails.append("the stalled request was answered or dropped before the second "
                             "listing was recorded (held: %d)" % hook.stalled())
            hook.release()
            done = time.monotonic() + 20
            while time.monotonic() < done:
                rows = outbox(db, "stall")
                if len(rows) == 2 and all(r["delivered"] is not None for r in rows):
                    break
                time.sleep(0.2)
            log = bg.log()
        finally:
            bg.close(signal.SIGTERM)
        ctx.world.apply(baseline(), "n-a", PACED_LISTED[0])
        reqs = hook.requests(path)
        statuses = [r.status for r in reqs]
        if not statuses or statuses[0] != receivers.STALL or 200 not in statuses:
            fails.append("receiver saw %s, expected the stalled POST, then deliveries" % statuses)
        ids = [notice_id(r) for r in reqs]
        if len(ids) >= 2 and ids[0] != ids[1]:
            fails.append("the retry of the stalled notice has another id: %s then %s"
                         % (ids[0], ids[1]))
        got = sorted(sum(posted_events(hook, path, "stall", fails), []))
        want = sorted(("listed", a, "n-a") for a in PACED_LISTED[:2])
        if sorted(set(got)) != want:
            fails.append("events delivered %s, expected %s" % (got, want))
        rows = outbox(db, "stall")
        if len(rows) != 2 or any(r["delivered"] is None for r in rows):
            fails.append("outbox after release: %r, expected both rows delivered" % rows)
        elif rows[0]["attempts"] < 1:
            fails.append("the stalled notice's row shows no failed attempt: %r" % rows[0])
        if "will retry" not in log:
            fails.append("the log does not say the stalled notice will be retried")
    finally:
        hook.stop()
    ctx.report("14. stalled receiver: paced DNS polling records the next listing while the "
               "notice hangs unanswered; dropped, the notice is retried (same id) and "
               "delivered", fails)


def test_once(ctx):
    """15. run --once sends one notice per channel for its cycle, even when
    its events come seconds apart (a first result at once, a confirmed
    change 7 s later)."""
    fails = []
    hook = ctx.hook
    early, new = PACED_LISTED[0], PACED_LISTED[1]
    chan = [("hook", {"type": "webhook", "url": hook.url("/t15")})]
    conf, db = write_conf(ctx, "t15", [(early, "early")], chan, confirm="7s")
    run_once(conf, fails, "run --once recording %s clear" % early)
    # Both listed now: the new target's first result is recorded at once,
    # the known one's change only after the 7 s confirmation.
    conf, db = write_conf(ctx, "t15", [(early, "early"), (new, "new")], chan, confirm="7s")
    state = baseline()
    for a in (early, new):
        state["n-a"][a] = ("127.0.0.2", "A: once %s" % a)
    ctx.world.apply(state, "n-a", early)
    try:
        run_once(conf, fails)
    finally:
        ctx.world.apply(baseline(), "n-a", early)
    posts = posted_events(hook, "/t15", "once", fails)
    want = sorted(("listed", a, "n-a") for a in (early, new))
    if len(posts) != 1 or sorted(posts[0]) != want:
        fails.append("%d POSTs %s, expected one notice with %s" % (len(posts), posts, want))
    ctx.report("15. once: run --once sends its cycle's events 7 s apart as one notice",
               fails)


TESTS = [("webhook", test_webhook), ("grouping", test_grouping), ("email", test_email),
         ("inject", test_inject), ("retry", test_retry), ("down", test_down),
         ("giveup", test_giveup), ("kill9", test_kill9), ("filter", test_filter),
         ("testalert", test_testalert), ("secrets", test_secrets), ("paced", test_paced),
         ("starttry", test_starttry), ("zonehealth", test_zonehealth), ("stall", test_stall),
         ("once", test_once)]


class Ctx:
    def __init__(self):
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
    global BLWATCH, VERSION
    parsed = results_parse_args(sys.argv[1:], __doc__, TESTS)
    if isinstance(parsed, int):
        return parsed
    BLWATCH, wanted = parsed
    v = blwatch(None, ["--version"])
    m = re.search(r"(\d+\.\d+[^\s]*)\s*$", v.stdout.strip())
    if v.returncode != 0 or not m:
        print("FAIL  `%s`: exit %d, %r" % (v.cmd, v.returncode, v.stdout))
        return 1
    VERSION = m.group(1)
    tmp = rbl.make_workdir("blwatch-notices-")
    ctx = Ctx()
    ctx.tmp = tmp
    servers = []
    t_start = time.monotonic()
    harness_problem = False
    try:
        try:
            ctx.world = World(tmp)
            ctx.world.start()
            ctx.catalog = os.path.join(tmp, "catalog.conf")
            with open(ctx.catalog, "w") as f:
                f.write(catalog_text())
            ctx.secrets = os.path.join(tmp, "secrets")
            os.mkdir(ctx.secrets, 0o700)
            ctx.secret_file = write_secret(os.path.join(ctx.secrets, "webhook.secret"),
                                           WEBHOOK_SECRET + "\n")
            ctx.password_file = write_secret(os.path.join(ctx.secrets, "smtp.secret"),
                                             SMTP_PASSWORD + "\n")
            ctx.bad_password_file = write_secret(os.path.join(ctx.secrets, "bad.secret"),
                                                 "not-the-password\n")
            ctx.cert, key = receivers.make_self_signed_cert(ctx.secrets)
            ctx.hook = receivers.HttpReceiver().start()
            servers.append(ctx.hook)
            users = {SMTP_USER: SMTP_PASSWORD}
            ctx.smtp_plain = receivers.SmtpReceiver().start()
            servers.append(ctx.smtp_plain)
            ctx.smtp_plain2 = receivers.SmtpReceiver().start()
            servers.append(ctx.smtp_plain2)
            ctx.smtp_auth = receivers.SmtpReceiver(users=users, auth_mechanisms=["LOGIN"],
                                                   auth_require_tls=False).start()
            servers.append(ctx.smtp_auth)
            ctx.smtp_tls = receivers.SmtpReceiver(users=users, auth_mechanisms=["PLAIN"],
                                                  tls=(ctx.cert, key), require_starttls=True,
                                                  auth_require_tls=True).start()
            servers.append(ctx.smtp_tls)
            ctx.smtps = receivers.SmtpReceiver(tls=(ctx.cert, key), implicit_tls=True).start()
            servers.append(ctx.smtps)
            ctx.smtp_tls_open = receivers.SmtpReceiver(tls=(ctx.cert, key)).start()
            servers.append(ctx.smtp_tls_open)
        except (HarnessError, rbl.RbldnsdError, subprocess.CalledProcessError, RuntimeError) as e:
            print("harness problem: %s" % e)
            return 2
        print("      rbldnsd 127.0.0.1:%d, http 127.0.0.1:%d, smtp %d/%d (plain), %d (auth), "
              "%d (starttls), %d (smtps); blwatch %s; %s"
              % (ctx.world.srv.port, ctx.hook.port, ctx.smtp_plain.port, ctx.smtp_plain2.port,
                 ctx.smtp_auth.port, ctx.smtp_tls.port, ctx.smtps.port, VERSION, tmp), flush=True)
        for name, fn in TESTS:
            if name not in wanted:
                continue
            t0 = time.monotonic()
            try:
                fn(ctx)
            except HarnessError as e:
                harness_problem = True
                ctx.report("%s (harness)" % fn.__doc__.strip().split("\n")[0], ["harness: %s" % e])
            except Exception:
                ctx.report(fn.__doc__.strip().split("\n")[0], ["exception:\n" + traceback.format_exc()])
            finally:
                _kill_children()
            print("      (%s: %.1fs)" % (name, time.monotonic() - t0), flush=True)
    finally:
        _kill_children()
        for s in servers:
            try:
                s.stop()
            except Exception:
                pass
        if getattr(ctx, "world", None) is not None:
            ctx.world.srv.stop()
        if os.environ.get("BLWATCH_TEST_KEEP"):
            print("      kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return results_finish(ctx.results, t_start, harness_problem, SANITIZER_REPORTS, NOTES)


if __name__ == "__main__":
    sys.exit(main())
