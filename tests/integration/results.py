"""How a test script starts and ends.  parse_args() reads `SCRIPT BLWATCH
[TEST...]`.  finish(): sanitizer reports become a failed check, the notes
are printed, then the failed checks; the exit status is 0 when all passed,
2 when the only failure is a harness problem, else 1."""

import os
import time


def parse_args(argv, doc, tests):
    """The blwatch binary (made absolute) and the names of the tests wanted
    (all of `tests`, a list of (name, function), when none is named); or,
    once it has said what is wrong, an exit status: 2 for a usage problem,
    1 for a binary that cannot run."""
    if not argv or argv[0].startswith("-"):
        print(doc)
        return 2
    binary = os.path.abspath(argv[0])
    if not os.access(binary, os.X_OK):
        print("FAIL  blwatch binary %s is not executable" % binary)
        return 1
    names = [n for n, _ in tests]
    wanted = argv[1:] or names
    unknown = [n for n in wanted if n not in names]
    if unknown:
        print("unknown test(s) %s; choose from %s" % (unknown, names))
        return 2
    return binary, wanted


def finish(results, t_start, harness_problem, sanitizer_reports, notes=()):
    if sanitizer_reports:
        results.append(("no sanitizer reports", ["%s:\n%s" % r for r in sanitizer_reports]))
        print("FAIL  sanitizer reports:")
        for cmd, text in sanitizer_reports:
            print("      - %s\n%s" % (cmd, text))
    for n in sorted(set(notes)):
        print("NOTE  " + n)
    failed = [n for n, f in results if f]
    print()
    print("(%.1fs)" % (time.monotonic() - t_start))
    if failed:
        print("FAILED %d of %d checks:" % (len(failed), len(results)))
        for n in failed:
            print("  - " + n)
        return 2 if harness_problem and len(failed) == 1 else 1
    print("all %d checks passed" % len(results))
    return 0
