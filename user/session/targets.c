// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "report.h"
#include "session_int.h"
#include "targets.h"

struct session_target {
	struct session_target *next;
	pid_t pid;
	uint64_t sample_bytes;
	/* its probes went live then; it stopped then (0: not yet) */
	uint64_t start_ns, stop_ns, window_ns;
	/* the process and its children: a table of its own, freed whole */
	struct procs *procs;
	bool stopped;
};

struct lw_proc *session_proc(struct session *s, pid_t pid, struct procs **table)
{
	struct session_target *t;
	struct lw_proc *p = procs__live(s->procs, pid);

	if (p) {
		if (table)
			*table = s->procs;
		return p;
	}
	/* one lookup per target: a daemon traces a few processes at a time */
	for (t = s->targets; t; t = t->next) {
		if (t->stopped)
			continue;
		p = procs__live(t->procs, pid);
		if (p) {
			if (table)
				*table = t->procs;
			return p;
		}
	}
	return NULL;
}

uint64_t session_rate(struct session *s, pid_t pid)
{
	struct session_target *t;
	struct procs *table;

	if (!session_proc(s, pid, &table) || table == s->procs)
		return s->o->sample_bytes;
	for (t = s->targets; t; t = t->next) {
		if (t->procs == table)
			return t->sample_bytes;
	}
	return s->o->sample_bytes;
}

struct procs *session_table(struct session *s, size_t i)
{
	struct session_target *t;

	if (!i)
		return s->procs;
	for (t = s->targets; t; t = t->next) {
		if (!t->stopped && !--i)
			return t->procs;
	}
	return NULL;
}

static void add_ledger_counters(struct ledger_counters *sum, const struct procs *p)
{
	struct ledger_counters lc;

	procs__ledger_counters(p, &lc);
	sum->unknown_frees += lc.unknown_frees;
	sum->replaced_blocks += lc.replaced_blocks;
	sum->unmatched_reallocs += lc.unmatched_reallocs;
}

void session_targets_counters(struct session *s, struct ledger_counters *sum)
{
	struct session_target *t;

	*sum = s->freed_targets;
	for (t = s->targets; t; t = t->next)
		add_ledger_counters(sum, t->procs);
}

static void release(struct session *s, struct session_target *t)
{
	size_t i;

	add_ledger_counters(&s->freed_targets, t->procs);

	for (i = 0; i < procs__count(t->procs); i++) {
		pid_t pid = procs__at(t->procs, i)->pid;

		symbolizer__forget_process(s->sym, pid);
		if (s->unwind)
			unwinder__forget(s->unwind, pid);
	}
	procs__free(t->procs);
	free(t);
}

/* The mapping hooks stay only while a target is traced (a front end's
 * choice: session_hooks.maps_while_tracing; a no-op otherwise). */
static void maps_while_traced(struct session *s)
{
	struct session_target *t;

	for (t = s->targets; t; t = t->next)
		if (!t->stopped)
			return;
	tracer__map_hooks(s->tracer, false);
}

struct session_target *session__trace(struct session *s, const struct session_target_opts *o)
{
	struct session_target *t;
	int err;

	if (o->pid <= 0) {
		errno = EINVAL;
		return NULL;
	}
	if (session_proc(s, o->pid, NULL)) {
		errno = EEXIST;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->procs = procs__new())) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->pid = o->pid;
	t->sample_bytes = o->sample_bytes;
	/* in the list before its probes: its first records find it */
	t->next = s->targets;
	s->targets = t;
	/* the mapping hooks go live first: the process's first mappings
	 * under its probes are seen */
	err = tracer__map_hooks(s->tracer, true);
	if (err)
		lw_err("cannot attach the mapping hooks: %s; mappings of process %d are not "
		       "traced\n", strerror(-err), o->pid);
	err = session_attach(s, t->procs, o->pid, o->sample_bytes);
	if (err) {
		session_target__free(s, t);
		errno = -err;
		return NULL;
	}
	t->window_ns = o->window_ns;
	t->start_ns = now_ns();
	lw_debug("process %d: traced as a target\n", o->pid);
	return t;
}

void session_target__stop(struct session *s, struct session_target *t)
{
	size_t i;
	int n;

	if (t->stopped)
		return;
	/* what it did until now belongs in its report; a hold of it in the
	 * rings is continued on the way */
	n = tracer__consume(s->tracer);
	if (n < 0)
		lw_debug("process %d: reading the rings: %s\n", t->pid, strerror(-n));
	for (i = 0; i < procs__count(t->procs); i++) {
		struct lw_proc *p = procs__at(t->procs, i);

		/* no record of it is taken from here: a hold still in
		 * flight is continued as any record of an unknown process */
		tracer__untrack(s->tracer, p->pid);
		tracer__detach(s->tracer, p->pid);
		if (!p->exited)
			tracer__forget_sampled(s->tracer, p->pid, p->ledger, t->sample_bytes);
	}
	t->stopped = true;
	t->stop_ns = now_ns();
	maps_while_traced(s);
	lw_debug("process %d: no longer traced\n", t->pid);
}

bool session_target__live(const struct session_target *t)
{
	const struct lw_proc *p;

	if (t->stopped || !procs__count(t->procs))
		return false;
	p = procs__at(t->procs, 0);
	return !p->exited;
}

pid_t session_target__pid(const struct session_target *t)
{
	return t->pid;
}

int session_target__report(struct session *s, struct session_target *t, struct report *r)
{
	struct report_build_opts bo;
	uint64_t end;
	int n;

	/* everything it did until now: records in the rings included */
	if (!t->stopped) {
		n = tracer__consume(s->tracer);
		if (n < 0)
			return n;
	}
	output_build_opts(s, t->stopped, t->sample_bytes, &bo);
	/* every stack, as -f json */
	bo.max_stacks = s->o->top_explicit ? s->o->top : 0;
	/* its own duration, within its window */
	end = t->stopped ? t->stop_ns : bo.now_ns;
	if (t->window_ns && end > t->start_ns + t->window_ns) {
		end = t->start_ns + t->window_ns;
		if (!bo.filter.max_ts_ns || end < bo.filter.max_ts_ns)
			bo.filter.max_ts_ns = end;
	}
	bo.duration_s = (end - t->start_ns) / 1e9;
	return report_build(r, t->procs, s->stacks, s->sym, &bo);
}

int session_target__write_json(struct session *s, struct session_target *t, FILE *f)
{
	struct report_opts ro = { .format = REPORT_JSON, .top = s->o->top };
	struct report r;
	int err;

	err = session_target__report(s, t, &r);
	if (err)
		return err;
	err = report_write(f, &r, &ro);
	report_release(&r);
	return err;
}

void session_target__free(struct session *s, struct session_target *t)
{
	struct session_target **pp;

	if (!t)
		return;
	session_target__stop(s, t);
	for (pp = &s->targets; *pp && *pp != t; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = t->next;
	release(s, t);
	/* the inline stacks that only it held go with it */
	session_sweep_stacks(s);
}

static bool stack_is_free(int64_t key, void *ctx)
{
	return key <= INT32_MAX && stackstore__is_free(ctx, (int32_t)key);
}

static int unclaim(uint32_t key, void *ctx)
{
	struct session *s = ctx;
	int err = tracer__unclaim_stack(s->tracer, key);

	/* the stack is kept while its claim is: nothing is lost */
	if (err)
		lw_debug("cannot drop the walker's claim on stack %#x: %s\n", key, strerror(-err));
	return err;
}

void session_sweep_stacks(struct session *s)
{
	struct stackstore_sweep sw = { .unclaim = unclaim, .ctx = s };
	struct session_target *t;

	procs__mark_stacks(s->procs, s->stacks);
	for (t = s->targets; t; t = t->next)
		procs__mark_stacks(t->procs, s->stacks);
	if (s->tracer)
		sw.now = tracer__drains(s->tracer, &sw.drained);
	/* the ids swept go to other stacks: no process may keep them bound
	 * to the generation of its code they were taken in */
	if (stackstore__sweep(s->stacks, s->tracer ? &sw : NULL))
		symbolizer__forget_keys(s->sym, stack_is_free, s->stacks);
}

void session_free_targets(struct session *s)
{
	while (s->targets) {
		struct session_target *t = s->targets;

		s->targets = t->next;
		release(s, t);
	}
}
