/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Clocks in nanoseconds.  CLOCK_MONOTONIC is the clock of every BPF record
 * (bpf_ktime_get_ns), of interval timing and of ages in reports, so one
 * helper reads it everywhere.
 */
#ifndef LW_CLOCK_H
#define LW_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clock id in nanoseconds; 0 if the clock cannot be read (never for the
 * clocks leakwatch uses: clock_gettime fails only on a bad id). */
static inline uint64_t lw_clock_ns(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in nanoseconds: the clock of the BPF records. */
static inline uint64_t lw_now_ns(void)
{
	return lw_clock_ns(CLOCK_MONOTONIC);
}

#endif /* LW_CLOCK_H */
