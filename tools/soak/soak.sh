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
build=$1
secs=${SOAK_SECONDS:-1800}
max_rss=${SOAK_MAX_RSS_KIB_MIN:-256}
dir=$(mktemp -d /tmp/leakwatch-soak.XXXXXX)
trap 'rm -rf "$dir"' EXIT

"$build/leakwatch" -i 1 -f json -o "$dir/final.json" -- \
	"$(dirname "$0")/workload.sh" "$build/tests/fixtures" "$secs" \
	>/dev/null 2>"$dir/stderr" &
lw=$!
start=$(date +%s)
while kill -0 "$lw" 2>/dev/null; do
	t=$(($(date +%s) - start))
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$lw/status" 2>/dev/null)
	fds=$(ls "/proc/$lw/fd" 2>/dev/null | wc -l)
	[ -n "$rss" ] && echo "$t $rss $fds" >>"$dir/samples"
	sleep 1
done
wait "$lw"
code=$?

# slope of column COL against time, per minute, past the first tenth
slope() {
	awk -v col="$1" -v skip="$((secs / 10))" '
		$1 >= skip { n++; x = $1 / 60; y = $col; sx += x; sy += y; sxx += x * x; sxy += x * y }
		END { d = n * sxx - sx * sx; printf "%.1f", (d > 0 ? (n * sxy - sx * sy) / d : 0) }' \
		"$dir/samples"
}
first() { awk -v col="$1" -v skip="$((secs / 10))" '$1 >= skip { print $col; exit }' "$dir/samples"; }
last() { tail -1 "$dir/samples" | awk -v col="$1" '{ print $col }'; }

rss_slope=$(slope 2)
fd_slope=$(slope 3)
lost=$(grep -o '"lost_events": [0-9]*' "$dir/final.json" | grep -o '[0-9]*$')
drops=$(awk '/"drops": {/ { on = 1; next } on && /}/ { on = 0 } on' "$dir/final.json" |
	grep -v ': 0,\?$' | tr -d ' ,\n')
procs=$(grep -c '"pid":' "$dir/final.json")
touch "$dir/samples"
echo "soak: ${secs} s, leakwatch exit $code, $(wc -l <"$dir/samples") samples, $procs processes traced"
echo "soak: RSS $(first 2) -> $(last 2) KiB, slope $rss_slope KiB/min (limit $max_rss)"
echo "soak: open fds $(first 3) -> $(last 3), slope $fd_slope /min"
echo "soak: lost events ${lost:-?}; non-zero drops: ${drops:-none}"
fail=""
[ -s "$dir/samples" ] || fail="$fail no-samples"
[ "$code" = 0 ] || fail="$fail exit=$code"
awk -v s="$rss_slope" -v m="$max_rss" 'BEGIN { exit !(s > m) }' && fail="$fail rss"
awk -v s="$fd_slope" 'BEGIN { exit !(s > 0.5) }' && fail="$fail fds"
[ "${lost:-1}" = 0 ] || fail="$fail lost-events"
if [ -n "$fail" ]; then
	echo "soak: FAILED:$fail" >&2
	tail -5 "$dir/stderr" >&2
	exit 1
fi
echo "soak: passed"
