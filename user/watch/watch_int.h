/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The daemon's parts, inside user/watch only: the state they share, and
 * what each file offers the others.
 *   watch.c        construction, the session it runs on, its timers
 *   watchsample.c  the sample rounds: processes, cgroups, their series and
 *                  verdicts, and the queries on them
 *   watchtrace.c   the traces (session targets) and the CPU budget
 *   watchreport.c  the reports kept, their leak-or-not split
 * Everything runs on the session's loop thread.
 */
#ifndef LW_WATCH_INT_H
#define LW_WATCH_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "identity.h"
#include "memcg.h"
#include "procfs.h"
#include "report.h"
#include "rsswatch.h"
#include "watch.h"

struct loop;
struct loop_source;
struct session;
struct session_target;

struct series {
	struct slope_point *pts;
	size_t n, cap;
	struct slope_verdict v;
};

struct wproc {
	pid_t pid;
	char comm[16];
	char *cmdline, *cgroup;
	struct identity id;
	struct rss_status mem;
	struct series s;
	bool seen;		/* in this scan */
	bool traced;
	double traced_at;	/* when its last trace began; 0: never */
};

struct wcgroup {
	char *path;
	struct identity id;
	uint64_t anon, file, shmem, oom_kills;
	struct series s;
	bool seen;
};

/* A trace: a target of the session, ended by its one-shot timer. */
struct wtrace {
	struct watch *w;
	struct session_target *target;
	struct loop_source *timer;
	pid_t pid;
	char comm[16];		/* its process may be gone from the scan when it ends */
	double started, seconds;
	double cpu_start;		/* the daemon's CPU time at the start */
	uint64_t alloc_anon_start;	/* the allocator's resident anon once probes are live */
	/* the process as the probes go (the window's end, or a stop): what
	 * it allocates after that is no trace's */
	uint64_t alloc_anon_end, anon_end;
	bool have_end;
};

struct wreport {
	pid_t pid;
	char *json;
	size_t len;
	double at;
	struct mem_split split;
	/* the model of json, parsed when first asked for (watch__report_model) */
	struct json_object *obj;
	struct report model;
	bool parsed;
};

struct cpu_point {
	double t, cpu;
};

struct watch {
	struct watch_options o;
	const char *proc_dir;
	char *proc_dir_buf;
	struct memcg_mount memcg;
	struct identities *ids;
	double t0;

	struct wproc *procs;	/* sorted by pid */
	size_t nprocs;
	struct wcgroup *cgs;
	size_t ncgs;
	struct wtrace **traces;	/* max_traced of them */
	size_t ntraces;
	struct wreport *reports;
	size_t nreports;

	struct cpu_point *cpu_hist;	/* ring over the budget window */
	size_t cpu_n, cpu_cap, cpu_head;
	double trace_cost;	/* CPU of the last trace */
	bool over_budget;	/* said so already */

	struct watch_counters c;
	struct watch_kill *kills;	/* watchkills.c */
	size_t nkills, kills_cap;
	uint64_t kills_other;	/* past WATCH_MAX_KILL_SERIES */
	/* from the session's ready hook to its ending one */
	struct session *s;
	struct loop *loop;
	struct loop_source *sample_src, *tick_src, *hup_src;
	const struct watch_frontend *fe;
};

static inline double watch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double watch_mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/* watchsample.c */
void watch_sample(struct watch *w);
struct wproc *watch_find_proc(const struct watch *w, pid_t pid);
void watch_procs_free(struct watch *w);

/* watchtrace.c */
/* The daemon's CPU time, its traces' consumer work included. */
double watch_cpu(void);
/* CPU used over the last budget window, in seconds; t and cpu are now. */
double watch_window_cpu(struct watch *w, double t, double cpu);
/* Over budget: every trace stops now; used is watch_window_cpu's. */
void watch_enforce_budget(struct watch *w, double used);
void watch_trace_suspects(struct watch *w, double t, double used);
/* Every second: traces whose process exited end. */
void watch_check_traces(struct watch *w);
/* Each running trace ends now, its report kept. */
void watch_end_traces(struct watch *w);

/* watchreport.c */
/* Keep the report of t (its target stopped), and write it to --report-dir:
 * 0 or -Exxx (no report: the cause). */
int watch_keep_report(struct watch *w, struct wtrace *t, bool *exited, uint64_t *outstanding,
		      struct mem_split *split);
const struct wreport *watch_find_report(const struct watch *w, pid_t pid);
void watch_reports_free(struct watch *w);

/* watchkills.c */
struct oomwatch_note;
/* An OOM kill (a postmortem's note, written or not): counted by victim. */
void watch_note_kill(struct watch *w, const struct oomwatch_note *n);
void watch_kill_release(struct watch_kill *k);

#endif /* LW_WATCH_INT_H */
