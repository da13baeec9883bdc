#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The soak's traced workload, for SECONDS: at once, a process that churns
# its heap (balanced, leaks nothing), one that forks and execs (forker),
# one that execs itself away (execer) and one that dlopen()s and dlclose()s
# a library over and over (dlopener reload), each restarted as it ends.
# A second between runs keeps the rates those of a busy service (a few
# processes a second), not of a benchmark.  Usage: workload.sh FIXTURES_DIR SECONDS
set -u
fx=$1
end=$(($(date +%s) + $2))

loop() {
	while [ "$(date +%s)" -lt "$end" ]; do
		"$@" >/dev/null 2>&1
		sleep 1
	done
}

loop "$fx/churn" 20000 &
loop "$fx/forker" exec &
loop "$fx/execer" &
loop "$fx/dlopener" reload 2000 &
wait
