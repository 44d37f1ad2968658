#!/usr/bin/python3
"""Hostile input: blwatch against broken config files, target files,
catalogs and targets on stdin.

    /usr/bin/python3 tests/integration/test_hostile.py BLWATCH_BIN

Every case runs `blwatch -c FILE config-check` (or `check` with targets on
the command line or on stdin) on input with one kind of mistake: bad
addresses, /0 and oversize ranges, bad domain names, names over 253
characters and labels over 63, lines over 4096 bytes, unknown keys and
sections, duplicate sections and zone ids, missing, unreadable and empty
files, random bytes and NUL bytes, world-readable secrets, catalog codes
outside 127/8...  Each must end with the documented exit code (78 for a
config, catalog or target-file error, 64 for a bad target on the command
line or stdin), an error on stderr that names FILE:LINE (or the file alone
when no line applies) and the problem, no signal and no sanitizer report,
and nothing written: no file appears or changes in the work directory (the
current directory of every run) and the database folder the config names
is never created.

Nothing here needs a DNS server: every config points [resolver] at a
silent UDP socket on 127.0.0.1, so that an input accepted by mistake
times out on loopback instead of leaving the machine.

Cases named bug_* expose known bugs and fail until they are fixed;
BLWATCH_SKIP_BUGS=1 (or BLWATCH_UNIT_SKIP_BUGS=1) skips them.
Exit status: 0 all passed, 1 something failed.
"""

import os
import random
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

SANITIZER_RE = re.compile(r"Sanitizer|runtime error:|LeakSanitizer")

CATALOG = """\
[t-ip]
name = Test IP list
zone = ip.bl.test
kind = ip4, ip6
code = 127.0.0.2 listed
refusal = 127.255.255.254 public resolver
default = yes

[t-dom]
zone = dom.bl.test
kind = domain
bitmask = 2 black
default = yes

[t-optin]
zone = optin.bl.test
kind = ip4
default = no
"""


def skip_bugs():
    return "1" in (os.environ.get("BLWATCH_SKIP_BUGS"),
                   os.environ.get("BLWATCH_UNIT_SKIP_BUGS"))


class World:
    """A work directory with a small catalog, a silent resolver on
    127.0.0.1, and helpers that write files and run blwatch."""

    def __init__(self, blwatch):
        self.bin = os.path.abspath(blwatch)
        self.dir = tempfile.mkdtemp(prefix="blwatch-hostile-")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.state = os.path.join(self.dir, "state")
        self.catalog = self.write("cat.conf", CATALOG)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("BLWATCH_CONFIG", "BLWATCH_DQS_KEY")}
        self.prefix = []   # e.g. setpriv, to run blwatch as another user

    def close(self):
        self.sock.close()
        for root, dirs, files in os.walk(self.dir):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                p = os.path.join(root, f)
                if not os.path.islink(p):
                    os.chmod(p, 0o644)
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data, mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        return p

    def footer(self, body):
        """Settings every config gets after its own lines (so that the line
        numbers of a case are the ones it wrote), less the keys the case
        sets itself."""
        keys = set()
        for line in body.split(b"\n"):
            if b"=" in line:
                keys.add(line.split(b"=", 1)[0].strip().lower())
        text = ""
        for section, items in (
                ("resolver", [("servers", "127.0.0.1:%d" % self.port),
                              ("timeout", "0.1s"), ("tries", "1")]),
                ("poller", [("database", self.state + "/blwatch.db")]),
                ("zones", [("catalog", self.catalog)])):
            text += "\n[%s]\n" % section
            for key, value in items:
                if key.encode() not in keys:
                    text += "%s = %s\n" % (key, value)
        return text.encode()

    def conf(self, body, name="c.conf", footer=True):
        if isinstance(body, str):
            body = body.encode()
        if footer:
            body += self.footer(body)
        return self.write(name, body)

    def snapshot(self):
        snap = {}
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                p = os.path.join(root, n)
                st = os.lstat(p)
                snap[os.path.relpath(p, self.dir)] = (
                    st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode))
        return snap

    def run(self, args, conf=None, stdin=None, timeout=60):
        before = self.snapshot()
        cmd = self.prefix + [self.bin] + (["-c", conf] if conf else []) + list(args)
        p = subprocess.run(cmd, input=stdin if stdin is not None else b"",
                           capture_output=True, timeout=timeout,
                           cwd=self.dir, env=self.env)
        after = self.snapshot()
        changed = sorted(k for k in after if before.get(k) != after[k])
        changed += sorted("%s (removed)" % k for k in before if k not in after)
        p.stdout_text = p.stdout.decode("utf-8", "replace")
        p.stderr_text = p.stderr.decode("utf-8", "replace")
        p.changed = changed
        return p


class Report:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def result(self, name, fails, skip=None):
        if skip is not None:
            self.skipped += 1
            print("SKIP  %s: %s" % (name, skip), flush=True)
            return
        if fails:
            self.failed += 1
            self.failures.append(name)
            print("FAIL  %s" % name, flush=True)
            for f in fails:
                print("      - " + f.replace("\n", "\n        "), flush=True)
        else:
            self.passed += 1
            print("PASS  %s" % name, flush=True)


def common_checks(w, p):
    """What every run must satisfy, whatever its input."""
    fails = []
    if p.returncode < 0:
        fails.append("killed by signal %d" % -p.returncode)
    if SANITIZER_RE.search(p.stderr_text):
        fails.append("sanitizer report on stderr:\n" + p.stderr_text[-3000:])
    if p.changed:
        fails.append("files written or changed: %s" % ", ".join(p.changed))
    if os.path.exists(w.state):
        fails.append("the database folder %s was created" % w.state)
    return fails


def expect(rep, w, name, args, code, conf=None, stdin=None, where=None,
           problem=None, absent=(), stdout_re=None, bug=False):
    """Runs one case.  where: the file (and line) the error must start
    with, as "FILE:LINE" or "FILE" (FILE relative to the work dir, or
    "(stdin)"), or None for no check; problem: a regex the message must
    match."""
    if bug and skip_bugs():
        rep.result(name, [], skip="known bug (BLWATCH_SKIP_BUGS=1)")
        return None
    p = w.run(args, conf=conf, stdin=stdin)
    fails = common_checks(w, p)
    err = p.stderr_text
    if p.returncode != code:
        fails.append("exit %d, expected %d; stderr:\n%s"
                     % (p.returncode, code, err[-2000:]))
    if where is not None:
        file, _, line = where.partition(":")
        if file != "(stdin)" and not os.path.isabs(file):
            file = w.path(file)
        if line:
            want = re.escape(file) + ":" + line + ": "
        else:
            want = re.escape(file) + r": (?!\d+: )"
        if not re.search(r"(^|\n)blwatch: (check: )?" + want, err):
            fails.append("stderr does not name %s:%s; got:\n%s"
                         % (file, line, err[-2000:]))
    if problem is not None and not re.search(problem, err):
        fails.append("stderr does not say /%s/; got:\n%s"
                     % (problem, err[-2000:]))
    for a in absent:
        if a in err or a in p.stdout_text:
            fails.append("%r appears in the output" % a)
    if stdout_re is not None and not re.search(stdout_re, p.stdout_text):
        fails.append("stdout does not match /%s/:\n%s"
                     % (stdout_re, p.stdout_text[-2000:]))
    rep.result(("bug_" if bug else "") + name, fails)
    return p


def config_check(rep, w, name, body, line, problem, code=78, footer=True,
                 file="c.conf", bug=False):
    """A config with one mistake: config-check exits 78 naming c.conf:LINE
    (or another file) and the problem.  line None: the file alone."""
    conf = w.conf(body, footer=footer)
    where = file if line is None else "%s:%s" % (file, line)
    return expect(rep, w, name, ["config-check"], code, conf=conf,
                  where=where if code != 0 else None, problem=problem,
                  bug=bug)


def config_ok(rep, w, name, body, footer=True, stderr_re=None,
              stdout_re=None, absent=()):
    conf = w.conf(body, footer=footer)
    return expect(rep, w, name, ["config-check"], 0, conf=conf,
                  problem=stderr_re, stdout_re=stdout_re, absent=absent)


def long_name(total):
    """A valid-looking name of exactly total characters (193 to 255):
    three 63-character labels and a last one."""
    return ("a" * 63 + ".") * 3 + "b" * (total - 192)


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------

def addresses_and_ranges(rep, w):
    bad = [("999.1.1.1", "not an IP address"),
           ("1.2.3", "not an IP address"),
           ("::g", "not an IP address"),
           ("1.2.3.4.5", "not an IP address"),
           ("192.0.2.1/33", "prefix length must be 0-32"),
           ("2001:db8::/129", "prefix length must be 0-128"),
           ("192.0.2.1/", "prefix length"),
           ("192.0.2.1/-1", "prefix length"),
           ("192.0.2.1/3x", "prefix length"),
           ("1.2.3.4/0x10", "prefix length"),
           ("0.0.0.0/0", r"more than 65536 addresses.*max_range"),
           ("::/0", r"more than 65536 addresses.*max_range"),
           ("10.0.0.0/15", r"more than 65536 addresses.*max_range"),
           ("2001:db8::/111", r"more than 65536 addresses.*max_range"),
           ("2001:db8::/64", r"more than 65536 addresses.*max_range")]
    for value, problem in bad:
        config_check(rep, w, "ip = %s" % value,
                     "[targets]\nip = 192.0.2.10 fine\nip = %s\n" % value,
                     3, re.escape(value) + ".*" + problem)
    # The largest ranges that need no max_range.
    config_ok(rep, w, "ip = 10.0.0.0/16 (65,536 addresses)",
              "[targets]\nip = 10.0.0.0/16\n")
    config_ok(rep, w, "ip = 2001:db8::/112 (65,536 addresses)",
              "[targets]\nip = 2001:db8::/112\n")
    # max_range raises the cap, also when it comes after the range.
    config_ok(rep, w, "max_range = 131072 allows a /15",
              "[targets]\nmax_range = 131072\nip = 10.0.0.0/15\n")
    config_ok(rep, w, "max_range after the range it allows",
              "[targets]\nip = 10.0.0.0/15\nmax_range = 131072\n")
    config_check(rep, w, "max_range = 131072 still refuses a /14",
                 "[targets]\nmax_range = 131072\nip = 10.0.0.0/14\n", 3,
                 r"more than 131072 addresses")
    config_ok(rep, w, "max_range = 4294967296 allows 0.0.0.0/0",
              "[targets]\nmax_range = 4294967296\nip = 0.0.0.0/0\n")
    config_check(rep, w, "max_range = 4294967296 still refuses ::/0",
                 "[targets]\nmax_range = 4294967296\nip = ::/0\n", 3,
                 r"more than 4294967296 addresses")
    config_check(rep, w, "max_range = 0", "[targets]\nmax_range = 0\n", 2,
                 "out of range")
    config_check(rep, w, "max_range = 4294967297",
                 "[targets]\nmax_range = 4294967297\n", 2, "too large")
    config_check(rep, w, "max_range = -1", "[targets]\nmax_range = -1\n", 2,
                 "expected a number")
    config_check(rep, w, "max_range twice",
                 "[targets]\nmax_range = 100000\nmax_range = 200000\n", 3,
                 "set twice")
    config_check(rep, w, "host = an address",
                 "[targets]\nhost = 192.0.2.1\n", 2, "an address, not a name")
    config_check(rep, w, "ip = a name", "[targets]\nip = example.com\n", 2,
                 "not an IP address")


def names(rep, w):
    bad = ["exa_mple!.com", "-bad.example.com", "bad-.example.com",
           "a..b.com", ".example.com", "ex ample.com", "exämple.com",
           "example.com..", "*.example.com", "example", "a/b.example.com"]
    for value in bad:
        config_check(rep, w, "domain = %r" % value,
                     "[targets]\ndomain = %s\n" % value, 2,
                     "not a valid domain name")
    n253, n254 = long_name(253), long_name(254)
    assert len(n253) == 253 and len(n254) == 254
    config_ok(rep, w, "domain of 253 characters",
              "[targets]\ndomain = %s\n" % n253)
    config_ok(rep, w, "domain of 253 characters and a trailing dot",
              "[targets]\ndomain = %s.\n" % n253)
    config_check(rep, w, "domain of 254 characters",
                 "[targets]\ndomain = %s\n" % n254, 2,
                 "not a valid domain name")
    config_check(rep, w, "host of 254 characters",
                 "[targets]\nhost = %s\n" % n254, 2, "not a valid domain name")
    config_ok(rep, w, "label of 63 characters",
              "[targets]\ndomain = %s.example.com\n" % ("a" * 63))
    config_check(rep, w, "label of 64 characters",
                 "[targets]\ndomain = %s.example.com\n" % ("a" * 64), 2,
                 "not a valid domain name")


def long_lines(rep, w):
    prefix = "ip = 192.0.2.1 "
    ok_line = "[targets]\n" + prefix + "x" * (4096 - len(prefix)) + "\n"
    assert len(ok_line.split("\n")[1]) == 4096
    config_ok(rep, w, "config line of exactly 4096 bytes", ok_line)
    config_ok(rep, w, "config line of 4096 bytes and CR LF",
              ok_line.replace("\n", "\r\n"))
    config_check(rep, w, "config line of 4097 bytes",
                 "[targets]\n" + prefix + "x" * (4097 - len(prefix)) + "\n", 2,
                 "longer than 4096 bytes")
    config_check(rep, w, "config line of 1 MB without newline",
                 b"[poller]\n; " + b"y" * (1 << 20), 2,
                 "longer than 4096 bytes", footer=False)
    w.write("long.list", "192.0.2.1\n# fine\n" + "a" * 5000 + "\n")
    config_check(rep, w, "target file line over 4096 bytes",
                 "[targets]\nfile = %s\n" % w.path("long.list"), 3,
                 "longer than 4096 bytes", file="long.list")
    w.write("longcat.conf", "[t-x]\nzone = x.bl.test\nkind = ip4\nname = "
            + "n" * 5000 + "\n")
    config_check(rep, w, "catalog line over 4096 bytes",
                 "[zones]\ncatalog = %s\n" % w.path("longcat.conf"), 4,
                 "longer than 4096 bytes", footer=False, file="longcat.conf")


def keys_and_sections(rep, w):
    config_check(rep, w, "unknown key in [poller]",
                 "[poller]\ninterval = 1h\ncolour = red\n", 3,
                 "unknown key 'colour' in \\[poller\\]")
    config_check(rep, w, "unknown key in [targets]",
                 "[targets]\nipaddr = 192.0.2.1\n", 2,
                 "unknown key 'ipaddr' in \\[targets\\]")
    config_check(rep, w, "unknown key in [alert]",
                 '[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
                 'colour = red\n', 4, "unknown key 'colour'")
    config_check(rep, w, "unknown key in [zones]",
                 "[zones]\nuse = all\nextras = x\n", 3, "unknown key 'extras'")
    config_check(rep, w, "unknown section", "[pollr]\ninterval = 1h\n", 1,
                 r"unknown section \[pollr\]")
    config_check(rep, w, "key outside any section", "interval = 1h\n", 1,
                 "outside any \\[section\\]")
    config_check(rep, w, "line without '='", "[poller]\ninterval 1h\n", 2,
                 "expected 'key = value'")
    config_check(rep, w, "invalid key", "[poller]\ninter val = 1h\n", 2,
                 "invalid key")
    config_check(rep, w, "section header without ']'", "[poller\n", 1,
                 "lacks a closing")
    config_check(rep, w, "empty section header", "[]\n", 1,
                 "invalid section name")
    config_check(rep, w, "[poller] with a name", '[poller "x"]\n', 1,
                 "takes no name")
    config_check(rep, w, "[alert] without a name", "[alert]\n", 1,
                 "need a name")
    config_check(rep, w, '[alert ""]', '[alert ""]\n', 1,
                 "must look like")
    # A section may come back; its keys still count once.
    p = config_ok(rep, w, "[poller] twice with different keys is merged",
                  "[poller]\ninterval = 2h\n[resolver]\ntries = 2\n"
                  "[poller]\nrate = 5\n",
                  stdout_re=r"interval\s*= 2h(.|\n)*rate\s*= 5")
    config_check(rep, w, "[poller] twice setting the same key",
                 "[poller]\ninterval = 2h\n[poller]\ninterval = 3h\n", 4,
                 "'interval' is set twice in \\[poller\\]")
    config_check(rep, w, "[alert \"a\"] twice",
                 '[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
                 '[alert "a"]\n', 4, 'defined twice')
    config_check(rep, w, "alert key twice",
                 '[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
                 'url = https://y.test/\n', 4, "set twice")


def values(rep, w):
    cases = [
        ("[poller]\ninterval = 1x\n", 2, "expected a duration"),
        ("[poller]\ninterval = -5m\n", 2, "expected a duration"),
        ("[poller]\ninterval = 0x10\n", 2, "expected a duration"),
        ("[poller]\ninterval = 1e3\n", 2, "expected a duration"),
        ("[poller]\ninterval = 30s\n", 2, "out of range"),
        ("[poller]\ninterval = 99999999999999999999d\n", 2, "too long"),
        ("[poller]\ninterval =\n", 2, "'interval' has no value"),
        ("[poller]\ndatabase =\n", 2, "'database' has no value"),
        ("[poller]\nconcurrency = 0\n", 2, "out of range"),
        ("[poller]\nconcurrency = 99999999999999999999999\n", 2, "too large"),
        ("[poller]\nrate = ten\n", 2, "expected a number"),
        ("[identity]\nenabled = maybe\n", 2, "expected yes or no"),
        ("[zones]\nuse = nosuch\n", 2, "no zone 'nosuch'"),
        ("[zones]\nuse = t-ip\nskip = t-ip\n", None, "no zone is enabled"),
        ("[zones]\ndqs_key = bad!\n", 2, "letters and digits"),
        ("[zones]\ndqs_key = %s\n" % ("k" * 64), 2, "longer than 63"),
        ("[resolver]\nservers = 192.0.2.53:99999\n", 2, "bad port"),
        ("[resolver]\nservers = dns.example.com\n", 2, "not an IP address"),
        ("[resolver]\nservers = [::1\n", 2, "bad server"),
        ('[alert "a"]\nurl = https://x.test/\n', 1, "lacks 'type'"),
        ('[alert "a"]\ntype = pigeon\n', 2, "must be one of"),
        ('[alert "a"]\ntype = webhook\n', 1, "lacks 'url'"),
        ('[alert "a"]\ntype = webhook\nurl = ftp://x.test/\n', "(?:1|3)",
         "url must start with"),
        ('[alert "a"]\ntype = email\nurl = smtp://x.test\nfrom = a@x.test\n'
         'to = b@x.test\nstarttls = maybe\n', 6, "must be one of"),
        ('[alert "a"]\ntype = email\nurl = smtp://x.test\nfrom = a@x.test\n'
         'to = b@x.test\nevents = listed, nosuch\n', "(?:1|6)",
         "unknown event type"),
        ('[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
         'retry = 1ms\n', 4, "expected a duration"),
        ('[alert "a"]\ntype = webhook\nurl_file =\n', 3,
         "'url_file' has no value"),
        ('[alert "a"]\ntype = webhook\nurl_env =\n', 3,
         "'url_env' has no value"),
        ('[alert "a"]\ntype = webhook\nurl_file = /a\nurl_file = /b\n', 4,
         "'url_file' is set twice"),
        ('[alert "a"]\ntype = webhook\nurl_env = A\nurl_env = B\n', 4,
         "'url_env' is set twice"),
        ('[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
         'url_env = A\n', 4, r"url_env and url \(line 3\) are both set"),
        ('[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
         'group_interval =\n', 4, "'group_interval' has no value"),
        ('[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
         'group_interval = soon\n', 4, "expected a duration"),
        ('[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
         'group_interval = 2d\n', 4, "out of range"),
        ('[alert "a"]\ntype = webhook\nurl = https://x.test/\n'
         'group_interval = 0\ngroup_interval = 5m\n', 5,
         "'group_interval' is set twice"),
    ]
    for body, line, problem in cases:
        first = [l for l in body.splitlines() if "=" in l]
        config_check(rep, w, "value: %s" % (first[-1] if first else body),
                     body, line, problem)
    # A byte order mark (a config saved by a Windows editor) is refused
    # at line 1 (the message shows the invisible BOM bytes).
    config_check(rep, w, "UTF-8 byte order mark",
                 b"\xef\xbb\xbf[poller]\ninterval = 2h\n", 1,
                 "expected 'key = value'")
    p = config_ok(rep, w, "CR LF line ends",
                  "[poller]\r\ninterval = 2h\r\n[targets]\r\n"
                  "ip = 192.0.2.1 crlf\r\n", stdout_re=r"interval\s*= 2h")


def catalogs(rep, w):
    head = "[t-x]\nzone = x.bl.test\nkind = ip4\n"
    cases = [
        ("dup-id", head + "[t-x]\nzone = y.bl.test\nkind = ip4\n", 4,
         r"zone \[t-x\] is defined twice"),
        ("code-outside", head + "code = 10.0.0.2 not a DNSBL answer\n", 4,
         "outside 127.0.0.0/8"),
        ("code-range-leaves", head + "code = 127.255.255.0-128.0.0.1 x\n", 4,
         "outside 127.0.0.0/8"),
        ("refusal-outside", head + "refusal = 192.0.2.1 x\n", 4,
         "outside 127.0.0.0/8"),
        ("code-backwards", head + "code = 127.0.0.5-127.0.0.2 x\n", 4,
         "ends before it starts"),
        ("code-garbage", head + "code = 127.0.0.999 x\n", 4,
         "not an IPv4 address"),
        ("bitmask-0", head + "bitmask = 0 x\n", 4, "1 to 255"),
        ("bitmask-256", head + "bitmask = 256 x\n", 4, "too large"),
        ("bitmask-no-meaning", head + "bitmask = 2\n", 4, "lacks a meaning"),
        ("code-and-bitmask", head + "code = 127.0.0.2\nbitmask = 2 x\n", 1,
         "both 'code' and 'bitmask'"),
        ("unknown-kind", "[t-x]\nzone = x.bl.test\nkind = ip4, ip5\n", 3,
         "unknown kind 'ip5'"),
        ("no-zone", "[t-x]\nkind = ip4\n", 1, "lacks 'zone'"),
        ("no-kind", "[t-x]\nzone = x.bl.test\n", 1, "lacks 'kind'"),
        ("bad-zone", "[t-x]\nzone = x..bl.test\nkind = ip4\n", 2,
         "not a valid zone name"),
        ("bad-id", "[T X]\nzone = x.bl.test\nkind = ip4\n", 1,
         "invalid section name"),
        ("id-with-dot", "[t.x]\nzone = x.bl.test\nkind = ip4\n", 1,
         "zone id"),
        ("unknown-key", head + "colour = red\n", 4, "unknown key 'colour'"),
        ("bad-bool", head + "default = perhaps\n", 4, "expected yes or no"),
        ("max-daily", head + "max_daily = 99999999999\n", 4, "too large"),
        ("named-section", '[alert "x"]\nzone = x.bl.test\n', 1,
         "zone sections are"),
        ("key-before-section", "zone = x.bl.test\n" + head, 1,
         "outside any"),
    ]
    for name, text, line, problem in cases:
        w.write("cat-%s.conf" % name, text)
        config_check(rep, w, "catalog %s" % name,
                     "[zones]\ncatalog = %s\nuse = all\n"
                     % w.path("cat-%s.conf" % name),
                     line, problem, footer=False, file="cat-%s.conf" % name)
    # The same id in the catalog and an extra file: the extra one wins.
    w.write("extra.conf", "[t-ip]\nzone = other.bl.test\nkind = ip4\n")
    config_ok(rep, w, "an extra catalog overrides a zone id",
              "[zones]\ncatalog = %s\nextra = %s\nuse = all\n"
              % (w.catalog, w.path("extra.conf")), footer=False,
              stderr_re=r"3 of 3 zones enabled")
    w.write("cat-empty.conf", "")
    # A catalog that has no line to name: the config line that named it,
    # then the catalog.
    config_check(rep, w, "empty catalog",
                 "[zones]\ncatalog = %s\n" % w.path("cat-empty.conf"), 2,
                 "catalog .*cat-empty.conf: no zones defined", footer=False)
    w.write("cat-comments.conf", "; only\n# comments\n\n")
    config_check(rep, w, "catalog of comments only",
                 "[zones]\ncatalog = %s\n" % w.path("cat-comments.conf"), 2,
                 "catalog .*cat-comments.conf: no zones defined", footer=False)
    config_check(rep, w, "missing catalog",
                 "[zones]\ncatalog = %s\n" % w.path("nosuch.conf"), 2,
                 "catalog .*nosuch.conf: cannot open", footer=False)
    config_check(rep, w, "missing extra catalog",
                 "[zones]\ncatalog = %s\nextra = %s\n"
                 % (w.catalog, w.path("nosuch-extra.conf")), 3,
                 "catalog .*nosuch-extra.conf: cannot open", footer=False)
    # The catalog of names(): a zone name with a 64-character label.
    w.write("cat2.conf", "[t-x]\nzone = %s.bl.test\nkind = ip4\n" % ("z" * 64))
    config_check(rep, w, "catalog zone label of 64 characters",
                 "[zones]\ncatalog = %s\n" % w.path("cat2.conf"), 2,
                 "not a valid zone name", footer=False, file="cat2.conf")


def target_files(rep, w):
    w.write("t.list", "# hosting\n192.0.2.1 mx\n\n999.1.1.1 broken\n")
    config_check(rep, w, "target file with a bad address",
                 "[targets]\nfile = %s\n" % w.path("t.list"), 4,
                 "'999.1.1.1' is not an IP address", file="t.list")
    w.write("range.list", "10.0.0.0/8 too big\n")
    config_check(rep, w, "target file with a range over max_range",
                 "[targets]\nfile = %s\n" % w.path("range.list"), 1,
                 "more than 65536.*max_range", file="range.list")
    config_ok(rep, w, "target file range allowed by max_range",
              "[targets]\nmax_range = 16777216\nfile = %s\n"
              % w.path("range.list"))
    w.write("host.list", "host\n")
    config_check(rep, w, "target file 'host' without a name",
                 "[targets]\nfile = %s\n" % w.path("host.list"), 1,
                 "'host' needs a name", file="host.list")
    config_check(rep, w, "missing target file",
                 "[targets]\nfile = %s\n" % w.path("nosuch.list"), 2,
                 "no target file matches")
    config_check(rep, w, "target glob in a missing folder",
                 "[targets]\nfile = %s/*.list\n" % w.path("nodir"), 2,
                 "no target file matches")
    os.makedirs(w.path("empty.d"), exist_ok=True)
    config_ok(rep, w, "target glob in an empty folder",
              "[targets]\nfile = %s/*.list\n" % w.path("empty.d"),
              stderr_re=r"ok \(0 targets")
    w.write("empty.list", "")
    config_ok(rep, w, "empty target file",
              "[targets]\nfile = %s\n" % w.path("empty.list"),
              stderr_re=r"ok \(0 targets")
    config_check(rep, w, "a folder as a target file",
                 "[targets]\nfile = %s\n" % w.path("empty.d"), None,
                 "not a regular file", file="empty.d")
    config_check(rep, w, "/dev/zero as a target file",
                 "[targets]\nfile = /dev/zero\n", None, "not a regular file",
                 file="/dev/zero")
    w.write("nul.list", b"192.0.2.1\n192.0.2.2\x00\n")
    config_check(rep, w, "target file with a NUL byte",
                 "[targets]\nfile = %s\n" % w.path("nul.list"), 2,
                 "NUL byte", file="nul.list")


def missing_unreadable_empty(rep, w):
    expect(rep, w, "missing config file", ["config-check"], 78,
           conf=w.path("nosuch.conf"), where="nosuch.conf",
           problem="cannot open")
    os.makedirs(w.path("conf.d"), exist_ok=True)
    expect(rep, w, "a folder as the config file", ["config-check"], 78,
           conf=w.path("conf.d"), where="conf.d", problem="not a regular file")
    expect(rep, w, "/dev/zero as the config file", ["config-check"], 78,
           conf="/dev/zero", where="/dev/zero", problem="not a regular file")
    # An empty config is valid: every setting has a default.
    conf = w.write("empty.conf", "")
    expect(rep, w, "empty config file: defaults", ["config-check"], 0,
           conf=conf, problem=r"ok \(0 targets",
           stdout_re=r"interval\s*= 1h")
    conf = w.write("comments.conf", "; nothing\n# here\n\n   \n")
    expect(rep, w, "config of comments only: defaults", ["config-check"], 0,
           conf=conf, problem=r"ok \(0 targets")

    # Unreadable files.  Root reads them anyway, so as root blwatch runs
    # as nobody for these (setpriv), in a work folder nobody may enter.
    conf = w.conf("[poller]\ninterval = 2h\n", name="secret.conf")
    os.chmod(conf, 0)
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv:
        w.prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        os.chmod(w.dir, 0o755)
    if os.geteuid() == 0 and not setpriv:
        for name in ("config", "catalog", "target file"):
            rep.result("unreadable %s (chmod 000)" % name, [],
                       skip="running as root without setpriv (util-linux): "
                            "chmod 000 does not stop root")
    else:
        expect(rep, w, "unreadable config (chmod 000)", ["config-check"], 78,
               conf=conf, where="secret.conf", problem="Permission denied")
        cat = w.write("locked-cat.conf", CATALOG, mode=0)
        config_check(rep, w, "unreadable catalog (chmod 000)",
                     "[zones]\ncatalog = %s\n" % cat, 2,
                     "catalog .*locked-cat.conf: cannot open: Permission denied",
                     footer=False)
        lst = w.write("locked.list", "192.0.2.1\n", mode=0)
        config_check(rep, w, "unreadable target file (chmod 000)",
                     "[targets]\nfile = %s\n" % lst, None,
                     "Permission denied", file="locked.list")
    w.prefix = []
    os.chmod(w.dir, 0o700)
    os.chmod(conf, 0o644)


def garbage(rep, w):
    rng = random.Random(20261129)
    for i in range(6):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        conf = w.write("garbage-%d.conf" % i, data)
        p = w.run(["config-check"], conf=conf)
        fails = common_checks(w, p)
        if p.returncode != 78:
            fails.append("exit %d, expected 78 (input %s...)"
                         % (p.returncode, data[:64].hex()))
        if not re.search(r"blwatch: " + re.escape(conf) + r":\d+: ",
                         p.stderr_text):
            fails.append("no %s:LINE: in stderr:\n%s"
                         % (conf, p.stderr_text[-1000:]))
        rep.result("random bytes as config #%d (%d bytes)" % (i, len(data)),
                   fails)
    config_check(rep, w, "NUL byte in config", b"[poller]\ninterval = 1h\x00\n",
                 2, "NUL byte")
    config_check(rep, w, "NUL bytes only", b"\x00" * 64, 1, "NUL byte",
                 footer=False)
    # Random bytes as a catalog and as a target file.
    for i in range(3):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
        cat = w.write("garbage-cat-%d.conf" % i, data)
        p = w.run(["config-check"], conf=w.conf(
            "[zones]\ncatalog = %s\n" % cat, footer=False))
        fails = common_checks(w, p)
        if p.returncode != 78 or not re.search(
                re.escape(cat) + r"(:\d+)?: ", p.stderr_text):
            fails.append("exit %d, stderr:\n%s" % (p.returncode,
                                                    p.stderr_text[-1000:]))
        rep.result("random bytes as catalog #%d" % i, fails)
        lst = w.write("garbage-%d.list" % i, data)
        p = w.run(["config-check"], conf=w.conf(
            "[targets]\nfile = %s\n" % lst))
        fails = common_checks(w, p)
        if p.returncode != 78 or not re.search(
                re.escape(lst) + r":\d+: ", p.stderr_text):
            fails.append("exit %d, stderr:\n%s" % (p.returncode,
                                                    p.stderr_text[-1000:]))
        rep.result("random bytes as target file #%d" % i, fails)


def secrets(rep, w):
    body = ('[alert "m"]\ntype = email\nurl = smtp://127.0.0.1:1\n'
            'from = blwatch@x.test\nto = ops@x.test\npassword_file = %s\n')
    w.write("open.secret", "hunter2-open\n", mode=0o644)
    config_ok(rep, w, "secret readable by everyone: warning",
              body % w.path("open.secret"),
              stderr_re=re.escape(w.path("open.secret")) +
              r" is readable by other users",
              absent=["hunter2-open"])
    w.write("closed.secret", "hunter2-closed\n", mode=0o600)
    p = config_ok(rep, w, "secret readable by its owner only: no warning",
                  body % w.path("closed.secret"), absent=["hunter2-closed"])
    if p is not None and "readable by other users" in p.stderr_text:
        rep.result("secret 0600 gives no warning", ["warning given:\n" +
                                                     p.stderr_text])
    config_check(rep, w, "missing secret file",
                 body % w.path("nosuch.secret"), "(?:1|6)",
                 "cannot read .*nosuch.secret")
    body_env = ('[alert "m"]\ntype = webhook\nurl = https://x.test/\n'
                'secret_env = BLWATCH_HOSTILE_UNSET_VARIABLE\n')
    config_check(rep, w, "secret from an unset variable", body_env, "(?:1|4)",
                 "BLWATCH_HOSTILE_UNSET_VARIABLE is not set")
    config_check(rep, w, "password_file and password_env both set",
                 body % w.path("closed.secret") + "password_env = PW\n", 7,
                 r"password_env and password_file \(line 6\) are both set")
    url_files(rep, w)


def url_files(rep, w):
    """url_file: the URL is a secret like the others (a webhook's path is
    its token): read with the same rules, never printed, checked."""
    body = '[alert "h"]\ntype = webhook\nurl_file = %s\n'
    w.write("open.url", "https://hooks.x.test/T0/B0/open-token\n", mode=0o644)
    config_ok(rep, w, "url_file readable by everyone: warning",
              body % w.path("open.url"),
              stderr_re=re.escape(w.path("open.url")) +
              r" is readable by other users",
              stdout_re=r"url_file\s*= " + re.escape(w.path("open.url")),
              absent=["open-token"])
    for name, text, problem in (
            ("empty url_file", "\n", "url must start with http"),
            ("url_file with two lines",
             "https://hooks.x.test/two-token\nhttps://y.test/\n",
             "space or a control character"),
            ("url_file with another scheme",
             "ftp://u:ftp-token@x.test/\n", "url must start with http"),
            ("url_file with a NUL byte", b"https://x.test/nul-token\0x\n",
             "holds a NUL byte")):
        w.write("bad.url", text, mode=0o600)
        p = config_check(rep, w, name, body % w.path("bad.url"), 3, problem)
        for token in ("two-token", "ftp-token", "nul-token"):
            if p is not None and token in p.stderr_text + p.stdout_text:
                rep.result(name + ": URL not shown", ["%r printed" % token])
    config_check(rep, w, "missing url_file", body % w.path("nosuch.url"), 3,
                 "cannot read .*nosuch.url")
    config_check(rep, w, "url_env unset",
                 '[alert "h"]\ntype = webhook\n'
                 'url_env = BLWATCH_HOSTILE_UNSET_URL\n', 3,
                 "BLWATCH_HOSTILE_UNSET_URL is not set")


def stdin_and_command_line(rep, w):
    conf = w.conf("")
    cases = [
        ("bad address on line 3", b"# list\n192.0.2.10 ok\n999.1.1.1 bad\n",
         3, "not an IP address"),
        ("short address", b"1.2.3\n", 1, "not an IP address"),
        ("bad IPv6", b"::g\n", 1, "not an IP address"),
        ("/0", b"\n\n0.0.0.0/0\n", 3, "more than 65536.*max_range"),
        ("IPv6 /64", b"2001:db8::/64\n", 1, "more than 65536.*max_range"),
        ("bad name", b"exa_mple!.com\n", 1, "not a valid domain name"),
        ("label of 64", b"%s.example.com\n" % (b"a" * 64), 1,
         "not a valid domain name"),
        ("name of 254", long_name(254).encode() + b"\n", 1,
         "not a valid domain name"),
        ("host without a name", b"host\n", 1, "'host' needs a name"),
        ("line over 4096 bytes", b"192.0.2.1\n" + b"a" * 5000 + b"\n", 2,
         "longer than 4096 bytes"),
        ("NUL byte", b"192.0.2.1\nab\x00cd\n", 2, "NUL byte"),
        ("CR only lines", b"192.0.2.1\r999.1.1.1\r", 1, "not an IP address"),
    ]
    for name, data, line, problem in cases:
        expect(rep, w, "stdin: %s" % name, ["check", "-"], 64, conf=conf,
               stdin=data, where="(stdin):%d" % line, problem=problem)
    rng = random.Random(5782)
    for i in range(4):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))
        p = w.run(["check", "-"], conf=conf, stdin=data)
        fails = common_checks(w, p)
        if p.returncode != 64 or not re.search(r"\(stdin\):\d+: ",
                                               p.stderr_text):
            fails.append("exit %d (want 64), input %s..., stderr:\n%s"
                         % (p.returncode, data[:48].hex(),
                            p.stderr_text[-1000:]))
        rep.result("stdin: random bytes #%d" % i, fails)
    for arg, problem in [("999.1.1.1", "not an IP address"),
                         ("0.0.0.0/0", "more than 65536"),
                         ("exa_mple!.com", "not a valid domain name"),
                         ("host:", "not a valid domain name"),
                         ("", "not an IP address"),
                         ("a" * 5000 + ".com", "not a valid domain name")]:
        expect(rep, w, "command line: %r" % arg[:40], ["check", arg], 64,
               conf=conf, problem="check: .*" + problem)
    # A broken config is a config error for check too.
    bad = w.conf("[targets]\nip = 999.1.1.1\n", name="bad.conf")
    expect(rep, w, "check with a broken config", ["check", "192.0.2.1"], 78,
           conf=bad, where="bad.conf:2", problem="not an IP address")


def regressions(rep, w):
    """Bugs found (by the fuzzers and these tests) and fixed, kept so that
    they stay fixed."""
    # fifo_target_file: a named pipe matched by a `file =` glob (say one
    # left in targets.d) is opened like a file, and open() waits for a
    # writer forever: config-check, check and run (and a SIGHUP reload)
    # hang.  A catalog path naming a FIFO does the same.  (`-c` naming a
    # pipe is left alone: `-c <(generate-config)` is a fair use.)
    os.makedirs(w.path("fifo.d"), exist_ok=True)
    fifo = w.path("fifo.d/stale.list")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    for name, body, file in (
            ("a FIFO matched by a target glob",
             "[targets]\nfile = %s/*.list\n" % w.path("fifo.d"), fifo),
            ("a FIFO as the catalog",
             "[zones]\ncatalog = %s\n" % fifo, fifo)):
        title = "fifo_target_file (fixed): " + name
        conf = w.conf(body, footer="catalog" not in body)
        try:
            p = w.run(["config-check"], conf=conf, timeout=10)
        except subprocess.TimeoutExpired:
            rep.result(title, ["hangs: no exit within 10 seconds (open() "
                               "of the FIFO waits for a writer)"])
            continue
        fails = common_checks(w, p)
        if p.returncode != 78 or file not in p.stderr_text:
            fails.append("exit %d, stderr: %s" % (p.returncode,
                                                   p.stderr_text.strip()))
        rep.result(title, fails)

    # trailing_dot_name: parse_name() checked the name with its trailing
    # dot, so a single label ("example.") passes the "needs a dot" check
    # and "1.2.3.4." passes the "is an address" check.  config-check
    # accepts them and prints `domain = example`, which config-check then
    # refuses: the effective settings it prints are not a valid config.
    for value in ("example.", "1.2.3.4.", "localhost."):
        for key in ("domain", "host"):
            conf = w.conf("[targets]\n%s = %s\n" % (key, value),
                          name="dot.conf")
            p = w.run(["config-check"], conf=conf)
            fails = common_checks(w, p)
            if p.returncode == 0:
                again = w.write("dot-printed.conf", p.stdout)
                q = w.run(["config-check"], conf=again)
                fails += common_checks(w, q)
                if q.returncode != 0:
                    fails.append("accepted (exit 0), but the settings it "
                                 "prints are refused (exit %d): %s"
                                 % (q.returncode, q.stderr_text.strip()))
            elif p.returncode != 78 or not re.search(
                    re.escape(conf) + r":2: ", p.stderr_text):
                fails.append("exit %d, stderr: %s"
                             % (p.returncode, p.stderr_text.strip()))
            rep.result("trailing_dot_name (fixed): %s = %s" % (key, value), fails)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    w = World(sys.argv[1])
    rep = Report()
    try:
        for group in (addresses_and_ranges, names, long_lines,
                      keys_and_sections, values, catalogs, target_files,
                      missing_unreadable_empty, garbage, secrets,
                      stdin_and_command_line, regressions):
            print("== %s" % group.__name__, flush=True)
            group(rep, w)
    finally:
        w.close()
    print("%d passed, %d failed, %d skipped"
          % (rep.passed, rep.failed, rep.skipped))
    if rep.failures:
        print("failed: " + ", ".join(rep.failures))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
