#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The time from a trace request to its report, in one run on this machine:
#
#   --watch      POST /api/v1/processes/PID/trace?seconds=N to a running
#                `leakwatch --watch`, then GET /api/v1/processes/PID/report
#                every 10 ms until it answers with a report whose stacks are
#                symbolized (the leaker's leak_slowly in them): that time,
#                less the N seconds of tracing.  The daemon's BPF programs
#                are loaded already; the trace is a target of its session.
#   -p           the same trace as a process of its own, as --watch once
#                ran it: `leakwatch -p PID -s 65536 -d N -f json --no-follow`,
#                its wall time less N (it loads and verifies every BPF
#                program, allocates its maps, attaches, traces, symbolizes).
#
# BENCH_REPS runs of each (default 5), interleaved, medians, and the ratio.
# The traced process is the leaker fixture built as distributions build
# it (leaker-dist, 1 MiB/s).  Run by `make bench` (root).  Environment:
# BENCH_OUT, LEAKWATCH and FIXTURES (set by the Makefile), BENCH_REPS,
# BENCH_TRACE_SECONDS (N, default 2).  Writes $BENCH_OUT/tracelat.md (and
# prints it).
set -euo pipefail

ME=tracelat
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
trap 'echo "tracelat: error: line $LINENO: exit status $?" >&2' ERR

OUT=${BENCH_OUT:?set by tools/bench/Makefile}
LW=${LEAKWATCH:?set by tools/bench/Makefile}
FIX=${FIXTURES:?set by tools/bench/Makefile}
REPS=${BENCH_REPS:-5}
N=${BENCH_TRACE_SECONDS:-2}
RESULTS=$OUT/tracelat.md
LOG=$OUT/tracelat-daemon.log
DAEMON= LEAKER=

[ "$(id -u)" = 0 ] || die "needs root: leakwatch loads BPF programs"
[ -x "$LW" ] && [ -x "$FIX/leaker-dist" ] || die "$LW or $FIX/leaker-dist missing"
command -v curl >/dev/null || die "curl missing (tools/install-deps.sh installs it)"

cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
	[ -n "$LEAKER" ] && kill "$LEAKER" 2>/dev/null
	wait 2>/dev/null || true
}
trap cleanup EXIT

now() {
	date +%s.%N
}

"$FIX/leaker-dist" >/dev/null 2>&1 &
LEAKER=$!
sleep 1	# its allocator loaded, before the daemon's first sample

# a daemon that traces nothing by itself, with room in its budget
"$LW" --watch --no-trace --cpu-budget 100 --listen 127.0.0.1:0 2>"$LOG" &
DAEMON=$!
for _ in $(seq 300); do
	grep -q 'ready: watching' "$LOG" && break
	kill -0 "$DAEMON" 2>/dev/null || die "leakwatch --watch exited: $(cat "$LOG")"
	sleep 0.1
done
grep -q 'ready: watching' "$LOG" || die "leakwatch --watch printed no ready line: $(cat "$LOG")"
: >"$OUT/tracelat-prev.json"
URL=$(grep -o 'serving http://[0-9.:]*' "$LOG" | sed 's/serving //')
[ -n "$URL" ] || die "no serving line: $(cat "$LOG")"

# one request: the report's latency less N, in ms.  Its report is the
# first one GET answers that is not the previous round's.
watch_once() {
	local t0 t1 code
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
		"$URL/api/v1/processes/$LEAKER/trace?seconds=$N")
	t0=$(now)
	[ "$code" = 202 ] || die "POST trace: HTTP $code: $(tail -3 "$LOG")"
	for _ in $(seq $((N * 100 + 3000))); do
		if curl -sf "$URL/api/v1/processes/$LEAKER/report" -o "$OUT/tracelat.json" &&
		   ! cmp -s "$OUT/tracelat.json" "$OUT/tracelat-prev.json" &&
		   grep -q leak_slowly "$OUT/tracelat.json"; then
			t1=$(now)
			cp "$OUT/tracelat.json" "$OUT/tracelat-prev.json"
			awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.0f", (b - a - n) * 1000 }'
			return
		fi
		sleep 0.01
	done
	die "no report of PID $LEAKER: $(tail -3 "$LOG")"
}

# the old design: a leakwatch of its own per trace
child_once() {
	local t0 t1
	t0=$(now)
	"$LW" -p "$LEAKER" -s 65536 -d "$N" -f json --no-follow -o "$OUT/tracelat-p.json" \
		2>>"$OUT/tracelat-p.log"
	t1=$(now)
	grep -q leak_slowly "$OUT/tracelat-p.json" || die "-p: no leak_slowly in its report"
	awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { printf "%.0f", (b - a - n) * 1000 }'
}

w=() p=()
for i in $(seq "$REPS"); do
	w+=("$(watch_once)")
	p+=("$(child_once)")
	note "round $i: --watch ${w[-1]} ms, -p ${p[-1]} ms beyond ${N} s"
done
m_w=$(echo "${w[*]}" | median)
m_p=$(echo "${p[*]}" | median)
ratio=$(awk -v a="$m_p" -v b="$m_w" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')

{
	echo "| trace request → report with symbolized stacks, beyond the ${N} s traced | ms (median of $REPS) |"
	echo "|---|---:|"
	echo "| --watch: POST .../trace, GET .../report (a target of the daemon's session) | $m_w |"
	echo "| a leakwatch of its own: leakwatch -p PID -d $N (the design before) | $m_p |"
	echo "| ratio | ${ratio}× |"
	echo
	echo "runs (ms), --watch: ${w[*]}; -p: ${p[*]}"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS"
