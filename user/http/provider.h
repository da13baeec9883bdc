/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the HTTP server asks of the --watch daemon, as a table of
 * operations the daemon fills: the server (server.c, handler.c) and its
 * tests depend on this header only, never on the daemon's internals.
 *
 * Every operation is called from the daemon's own event loop, between two
 * of its callbacks, never concurrently: what an operation hands out (a
 * process table, a report's text) is the daemon's own state, borrowed
 * without a copy or a lock, and valid until the handler returns to the
 * loop (the server copies what it sends before it returns).
 */
#ifndef LW_PROVIDER_H
#define LW_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report.h"

struct lw_counters;
struct promtext;

/* The "leak or not" split of a traced process's anon RSS (README.md:
 * leakwatch_process_memory_bytes{part=...}). */
struct watch_split {
	uint64_t live;		/* explained by live blocks and mappings */
	uint64_t retained;	/* kept resident by the allocator, no live block in it */
	uint64_t runtime;	/* managed by a language runtime (Go's heap) */
	uint64_t other;
};

/* One watched process: an element of GET /api/v1/processes and the source
 * of its per-process series.  Strings may be NULL (unknown; outside a
 * container namespace, pod, container and container_id are NULL). */
struct watch_process {
	int pid;
	const char *comm;
	const char *cmdline;
	const char *cgroup;	/* relative to the cgroup root */
	const char *namespace, *pod, *container, *container_id;
	uint64_t anon_bytes;	/* RssAnon */
	uint64_t file_bytes;	/* RssFile */
	uint64_t shmem_bytes;	/* RssShmem */
	double growth_bytes_per_second;	/* robust slope of anon over the window */
	bool suspect;
	bool traced;		/* being traced now */
	bool has_report;	/* a report exists (traced now or before) */
	/* with has_report: the split, and the latest report's bytes by kind */
	struct watch_split split;
	size_t nkinds;
	struct report_kind kinds[REPORT_MAX_KINDS];
};

/* Why a trace request was refused (429's body). */
#define WATCH_REASON_MAX 160

struct watch_provider_ops {
	/* The watched processes, in any order: *procs stays valid until the
	 * handler returns to the loop.  0 or -Exxx. */
	int (*processes)(void *ctx, const struct watch_process **procs, size_t *n);
	/* The latest report of pid, as the -f json document (its text, len
	 * bytes): 0, -ENOENT when pid has none (or is not watched).  The
	 * node's page (GET /) merges every report the daemon keeps. */
	int (*report)(void *ctx, int pid, const char **json, size_t *len);
	/* Trace pid for seconds, as a suspect: 0 accepted; -ESRCH no such
	 * process; -EBUSY refused (over the CPU budget, too many traced;
	 * reason says which, WATCH_REASON_MAX bytes); -EINVAL seconds out of
	 * the daemon's range (400); -EOPNOTSUPP when this daemon cannot
	 * trace.  seconds 0: the daemon's default.  May be NULL: the same as
	 * -EOPNOTSUPP. */
	int (*trace)(void *ctx, int pid, unsigned int seconds, char *reason);
	/* The families that are not per process (per cgroup, the node's,
	 * the daemon's health), written through w.  May be NULL. */
	int (*write_metrics)(void *ctx, struct promtext *w);
	/* Every counter of the registry (counters.h), summed over what the
	 * daemon traced: leakwatch_events_lost_total{source=NAME}, one
	 * series per drop counter.  May be NULL: no such family.  0 or
	 * -Exxx. */
	int (*counters)(void *ctx, struct lw_counters *out);
	/* The daemon's CPU time in seconds, its traces' work included
	 * (leakwatch_cpu_seconds_total).  May be NULL: this process's own,
	 * from getrusage. */
	double (*cpu_seconds)(void *ctx);
	/* Longest trace a request may ask for, in seconds (400 above it). */
	unsigned int max_trace_seconds;
};

#endif /* LW_PROVIDER_H */
