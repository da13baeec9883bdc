#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make soak-watch: leakwatch --watch for SOAK_SECONDS (default 1800) on a
# machine where processes start, exit, fork, exec and leak: workload.sh's
# churning, forking, exec'ing and dlopen'ing processes, a leaker (1 MiB/s)
# restarted every 3 minutes under a new pid, so that it is found and traced
# again and again, and a sawtooth, a warm-up plateau, a filling cache and
# a steady process that run all along.  The detector is the default one;
# traces last 5 s (more of them in the time).  Samples the daemon's RSS and
# open fds every second and prints their slopes (least squares past the
# first tenth, per minute), the traces by outcome, and the suspects.
# Fails when the RSS grows faster than SOAK_MAX_RSS_KIB_MIN (default 256
# KiB a minute), the fds grow at all, a memshape process is ever a suspect,
# no leaker is traced to completion, a process is left stopped, or the
# daemon does not exit 0 on SIGTERM.
# Usage: soak-watch.sh BUILD_DIR  (root)
set -u
. "$(dirname "$0")/lib.sh"
build=$1
secs=${SOAK_SECONDS:-1800}
max_rss=${SOAK_MAX_RSS_KIB_MIN:-256}
fx=$build/tests/fixtures
dir=$(mktemp -d /tmp/leakwatch-soak.XXXXXX)
pids=""
# the leaker of the moment is a grandchild: its pid is in $dir/leaker
trap 'kill $pids $(cat "$dir/leaker" 2>/dev/null) 2>/dev/null; rm -rf "$dir"' EXIT

"$(dirname "$0")/workload.sh" "$fx" "$secs" >/dev/null 2>&1 &
pids="$pids $!"
for shape in sawtooth plateau cache steady; do
	"$fx/memshape" $shape &
	pids="$pids $!"
	echo $! >>"$dir/shapes"
done
(
	end=$(($(date +%s) + secs))
	while [ "$(date +%s)" -lt "$end" ]; do
		"$fx/leaker" &
		l=$!
		echo $l >"$dir/leaker"
		sleep 180
		kill $l
		wait $l 2>/dev/null
	done
) &
pids="$pids $!"

"$build/leakwatch" --watch --trace-seconds 5 --report-dir "$dir" 2>"$dir/stderr" &
lw=$!
soak_sample "$lw" "$secs" "$dir/samples"
kill -TERM "$lw"
wait "$lw"
code=$?

false_suspects=0
for p in $(cat "$dir/shapes"); do
	grep -q "suspect: PID $p " "$dir/stderr" && false_suspects=$((false_suspects + 1))
done
leakers=$(grep -c 'suspect: PID [0-9]* (leaker)' "$dir/stderr")
# this soak's fixtures only (by their path): other leakwatch runs on the
# machine hold their own processes for a moment
stopped=$(ps -eo stat=,args= | awk -v fx="$fx/" '$1 ~ /^T/ && index($2, fx) == 1' | wc -l)
echo "soak-watch: ${secs} s, leakwatch --watch exit $code, $(wc -l <"$dir/samples") samples"
soak_judge soak-watch "$dir/samples" "$((secs / 10))" "$max_rss"
echo "soak-watch: leaker suspects $leakers; traces completed $(grep -c ') completed after' "$dir/stderr"), budget $(grep -c ') budget after\|over the CPU budget' "$dir/stderr"), exited $(grep -c ') exited after' "$dir/stderr"), failed $(grep -c 'failed:' "$dir/stderr")"
echo "soak-watch: memshape processes ever a suspect: $false_suspects of 4; processes stopped: $stopped"
fail=$soak_fail
[ "$code" = 0 ] || fail="$fail exit=$code"
[ "$false_suspects" = 0 ] || fail="$fail false-suspects"
grep -q '(leaker) completed after' "$dir/stderr" || fail="$fail no-trace"
[ "$stopped" = 0 ] || fail="$fail stopped"
if [ -n "$fail" ]; then
	echo "soak-watch: FAILED:$fail" >&2
	tail -20 "$dir/stderr" >&2
	exit 1
fi
echo "soak-watch: passed"
