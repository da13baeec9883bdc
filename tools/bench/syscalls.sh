#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# What a syscall costs under each of leakwatch's mapping hooks, in one run
# on this machine, next to what it costs with no leakwatch at all.  The
# tracepoint hooks (sys_enter/sys_exit) run for every syscall of the
# machine, also in processes leakwatch does not trace; fentry and kprobe run
# only on mmap, munmap, mremap and brk; --no-mappings has none.  Rows:
#
#   getppid, untraced  syscallbench makes getppid calls while leakwatch
#                      traces another process (a sleep, with -p), stopped
#                      with SIGINT afterwards (it must exit 0)
#   getppid, traced    leakwatch runs syscallbench: a syscall that maps
#                      nothing, in a process that is traced
#   mmap+munmap        the same with 1-page anonymous mmap+munmap pairs:
#                      every op is two mapping events
#
# Columns: untraced (no leakwatch), --no-mappings, and --mapping-hooks
# fentry, kprobe and tracepoint.  Each hook is first tried once: one that
# this kernel refuses (leakwatch exits 1 naming it) shows "refused by this
# kernel" and the reason; anything else that fails stops the run.  Every
# report must name the hooks asked for and have lost no event.  Every number
# comes from the workload itself, timed around its hot loop only; each is
# the median of BENCH_REPS runs, and the runs are interleaved so that a
# drift of the machine spreads over all columns.  A BPF program that another
# process holds on sys_enter/sys_exit would tax every column: before each
# run the script waits for there to be none, and a run after which there is
# one is made again.  Any failure stops the run with a non-zero status.
#
# Run by `make bench` (root).  Environment: BENCH_OUT and LEAKWATCH (set by
# the Makefile); BENCH_REPS (default 3); BENCH_SCALE (default 1: multiplies
# every op count; 0.1 for a quick trial).  Writes $BENCH_OUT/syscalls.md (and
# prints it), and every run's output under $BENCH_OUT/syscalls-runs/.
set -euo pipefail

ME=syscalls
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# anything else that fails under set -e says where, instead of nothing
trap 'echo "syscalls: error: line $LINENO: exit status $?" >&2' ERR

OUT=${BENCH_OUT:?set by tools/bench/Makefile}
LW=${LEAKWATCH:?set by tools/bench/Makefile}
SB=$OUT/syscallbench
REPS=${BENCH_REPS:-3}
SCALE=${BENCH_SCALE:-1}
RUNS=$OUT/syscalls-runs
RESULTS=$OUT/syscalls.md

ROWS=(other traced mmap)
COLS=(untraced nomap fentry kprobe tracepoint)
HOOKS=(fentry kprobe tracepoint)
declare -A TITLE=([other]="getppid, untraced process while leakwatch traces another"
	[traced]="getppid, traced process" [mmap]="mmap+munmap, traced process"
	[untraced]="untraced" [nomap]="\`--no-mappings\`" [fentry]="\`fentry\`"
	[kprobe]="\`kprobe\`" [tracepoint]="\`tracepoint\`")
declare -A MODE=([other]=getppid [traced]=getppid [mmap]=mmap)

[ "$(id -u)" = 0 ] || die "needs root: it loads BPF programs"
for f in "$SB" "$LW"; do
	[ -x "$f" ] || die "$f is not built (run make bench from the top directory)"
done
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS=$REPS: want a positive integer"
awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }' || die "BENCH_SCALE=$SCALE: want a number > 0"
command -v bpftool >/dev/null || die "bpftool is not installed: it lists the syscall hooks"
rm -rf "$RUNS"
mkdir -p "$RUNS"
start_s=$(date +%s)

# Processes started in the background (a sleep and a leakwatch under
# timeout): stopped by their ids if the script ends early.
BG=()
stop_bg() {
	local p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
	done
}
trap stop_bg EXIT

# Timed ops per run.  Untraced, a getppid costs ~200 ns here and an
# mmap+munmap pair ~4.5 us; under the tracepoint hooks ~330 ns and ~15 us:
# each hot loop stays within about a second, and leakwatch's start-up and
# tear-down (~0.3 s each) dominate the run time.
ops() {
	case $1 in
	mmap) scaled 50000 ;;
	*) scaled 2000000 ;;
	esac
}


# Seconds before a run counts as hung.
LIMIT=$(awk -v s="$SCALE" 'BEGIN { print int(120 * (s > 1 ? s : 1)) }')

# A number of the workload's one output line: ns_per_op (wall time, the one
# reported) or cpu_ns_per_op (its CPU time).
ns_of() {
	local ns field=${2:-ns_per_op}
	ns=$(sed -n "s/^syscallbench: .* $field=\([0-9.]*\)\( .*\)\{0,1\}\$/\1/p" "$1")
	[ -n "$ns" ] && [ "$(wc -l <<<"$ns")" = 1 ] || return 1
	echo "$ns"
}


# The report's mapping_hooks: the hook's name, or null.
json_hooks() {
	tr -d '\n' <"$1" | grep -o '"mapping_hooks": *\("[a-z]*"\|null\)' | sed -n 1p |
		sed 's/.*: *//; s/"//g'
}


# Whether the report has a process named syscallbench.
traces_workload() {
	tr -d '\n' <"$1" | grep -q '"comm": *"syscallbench"'
}

# Ids of the BPF links on the sys_enter/sys_exit raw tracepoints, if any.
hook_links() {
	local json
	json=$(bpftool -j link show) || return 1
	# (awk, not grep: no link is no error)
	tr '{' '\n' <<<"$json" | awk '/"tp_name": *"sys_e(nter|xit)"/ {
		if (match($0, /"id": *[0-9]+/)) {
			id = substr($0, RSTART, RLENGTH); sub(/.*[^0-9]/, "", id)
			ids = ids (ids == "" ? "" : " ") id
		} }
		END { print ids }'
}

# Wait (up to a minute) until no process holds a BPF program on
# sys_enter/sys_exit: the next run would pay for it in every column.
await_quiet() {
	local ids i
	for i in $(seq 600); do
		ids=$(hook_links) || die "bpftool link show failed"
		[ -z "$ids" ] && return 0
		[ "$i" = 1 ] && note "another process holds BPF links $ids on sys_enter/sys_exit: waiting"
		sleep 0.1
	done
	die "BPF links $ids of another process stay on sys_enter/sys_exit:" \
		"every column would pay for them (bpftool link show)"
}

# The leakwatch options of a column.
lw_opts() {
	case $1 in
	untraced) ;;
	nomap) echo --no-mappings ;;
	*) echo --mapping-hooks "$1" ;;
	esac
}

# Start leakwatch (options $3...) in the background over a sleep, with its
# report in $1 and its stderr in $2; wait for it to be ready.  Sets LW_PID
# (the timeout around it) and SLEEP_PID.
start_other() {
	local json=$1 err=$2 i
	shift 2
	sleep 3600 &
	SLEEP_PID=$!
	BG+=("$SLEEP_PID")
	# leakwatch -p takes the sleep, not the shell forked to exec it
	for i in $(seq 100); do
		[ "$(cat /proc/"$SLEEP_PID"/comm 2>/dev/null)" = sleep ] && break
		sleep 0.01
	done
	timeout -k 5 "$LIMIT" "$LW" "$@" -f json -o "$json" -p "$SLEEP_PID" \
		>/dev/null 2>"$err" &
	LW_PID=$!
	BG+=("$LW_PID")
	for i in $(seq 600); do
		grep -q ready "$err" && return 0
		kill -0 "$LW_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# Stop start_other's leakwatch with SIGINT (timeout passes it on), then the
# sleep; the exit status of leakwatch in LW_RC.
stop_other() {
	LW_RC=0
	kill -INT "$LW_PID" 2>/dev/null || true
	wait "$LW_PID" || LW_RC=$?
	kill "$SLEEP_PID" 2>/dev/null || true
	wait "$SLEEP_PID" 2>/dev/null || true
	BG=()
}

# Try --mapping-hooks $1 once on a short traced run: HOOK_STATE[$1] becomes
# ok or refused (the reason in HOOK_WHY[$1]); anything else dies.  For auto,
# HOOK_WHY[auto] is the hook it chose.
declare -A HOOK_STATE HOOK_WHY
try_hook() {
	local h=$1 err=$RUNS/try-$1.err json=$RUNS/try-$1.json rc=0 got
	timeout -k 5 "$LIMIT" "$LW" --mapping-hooks "$h" -f json -o "$json" -- \
		"$SB" -m mmap -n 1000 >"$RUNS/try-$h.out" 2>"$err" || rc=$?
	if [ "$rc" = 1 ] && [ "$h" != auto ] && ! grep -q ready "$err" &&
		grep -q "^leakwatch: error: --mapping-hooks $h: " "$err"; then
		HOOK_STATE[$h]=refused
		HOOK_WHY[$h]=$(sed -n "s/^leakwatch: error: --mapping-hooks $h: //p" "$err" |
			sed -n '1s/; leave it out to choose automatically$//p')
		note "--mapping-hooks $h: refused by this kernel: ${HOOK_WHY[$h]}"
		return 0
	fi
	[ "$rc" = 0 ] || die "--mapping-hooks $h: exit status $rc:" \
		"$(tail -n 3 "$err" | tr '\n' ' ')(see $err)"
	grep -q ready "$err" || die "--mapping-hooks $h: leakwatch never said ready (see $err)"
	[ -s "$json" ] || die "--mapping-hooks $h: no report (see $err)"
	got=$(json_hooks "$json") || die "--mapping-hooks $h: no mapping_hooks in $json"
	if [ "$h" = auto ]; then
		[[ " ${HOOKS[*]} " == *" $got "* ]] ||
			die "--mapping-hooks auto: the report names hooks '$got' (see $json)"
		HOOK_WHY[auto]=$got
	else
		[ "$got" = "$h" ] ||
			die "--mapping-hooks $h: the report names hooks '$got' (see $json)"
	fi
	HOOK_STATE[$h]=ok
	note "--mapping-hooks $h: $([ "$h" = auto ] && echo "chooses $got" || echo works)"
}

# One run of column $2 in row $1; the workload's ns/op goes into
# VAL[row,col,rep].
declare -A VAL CPU DROPS
run_one() {
	local row=$1 col=$2 rep=$3
	local tag="$row-$col-$rep"
	local out=$RUNS/$tag.out err=$RUNS/$tag.err json=$RUNS/$tag.json
	local rc=0 ns lost got want
	local wl=("$SB" -m "${MODE[$row]}" -n "$(ops "$row")")
	local opts
	read -r -a opts <<<"$(lw_opts "$col")"

	if [ "$col" = untraced ]; then
		timeout -k 5 "$LIMIT" "${wl[@]}" >"$out" 2>"$err" || rc=$?
	elif [ "$row" = other ]; then
		if ! start_other "$json" "$err" "${opts[@]}"; then
			stop_other
			die "$tag: leakwatch never said ready: exit status $LW_RC:" \
				"$(tail -n 3 "$err" | tr '\n' ' ')(see $err)"
		fi
		timeout -k 5 "$LIMIT" "${wl[@]}" >"$out" 2>"$RUNS/$tag.wl.err" || rc=$?
		stop_other
		[ "$LW_RC" = 0 ] || die "$tag: leakwatch stopped with SIGINT exited $LW_RC," \
			"not 0: $(tail -n 3 "$err" | tr '\n' ' ')(see $err)"
	else
		timeout -k 5 "$LIMIT" "$LW" "${opts[@]}" -f json -o "$json" -- "${wl[@]}" \
			>"$out" 2>"$err" || rc=$?
	fi
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		die "$tag: timed out after ${LIMIT}s (see $err)"
	fi
	[ "$rc" = 0 ] || die "$tag: exit status $rc: $(tail -n 3 "$err" | tr '\n' ' ')(see $err)"
	ns=$(ns_of "$out") || die "$tag: no ns_per_op line from the workload (see $out)"
	CPU[$row,$col,$rep]=$(ns_of "$out" cpu_ns_per_op) ||
		die "$tag: no cpu_ns_per_op from the workload (see $out)"
	if [ "$col" != untraced ]; then
		grep -q ready "$err" || die "$tag: leakwatch never said ready (see $err)"
		[ -s "$json" ] || die "$tag: leakwatch wrote no report (see $err)"
		got=$(json_hooks "$json") || die "$tag: no mapping_hooks in $json"
		want=$([ "$col" = nomap ] && echo null || echo "$col")
		[ "$got" = "$want" ] ||
			die "$tag: the report names mapping hooks '$got', not '$want' ($json)"
		lost=$(json_num lost_events "$json") || die "$tag: no lost_events in $json"
		[ "$lost" = 0 ] || die "$tag: leakwatch lost $lost events (report: $json)"
		DROPS[$row,$col,$rep]=$(json_drops "$json")
		if [ "$row" = other ]; then
			! traces_workload "$json" ||
				die "$tag: leakwatch traced the workload, not only the sleep ($json)"
		else
			traces_workload "$json" ||
				die "$tag: the report has no syscallbench process ($json)"
		fi
	fi
	VAL[$row,$col,$rep]=$ns
	note "$(printf 'run %d/%d  %-7s %-10s %10s ns/op' "$rep" "$REPS" "$row" "$col" "$ns")"
}

# run_one between two checks that nobody else hooks every syscall; a run
# after which someone does is made again (three tries).
measure() {
	local ids i
	for _ in 1 2 3; do
		await_quiet
		run_one "$@"
		for i in $(seq 10); do
			ids=$(hook_links) || die "bpftool link show failed"
			[ -z "$ids" ] && return 0
			sleep 0.1
		done
		note "$1-$2-$3: another process hooked sys_enter/sys_exit (links $ids): again"
	done
	die "$1-$2-$3: other processes kept hooking sys_enter/sys_exit"
}



# Whether column $1 is measured (an untried hook is not).
measured() {
	[ "$1" = untraced ] || [ "$1" = nomap ] || [ "${HOOK_STATE[$1]}" = ok ]
}

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="Linux $(uname -r), $cpu, $(nproc) CPUs; $(ldd --version | sed -n '1s/^ldd //p')"
lwver=$("$LW" --version 2>&1 | sed -n 1p) || die "$LW --version failed: $lwver"
note "machine: $machine"

await_quiet
for h in "${HOOKS[@]}" auto; do
	try_hook "$h"
done
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
steal_before=$(steal_ticks)
runs_s=$(date +%s)

for rep in $(seq "$REPS"); do
	for row in "${ROWS[@]}"; do
		for col in "${COLS[@]}"; do
			measured "$col" || continue
			measure "$row" "$col" "$rep"
		done
	done
done

load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)
steal_s=$(awk -v a="$steal_before" -v b="$(steal_ticks)" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.1f", (b - a) / hz }')
runs_elapsed_s=$(($(date +%s) - runs_s))

declare -A MED
for row in "${ROWS[@]}"; do
	for col in "${COLS[@]}"; do
		measured "$col" || continue
		vals=""
		for rep in $(seq "$REPS"); do
			vals+="${VAL[$row,$col,$rep]} "
		done
		MED[$row,$col]=$(echo "${vals% }" | median)
	done
done

# A cell: the median ns/op, and its ratio to the row's untraced median.
cell() {
	local row=$1 col=$2
	if ! measured "$col"; then
		printf 'refused by this kernel'
	elif [ "$col" = untraced ]; then
		printf '%.0f' "${MED[$row,$col]}"
	else
		awk -v v="${MED[$row,$col]}" -v u="${MED[$row,untraced]}" \
			'BEGIN { printf "%.0f (%.2f×)", v, v / u }'
	fi
}

refused=""
for h in "${HOOKS[@]}"; do
	if [ "${HOOK_STATE[$h]}" = refused ]; then
		refused+="\`$h\`: ${HOOK_WHY[$h]}; "
	fi
done

{
	echo "# leakwatch benchmark: ns per syscall under each mapping hook"
	echo
	echo "- machine: $machine"
	echo "- $lwver; $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- \`--mapping-hooks auto\` chooses \`${HOOK_WHY[auto]}\` here" \
		"${refused:+"(refused: ${refused%; })"}"
	echo "- load average (1, 5, 15 min) before: $load_before; after: $load_after;" \
		"CPU time stolen by the hypervisor: ${steal_s} s in ${runs_elapsed_s} s on" \
		"$(nproc) CPUs"
	echo "- each cell: median of $REPS runs, ns per op as timed by syscallbench around its"
	echo "  hot loop ($(ops traced) getppid calls, $(ops mmap) mmap+munmap pairs;" \
		"leakwatch's start-up and"
	echo "  tear-down excluded), and the ratio to the row's untraced median; untraced: no"
	echo "  leakwatch running; no other process held BPF programs on sys_enter/sys_exit"
	echo "  before or after any run"
	echo
	table_head
	for row in "${ROWS[@]}"; do
		printf '| %s |' "${TITLE[$row]}"
		for col in "${COLS[@]}"; do
			printf ' %s |' "$(cell "$row" "$col")"
		done
		echo
	done
	echo
	echo "## Every run: ns/op wall (CPU), and leakwatch's drops"
	echo
	echo "| workload | column | runs |"
	echo "|---|---|---|"
	for row in "${ROWS[@]}"; do
		for col in "${COLS[@]}"; do
			measured "$col" || continue
			vals=""
			for rep in $(seq "$REPS"); do
				vals+="${VAL[$row,$col,$rep]} (${CPU[$row,$col,$rep]}"
				[ "$col" = untraced ] || vals+=", ${DROPS[$row,$col,$rep]} drops"
				vals+="), "
			done
			echo "| ${TITLE[$row]} | ${TITLE[$col]} | ${vals%, } |"
		done
	done
	echo
	echo "Run time: $(($(date +%s) - start_s)) s."
} >"$RESULTS"
cat "$RESULTS"
note "written to $RESULTS"
