#!/bin/sh
# Builds the libFuzzer fuzzers (clang, -DBLWATCH_FUZZ=ON) and runs each for
# a while on a copy of its seed corpus; fails if any of them finds a crash,
# a leak, a sanitizer report, a broken invariant or an input that takes
# longer than 10 seconds.
#
#   tests/fuzz/fuzz.sh [BUILD_DIR [SECONDS [TARGET...]]]
#
# BUILD_DIR defaults to build-fuzz at the top of the tree, SECONDS to 20,
# TARGET to every tests/fuzz/fuzz_*.c.  Prints one line per fuzzer with its
# executions; on a failure, the report, the input in hex, and where the
# input was saved (BUILD_DIR/fuzz-artifacts/).  New corpus entries are not
# kept: the seeds in tests/fuzz/corpus/ are only ever read.
#
# BLWATCH_SKIP_BUGS=1 switches off the checks for known, reported bugs
# (FUZZ_BUG in the targets), as for the unit tests.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build-fuzz}
secs=${2:-20}
[ $# -gt 2 ] && shift 2 || set --
jobs=$(nproc 2>/dev/null || echo 2)

if [ $# -eq 0 ]; then
  for f in "$here"/fuzz_*.c; do
    n=$(basename "$f" .c)
    set -- "$@" "${n#fuzz_}"
  done
fi

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz.sh: clang not found (packaging/install-deps.sh installs it)" >&2
  exit 1
fi
CC=clang cmake -S "$top" -B "$build" -DBLWATCH_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target fuzzers >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/blwatch-fuzzrun-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
keep="$build/fuzz-artifacts"
failed=""

for t in "$@"; do
  bin="$build/tests/fuzz/fuzz_$t"
  seeds="$here/corpus/$t"
  corpus="$work/corpus-$t"
  log="$work/log-$t"
  mkdir -p "$corpus" "$work/art-$t"
  cp "$seeds"/* "$corpus"/
  nseeds=$(ls "$corpus" | wc -l)
  set +e
  "$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/art-$t/" "$corpus" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    execs=$(grep -ao '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  fi
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  ncorpus=$(ls "$corpus" | wc -l)
  artifacts=$(ls "$work/art-$t")
  if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
    echo "fuzz_$t: ok, ${execs:-?} executions in ${secs}s" \
         "(${speed:-?}/s), corpus $nseeds -> $ncorpus inputs"
    continue
  fi
  failed="$failed fuzz_$t"
  case $rc in
    70) why="an input ran longer than 10 s" ;;
    71) why="out of memory" ;;
    72) why="interrupted by a signal" ;;
    *) why="exit $rc" ;;
  esac
  echo "fuzz_$t: FAILED ($why) after ${execs:-?} executions"
  if [ -z "$artifacts" ]; then
    tail -n 15 "$log" | sed 's/^/  | /'
  fi
  # The report and the stack frames in blwatch's own sources.
  awk -v top="$top/" '/check failed|ERROR: |SUMMARY: |runtime error: / ||
                      (/^ *#[0-9]+ / && index($0, top)) { print "  " $0 }' \
    "$log" | head -n 40
  mkdir -p "$keep"
  for a in $artifacts; do
    cp "$work/art-$t/$a" "$keep/fuzz_$t-$a"
    echo "  input ($keep/fuzz_$t-$a):"
    od -A x -t x1z -v "$work/art-$t/$a" | head -n 32 | sed 's/^/    /'
    echo "  replay: $bin $keep/fuzz_$t-$a"
  done
done

if [ -n "$failed" ]; then
  echo "fuzz.sh: failed:$failed" >&2
  exit 1
fi
echo "fuzz.sh: $# fuzzers, no failure"
