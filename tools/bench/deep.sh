#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What a malloc+free pair costs when the malloc sits 16 frames deep in code
# built without frame pointers, as distributions build: leakwatch walks
# those frames with their CFI (bpf/unwind.bpf.h).  Its added cost is set
# against the floor with one frame-pointer stack capture (floor -m stack:
# empty programs plus bpf_get_stackid) on the same workload built with
# frame pointers, in the same run; the target is at most 2.0 times that.
# Sampled leakwatch (-s 512K) walks only the sampled calls and must stay
# below the floor.  Each cell is the median of BENCH_REPS runs,
# interleaved.  The frame-pointer walk of the floor is also run on the
# build without frame pointers, to show what it would miss: its stacks
# stop at the first frame there.
#
# Run by `make bench` (root).  Environment: BENCH_OUT, LEAKWATCH (set by
# the Makefile); BENCH_REPS (default 3); BENCH_SCALE (default 1);
# BENCH_DEPTH (default 16).  Writes $BENCH_OUT/deep.md, and every run's
# output under $BENCH_OUT/deep-runs/.
set -euo pipefail

ME=deep
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
trap 'echo "deep: error: line $LINENO: exit status $?" >&2' ERR

OUT=${BENCH_OUT:?set by tools/bench/Makefile}
LW=${LEAKWATCH:?set by tools/bench/Makefile}
NOFP=$OUT/mallocbench
FP=$OUT/mallocbench-fp
FLOOR=$OUT/floor
REPS=${BENCH_REPS:-3}
SCALE=${BENCH_SCALE:-1}
DEPTH=${BENCH_DEPTH:-16}
RUNS=$OUT/deep-runs
RESULTS=$OUT/deep.md
SAMPLE_BYTES=524288

[ "$(id -u)" = 0 ] || die "needs root: it loads BPF programs and places uprobes"
for f in "$NOFP" "$FP" "$FLOOR" "$LW"; do
	[ -x "$f" ] || die "$f is not built (run make bench from the top directory)"
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS=$REPS: want a positive integer"
rm -rf "$RUNS"
mkdir -p "$RUNS"

COLS=(untraced untraced_fp stack_fp leakwatch nomap sampled stack_nofp)
declare -A TITLE=([untraced]="untraced" [untraced_fp]="untraced, built with frame pointers"
	[stack_fp]="floor+stack, built with frame pointers"
	[leakwatch]="leakwatch" [nomap]="leakwatch --no-mappings"
	[sampled]="leakwatch -s 512K" [stack_nofp]="floor+stack (frame pointers only)")

ns_of() {
	local ns
	ns=$(sed -n "s/^mallocbench: .* ${2:-ns_per_pair}=\([0-9.]*\)\( .*\)\{0,1\}\$/\1/p" "$1")
	[ -n "$ns" ] && [ "$(wc -l <<<"$ns")" = 1 ] || return 1
	echo "$ns"
}

# The floor carries the syscall tracepoints when leakwatch's mapping hooks
# are they (every uretprobe returns through a syscall on 6.11+): learn
# them from leakwatch's ready line.
probe=$RUNS/hooks.err
timeout -k 5 60 "$LW" -f json -o "$RUNS/hooks.json" -- "$NOFP" -n 1000 -D "$DEPTH" \
	>/dev/null 2>"$probe" || die "leakwatch failed (see $probe)"
HOOKS=$(sed -n 's/.*ready: .*; mappings: \([a-z ]*\))$/\1/p' "$probe")
[ -n "$HOOKS" ] || die "cannot read leakwatch's mapping hooks (see $probe)"
FLOOR_S=()
[ "$HOOKS" = tracepoint ] && FLOOR_S=(-S)

declare -A VAL CPU
run_one() {
	local col=$1 rep=$2 tag="$1-$2" n rc=0 json
	local out=$RUNS/$tag.out err=$RUNS/$tag.err
	n=$(scaled 100000)
	json=$RUNS/$tag.json
	case $col in
	untraced) n=$(scaled 1000000)
		timeout -k 5 60 "$NOFP" -D "$DEPTH" -n "$n" >"$out" 2>"$err" || rc=$? ;;
	untraced_fp) n=$(scaled 1000000)
		timeout -k 5 60 "$FP" -D "$DEPTH" -n "$n" >"$out" 2>"$err" || rc=$? ;;
	stack_fp)
		timeout -k 5 120 "$FLOOR" "${FLOOR_S[@]}" -m stack -- "$FP" -D "$DEPTH" -n "$n" \
			>"$out" 2>"$err" || rc=$? ;;
	stack_nofp)
		timeout -k 5 120 "$FLOOR" "${FLOOR_S[@]}" -m stack -- "$NOFP" -D "$DEPTH" -n "$n" \
			>"$out" 2>"$err" || rc=$? ;;
	leakwatch)
		timeout -k 5 120 "$LW" -f json -o "$json" -- "$NOFP" -D "$DEPTH" -n "$n" \
			>"$out" 2>"$err" || rc=$? ;;
	nomap)
		timeout -k 5 120 "$LW" --no-mappings -f json -o "$json" -- "$NOFP" -D "$DEPTH" \
			-n "$n" >"$out" 2>"$err" || rc=$? ;;
	sampled)
		timeout -k 5 120 "$LW" -s "$SAMPLE_BYTES" -f json -o "$json" -- "$NOFP" \
			-D "$DEPTH" -n "$n" >"$out" 2>"$err" || rc=$? ;;
	esac
	[ "$rc" = 0 ] || die "$tag: exit status $rc: $(tail -n 3 "$err" | tr '\n' ' ')(see $err)"
	VAL[$col,$rep]=$(ns_of "$out") || die "$tag: no ns_per_pair line (see $out)"
	CPU[$col,$rep]=$(ns_of "$out" cpu_ns_per_pair) || die "$tag: no cpu_ns_per_pair (see $out)"
	case $col in
	leakwatch | nomap | sampled)
		[ "$(json_num lost_events "$json")" = 0 ] || die "$tag: events lost (see $json)"
		[ "$(json_drops "$json")" = 0 ] || die "$tag: drops (see $json)" ;;
	esac
	note "$(printf 'run %d/%d  %-11s %10s ns/pair' "$rep" "$REPS" "$col" "${VAL[$col,$rep]}")"
}

for rep in $(seq "$REPS"); do
	for col in "${COLS[@]}"; do
		run_one "$col" "$rep"
	done
done

# BPF program time per pair (kernel.bpf_stats_enabled=1, separate runs: the
# statistics cost time themselves): less sensitive to other load on the
# machine than wall time.  leakwatch's programs are found by the
# descriptors it holds; the floor prints its own.
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS" || true' EXIT
sysctl -q -w kernel.bpf_stats_enabled=1
n=$(scaled 100000)
f=$RUNS/progs-floor.err
timeout -k 5 120 "$FLOOR" "${FLOOR_S[@]}" -v -m stack -- "$FP" -D "$DEPTH" -n "$n" \
	>/dev/null 2>"$f" || die "floor failed (see $f)"
# "floor: NAME: run_cnt N run_time_ns T (...)"; per pair: over the timed and
# the warm-up pairs (PAIRS / 10, at least 1000)
all=$(awk -v n="$n" 'BEGIN { w = int(n / 10); print n + (w < 1000 ? 1000 : w) }')
FLOOR_PROG=$(awk -v p="$all" '$1 == "floor:" && $3 == "run_cnt" { t += $6 }
	END { printf "%.0f", t / p }' "$f")
out=$RUNS/progs-leakwatch.out
err=$RUNS/progs-leakwatch.err
timeout -k 5 120 "$LW" -f json -o "$RUNS/progs-leakwatch.json" -- "$NOFP" -D "$DEPTH" -n "$n" \
	-z 3 >"$out" 2>"$err" &
pid=$!
for _ in $(seq 600); do
	ns_of "$out" >/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
ns_of "$out" >/dev/null || { wait "$pid" || true; die "leakwatch failed (see $err)"; }
lwpid=$(ps -o pid= --ppid "$pid" | tr -d ' ')
[ -n "$lwpid" ] || die "cannot find the leakwatch process under timeout $pid"
ids=" $({ grep -h '^prog_id:' /proc/"$lwpid"/fdinfo/* 2>/dev/null || true; } |
	awk '{ print $2 }' | sort -u | tr '\n' ' ')"
LW_PROG=$(bpftool prog show | awk -v ids="$ids" -v p="$all" '/^[0-9]+:/ {
	id = $1; sub(/:$/, "", id); rt = 0
	for (i = 2; i < NF; i++) if ($i == "run_time_ns") rt = $(i + 1)
	if (index(ids, " " id " ")) t += rt }
	END { printf "%.0f", t / p }')
wait "$pid" || die "leakwatch failed (see $err)"
sysctl -q -w kernel.bpf_stats_enabled="$STATS_WAS"

declare -A MED MEDCPU
for col in "${COLS[@]}"; do
	v=""
	c=""
	for rep in $(seq "$REPS"); do
		v+="${VAL[$col,$rep]} "
		c+="${CPU[$col,$rep]} "
	done
	MED[$col]=$(echo "${v% }" | median)
	MEDCPU[$col]=$(echo "${c% }" | median)
done
added() {	# array col base
	local -n m=$1
	awk -v a="${m[$2]}" -v u="${m[$3]}" 'BEGIN { printf "%.1f", a - u }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}
verdict() {
	awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
		if (v == "n/a") { print "n/a"; exit }
		print (op == "<=" ? v <= t : v < t) ? "met" : "MISSED" }'
}
floor_add=$(added MED stack_fp untraced_fp)
floor_cpu=$(added MEDCPU stack_fp untraced_fp)

{
	echo "# Stacks through code without frame pointers: ns per malloc+free pair"
	echo
	echo "- machine: Linux $(uname -r), $(nproc) CPUs; $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- workload: mallocbench -D $DEPTH (loop, 1 thread): each malloc $DEPTH frames below"
	echo "  the loop; built without frame pointers (gcc -O2), and with them for the floor"
	echo "- leakwatch's mapping hooks: $HOOKS; the floor ${FLOOR_S[*]:-without syscall hooks}"
	echo "- median of $REPS runs each, wall time (thread CPU time after the slash)"
	echo
	echo "| tracer | ns/pair | added ns/pair | added ÷ floor+stack (built with frame pointers) |"
	echo "|---|---:|---:|---:|"
	for col in "${COLS[@]}"; do
		case $col in
		untraced_fp | stack_fp) base=untraced_fp ;;
		*) base=untraced ;;
		esac
		a=$(added MED "$col" "$base")
		c=$(added MEDCPU "$col" "$base")
		printf '| %s | %s / %s | %s / %s | %s / %s |\n' "${TITLE[$col]}" "${MED[$col]}" \
			"${MEDCPU[$col]}" "$a" "$c" "$(ratio "$a" "$floor_add")" \
			"$(ratio "$c" "$floor_cpu")"
	done
	echo
	r=$(ratio "$(added MED leakwatch untraced)" "$floor_add")
	rn=$(ratio "$(added MED nomap untraced)" "$floor_add")
	s=$(ratio "$(added MED sampled untraced)" "$floor_add")
	echo "- leakwatch ÷ floor+stack: $r ($(verdict "$r" '<=' 2.0) the target ≤ 2.0);" \
		"--no-mappings: $rn"
	echo "- leakwatch -s 512K ÷ floor+stack: $s ($(verdict "$s" '<' 1.0) the target < 1)"
	echo "- BPF program time per pair (separate runs, kernel.bpf_stats_enabled=1):" \
		"leakwatch $LW_PROG ns, floor+stack $FLOOR_PROG ns" \
		"($(ratio "$LW_PROG" "$FLOOR_PROG")×); the rest of the added cost, the" \
		"breakpoints and return probes, is the same for both"
} >"$RESULTS"
cat "$RESULTS"
note "written to $RESULTS"
