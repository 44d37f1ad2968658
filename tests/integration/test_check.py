#!/usr/bin/python3
"""Integration test of `blwatch check` against a local rbldnsd.

    /usr/bin/python3 tests/integration/test_check.py BLWATCH_BIN
    /usr/bin/python3 tests/integration/test_check.py --selftest   # harness only

Starts rbldnsd on 127.0.0.1 with the world described in testdata.py,
validates that rbldnsd answers what the model says (so a failure below is
blwatch's, not the harness's), then runs blwatch and compares its JSON and
exit codes with the expectations computed from the same description.
Exit status: 0 all passed, 1 something failed, 2 harness problem.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import traceback

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import rbl          # noqa: E402
import testdata as W   # noqa: E402

UNKNOWN = ("refused", "bogus", "error", "untrusted")


class Report:
    def __init__(self):
        self.results = []   # (name, [failures])

    def add(self, name, failures):
        self.results.append((name, failures))
        status = "PASS" if not failures else "FAIL"
        print("%s  %s" % (status, name), flush=True)
        for f in failures[:60]:
            print("      - " + f.replace("\n", "\n        "))
        if len(failures) > 60:
            print("      ... and %d more" % (len(failures) - 60))
        sys.stdout.flush()

    @property
    def failed(self):
        return [n for n, f in self.results if f]


# --------------------------------------------------------------------------
# Harness self-validation
# --------------------------------------------------------------------------

def check_committed_data():
    """tests/integration/data must equal what testdata.py generates."""
    fails = []
    ddir = os.path.join(HERE, "data")
    for name, text in W.expected_files().items():
        p = os.path.join(ddir, name)
        try:
            with open(p) as f:
                have = f.read()
        except OSError as e:
            fails.append("%s: %s" % (p, e))
            continue
        if have != text:
            fails.append("%s differs from what testdata.py generates "
                         "(run: /usr/bin/python3 %s/testdata.py --write %s)" % (p, HERE, ddir))
    return fails


def qname(z, t):
    k = W.target_kind(t)
    if k == "ip4":
        return rbl.ip4_qname(t, z["zone"])
    if k == "ip6":
        return rbl.ip6_qname(t, z["zone"])
    return t + "." + z["zone"]


def selfcheck_server(port):
    """Every name the model reasons about, asked directly: rbldnsd must answer
    what the model says."""
    fails = []
    n = 0
    for z, t in W.all_probe_names():
        name = qname(z, t)
        a_ans = rbl.dns_query(port, name, "A")
        t_ans = rbl.dns_query(port, name, "TXT")
        n += 1
        if not z["served"]:
            if a_ans.rcode != 5:
                fails.append("%s: expected REFUSED (zone not served), got %r" % (name, a_ans))
            continue
        exp_a, exp_txt = W.raw_answer(z, t)
        if sorted(set(a_ans.a)) != sorted(set(exp_a)):
            fails.append("%s A: model %r, rbldnsd %r" % (name, exp_a, a_ans))
        if sorted(t_ans.txt) != sorted(exp_txt):
            fails.append("%s TXT: model %r, rbldnsd %r" % (name, exp_txt, t_ans))
        if not exp_a and a_ans.rcode != 3:
            fails.append("%s: expected NXDOMAIN for an unlisted name, got %r" % (name, a_ans))
    # The catalog model itself: the cases the test is meant to cover exist.
    cases = {}
    for spec in W.CLI_TARGETS:
        for t in W.expand_targets(spec):
            for z in W.ZONES:
                if W.target_kind(t) in z["kind"]:
                    r = W.expected_result(z, t)
                    cases.setdefault(r["result"], 0)
                    cases[r["result"]] += 1
                    if UNLISTED_IN(r):
                        cases["unlisted-code"] = cases.get("unlisted-code", 0) + 1
                    if r["result"] == "listed" and len(r["codes"]) > 1:
                        cases["multi-code"] = cases.get("multi-code", 0) + 1
                    if r["result"] == "listed" and " + " in "".join(r["meanings"]):
                        cases["bitmask-combo"] = cases.get("bitmask-combo", 0) + 1
    for want in ("listed", "clear", "refused", "bogus", "error", "untrusted",
                 "unlisted-code", "multi-code", "bitmask-combo"):
        if not cases.get(want):
            fails.append("test world covers no '%s' case" % want)
    print("      (self-check: %d names asked directly; cases %s)" %
          (n, ", ".join("%s=%d" % kv for kv in sorted(cases.items()))))
    return fails


def selfcheck_reload():
    """rbl.Rbldnsd.update_files: rewrite data, rbldnsd reloads, probe sees it."""
    fails = []
    d = rbl.make_workdir("blwatch-reload-")
    try:
        with open(os.path.join(d, "r.data"), "w") as f:
            f.write(W.SOA + "127.0.0.2 :127.0.0.2:tp\n")
        with rbl.Rbldnsd(d, [("reload.test", "ip4set", "r.data")],
                         probe=("2.0.0.127.reload.test", True)) as srv:
            name = rbl.ip4_qname("192.0.2.77", "reload.test")
            if rbl.dns_query(srv.port, name).rcode != 3:
                fails.append("before reload %s should be NXDOMAIN" % name)
            srv.update_files({"r.data": W.SOA + "127.0.0.2 :127.0.0.2:tp\n192.0.2.77 :127.0.0.4:new\n"},
                             probe=(name, lambda a: a.a == ["127.0.0.4"]), timeout=10)
            if rbl.dns_query(srv.port, name, "TXT").txt != ["new"]:
                fails.append("after reload TXT of %s should be 'new'" % name)
            srv.update_files({"r.data": W.SOA + "127.0.0.2 :127.0.0.2:tp\n"},
                             probe=(name, False), timeout=10)
    except Exception as e:
        fails.append("reload helper: %s" % e)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return fails


def UNLISTED_IN(r):
    return W.UNLISTED in r.get("meanings", [])


# --------------------------------------------------------------------------
# Comparing blwatch output with expectations
# --------------------------------------------------------------------------

def fmt_cmd(cmd_args, stdin=None):
    s = " ".join(cmd_args)
    if stdin is not None:
        s += "  <<stdin %d lines>>" % stdin.count("\n")
    return s


def compare_check(proc, exp_targets, exp_summary, exp_exit):
    fails = []
    if proc.returncode != exp_exit:
        fails.append("exit code: expected %d, got %d (stderr: %s)"
                     % (exp_exit, proc.returncode, proc.stderr.strip()[:500]))
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        fails.append("stdout is not one JSON document (%s): %r" % (e, proc.stdout[:400]))
        return fails
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list):
        fails.append("JSON has no 'targets' list: %r" % (str(doc)[:300]))
        return fails

    got_names = [t.get("target") for t in doc["targets"]]
    exp_names = [t["target"] for t in exp_targets]
    if got_names != exp_names:
        missing = [n for n in exp_names if n not in got_names]
        extra = [n for n in got_names if n not in exp_names]
        if missing:
            fails.append("targets missing from output: %s" % missing)
        if extra:
            fails.append("unexpected targets in output: %s" % extra)
        if not missing and not extra:
            fails.append("targets not in input order:\n expected %s\n got      %s" % (exp_names, got_names))
    got_by_name = {}
    for t in doc["targets"]:
        got_by_name.setdefault(t.get("target"), t)

    for et in exp_targets:
        gt = got_by_name.get(et["target"])
        if gt is None:
            continue
        tn = et["target"]
        if gt.get("label", "<absent>") != et["label"]:
            fails.append("%s: label expected %r, got %r" % (tn, et["label"], gt.get("label", "<absent>")))
        gres = gt.get("results")
        if not isinstance(gres, list):
            fails.append("%s: no results list" % tn)
            continue
        exp_ids = [r["list"] for r in et["results"]]
        got_ids = [r.get("list") for r in gres]
        if got_ids != exp_ids:
            fails.append("%s: result lists (catalog order) expected %s, got %s" % (tn, exp_ids, got_ids))
        gmap = {}
        for r in gres:
            gmap.setdefault(r.get("list"), r)
        for er in et["results"]:
            gr = gmap.get(er["list"])
            if gr is None:
                continue
            fails.extend(compare_result(tn, er, gr))

    gs = doc.get("summary")
    if not isinstance(gs, dict):
        fails.append("no summary object")
    else:
        for k, v in exp_summary.items():
            if gs.get(k) != v:
                fails.append("summary.%s: expected %r, got %r" % (k, v, gs.get(k, "<absent>")))
    return fails


def compare_result(tn, er, gr):
    fails = []
    where = "%s @ %s" % (tn, er["list"])
    if gr.get("zone") != er["zone"]:
        fails.append("%s: zone expected %r, got %r" % (where, er["zone"], gr.get("zone")))
    res = er["result"]
    if gr.get("result") != res:
        fails.append("%s: result expected %r, got %r (codes %r, detail %r)"
                     % (where, res, gr.get("result"), gr.get("codes"), gr.get("detail")))
        return fails
    for key in ("codes", "meanings"):
        if not isinstance(gr.get(key), list):
            fails.append("%s: '%s' should be a list, got %r" % (where, key, gr.get(key, "<absent>")))
    if isinstance(gr.get("codes"), list) and isinstance(gr.get("meanings"), list) \
            and len(gr["codes"]) != len(gr["meanings"]):
        fails.append("%s: meanings[i] must belong to codes[i], got codes %r with meanings %r"
                     % (where, gr["codes"], gr["meanings"]))
    if "reason" not in gr:
        fails.append("%s: 'reason' key absent (should be a string or null)" % where)
    if res in ("listed", "clear", "refused"):
        if gr.get("codes") != er["codes"]:
            fails.append("%s: codes expected %r, got %r" % (where, er["codes"], gr.get("codes")))
        if gr.get("meanings") != er["meanings"]:
            fails.append("%s: meanings expected %r, got %r" % (where, er["meanings"], gr.get("meanings")))
    if res == "listed":
        got = gr.get("reason")
        if er["reason"] is None:
            if got is not None:
                fails.append("%s: reason expected null (no TXT), got %r" % (where, got))
        elif got != er["reason"]:
            if not isinstance(got, str) or sorted(got.split("; ")) != er["reason_parts"]:
                fails.append("%s: reason expected %r (TXT parts in any order), got %r"
                             % (where, er["reason"], got))
    elif res == "clear":
        if gr.get("reason") is not None:
            fails.append("%s: clear pair has reason %r" % (where, gr.get("reason")))
    if res in UNKNOWN:
        d = gr.get("detail")
        if not isinstance(d, str) or not d.strip():
            fails.append("%s: %s result needs a non-empty 'detail', got %r" % (where, res, d))
    elif gr.get("detail") is not None:
        fails.append("%s: 'detail' only belongs to unknown results, got %r on %s"
                     % (where, gr.get("detail"), res))
    return fails


# --------------------------------------------------------------------------
# The test cases
# --------------------------------------------------------------------------

def run_and_compare(rep, name, blwatch, conf, args, targets_specs, zones, stdin=None,
                    force_result=None):
    exp_targets, exp_summary, exp_exit = W.expected_run(targets_specs, zones, force_result)
    cmd = ["-c", conf] + args
    try:
        proc = rbl.run_blwatch(blwatch, None, cmd, stdin=stdin, timeout=90)
    except Exception as e:  # timeout, exec failure
        rep.add(name, ["%s: %s" % (fmt_cmd([blwatch] + cmd, stdin), e)])
        return
    fails = compare_check(proc, exp_targets, exp_summary, exp_exit)
    if fails:
        fails.insert(0, "command: %s" % fmt_cmd([blwatch] + cmd, stdin))
        fails.insert(1, "expected summary %s, exit %d; got exit %d, stderr %r"
                     % (json.dumps(exp_summary), exp_exit, proc.returncode, proc.stderr.strip()[:300]))
    rep.add(name + " (%d targets, %d zones, expect exit %d)"
            % (exp_summary["targets"], exp_summary["zones"], exp_exit), fails)


def expect_exit(rep, name, blwatch, cmd, code, stderr_re=None, stdin=None):
    try:
        proc = rbl.run_blwatch(blwatch, None, cmd, stdin=stdin, timeout=60)
    except Exception as e:
        rep.add(name, ["%s: %s" % (fmt_cmd([blwatch] + cmd), e)])
        return
    fails = []
    if code is None:
        if proc.returncode in (0, 1, 2):
            fails.append("exit code: expected an error status (not 0/1/2), got %d" % proc.returncode)
    elif proc.returncode != code:
        fails.append("exit code: expected %d, got %d" % (code, proc.returncode))
    if stderr_re and not re.search(stderr_re, proc.stderr, re.M):
        fails.append("stderr should match /%s/, got %r" % (stderr_re, proc.stderr.strip()[:400]))
    if fails:
        fails.insert(0, "command: %s" % fmt_cmd([blwatch] + cmd, stdin))
        if proc.stdout.strip():
            fails.append("stdout: %r" % proc.stdout.strip()[:300])
    rep.add(name, fails)


def check_blocked(rep, blwatch, conf, targets):
    cmd = ["-c", conf, "check", "--json"] + targets
    fails = []
    try:
        proc = rbl.run_blwatch(blwatch, None, cmd, timeout=60)
        if proc.returncode != 2:
            fails.append("exit code: expected 2, got %d" % proc.returncode)
        doc = json.loads(proc.stdout)
        got = [(t.get("target"), r.get("list"), r.get("result"), r.get("detail"))
               for t in doc["targets"] for r in t["results"]]
        if [(g[0], g[1]) for g in got] != [(t, "t-blocked") for t in targets]:
            fails.append("expected one t-blocked result per target, got %r" % got)
        for t, zid, res, detail in got:
            if res not in ("refused", "untrusted"):
                fails.append("%s @ %s: expected refused or untrusted, got %r" % (t, zid, res))
            if not isinstance(detail, str) or not detail:
                fails.append("%s @ %s: no detail" % (t, zid))
        sm = doc.get("summary", {})
        want = dict(targets=len(targets), zones=1, listed=0, clear=0, unknown=len(targets), listed_targets=0)
        for k, v in want.items():
            if sm.get(k) != v:
                fails.append("summary.%s: expected %r, got %r" % (k, v, sm.get(k)))
    except Exception as e:
        fails.append("%s" % e)
    if fails:
        fails.insert(0, "command: %s" % fmt_cmd([blwatch] + cmd))
    rep.add("check --json: zone refusing everything (test points too) -> unknown, exit 2", fails)


def broken_catalogs(tmp):
    """(label, path, bad line number) for catalogs with one broken line."""
    good = W.catalog_text().split("\n")
    # insert after the header of the 2nd section, so the line number is not trivial
    sec = [i for i, l in enumerate(good) if l.startswith("[")][1]
    out = []
    for label, bad in (("bad code address", "code       = 127.0.0.300 not an address"),
                       ("unknown key", "colour     = blue"),
                       ("bad kind", "kind2      = ip4"),
                       ("invalid kind value", None)):
        lines = list(good)
        if bad is None:
            # replace the kind line of the 2nd section with an impossible kind
            k = next(i for i in range(sec, len(lines)) if lines[i].startswith("kind"))
            lines[k] = "kind       = ip5"
            lineno = k + 1
        else:
            lines.insert(sec + 2, bad)
            lineno = sec + 3
        path = os.path.join(tmp, "broken-%d.conf" % len(out))
        with open(path, "w") as f:
            f.write("\n".join(lines))
        out.append((label, path, lineno))
    return out


def main():
    args = sys.argv[1:]
    selftest_only = "--selftest" in args
    args = [a for a in args if a != "--selftest"]
    if not selftest_only and len(args) != 1:
        print(__doc__)
        return 2
    blwatch = os.path.abspath(args[0]) if args else None
    if blwatch and not os.access(blwatch, os.X_OK):
        print("FAIL  blwatch binary %s is not executable" % blwatch)
        return 1

    rep = Report()
    tmp = rbl.make_workdir("blwatch-check-")
    srv = None
    try:
        rep.add("committed tests/integration/data matches testdata.py", check_committed_data())
        for name, text in W.data_files().items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        srv = rbl.Rbldnsd(tmp, W.rbldnsd_zones(), probe=("2.0.0.127.multi.bl.test", True))
        srv.start()
        print("      rbldnsd on 127.0.0.1:%d, data in %s" % (srv.port, tmp))
        sc = selfcheck_server(srv.port)
        sc += selfcheck_reload()
        rep.add("harness: rbldnsd answers what the model expects; reload helper works", sc)
        if sc:
            print("harness problem: fix testdata.py / rbl.py before blaming blwatch")
            return 2
        if selftest_only:
            return 0 if not rep.failed else 1

        cat_all = os.path.join(tmp, "catalog.conf")
        with open(cat_all, "w") as f:
            f.write(W.catalog_text())
        cat_healthy = os.path.join(tmp, "catalog-healthy.conf")
        with open(cat_healthy, "w") as f:
            f.write(W.catalog_text(W.HEALTHY))
        cat_gone = os.path.join(tmp, "catalog-healthy-gone.conf")
        with open(cat_gone, "w") as f:
            f.write(W.catalog_text(W.HEALTHY + ["t-gone"]))

        conf_all = rbl.write_config(os.path.join(tmp, "all.conf"), srv.port, cat_all, use="all")
        conf_def = rbl.write_config(os.path.join(tmp, "default.conf"), srv.port, cat_all, use="default")
        conf_healthy = rbl.write_config(os.path.join(tmp, "healthy.conf"), srv.port, cat_healthy)
        conf_gone = rbl.write_config(os.path.join(tmp, "gone.conf"), srv.port, cat_gone)

        # 1. Main run: every case, targets on the command line.
        run_and_compare(rep, "check --json: all cases, command-line targets", blwatch, conf_all,
                        ["check", "--json"] + W.CLI_TARGETS,
                        [(t, None) for t in W.CLI_TARGETS], W.enabled_zones("all"))
        # 2. Targets from stdin with labels, comments, a range.
        run_and_compare(rep, "check --json -: targets from stdin with labels", blwatch, conf_all,
                        ["check", "--json", "-"], W.STDIN_TARGETS, W.enabled_zones("all"),
                        stdin=W.STDIN_TEXT)
        # 2b. The same list from a file (-f).
        listfile = os.path.join(tmp, "targets.list")
        with open(listfile, "w") as f:
            f.write(W.STDIN_TEXT)
        run_and_compare(rep, "check --json -f FILE: targets from a list file", blwatch, conf_all,
                        ["check", "--json", "-f", listfile], W.STDIN_TARGETS,
                        W.enabled_zones("all"))
        badlist = os.path.join(tmp, "bad.list")
        with open(badlist, "w") as f:
            f.write("# list\n192.0.2.10 ok\n999.1.1.1 bad\n")
        expect_exit(rep, "check -f with a bad line 3 -> exit 64 naming bad.list:3:", blwatch,
                    ["-c", conf_all, "check", "-f", badlist], 64, stderr_re=r"bad\.list:3:")
        expect_exit(rep, "check -f with a missing file -> exit 64 naming it", blwatch,
                    ["-c", conf_all, "check", "-f", badlist + ".missing"], 64,
                    stderr_re=r"bad\.list\.missing: cannot open")
        # 3. All clean against healthy zones: exit 0.
        run_and_compare(rep, "check --json: clean targets, healthy zones", blwatch, conf_healthy,
                        ["check", "--json"] + W.CLEAN_TARGETS,
                        [(t, None) for t in W.CLEAN_TARGETS], W.enabled_zones("all", W.HEALTHY))
        # 4. Same plus an unserved zone: exit 2.
        run_and_compare(rep, "check --json: clean targets, one unserved zone", blwatch, conf_gone,
                        ["check", "--json"] + W.CLEAN_TARGETS,
                        [(t, None) for t in W.CLEAN_TARGETS],
                        W.enabled_zones("all", W.HEALTHY + ["t-gone"]))
        # 5. use = default leaves out the default = no zone (the only one
        #    listing 203.0.113.1), so this is exit 2 (unknowns), not 1.
        run_and_compare(rep, "check --json: use = default skips default=no zones", blwatch, conf_def,
                        ["check", "--json", "203.0.113.1"], [("203.0.113.1", None)],
                        W.enabled_zones("default"))
        # 5b. A list that answers its refusal code to everything, test points
        #     included: unknown (refused or untrusted, either reading is
        #     fair), never clear or listed; exit 2.
        cat_blocked = os.path.join(tmp, "catalog-blocked.conf")
        with open(cat_blocked, "w") as f:
            f.write(W.catalog_text(["t-blocked"]))
        conf_blocked = rbl.write_config(os.path.join(tmp, "blocked.conf"), srv.port, cat_blocked)
        check_blocked(rep, blwatch, conf_blocked, ["192.0.2.10", "203.0.113.50"])
        # 6. A resolver that never answers, one that answers SERVFAIL: every
        #    pair is an error, nothing is clear, exit 2.
        for mode in ("drop", "servfail"):
            with rbl.FakeDNS(mode) as fake:
                conf_fake = rbl.write_config(os.path.join(tmp, "fake-%s.conf" % mode), fake.port, cat_all,
                                             timeout="1s", tries=2)
                run_and_compare(rep, "check --json: resolver %s -> every pair error" %
                                ("never answers" if mode == "drop" else "answers SERVFAIL"),
                                blwatch, conf_fake, ["check", "--json"] + W.DEAD_RESOLVER_TARGETS,
                                [(t, None) for t in W.DEAD_RESOLVER_TARGETS], W.enabled_zones("all"),
                                force_result="error")
        # 6b. A domain when only IP lists are enabled: nothing looked it
        #     up, so it is not clean: "not checked", exit 2.
        cat_ip = os.path.join(tmp, "catalog-ip-only.conf")
        with open(cat_ip, "w") as f:
            f.write(W.catalog_text(["t-multi"]))
        conf_ip = rbl.write_config(os.path.join(tmp, "ip-only.conf"), srv.port, cat_ip)
        proc = rbl.run_blwatch(blwatch, None, ["-c", conf_ip, "check", "example.org"],
                               timeout=60)
        fails = []
        if proc.returncode != 2:
            fails.append("exit %d, expected 2 (incomplete)" % proc.returncode)
        if "example.org: not checked: no enabled zone lists domains" not in proc.stdout:
            fails.append("no 'not checked' line: %r" % proc.stdout[:400])
        rep.add("check: a domain with only IP lists enabled -> not checked, exit 2", fails)
        # 7. Usage errors.
        for bad in (["999.1.1.1"], ["192.0.2.10", "999.1.1.1"], ["10.0.0.0/33"]):
            expect_exit(rep, "invalid target %s -> exit 64" % " ".join(bad), blwatch,
                        ["-c", conf_all, "check", "--json"] + bad, 64)
        # Ranges above 65,536 addresses are refused (SPEC "Details").
        for big in ("10.0.0.0/15", "2001:db8::/111"):
            expect_exit(rep, "range larger than 65536 addresses %s -> exit 64" % big, blwatch,
                        ["-c", conf_all, "check", "--json", big], 64,
                        stderr_re=r"65[,.]?536|max_range|too (large|big|many)|larger")
        # A bad line in a target list on stdin: an error naming line 3, not a
        # result (exact exit code not fixed by the interface: not 0/1/2).
        expect_exit(rep, "invalid target on stdin line 3 -> error naming :3:", blwatch,
                    ["-c", conf_all, "check", "--json", "-"], None,
                    stderr_re=r":3:", stdin="# list\n192.0.2.10 ok\n999.1.1.1 bad\n")
        # 8. Broken catalogs and config: exit 78 with FILE:LINE.
        for label, path, lineno in broken_catalogs(tmp):
            conf = rbl.write_config(path + ".blwatch.conf", srv.port, path)
            expect_exit(rep, "catalog error (%s) -> exit 78, %s:%d:" % (label, os.path.basename(path), lineno),
                        blwatch, ["-c", conf, "check", "--json", "192.0.2.10"], 78,
                        stderr_re=re.escape("%s:%d:" % (os.path.basename(path), lineno)))
        bad_conf = os.path.join(tmp, "badconf.conf")
        with open(bad_conf, "w") as f:
            f.write("[resolver]\nservers = 127.0.0.1:%d\ntimeout = banana\ntries = 2\n"
                    "[zones]\ncatalog = %s\nuse = all\n" % (srv.port, cat_all))
        expect_exit(rep, "config error (timeout = banana) -> exit 78, badconf.conf:3:", blwatch,
                    ["-c", bad_conf, "check", "--json", "192.0.2.10"], 78,
                    stderr_re=re.escape("badconf.conf:3:"))
    except Exception:
        traceback.print_exc()
        if srv is not None:
            print("rbldnsd log:\n" + srv.log())
        rep.add("harness ran to the end", ["exception (see traceback above)"])
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    if rep.failed:
        print("FAILED %d of %d checks:" % (len(rep.failed), len(rep.results)))
        for n in rep.failed:
            print("  - " + n)
        return 1
    print("all %d checks passed" % len(rep.results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
