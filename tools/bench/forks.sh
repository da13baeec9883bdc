#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What following forks costs the rest of the machine, in one run on this
# machine.  Two tables:
#
#   spawn latency   how long /bin/true takes to start and exit in a process
#                   leakwatch does not trace (spawnlat: posix_spawn and
#                   waitpid, every 10 ms), with no storm, during a fork
#                   storm (forkstorm: STORM children, one every 0.5 ms)
#                   without leakwatch, and during the same storm traced by
#                   `leakwatch -- forkstorm`: median and worst, with how
#                   many children the report traced exactly and how many
#                   it counted in fork_not_held
#   untraced malloc what a malloc+free pair costs a process leakwatch does
#                   not trace (mallocbench loop, 1 thread, wall and CPU
#                   time): no leakwatch; leakwatch tracing another process
#                   with probes of its own (-p, a sleep); leakwatch whose
#                   traced process forks faster than 10 children a second
#                   (forkstorm, one every 20 ms), so that its per-file
#                   probes are live and fire in every process mapping libc
#
# Each cell is the median of BENCH_REPS runs.  The storms are bounded (in
# children, and forkstorm ends itself after 120 s) and every background
# process is stopped by its id when the script ends.  Any failure stops the
# run with a non-zero status.
#
# Run by `make bench` (root).  Environment: BENCH_OUT and LEAKWATCH (set by
# the Makefile); BENCH_REPS (default 3); BENCH_SCALE (default 1: multiplies
# the storm's children and the pairs).  Writes $BENCH_OUT/forks.md (and
# prints it), and every run's output under $BENCH_OUT/forks-runs/.
set -euo pipefail

ME=forks
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
trap 'echo "forks: error: line $LINENO: exit status $?" >&2' ERR

OUT=${BENCH_OUT:?set by tools/bench/Makefile}
LW=${LEAKWATCH:?set by tools/bench/Makefile}
SPAWN=$OUT/spawnlat
STORM=$OUT/forkstorm
MB=$OUT/mallocbench
REPS=${BENCH_REPS:-3}
SCALE=${BENCH_SCALE:-1}
RUNS=$OUT/forks-runs
RESULTS=$OUT/forks.md
CHILDREN=$(awk -v s="$SCALE" 'BEGIN { n = int(2000 * s); print (n < 200 ? 200 : n) }')
PAIRS=$(scaled 1000000)

[ "$(id -u)" = 0 ] || die "needs root: it loads BPF programs"
for f in "$SPAWN" "$STORM" "$MB" "$LW"; do
	[ -x "$f" ] || die "$f is not built (run make bench from the top directory)"
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS=$REPS: want a positive integer"
rm -rf "$RUNS"
mkdir -p "$RUNS"

BG=()
stop_bg() {
	local p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
	done
}
trap stop_bg EXIT

# Wait until leakwatch (stderr in $1, pid $2) is ready.
await_ready() {
	local i
	for i in $(seq 600); do
		grep -q ready "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	die "leakwatch did not start: $(tail -3 "$1")"
}

# spawnlat while process $2 runs (or 200 spawns): "n median_us max_us" in $1.
spawn_while() {
	"$SPAWN" 2000 10 "$2" >"$1" || die "spawnlat failed"
}

# One run of the spawn table, column $1, rep $2: "median max" in us, plus
# "traced not_held" for the traced storm.
spawn_run() {
	local col=$1 r=$2 base=$RUNS/spawn-$1-$2 pid
	case $col in
	idle)
		"$SPAWN" 200 10 >"$base.lat" || die "spawnlat failed"
		;;
	storm)
		"$STORM" "$CHILDREN" 500 &
		pid=$!
		BG+=("$pid")
		spawn_while "$base.lat" "$pid"
		wait "$pid" || die "forkstorm failed"
		;;
	traced)
		timeout -k 5 300 "$LW" -f json -o "$base.json" -- "$STORM" "$CHILDREN" 500 \
			>/dev/null 2>"$base.err" &
		pid=$!
		BG+=("$pid")
		await_ready "$base.err" "$pid"
		spawn_while "$base.lat" "$pid"
		wait "$pid" || die "leakwatch -- forkstorm failed: $(tail -3 "$base.err")"
		;;
	esac
	read -r _ med max <"$base.lat"
	echo "$med $max"
}

# Children of the traced storm's report $1: traced exactly (one stack of
# 1234 B) and counted in fork_not_held.
storm_counts() {
	local exact held
	exact=$(tr -d '\n ' <"$1" | grep -o '"outstanding_bytes":1234,"outstanding_allocs":1,' |
		wc -l)
	held=$(tr -d '\n' <"$1" | grep -o '"fork_not_held": *[0-9]*' | grep -o '[0-9]*$')
	echo "$exact ${held:-?}"
}

# ns per pair (wall, cpu) of mallocbench's output $1.
pair_ns() {
	sed -n 's/^mallocbench: .* ns_per_pair=\([0-9.]*\) cpu_ns_per_pair=\([0-9.]*\)$/\1 \2/p' "$1"
}

# One run of the malloc table, column $1, rep $2: "wall cpu".
malloc_run() {
	local col=$1 r=$2 base=$RUNS/malloc-$1-$2 pid sp
	case $col in
	none) ;;
	own)
		sleep 600 &
		sp=$!
		BG+=("$sp")
		timeout -k 5 300 "$LW" -f json -o "$base.json" -p "$sp" >/dev/null 2>"$base.err" &
		pid=$!
		BG+=("$pid")
		await_ready "$base.err" "$pid"
		;;
	perfile)
		timeout -k 5 300 "$LW" -f json -o "$base.json" -- "$STORM" 6000 20000 \
			>/dev/null 2>"$base.err" &
		pid=$!
		BG+=("$pid")
		await_ready "$base.err" "$pid"
		sleep 0.5	# the second child has come: per-file probes
		;;
	esac
	"$MB" -m loop -n "$PAIRS" >"$base.out" || die "mallocbench failed"
	case $col in
	own) kill -INT "$pid"; wait "$pid" || true; kill "$sp"; wait "$sp" 2>/dev/null || true ;;
	perfile) kill -INT "$pid"; wait "$pid" || true ;;
	esac
	pair_ns "$base.out"
}

declare -A MED MAX WALL CPU
EXACT=() NOTHELD=()
for r in $(seq "$REPS"); do
	for col in idle storm traced; do
		read -r med max < <(spawn_run "$col" "$r")
		MED[$col]+="$med " MAX[$col]+="$max "
		if [ "$col" = traced ]; then
			read -r e h < <(storm_counts "$RUNS/spawn-traced-$r.json")
			EXACT+=("$e") NOTHELD+=("$h")
		fi
	done
	for col in none own perfile; do
		read -r wall cpu < <(malloc_run "$col" "$r")
		[ -n "${cpu:-}" ] || die "no mallocbench result for $col"
		WALL[$col]+="$wall " CPU[$col]+="$cpu "
	done
done

ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
{
	echo "Spawn latency of an unrelated /bin/true, ms (median of $REPS runs;" \
		"storm: $CHILDREN children, one every 0.5 ms)"
	echo
	echo "| | no storm | storm, no leakwatch | storm traced by leakwatch |"
	echo "|---|---:|---:|---:|"
	printf '| median | %s | %s | %s |\n' "$(ms "$(median <<<"${MED[idle]}")")" \
		"$(ms "$(median <<<"${MED[storm]}")")" "$(ms "$(median <<<"${MED[traced]}")")"
	printf '| worst | %s | %s | %s |\n' "$(ms "$(median <<<"${MAX[idle]}")")" \
		"$(ms "$(median <<<"${MAX[storm]}")")" "$(ms "$(median <<<"${MAX[traced]}")")"
	echo
	echo "Children of the traced storm, each run: traced exactly ${EXACT[*]};" \
		"counted in fork_not_held ${NOTHELD[*]}"
	echo
	echo "malloc+free in a process leakwatch does not trace, ns per pair, wall / CPU"
	echo
	echo "| no leakwatch | leakwatch, probes of its own (-p) | leakwatch, per-file probes live |"
	echo "|---:|---:|---:|"
	printf '| %s / %s | %s / %s | %s / %s |\n' \
		"$(median <<<"${WALL[none]}")" "$(median <<<"${CPU[none]}")" \
		"$(median <<<"${WALL[own]}")" "$(median <<<"${CPU[own]}")" \
		"$(median <<<"${WALL[perfile]}")" "$(median <<<"${CPU[perfile]}")"
} | tee "$RESULTS"
