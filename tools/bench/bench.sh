#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What a malloc+free pair costs under leakwatch (with its mapping hooks and
# with --no-mappings), in one run on this machine, next to what it costs
# untraced, under empty programs on leakwatch's own probe sites (the floor
# no tracer on these sites can go below), under that floor plus one stack
# capture (the least that attribution needs), under a bpftrace memleak
# peer, and under empty programs at function entry (where classic tools
# probe).  Every number comes from the workload itself, timed
# around its hot loop only; each is the median of BENCH_REPS runs, and the
# runs are interleaved so that a drift of the machine spreads over all
# columns.  Any failure stops the run with a non-zero status: no table is
# better than a table with a guessed cell.
#
# Run by `make bench` (root).  Environment: BENCH_OUT and LEAKWATCH (set by
# the Makefile); BENCH_REPS (default 3); BENCH_SCALE (default 1: multiplies
# every pair count; 0.1 for a quick trial); BENCH_LEGACY=1 (leakwatch and the
# floor on perf-event uprobes even where uprobe sessions exist); BPFTRACE
# (default: bpftrace from PATH).  Writes $BENCH_OUT/results.md, and every
# run's output under $BENCH_OUT/runs/.
set -euo pipefail

ME=bench
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# anything else that fails under set -e says where, instead of nothing
trap 'echo "bench: error: line $LINENO: exit status $?" >&2' ERR

OUT=${BENCH_OUT:?set by tools/bench/Makefile}
LW=${LEAKWATCH:?set by tools/bench/Makefile}
MB=$OUT/mallocbench
FLOOR=$OUT/floor
BT_SCRIPT=$HERE/memleak.bt
REPS=${BENCH_REPS:-3}
SCALE=${BENCH_SCALE:-1}
RUNS=$OUT/runs
RESULTS=$OUT/results.md
LW_API=()
FLOOR_API=()
if [ "${BENCH_LEGACY:-0}" = 1 ]; then
	LW_API=(--legacy-uprobes)
	FLOOR_API=(-L)
fi
# bpftrace's maps hold 4096 keys unless told: two threads keep 200k blocks
BT_KEYS=524288

# leakwatch sampled at N = 512 KiB (-s 524288), the mode meant to stay on
SAMPLE_BYTES=524288
COLS=(untraced floor stack leakwatch nomap sampled bpftrace entry)
CONFIGS=("loop 1" "loop 2" "working-set 1" "working-set 2")
declare -A TITLE=([untraced]="untraced" [floor]="floor" [stack]="floor+stack"
	[leakwatch]="leakwatch" [nomap]="leakwatch --no-mappings"
	[sampled]="leakwatch -s 512K" [bpftrace]="bpftrace"
	[entry]="entry-probe floor")

[ "$(id -u)" = 0 ] || die "needs root: it loads BPF programs and places uprobes"
for f in "$MB" "$FLOOR" "$LW"; do
	[ -x "$f" ] || die "$f is not built (run make bench from the top directory)"
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS=$REPS: want a positive integer"
awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }' || die "BENCH_SCALE=$SCALE: want a number > 0"
HAVE_BT=0
BPFTRACE=${BPFTRACE:-bpftrace}
if command -v "$BPFTRACE" >/dev/null; then
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

# Timed pairs per thread.  The fast columns cost ~2-5 us a pair, the
# entry-probe floor and bpftrace ~6-9 us, as they pay a single-step for
# every free (~3.5 us here; FACTS.md measured ~16 us on another machine of
# this kind, where these two columns take ~0.8 s each): each run's hot loop
# stays within about a second, and tracer start-up and tear-down dominate.
pairs() {
	local col=$1 mode=$2 n
	case $col in
	untraced) n=$([ "$mode" = loop ] && echo 2000000 || echo 500000) ;;
	floor | stack | leakwatch | nomap | sampled) n=100000 ;;
	bpftrace | entry) n=40000 ;;
	esac
	scaled "$n"
}


# Seconds before a run counts as hung.
limit() {
	case $1 in
	untraced) echo 60 ;;
	floor | stack | leakwatch | nomap | sampled) echo 120 ;;
	*) echo 240 ;;
	esac
}

# A number of the workload's one output line: ns_per_pair (wall time, the
# one reported) or cpu_ns_per_pair (the threads' CPU time, for judging how
# much of the wall time other processes took).
ns_of() {
	local ns field=${2:-ns_per_pair}
	ns=$(sed -n "s/^mallocbench: .* $field=\([0-9.]*\)\( .*\)\{0,1\}\$/\1/p" "$1")
	[ -n "$ns" ] && [ "$(wc -l <<<"$ns")" = 1 ] || return 1
	echo "$ns"
}



# Run one tracer (or none) over one workload; the workload's ns/pair goes
# into VAL[col,mode,threads,rep].
declare -A VAL CPU LOST DROPS
declare -A FLOOR_MODE=([floor]=empty [stack]=stack [entry]=entry)
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
	floor | stack | entry)
		timeout -k 5 "$t" "$FLOOR" "${FLOOR_API[@]}" -m "${FLOOR_MODE[$col]}" \
			-- "${wl[@]}" >"$out" 2>"$err" || rc=$? ;;
	leakwatch)
		timeout -k 5 "$t" "$LW" "${LW_API[@]}" -f json -o "$json" -- "${wl[@]}" \
			>"$out" 2>"$err" || rc=$? ;;
	nomap)
		timeout -k 5 "$t" "$LW" "${LW_API[@]}" --no-mappings -f json -o "$json" \
			-- "${wl[@]}" >"$out" 2>"$err" || rc=$? ;;
	sampled)
		timeout -k 5 "$t" "$LW" "${LW_API[@]}" -s "$SAMPLE_BYTES" -f json -o "$json" \
			-- "${wl[@]}" >"$out" 2>"$err" || rc=$? ;;
	bpftrace)
		BPFTRACE_MAP_KEYS_MAX=$BT_KEYS timeout -k 5 "$t" \
			"$BPFTRACE" -c "${wl[*]}" "$BT_SCRIPT" >"$out" 2>"$err" || rc=$? ;;
	esac
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		die "$tag: timed out after ${t}s (see $err)"
	fi
	[ "$rc" = 0 ] || die "$tag: exit status $rc: $(tail -n 3 "$err" | tr '\n' ' ')(see $err)"
	case $col in
	floor | stack | entry | leakwatch | nomap | sampled)
		grep -q ready "$err" || die "$tag: the tracer never said ready (see $err)" ;;
	bpftrace)
		grep -q '^Attaching' "$out" || die "$tag: bpftrace attached nothing (see $out)" ;;
	esac
	ns=$(ns_of "$out") || die "$tag: no ns_per_pair line from the workload (see $out)"
	CPU[$col,$mode,$threads,$rep]=$(ns_of "$out" cpu_ns_per_pair) ||
		die "$tag: no cpu_ns_per_pair from the workload (see $out)"
	case $col in
	leakwatch | nomap | sampled)
		[ -s "$json" ] || die "$tag: leakwatch wrote no report (see $err)"
		lost=$(json_num lost_events "$json") || die "$tag: no lost_events in $json"
		[ "$lost" = 0 ] || die "$tag: leakwatch lost $lost events (report: $json)" ;;
	esac
	if [ "$col" = leakwatch ]; then
		drops=$(json_drops "$json")
		LOST[$mode,$threads]=$((${LOST[$mode,$threads]:-0} + lost))
		DROPS[$mode,$threads]=$((${DROPS[$mode,$threads]:-0} + drops))
	fi
	VAL[$col,$mode,$threads,$rep]=$ns
	note "$(printf 'run %d/%d  %-11s %-7s %s thread(s)  %10s ns/pair' \
		"$rep" "$REPS" "$mode" "$col" "$threads" "$ns")"
}


# "SYMBOL PATH+OFFSET" for every probe site named in a -v log.
sites_of() {
	sed -n 's/.* \([a-z_]*\) at \(\/[^ ]*+0x[0-9a-f]*\) .*/\1 \2/p' "$1" | sort -u
}


# "perf" or "session": the probe API named on a tracer's ready line.
api_of() {
	sed -n 's/.*ready: .*[( ]\([a-z][a-z]*\) uprobes[;)].*/\1/p' "$1"
}

# The mapping hooks named on a tracer's ready line.
hooks_of() {
	sed -n 's/.*ready: .*; mappings: \([a-z ]*\))$/\1/p' "$1"
}

# The floor is only a floor if it probes what leakwatch probes, as
# leakwatch probes it.  Of the mapping hooks it mirrors the syscall
# tracepoints only: fentry and kprobes sit on the mapping syscalls, which
# the workload never makes.
check_sites() {
	local f=$RUNS/sites-floor.err l=$RUNS/sites-leakwatch.err want
	timeout -k 5 60 "$LW" "${LW_API[@]}" -v -f json -o "$RUNS/sites-leakwatch.json" \
		-- "$MB" -n 1000 >/dev/null 2>"$l" || die "leakwatch failed (see $l)"
	HOOKS=$(hooks_of "$l")
	[ -n "$HOOKS" ] || die "cannot read leakwatch's mapping hooks from its ready line (see $l)"
	want="not traced"
	if [ "$HOOKS" = tracepoint ]; then
		FLOOR_API+=(-S)
		want=tracepoint
	fi
	timeout -k 5 60 "$FLOOR" "${FLOOR_API[@]}" -v -m empty -- "$MB" -n 1000 \
		>/dev/null 2>"$f" || die "floor failed (see $f)"
	[ "$(hooks_of "$f")" = "$want" ] ||
		die "leakwatch's mapping hooks: $HOOKS, the floor's: $(hooks_of "$f") (see $l, $f)"
	FLOOR_HOOKS=$want
	API=$(api_of "$l")
	[ -n "$API" ] || die "cannot read leakwatch's probe API from its ready line (see $l)"
	[ "$(api_of "$f")" = "$API" ] ||
		die "leakwatch uses $API uprobes, the floor $(api_of "$f") uprobes (see $l, $f)"
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
	local out=$RUNS/progs-leakwatch.out err=$RUNS/progs-leakwatch.err
	local f=$RUNS/progs-floor.err pid lwpid ids prog_pairs all_pairs
	prog_pairs=$(scaled 100000)
	# the programs also run in the workload's warm-up (PAIRS / 10, at least 1000)
	all_pairs=$(awk -v n="$prog_pairs" \
		'BEGIN { w = int(n / 10); print n + (w < 1000 ? 1000 : w) }')
	sysctl -q -w kernel.bpf_stats_enabled=1

	timeout -k 5 120 "$FLOOR" "${FLOOR_API[@]}" -v -m stack -- "$MB" -n "$prog_pairs" \
		>/dev/null 2>"$f" || die "floor failed (see $f)"
	# "floor: NAME: run_cnt N run_time_ns T (...)"
	PROG_ROWS+=$(awk -v p="$all_pairs" '$1 == "floor:" && $3 == "run_cnt" && $4 > 0 {
		printf "| floor+stack | %s | %d | %.0f | %.2f |\n", substr($2, 1, length($2) - 1),
			$4, $6 / $4, $4 / p }' "$f")

	timeout -k 5 120 "$LW" "${LW_API[@]}" -f json -o "$RUNS/progs-leakwatch.json" -- \
		"$MB" -n "$prog_pairs" -z 3 >"$out" 2>"$err" &
	pid=$!
	for _ in $(seq 600); do
		ns_of "$out" >/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	ns_of "$out" >/dev/null || { wait "$pid" || true; die "leakwatch failed (see $err)"; }
	# leakwatch's own programs, by the descriptors it holds (timeout's
	# child): other leakwatch processes may be running on the machine
	lwpid=$(ps -o pid= --ppid "$pid" | tr -d ' ')
	[ -n "$lwpid" ] || die "cannot find the leakwatch process under timeout $pid"
	ids=" $({ grep -h '^prog_id:' /proc/"$lwpid"/fdinfo/* 2>/dev/null || true; } |
		awk '{ print $2 }' | sort -u | tr '\n' ' ')"
	prog_stats | awk -v ids="$ids" 'index(ids, " " $1 " ") > 0' >"$RUNS/progs-leakwatch.txt"
	wait "$pid" || die "leakwatch failed (see $err)"
	[ -s "$RUNS/progs-leakwatch.txt" ] || die "found no BPF programs of leakwatch $lwpid"
	PROG_ROWS+=$'\n'$(awk -v p="$all_pairs" '$4 > 0 {
		printf "| leakwatch | %s | %d | %.0f | %.2f |\n", $2, $4, $3 / $4, $4 / p }' \
		"$RUNS/progs-leakwatch.txt")
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS"
}

# (sed -n 1p, not head: head's early exit would kill the writer with
# SIGPIPE, and pipefail turns that into a failure)
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="Linux $(uname -r), $cpu, $(nproc) CPUs; $(ldd --version | sed -n '1s/^ldd //p')"
lwver=$("$LW" --version 2>&1 | sed -n 1p) || die "$LW --version failed: $lwver"
btver=$([ "$HAVE_BT" = 1 ] && "$BPFTRACE" --version || echo "not installed")
note "machine: $machine"

check_sites
note "probe sites: leakwatch and the floor agree ($API uprobes: $SITES; mappings: $HOOKS)"
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
steal_before=$(steal_ticks)
start_s=$(date +%s)

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
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)
steal_s=$(awk -v a="$steal_before" -v b="$(steal_ticks)" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.1f", (b - a) / hz }')
elapsed_s=$(($(date +%s) - start_s))

# Medians, then the table and the ratios.
declare -A MED MEDCPU
# shellcheck disable=SC2034  # MEDCPU is read through table()'s nameref
for cfg in "${CONFIGS[@]}"; do
	read -r mode threads <<<"$cfg"
	for col in "${COLS[@]}"; do
		[ "$col" = bpftrace ] && [ "$HAVE_BT" = 0 ] && continue
		vals=""
		cpus=""
		for rep in $(seq "$REPS"); do
			vals+="${VAL[$col,$mode,$threads,$rep]} "
			cpus+="${CPU[$col,$mode,$threads,$rep]} "
		done
		MED[$col,$mode,$threads]=$(echo "${vals% }" | median)
		MEDCPU[$col,$mode,$threads]=$(echo "${cpus% }" | median)
	done
done

# Added cost of column $2 in config $3 $4: its median in the array named $1
# minus the untraced one.
added() {
	local -n m=$1
	awk -v a="${m[$2,$3,$4]}" -v u="${m[untraced,$3,$4]}" 'BEGIN { printf "%.1f", a - u }'
}
# The two ratios of a config from the medians in the array named $1.
ratios() {
	local lw r1 r2=n/a
	lw=$(added "$1" leakwatch "$2" "$3")
	r1=$(ratio "$lw" "$(added "$1" stack "$2" "$3")")
	if [ "$HAVE_BT" = 1 ]; then
		r2=$(ratio "$(added "$1" bpftrace "$2" "$3")" "$lw")
	fi
	echo "$r1 $r2"
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
# The ns/pair table of the medians in the array named $1.
table() {
	local -n med=$1
	local cfg mode threads col
	table_head
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		printf '| %s |' "$(cfg_name "$mode" "$threads")"
		for col in "${COLS[@]}"; do
			if [ "$col" = bpftrace ] && [ "$HAVE_BT" = 0 ]; then
				printf ' not installed |'
			else
				printf ' %s |' "${med[$col,$mode,$threads]}"
			fi
		done
		echo
	done
}
# bpftrace's added cost over the empty floor's, per config, wall time.
floor_ratios() {
	local cfg mode threads out=""
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		out+="$(ratio "$(added MED bpftrace "$mode" "$threads")" \
			"$(added MED floor "$mode" "$threads")"), "
	done
	echo "${out%, }"
}
cfg_name() {
	printf '%s, %s thread%s' "$1" "$2" "$([ "$2" = 1 ] || echo s)"
}

{
	echo "# leakwatch benchmark: ns per malloc+free pair"
	echo
	echo "- machine: $machine"
	echo "- $lwver; bpftrace: $btver; $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- probe sites (leakwatch's planner; the floor checked identical), $API uprobes:"
	echo "  $SITES"
	echo "- mapping hooks: leakwatch's $HOOKS; the floor's $FLOOR_HOOKS" \
		"(it mirrors the syscall tracepoints, which tax every syscall, and on kernels" \
		"whose uretprobes return through a syscall every return probe too);" \
		"leakwatch --no-mappings has none"
	echo "- load average (1, 5, 15 min) before: $load_before; after: $load_after;" \
		"CPU time stolen by the hypervisor: ${steal_s} s in ${elapsed_s} s on $(nproc) CPUs"
	echo "  (other processes on the machine skew wall times: compare the CPU times below)"
	echo "- each cell: median of $REPS runs, ns per pair as timed by the workload around its"
	echo "  hot loop (tracer start-up, warm-up and tear-down excluded); with 2 threads, the"
	echo "  mean over the threads of thread time / thread pairs"
	echo "- pairs per thread: untraced $(pairs untraced loop) (loop) / $(pairs untraced ws)" \
		"(working set); floor, floor+stack, both leakwatch columns $(pairs floor loop);" \
		"bpftrace, entry $(pairs entry loop); working set: 100000 live blocks per thread"
	echo
	table MED
	echo
	echo "Ratios of added cost (ns/pair minus untraced ns/pair, medians of this run), from"
	echo "wall time and, after the slash, from the threads' CPU time; the verdict reads wall"
	echo "time:"
	echo
	echo "| workload | leakwatch ÷ floor+stack (target ≤ 1.3) |" \
		"bpftrace ÷ leakwatch (target ≥ 8) | leakwatch lost events (target 0) |" \
		"leakwatch drops | sampled ÷ floor+stack (target < 1) |"
	echo "|---|---:|---:|---:|---:|---:|"
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		read -r r1 r2 <<<"$(ratios MED "$mode" "$threads")"
		read -r c1 c2 <<<"$(ratios MEDCPU "$mode" "$threads")"
		bt="$r2 / $c2 ($(verdict "$r2" '>=' 8))"
		[ "$HAVE_BT" = 1 ] || bt="bpftrace not installed"
		s1=$(ratio "$(added MED sampled "$mode" "$threads")" \
			"$(added MED stack "$mode" "$threads")")
		s2=$(ratio "$(added MEDCPU sampled "$mode" "$threads")" \
			"$(added MEDCPU stack "$mode" "$threads")")
		printf '| %s | %s / %s (%s) | %s | %s (%s) | %s | %s / %s (%s) |\n' \
			"$(cfg_name "$mode" "$threads")" \
			"$r1" "$c1" "$(verdict "$r1" '<=' 1.3)" "$bt" \
			"${LOST[$mode,$threads]}" "$(verdict "${LOST[$mode,$threads]}" '<=' 0)" \
			"${DROPS[$mode,$threads]}" "$s1" "$s2" "$(verdict "$s1" '<=' 0.999)"
	done
	echo
	echo "Lost events and drops are summed over the $REPS leakwatch runs of each workload."
	if [ "$HAVE_BT" = 1 ]; then
		echo "For scale: bpftrace ÷ floor, the best ratio any tracer on these" \
			"probe sites could reach, is $(floor_ratios) (wall time; same order" \
			"as the table)."
	fi

	echo
	echo "## The same, thread CPU time per pair (medians)"
	echo
	echo "What the workload threads themselves spent (probe handling included); the"
	echo "difference to the wall times above is time other processes, leakwatch's"
	echo "consumer among them, had the threads' CPUs."
	echo
	table MEDCPU
	echo
	echo "## BPF program run time (kernel.bpf_stats_enabled=1, separate runs, loop, 1 thread)"
	echo
	echo "| tracer | program | runs | ns/run | runs per pair |"
	echo "|---|---|---:|---:|---:|"
	echo "$PROG_ROWS"
	echo
	echo "## Every run: ns/pair wall (thread CPU time)"
	echo
	echo "| workload | tracer | runs |"
	echo "|---|---|---|"
	for cfg in "${CONFIGS[@]}"; do
		read -r mode threads <<<"$cfg"
		for col in "${COLS[@]}"; do
			[ "$col" = bpftrace ] && [ "$HAVE_BT" = 0 ] && continue
			vals=""
			for rep in $(seq "$REPS"); do
				vals+="${VAL[$col,$mode,$threads,$rep]}"
				vals+=" (${CPU[$col,$mode,$threads,$rep]}), "
			done
			echo "| $(cfg_name "$mode" "$threads") | ${TITLE[$col]} | ${vals%, } |"
		done
	done
} >"$RESULTS"
cat "$RESULTS"
note "written to $RESULTS"
