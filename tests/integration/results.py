"""How a test script ends: sanitizer reports become a failed check, the
notes are printed, then the failed checks; the exit status is 0 when all
passed, 2 when the only failure is a harness problem, else 1."""

import time


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
