/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * GET /metrics: the families of --watch (README.md, "Metrics") in the
 * Prometheus text format (promtext.c).
 *
 * Written here, from the process table: the per-process families
 * (leakwatch_process_*), bounded to the suspects, the traced processes and
 * the top_k others by anon memory, what is cut counted in
 * leakwatch_series_dropped_total; leakwatch_processes_watched,
 * leakwatch_processes_traced and leakwatch_suspects (counted in the same
 * table, so that they agree with it); leakwatch_cpu_seconds_total (the
 * provider's cpu_seconds, else this process's getrusage) and
 * leakwatch_build_info; leakwatch_events_lost_total, one series per drop
 * counter of the registry (counters.h), from the provider's counters.
 * The daemon writes every other family through the provider's
 * write_metrics.
 */
#ifndef LW_METRICS_H
#define LW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provider.h"

#define METRICS_DEFAULT_TOP_K 20

struct metrics_state {
	size_t top_k;
	uint64_t series_dropped;	/* since the start: a counter */
};

/* 0 or -Exxx (-EIO when f failed, -EINVAL for a bad name from the
 * provider's families). */
int metrics_write(FILE *f, struct metrics_state *st, const struct watch_process *procs, size_t n,
		  const struct watch_provider_ops *ops, void *ctx);

#endif /* LW_METRICS_H */
