#!/bin/sh
# Builds the blwatch Debian package, installs it on this machine, checks
# what it installed, exercises the installed program, then removes and
# purges it and checks what stays and what goes.  Prints PASS/FAIL/SKIP per
# check and exits 1 if any check failed.
#
#   sudo tests/package/test_package.sh [BUILD_DIR]
#
# BUILD_DIR (default: build-package at the top of the tree) is configured
# with -DCMAKE_INSTALL_PREFIX=/usr, Debian's build flags and RelWithDebInfo:
# a tree configured for /usr/local (like build-plain) would compile the
# wrong catalog path into the program, and cpack refuses it.
#
# Needs root, dpkg-dev, file, man-db, python3, and systemd for
# systemd-analyze (packaging/install-deps.sh).  Nothing here queries a real
# blocklist: the installed poller is pointed at a dead resolver on
# 127.0.0.1.  The package is purged at the end, also when a check fails or
# the script is interrupted, so the script can run again right away.  It
# refuses to touch a blwatch package it did not install itself.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/package"
build=${1:-"$top/build-package"}
jobs=$(nproc 2>/dev/null || echo 2)
marker=/run/blwatch-package-test
unit=/lib/systemd/system/blwatch.service
conf=/etc/blwatch/blwatch.conf
state=/var/lib/blwatch

failures=0
tmp=
masked=0
placed_list=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
skip() { echo "SKIP: $*"; }
# check DESCRIPTION COMMAND...: PASS when the command succeeds.
check() {
  what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

pkg_status() {
  dpkg-query -W -f='${db:Status-Abbrev}' blwatch 2>/dev/null | tr -d ' '
}

cleanup() {
  trap - EXIT INT TERM HUP
  [ "$placed_list" = 1 ] && rm -f /etc/blwatch/targets.d/hosting.list
  st=$(pkg_status)
  if [ -n "$st" ] && [ "$st" != un ]; then
    echo "-- cleanup: purging blwatch (state $st)"
    if [ -d /run/systemd/system ]; then
      systemctl stop blwatch.service >/dev/null 2>&1 || true
    fi
    dpkg -P blwatch >/dev/null 2>&1 || echo "-- cleanup: dpkg -P blwatch failed"
  fi
  if [ "$masked" = 1 ]; then
    systemctl unmask --runtime blwatch.service >/dev/null 2>&1 || true
    systemctl daemon-reload >/dev/null 2>&1 || true
  fi
  rm -f "$marker"
  [ -n "$tmp" ] && rm -rf "$tmp"
}

finish() {
  cleanup
  echo
  if [ "$failures" -eq 0 ]; then
    echo "== package: all checks passed"
    exit 0
  fi
  echo "== package: $failures check(s) failed"
  exit 1
}

# A failure that makes the remaining checks meaningless.
abort() {
  fail "$*"
  finish
}

# ---- preconditions -------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
  echo "test_package.sh: run as root (it installs and purges the package)" >&2
  exit 1
fi
for tool in dpkg-deb dpkg-shlibdeps cpack cmake man python3 file; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test_package.sh: $tool is missing (packaging/install-deps.sh)" >&2
    exit 1
  fi
done
st=$(pkg_status)
if [ -n "$st" ] && [ "$st" != un ]; then
  if [ -e "$marker" ]; then
    echo "-- a previous run left blwatch installed ($st): purging it"
    dpkg -P blwatch >/dev/null || true
  else
    echo "test_package.sh: a blwatch package is installed here (state" \
      "$st) that this test did not install; it would purge it and its" \
      "database.  Run 'dpkg -P blwatch' first if that is fine." >&2
    exit 1
  fi
fi

trap finish EXIT
trap 'echo "-- interrupted"; failures=$((failures + 1)); finish' INT TERM HUP
tmp=$(mktemp -d /tmp/blwatch-pkgtest.XXXXXX)
chmod 0755 "$tmp"

# ---- build ---------------------------------------------------------------

echo "== package build ($build)"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
if ! (cd "$top" && cmake -S . -B "$build" -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="$cflags" \
  -DCMAKE_EXE_LINKER_FLAGS="$ldflags" >"$tmp/cmake.log" 2>&1 &&
  cmake --build "$build" -j "$jobs" >>"$tmp/cmake.log" 2>&1); then
  tail -30 "$tmp/cmake.log"
  abort "build"
fi
rm -f "$build"/blwatch_*.deb
if ! (cd "$build" && cpack -G DEB >"$tmp/cpack.log" 2>&1); then
  cat "$tmp/cpack.log"
  abort "cpack -G DEB"
fi
deb=$(find "$build" -maxdepth 1 -name "blwatch_*.deb" | head -1)
[ -n "$deb" ] || abort "cpack made no .deb"
pass "cpack -G DEB: $(basename "$deb")"
version=$(dpkg-deb -f "$deb" Version)

# ---- the .deb itself -----------------------------------------------------

echo "== package contents"
depends=$(dpkg-deb -f "$deb" Depends)
echo "   Depends: $depends"
for dep in adduser libc-ares2 libuv1 libsqlite3-0 libcurl4 libc6; do
  case ", $depends," in
  *", $dep "* | *", $dep,"*) pass "Depends names $dep" ;;
  *) fail "Depends names $dep" ;;
  esac
done
dpkg-deb -e "$deb" "$tmp/control"
check "conffiles lists $conf" grep -qx "$conf" "$tmp/control/conffiles"
for s in postinst prerm postrm; do
  check "maintainer script $s is executable" test -x "$tmp/control/$s"
done
clversion=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" \
  -S Version 2>/dev/null)
check "packaging/debian/changelog is at $version (has $clversion)" \
  test "$clversion" = "$version"
if command -v lintian >/dev/null 2>&1; then
  lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.log" 2>&1
  sed 's/^/   /' "$tmp/lintian.log" | grep -v 'root privileges'
  check "lintian: no errors" sh -c "! grep -q '^E:' '$tmp/lintian.log'"
else
  skip "lintian is not installed (apt-get install lintian to run it)"
fi

# ---- install -------------------------------------------------------------

echo "== package install"
: >"$marker"
if [ -d /run/systemd/system ]; then
  # postinst would start the service with the shipped config, which
  # queries real blocklists; a runtime mask keeps it down until the test
  # config is in place.  It disappears with the next boot at the latest.
  systemctl mask --runtime blwatch.service >/dev/null 2>&1 && masked=1
fi
export DEBIAN_FRONTEND=noninteractive
if dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then
  pass "dpkg -i"
elif apt-get install -f -y -qq >>"$tmp/dpkg.log" 2>&1 &&
  [ "$(pkg_status)" = ii ]; then
  pass "dpkg -i (dependencies installed with apt-get install -f)"
else
  cat "$tmp/dpkg.log"
  abort "dpkg -i"
fi

out=$(/usr/bin/blwatch --version 2>&1)
check "/usr/bin/blwatch --version prints 'blwatch $version' (got '$out')" \
  test "$out" = "blwatch $version"
# -c is a global option: it comes before the command.
if /usr/bin/blwatch -c "$conf" config-check >"$tmp/cc.out" 2>"$tmp/cc.err"
then
  pass "blwatch -c $conf config-check"
else
  sed 's/^/   /' "$tmp/cc.err"
  fail "blwatch -c $conf config-check"
fi
check "config-check uses the installed catalog /usr/share/blwatch/zones.conf" \
  grep -Eq '^catalog +=  ?/usr/share/blwatch/zones.conf$' "$tmp/cc.out"

dpkg -L blwatch >"$tmp/files"
for f in /usr/bin/blwatch /usr/share/blwatch/zones.conf "$conf" \
  /etc/blwatch/targets.d "$unit" \
  /usr/share/man/man8/blwatch.8.gz /usr/share/man/man5/blwatch.conf.5.gz \
  /usr/share/doc/blwatch/README.md /usr/share/doc/blwatch/copyright \
  /usr/share/doc/blwatch/changelog.gz; do
  check "dpkg -L has $f" grep -qx "$f" "$tmp/files"
done
for f in "$top"/docs/*.md "$top"/packaging/examples/*; do
  case $f in
  */docs/*) d=/usr/share/doc/blwatch/$(basename "$f") ;;
  *) d=/usr/share/doc/blwatch/examples/$(basename "$f") ;;
  esac
  check "dpkg -L has $d" grep -qx "$d" "$tmp/files"
done
check "dpkg knows $conf as a conffile" \
  sh -c "dpkg-query -W -f='\${Conffiles}\n' blwatch | grep -q ' $conf '"

# ---- what postinst set up ------------------------------------------------

echo "== package user, directories, permissions"
pw=$(getent passwd blwatch)
if [ -n "$pw" ]; then
  pass "user blwatch exists ($pw)"
  uid=$(echo "$pw" | cut -d: -f3)
  check "blwatch is a system user (uid $uid < 1000)" test "$uid" -lt 1000
  check "blwatch's home is $state" test "$(echo "$pw" | cut -d: -f6)" = "$state"
  check "blwatch cannot log in" \
    test "$(echo "$pw" | cut -d: -f7)" = /usr/sbin/nologin
else
  fail "user blwatch exists"
fi
check "group blwatch exists" sh -c 'getent group blwatch >/dev/null'
perm=$(stat -c '%a %U:%G' "$state" 2>/dev/null)
check "$state is 750 blwatch:blwatch (got '$perm')" \
  test "$perm" = "750 blwatch:blwatch"
perm=$(stat -c '%a %U:%G' "$conf" 2>/dev/null)
check "$conf is 640 root:blwatch (got '$perm')" test "$perm" = "640 root:blwatch"

# deb-systemd-helper enables the unit even where systemd is not running.
check "blwatch.service is enabled (multi-user.target.wants link)" \
  test -L /etc/systemd/system/multi-user.target.wants/blwatch.service

# ---- man pages -----------------------------------------------------------

echo "== package man pages"
for page in /usr/share/man/man8/blwatch.8.gz /usr/share/man/man5/blwatch.conf.5.gz; do
  if MANWIDTH=80 man --warnings -l "$page" >"$tmp/man.out" 2>"$tmp/man.err" &&
    [ ! -s "$tmp/man.err" ] && [ -s "$tmp/man.out" ]; then
    pass "man -l $page renders without warnings"
  else
    sed 's/^/   /' "$tmp/man.err"
    fail "man -l $page renders without warnings"
  fi
done
check "man -w blwatch finds the installed page" \
  sh -c 'man -w 8 blwatch 2>/dev/null | grep -q /usr/share/man/man8/blwatch.8'

# ---- the systemd unit ----------------------------------------------------

echo "== package systemd unit"
if command -v systemd-analyze >/dev/null 2>&1; then
  if systemd-analyze verify "$unit" >"$tmp/verify.out" 2>&1 &&
    [ ! -s "$tmp/verify.out" ]; then
    pass "systemd-analyze verify $unit: clean"
  else
    sed 's/^/   /' "$tmp/verify.out"
    fail "systemd-analyze verify $unit"
  fi
  if systemd-analyze security --offline=true "$unit" >"$tmp/sec.out" 2>&1; then
    score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
      "$tmp/sec.out")
    echo "   systemd-analyze security: exposure $score"
    check "exposure level $score is at most 2.0" \
      awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
  else
    sed 's/^/   /' "$tmp/sec.out" | tail -5
    skip "systemd-analyze security --offline=true could not run here"
  fi
else
  skip "systemd-analyze is not installed (apt-get install systemd):" \
    "the unit file was not verified"
fi

# ---- examples ------------------------------------------------------------

echo "== package examples"
cp /usr/share/doc/blwatch/examples/hosting.list /etc/blwatch/targets.d/ &&
  placed_list=1
for ex in /usr/share/doc/blwatch/examples/*.conf; do
  # quickstart.conf's database is relative: check it from an empty folder.
  if (cd "$tmp" && /usr/bin/blwatch -c "$ex" config-check \
    >/dev/null 2>"$tmp/ex.err"); then
    pass "config-check $(basename "$ex")"
  else
    sed 's/^/   /' "$tmp/ex.err"
    fail "config-check $(basename "$ex")"
  fi
done
/usr/bin/blwatch -c /usr/share/doc/blwatch/examples/hosting.conf \
  config-check >/dev/null 2>"$tmp/ex.err"
check "hosting.conf reads hosting.list (11 targets)" \
  grep -q "(11 targets" "$tmp/ex.err"
rm -f /etc/blwatch/targets.d/hosting.list
placed_list=0

# ---- the installed poller, as the service user ---------------------------

echo "== package poller"
# The shipped config has been checked; now a config that keeps the
# poller away from real blocklists: a dead resolver on 127.0.0.1.  Written
# into the conffile, so its owner and mode stay, and "remove" below keeps
# a modified conffile as it should.
cat >"$conf" <<'EOF'
; written by tests/package/test_package.sh
[poller]
database = /var/lib/blwatch/blwatch.db
confirm  = 0
[resolver]
servers  = 127.0.0.1:9
timeout  = 0.2s
tries    = 1
[targets]
ip       = 192.0.2.1 package-test
EOF
check "the service user can read $conf (config-check as blwatch)" \
  setpriv --reuid=blwatch --regid=blwatch --init-groups \
  /usr/bin/blwatch -c "$conf" config-check >/dev/null 2>&1
if python3 "$here/notify_check.py" --user blwatch -- \
  /usr/bin/blwatch -c "$conf" run; then
  pass "blwatch run speaks the Type=notify protocol"
else
  fail "blwatch run speaks the Type=notify protocol"
fi
perm=$(stat -c '%U:%G' "$state/blwatch.db" 2>/dev/null)
check "the poller created $state/blwatch.db as blwatch (got '$perm')" \
  test "$perm" = "blwatch:blwatch"
/usr/bin/blwatch -c "$conf" status >/dev/null 2>&1
rc=$?
check "blwatch status reads the database (exit $rc: 0 or 2)" \
  test "$rc" = 0 -o "$rc" = 2

if [ -d /run/systemd/system ] && [ "$masked" = 1 ]; then
  systemctl unmask --runtime blwatch.service >/dev/null 2>&1
  masked=0
  systemctl daemon-reload
  check "systemctl start blwatch (in its sandbox)" \
    systemctl start blwatch.service
  check "blwatch.service is active" systemctl is-active --quiet blwatch.service
  check "systemctl reload blwatch" systemctl reload blwatch.service
  check "blwatch.service is active after the reload" \
    systemctl is-active --quiet blwatch.service
  systemctl status --no-pager blwatch.service 2>&1 | sed -n 's/^ *Status: /   Status: /p'
  check "systemctl stop blwatch" systemctl stop blwatch.service
  if [ "$failures" -gt 0 ]; then
    journalctl -u blwatch.service --no-pager -n 30 2>/dev/null | sed 's/^/   /'
  fi
else
  skip "systemd is not running here (no /run/systemd/system): the unit" \
    "was verified, not started"
fi

# ---- remove: the database, the config and the user stay ------------------

echo "== package remove"
if dpkg -r blwatch >"$tmp/dpkg.log" 2>&1; then
  pass "dpkg -r blwatch"
else
  cat "$tmp/dpkg.log"
  fail "dpkg -r blwatch"
fi
check "the package is in state rc (got '$(pkg_status)')" test "$(pkg_status)" = rc
check "/usr/bin/blwatch is gone" test ! -e /usr/bin/blwatch
check "$state/blwatch.db stays" test -f "$state/blwatch.db"
check "$conf stays" test -f "$conf"
check "user blwatch stays" sh -c 'getent passwd blwatch >/dev/null'

# ---- purge: everything goes ----------------------------------------------

echo "== package purge"
if dpkg -P blwatch >"$tmp/dpkg.log" 2>&1; then
  pass "dpkg -P blwatch"
else
  cat "$tmp/dpkg.log"
  fail "dpkg -P blwatch"
fi
check "the package is gone from dpkg (got '$(pkg_status)')" \
  sh -c "[ -z '$(pkg_status)' ] || [ '$(pkg_status)' = un ]"
check "$state is gone" test ! -e "$state"
check "$conf is gone" test ! -e "$conf"
check "/etc/blwatch is gone" test ! -e /etc/blwatch
check "user blwatch is gone" sh -c '! getent passwd blwatch >/dev/null'
check "group blwatch is gone" sh -c '! getent group blwatch >/dev/null'
check "no blwatch unit links are left in /etc/systemd/system" \
  sh -c '! find /etc/systemd/system -name "blwatch*" | grep -q .'

finish
