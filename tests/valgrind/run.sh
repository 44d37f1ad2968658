#!/bin/sh
# The integration tests that cover check, the engine over UDP and TCP, the
# systemd notifications and every notice path, with blwatch under valgrind
# memcheck (tests/valgrind/blwatch-vg: any memory error or definite leak
# exits 99, which the tests report).  valgrind sees what ASan cannot: reads
# inside uninstrumented libraries (libuv, c-ares, libcurl) of memory the
# program freed.  The poller's timing-heavy tests (SIGTERM within a few
# seconds, kill -9 at chosen moments) run under ASan only.
#
#   tests/valgrind/run.sh BLWATCH_BINARY
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export BLWATCH_BIN="$1"
for t in test_check test_tcp test_notify test_notices; do
  echo "-- valgrind: $t"
  /usr/bin/python3 "$here/../integration/$t.py" "$here/blwatch-vg" >/tmp/blwatch-vg-$$.log 2>&1 ||
    { cat /tmp/blwatch-vg-$$.log; rm -f /tmp/blwatch-vg-$$.log; exit 1; }
  tail -n 1 /tmp/blwatch-vg-$$.log
done
rm -f /tmp/blwatch-vg-$$.log
