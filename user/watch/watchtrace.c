// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --watch's traces and its CPU budget.  A trace is a target of the
 * daemon's own session (targets.h): sampled allocator probes and the
 * mapping records in that one process, ended by a one-shot timer at its
 * window, its report taken then and kept (watchreport.c).  Its records
 * are consumed by the daemon itself, so its cost is in the daemon's CPU
 * time, which the budget measures.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"
#include "loop.h"
#include "procfs.h"
#include "procscan.h"
#include "split.h"
#include "targets.h"
#include "watch_int.h"

/* A process the detector traced is not traced again by the detector for
 * this long (a request through the API may). */
#define RETRACE_AFTER_S 600.0
/* What a trace is expected to cost until one has been measured: 10 s of
 * sampled tracing and its symbolization here. */
#define TRACE_COST_GUESS_S 0.5

/* ---- CPU budget ---- */

double watch_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

double watch_window_cpu(struct watch *w, double t, double cpu)
{
	size_t i;

	if (w->cpu_n == w->cpu_cap) {
		/* drop the oldest; the ring holds at least the window */
		w->cpu_head = (w->cpu_head + 1) % w->cpu_cap;
		w->cpu_n--;
	}
	w->cpu_hist[(w->cpu_head + w->cpu_n++) % w->cpu_cap] = (struct cpu_point){ t, cpu };
	/* the oldest point still within the window, or the daemon's start */
	for (i = 0; i < w->cpu_n; i++) {
		const struct cpu_point *p = &w->cpu_hist[(w->cpu_head + i) % w->cpu_cap];

		if (t - p->t <= WATCH_BUDGET_WINDOW_S)
			return cpu - p->cpu;
	}
	return 0;
}

static double budget_s(const struct watch *w)
{
	return w->o.cpu_budget_pct / 100.0 * WATCH_BUDGET_WINDOW_S;
}

/* Whether a new trace fits: the window's CPU plus what a trace costs.
 * One expensive trace (a large process's symbols) must not bar every
 * later one: the estimate is at most half the budget, and a trace that
 * costs more is stopped by watch_enforce_budget. */
static bool budget_allows(const struct watch *w, double used)
{
	double cost = w->trace_cost > 0 ? w->trace_cost : TRACE_COST_GUESS_S;

	if (cost > budget_s(w) / 2)
		cost = budget_s(w) / 2;
	return !w->over_budget && used + cost <= budget_s(w);
}

/* ---- one trace ---- */

static bool glob_ok(const char *glob, const char *value)
{
	return !glob || (value && !fnmatch(glob, value, 0));
}

static bool may_trace(const struct watch *w, const struct wproc *p)
{
	/* leakwatch never traces leakwatch (-p refuses it): not a suspect
	 * to spend the budget on */
	if (!strcmp(p->comm, "leakwatch"))
		return false;
	return selector__match(&w->o.select, &p->id) && glob_ok(w->o.comm_glob, p->comm);
}

static void finish_trace(struct watch *w, struct wtrace *t, enum watch_outcome why);

/* Its window is over. */
static int on_trace_end(void *ctx, uint64_t expirations)
{
	struct wtrace *t = ctx;

	finish_trace(t->w, t, WATCH_TRACE_COMPLETED);
	return 0;
}

static int start_trace(struct watch *w, struct wproc *p, double seconds, const char *why)
{
	struct session_target_opts to = {
		.pid = p->pid,
		.sample_bytes = w->o.sample_bytes,
		/* a loop busy with another trace may stop it late: its
		 * report keeps to its window */
		.window_ns = (uint64_t)(seconds * 1e9),
	};
	struct wtrace *t = calloc(1, sizeof(*t));
	int err;

	if (!t) {
		err = -ENOMEM;
		goto fail;
	}
	t->w = w;
	t->pid = p->pid;
	memcpy(t->comm, p->comm, sizeof(t->comm));
	t->seconds = seconds;
	t->cpu_start = watch_cpu();
	t->target = session__trace(w->s, &to);
	if (!t->target) {
		err = -errno;
		goto fail;
	}
	/* the split's baseline: the allocator's heaps as the probes go live
	 * (before, blocks are made that no trace sees) */
	split_read_smaps(w->proc_dir, p->pid, &t->alloc_anon_start);
	/* the window counts from its probes going live */
	t->started = watch_now();
	t->timer = loop__add_timer(w->loop, (uint64_t)(seconds * 1e9), 0, on_trace_end, t);
	if (!t->timer) {
		err = -errno;
		session_target__free(w->s, t->target);
		goto fail;
	}
	w->traces[w->ntraces++] = t;
	p->traced = true;
	p->traced_at = t->started;
	lw_info("tracing PID %d (%s) for %.0f s: %s\n", (int)p->pid, p->comm, seconds, why);
	return 0;
fail:
	free(t);
	lw_warn("cannot trace PID %d (%s): %s\n", (int)p->pid, p->comm, strerror(-err));
	w->c.traces[WATCH_TRACE_ERROR]++;
	return err;
}

/* The process's memory as its trace's probes go, for the split. */
static void snapshot_end(struct watch *w, struct wtrace *t)
{
	struct rss_status st;
	char name[16];

	if (!procscan_read(w->proc_dir, t->pid, name, &st) &&
	    !split_read_smaps(w->proc_dir, t->pid, &t->alloc_anon_end)) {
		t->anon_end = st.anon;
		t->have_end = true;
	}
}

/* The trace ends (why: its window is over, the budget, its process
 * exited): its report is kept, the target freed. */
static void finish_trace(struct watch *w, struct wtrace *t, enum watch_outcome why)
{
	struct wproc *p = watch_find_proc(w, t->pid);
	const char *comm = t->comm;
	enum watch_outcome outcome;
	struct mem_split split = { 0 };
	uint64_t outstanding = 0;
	bool exited = false;
	int err;

	session_target__stop(w->s, t->target);
	snapshot_end(w, t);
	err = watch_keep_report(w, t, &exited, &outstanding, &split);
	session_target__free(w->s, t->target);
	w->trace_cost = watch_cpu() - t->cpu_start;
	if (err) {
		outcome = exited || procfs_process_alive(t->pid) ? WATCH_TRACE_EXITED :
								   WATCH_TRACE_ERROR;
		lw_warn("trace of PID %d (%s) failed: no report: %s\n", (int)t->pid, comm,
			strerror(-err));
	} else {
		outcome = exited && why != WATCH_TRACE_BUDGET ? WATCH_TRACE_EXITED : why;
		/* said once its report is kept and written */
		lw_info("trace of PID %d (%s) %s after %.1f s: %.1f MiB outstanding; anon %.1f MiB "
			"= live %.1f + retained %.1f + runtime %.1f + other %.1f (CPU %.2f s)\n",
			(int)t->pid, comm, watch_outcome_name(outcome), watch_now() - t->started,
			watch_mib(outstanding), watch_mib(split.anon), watch_mib(split.live),
			watch_mib(split.retained), watch_mib(split.runtime),
			watch_mib(split.other), w->trace_cost);
	}
	w->c.traces[outcome]++;
	if (p)
		p->traced = false;
	loop__remove(w->loop, t->timer);
	for (size_t i = 0; i < w->ntraces; i++)
		if (w->traces[i] == t) {
			w->traces[i] = w->traces[--w->ntraces];
			break;
		}
	w->c.processes_traced = w->ntraces;
	free(t);
}

void watch_check_traces(struct watch *w)
{
	for (size_t i = w->ntraces; i-- > 0;)
		if (!session_target__live(w->traces[i]->target))
			finish_trace(w, w->traces[i], WATCH_TRACE_EXITED);
}

void watch_end_traces(struct watch *w)
{
	while (w->ntraces)
		finish_trace(w, w->traces[w->ntraces - 1], WATCH_TRACE_COMPLETED);
}

/* ---- the budget, and which suspects are traced ---- */

void watch_enforce_budget(struct watch *w, double used)
{
	double limit = budget_s(w);

	w->c.budget_used_ratio = limit > 0 ? used / limit : 0;
	if (used <= limit) {
		if (w->over_budget)
			lw_info("CPU back within budget (%.2f%% of a core over the last %.0f s)\n",
				used / WATCH_BUDGET_WINDOW_S * 100, WATCH_BUDGET_WINDOW_S);
		w->over_budget = false;
		return;
	}
	if (!w->over_budget)
		lw_warn("over the CPU budget: %.2f%% of a core over the last %.0f s, budget %.2f%%: "
			"%s\n",
			used / WATCH_BUDGET_WINDOW_S * 100, WATCH_BUDGET_WINDOW_S, w->o.cpu_budget_pct,
			w->ntraces ? "stopping tracing" : "no tracing until back within it");
	w->over_budget = true;
	/* each keeps the report of what it saw */
	while (w->ntraces)
		finish_trace(w, w->traces[w->ntraces - 1], WATCH_TRACE_BUDGET);
}

void watch_trace_suspects(struct watch *w, double t, double used)
{
	while (!w->o.no_trace && w->ntraces < w->o.max_traced) {
		struct wproc *best = NULL;

		for (size_t i = 0; i < w->nprocs; i++) {
			struct wproc *p = &w->procs[i];

			if (!p->s.v.suspect || p->traced || !may_trace(w, p) ||
			    (p->traced_at && t - p->traced_at < RETRACE_AFTER_S))
				continue;
			if (!best || p->s.v.slope > best->s.v.slope)
				best = p;
		}
		if (!best)
			return;
		if (!budget_allows(w, used)) {
			/* counted once per suspect: it is not retried until
			 * RETRACE_AFTER_S */
			lw_warn("not tracing suspect PID %d (%s): over the CPU budget "
				"(%.2f s of %.2f s in the last %.0f s)\n",
				(int)best->pid, best->comm, used, budget_s(w), WATCH_BUDGET_WINDOW_S);
			best->traced_at = t;
			w->c.traces[WATCH_TRACE_BUDGET]++;
			continue;
		}
		if (start_trace(w, best, w->o.trace_seconds, "a suspect"))
			best->traced_at = t;
	}
}

int watch__trace(struct watch *w, pid_t pid, double seconds, const char **why)
{
	struct wproc *p = watch_find_proc(w, pid);
	double t = watch_now();

	if (seconds == 0)
		seconds = w->o.trace_seconds;
	if (!(seconds >= 1 && seconds <= 3600)) {
		*why = "seconds must be 1 to 3600";
		return -EINVAL;
	}
	if (!p || !p->seen || procfs_process_alive(pid)) {
		*why = "no such process";
		return -ESRCH;
	}
	if (p->traced) {
		*why = "already traced";
		return -EBUSY;
	}
	if (w->ntraces >= w->o.max_traced) {
		*why = "as many processes traced as --max-traced allows";
		return -EBUSY;
	}
	if (!budget_allows(w, watch_window_cpu(w, t, watch_cpu()))) {
		*why = "over the CPU budget";
		w->c.traces[WATCH_TRACE_BUDGET]++;
		return -EDQUOT;
	}
	*why = "tracing";
	return start_trace(w, p, seconds, "requested");
}
