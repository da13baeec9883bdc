# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=sh
# What both soaks do with leakwatch's process: sample its memory and open
# fds every second, fit their slopes, print them and judge them.
# Sourced (. lib.sh) by soak.sh and soak-watch.sh.

# soak_sample PID SECONDS FILE: every second until PID is gone or SECONDS
# have passed, a line "T RSS_KIB ANON_KIB FDS" appended to FILE.
soak_sample() {
	start=$(date +%s)
	while [ $(($(date +%s) - start)) -lt "$2" ] && kill -0 "$1" 2>/dev/null; do
		mem=$(awk -v t=$(($(date +%s) - start)) '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 }
			END { if (r != "") print t, r, a }' "/proc/$1/status" 2>/dev/null)
		fds=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
		[ -n "$mem" ] && echo "$mem $fds" >>"$3"
		sleep 1
	done
	touch "$3"
}

# soak_slope FILE COL SKIP: the least-squares slope of column COL per
# minute, over the samples from second SKIP on (past the warm-up).
soak_slope() {
	awk -v col="$2" -v skip="$3" '
		$1 >= skip { n++; x = $1 / 60; y = $col; sx += x; sy += y; sxx += x * x; sxy += x * y }
		END { d = n * sxx - sx * sx; printf "%.1f", (d > 0 ? (n * sxy - sx * sy) / d : 0) }' "$1"
}

# soak_judge NAME FILE SKIP MAX_RSS_KIB_MIN: prints the RSS, anon and fd
# lines; sets soak_fail to the names of what is not flat.
soak_judge() {
	rss_slope=$(soak_slope "$2" 2 "$3")
	anon_slope=$(soak_slope "$2" 3 "$3")
	fd_slope=$(soak_slope "$2" 4 "$3")
	first=$(awk -v skip="$3" '$1 >= skip { print; exit }' "$2")
	last=$(tail -1 "$2")
	echo "$1: RSS $(echo "$first" | cut -d' ' -f2) -> $(echo "$last" | cut -d' ' -f2) KiB," \
		"slope $rss_slope KiB/min (limit $4); of which anon" \
		"$(echo "$first" | cut -d' ' -f3) -> $(echo "$last" | cut -d' ' -f3) KiB, slope $anon_slope"
	echo "$1: open fds $(echo "$first" | cut -d' ' -f4) -> $(echo "$last" | cut -d' ' -f4)," \
		"slope $fd_slope /min"
	soak_fail=""
	[ -s "$2" ] || soak_fail="$soak_fail no-samples"
	awk -v s="$rss_slope" -v m="$4" 'BEGIN { exit !(s > m) }' && soak_fail="$soak_fail rss"
	awk -v s="$fd_slope" 'BEGIN { exit !(s > 0.5) }' && soak_fail="$soak_fail fds"
}
