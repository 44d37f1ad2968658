#!/bin/sh
# The integration tests with blwatch under valgrind memcheck
# (tests/valgrind/blwatch-vg: any memory error or definite leak exits 99,
# which the tests report).  valgrind sees what ASan cannot: reads inside
# uninstrumented libraries (libuv, c-ares, libcurl, SQLite) of memory the
# program freed.
#
# Covered: check and the engine over UDP and TCP, every fault-injection
# behaviour through check and run --once, the broken-database errors, the
# poller's listings, confirmation, unanswered queries, zone health, Nagios
# output and error paths, systemd notifications, every notice path, the
# HTTP endpoint (its own thread), the identity checks and host targets
# (A and AAAA, moved and failing names).
# Left to ASan (same tests, sanitized build): the parts that kill blwatch
# at chosen moments or expect SIGTERM/SIGHUP within a few seconds, the
# 10,000-target load test, and test_notices' paced and stall (they time
# `run`'s pacing to the second), which valgrind's 20-50x slowdown would
# turn into tests of timing instead of memory.
#
#   tests/valgrind/run.sh BLWATCH_BINARY
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export BLWATCH_BIN="$1"
log=/tmp/blwatch-vg-$$.log
while read -r t parts; do
  [ -n "$t" ] || continue
  echo "-- valgrind: $t $parts"
  # shellcheck disable=SC2086 # parts is a list of test names
  /usr/bin/python3 "$here/../integration/$t.py" "$here/blwatch-vg" $parts >"$log" 2>&1 ||
    { cat "$log"; rm -f "$log"; exit 1; }
  tail -n 1 "$log"
done <<'LIST'
test_check
test_tcp
test_notify
test_notices webhook grouping email inject retry down giveup kill9 filter testalert secrets starttry zonehealth once
test_faults check tries run
test_crash broken
test_poller listings confirm unanswered zonehealth nagios errors
test_http
test_identity
test_schedule hostcheck hostrun hostfail
LIST
rm -f "$log"
