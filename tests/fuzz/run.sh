#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs each libFuzzer target named on the command line for $FUZZ_SECONDS,
# from the seeds in tests/fuzz/corpus/TARGET (read only) into the working
# corpus $OUT/fuzz/corpus/TARGET.  Prints what each ran and found; exits
# non-zero when a target crashed (its input is in $OUT/fuzz/artifacts/).
set -u
cd "$(dirname "$0")/../.."
: "${OUT:=build}" "${FUZZ_SECONDS:=60}"
failed=""
for t in "$@"; do
	name=${t#fuzz_}
	work="$OUT/fuzz/corpus/$name"
	seeds="tests/fuzz/corpus/$name"
	mkdir -p "$work" "$OUT/fuzz/artifacts"
	extra=""
	# ELF: the fixtures just built are seeds too (real, varied ELF files)
	if [ "$name" = elfsym ] || [ "$name" = unwind ]; then
		extra="$OUT/fuzz/corpus/$name-fixtures"
		mkdir -p "$extra"
		for f in "$OUT"/tests/fixtures/*; do
			[ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 1048576 ] && cp "$f" "$extra/"
		done
	fi
	mask=0
	[ "$name" = options ] && mask=3
	log="$OUT/fuzz/$name.log"
	# shellcheck disable=SC2086
	"$OUT/fuzz/$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -close_fd_mask=$mask -print_final_stats=1 \
		-artifact_prefix="$OUT/fuzz/artifacts/$name-" "$work" "$seeds" $extra >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	echo "fuzz $name: ${runs:-?} runs in ${FUZZ_SECONDS} s, $cov, corpus $(ls "$work" | wc -l) inputs: $([ $rc = 0 ] && echo 'nothing found' || echo "FAILED (exit $rc), see $log")"
	[ $rc = 0 ] || { tail -40 "$log"; failed="$failed $name"; }
done
[ -z "$failed" ] || { echo "fuzz: failed:$failed" >&2; exit 1; }
