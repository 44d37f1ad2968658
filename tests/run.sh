#!/bin/sh
# The whole test suite, as CI runs it: installs the Debian packages, then
# builds and runs every test twice, once plainly and once under
# AddressSanitizer + UBSan (leak checking on), then builds the Debian
# package and tests it installed (tests/package/test_package.sh).
#
#   tests/run.sh                 # from the top of the source tree
#
# It runs as root (packages, the installed-package test, the full-disk
# tests on a tmpfs); started by another user, it asks sudo.
# BLWATCH_SKIP_DEPS=1 skips the package step on a machine that has them.
set -eu

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo BLWATCH_SKIP_DEPS="${BLWATCH_SKIP_DEPS:-0}" sh "$0" "$@"
  fi
  echo "tests/run.sh: run as root (there is no sudo here)" >&2
  exit 1
fi

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

if [ "${BLWATCH_SKIP_DEPS:-0}" != 1 ]; then
  packaging/install-deps.sh
fi

run_suite() {
  name=$1
  shift
  echo "== $name build"
  cmake -S . -B "build-$name" -DCMAKE_BUILD_TYPE=Debug "$@" >/dev/null
  cmake --build "build-$name" -j "$jobs" >/dev/null
  echo "== $name tests"
  (cd "build-$name" && ctest --output-on-failure -j "$jobs")
}

run_suite plain
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite sanitize -DBLWATCH_SANITIZE=ON
# valgrind memcheck over the plain build (tests/valgrind/run.sh).
echo "== valgrind"
tests/valgrind/run.sh "$top/build-plain/blwatch"
# The libFuzzer fuzzers (clang, build-fuzz), 10 seconds each on a copy of
# their seed corpora; any crash, leak or broken invariant fails the run
# (tests/fuzz/README.md).
echo "== fuzz"
tests/fuzz/fuzz.sh "$top/build-fuzz" 10
# The Debian package, from a plain (not sanitized) build of its own:
# build-plain is configured for /usr/local, the package needs /usr.
echo "== package"
tests/package/test_package.sh "$top/build-package"
echo "== all tests passed"
