// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "memcg.h"
#include "options.h"
#include "procfs.h"
#include "procscan.h"
#include "report_build.h"
#include "safefile.h"
#include "tracejob.h"
#include "watch.h"

/* A process the detector traced is not traced again by the detector for
 * this long (a request through the API may). */
#define RETRACE_AFTER_S 600.0
/* What a trace is expected to cost until one has been measured: a
 * leakwatch attach, 10 s of sampled tracing and its symbolization here. */
#define TRACE_COST_GUESS_S 0.5
/* How long shutdown waits for the traces' final reports. */
#define SHUTDOWN_WAIT_S 15.0

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

struct wtrace {
	struct watch *w;
	struct tracejob *job;
	struct loop_source *src[2];
	int fd[2];
	bool oom_watcher;	/* the --oom-only child, not a trace */
	pid_t pid;
	double started, seconds;
	char comm[16];		/* at the start: the process may be gone at the end */
	uint64_t alloc_anon_start;	/* the allocator's resident anon once probes are live */
	bool have_start;
	/* the process as the probes go (the window's end, or a stop): what
	 * it allocates after that is no trace's */
	uint64_t alloc_anon_end, anon_end;
	bool have_end;
	struct loop_source *end_timer;
	bool budget_stop;
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

static void wreport_clear(struct wreport *r)
{
	if (r->parsed)
		report_release(&r->model);
	json_object_put(r->obj);
	free(r->json);
	memset(r, 0, sizeof(*r));
}

struct cpu_point {
	double t, cpu;
};

struct watch {
	struct watch_options o;
	char *exe;
	char *traced_pm_dir;	/* --postmortem-dir/traced: the traces' postmortems */
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
	struct wtrace *oom;	/* with --postmortem-dir: every OOM kill's postmortem */
	struct wreport *reports;
	size_t nreports;

	struct cpu_point *cpu_hist;	/* ring over the budget window */
	size_t cpu_n, cpu_cap, cpu_head;
	double children_cpu;	/* of trace children reaped */
	double trace_cost;	/* CPU of the last trace */
	bool over_budget;	/* said so already */

	struct watch_counters c;
	struct loop *loop;
	bool stopping;
	double stop_deadline;
};

const char *watch_outcome_name(enum watch_outcome o)
{
	static const char *const names[] = { "completed", "budget", "exited", "error" };

	return o < WATCH_TRACE_OUTCOMES ? names[o] : "?";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/* ---- series ---- */

static int series_add(struct series *s, double t, double y, double keep_s)
{
	size_t drop = 0;

	/* keep the window and one sample before it */
	while (drop + 1 < s->n && t - s->pts[drop + 1].t > keep_s)
		drop++;
	if (drop) {
		memmove(s->pts, s->pts + drop, (s->n - drop) * sizeof(*s->pts));
		s->n -= drop;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct slope_point *p = realloc(s->pts, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->pts = p;
		s->cap = cap;
	}
	s->pts[s->n++] = (struct slope_point){ t, y };
	return 0;
}

/* What a series keeps: the window and its slack (slope.h). */
static double keep_s(const struct watch *w)
{
	return w->o.detector.window_s * (1 + SLOPE_WINDOW_SLACK) + w->o.sample_interval_s;
}

/* ---- processes ---- */

static void wproc_clear(struct wproc *p)
{
	free(p->cmdline);
	free(p->cgroup);
	identity__clear(&p->id);
	free(p->s.pts);
}

static void copy_identity(struct identity *dst, const struct identity *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src)
		return;
	dst->container_id = src->container_id ? strdup(src->container_id) : NULL;
	dst->namespace = src->namespace ? strdup(src->namespace) : NULL;
	dst->pod = src->pod ? strdup(src->pod) : NULL;
	dst->container = src->container ? strdup(src->container) : NULL;
}

/* A new process: its command line, memory cgroup and container, once. */
static void wproc_init(struct watch *w, struct wproc *p, pid_t pid)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (procfs_read_cmdline(pid, &p->cmdline))
		p->cmdline = NULL;
	if (w->memcg.version != MEMCG_NONE &&
	    memcg_read_proc_cgroup(pid, w->memcg.version, &p->cgroup))
		p->cgroup = NULL;
	if (w->ids)
		copy_identity(&p->id, identities__pid(w->ids, pid));
}

/* Merge a scan (pids ascending) into w->procs: new ones added, gone ones
 * dropped.  A pid missing from one scan and back in the next is a new
 * process (its series starts again). */
static int merge_scan(struct watch *w, const pid_t *pids, size_t n)
{
	struct wproc *next;
	size_t i = 0, j = 0, k = 0;

	next = calloc(n ? n : 1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	while (j < n) {
		if (i < w->nprocs && w->procs[i].pid < pids[j]) {
			wproc_clear(&w->procs[i++]);
			continue;
		}
		if (i < w->nprocs && w->procs[i].pid == pids[j]) {
			next[k++] = w->procs[i++];
		} else {
			wproc_init(w, &next[k++], pids[j]);
		}
		j++;
	}
	while (i < w->nprocs)
		wproc_clear(&w->procs[i++]);
	free(w->procs);
	w->procs = next;
	w->nprocs = k;
	return 0;
}

static struct wproc *find_proc(const struct watch *w, pid_t pid)
{
	size_t lo = 0, hi = w->nprocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->procs[mid].pid == pid)
			return &w->procs[mid];
		if (w->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool is_trace_child(const struct watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->ntraces; i++)
		if (tracejob__child(w->traces[i]->job) == pid)
			return true;
	return false;
}

/* ---- cgroups ---- */

static struct wcgroup *find_cgroup(struct watch *w, const char *path, bool add)
{
	struct wcgroup *g;

	for (size_t i = 0; i < w->ncgs; i++)
		if (!strcmp(w->cgs[i].path, path))
			return &w->cgs[i];
	if (!add)
		return NULL;
	g = realloc(w->cgs, (w->ncgs + 1) * sizeof(*g));
	if (!g)
		return NULL;
	w->cgs = g;
	g = &w->cgs[w->ncgs];
	memset(g, 0, sizeof(*g));
	g->path = strdup(path);
	if (!g->path)
		return NULL;
	if (w->ids)
		copy_identity(&g->id, identities__cgroup(w->ids, path, NULL));
	w->ncgs++;
	return g;
}

static uint64_t kv(const struct memcg_kvs *k, const char *key)
{
	uint64_t v = 0;

	memcg_kvs_get(k, key, &v);
	return v;
}

static void sample_cgroup(struct watch *w, struct wcgroup *g, double t)
{
	struct memcg_info info = { 0 };

	if (memcg_read(&w->memcg, g->path, &info))
		return;
	if (info.version == MEMCG_V2) {
		g->anon = kv(&info.stat, "anon");
		g->file = kv(&info.stat, "file");
		g->shmem = kv(&info.stat, "shmem");
		g->oom_kills = kv(&info.events, "oom_kill");
	} else {
		/* v1: the hierarchical totals; cache counts shmem too */
		uint64_t cache = kv(&info.stat, "total_cache");

		g->anon = kv(&info.stat, "total_rss");
		g->shmem = kv(&info.stat, "total_shmem");
		g->file = cache > g->shmem ? cache - g->shmem : 0;
		g->oom_kills = kv(&info.oom_control, "oom_kill");
	}
	memcg_info__free(&info);
	if (!series_add(&g->s, t, (double)g->anon, w->o.detector.window_s))
		slope_judge(&w->o.detector, g->s.pts, g->s.n, &g->s.v);
	g->seen = true;
}

/* ---- CPU budget ---- */

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double total_cpu(const struct watch *w)
{
	double cpu = self_cpu() + w->children_cpu;

	for (size_t i = 0; i < w->ntraces; i++)
		cpu += tracejob__cpu_seconds(w->traces[i]->job);
	if (w->oom)
		cpu += tracejob__cpu_seconds(w->oom->job);
	return cpu;
}

/* CPU used over the last budget window, in seconds. */
static double window_cpu(struct watch *w, double t, double cpu)
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

/* ---- traces and reports ---- */

static void watch_trace_fds(struct watch *w, struct wtrace *t);

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

/* A line a child wrote: its OOM postmortems are counted. */
static void on_child_line(void *ctx, const char *line)
{
	struct wtrace *t = ctx;
	struct watch *w = t->w;

	if (!strstr(line, "OOM postmortem of "))
		return;
	w->c.postmortems_written++;
	/* with the OOM watcher, a traced victim has two postmortems (its
	 * trace's with stacks, the watcher's) and one kill */
	if (t->oom_watcher || !w->oom)
		w->c.oom_kills++;
	lw_info("%s\n", line + (strncmp(line, "leakwatch: ", 11) ? 0 : 11));
}

static int start_oom_watcher(struct watch *w)
{
	struct tracejob_opts jo = {
		.exe = w->exe,
		.postmortem_dir = w->o.postmortem_dir,
		.host_root = w->o.host_root,
		.verbose = w->o.verbose,
		.oom_only = true,
		.on_line = on_child_line,
	};
	struct wtrace *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->w = w;
	t->oom_watcher = true;
	t->fd[0] = t->fd[1] = -1;
	jo.ctx = t;
	t->job = tracejob__start(&jo);
	if (!t->job) {
		int err = -errno;

		free(t);
		return err;
	}
	w->oom = t;
	watch_trace_fds(w, t);
	return 0;
}

static void end_oom_watcher(struct watch *w)
{
	struct wtrace *t = w->oom;

	if (!t)
		return;
	w->children_cpu += tracejob__cpu_seconds(t->job);
	for (size_t i = 0; i < 2; i++)
		loop__remove(w->loop, t->src[i]);
	tracejob__free(t->job);
	free(t);
	w->oom = NULL;
}

static int start_trace(struct watch *w, struct wproc *p, double seconds, const char *why)
{
	struct tracejob_opts jo = {
		.exe = w->exe,
		.pid = p->pid,
		.seconds = seconds,
		.sample_bytes = w->o.sample_bytes,
		.postmortem_dir = w->traced_pm_dir,
		.host_root = w->o.host_root,
		.verbose = w->o.verbose,
		.on_line = on_child_line,
	};
	struct wtrace *t;

	t = calloc(1, sizeof(*t));
	if (t) {
		t->w = w;
		jo.ctx = t;
		t->job = tracejob__start(&jo);
	}
	if (!t || !t->job) {
		int err = -errno;

		free(t);
		lw_warn("cannot trace PID %d (%s): %s\n", (int)p->pid, p->comm, strerror(-err));
		w->c.traces[WATCH_TRACE_ERROR]++;
		return err;
	}
	t->w = w;
	t->fd[0] = t->fd[1] = -1;
	/* the split's baseline until the trace says ready (on_trace_fd) */
	split_read_smaps(w->proc_dir, p->pid, &t->alloc_anon_start);
	t->pid = p->pid;
	memcpy(t->comm, p->comm, sizeof(t->comm));
	t->started = now_s();
	t->seconds = seconds;
	w->traces[w->ntraces++] = t;
	watch_trace_fds(w, t);
	p->traced = true;
	p->traced_at = t->started;
	lw_info("tracing PID %d (%s) for %.0f s: %s\n", (int)p->pid, p->comm, seconds, why);
	return 0;
}

static void keep_report(struct watch *w, pid_t pid, char *json, size_t len,
			const struct mem_split *split)
{
	struct wreport *r = NULL;
	size_t i;

	for (i = 0; i < w->nreports && !r; i++)
		if (w->reports[i].pid == pid)
			r = &w->reports[i];
	if (!r && w->nreports == WATCH_REPORTS_KEPT) {
		size_t oldest = 0;

		for (i = 1; i < w->nreports; i++)
			if (w->reports[i].at < w->reports[oldest].at)
				oldest = i;
		r = &w->reports[oldest];
	}
	if (!r)
		r = &w->reports[w->nreports++];
	else
		wreport_clear(r);
	r->pid = pid;
	r->json = json;
	r->len = len;
	r->at = now_s();
	r->split = *split;
}

static int write_json(FILE *f, void *ctx)
{
	const struct wreport *r = ctx;

	if (fwrite(r->json, 1, r->len, f) != r->len)
		return -EIO;
	return 0;
}

static uint64_t kind_bytes(json_object *kinds, const char *kind)
{
	json_object *k, *b;

	if (!json_object_object_get_ex(kinds, kind, &k) ||
	    !json_object_object_get_ex(k, "bytes", &b))
		return 0;
	return (uint64_t)json_object_get_int64(b);
}

/* The process's memory as its trace's probes go (once). */
static void snapshot_end(struct watch *w, struct wtrace *t)
{
	struct rss_status st;
	char name[16];

	if (t->have_end || t->oom_watcher)
		return;
	if (!procscan_read(w->proc_dir, t->pid, name, &st) &&
	    !split_read_smaps(w->proc_dir, t->pid, &t->alloc_anon_end)) {
		t->anon_end = st.anon;
		t->have_end = true;
	}
}

static int on_trace_end(void *ctx, uint64_t expirations)
{
	struct wtrace *t = ctx;

	snapshot_end(t->w, t);
	loop__remove(t->w->loop, t->end_timer);
	t->end_timer = NULL;
	return 0;
}

/* The trace's report: its process entry, whether it exited, the split. */
static int digest_report(struct watch *w, const struct wtrace *t, const char *json, bool *exited,
			 uint64_t *outstanding, struct mem_split *split)
{
	json_object *root, *procs, *proc = NULL, *kinds = NULL, *v;
	struct rss_status st = { 0 };
	uint64_t alloc_anon = 0;
	char name[16];
	size_t i;

	root = json_tokener_parse(json);
	if (!root)
		return -EINVAL;
	if (json_object_object_get_ex(root, "processes", &procs))
		for (i = 0; i < json_object_array_length(procs) && !proc; i++) {
			json_object *p = json_object_array_get_idx(procs, i);

			if (json_object_object_get_ex(p, "pid", &v) &&
			    json_object_get_int(v) == t->pid)
				proc = p;
		}
	*exited = proc && json_object_object_get_ex(proc, "exited", &v) &&
		  json_object_get_boolean(v);
	*outstanding = proc && json_object_object_get_ex(proc, "outstanding_bytes", &v) ?
			       (uint64_t)json_object_get_int64(v) : 0;
	if (proc)
		json_object_object_get_ex(proc, "kinds", &kinds);
	if (t->have_end) {
		st.anon = t->anon_end;
		alloc_anon = t->alloc_anon_end;
	} else if (!*exited && !procscan_read(w->proc_dir, t->pid, name, &st)) {
		split_read_smaps(w->proc_dir, t->pid, &alloc_anon);
	}
	/* the allocator's growth while traced: what it held before is
	 * nobody's the trace knows (split.h) */
	alloc_anon = alloc_anon > t->alloc_anon_start ? alloc_anon - t->alloc_anon_start : 0;
	split_compute(st.anon, alloc_anon, kind_bytes(kinds, "heap"),
		      kind_bytes(kinds, "mmap") + kind_bytes(kinds, "brk"),
		      kind_bytes(kinds, "runtime"), split);
	json_object_put(root);
	return proc ? 0 : -ENOENT;
}

static void finish_trace(struct watch *w, struct wtrace *t)
{
	struct wproc *p = find_proc(w, t->pid);
	const char *comm = t->comm;
	enum watch_outcome outcome;
	struct mem_split split = { 0 };
	uint64_t outstanding = 0;
	bool exited = false;
	size_t len = 0;
	char *json;

	w->trace_cost = tracejob__cpu_seconds(t->job);
	w->children_cpu += w->trace_cost;
	json = tracejob__take_report(t->job, &len);
	if (!json || digest_report(w, t, json, &exited, &outstanding, &split)) {
		const char *why = tracejob__error(t->job);

		outcome = exited || !procfs_process_alive(t->pid) ? WATCH_TRACE_EXITED :
								  WATCH_TRACE_ERROR;
		lw_warn("trace of PID %d (%s) failed: %s\n", (int)t->pid, comm,
			*why ? why : "no report");
		free(json);
	} else {
		outcome = t->budget_stop ? WATCH_TRACE_BUDGET :
			  exited	 ? WATCH_TRACE_EXITED :
					   WATCH_TRACE_COMPLETED;
		keep_report(w, t->pid, json, len, &split);
		if (w->o.report_dir) {
			char name[32];
			int err;

			snprintf(name, sizeof(name), "%d.json", (int)t->pid);
			for (size_t i = 0; i < w->nreports; i++)
				if (w->reports[i].pid == t->pid) {
					err = safefile_write_at(w->o.report_dir, name, SAFEFILE_MODE,
								write_json, &w->reports[i]);
					if (err)
						lw_warn("cannot write %s/%s: %s\n", w->o.report_dir,
							name, strerror(-err));
				}
		}
		/* said once its report is kept and written */
		lw_info("trace of PID %d (%s) %s after %.1f s: %.1f MiB outstanding; anon %.1f MiB "
			"= live %.1f + retained %.1f + runtime %.1f + other %.1f (CPU %.2f s)\n",
			(int)t->pid, comm, watch_outcome_name(outcome), now_s() - t->started,
			mib(outstanding), mib(split.anon), mib(split.live), mib(split.retained),
			mib(split.runtime), mib(split.other), w->trace_cost);
	}
	w->c.traces[outcome]++;
	if (p)
		p->traced = false;
	for (size_t i = 0; i < 2; i++)
		loop__remove(w->loop, t->src[i]);
	loop__remove(w->loop, t->end_timer);
	for (size_t i = 0; i < w->ntraces; i++)
		if (w->traces[i] == t) {
			w->traces[i] = w->traces[--w->ntraces];
			break;
		}
	tracejob__free(t->job);
	free(t);
}

/* Over budget: every trace stops now (its report of what it has is kept);
 * no new one starts until the window's CPU is back under the budget. */
static void enforce_budget(struct watch *w, double used)
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
	for (size_t i = 0; i < w->ntraces; i++)
		if (!w->traces[i]->budget_stop) {
			w->traces[i]->budget_stop = true;
			snapshot_end(w, w->traces[i]);
			tracejob__stop(w->traces[i]->job);
		}
}

/* Whether a new trace fits: the window's CPU plus what a trace costs.
 * One expensive trace (a large process's symbols) must not bar every
 * later one: the estimate is at most half the budget, and a trace that
 * costs more is stopped by enforce_budget. */
static bool budget_allows(const struct watch *w, double used)
{
	double cost = w->trace_cost > 0 ? w->trace_cost : TRACE_COST_GUESS_S;

	if (cost > budget_s(w) / 2)
		cost = budget_s(w) / 2;
	return !w->over_budget && used + cost <= budget_s(w);
}

static void trace_suspects(struct watch *w, double t, double used)
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

/* ---- one sample round ---- */

static void sample(struct watch *w)
{
	double t = now_s(), used;
	pid_t *pids = NULL, self = getpid();
	size_t n = 0, suspects = 0;

	if (procscan_list(w->proc_dir, &pids, &n) || merge_scan(w, pids, n)) {
		lw_warn("cannot list %s: %s\n", w->proc_dir, strerror(errno));
		free(pids);
		return;
	}
	free(pids);
	for (size_t i = 0; i < w->ncgs; i++)
		w->cgs[i].seen = false;
	for (size_t i = 0; i < w->nprocs; i++) {
		struct wproc *p = &w->procs[i];
		struct slope_verdict was = p->s.v;

		p->seen = false;
		if (p->pid == self || is_trace_child(w, p->pid) ||
		    procscan_read(w->proc_dir, p->pid, p->comm, &p->mem))
			continue;	/* gone, a kernel thread, or ours */
		p->seen = true;
		if (series_add(&p->s, t - w->t0, (double)p->mem.anon, keep_s(w)) ||
		    slope_judge(&w->o.detector, p->s.pts, p->s.n, &p->s.v))
			continue;
		if (p->s.v.suspect && !was.suspect)
			lw_info("suspect: PID %d (%s): anon %.1f MiB, growing %.0f KiB/s over "
				"%.0f s\n",
				(int)p->pid, p->comm, mib(p->mem.anon), p->s.v.slope / 1024,
				w->o.detector.window_s);
		else if (!p->s.v.suspect && was.suspect)
			lw_info("no longer a suspect: PID %d (%s): %s\n", (int)p->pid, p->comm,
				slope_reason_name(p->s.v.reason));
		suspects += p->s.v.suspect;
		if (p->cgroup && strcmp(p->cgroup, "/")) {
			struct wcgroup *g = find_cgroup(w, p->cgroup, true);

			if (g && !g->seen)
				sample_cgroup(w, g, t - w->t0);
		}
	}
	/* cgroups with no process left go */
	for (size_t i = 0; i < w->ncgs;) {
		if (w->cgs[i].seen) {
			suspects += w->cgs[i].s.v.suspect;
			i++;
			continue;
		}
		free(w->cgs[i].path);
		identity__clear(&w->cgs[i].id);
		free(w->cgs[i].s.pts);
		w->cgs[i] = w->cgs[--w->ncgs];
	}

	w->c.samples++;
	w->c.suspects = suspects;
	w->c.processes_watched = 0;
	for (size_t i = 0; i < w->nprocs; i++)
		w->c.processes_watched += w->procs[i].seen;
	w->c.cpu_seconds = total_cpu(w);
	used = window_cpu(w, t, w->c.cpu_seconds);
	enforce_budget(w, used);
	trace_suspects(w, t, used);
	w->c.processes_traced = w->ntraces;
}

/* ---- the loop ---- */

static int on_trace_fd(void *ctx, uint32_t events)
{
	struct wtrace *t = ctx;
	struct watch *w = t->w;
	int err = tracejob__pump(t->job);

	if (err && err != -EFBIG)
		lw_debug("trace of %d: %s\n", (int)t->pid, strerror(-err));
	if (!t->oom_watcher && !t->have_start && tracejob__ready(t->job)) {
		/* the split's baseline: the allocator's heaps as the probes
		 * go live (before, blocks are made that no trace sees) */
		split_read_smaps(w->proc_dir, t->pid, &t->alloc_anon_start);
		t->have_start = true;
		t->end_timer = loop__add_timer(w->loop, (uint64_t)(t->seconds * 1e9), 0,
					       on_trace_end, t);
	}
	watch_trace_fds(w, t);
	if (tracejob__done(t->job)) {
		if (t->oom_watcher) {
			if (!w->stopping)
				lw_warn("the OOM watcher (leakwatch --oom-only) ended: %s\n",
					*tracejob__error(t->job) ? tracejob__error(t->job) :
								   "no reason given");
			end_oom_watcher(w);
		} else {
			finish_trace(w, t);
		}
		if (w->stopping && !w->ntraces && !w->oom)
			loop__stop(w->loop);
	}
	return 0;
}

/* The loop waits on the trace's open pipes; a pipe closed at its end of
 * file leaves the loop in the same callback that closed it. */
static void watch_trace_fds(struct watch *w, struct wtrace *t)
{
	int fds[2];
	size_t n = tracejob__fds(t->job, fds);

	for (size_t i = 0; i < 2; i++) {
		bool open = false;

		for (size_t k = 0; k < n; k++)
			open |= fds[k] == t->fd[i];
		if (t->src[i] && !open) {
			loop__remove(w->loop, t->src[i]);
			t->src[i] = NULL;
			t->fd[i] = -1;
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (fds[k] == t->fd[0] || fds[k] == t->fd[1])
			continue;
		for (size_t i = 0; i < 2; i++)
			if (!t->src[i]) {
				t->src[i] = loop__add_fd(w->loop, fds[k], EPOLLIN, on_trace_fd, t);
				if (t->src[i])
					t->fd[i] = fds[k];
				break;
			}
	}
}

static int on_sample(void *ctx, uint64_t expirations)
{
	struct watch *w = ctx;

	if (!w->stopping)
		sample(w);
	return 0;
}

/* Every second: a trace past its window is stopped (its -d ends it; this
 * is the backstop for one that hangs), a child that exited without
 * closing its pipes is reaped. */
static int on_tick(void *ctx, uint64_t expirations)
{
	struct watch *w = ctx;
	double t = now_s();

	for (size_t i = 0; i < w->ntraces; i++)
		if (t - w->traces[i]->started > w->traces[i]->seconds + 30)
			tracejob__stop(w->traces[i]->job);
	for (size_t i = 0; i < w->ntraces;) {
		struct wtrace *tr = w->traces[i];

		tracejob__pump(tr->job);
		watch_trace_fds(w, tr);
		if (tracejob__done(tr->job)) {
			finish_trace(w, tr);
			continue;
		}
		i++;
	}
	if (w->stopping && ((!w->ntraces && !w->oom) || t > w->stop_deadline))
		loop__stop(w->loop);
	return 0;
}

static int on_signal(void *ctx, const struct signalfd_siginfo *si)
{
	struct watch *w = ctx;

	if (w->stopping)
		return 0;
	lw_info("signal %d: stopping%s\n", (int)si->ssi_signo,
		w->ntraces ? ", the traces' reports first" : "");
	w->stopping = true;
	w->stop_deadline = now_s() + SHUTDOWN_WAIT_S;
	for (size_t i = 0; i < w->ntraces; i++) {
		snapshot_end(w, w->traces[i]);
		tracejob__stop(w->traces[i]->job);
	}
	if (w->oom)
		tracejob__stop(w->oom->job);
	if (!w->ntraces && !w->oom)
		loop__stop(w->loop);
	return 0;
}

struct loop *watch__loop(struct watch *w)
{
	return w->loop;
}

int watch__run(struct watch *w)
{
	uint64_t period = (uint64_t)(w->o.sample_interval_s * 1e9);
	sigset_t set;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (!loop__add_signals(w->loop, &set, on_signal, w) ||
	    !loop__add_timer(w->loop, period, period, on_sample, w) ||
	    !loop__add_timer(w->loop, 1000000000ull, 1000000000ull, on_tick, w)) {
		lw_err("cannot start the event loop: %s\n", strerror(errno));
		return LW_EXIT_FAILURE;
	}
	w->t0 = now_s();
	if (w->o.postmortem_dir) {
		/* a traced victim has two postmortems, its trace's with its
		 * stacks and the watcher's: under one name, one would replace
		 * the other */
		struct stat st;

		if (asprintf(&w->traced_pm_dir, "%s/traced", w->o.postmortem_dir) < 0 ||
		    (mkdir(w->traced_pm_dir, 0700) && errno != EEXIST)) {
			lw_err("cannot make %s/traced: %s\n", w->o.postmortem_dir, strerror(errno));
			return LW_EXIT_FAILURE;
		}
		/* one planted there (a symlink) is not followed */
		if (lstat(w->traced_pm_dir, &st) || !S_ISDIR(st.st_mode)) {
			lw_err("%s is not a directory: remove it, leakwatch makes it\n",
			       w->traced_pm_dir);
			return LW_EXIT_FAILURE;
		}
		err = start_oom_watcher(w);
		if (err) {
			lw_err("cannot start the OOM watcher (leakwatch --oom-only): %s\n",
			       strerror(-err));
			return LW_EXIT_FAILURE;
		}
	}
	sample(w);
	lw_info("ready: watching %zu processes and %zu memory cgroups every %g s "
		"(window %g s, min growth %.0f KiB/s, CPU budget %g%% of a core%s)\n",
		(size_t)w->c.processes_watched, w->ncgs, w->o.sample_interval_s,
		w->o.detector.window_s, w->o.detector.min_growth / 1024, w->o.cpu_budget_pct,
		w->o.no_trace ? ", no tracing" : "");
	err = loop__run(w->loop);
	if (err) {
		lw_err("event loop: %s\n", strerror(-err));
		return LW_EXIT_FAILURE;
	}
	for (size_t i = 0; i < w->ntraces; i++)
		lw_warn("trace of PID %d did not end in time: killed\n", (int)w->traces[i]->pid);
	return LW_EXIT_OK;
}

/* ---- construction ---- */

struct watch *watch__new(const struct watch_options *o)
{
	struct identity_opts io = { .host_root = o->host_root };
	struct watch *w;
	char buf[PATH_MAX];
	ssize_t n;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->o = *o;
	w->loop = loop__new();
	if (!w->loop) {
		err = -errno;
		goto fail;
	}
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0) {
		err = n < 0 ? -errno : -ENOENT;
		goto fail;
	}
	buf[n] = '\0';
	w->exe = strdup(buf);
	if (o->host_root && strcmp(o->host_root, "/")) {
		if (asprintf(&w->proc_dir_buf, "%s/proc", o->host_root) < 0) {
			err = -ENOMEM;
			goto fail;
		}
		w->proc_dir = w->proc_dir_buf;
	} else {
		w->proc_dir = "/proc";
	}
	if ((o->host_root ? memcg_find_host_mount(o->host_root, &w->memcg) :
			    memcg_find_mount(&w->memcg)))
		w->memcg.version = MEMCG_NONE;
	w->ids = identities__new(&io);	/* NULL: no container names */
	w->traces = calloc(o->max_traced ? o->max_traced : 1, sizeof(*w->traces));
	w->reports = calloc(WATCH_REPORTS_KEPT, sizeof(*w->reports));
	/* a point per sample over the window, and room to spare */
	w->cpu_cap = (size_t)(WATCH_BUDGET_WINDOW_S / o->sample_interval_s) + 4;
	w->cpu_hist = calloc(w->cpu_cap, sizeof(*w->cpu_hist));
	if (!w->exe || !w->traces || !w->reports || !w->cpu_hist) {
		err = -ENOMEM;
		goto fail;
	}
	return w;
fail:
	watch__free(w);
	errno = -err;
	return NULL;
}

void watch__free(struct watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->ntraces; i++) {
		tracejob__free(w->traces[i]->job);
		free(w->traces[i]);
	}
	end_oom_watcher(w);
	for (size_t i = 0; i < w->nprocs; i++)
		wproc_clear(&w->procs[i]);
	for (size_t i = 0; i < w->ncgs; i++) {
		free(w->cgs[i].path);
		identity__clear(&w->cgs[i].id);
		free(w->cgs[i].s.pts);
	}
	for (size_t i = 0; i < w->nreports; i++)
		wreport_clear(&w->reports[i]);
	loop__free(w->loop);
	identities__free(w->ids);
	memcg_mount__free(&w->memcg);
	free(w->procs);
	free(w->cgs);
	free(w->traces);
	free(w->reports);
	free(w->cpu_hist);
	free(w->proc_dir_buf);
	free(w->traced_pm_dir);
	free(w->exe);
	free(w);
}

/* ---- queries ---- */

static const char *str(const char *s)
{
	return s ? s : "";
}

static const struct wreport *find_report(const struct watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->nreports; i++)
		if (w->reports[i].pid == pid)
			return &w->reports[i];
	return NULL;
}

static void fill_info(const struct watch *w, const struct wproc *p, struct watch_proc_info *out)
{
	const struct wreport *r = find_report(w, p->pid);

	*out = (struct watch_proc_info){
		.pid = p->pid,
		.comm = p->comm,
		.cmdline = str(p->cmdline),
		.cgroup = str(p->cgroup),
		.namespace = str(p->id.namespace),
		.pod = str(p->id.pod),
		.container = str(p->id.container),
		.container_id = str(p->id.container_id),
		.anon_bytes = p->mem.anon,
		.file_bytes = p->mem.file,
		.shmem_bytes = p->mem.shmem,
		.growth_bytes_per_second = p->s.v.slope,
		.suspect = p->s.v.suspect,
		.traced = p->traced,
		.has_report = r != NULL,
	};
	if (r)
		out->split = r->split;
}

size_t watch__process_count(const struct watch *w)
{
	return w->nprocs;
}

int watch__process_at(const struct watch *w, size_t i, struct watch_proc_info *out)
{
	if (i >= w->nprocs || !w->procs[i].seen)
		return -ENOENT;
	fill_info(w, &w->procs[i], out);
	return 0;
}

int watch__process(const struct watch *w, pid_t pid, struct watch_proc_info *out)
{
	const struct wproc *p = find_proc(w, pid);

	if (!p || !p->seen)
		return -ENOENT;
	fill_info(w, p, out);
	return 0;
}

size_t watch__cgroup_count(const struct watch *w)
{
	return w->ncgs;
}

int watch__cgroup_at(const struct watch *w, size_t i, struct watch_cgroup_info *out)
{
	const struct wcgroup *g;

	if (i >= w->ncgs)
		return -ENOENT;
	g = &w->cgs[i];
	*out = (struct watch_cgroup_info){
		.path = g->path,
		.namespace = str(g->id.namespace),
		.pod = str(g->id.pod),
		.container = str(g->id.container),
		.anon_bytes = g->anon,
		.file_bytes = g->file,
		.shmem_bytes = g->shmem,
		.growth_bytes_per_second = g->s.v.slope,
		.suspect = g->s.v.suspect,
		.oom_kills = g->oom_kills,
	};
	return 0;
}

const char *watch__report(const struct watch *w, pid_t pid, size_t *len)
{
	const struct wreport *r = find_report(w, pid);

	if (!r)
		return NULL;
	*len = r->len;
	return r->json;
}

int watch__report_model(struct watch *w, pid_t pid, const struct report **out)
{
	struct wreport *r = (struct wreport *)find_report(w, pid);
	const char *why = NULL;
	int err;

	if (!r)
		return -ENOENT;
	if (!r->parsed) {
		if (!r->obj)
			r->obj = json_tokener_parse(r->json);
		if (!r->obj)
			return -EINVAL;
		err = diff_report_from_json(r->obj, &r->model, &why);
		if (err) {
			lw_debug("report of %d: %s\n", (int)pid, why ? why : strerror(-err));
			return err;
		}
		r->parsed = true;
	}
	*out = &r->model;
	return 0;
}

void watch__counters(const struct watch *w, struct watch_counters *out)
{
	*out = w->c;
}

int watch__trace(struct watch *w, pid_t pid, double seconds, const char **why)
{
	struct wproc *p = find_proc(w, pid);
	double t = now_s();

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
	if (!budget_allows(w, window_cpu(w, t, total_cpu(w)))) {
		*why = "over the CPU budget";
		w->c.traces[WATCH_TRACE_BUDGET]++;
		return -EDQUOT;
	}
	*why = "tracing";
	return start_trace(w, p, seconds, "requested");
}
