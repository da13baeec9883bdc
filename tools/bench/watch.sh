#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What `leakwatch --watch` costs while nothing is traced, in one run on
# this machine:
#
#   idle CPU     the daemon's own CPU time (utime+stime from /proc) over
#                BENCH_WATCH_SECONDS (default 60) of watching, with 300 idle
#                processes started for it (sleep), in percent of one core.
#                The target: at most 1%.
#   getppid      syscallbench's getppid loop, a process the daemon watches
#                but does not trace, with the daemon up and with no daemon
#                at all; BENCH_REPS runs of each (default 5), interleaved,
#                medians and their ratios, by wall time and by the loop's
#                CPU time (which the machine's other load spreads less).
#                The target: at most 1.05.
#
# The daemon runs with --no-trace: nothing may be traced, whatever grows on
# this machine meanwhile.  Run by `make bench` (root).  Environment:
# BENCH_OUT and LEAKWATCH (set by the Makefile), BENCH_REPS, BENCH_SCALE,
# BENCH_WATCH_SECONDS.  Writes $BENCH_OUT/watch.md (and prints it).
set -euo pipefail

ME=watch
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
trap 'echo "watch: error: line $LINENO: exit status $?" >&2' ERR

OUT=${BENCH_OUT:?set by tools/bench/Makefile}
LW=${LEAKWATCH:?set by tools/bench/Makefile}
SB=$OUT/syscallbench
REPS=${BENCH_REPS:-5}
SCALE=${BENCH_SCALE:-1}
IDLE_S=${BENCH_WATCH_SECONDS:-60}
RESULTS=$OUT/watch.md
LOG=$OUT/watch-daemon.log
IDLE_PIDS=()
DAEMON=

[ "$(id -u)" = 0 ] || die "needs root: --watch reads every process's memory"
[ -x "$SB" ] && [ -x "$LW" ] || die "$SB or $LW missing"

cleanup() {
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
	for p in "${IDLE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

start_daemon() {
	"$LW" --watch --no-trace 2>"$LOG" &
	DAEMON=$!
	for _ in $(seq 100); do
		grep -q ready "$LOG" && return
		kill -0 "$DAEMON" 2>/dev/null || die "leakwatch --watch exited: $(cat "$LOG")"
		sleep 0.1
	done
	die "leakwatch --watch printed no ready line: $(cat "$LOG")"
}
stop_daemon() {
	kill -TERM "$DAEMON"
	wait "$DAEMON" || die "leakwatch --watch exited with $? on SIGTERM: $(cat "$LOG")"
	DAEMON=
}
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

for _ in $(seq 300); do
	sleep 1000000 &
	IDLE_PIDS+=($!)
done
procs=$(ls /proc | grep -c '^[0-9]')

# idle CPU
start_daemon
sleep 5	# its first rounds done
c0=$(cpu_ticks "$DAEMON")
t0=$(date +%s.%N)
sleep "$IDLE_S"
c1=$(cpu_ticks "$DAEMON")
t1=$(date +%s.%N)
stop_daemon
hz=$(getconf CLK_TCK)
idle_pct=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
	'BEGIN { printf "%.3f", c / hz / (t1 - t0) * 100 }')
note "idle: $((c1 - c0)) ticks in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s: $idle_pct% of one core, $procs processes"

# getppid, daemon up against no daemon, interleaved
# "syscallbench: mode=getppid n=N ns_per_op=X cpu_ns_per_op=Y": X, Y
field() {
	tr ' ' '\n' | grep "^$1=" | cut -d= -f2
}
n=$(scaled 5000000)
off=() on=() coff=() con=()
for _ in $(seq "$REPS"); do
	line=$("$SB" -m getppid -n "$n")
	off+=("$(echo "$line" | field ns_per_op)")
	coff+=("$(echo "$line" | field cpu_ns_per_op)")
	start_daemon
	line=$("$SB" -m getppid -n "$n")
	on+=("$(echo "$line" | field ns_per_op)")
	con+=("$(echo "$line" | field cpu_ns_per_op)")
	stop_daemon
done
m_off=$(echo "${off[*]}" | median)
m_on=$(echo "${on[*]}" | median)
c_off=$(echo "${coff[*]}" | median)
c_on=$(echo "${con[*]}" | median)
ratio=$(awk -v a="$m_on" -v b="$m_off" 'BEGIN { printf "%.3f", a / b }')
cratio=$(awk -v a="$c_on" -v b="$c_off" 'BEGIN { printf "%.3f", a / b }')

{
	echo "| --watch, nothing traced | measured | target |"
	echo "|---|---:|---:|"
	echo "| daemon CPU, $procs processes (300 idle added), ${IDLE_S} s | ${idle_pct}% of one core | ≤ 1% |"
	echo "| getppid, no daemon (ns/call wall / CPU, medians of $REPS) | $m_off / $c_off | |"
	echo "| getppid, daemon up (ns/call wall / CPU, medians of $REPS) | $m_on / $c_on | |"
	echo "| getppid ratio, wall / CPU | ${ratio}× / ${cratio}× | ≤ 1.05× |"
	echo
	echo "runs (wall ns/call), no daemon: ${off[*]}; daemon up: ${on[*]}"
	echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$RESULTS"
