#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install what leakwatch needs to build and test, from Debian 12's packages.
# Does nothing when everything is already there.
set -eu

# golang-go and default-jdk-headless build the Go and Java fixtures; libc6-dbg
# names glibc's own functions (thread-exit cache frees, stacks inside libc).
# The symbol tests strip fixtures (binutils), make MiniDebugInfo (xz-utils)
# and serve debug files from a debuginfod server on loopback (debuginfod;
# iproute2 brings lo up in a test kernel); libdw loads libdebuginfod1 when
# DEBUGINFOD_URLS is set.
# qemu-system-x86 and busybox-static boot Debian's 6.1 and 6.12 kernels for
# the kernel matrix (tools/kernels/); their .debs are fetched when it runs.
# libclang-rt-14-dev: clang's libFuzzer and sanitizer runtimes (make fuzz).
# The report formats: protobuf-c writes pprof profiles, golang-go's
# `go tool pprof` reads them back in the tests, chromium loads the -f html
# page in the tests; node and npm install the page's libraries at build time.
# tcl8.6, python3, perl, sqlite3 and xz-utils are the stock programs whose
# stacks the unwinding tests walk (tests/integration/test_unwind.c).
# runc runs the containers of the containers suite (no registry needed).
# prometheus brings promtool, which checks and tests the alert rules and
# the dashboard's queries (tools/k8s/check-queries.py, with python3-yaml).
# podman and debootstrap build the image of tools/k8s/Dockerfile from a
# local bookworm base (make test-image, which CI runs).
# libmicrohttpd-dev: the HTTP server of --watch; prometheus scrapes it in the
# tests.  curl: make bench's requests to that server (tools/bench/tracelat.sh).
PKGS="make gcc g++ clang libclang-rt-14-dev llvm pkg-config bpftool libbpf-dev libelf-dev libdw-dev valgrind
zlib1g-dev libjson-c-dev libcapstone-dev libcriterion-dev
libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev musl-tools
golang-go default-jdk-headless libc6-dbg
binutils xz-utils debuginfod libdebuginfod1 iproute2
tcl8.6 tcl python3 python3-yaml perl sqlite3
qemu-system-x86 busybox-static runc prometheus podman debootstrap
libprotobuf-c-dev protobuf-c-compiler chromium
libmicrohttpd-dev curl"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# node and npm from Debian unless a node of another origin (NodeSource
# ships npm inside its nodejs package) is already there
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "leakwatch: missing packages:$missing" >&2
	echo "leakwatch: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "leakwatch: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
