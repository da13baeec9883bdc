/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the benchmark workloads (mallocbench, syscallbench) share: their
 * clock and their number parser.
 */
#ifndef LW_BENCH_WORKLOAD_H
#define LW_BENCH_WORKLOAD_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* A whole number, decimal or 0x hex: 0 or -EINVAL. */
static inline int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -EINVAL : 0;
}

#endif /* LW_BENCH_WORKLOAD_H */
