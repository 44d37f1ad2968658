#!/usr/bin/python3
"""Integration test of the HTTP endpoint of `blwatch run` ([http] listen):
/metrics, /api/status, /api/history and the status page, against a local
rbldnsd on 127.0.0.1.

    /usr/bin/python3 tests/integration/test_http.py BLWATCH_BIN [ARTIFACT_DIR]

The poller runs on the integration-test world (testdata.py) with three
targets; once its first cycle is in, every endpoint is checked:
  * /metrics passes `promtool check metrics` and has the exact values the
    world implies (the listed gauge of a known listed pair is 1, query
    counters and latency histograms count, zone health 0/1);
  * /api/status and /api/history are byte for byte what `blwatch status
    --json` and `history --json` print (history with target and since);
  * HEAD works, POST and PUT get 405, unknown paths 404, bad query 400;
  * a token (token_file) is required when configured: 401 without, 200
    with; a non-loopback listen without token_file is a config error (78);
  * headless Chromium renders the page: the listed target and its
    delisting link are in the DOM, hostile TXT text is inert, and a phone-
    sized screenshot is saved as ARTIFACT_DIR/status-page.png;
  * packaging/examples/prometheus-alerts.yml passes `promtool check rules`.

Exit status: 0 all passed, 1 something failed, 2 harness problem.
Standard library only; run with /usr/bin/python3.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import rbl        # noqa: E402
import testdata as W   # noqa: E402

SAN_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                    r"SUMMARY: (Address|Leak|Undefined)", re.M)

ZONES = W.HEALTHY + ["t-wild", "t-dead"]
LISTED = "192.0.2.10"          # listed on t-multi (SBL and XBL codes)
LABEL = "mx-out-1"
CLEAN = "203.0.113.50"
DOMAIN = "spam.example"        # listed on t-dom
EVIL_ZONE = "evil.bl.test"     # our own zone: hostile TXT, javascript: delist
EVIL_TXT = '<script>alert("x")</script><img src=x onerror=alert(1)> & "q"'
TOKEN = "s3cret-token-for-the-test"


class Report:
    def __init__(self):
        self.failed = []

    def add(self, name, failures):
        print("%s  %s" % ("FAIL" if failures else "PASS", name), flush=True)
        for f in failures[:40]:
            print("      - " + str(f).replace("\n", "\n        "))
        if failures:
            self.failed.append(name)


def free_tcp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def request(port, method, path, headers=None, body=None, timeout=10):
    """(status, headers dict (lower-case names), body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


class Poller:
    """`blwatch run` in the background, its stderr in a file."""

    def __init__(self, binary, conf, workdir, name):
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "-c", conf, "run"],
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.log)

    def stop(self):
        """SIGTERM; returns (exit code, stderr text)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        with open(self.log_path, errors="replace") as f:
            return self.proc.returncode, f.read()


def wait_for_first(port, proc, headers=None, timeout=20):
    """Waits until the running poller has looked up its first target (the
    rest of its cycle is paced over the interval; `run --once` before it
    filled the database)."""
    end = time.time() + timeout
    want = 'blwatch_queries_total{list="t-multi",zone="multi.bl.test",' \
           'result="listed"} 1'
    while time.time() < end:
        if proc.poll() is not None:
            return "blwatch exited with %s" % proc.returncode
        try:
            st, _h, body = request(port, "GET", "/metrics", headers)
            if st == 200 and want in body.decode():
                return None
        except OSError:
            pass
        time.sleep(0.2)
    return "the first target was not looked up within %ds" % timeout


# --------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------

def evil_catalog():
    return ("\n[t-evil]\nname = Hostile list\nzone = %s\nkind = ip4\n"
            "code = 127.0.0.2 listed <b>bold</b> \"meaning\"\n"
            "delist = javascript:alert(1)\ndefault = no\ntestpoints = no\n"
            % EVIL_ZONE)


def setup(tmp):
    for name, text in W.data_files().items():
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    with open(os.path.join(tmp, "evil.data"), "w") as f:
        f.write(W.SOA + "%s :127.0.0.2:%s\n" % (LISTED, EVIL_TXT))
    zones = W.rbldnsd_zones() + [(EVIL_ZONE, "ip4set", "evil.data")]
    srv = rbl.Rbldnsd(tmp, zones, probe=("2.0.0.127.multi.bl.test", True))
    srv.start()
    cat = os.path.join(tmp, "catalog.conf")
    with open(cat, "w") as f:
        f.write(W.catalog_text(ZONES) + evil_catalog())
    return srv, cat


def write_conf(tmp, name, srv, cat, port, extra_http=""):
    extra = ("[poller]\ndatabase = %s\ninterval = 1h\n\n"
             "[targets]\nip = %s %s\nip = %s\ndomain = %s\n\n"
             "[http]\nlisten = 127.0.0.1:%d\n%s"
             % (os.path.join(tmp, "blwatch.db"), LISTED, LABEL, CLEAN, DOMAIN,
                port, extra_http))
    return rbl.write_config(os.path.join(tmp, name), srv.port, cat,
                            use=",".join(ZONES + ["t-evil"]), timeout="1s",
                            tries=1, extra=extra)


# --------------------------------------------------------------------------
# /metrics
# --------------------------------------------------------------------------

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {label: value}, float)] and a list of problems."""
    out, problems = [], []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            problems.append("unparsable line: %r" % line)
            continue
        labels = {k: v.replace('\\"', '"').replace("\\n", "\n")
                  .replace("\\\\", "\\")
                  for k, v in LABEL_RE.findall(m.group(3) or "")}
        out.append((m.group(1), labels, float(m.group(4))))
    return out, problems


def value(samples, name, **labels):
    for n, l, v in samples:
        if n == name and all(l.get(k) == w for k, w in labels.items()):
            return v
    return None


def check_metrics(port):
    fails = []
    st, h, body = request(port, "GET", "/metrics")
    if st != 200:
        return ["/metrics: status %d" % st]
    if not h.get("content-type", "").startswith("text/plain; version=0.0.4"):
        fails.append("/metrics Content-Type: %r" % h.get("content-type"))
    text = body.decode()
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        fails.append("promtool check metrics: %s%s" % (p.stdout, p.stderr))
    s, problems = parse_metrics(text)
    fails += problems
    want = [
        ("blwatch_listed", dict(target=LISTED, label=LABEL, list="t-multi",
                                zone="multi.bl.test"), 1),
        ("blwatch_listed", dict(target=DOMAIN, label="", list="t-dom",
                                zone="dom.bl.test"), 1),
        ("blwatch_listed", dict(target=LISTED, list="t-evil"), 1),
        ("blwatch_zone_healthy", dict(list="t-multi"), 1),
        ("blwatch_zone_healthy", dict(list="t-wild"), 0),
        ("blwatch_zone_healthy", dict(list="t-dead"), 0),
        ("blwatch_zone_health", dict(list="t-wild", health="wildcard"), 1),
        ("blwatch_zone_health", dict(list="t-dead", health="dead"), 1),
        ("blwatch_zone_health", dict(list="t-multi", health="ok"), 1),
        ("blwatch_zone_testpoints", dict(list="t-notp"), 0),
        ("blwatch_targets", {}, 3),
        ("blwatch_zones_enabled", {}, len(ZONES) + 1),
        ("blwatch_interval_seconds", {}, 3600),
        # The running poller's counters: its first target only so far.
        ("blwatch_queries_total", dict(list="t-multi", result="listed"), 1),
        ("blwatch_queries_total", dict(list="t-multi", result="clear"), 0),
        ("blwatch_queries_total", dict(list="t-sh", result="listed"), 1),
        ("blwatch_queries_total", dict(list="t-dom", result="listed"), 0),
        ("blwatch_queries_total", dict(list="t-wild", result="untrusted"), 1),
    ]
    for name, labels, v in want:
        got = value(s, name, **labels)
        if got != v:
            fails.append("%s%r = %r, want %r" % (name, labels, got, v))
    if value(s, "blwatch_listed", target=CLEAN) is not None:
        fails.append("blwatch_listed has a series for the clean target")
    # One answer each from t-multi; none from t-wild (set aside, no query).
    cnt = value(s, "blwatch_dns_answer_seconds_count", list="t-multi")
    inf = value(s, "blwatch_dns_answer_seconds_bucket", list="t-multi",
                le="+Inf")
    if cnt != 1 or inf != 1:
        fails.append("t-multi latency histogram count %r, +Inf %r, want 1"
                     % (cnt, inf))
    if value(s, "blwatch_dns_answer_seconds_count", list="t-wild") != 0:
        fails.append("t-wild has latency observations")
    ssum = value(s, "blwatch_dns_answer_seconds_sum", list="t-multi")
    if ssum is None or not 0 < ssum < 2:
        fails.append("t-multi latency sum %r" % ssum)
    for name in ("blwatch_last_cycle_end_timestamp_seconds",
                 "blwatch_last_cycle_duration_seconds"):
        v = value(s, name)
        if v is None or (name.endswith("timestamp_seconds")
                         and abs(v - time.time()) > 60):
            fails.append("%s = %r" % (name, v))
    if value(s, "blwatch_last_cycle_targets") != 3:
        fails.append("blwatch_last_cycle_targets = %r"
                     % value(s, "blwatch_last_cycle_targets"))
    if value(s, "blwatch_pairs", result="listed") is None:
        fails.append("no blwatch_pairs")
    if "# TYPE blwatch_dns_answer_seconds histogram" not in text or \
       "# TYPE blwatch_queries_total counter" not in text:
        fails.append("TYPE lines missing")
    return fails


# --------------------------------------------------------------------------
# JSON, methods, errors
# --------------------------------------------------------------------------

def check_json(port, binary, conf):
    fails = []
    cases = [("/api/status", ["status", "--json"]),
             ("/api/history", ["history", "--json"]),
             ("/api/history?target=%s&since=1d" % LISTED,
              ["history", "--json", "--since", "1d", LISTED]),
             ("/api/history?target=Spam.Example.", ["history", "--json",
                                                    DOMAIN])]
    for path, args in cases:
        st, h, body = request(port, "GET", path)
        cli = rbl.run_blwatch(binary, conf, args)
        if st != 200 or h.get("content-type") != "application/json":
            fails.append("%s: %d %r" % (path, st, h.get("content-type")))
        if SAN_RE.search(cli.stderr):
            fails.append("sanitizer report from blwatch %s:\n%s"
                         % (" ".join(args), cli.stderr[-3000:]))
        # The poller may record a result between the two reads (its paced
        # cycle runs on; under valgrind, slowly): equal to the read before
        # or the one after the CLI's is what counts.
        after = request(port, "GET", path)[2].decode()
        if cli.stdout not in (body.decode(), after):
            at = next((i for i, (a, b) in enumerate(zip(after, cli.stdout))
                       if a != b), min(len(after), len(cli.stdout)))
            fails.append("%s differs from blwatch %s at byte %d:\nHTTP: %s\nCLI:  %s"
                         % (path, " ".join(args), at, after[max(0, at - 200):at + 200],
                            cli.stdout[max(0, at - 200):at + 200]))
    if fails:
        return fails
    if '"target":"%s"' % LISTED not in cli.stdout and \
       LISTED not in request(port, "GET", "/api/status")[2].decode():
        fails.append("the listed target is not in the status JSON")
    return fails


def check_methods(port):
    fails = []
    st, h, body = request(port, "HEAD", "/metrics")
    if st != 200 or body != b"" or int(h.get("content-length", "0")) <= 0:
        fails.append("HEAD /metrics: %d, body %d bytes, Content-Length %r"
                     % (st, len(body), h.get("content-length")))
    for method in ("POST", "PUT", "DELETE"):
        st, h, _b = request(port, method, "/metrics", body=b"x=1")
        if st != 405 or h.get("allow") != "GET, HEAD":
            fails.append("%s /metrics: %d, Allow %r" % (method, st,
                                                        h.get("allow")))
    st, _h, _b = request(port, "GET", "/nope")
    if st != 404:
        fails.append("GET /nope: %d" % st)
    for q in ("?target=not..valid", "?since=yesterday"):
        st, _h, _b = request(port, "GET", "/api/history" + q)
        if st != 400:
            fails.append("GET /api/history%s: %d, want 400" % (q, st))
    st, h, body = request(port, "GET", "/")
    csp = h.get("content-security-policy", "")
    if st != 200 or "default-src 'none'" not in csp or \
       not h.get("content-type", "").startswith("text/html"):
        fails.append("GET /: %d, CSP %r" % (st, csp))
    return fails


# --------------------------------------------------------------------------
# The page in Chromium
# --------------------------------------------------------------------------

def chromium(args, profile, timeout=60):
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-dev-shm-usage", "--no-first-run",
           "--user-data-dir=" + profile] + args
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=timeout)


def check_page(port, tmp, artifacts):
    fails = []
    if shutil.which("chromium") is None:
        return ["chromium is not installed (packaging/install-deps.sh)"]
    url = "http://127.0.0.1:%d/" % port
    profile = os.path.join(tmp, "chromium-profile")
    p = chromium(["--dump-dom", url], profile)
    dom = p.stdout
    if p.returncode != 0 or "<html" not in dom:
        return ["chromium --dump-dom failed (%d): %s" % (p.returncode,
                                                           p.stderr[-800:])]
    card = re.search(r'<div class="card"><h3>%s <span class="label">%s</span>'
                     r'</h3><div>listed on <b>t-multi</b>' % (
                         re.escape(LISTED), LABEL), dom)
    if card is None:
        fails.append("no listing card for %s on t-multi in the DOM" % LISTED)
    if 'href="https://check.multi.test/"' not in dom:
        fails.append("the delisting link of t-multi is not in the DOM")
    if "SBL: https://multi.test/sbl/%s" % LISTED not in dom:
        fails.append("the reason text of the listing is not in the DOM")
    if "<script" in dom.lower() or "<img" in dom.lower() or \
       "javascript:" in dom.lower().replace("delist: javascript:alert(1)", ""):
        fails.append("hostile text became markup: %s" % dom[:2000])
    if "&lt;script&gt;alert" not in dom:
        fails.append("the hostile reason text is not shown escaped")
    if "<svg" not in dom or 'id="timeline"' not in dom:
        fails.append("no SVG timeline in the page")
    if dom.find('id="listings"') > dom.find('id="coverage"'):
        fails.append("listings do not come first")
    os.makedirs(artifacts, exist_ok=True)
    shot = os.path.join(artifacts, "status-page.png")
    if os.path.exists(shot):
        os.unlink(shot)
    p = chromium(["--screenshot=" + shot, "--window-size=412,900",
                  "--hide-scrollbars", url], profile)
    if not os.path.exists(shot) or os.path.getsize(shot) < 2000:
        fails.append("no screenshot (%d): %s" % (p.returncode,
                                                  p.stderr[-800:]))
    else:
        print("      screenshot: %s" % shot)
    return fails


# --------------------------------------------------------------------------
# Token and config
# --------------------------------------------------------------------------

def check_token(binary, tmp, srv, cat):
    fails = []
    port = free_tcp_port()
    tok = os.path.join(tmp, "http.token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, 0o600)
    conf = write_conf(tmp, "token.conf", srv, cat, port,
                      "token_file = %s\n" % tok)
    poller = Poller(binary, conf, tmp, "token")
    try:
        good = {"Authorization": "Bearer " + TOKEN}
        err = wait_for_first(port, poller.proc, good, timeout=20)
        if err:
            fails.append(err)
        for hdr, want in (({}, 401),
                          ({"Authorization": "Bearer wrong"}, 401),
                          ({"Authorization": "Bearer " + TOKEN + "x"}, 401),
                          ({"Authorization": TOKEN}, 401),
                          (good, 200)):
            for path in ("/metrics", "/", "/api/status"):
                st, h, _b = request(port, "GET", path, hdr)
                if st != want:
                    fails.append("%s with %r: %d, want %d" % (path, hdr, st,
                                                              want))
                if st == 401 and "bearer" not in \
                        h.get("www-authenticate", "").lower():
                    fails.append("401 without WWW-Authenticate: Bearer")
    finally:
        rc, log = poller.stop()
    if rc != 0:
        fails.append("blwatch run (token) exited %s:\n%s" % (rc, log[-2000:]))
    if TOKEN in log:
        fails.append("the token appears in the log")
    if SAN_RE.search(log):
        fails.append("sanitizer report:\n" + log[-3000:])
    # A non-loopback address needs token_file: a config error naming it.
    conf = write_conf(tmp, "open.conf", srv, cat, port)
    with open(conf) as f:
        text = f.read().replace("listen = 127.0.0.1:", "listen = 0.0.0.0:")
    with open(conf, "w") as f:
        f.write(text)
    p = rbl.run_blwatch(binary, conf, ["config-check"])
    if p.returncode != 78 or "not a loopback address" not in p.stderr or \
       "token_file" not in p.stderr or "open.conf:" not in p.stderr:
        fails.append("listen = 0.0.0.0 without token_file: exit %d, %r"
                     % (p.returncode, p.stderr))
    return fails


def check_reload(port, poller, binary, conf):
    """SIGHUP swaps the config under the HTTP thread: requests in flight
    meanwhile, the endpoint goes on, counters never go back."""
    import threading
    fails, errors = [], []
    before, _p = parse_metrics(request(port, "GET", "/metrics")[2].decode())

    def hammer():
        for _ in range(15):
            try:
                for path in ("/metrics", "/", "/api/status"):
                    st, _h, _b = request(port, "GET", path)
                    if st != 200:
                        errors.append("%s: %d during reload" % (path, st))
            except OSError as e:
                errors.append("request failed during reload: %s" % e)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(3):
        poller.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
    for t in threads:
        t.join(timeout=60)
    fails += errors[:5]
    with open(poller.log_path, errors="replace") as f:
        if "config reloaded" not in f.read():
            fails.append("no 'config reloaded' in the log")
    after, _p = parse_metrics(request(port, "GET", "/metrics")[2].decode())
    for name, labels, v in before:
        if name == "blwatch_queries_total":
            got = value(after, name, **labels)
            if got is None or got < v:
                fails.append("%s%r went from %r to %r" % (name, labels, v,
                                                          got))
    return fails + check_json(port, binary, conf)


def check_no_reader_left(port, tmp):
    """The endpoint's read-only connection keeps no read transaction open
    between requests, or the WAL could never be checkpointed and would
    grow without bound under a long-running poller."""
    import sqlite3
    for path in ("/metrics", "/", "/api/status", "/api/history"):
        request(port, "GET", path)
    db = sqlite3.connect(os.path.join(tmp, "blwatch.db"), timeout=5)
    try:
        busy, _log, _done = db.execute(
            "PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        db.close()
    return [] if busy == 0 else ["wal_checkpoint(TRUNCATE) is blocked by a "
                                 "reader after the requests"]


def check_rules():
    path = os.path.join(TOP, "packaging", "examples", "prometheus-alerts.yml")
    p = subprocess.run(["promtool", "check", "rules", path],
                       capture_output=True, text=True, timeout=30)
    return [] if p.returncode == 0 else ["promtool check rules: %s%s" % (
        p.stdout, p.stderr)]


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    binary = os.path.abspath(sys.argv[1])
    artifacts = os.path.abspath(sys.argv[2] if len(sys.argv) > 2
                                else os.path.join(os.getcwd(),
                                                  "http-artifacts"))
    for tool in ("promtool",):
        if shutil.which(tool) is None:
            print("harness problem: %s is not installed "
                  "(packaging/install-deps.sh)" % tool)
            return 2
    rep = Report()
    tmp = rbl.make_workdir("blwatch-http-")
    srv = None
    started = time.time()
    try:
        try:
            srv, cat = setup(tmp)
        except rbl.RbldnsdError as e:
            print("harness problem: %s" % e)
            return 2
        port = free_tcp_port()
        conf = write_conf(tmp, "blwatch.conf", srv, cat, port)
        # A full cycle first: `run` paces its cycle over the interval.
        once = rbl.run_blwatch(binary, conf, ["run", "--once"], timeout=60)
        fails = [] if once.returncode == 0 else [
            "run --once exited %d: %s" % (once.returncode, once.stderr)]
        if SAN_RE.search(once.stderr):
            fails.append("sanitizer report:\n" + once.stderr[-3000:])
        rep.add("blwatch run --once with [http] set", fails)
        poller = Poller(binary, conf, tmp, "run")
        try:
            err = wait_for_first(port, poller.proc)
            rep.add("blwatch run serves /metrics while it polls",
                    [err] if err else [])
            if not err:
                rep.add("/metrics: promtool check metrics, exact values",
                        check_metrics(port))
                rep.add("/api/status and /api/history equal the CLI's JSON",
                        check_json(port, binary, conf))
                rep.add("HEAD, 405 for other methods, 404, 400, headers",
                        check_methods(port))
                rep.add("status page in headless Chromium, screenshot",
                        check_page(port, tmp, artifacts))
                rep.add("no read transaction left open between requests",
                        check_no_reader_left(port, tmp))
                rep.add("SIGHUP while requests run: served throughout, "
                        "counters kept", check_reload(port, poller, binary,
                                                      conf))
        finally:
            rc, log = poller.stop()
        fails = [] if rc == 0 else ["exit %s:\n%s" % (rc, log[-2000:])]
        if SAN_RE.search(log):
            fails.append("sanitizer report:\n" + log[-3000:])
        if "http: serving" not in log:
            fails.append("no 'http: serving' log line:\n" + log[-1000:])
        rep.add("blwatch run stops cleanly on SIGTERM (HTTP thread joined)",
                fails)
        rep.add("token_file: 401 without the token, 200 with it; "
                "0.0.0.0 without token_file is a config error",
                check_token(binary, tmp, srv, cat))
        rep.add("promtool check rules packaging/examples/prometheus-alerts.yml",
                check_rules())
    finally:
        if srv is not None:
            srv.stop()
        if os.environ.get("BLWATCH_TEST_KEEP"):
            print("      kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failed; %.1fs" % (len(rep.failed), time.time() - started))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
