#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# make soak: leakwatch -i 1 for SOAK_SECONDS (default 1800) against the
# churning, forking, exec'ing and dlopen'ing workload.sh.  Samples
# leakwatch's RSS and open fds every second, then prints their slopes
# (least squares over the run after its first tenth, per minute) and the
# events lost; fails when the RSS grows faster than SOAK_MAX_RSS_KIB_MIN
# (default 256 KiB a minute), the fds grow at all, or an event was lost.
# Usage: soak.sh BUILD_DIR  (root)
set -u
. "$(dirname "$0")/lib.sh"
build=$1
secs=${SOAK_SECONDS:-1800}
max_rss=${SOAK_MAX_RSS_KIB_MIN:-256}
dir=$(mktemp -d /tmp/leakwatch-soak.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$build/leakwatch" -i 1 -f json -o "$dir/final.json" -- \
	"$(dirname "$0")/workload.sh" "$build/tests/fixtures" "$secs" \
	>/dev/null 2>"$dir/stderr" &
lw=$!
soak_sample "$lw" "$((secs + 3600))" "$dir/samples"
wait "$lw"
code=$?

lost=$(grep -o '"lost_events": [0-9]*' "$dir/final.json" | grep -o '[0-9]*$')
drops=$(awk '/"drops": {/ { on = 1; next } on && /}/ { on = 0 } on' "$dir/final.json" |
	grep -v ': 0,\?$' | tr -d ' ,\n')
procs=$(grep -c '"pid":' "$dir/final.json")
echo "soak: ${secs} s, leakwatch exit $code, $(wc -l <"$dir/samples") samples, $procs processes traced"
soak_judge soak "$dir/samples" "$((secs / 10))" "$max_rss"
echo "soak: lost events ${lost:-?}; non-zero drops: ${drops:-none}"
fail=$soak_fail
[ "$code" = 0 ] || fail="$fail exit=$code"
[ "${lost:-1}" = 0 ] || fail="$fail lost-events"
if [ -n "$fail" ]; then
	echo "soak: FAILED:$fail" >&2
	tail -5 "$dir/stderr" >&2
	exit 1
fi
echo "soak: passed"
