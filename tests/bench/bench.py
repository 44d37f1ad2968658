#!/usr/bin/python3
"""Benchmark blwatch against one local rbldnsd, with dnsperf as the
yardstick for what the server can take.  Two modes:

    /usr/bin/python3 tests/bench/bench.py BLWATCH_BIN [--mode check|run]
        [--targets 10000] [--zones 40] [--runs 3] [--listed-fraction 0.003]
        [--dnsperf-time 10] [--no-dnsperf | --dnsperf-only] [--timeout 2s]
        [--tries 3] [--concurrency N] [--keep DIR] [--results FILE.json]
        [--assert-correct]

--mode check (default).  Per run: dnsperf (-T2 -c2 -q100 -l T) over the
same query set, then `blwatch -c CONF check --json -` with the targets on
stdin under /usr/bin/time -v.  Prints queries issued, wall time, queries/s,
ratio to dnsperf, CPU (user+sys) and CPU us per query, peak RSS, correctness
(listings found with the right codes / expected, wrong codes, extras,
missing, unknown pairs) and the delta of the kernel's UDP RcvbufErrors.

--mode run.  Measures the poller: `blwatch -c CONF run --once` with
[poller] database = DIR/bench.db, confirm = 0, interval = 1h,
[identity] enabled = no (the blocklist work alone) and
[targets] file = DIR/targets.txt.  Per run: dnsperf (unless --no-dnsperf),
then a fresh database and two cycles on it:
  cold  every target inserted, first listings recorded as events;
  warm  the same world again, nothing changed.
For each: wall time, queries (the `queries` column of the newest `cycles`
row) and queries/s, CPU and CPU us per query, peak RSS, file system outputs
(/usr/bin/time -v, 512-byte blocks), write_bytes and wchar of the process
(read from this script's /proc/self/io around the run: a reaped child's I/O
counters are added to its parent's), database size after (db + -wal; -shm
shown apart) and its growth, UDP RcvbufErrors delta, and correctness read
from the database (sqlite3, read-only): `listed` events of the cycle ==
expected listings with the right codes, no other events; the warm cycle
records no event at all; the state table's `listed` rows == expected and no
unknown rows; the cycle row counts every target.  --tries defaults to 2 in
this mode.

With several runs: median and spread (min..max).

--assert-correct makes the exit status 1 unless every run was correct:
check mode: exactly the expected listings with the right codes, no extras,
no unknown pairs and exit code 1; run mode: as listed above, and exit code 0
from both cycles.  No timing is asserted (used by the CTest entries).
"""

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse

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


def proc_cpu(pid):
    """CPU seconds (user+sys) used so far by process pid (e.g. rbldnsd)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
                     ("rss_kb", r"Maximum resident set size \(kbytes\): (\d+)"),
                     ("fs_out", r"File system outputs: (\d+)")):
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


def run_blwatch(blwatch, conf, targets_file, workdir, idx, server_pid=None):
    out_path = os.path.join(workdir, "blwatch-%d.json" % idx)
    err_path = os.path.join(workdir, "blwatch-%d.err" % idx)
    tv_path = os.path.join(workdir, "time-%d.txt" % idx)
    cmd = ["/usr/bin/time", "-v", "-o", tv_path, blwatch, "-c", conf, "check", "--json", "-"]
    before = udp_rcvbuf_errors()
    scpu0 = proc_cpu(server_pid)
    with open(targets_file) as fin, open(out_path, "w") as fout, open(err_path, "w") as ferr:
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=ferr, timeout=3600)
        wall = time.monotonic() - t0
    scpu1 = proc_cpu(server_pid)
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
                rcvbuf_delta=after - before, doc=doc, stderr=err, time_v=tv_text,
                server_cpu=scpu1 - scpu0 if scpu0 is not None and scpu1 is not None else None)


def fmt_stat(values, fmt="%.2f"):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt % values[0]
    return (fmt + "  (spread " + fmt + " .. " + fmt + ")") % (statistics.median(values), min(values), max(values))


# --------------------------------------------------------------------------
# run mode: the poller, `blwatch run --once`, cold and warm
# --------------------------------------------------------------------------

def proc_io():
    """This process's I/O counters; they include those of reaped children."""
    out = {}
    with open("/proc/self/io") as f:
        for line in f:
            k, v = line.split(":")
            out[k.strip()] = int(v)
    return out


def db_sizes(db):
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        try:
            sizes[suffix or "db"] = os.path.getsize(db + suffix)
        except OSError:
            sizes[suffix or "db"] = 0
    sizes["db+wal"] = sizes["db"] + sizes["-wal"]
    return sizes


def remove_db(db):
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(db + suffix)
        except FileNotFoundError:
            pass


def write_run_config(path, port, workdir, db, timeout, tries, concurrency):
    text = ("[poller]\n"
            "database = %s\n"
            "confirm = 0\n"
            "interval = 1h\n" % db)
    if concurrency:
        text += "concurrency = %d\n" % concurrency
    text += ("\n[resolver]\n"
             "servers = 127.0.0.1:%d\n"
             "timeout = %s\n"
             "tries = %d\n"
             "\n[targets]\n"
             "file = %s\n"
             "\n[zones]\n"
             "catalog = %s\n"
             "use = all\n"
             # The blocklist work alone: identity checks (a PTR and its
             # forward lookup per address) would add their own queries.
             "\n[identity]\n"
             "enabled = no\n" % (port, timeout, tries, os.path.join(workdir, "targets.txt"),
                                 os.path.join(workdir, "catalog.conf")))
    with open(path, "w") as f:
        f.write(text)
    return path


def db_connect_ro(db):
    return sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(db), uri=True, timeout=10)


def db_max_event_id(db):
    if not os.path.exists(db):
        return 0
    con = db_connect_ro(db)
    try:
        return con.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    finally:
        con.close()


def compare_pairs(got, expected_listings):
    """got: {(target, list): codes} (codes as stored, a list);
    expected_listings: {target: {list: codes}}."""
    found = wrong = extra = 0
    wrong_ex, extra_ex, missing_ex = [], [], []
    for (t, z), codes in sorted(got.items()):
        want = expected_listings.get(t, {}).get(z)
        if want is None:
            extra += 1
            if len(extra_ex) < 5:
                extra_ex.append("%s@%s %s" % (t, z, codes))
        elif codes == want:
            found += 1
        else:
            wrong += 1
            if len(wrong_ex) < 5:
                wrong_ex.append("%s@%s want %s got %s" % (t, z, want, codes))
    missing = 0
    for t, zs in sorted(expected_listings.items()):
        for z in sorted(zs):
            if (t, z) not in got:
                missing += 1
                if len(missing_ex) < 5:
                    missing_ex.append("%s@%s %s" % (t, z, zs[z]))
    return dict(found=found, wrong_codes=wrong, extras=extra, missing=missing,
                wrong_examples=wrong_ex, extra_examples=extra_ex, missing_examples=missing_ex)


def _codes(text):
    try:
        v = json.loads(text)
    except (TypeError, ValueError):
        return ["<bad JSON %r>" % (text,)]
    return v if isinstance(v, list) else ["<not a list %r>" % (text,)]


def db_facts(db, after_event_id):
    """What the database says after a cycle (read-only connection)."""
    con = db_connect_ro(db)
    try:
        row = con.execute("SELECT id, started, ended, targets, queries, clear, listed, refused, bogus,"
                          " error, untrusted FROM cycles ORDER BY id DESC LIMIT 1").fetchone()
        keys = ("id", "started", "ended", "targets", "queries", "clear", "listed", "refused",
                "bogus", "error", "untrusted")
        cycle = dict(zip(keys, row)) if row else None
        ev_types, listed_ev, dup_ev = {}, {}, 0
        for etype, key, lst, codes in con.execute(
                "SELECT type, target_key, list, codes FROM events WHERE id > ? ORDER BY id",
                (after_event_id,)):
            ev_types[etype] = ev_types.get(etype, 0) + 1
            if etype == "listed":
                if (key, lst) in listed_ev:
                    dup_ev += 1
                listed_ev[(key, lst)] = _codes(codes)
        state_listed, state_other = {}, {}
        for key, lst, result, codes in con.execute(
                "SELECT t.key, s.list, s.result, s.codes FROM state s JOIN targets t ON t.id = s.target"):
            if result == "listed":
                state_listed[(key, lst)] = _codes(codes)
            else:
                state_other[result] = state_other.get(result, 0) + 1
        targets_active = con.execute("SELECT count(*) FROM targets WHERE retired IS NULL").fetchone()[0]
        outbox = con.execute("SELECT count(*) FROM outbox").fetchone()[0]
        max_event = con.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    finally:
        con.close()
    return dict(cycle=cycle, event_types=ev_types, listed_events=listed_ev, dup_listed_events=dup_ev,
                state_listed=state_listed, state_other=state_other, targets_active=targets_active,
                outbox=outbox, max_event=max_event)


def run_poller(blwatch, conf, db, workdir, tag, server_pid=None):
    """One `blwatch run --once`, measured."""
    tv_path = os.path.join(workdir, "time-%s.txt" % tag)
    err_path = os.path.join(workdir, "run-%s.err" % tag)
    cmd = ["/usr/bin/time", "-v", "-o", tv_path, blwatch, "-c", conf, "run", "--once"]
    before_size = db_sizes(db)
    before_event = db_max_event_id(db)
    io0 = proc_io()
    rcv0 = udp_rcvbuf_errors()
    scpu0 = proc_cpu(server_pid)
    t0 = time.monotonic()
    # stdout/stderr go to pipes, not files, so that the log is not counted
    # in the process's write_bytes.
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=3 * 3600)
    wall = time.monotonic() - t0
    scpu1 = proc_cpu(server_pid)
    rcv1 = udp_rcvbuf_errors()
    io1 = proc_io()
    after_size = db_sizes(db)   # before our own read-only connection touches -wal/-shm
    stderr = p.stderr.decode("utf-8", "replace")
    with open(err_path, "w") as f:
        f.write(stderr)
    tv, tv_text = parse_time_v(tv_path)
    r = dict(rc=p.returncode, wall=wall, user=tv["user"], sys=tv["sys"], rss_kb=tv["rss_kb"],
             fs_out_blocks=tv["fs_out"], write_bytes=io1["write_bytes"] - io0["write_bytes"],
             cancelled_write_bytes=io1["cancelled_write_bytes"] - io0["cancelled_write_bytes"],
             wchar=io1["wchar"] - io0["wchar"], rcvbuf_delta=rcv1 - rcv0,
             server_cpu=scpu1 - scpu0 if scpu0 is not None and scpu1 is not None else None,
             size_before=before_size, size_after=after_size,
             growth=after_size["db+wal"] - before_size["db+wal"],
             stdout=p.stdout.decode("utf-8", "replace"), stderr=stderr,
             log_lines=len(stderr.splitlines()), time_v=tv_text)
    r["cpu"] = (r["user"] or 0) + (r["sys"] or 0)
    try:
        r["facts"] = db_facts(db, before_event)
    except sqlite3.Error as e:
        r["facts"] = None
        r["db_error"] = str(e)
    cyc = r["facts"]["cycle"] if r["facts"] else None
    r["queries"] = cyc["queries"] if cyc else None
    r["qps"] = r["queries"] / wall if r["queries"] and wall else None
    r["cpu_us_per_q"] = r["cpu"] * 1e6 / r["queries"] if r["queries"] else None
    r["server_busy"] = 100 * r["server_cpu"] / wall if r["server_cpu"] is not None and wall else None
    return r


def judge_cycle(r, phase, expected, n_targets, n_zones):
    """Correctness problems of one cycle, as a list of strings (empty: fine)."""
    probs = []
    if r["rc"] != 0:
        probs.append("exit %d, expected 0" % r["rc"])
    f = r["facts"]
    if f is None:
        probs.append("database not readable: %s" % r.get("db_error"))
        return probs, None
    exp = expected["listings"]
    n_listed = sum(len(v) for v in exp.values())
    cyc = f["cycle"]
    if cyc is None:
        probs.append("no row in cycles")
    else:
        if cyc["ended"] is None:
            probs.append("newest cycle %d has no end time" % cyc["id"])
        if cyc["targets"] != n_targets:
            probs.append("cycle row: targets %s, expected %d" % (cyc["targets"], n_targets))
        if cyc["listed"] != n_listed:
            probs.append("cycle row: listed %s, expected %d" % (cyc["listed"], n_listed))
        if cyc["clear"] != n_targets * n_zones - n_listed:
            probs.append("cycle row: clear %s, expected %d" % (cyc["clear"], n_targets * n_zones - n_listed))
        unk = sum(cyc[k] or 0 for k in ("refused", "bogus", "error", "untrusted"))
        if unk:
            probs.append("cycle row: %d unknown (refused %s, bogus %s, error %s, untrusted %s)"
                         % (unk, cyc["refused"], cyc["bogus"], cyc["error"], cyc["untrusted"]))
        if (cyc["queries"] or 0) < n_targets * n_zones + 2 * n_zones:
            probs.append("cycle row: queries %s, fewer than the %d pairs + test points"
                         % (cyc["queries"], n_targets * n_zones + 2 * n_zones))
    if f["targets_active"] != n_targets:
        probs.append("targets table: %d active, expected %d" % (f["targets_active"], n_targets))
    ev = None
    if phase == "cold":
        ev = compare_pairs(f["listed_events"], exp)
        if ev["found"] != n_listed or ev["wrong_codes"] or ev["extras"] or ev["missing"]:
            probs.append("listed events: found %d / %d, wrong codes %d, extras %d, missing %d"
                         % (ev["found"], n_listed, ev["wrong_codes"], ev["extras"], ev["missing"]))
        if f["dup_listed_events"]:
            probs.append("%d duplicate listed events" % f["dup_listed_events"])
        other = {k: v for k, v in f["event_types"].items() if k != "listed"}
        if other:
            probs.append("events other than listed in the cold cycle: %s" % other)
    else:
        n_ev = sum(f["event_types"].values())
        if n_ev:
            probs.append("warm cycle recorded %d events %s (expected none)" % (n_ev, f["event_types"]))
    st = compare_pairs(f["state_listed"], exp)
    if st["found"] != n_listed or st["wrong_codes"] or st["extras"] or st["missing"]:
        probs.append("state listed rows: found %d / %d, wrong codes %d, extras %d, missing %d"
                     % (st["found"], n_listed, st["wrong_codes"], st["extras"], st["missing"]))
    if f["state_other"]:
        probs.append("state rows that are not listed: %s" % f["state_other"])
    for label, c in (("events", ev), ("state", st)):
        if c:
            for k in ("wrong_examples", "extra_examples", "missing_examples"):
                if c[k]:
                    probs.append("  %s %s: %s" % (label, k.replace("_", " "), "; ".join(c[k])))
    return probs, dict(events=ev, state=st)


def mb(v):
    return v / 1e6 if v is not None else None


def print_cycle(i, phase, r):
    f = r["facts"] or {}
    print("run %d %-4s: exit %d, wall %.2fs, %s queries, %s q/s, cpu %.2fs (%s us/q), rss %s MB, "
          "rcvbuf errors +%d"
          % (i, phase, r["rc"], r["wall"], r["queries"], "%.0f" % r["qps"] if r["qps"] else "n/a",
             r["cpu"], "%.2f" % r["cpu_us_per_q"] if r["cpu_us_per_q"] else "n/a",
             "%.1f" % (r["rss_kb"] / 1024) if r["rss_kb"] else "n/a", r["rcvbuf_delta"]))
    print("            written: fs outputs %d blocks (%.1f MB), write_bytes %.1f MB (cancelled %.1f MB), "
          "wchar %.1f MB; db+wal after %.2f MB (db %.2f, wal %.2f, shm %.2f), growth %+.2f MB"
          % (r["fs_out_blocks"] or 0, (r["fs_out_blocks"] or 0) * 512 / 1e6, mb(r["write_bytes"]),
             mb(r["cancelled_write_bytes"]), mb(r["wchar"]), mb(r["size_after"]["db+wal"]),
             mb(r["size_after"]["db"]), mb(r["size_after"]["-wal"]), mb(r["size_after"]["-shm"]),
             mb(r["growth"])))
    if r["server_cpu"] is not None:
        print("            rbldnsd: cpu %.2fs during the run (busy %.0f%% of the wall time)"
              % (r["server_cpu"], r["server_busy"]))
    if f:
        print("            db: cycle %s, events %s, state listed %d, state other %s, log lines %d"
              % (f["cycle"], f["event_types"] or "{}", len(f["state_listed"]), f["state_other"] or "{}",
                 r["log_lines"]))
    if r["rc"] != 0 or not f:
        print("            stderr (last lines): %s" % " | ".join(r["stderr"].strip().splitlines()[-5:]))
    for p in r["problems"]:
        print("            WRONG: %s" % p)


def run_mode(a, blwatch, workdir, srv, expected, failures):
    n_listed = sum(len(v) for v in expected["listings"].values())
    db = os.path.join(workdir, "bench.db")
    conf = write_run_config(os.path.join(workdir, "run.conf"), srv.port, workdir, db,
                            a.timeout, a.tries, a.concurrency)
    print("command: %s -c %s run --once   (cold: fresh %s; warm: same database again)" % (blwatch, conf, db))
    print("config: confirm 0, interval 1h, timeout %s, tries %d%s"
          % (a.timeout, a.tries, ", concurrency %d" % a.concurrency if a.concurrency else ""))
    print("expected queries per cycle: %d pairs + %d test points + %d TXT (one per listing) = %d"
          % (a.targets * a.zones, 2 * a.zones, n_listed, a.targets * a.zones + 2 * a.zones + n_listed))
    rows = []
    for i in range(1, a.runs + 1):
        row = {}
        if not a.no_dnsperf:
            row["dnsperf_qps"], row["dnsperf_lost"] = run_dnsperf(srv.port, os.path.join(workdir, "queries.txt"),
                                                                  a.dnsperf_time)
            print("run %d: dnsperf %.0f q/s (lost %s)" % (i, row["dnsperf_qps"], row["dnsperf_lost"]))
        remove_db(db)
        for phase in ("cold", "warm"):
            r = run_poller(blwatch, conf, db, workdir, "%d-%s" % (i, phase), srv.proc.pid)
            r["problems"], r["corr"] = judge_cycle(r, phase, expected, a.targets, a.zones)
            if row.get("dnsperf_qps") and r["qps"]:
                r["ratio"] = r["qps"] / row["dnsperf_qps"]
            row[phase] = r
            print_cycle(i, phase, r)
            if a.assert_correct and r["problems"]:
                failures.extend("run %d %s: %s" % (i, phase, p) for p in r["problems"] if not p.startswith("  "))
        rows.append(row)

    print()
    print("summary over %d run(s) (median, spread min..max):" % len(rows))
    if not a.no_dnsperf:
        print("  dnsperf queries/s       %s" % fmt_stat([r["dnsperf_qps"] for r in rows], "%.0f"))
    for phase in ("cold", "warm"):
        rs = [row[phase] for row in rows]
        print("  %s:" % phase)
        print("    queries (cycles row)  %s" % fmt_stat([r["queries"] for r in rs], "%.0f"))
        print("    wall time (s)         %s" % fmt_stat([r["wall"] for r in rs], "%.2f"))
        print("    queries/s             %s" % fmt_stat([r["qps"] for r in rs], "%.0f"))
        if not a.no_dnsperf:
            print("    ratio to dnsperf      %s" % fmt_stat([r.get("ratio") for r in rs], "%.2f"))
        print("    CPU s (user+sys)      %s" % fmt_stat([r["cpu"] for r in rs], "%.2f"))
        print("    CPU us per query      %s" % fmt_stat([r["cpu_us_per_q"] for r in rs], "%.2f"))
        print("    peak RSS (MB)         %s" % fmt_stat([r["rss_kb"] / 1024 if r["rss_kb"] else None for r in rs], "%.1f"))
        print("    fs outputs (MB)       %s" % fmt_stat([(r["fs_out_blocks"] or 0) * 512 / 1e6 for r in rs], "%.2f"))
        print("    write_bytes (MB)      %s" % fmt_stat([mb(r["write_bytes"]) for r in rs], "%.2f"))
        print("    wchar (MB)            %s" % fmt_stat([mb(r["wchar"]) for r in rs], "%.2f"))
        print("    db+wal after (MB)     %s" % fmt_stat([mb(r["size_after"]["db+wal"]) for r in rs], "%.2f"))
        print("    db+wal growth (MB)    %s" % fmt_stat([mb(r["growth"]) for r in rs], "%.3f"))
        print("    UDP RcvbufErrors +    %s" % fmt_stat([r["rcvbuf_delta"] for r in rs], "%.0f"))
        print("    rbldnsd CPU s         %s" % fmt_stat([r["server_cpu"] for r in rs], "%.2f"))
        print("    rbldnsd busy %%        %s" % fmt_stat([r["server_busy"] for r in rs], "%.0f"))
        print("    correct               %d of %d runs" % (sum(1 for r in rs if not r["problems"]), len(rs)))
    return rows


# --------------------------------------------------------------------------
# check mode: `blwatch check --json -`
# --------------------------------------------------------------------------

def check_mode(a, blwatch, workdir, srv, expected, failures):
    n_listed = sum(len(v) for v in expected["listings"].values())
    extra = ""
    if a.concurrency:
        extra = "[poller]\nconcurrency = %d\n" % a.concurrency
    conf = rbl.write_config(os.path.join(workdir, "bench.conf"), srv.port,
                            os.path.join(workdir, "catalog.conf"), use="all",
                            timeout=a.timeout, tries=a.tries, extra=extra)
    n_queries = a.targets * a.zones + 2 * a.zones
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
        r = run_blwatch(blwatch, conf, os.path.join(workdir, "targets.txt"), workdir, i, srv.proc.pid)
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
        if r["server_cpu"] is not None:
            print("       rbldnsd: cpu %.2fs during the run (%.2f us/q, busy %.0f%% of the wall time)"
                  % (r["server_cpu"], r["server_cpu"] * 1e6 / n_queries, 100 * r["server_cpu"] / r["wall"]))
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
        return rows
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
    print("  rbldnsd CPU s       %s" % fmt_stat([r["server_cpu"] for r in rows], "%.2f"))
    print("  rbldnsd busy %%      %s" % fmt_stat([100 * r["server_cpu"] / r["wall"] if r["server_cpu"] is not None
                                                 else None for r in rows], "%.0f"))
    cs = [r["corr"] for r in rows if r["corr"]]
    if cs:
        print("  found / expected    %s / %d" % (fmt_stat([c["found"] for c in cs], "%.0f"), n_listed))
        print("  wrong codes         %s" % fmt_stat([c["wrong_codes"] for c in cs], "%.0f"))
        print("  extras              %s" % fmt_stat([c["extras"] for c in cs], "%.0f"))
        print("  missing             %s" % fmt_stat([c["missing"] for c in cs], "%.0f"))
        print("  unknown pairs       %s" % fmt_stat([c["unknown"] for c in cs], "%.0f"))
    return rows


def save_results(path, a, mode, rows):
    """Raw figures as JSON (no DNS payloads, no database contents)."""
    drop = {"doc", "facts", "stdout", "stderr", "time_v", "corr"}

    def clean(d):
        out = {}
        for k, v in d.items():
            if k in drop:
                continue
            out[k] = clean(v) if isinstance(v, dict) else v
        if "facts" in d and d["facts"]:
            out["db"] = dict(cycle=d["facts"]["cycle"], event_types=d["facts"]["event_types"],
                             state_listed=len(d["facts"]["state_listed"]),
                             state_other=d["facts"]["state_other"])
        return out
    with open(path, "w") as f:
        json.dump(dict(mode=mode, params=vars(a), runs=[clean(r) for r in rows]), f, indent=1, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("blwatch")
    ap.add_argument("--mode", choices=("check", "run"), default="check")
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
    ap.add_argument("--tries", type=int, help="[resolver] tries for blwatch (default: 3 check, 2 run)")
    ap.add_argument("--concurrency", type=int, help="[poller] concurrency for blwatch (default: blwatch's)")
    ap.add_argument("--keep", help="keep the world and outputs in this directory")
    ap.add_argument("--results", help="write the raw figures to this JSON file")
    ap.add_argument("--assert-correct", action="store_true")
    a = ap.parse_args()
    if a.dnsperf_only:
        a.no_dnsperf = False
        a.mode = "check"
    if a.tries is None:
        a.tries = 2 if a.mode == "run" else 3

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
                                             a.multi_fraction, a.seed, write_queries=not a.no_dnsperf)
        n_listed = sum(len(v) for v in expected["listings"].values())
        srv = rbl.Rbldnsd(workdir, specs, probe=("2.0.0.127.z01.bench.test", True))
        srv.start()

        # Harness check: a sample of expected listings, asked directly.
        for t, zs in list(expected["listings"].items())[:20]:
            for zid, codes in zs.items():
                ans = rbl.dns_query(srv.port, gen_world.qname(t, expected["zone_names"][zid]))
                if sorted(set(ans.a), key=gen_world.code_key) != codes:
                    raise RuntimeError("harness: rbldnsd answers %r for %s@%s, world says %s" % (ans, t, zid, codes))

        print("world: %d targets x %d zones, %d expected listings (%d targets); rbldnsd on 127.0.0.1:%d; %s"
              % (a.targets, a.zones, n_listed, len(expected["listings"]), srv.port, workdir))
        print("blwatch: %s (mode %s)" % (blwatch, a.mode))
        if a.mode == "run":
            rows = run_mode(a, blwatch, workdir, srv, expected, failures)
        else:
            rows = check_mode(a, blwatch, workdir, srv, expected, failures)
        if a.results:
            save_results(a.results, a, a.mode, rows)
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
