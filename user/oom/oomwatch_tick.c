// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The OOM watcher between kills (oomwatch__tick and oomwatch__note_stack):
 * the stacks of watched processes symbolized ahead of a kill, within a time
 * budget; the memory cgroups of traced processes checked against
 * --snapshot-at; the state of processes that are gone dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "oomwatch_int.h"

/* ---------------------------------------------------------------------- */
/* Between kills                                                          */

void oomwatch__note_stack(struct oomwatch *w, pid_t pid, int32_t stack_id)
{
	if (w->nwarm - w->warm_head >= WARM_QUEUE_MAX)
		return;
	if (w->warm_head && w->warm_head == w->nwarm)
		w->warm_head = w->nwarm = 0;
	/* reuse the consumed front before growing */
	if (w->nwarm == w->capwarm && w->warm_head) {
		memmove(w->warm, w->warm + w->warm_head,
			(w->nwarm - w->warm_head) * sizeof(*w->warm));
		w->nwarm -= w->warm_head;
		w->warm_head = 0;
	}
	if (lw_vec_reserve(w->warm, w->capwarm, w->nwarm + 1))
		return;
	w->warm[w->nwarm++] = (struct warm){ pid, stack_id };
}

/* Resolve queued stacks while there is time: the symbolizer caches every
 * address, so a postmortem finds them resolved.  The first address of a
 * module loads its debug information (tens of ms for libc's), which is
 * why the capture thread, not this one, reads a victim's files. */
static void warm_up(struct oomwatch *w, uint64_t start_ns)
{
	while (w->warm_head < w->nwarm &&
	       lw_now_ns() - start_ns < WARM_BUDGET_NS) {
		const struct warm *v = &w->warm[w->warm_head++];
		const struct sym_frame *frames;
		const uint64_t *ips;
		int n, i;

		n = stackstore__get(w->o.stacks, v->stack_id, &ips);
		for (i = 0; i < n; i++)
			symbolizer__resolve_in(w->o.sym, v->pid, v->stack_id, ips[i], true,
					       &frames);
	}
}

static struct watched *watched(struct oomwatch *w, pid_t pid)
{
	struct watched *v;
	size_t i;

	for (i = 0; i < w->nw; i++) {
		if (w->w[i].pid == pid)
			return &w->w[i];
	}
	if (lw_vec_reserve(w->w, w->capw, w->nw + 1))
		return NULL;
	v = &w->w[w->nw++];
	memset(v, 0, sizeof(*v));
	v->pid = pid;
	return v;
}

static void snapshot(struct oomwatch *w, const struct lw_proc *proc, const char *cgroup,
		     uint64_t now_ns)
{
	struct capture c = {};
	struct victim_files *f = calloc(1, sizeof(*f));
	struct proc_maps maps = {};
	int err;

	if (!f)
		return;
	c.files = f;
	c.pm.kind = PM_SNAPSHOT;
	c.pm.event_ns = now_ns;
	c.pm.event_time = wall_time(now_ns);
	c.pm.threshold_percent = w->o.snapshot_pct;
	c.pm.victim.pid = proc->pid;
	c.pm.victim.comm = proc->comm;
	c.pm.victim.uid = -1;
	if (!procfs_read_maps(proc->pid, &maps) && maps.n && !pm_maps_summarize(&maps, &f->maps))
		f->have_maps = true;
	proc_maps__free(&maps);
	f->have_status = !rss_read_status(proc->pid, &f->st);
	f->cgroup = strdup(cgroup);
	err = memcg_read(&w->mount, cgroup, &f->memcg);
	f->have_memcg = !err;
	use_files(&c, proc);
	take_timeline(w, &c, proc->pid, NULL);
	take_process(w, &c, proc, now_ns);
	write_capture(w, &c);
	capture_release(&c);
}

static void check_threshold(struct oomwatch *w, const struct lw_proc *proc, uint64_t now_ns)
{
	struct watched *v = watched(w, proc->pid);
	uint64_t usage, limit, pct = w->o.snapshot_pct;

	if (!v)
		return;
	if (!v->cgroup || now_ns - v->cgroup_ns > CGROUP_PATH_TTL_NS) {
		char *path = NULL;

		if (memcg_read_proc_cgroup(proc->pid, w->mount.version, &path))
			return;
		free(v->cgroup);
		v->cgroup = path;
		v->cgroup_ns = now_ns;
	}
	if (memcg_read_usage(&w->mount, v->cgroup, &usage, &limit) || limit == MEMCG_UNLIMITED ||
	    !limit)
		return;
	/* in 128 bits: usage * 100 of a limit near 2^62 would overflow */
	if (!v->fired && (unsigned __int128)usage * 100 >= (unsigned __int128)pct * limit) {
		v->fired = true;
		snapshot(w, proc, v->cgroup, now_ns);
	} else if (v->fired && pct > OOMWATCH_SNAPSHOT_HYSTERESIS &&
		   (unsigned __int128)usage * 100 <
		   (unsigned __int128)(pct - OOMWATCH_SNAPSHOT_HYSTERESIS) * limit) {
		v->fired = false;
	}
}

static bool is_live(pid_t pid, void *ctx)
{
	const struct lw_proc *p = procs__live(ctx, pid);

	return p && !p->exited;
}

static void prune(struct oomwatch *w, struct procs *procs)
{
	size_t i = 0;

	rsswatch__prune(w->rss, is_live, procs);
	while (i < w->nw) {
		if (is_live(w->w[i].pid, procs)) {
			i++;
			continue;
		}
		free(w->w[i].cgroup);
		w->w[i] = w->w[--w->nw];
	}
}

void oomwatch__tick(struct oomwatch *w, struct procs *procs, uint64_t now_ns)
{
	bool poll = w->o.snapshot_pct && w->mount.version != MEMCG_NONE &&
		    now_ns - w->last_poll_ns >= SNAPSHOT_POLL_NS;
	size_t i;

	for (i = 0; i < procs__count(procs); i++) {
		const struct lw_proc *p = procs__at(procs, i);

		if (p->exited || !p->attached)
			continue;
		/* rate-limited per process inside */
		rsswatch__sample(w->rss, p->pid, now_ns);
		if (poll)
			check_threshold(w, p, now_ns);
	}
	if (poll)
		w->last_poll_ns = now_ns;
	if (now_ns - w->last_prune_ns >= PRUNE_NS) {
		prune(w, procs);
		w->last_prune_ns = now_ns;
	}
	warm_up(w, now_ns);
}
