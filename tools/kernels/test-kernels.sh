#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test-kernels.sh - run leakwatch's integration tests inside other kernels.
#
# Usage: tools/kernels/test-kernels.sh [options]
#
#   Boots each kernel under qemu (tools/kernels/run-in-kernel.sh: software
#   emulation, the host's root filesystem read-only, the source tree
#   read-write), runs $LW_BUILD_DIR/tests/integration-tests there with
#   CI=true, and prints one summary line per kernel.  Exits 1 if any test
#   failed or any kernel did not finish, 2 on a usage/setup error.
#
#   The default kernels are Debian's newest linux-image-6.1.0-*-amd64
#   (bookworm) and linux-image-6.12.*+deb12-amd64 (bookworm's 6.12, the
#   backports kernel): both have kprobes and fentry but no uprobe sessions
#   (6.13+), so leakwatch takes its perf-event uprobe path there.  The .debs
#   are fetched with `apt-get download` into the cache (once).
#
# Options (and their environment variables):
#   -b DIR      build directory holding leakwatch, tests/ and fixtures
#               (LW_BUILD_DIR, default ./build; made absolute)
#   -k KERNEL   a kernel: a series (6.1, 6.12 -> newest Debian -amd64
#               package of that series), a linux-image-* package name or a
#               .deb; repeatable (LW_KERNELS, space separated; default "6.1 6.12")
#   -f FILTER   Criterion --filter pattern (LW_KERNEL_FILTER; default: see
#               DEFAULT_FILTER below; "all" runs every test)
#   -t SECONDS  per-kernel time limit (LW_KERNEL_TIMEOUT, default 2400)
#   -j N        kernels booted at once, 1 vCPU each (LW_KERNEL_JOBS, default 2)
#   -m MEM      guest memory (LW_KERNEL_MEM, default 2G; the OOM tests use a
#               64 MiB memory cgroup inside it)
#   LW_EXPECT_MAP_HOOKS  mapping hooks each kernel must take (default "fentry
#               kprobe tracepoint", as Debian's kernels do)
#   -c DIR      cache for .debs and extracted kernels (LW_KERNEL_CACHE,
#               default $LW_BUILD_DIR/kernels).  .debs already present in
#               ${TMPDIR:-/tmp}/kmatrix-cache/debs are reused, not downloaded.
#   -h          help
#
# Logs: <cache>/logs/<kernel>.log (test output) and .console (guest console).
#
# Requires: qemu-system-x86, busybox-static, dpkg-deb, apt-get.

set -u
ME=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd -P)
SRC=$(cd "$HERE/../.." && pwd -P)
RUNNER=$HERE/run-in-kernel.sh

# The whole suite takes about 4.5 min per kernel under TCG (two kernels at
# once on a 2-core machine): every test runs; those that depend on a kernel
# feature look for it in the guest's BTF.  But the suite "page", which loads
# a page of -f html into Chromium and asks nothing of the kernel, does not:
# Chromium under software emulation took over 3 minutes to start and load it.
DEFAULT_FILTER='!(page/*)'

BUILD=${LW_BUILD_DIR:-build}
KERNELS=${LW_KERNELS:-}
FILTER=${LW_KERNEL_FILTER:-$DEFAULT_FILTER}
TIMEOUT=${LW_KERNEL_TIMEOUT:-2400}
JOBS=${LW_KERNEL_JOBS:-2}
MEM=${LW_KERNEL_MEM:-2G}
CACHE=${LW_KERNEL_CACHE:-}
# The mapping hooks every kernel booted must have (tests/integration/
# test_mappings.c): Debian's -amd64 kernels have all three.
MAP_HOOKS=${LW_EXPECT_MAP_HOOKS-fentry kprobe tracepoint}
SEED=${TMPDIR:-/tmp}/kmatrix-cache/debs

die() { echo "$ME: $*" >&2; exit 2; }
usage() { sed -n '/^# test-kernels.sh - /,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

K_OPT=
while getopts "b:k:f:t:j:m:c:h" o; do
	case $o in
	b) BUILD=$OPTARG ;;
	k) K_OPT="$K_OPT $OPTARG" ;;
	f) FILTER=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	m) MEM=$OPTARG ;;
	c) CACHE=$OPTARG ;;
	h) usage 0 ;;
	*) usage 2 >&2 ;;
	esac
done
[ -n "$K_OPT" ] && KERNELS=$K_OPT
KERNELS=${KERNELS:-6.1 6.12}
[ "$FILTER" = all ] && FILTER=

cd "$SRC" || die "cannot cd to $SRC"
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd -P) || die "bad build dir"
CACHE=${CACHE:-$BUILD/kernels}
mkdir -p "$CACHE/debs" "$CACHE/logs" || die "cannot create $CACHE"
CACHE=$(cd "$CACHE" && pwd -P)
TESTS=$BUILD/tests/integration-tests
[ -x "$TESTS" ] || die "$TESTS missing: build it first (make test-kernels does)"
[ -x "$BUILD/leakwatch" ] || die "$BUILD/leakwatch missing"
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found: apt-get install --no-install-recommends qemu-system-x86 busybox-static"

# ------------------------------------------------------- resolve kernels ---
# series -> newest linux-image-<series>...-amd64 known to apt (not cloud/rt),
# else the newest such .deb already cached.
newest_pkg() {
	local s=${1//./\\.} re
	re="^linux-image-${s}[.-][0-9][0-9a-z.+~-]*-amd64\$"
	{
		apt-cache pkgnames "linux-image-$1" 2>/dev/null
		for d in "$CACHE/debs" "$SEED"; do
			ls "$d" 2>/dev/null | sed -n 's/^\(linux-image-[^_]*\)_.*\.deb$/\1/p'
		done
	} | grep -E "$re" | grep -v -E -- '-(cloud|rt)-amd64$' | sort -V | tail -n 1
}

fetch_deb() {	# package name -> path of its .deb in the cache
	local pkg=$1 deb
	deb=$(ls "$CACHE/debs/${pkg}"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		deb=$(ls "$SEED/${pkg}"_*.deb 2>/dev/null | head -n 1)
		if [ -n "$deb" ]; then
			ln "$deb" "$CACHE/debs/" 2>/dev/null || cp "$deb" "$CACHE/debs/" || return 1
			echo "$ME: reusing $deb" >&2
		else
			echo "$ME: apt-get download $pkg" >&2
			(cd "$CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >&2) || return 1
		fi
		deb=$(ls "$CACHE/debs/${pkg}"_*.deb 2>/dev/null | head -n 1)
	fi
	[ -n "$deb" ] && echo "$deb"
}

DEBS=()
for k in $KERNELS; do
	case $k in
	*.deb) [ -f "$k" ] || die "$k: no such file"; DEBS+=("$(readlink -f "$k")"); continue ;;
	linux-image-*) pkg=$k ;;
	[0-9]*) pkg=$(newest_pkg "$k"); [ -n "$pkg" ] || die "no linux-image-$k*-amd64 package known to apt (apt-get update?)" ;;
	*) die "$k: not a series (6.1), a linux-image-* package or a .deb" ;;
	esac
	deb=$(fetch_deb "$pkg") || die "cannot get $pkg"
	DEBS+=("$deb")
done

# --------------------------------------------------------------- run them ---
echo "$ME: ${#DEBS[@]} kernel(s), tests: ${FILTER:-all} (Criterion --filter), ${JOBS} at once, limit ${TIMEOUT}s each"

run_one() {	# $1 deb -> writes logs/<name>.{log,console,status}
	local deb=$1 name start rc
	name=$(basename "$deb" .deb); name=${name%%_*}; name=${name#linux-image-}
	start=$(date +%s)
	KMX_CACHE=$CACHE/kmx "$RUNNER" -m "$MEM" -t "$TIMEOUT" -k "$CACHE/logs/$name.console" "$deb" -- \
		env LW_BUILD_DIR="$BUILD" CI=true TERM=dumb LW_EXPECT_MAP_HOOKS="$MAP_HOOKS" \
		bash -c 'echo "KERNEL $(uname -r)"; exec "$@"' lw-guest \
		"$TESTS" --jobs 1 --verbose ${FILTER:+"--filter=$FILTER"} 2>&1 |
		sed -u 's/\x1b\[[0-9;]*m//g' > "$CACHE/logs/$name.log"
	rc=${PIPESTATUS[0]}
	echo "$rc $(( $(date +%s) - start ))" > "$CACHE/logs/$name.status"
}

PIDS=()
for deb in "${DEBS[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
	run_one "$deb" &
	PIDS+=($!)
done
wait

# ---------------------------------------------------------------- summary ---
bad=0
echo
printf '%-26s %6s %6s %6s %6s %7s  %s\n' kernel tested passed failed crashed seconds result
for deb in "${DEBS[@]}"; do
	name=$(basename "$deb" .deb); name=${name%%_*}; name=${name#linux-image-}
	log=$CACHE/logs/$name.log
	read -r rc secs < "$CACHE/logs/$name.status" 2>/dev/null || { rc=125; secs="?"; }
	kver=$(sed -n 's/^KERNEL //p' "$log" | head -n 1)
	syn=$(grep -a 'Synthesis: Tested:' "$log" | tail -n 1)
	num() { sed -n "s/.*$1: \([0-9]*\).*/\1/p" <<<"$syn"; }
	tested=$(num Tested); passed=$(num Passing); failed=$(num Failing); crashed=$(num Crashing)
	result=ok
	if [ -z "$syn" ]; then
		result="no result (exit $rc$( [ "$rc" = 124 ] && echo ', timeout'))"
	elif [ "$rc" != 0 ] || [ "${failed:-0}" != 0 ] || [ "${crashed:-0}" != 0 ]; then
		result=FAILED
	fi
	[ "$result" = ok ] || bad=1
	printf '%-26s %6s %6s %6s %6s %7s  %s\n' "${kver:-$name}" "${tested:--}" "${passed:--}" \
		"${failed:--}" "${crashed:--}" "$secs" "$result"
	grep -a -E '^\[FAIL\]' "$log" | sed 's/^\[FAIL\]/      failed:/'
done
echo "tests: ${FILTER:-all}; logs: $CACHE/logs/"
exit $bad
