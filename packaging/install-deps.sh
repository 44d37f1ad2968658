#!/bin/sh
# Installs every Debian 12 package blwatch needs to build, test and
# benchmark, and to build and test its Debian package (dpkg-dev for
# dpkg-shlibdeps, file for CPack, man-db, systemd for systemd-analyze;
# clang and its sanitizer/libFuzzer runtimes for the fuzz stage;
# libmicrohttpd for the HTTP endpoint, promtool (package prometheus) and
# chromium for its integration test; python3-dnslib for the identity
# tests' DNS server).
# Runs as root; started by another user, it asks sudo (a fresh Debian
# installed with a root password has no sudo: run it as root there).
set -eu

PACKAGES="
  build-essential cmake pkg-config
  libc-ares-dev libuv1-dev libsqlite3-dev libcurl4-openssl-dev
  libssl-dev libcmocka-dev
  python3-aiosmtpd python3-dnslib openssl
  rbldnsd dnsperf dnsutils time
  dpkg-dev file adduser man-db systemd
  clang libclang-rt-14-dev valgrind
  libmicrohttpd-dev prometheus chromium
"

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo sh "$0" "$@"
  fi
  echo "install-deps.sh: run as root (there is no sudo here)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
# Debian starts rbldnsd as a service on install; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now rbldnsd >/dev/null 2>&1 || true
  # Only promtool is needed from the prometheus package, not its server.
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
