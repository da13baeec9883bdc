// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perf maps (user/symbolize/perfmap.c): any process writes its own /tmp/perf-PID.map,
 * and leakwatch reads it as root.  The raw bytes are parsed (NULs
 * included), and what a lookup relies on is checked: entries sorted by
 * start, non-empty, names within bounds.
 */
#include <string.h>

#include "fuzz.h"
#include "perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perf_map *m = perf_map__new();
	const struct perf_sym *syms;
	size_t n, i;

	if (!m)
		return 0;
	if (!perf_map__parse(m, (const char *)data, size)) {
		n = perf_map__entries(m, &syms);
		for (i = 0; i < n; i++) {
			if (syms[i].start >= syms[i].end || (i && syms[i - 1].start >= syms[i].start) ||
			    !syms[i].name[0] || strlen(syms[i].name) > PERF_MAP_MAX_NAME)
				__builtin_trap();
			if (perf_map__find(m, syms[i].start) == NULL)
				__builtin_trap();
		}
	}
	perf_map__free(m);
	return 0;
}
