#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What a malloc+free pair costs under leakwatch, in one run on this machine,
# next to what it costs untraced, under empty programs on leakwatch's own
# probe sites (the floor no tracer on these sites can go below), under that
# floor plus one stack capture (the least that attribution needs), under a
# bpftrace memleak peer, and under empty programs at function entry (where
# classic tools probe).  Every number comes from the workload itself, timed
# around its hot loop only; each is the median of BENCH_REPS runs, and the
# runs are interleaved so that a drift of the machine spreads over all
# columns.  Any failure stops the run with a non-zero status: no table is
# better than a table with a guessed cell.
#
# Run by `make bench` (root).  Environment: BENCH_OUT and LEAKWATCH (set by
# the Makefile); BENCH_REPS (default 3); BENCH_SCALE (default 1: multiplies
# every pair count; 0.1 for a quick trial).  Writes $BENCH_OUT/results.md,
# and every run's output under $BENCH_OUT/runs/.
set -euo pipefail

die() {
	echo "bench: error: $*" >&2
	exit 1
}
note() {
	echo "bench: $*" >&2
}

OUT=${BENCH_OUT:?set by tools/bench/Makefile}
LW=${LEAKWATCH:?set by tools/bench/Makefile}
HERE=$(cd "$(dirname "$0")" && pwd)
MB=$OUT/mallocbench
FLOOR=$OUT/floor
BT_SCRIPT=$HERE/memleak.bt
REPS=${BENCH_REPS:-3}
SCALE=${BENCH_SCALE:-1}
RUNS=$OUT/runs
RESULTS=$OUT/results.md
# bpftrace's maps hold 4096 keys unless told: two threads keep 200k blocks
BT_KEYS=524288

COLS=(untraced floor stack leakwatch bpftrace entry)
CONFIGS=("loop 1" "loop 2" "working-set 1" "working-set 2")
declare -A TITLE=([untraced]="untraced" [floor]="floor" [stack]="floor+stack"
	[leakwatch]="leakwatch" [bpftrace]="bpftrace" [entry]="entry-probe floor")

[ "$(id -u)" = 0 ] || die "needs root: it loads BPF programs and places uprobes"
for f in "$MB" "$FLOOR" "$LW"; do
	[ -x "$f" ] || die "$f is not built (run make bench from the top directory)"
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS=$REPS: want a positive integer"
awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }' || die "BENCH_SCALE=$SCALE: want a number > 0"
HAVE_BT=0
if command -v bpftrace >/dev/null; then
	HAVE_BT=1
else
	echo "bpftrace: not installed (apt-get install bpftrace)"
fi
rm -rf "$RUNS"
mkdir -p "$RUNS"

# kernel.bpf_stats_enabled is switched on only for the program-cost runs
# (it adds two clock reads to every program run); leave it as it was found.
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS" || true' EXIT

# Timed pairs per thread.  The fast columns cost ~1-5 us a pair here, the
# entry-probe floor and bpftrace pay a single-step for every free (~6 us
# here, ~16 us on some machines of this kind): each run's hot loop stays
# within about a second, and tracer start-up and tear-down (~1-4 s, mostly
# one RCU grace period per detached uprobe) dominate the total.
pairs() {
	local col=$1 mode=$2 n
	case $col in
	untraced) n=$([ "$mode" = loop ] && echo 2000000 || echo 500000) ;;
	floor | stack | leakwatch) n=100000 ;;
	bpftrace | entry) n=40000 ;;
	esac
	awk -v n="$n" -v s="$SCALE" 'BEGIN { n = int(n * s); print (n < 1000 ? 1000 : n) }'
}

# Seconds before a run counts as hung.
limit() {
	case $1 in
	untraced) echo 60 ;;
	floor | stack | leakwatch) echo 120 ;;
	*) echo 240 ;;
	esac
}

# The one number of the workload's output line.
ns_of() {
	local ns
	ns=$(sed -n 's/^mallocbench: .* ns_per_pair=\([0-9.]*\)$/\1/p' "$1")
	[ -n "$ns" ] && [ "$(wc -l <<<"$ns")" = 1 ] || return 1
	echo "$ns"
}

# A number at the top of leakwatch's JSON report, pretty-printed or not.
json_num() {
	tr -d '\n' <"$2" | grep -o "\"$1\": *[0-9]*" | sed -n 1p | grep -o '[0-9]*$'
}

# The sum of leakwatch's drop counters.
json_drops() {
	tr -d '\n' <"$1" | grep -o '"drops": *{[^}]*}' | grep -o ': *[0-9][0-9]*' |
		tr -d ': ' | awk '{ s += $1 } END { print s + 0 }'
}

# Run one tracer (or none) over one workload; the workload's ns/pair goes
# into VAL[col,mode,threads,rep].
declare -A VAL LOST DROPS
run_one() {
	local col=$1 mode=$2 threads=$3 rep=$4
	local tag="$col-$mode-$threads-$rep"
	local out=$RUNS/$tag.out err=$RUNS/$tag.err json=$RUNS/$tag.json
	local n t rc=0 ns lost drops
	n=$(pairs "$col" "$mode")
	t=$(limit "$col")
	local wl=("$MB" -m "$mode" -t "$threads" -n "$n")

	case $col in
	untraced)
		timeout -k 5 "$t" "${wl[@]}" >"$out" 2>"$err" || rc=$? ;;
	floor)
		timeout -k 5 "$t" "$FLOOR" -m empty -- "${wl[@]}" >"$out" 2>"$err" || rc=$? ;;
	stack)
		timeout -k 5 "$t" "$FLOOR" -m stack -- "${wl[@]}" >"$out" 2>"$err" || rc=$? ;;
	entry)
		timeout -k 5 "$t" "$FLOOR" -m entry -- "${wl[@]}" >"$out" 2>"$err" || rc=$? ;;
	leakwatch)
		timeout -k 5 "$t" "$LW" -f json -o "$json" -- "${wl[@]}" >"$out" 2>"$err" ||
			rc=$? ;;
	bpftrace)
		BPFTRACE_MAP_KEYS_MAX=$BT_KEYS timeout -k 5 "$t" \
			bpftrace -c "${wl[*]}" "$BT_SCRIPT" >"$out" 2>"$err" || rc=$? ;;
	esac
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		die "$tag: timed out after ${t}s (see $err)"
	fi
	[ "$rc" = 0 ] || die "$tag: exit status $rc: $(tail -n 3 "$err" | tr '\n' ' ')(see $err)"
	case $col in
	floor | stack | entry | leakwatch)
		grep -q ready "$err" || die "$tag: the tracer never said ready (see $err)" ;;
	bpftrace)
		grep -q '^Attaching' "$out" || die "$tag: bpftrace attached nothing (see $out)" ;;
	esac
	ns=$(ns_of "$out") || die "$tag: no ns_per_pair line from the workload (see $out)"
	if [ "$col" = leakwatch ]; then
		[ -s "$json" ] || die "$tag: leakwatch wrote no report (see $err)"
		lost=$(json_num lost_events "$json") ||
			die "$tag: no lost_events in $json"
		drops=$(json_drops "$json")
		[ "$lost" = 0 ] || die "$tag: leakwatch lost $lost events (report: $json)"
		LOST[$mode,$threads]=$((${LOST[$mode,$threads]:-0} + lost))
		DROPS[$mode,$threads]=$((${DROPS[$mode,$threads]:-0} + drops))
	fi
	VAL[$col,$mode,$threads,$rep]=$ns
	note "$(printf 'run %d/%d  %-11s %-7s %s thread(s)  %10s ns/pair' \
		"$rep" "$REPS" "$mode" "$col" "$threads" "$ns")"
}

median() {
	tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 }
		END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "SYMBOL PATH+OFFSET" for every probe site named in a -v log.
sites_of() {
	sed -n 's/.* \([a-z_]*\) at \(\/[^ ]*+0x[0-9a-f]*\) .*/\1 \2/p' "$1" | sort -u
}

# The floor is only a floor if it probes what leakwatch probes.
check_sites() {
	local f=$RUNS/sites-floor.err l=$RUNS/sites-leakwatch.err
	timeout -k 5 60 "$FLOOR" -v -m empty -- "$MB" -n 1000 >/dev/null 2>"$f" ||
		die "floor failed (see $f)"
	timeout -k 5 60 "$LW" -v -f json -o "$RUNS/sites-leakwatch.json" -- "$MB" -n 1000 \
		>/dev/null 2>"$l" || die "leakwatch failed (see $l)"
	sites_of "$f" >"$RUNS/sites-floor.txt"
	sites_of "$l" >"$RUNS/sites-leakwatch.txt"
	[ -s "$RUNS/sites-leakwatch.txt" ] ||
		die "cannot read leakwatch's probe sites from its -v output (see $l)"
	diff -u "$RUNS/sites-leakwatch.txt" "$RUNS/sites-floor.txt" >&2 ||
		die "the floor probes other sites than leakwatch (above: - leakwatch, + floor)"
	SITES=$(awk '{ sub(/.*\+/, "+", $2); printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' \
		"$RUNS/sites-floor.txt")
}

# BPF programs: "id name run_time_ns run_cnt" (the last two 0 when absent).
prog_stats() {
	bpftool prog show | awk '/^[0-9]+:/ {
		id = $1; sub(/:$/, "", id); name = ""; rt = 0; rc = 0
		for (i = 2; i < NF; i++) {
			if ($i == "name") name = $(i + 1)
			if ($i == "run_time_ns") rt = $(i + 1)
			if ($i == "run_cnt") rc = $(i + 1)
		}
		print id, name, rt, rc }'
}

# Per-program run time of leakwatch and of the floor+stack programs on the
# loop workload, one thread, with kernel.bpf_stats_enabled=1 (separate runs:
# the statistics themselves cost time).  Fills PROG_ROWS (Markdown rows).
PROG_ROWS=""
measure_programs() {
	local n=100000 before out=$RUNS/progs-leakwatch.out err=$RUNS/progs-leakwatch.err
	local f=$RUNS/progs-floor.err pid i prog_pairs
	prog_pairs=$(awk -v n="$n" -v s="$SCALE" 'BEGIN { n = int(n * s); print (n < 1000 ? 1000 : n) }')
	sysctl -q -w kernel.bpf_stats_enabled=1

	timeout -k 5 120 "$FLOOR" -v -m stack -- "$MB" -n "$prog_pairs" >/dev/null 2>"$f" ||
		die "floor failed (see $f)"
	PROG_ROWS+=$(sed -n 's/^floor: \([a-z_]*\): run_cnt \([0-9]*\) run_time_ns \([0-9]*\).*/\1 \2 \3/p' \
		"$f" | awk -v p="$prog_pairs" '$2 > 0 { printf "| floor+stack | %s | %d | %.0f | %.2f |\n",
			$1, $2, $3 / $2, $2 / p }')

	before=$(prog_stats | awk '{ print $1 }' | tr '\n' ' ')
	timeout -k 5 120 "$LW" -f json -o "$RUNS/progs-leakwatch.json" -- \
		"$MB" -n "$prog_pairs" -z 3 >"$out" 2>"$err" &
	pid=$!
	for i in $(seq 600); do
		ns_of "$out" >/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	ns_of "$out" >/dev/null || { wait "$pid" || true; die "leakwatch failed (see $err)"; }
	# leakwatch's programs: those loaded since, named lw_*; two of a name
	# mean another leakwatch started meanwhile, and the numbers would mix
	prog_stats | awk -v before=" $before" 'index(before, " " $1 " ") == 0 && $2 ~ /^lw_/' \
		>"$RUNS/progs-leakwatch.txt"
	wait "$pid" || die "leakwatch failed (see $err)"
	if [ "$(awk '{ print $2 }' "$RUNS/progs-leakwatch.txt" | sort | uniq -d)" ]; then
		die "another leakwatch loaded programs during the measurement; run again"
	fi
	PROG_ROWS+=$'\n'$(awk -v p="$prog_pairs" '$4 > 0 {
		printf "| leakwatch | %s | %d | %.0f | %.2f |\n", $2, $4, $3 / $4, $4 / p }' \
		"$RUNS/progs-leakwatch.txt")
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS"
}

# (sed -n 1p, not head: head's early exit would kill the writer with
# SIGPIPE, and pipefail turns that into a failure)
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="Linux $(uname -r), $cpu, $(nproc) CPUs; $(ldd --version | sed -n '1s/^ldd //p')"
lwver=$("$LW" --version 2>&1 | sed -n 1p)
btver=$([ "$HAVE_BT" = 1 ] && bpftrace --version || echo "not installed")
note "machine: $machine"

check_sites
note "probe sites: leakwatch and the floor agree ($SITES)"

for rep in $(seq "$REPS"); do
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		for col in "${COLS[@]}"; do
			[ "$col" = bpftrace ] && [ "$HAVE_BT" = 0 ] && continue
			run_one "$col" "$mode" "$threads" "$rep"
		done
	done
done

measure_programs

# Medians, then the table and the ratios.
declare -A MED
for cfg in "${CONFIGS[@]}"; do
	read -r mode threads <<<"$cfg"
	for col in "${COLS[@]}"; do
		[ "$col" = bpftrace ] && [ "$HAVE_BT" = 0 ] && continue
		vals=""
		for rep in $(seq "$REPS"); do
			vals+="${VAL[$col,$mode,$threads,$rep]} "
		done
		MED[$col,$mode,$threads]=$(echo "${vals% }" | median)
	done
done

added() {
	awk -v a="${MED[$1,$2,$3]}" -v u="${MED[untraced,$2,$3]}" 'BEGIN { printf "%.1f", a - u }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
verdict() {	# value op target
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		if (v == "n/a") { print "n/a"; exit }
		ok = op == "<=" ? v <= t : v >= t
		print ok ? "met" : "MISSED" }'
}
cfg_name() {
	printf '%s, %s thread%s' "$1" "$2" "$([ "$2" = 1 ] || echo s)"
}

{
	echo "# leakwatch benchmark: ns per malloc+free pair"
	echo
	echo "- machine: $machine"
	echo "- $lwver; bpftrace: $btver; $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- probe sites (leakwatch's planner; the floor checked identical): $SITES"
	echo "- each cell: median of $REPS runs, ns per pair as timed by the workload around its"
	echo "  hot loop (tracer start-up, warm-up and tear-down excluded); with 2 threads, the"
	echo "  mean over the threads of thread time / thread pairs"
	echo "- pairs per thread: untraced $(pairs untraced loop) (loop) / $(pairs untraced ws)" \
		"(working set); floor, floor+stack, leakwatch $(pairs floor loop);" \
		"bpftrace, entry $(pairs entry loop); working set: 100000 live blocks per thread"
	echo
	printf '| workload |'
	for col in "${COLS[@]}"; do
		printf ' %s |' "${TITLE[$col]}"
	done
	echo
	printf '|---|'
	for col in "${COLS[@]}"; do
		printf -- '---:|'
	done
	echo
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		printf '| %s |' "$(cfg_name "$mode" "$threads")"
		for col in "${COLS[@]}"; do
			if [ "$col" = bpftrace ] && [ "$HAVE_BT" = 0 ]; then
				printf ' not installed |'
			else
				printf ' %s |' "${MED[$col,$mode,$threads]}"
			fi
		done
		echo
	done
	echo
	echo "Ratios of added cost (ns/pair minus untraced ns/pair, medians of this run):"
	echo
	echo "| workload | leakwatch ÷ floor+stack (target ≤ 1.3) |" \
		"bpftrace ÷ leakwatch (target ≥ 8) | leakwatch lost events (target 0) | leakwatch drops |"
	echo "|---|---:|---:|---:|---:|"
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		lw=$(added leakwatch "$mode" "$threads")
		r1=$(ratio "$lw" "$(added stack "$mode" "$threads")")
		if [ "$HAVE_BT" = 1 ]; then
			r2=$(ratio "$(added bpftrace "$mode" "$threads")" "$lw")
		else
			r2="n/a"
		fi
		printf '| %s | %s (%s) | %s (%s) | %s (%s) | %s |\n' "$(cfg_name "$mode" "$threads")" \
			"$r1" "$(verdict "$r1" '<=' 1.3)" "$r2" "$(verdict "$r2" '>=' 8)" \
			"${LOST[$mode,$threads]}" "$(verdict "${LOST[$mode,$threads]}" '<=' 0)" \
			"${DROPS[$mode,$threads]}"
	done
	echo
	echo "Lost events and drops are summed over the $REPS leakwatch runs of each workload."
	echo
	echo "## BPF program run time (kernel.bpf_stats_enabled=1, separate runs, loop, 1 thread)"
	echo
	echo "| tracer | program | runs | ns/run | runs per pair |"
	echo "|---|---|---:|---:|---:|"
	echo "$PROG_ROWS"
	echo
	echo "## Every run (ns/pair)"
	echo
	echo "| workload | tracer | runs |"
	echo "|---|---|---|"
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		for col in "${COLS[@]}"; do
			[ "$col" = bpftrace ] && [ "$HAVE_BT" = 0 ] && continue
			vals=""
			for rep in $(seq "$REPS"); do
				vals+="${VAL[$col,$mode,$threads,$rep]}, "
			done
			echo "| $(cfg_name "$mode" "$threads") | ${TITLE[$col]} | ${vals%, } |"
		done
	done
} >"$RESULTS"
cat "$RESULTS"
note "written to $RESULTS"
