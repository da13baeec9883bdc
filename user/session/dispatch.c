// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A record, decoded, into the ledgers, the mappings and the stack stores. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mapevent.h"
#include "session_int.h"

/* Copy a new stack out of the kernel and let the symbolizer see it while
 * the process is alive (it may have dlopen'd the code since we looked). */
static void note_stack(struct session *s, pid_t pid, int32_t stack_id)
{
	uint64_t ips[LW_MAX_STACK_DEPTH];
	const uint64_t *known;
	int n;

	if (stack_id < 0)
		return;
	n = stackstore__get(s->stacks, stack_id, &known);
	if (n < 0) {
		n = tracer__stack(s->tracer, stack_id, ips, LW_MAX_STACK_DEPTH);
		if (n < 0 || stackstore__put(s->stacks, stack_id, ips, n)) {
			s->udrops.stack_fetch++;
			return;
		}
		known = ips;
	}
	if (stackstore__first_for(s->stacks, stack_id, pid)) {
		symbolizer__note_stack(s->sym, pid, stack_id, known, n);
		if (s->oom)
			oomwatch__note_stack(s->oom, pid, stack_id);
	}
}

/*
 * A free of a block never seen allocated, made by glibc emptying the cache
 * of a thread that exits: tcache_thread_shutdown frees every chunk the
 * thread's cache holds (blocks the program freed already, which glibc kept
 * for reuse) and the cache itself, which glibc allocated inside malloc.
 * Told by free's caller, named from libc's symbols (libc6-dbg).
 */
static bool thread_cache_free(struct session *s, const struct lw_event *e)
{
	const struct sym_frame *f;
	int n, i;

	if (!e->aux)
		return false;
	n = symbolizer__resolve(s->sym, e->pid, e->aux, true, &f);
	for (i = 0; i < n; i++)
		if (f[i].function && !strcmp(f[i].function, "tcache_thread_shutdown"))
			return true;
	return false;
}

/* The stack id a process's record names, in the session's store: frames
 * that came with it are interned (and named, when they define an id). */
static int32_t event_stack(struct session *s, const struct lw_record *r)
{
	const struct lw_event *e = r->e;
	int32_t stack_id = e->stack_id;

	if (r->ips) {	/* a new stack, or one without an id: keep it here */
		stack_id = stackstore__intern(s->stacks, r->ips, r->nips);
		if (stack_id >= 0 && e->flags & LW_EV_STACK_TRUNCATED)
			stackstore__set_truncated(s->stacks, stack_id);
		if (stack_id >= 0 && e->flags & LW_EV_STACK_DEFINE &&
		    stackstore__name(s->stacks, (uint32_t)e->stack_id, stack_id))
			stack_id = -ENOMEM;
	} else if (stack_id >= 0) {	/* named by the walker, sent before */
		stack_id = stackstore__named(s->stacks, (uint32_t)stack_id);
	} else {
		return stack_id;
	}
	if (stack_id < 0) {
		s->udrops.stack_fetch++;
		stack_id = LEDGER_NO_STACK;
	}
	return stack_id;
}

/* The traced process of a record, or NULL (counted: a stray record). */
static struct lw_proc *event_proc(struct session *s, const struct lw_event *e)
{
	struct lw_proc *p = session_proc(s, e->pid, NULL);

	if (!p)
		s->udrops.stray_events++;
	/* A held process mapped code since its last allocation: its modules
	 * are read before this allocation's stack is bound to them, as the
	 * code may be where other code was (a plugin reloaded). */
	else if (e->flags & LW_EV_HELD && e->type != LW_REC_EXEC)
		symbolizer__add_process(s->sym, e->pid);
	return p;
}

/* What a process's record does to it, given its stack in the session's
 * store: 0, -ENOMEM (counted), or 1 when the process is done with (no
 * hold to serve). */
typedef int (*event_fn)(struct session *s, struct lw_proc *p, const struct lw_event *e,
			int32_t stack_id);

static int apply_alloc(struct session *s, struct lw_proc *p, const struct lw_event *e,
		       int32_t stack_id)
{
	note_stack(s, e->pid, stack_id);
	return ledger__alloc(p->ledger, e->addr, e->size, stack_id, e->ts_ns);
}

static int apply_free(struct session *s, struct lw_proc *p, const struct lw_event *e,
		      int32_t stack_id)
{
	if (ledger__release(p->ledger, e->addr, NULL) == -ENOENT && thread_cache_free(s, e))
		p->thread_cache_frees++;
	return 0;
}

static int apply_realloc_begin(struct session *s, struct lw_proc *p, const struct lw_event *e,
			       int32_t stack_id)
{
	return ledger__realloc_begin(p->ledger, e->tid, e->addr);
}

static int apply_realloc_end(struct session *s, struct lw_proc *p, const struct lw_event *e,
			     int32_t stack_id)
{
	if (e->addr)
		note_stack(s, e->pid, stack_id);
	return ledger__realloc_end(p->ledger, e->tid, e->aux, e->addr, e->size, stack_id,
				   e->ts_ns);
}

static int apply_exec(struct session *s, struct lw_proc *p, const struct lw_event *e,
		      int32_t stack_id)
{
	if (pid_is_leakwatch(e->pid)) {
		follow_skip_leakwatch(s, p);
		return 1;
	}
	follow_exec(s, p, e);
	return 0;
}

static int apply_exit(struct session *s, struct lw_proc *p, const struct lw_event *e,
		      int32_t stack_id)
{
	/* (while it is live: its table says its rate) */
	tracer__forget_sampled(s->tracer, e->pid, p->ledger, session_rate(s, e->pid));
	p->exited = true;
	p->exit_code = status_code((int)e->aux);
	if (s->unwind)
		unwinder__forget(s->unwind, e->pid);
	/* its own probes go on the tracer's thread: removing them waits
	 * for grace periods */
	tracer__detach_exited(s->tracer, e->pid);
	lw_debug("process %d (%s) exited\n", e->pid, pid_comm(p));
	return 0;
}

/* LW_REC_HOLD: only what it was held for. */
static int apply_hold(struct session *s, struct lw_proc *p, const struct lw_event *e,
		      int32_t stack_id)
{
	return 0;
}

static const event_fn event_fns[LW_REC__SLOTS] = {
	[LW_REC_ALLOC] = apply_alloc,
	[LW_REC_FREE] = apply_free,
	[LW_REC_REALLOC_BEGIN] = apply_realloc_begin,
	[LW_REC_REALLOC_END] = apply_realloc_end,
	[LW_REC_EXEC] = apply_exec,
	[LW_REC_EXIT] = apply_exit,
	[LW_REC_HOLD] = apply_hold,
};

/* A process's record (but a fork): its stack, what it does, and then, if
 * it was held, what it was held for (the decoder continues it after). */
static void on_event(void *ctx, const struct lw_record *r)
{
	struct session *s = ctx;
	const struct lw_event *e = r->e;
	struct lw_proc *p = event_proc(s, e);
	int err;

	if (!p)
		return;
	err = event_fns[e->type](s, p, e, event_stack(s, r));
	if (err == 1)
		return;
	if (err == -ENOMEM)
		s->udrops.ledger_nomem++;
	if (e->flags & LW_EV_HELD)
		follow_held(s, p, e->pid);
}

static void on_fork_rec(void *ctx, const struct lw_record *r)
{
	follow_fork(ctx, r->e);
}

/* A mapping syscall of a traced process: into its intervals. */
static void on_map(void *ctx, const struct lw_record *r)
{
	const struct lw_map_event *m = r->m;
	const uint64_t *ips = r->ips;
	struct session *s = ctx;
	struct lw_proc *p = session_proc(s, m->e.pid, NULL);
	struct map_origin o = { .ts_ns = m->e.ts_ns };
	int err;

	if (!p) {
		s->udrops.stray_events++;
		return;
	}
	if (m->e.type != LW_REC_MUNMAP && m->e.type != LW_REC_MPROTECT) {
		err = mapevent_origin(s->sym, s->stacks, m, ips, session_rate(s, m->e.pid), &o);
		if (err == -ENOMEM)
			s->udrops.stack_fetch++;
		note_stack(s, m->e.pid, o.stack_id);
	}
	err = mapevent_apply(p->maps, m, &o);
	free((char *)o.file);
	if (err == -ENOMEM)
		s->udrops.ledger_nomem++;
}

/* A kernel stack id seen for the first time: copy its frames out now;
 * the kernel's functions are named at report time. */
static int32_t note_kstack(struct session *s, int32_t stack_id, const uint64_t *inline_ips,
			   size_t nips)
{
	uint64_t ips[LW_MAX_STACK_DEPTH];
	const uint64_t *known;
	int n;

	if (inline_ips) {	/* the kernel's table refused it: keep it here */
		stack_id = stackstore__intern(s->kstacks, inline_ips, nips);
		if (stack_id < 0) {
			s->udrops.stack_fetch++;
			return LEDGER_NO_STACK;
		}
		return stack_id;
	}
	if (stack_id < 0 || stackstore__get(s->kstacks, stack_id, &known) >= 0)
		return stack_id;
	n = tracer__kstack(s->tracer, stack_id, ips, LW_MAX_STACK_DEPTH);
	if (n < 0 || stackstore__put(s->kstacks, stack_id, ips, n)) {
		s->udrops.stack_fetch++;
		return LEDGER_NO_STACK;
	}
	return stack_id;
}

/* --kernel: frees are matched by address whoever frees, whatever the
 * context; a free of an object allocated before tracing began counts in
 * the pseudo-process's unknown_frees. */
static void on_kfree(void *ctx, const struct lw_record *r)
{
	struct session *s = ctx;

	ledger__release(s->kproc->ledger, r->k->addr, NULL);
}

static void on_kalloc(void *ctx, const struct lw_record *r)
{
	struct session *s = ctx;
	const struct lw_kevent *e = r->k;
	int32_t stack_id = note_kstack(s, e->stack_id, r->ips, r->nips);

	if (ledger__alloc(s->kproc->ledger, e->addr, e->size, stack_id, e->ts_ns) == -ENOMEM)
		s->udrops.ledger_nomem++;
}

/* An OOM kill: the postmortem is written now, before anything else is
 * consumed, while the victim's /proc files are still there. */
static void on_oom(void *ctx, const struct lw_record *r)
{
	struct session *s = ctx;
	struct lw_proc *p = session_proc(s, r->oom->pid, NULL);

	if (s->oom)
		oomwatch__on_kill(s->oom, r->oom, p && !p->exited ? p : NULL);
}

void dispatch_handlers(intake_fn on[LW_REC__SLOTS])
{
	for (uint32_t t = 0; t < LW_REC__SLOTS; t++) {
		if (event_fns[t])
			on[t] = on_event;
	}
	on[LW_REC_FORK] = on_fork_rec;
	on[LW_REC_OOM_KILL] = on_oom;
	for (uint32_t t = LW_REC_MMAP; t <= LW_REC_MPROTECT; t++)
		on[t] = on_map;
	on[LW_REC_KALLOC] = on_kalloc;
	on[LW_REC_KFREE] = on_kfree;
}

/* On the tracer's capture thread: the victim's files, at once. */
int dispatch_oom_early(void *ctx, const struct lw_oom_event *e)
{
	struct session *s = ctx;

	return s->oom ? oomwatch__capture_early(s->oom, e) : 0;
}
