// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --watch's sample rounds: the memory of every process and of their
 * memory cgroups, a series of each, and its verdict (slope.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "procscan.h"
#include "watch_int.h"

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

/* The parts of the identity src a process or cgroup of the daemon's
 * table keeps (copies: the cache lets its entries go), then src let go. */
static void copy_identity(struct identity *dst, const struct identity *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src)
		return;
	dst->container_id = src->container_id ? strdup(src->container_id) : NULL;
	dst->namespace = src->namespace ? strdup(src->namespace) : NULL;
	dst->pod = src->pod ? strdup(src->pod) : NULL;
	dst->container = src->container ? strdup(src->container) : NULL;
	identity__put(src);
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

struct wproc *watch_find_proc(const struct watch *w, pid_t pid)
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

/* ---- cgroups ---- */

static void wcgroup_clear(struct wcgroup *g)
{
	free(g->path);
	identity__clear(&g->id);
	free(g->s.pts);
}

void watch_procs_free(struct watch *w)
{
	for (size_t i = 0; i < w->nprocs; i++)
		wproc_clear(&w->procs[i]);
	for (size_t i = 0; i < w->ncgs; i++)
		wcgroup_clear(&w->cgs[i]);
	free(w->procs);
	free(w->cgs);
	w->procs = NULL;
	w->cgs = NULL;
	w->nprocs = w->ncgs = 0;
}

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

/* ---- one sample round ---- */

/* One process's sample and verdict; false when it is gone, a kernel
 * thread, or the daemon. */
static bool sample_proc(struct watch *w, struct wproc *p, double t)
{
	struct slope_verdict was = p->s.v;

	p->seen = false;
	if (p->pid == getpid() || procscan_read(w->proc_dir, p->pid, p->comm, &p->mem))
		return false;
	p->seen = true;
	if (series_add(&p->s, t - w->t0, (double)p->mem.anon, keep_s(w)) ||
	    slope_judge(&w->o.detector, p->s.pts, p->s.n, &p->s.v))
		return false;
	if (p->s.v.suspect && !was.suspect)
		lw_info("suspect: PID %d (%s): anon %.1f MiB, growing %.0f KiB/s over %.0f s\n",
			(int)p->pid, p->comm, watch_mib(p->mem.anon), p->s.v.slope / 1024,
			w->o.detector.window_s);
	else if (!p->s.v.suspect && was.suspect)
		lw_info("no longer a suspect: PID %d (%s): %s\n", (int)p->pid, p->comm,
			slope_reason_name(p->s.v.reason));
	if (p->cgroup && strcmp(p->cgroup, "/")) {
		struct wcgroup *g = find_cgroup(w, p->cgroup, true);

		if (g && !g->seen)
			sample_cgroup(w, g, t - w->t0);
	}
	return true;
}

void watch_sample(struct watch *w)
{
	double t = watch_now(), used;
	pid_t *pids = NULL;
	size_t n = 0, suspects = 0;

	if (procscan_list(w->proc_dir, &pids, &n) || merge_scan(w, pids, n)) {
		lw_warn("cannot list %s: %s\n", w->proc_dir, strerror(errno));
		free(pids);
		return;
	}
	free(pids);
	for (size_t i = 0; i < w->ncgs; i++)
		w->cgs[i].seen = false;
	for (size_t i = 0; i < w->nprocs; i++)
		if (sample_proc(w, &w->procs[i], t))
			suspects += w->procs[i].s.v.suspect;
	/* cgroups with no process left go */
	for (size_t i = 0; i < w->ncgs;) {
		if (w->cgs[i].seen) {
			suspects += w->cgs[i].s.v.suspect;
			i++;
			continue;
		}
		wcgroup_clear(&w->cgs[i]);
		w->cgs[i] = w->cgs[--w->ncgs];
	}

	w->c.samples++;
	w->c.suspects = suspects;
	w->c.processes_watched = 0;
	for (size_t i = 0; i < w->nprocs; i++)
		w->c.processes_watched += w->procs[i].seen;
	w->c.cpu_seconds = watch_cpu();
	used = watch_window_cpu(w, t, w->c.cpu_seconds);
	watch_enforce_budget(w, used);
	watch_trace_suspects(w, t, used);
	w->c.processes_traced = w->ntraces;
}

/* ---- queries ---- */

static const char *str(const char *s)
{
	return s ? s : "";
}

static void fill_info(const struct watch *w, const struct wproc *p, struct watch_proc_info *out)
{
	const struct wreport *r = watch_find_report(w, p->pid);

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
	const struct wproc *p = watch_find_proc(w, pid);

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
