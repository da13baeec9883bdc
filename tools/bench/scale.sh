#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Scale check: leakwatch traces a process that allocates 10 million blocks
# flat out and keeps them.  Fails unless every block is accounted for and
# nothing was lost; prints leakwatch's own memory per live block (ledgers
# and stack store, from the report; the kernel side is fixed-size).
set -euo pipefail

OUT=${BENCH_OUT:?}
LW=${LEAKWATCH:?}
N=${SCALE_BLOCKS:-10000000}
json=$OUT/scale.json

die() {
	echo "scale: $*" >&2
	exit 1
}

start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$OUT/scale.rss" timeout -k 5 600 \
	"$LW" -f json -o "$json" -- "$OUT/bigheap" "$N" 2>"$OUT/scale.err" ||
	die "leakwatch failed (see $OUT/scale.err)"
end=$(date +%s.%N)

python3 - "$json" "$N" "$(cat "$OUT/scale.rss")" "$start" "$end" <<'PY'
import json, sys
path, n, rss_kb, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
r = json.load(open(path))
p = [p for p in r["processes"] if p["comm"] == "bigheap"][0]
held = sum(s["allocs"] for s in p["stacks"] if s["frames"] and s["frames"][0]["function"] == "hold_blocks")
mem = r["tracer_memory"]
ok = r["lost_events"] == 0 and held == n and not any(r["drops"].values())
print("## Scale: %d live blocks in one process" % n)
print()
print("| held by hold_blocks | lost events | drops | leakwatch user memory | per block | kernel buffers | leakwatch peak RSS | wall time |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
print("| %d | %d | %d | %.1f MiB | %.1f B | %.1f MiB | %.0f MiB | %.1f s |" % (
    held, r["lost_events"], sum(r["drops"].values()), mem["user_bytes"] / 2**20,
    mem["user_bytes"] / max(mem["blocks"], 1), mem["kernel_bytes"] / 2**20, rss_kb / 1024,
    end - start))
print()
print("(peak RSS includes the ledger's growth step, when old and new tables coexist,")
print("and the ring buffer mapped twice)")
sys.exit(0 if ok else 1)
PY
