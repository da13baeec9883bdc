/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * leakwatch --watch: the daemon.  Every sample interval it reads the
 * memory of every process and of their memory cgroups (procscan, memcg),
 * judges each series (slope), and traces up to max_traced suspects for
 * trace_seconds each, within a CPU budget for the whole daemon.  It is one
 * session (session.h) with no process of its own: each trace is a target
 * of that session (targets.h), its records consumed on the session's loop;
 * with a postmortem directory the session's OOM watch writes a postmortem
 * of every OOM kill, with the stacks of a victim that was being traced.
 * It keeps the latest report of each traced process (a bounded number of
 * them) with its leak-or-not split (split).
 *
 * The query functions below are what the HTTP server serves
 * (/api/v1/processes, /metrics): they read the state the loop keeps, in
 * the loop's thread.
 */
#ifndef LW_WATCH_H
#define LW_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "select.h"
#include "slope.h"
#include "split.h"

struct lw_counters;

/* Reports kept, the latest per process: the oldest goes beyond this. */
#define WATCH_REPORTS_KEPT 64
/* The CPU budget is judged over this many seconds. */
#define WATCH_BUDGET_WINDOW_S 60.0

struct watch_options {
	double sample_interval_s;	/* --sample-interval (5) */
	struct slope_params detector;	/* --window, --min-growth */
	double trace_seconds;		/* --trace-seconds (10) */
	size_t max_traced;		/* --max-traced (1) */
	double cpu_budget_pct;		/* --cpu-budget, percent of one core (2) */
	size_t top;			/* --top: per-process series (for /metrics) */
	uint64_t sample_bytes;		/* -s for traces (65536) */
	const char *listen;		/* --listen ADDR:PORT */
	const char *postmortem_dir;	/* --postmortem-dir */
	size_t postmortem_keep;		/* --postmortem-keep (20) */
	const char *host_root;		/* --host-root */
	const char *report_dir;		/* --report-dir: each trace's report as a file */
	struct selector select;		/* --namespace, --pod, --container: may be traced */
	const char *comm_glob;		/* --comm: may be traced */
	bool no_trace;			/* --no-trace: suspects only */
	bool verbose;
};

enum watch_outcome {
	WATCH_TRACE_COMPLETED,
	WATCH_TRACE_BUDGET,
	WATCH_TRACE_EXITED,
	WATCH_TRACE_ERROR,
	WATCH_TRACE_OUTCOMES,
};

const char *watch_outcome_name(enum watch_outcome o);	/* "completed"... */

/* One watched process, as /api/v1/processes shows it. */
struct watch_proc_info {
	pid_t pid;
	const char *comm, *cmdline, *cgroup;
	const char *namespace, *pod, *container, *container_id;	/* "" outside one */
	uint64_t anon_bytes, file_bytes, shmem_bytes;
	double growth_bytes_per_second;
	bool suspect, traced, has_report;
	struct mem_split split;		/* when has_report */
};

struct watch_cgroup_info {
	const char *path;
	const char *namespace, *pod, *container;
	uint64_t anon_bytes, file_bytes, shmem_bytes;
	double growth_bytes_per_second;
	bool suspect;
	uint64_t oom_kills;		/* memory.events oom_kill */
};

struct watch_counters {
	uint64_t traces[WATCH_TRACE_OUTCOMES];
	uint64_t processes_watched, processes_traced, suspects;
	double cpu_seconds;		/* the daemon's, its traces' consumer work included */
	double budget_used_ratio;	/* over the last WATCH_BUDGET_WINDOW_S */
	uint64_t samples;		/* sample rounds done */
	uint64_t oom_kills;		/* OOM kills seen (with --postmortem-dir) */
	uint64_t postmortems_written;
};

/* One series of leakwatch_oom_kills_total: the victims with these labels
 * ("" outside a container). */
struct watch_kill {
	char *comm, *namespace, *pod, *container;
	uint64_t n;
};
/* Label sets kept; later ones count in one series with empty labels. */
#define WATCH_MAX_KILL_SERIES 128

struct watch;

/* NULL + errno. */
struct watch *watch__new(const struct watch_options *o);
void watch__free(struct watch *w);	/* accepts NULL */
/* What serves the daemon (its HTTP server): attach adds its sources to
 * the daemon's loop once tracing can begin (0 or -Exxx, which ends the
 * daemon), detach removes them when it ends. */
struct loop;
struct watch_frontend {
	int (*attach)(struct loop *l, void *ctx);
	void (*detach)(void *ctx);
	void *ctx;
};

/* Until SIGTERM, SIGINT or SIGHUP, with fe (may be NULL): leakwatch's
 * exit code (errors printed). */
int watch__run(struct watch *w, const struct watch_frontend *fe);

/* Query (for the HTTP server; in the loop's thread). */
size_t watch__process_count(const struct watch *w);
int watch__process_at(const struct watch *w, size_t i, struct watch_proc_info *out);
int watch__process(const struct watch *w, pid_t pid, struct watch_proc_info *out);
size_t watch__cgroup_count(const struct watch *w);
int watch__cgroup_at(const struct watch *w, size_t i, struct watch_cgroup_info *out);
/* The latest report of pid (-f json schema), or NULL. */
const char *watch__report(const struct watch *w, pid_t pid, size_t *len);
/* The same as a report model (what -f json and -f html write), parsed once
 * and kept with it: 0, -ENOENT (none), -EINVAL or -ENOMEM. */
struct report;
int watch__report_model(struct watch *w, pid_t pid, const struct report **r);
void watch__counters(const struct watch *w, struct watch_counters *out);
/* The counter registry (counters.h) of the session the daemon runs on:
 * what it lost, its traces' included.  0, -EAGAIN before the session is
 * up. */
int watch__drops(const struct watch *w, struct lw_counters *out);
/* The OOM kills seen (with --postmortem-dir), by victim: i below
 * watch__kill_count; the strings stay the daemon's. */
size_t watch__kill_count(const struct watch *w);
int watch__kill_at(const struct watch *w, size_t i, struct watch_kill *out);
/* session__map_fill of the session the daemon runs on (nothing before it
 * is up). */
int watch__map_fill(const struct watch *w,
		    int (*fn)(const char *name, size_t used, size_t cap, void *ctx), void *ctx);
/* Trace pid now for seconds (0: --trace-seconds), as a suspect would be:
 * 0, -ESRCH (no such process), -EINVAL (bad seconds), -EBUSY (already
 * traced or max_traced reached) or -EDQUOT (over the CPU budget); *why
 * says which in words. */
int watch__trace(struct watch *w, pid_t pid, double seconds, const char **why);

/* `leakwatch --watch ...`: parse, run; the exit code. */
int watch_main(int argc, char **argv);

#endif /* LW_WATCH_H */
