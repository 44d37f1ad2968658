#!/usr/bin/python3
"""Benchmark `blwatch check` against one local rbldnsd, with dnsperf as the
yardstick for what the server can take.

    /usr/bin/python3 tests/bench/bench.py BLWATCH_BIN [--targets 10000]
        [--zones 40] [--runs 3] [--listed-fraction 0.003] [--dnsperf-time 10]
        [--no-dnsperf | --dnsperf-only] [--timeout 2s] [--tries 3] [--concurrency N]
        [--keep DIR] [--assert-correct]

Per run: dnsperf (-T2 -c2 -q100 -l T) over the same query set, then
`blwatch -c CONF check --json -` with the targets on stdin under
/usr/bin/time -v.  Prints queries issued, wall time, queries/s, ratio to
dnsperf, CPU (user+sys) and CPU us per query, peak RSS, correctness
(listings found with the right codes / expected, wrong codes, extras,
missing, unknown pairs) and the delta of the kernel's UDP RcvbufErrors.
With several runs: median and spread (min..max).

--assert-correct makes the exit status 1 unless every run found exactly the
expected listings with the right codes, no extras, no unknown pairs and exit
code 1 (used by the CTest entry; no timing is asserted).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import gen_world  # noqa: E402
import rbl        # noqa: E402


def udp_rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith("Udp:")]
    hdr, val = lines[0], lines[1]
    return int(val[hdr.index("RcvbufErrors")])


def run_dnsperf(port, queries, seconds):
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
           "-T2", "-c2", "-q100", "-l", str(seconds)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"Queries per second:\s+([\d.]+)", p.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", p.stdout)
    if not m:
        raise RuntimeError("dnsperf output not understood (rc %d):\n%s\n%s" % (p.returncode, p.stdout, p.stderr))
    return float(m.group(1)), int(lost.group(1)) if lost else None


def parse_time_v(path):
    out = {}
    with open(path) as f:
        text = f.read()
    for key, pat in (("user", r"User time \(seconds\): ([\d.]+)"),
                     ("sys", r"System time \(seconds\): ([\d.]+)"),
                     ("rss_kb", r"Maximum resident set size \(kbytes\): (\d+)")):
        m = re.search(pat, text)
        out[key] = float(m.group(1)) if m else None
    return out, text


def check_correctness(doc, expected):
    """Compare blwatch JSON with the world's expected listings."""
    exp = expected["listings"]
    zone_ids = set(expected["zones"])
    found = wrong = extra = unknown = clear_pairs = 0
    missing = []
    wrong_ex, extra_ex, unknown_kinds = [], [], {}
    seen = set()
    for t in doc.get("targets", []):
        name = t.get("target")
        for r in t.get("results", []):
            zid = r.get("list")
            res = r.get("result")
            if zid not in zone_ids:
                continue
            seen.add((name, zid))
            want = exp.get(name, {}).get(zid)
            if res == "listed":
                if want is None:
                    extra += 1
                    if len(extra_ex) < 5:
                        extra_ex.append("%s@%s %s" % (name, zid, r.get("codes")))
                elif r.get("codes") == want:
                    found += 1
                else:
                    wrong += 1
                    if len(wrong_ex) < 5:
                        wrong_ex.append("%s@%s want %s got %s" % (name, zid, want, r.get("codes")))
            elif res == "clear":
                clear_pairs += 1
                if want is not None:
                    missing.append("%s@%s (clear)" % (name, zid))
            else:
                unknown += 1
                unknown_kinds[res] = unknown_kinds.get(res, 0) + 1
                if want is not None:
                    missing.append("%s@%s (%s)" % (name, zid, res))
    n_exp = sum(len(v) for v in exp.values())
    absent = sum(1 for t, zs in exp.items() for z in zs if (t, z) not in seen)
    total_pairs = expected["params"]["targets"] * expected["params"]["zones"]
    return dict(expected=n_exp, found=found, wrong_codes=wrong, extras=extra,
                missing=len(missing) + absent, unknown=unknown, unknown_kinds=unknown_kinds,
                clear=clear_pairs, pairs_seen=len(seen), pairs_total=total_pairs,
                wrong_examples=wrong_ex, extra_examples=extra_ex, missing_examples=missing[:5])


def run_blwatch(blwatch, conf, targets_file, workdir, idx):
    out_path = os.path.join(workdir, "blwatch-%d.json" % idx)
    err_path = os.path.join(workdir, "blwatch-%d.err" % idx)
    tv_path = os.path.join(workdir, "time-%d.txt" % idx)
    cmd = ["/usr/bin/time", "-v", "-o", tv_path, blwatch, "-c", conf, "check", "--json", "-"]
    before = udp_rcvbuf_errors()
    with open(targets_file) as fin, open(out_path, "w") as fout, open(err_path, "w") as ferr:
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=ferr, timeout=3600)
        wall = time.monotonic() - t0
    after = udp_rcvbuf_errors()
    tv, tv_text = parse_time_v(tv_path)
    with open(out_path) as f:
        raw = f.read()
    with open(err_path) as f:
        err = f.read()
    try:
        doc = json.loads(raw)
    except ValueError as e:
        doc = None
        err += "\n[bench] stdout is not JSON: %s; first bytes %r" % (e, raw[:200])
    return dict(rc=p.returncode, wall=wall, user=tv["user"], sys=tv["sys"], rss_kb=tv["rss_kb"],
                rcvbuf_delta=after - before, doc=doc, stderr=err, time_v=tv_text)


def fmt_stat(values, fmt="%.2f"):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt % values[0]
    return (fmt + "  (spread " + fmt + " .. " + fmt + ")") % (statistics.median(values), min(values), max(values))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("blwatch")
    ap.add_argument("--targets", type=int, default=10000)
    ap.add_argument("--zones", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--listed-fraction", type=float, default=0.003)
    ap.add_argument("--multi-fraction", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dnsperf-time", type=int, default=10)
    ap.add_argument("--no-dnsperf", action="store_true")
    ap.add_argument("--dnsperf-only", action="store_true", help="measure rbldnsd with dnsperf, skip blwatch")
    ap.add_argument("--timeout", default="2s", help="[resolver] timeout for blwatch")
    ap.add_argument("--tries", type=int, default=3, help="[resolver] tries for blwatch")
    ap.add_argument("--concurrency", type=int, help="[poller] concurrency for blwatch (default: blwatch's)")
    ap.add_argument("--keep", help="keep the world and outputs in this directory")
    ap.add_argument("--assert-correct", action="store_true")
    a = ap.parse_args()
    if a.dnsperf_only:
        a.no_dnsperf = False

    blwatch = os.path.abspath(a.blwatch)
    if not a.dnsperf_only and not os.access(blwatch, os.X_OK):
        print("blwatch binary %s is not executable" % blwatch)
        return 2
    if a.keep:
        workdir = os.path.abspath(a.keep)
        os.makedirs(workdir, exist_ok=True)
        os.chmod(workdir, 0o755)
    else:
        workdir = rbl.make_workdir("blwatch-bench-")

    srv = None
    failures = []
    try:
        expected, specs = gen_world.generate(workdir, a.targets, a.zones, a.listed_fraction,
                                             a.multi_fraction, a.seed)
        n_listed = sum(len(v) for v in expected["listings"].values())
        srv = rbl.Rbldnsd(workdir, specs, probe=("2.0.0.127.z01.bench.test", True))
        srv.start()

        # Harness check: a sample of expected listings, asked directly.
        for t, zs in list(expected["listings"].items())[:20]:
            for zid, codes in zs.items():
                ans = rbl.dns_query(srv.port, gen_world.qname(t, expected["zone_names"][zid]))
                if sorted(set(ans.a), key=gen_world.code_key) != codes:
                    raise RuntimeError("harness: rbldnsd answers %r for %s@%s, world says %s" % (ans, t, zid, codes))

        extra = ""
        if a.concurrency:
            extra = "[poller]\nconcurrency = %d\n" % a.concurrency
        conf = rbl.write_config(os.path.join(workdir, "bench.conf"), srv.port,
                                os.path.join(workdir, "catalog.conf"), use="all",
                                timeout=a.timeout, tries=a.tries, extra=extra)
        n_queries = a.targets * a.zones + 2 * a.zones
        print("world: %d targets x %d zones, %d expected listings (%d targets); rbldnsd on 127.0.0.1:%d; %s"
              % (a.targets, a.zones, n_listed, len(expected["listings"]), srv.port, workdir))
        print("queries per blwatch run: %d (targets x zones + %d test points; plus one TXT per listing)"
              % (n_queries, 2 * a.zones))
        print("config: timeout %s, tries %d%s" % (a.timeout, a.tries,
                                                  ", concurrency %d" % a.concurrency if a.concurrency else ""))

        rows = []
        for i in range(1, a.runs + 1):
            row = {}
            if not a.no_dnsperf:
                row["dnsperf_qps"], row["dnsperf_lost"] = run_dnsperf(srv.port, os.path.join(workdir, "queries.txt"),
                                                                      a.dnsperf_time)
            if a.dnsperf_only:
                print("run %d: dnsperf %.0f q/s (lost %s)" % (i, row["dnsperf_qps"], row["dnsperf_lost"]))
                rows.append(row)
                continue
            r = run_blwatch(blwatch, conf, os.path.join(workdir, "targets.txt"), workdir, i)
            row.update(r)
            row["qps"] = n_queries / r["wall"] if r["wall"] else None
            row["cpu"] = (r["user"] or 0) + (r["sys"] or 0)
            row["cpu_us_per_q"] = row["cpu"] * 1e6 / n_queries
            row["ratio"] = row["qps"] / row["dnsperf_qps"] if row.get("dnsperf_qps") else None
            row["corr"] = check_correctness(r["doc"], expected) if r["doc"] is not None else None
            rows.append(row)
            c = row["corr"]
            print("run %d: exit %d, wall %.2fs, %s q/s%s, cpu %.2fs (%.2f us/q), rss %s MB, rcvbuf errors +%d"
                  % (i, r["rc"], r["wall"], "%.0f" % row["qps"],
                     (" (dnsperf %.0f q/s, ratio %.2f, lost %s)" % (row["dnsperf_qps"], row["ratio"], row["dnsperf_lost"])
                      if row.get("dnsperf_qps") else ""),
                     row["cpu"], row["cpu_us_per_q"],
                     "%.1f" % (r["rss_kb"] / 1024) if r["rss_kb"] else "n/a", r["rcvbuf_delta"]))
            if c:
                print("       correctness: found %d / %d expected with right codes; wrong codes %d; extras %d; "
                      "missing %d; unknown pairs %d %s; clear %d; pairs %d / %d"
                      % (c["found"], c["expected"], c["wrong_codes"], c["extras"], c["missing"],
                         c["unknown"], c["unknown_kinds"] or "", c["clear"], c["pairs_seen"], c["pairs_total"]))
                for k in ("wrong_examples", "extra_examples", "missing_examples"):
                    if c[k]:
                        print("       %s: %s" % (k.replace("_", " "), "; ".join(c[k])))
            else:
                print("       no JSON output; stderr: %s" % r["stderr"].strip()[-500:])
            if r["stderr"].strip():
                print("       stderr (last lines): %s" % " | ".join(r["stderr"].strip().splitlines()[-3:]))

            if a.assert_correct:
                if c is None:
                    failures.append("run %d: no JSON" % i)
                else:
                    if c["found"] != c["expected"] or c["wrong_codes"] or c["extras"] or c["missing"]:
                        failures.append("run %d: found %d/%d, wrong codes %d, extras %d, missing %d"
                                        % (i, c["found"], c["expected"], c["wrong_codes"], c["extras"], c["missing"]))
                    if c["unknown"]:
                        failures.append("run %d: %d unknown pairs %s" % (i, c["unknown"], c["unknown_kinds"]))
                    if c["pairs_seen"] != c["pairs_total"]:
                        failures.append("run %d: %d pairs in output, expected %d" % (i, c["pairs_seen"], c["pairs_total"]))
                exp_rc = 1 if n_listed else 0
                if r["rc"] != exp_rc:
                    failures.append("run %d: exit %d, expected %d" % (i, r["rc"], exp_rc))

        print()
        if a.dnsperf_only:
            print("dnsperf queries/s (median, spread): %s" % fmt_stat([r["dnsperf_qps"] for r in rows], "%.0f"))
            return 0
        print("summary over %d run(s) (median, spread min..max):" % len(rows))
        print("  queries issued      %d" % n_queries)
        print("  wall time (s)       %s" % fmt_stat([r["wall"] for r in rows], "%.2f"))
        print("  queries/s           %s" % fmt_stat([r["qps"] for r in rows], "%.0f"))
        if not a.no_dnsperf:
            print("  dnsperf queries/s   %s" % fmt_stat([r["dnsperf_qps"] for r in rows], "%.0f"))
            print("  ratio to dnsperf    %s" % fmt_stat([r["ratio"] for r in rows], "%.2f"))
        print("  CPU s (user+sys)    %s" % fmt_stat([r["cpu"] for r in rows], "%.2f"))
        print("  CPU us per query    %s" % fmt_stat([r["cpu_us_per_q"] for r in rows], "%.2f"))
        print("  peak RSS (MB)       %s" % fmt_stat([r["rss_kb"] / 1024 if r["rss_kb"] else None for r in rows], "%.1f"))
        print("  UDP RcvbufErrors +  %s" % fmt_stat([r["rcvbuf_delta"] for r in rows], "%.0f"))
        cs = [r["corr"] for r in rows if r["corr"]]
        if cs:
            print("  found / expected    %s / %d" % (fmt_stat([c["found"] for c in cs], "%.0f"), n_listed))
            print("  wrong codes         %s" % fmt_stat([c["wrong_codes"] for c in cs], "%.0f"))
            print("  extras              %s" % fmt_stat([c["extras"] for c in cs], "%.0f"))
            print("  missing             %s" % fmt_stat([c["missing"] for c in cs], "%.0f"))
            print("  unknown pairs       %s" % fmt_stat([c["unknown"] for c in cs], "%.0f"))
    except Exception as e:
        import traceback
        traceback.print_exc()
        if srv is not None:
            print("rbldnsd log:\n" + srv.log())
        failures.append("bench aborted: %s" % e)
    finally:
        if srv is not None:
            srv.stop()
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    if failures:
        print("\nFAILED:")
        for f in failures:
            print("  - " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
