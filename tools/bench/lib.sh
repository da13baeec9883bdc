# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Helpers shared by the benchmark scripts (sourced).  ME names the script
# in messages; SCALE is BENCH_SCALE.

die() {
	echo "$ME: error: $*" >&2
	exit 1
}
note() {
	echo "$ME: $*" >&2
}

# n times BENCH_SCALE, at least 1000.
scaled() {
	awk -v n="$1" -v s="$SCALE" 'BEGIN { n = int(n * s); print (n < 1000 ? 1000 : n) }'
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

median() {
	tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 }
		END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# CPU time the hypervisor gave to others (all CPUs, in clock ticks).
steal_ticks() {
	awk '$1 == "cpu" { print $9 }' /proc/stat
}

# The head of a Markdown table: a "workload" column, then one right-aligned
# column per COLS entry, titled by TITLE (both the calling script's).
table_head() {
	local col
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
}
