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

int dispatch_event(void *ctx, const struct lw_event *e, const uint64_t *ips)
{
	struct session *s = ctx;
	int32_t stack_id = e->stack_id;
	struct lw_proc *p;
	int err = 0;

	if (e->type == LW_REC_FORK) {
		follow_fork(s, e);
		return 0;
	}
	p = session_proc(s, e->pid, NULL);
	if (!p) {
		s->udrops.stray_events++;
		/* unknown or not, a held process must go on */
		if (e->flags & LW_EV_HELD)
			tracer__continue(s->tracer, e->pid);
		return 0;
	}
	if (ips) {	/* a new stack, or one without an id: keep it here */
		stack_id = stackstore__intern(s->stacks, ips, e->nips);
		if (stack_id >= 0 && e->flags & LW_EV_STACK_TRUNCATED)
			stackstore__set_truncated(s->stacks, stack_id);
		if (stack_id >= 0 && e->flags & LW_EV_STACK_DEFINE &&
		    stackstore__name(s->stacks, (uint32_t)e->stack_id, stack_id))
			stack_id = -ENOMEM;
		if (stack_id < 0) {
			s->udrops.stack_fetch++;
			stack_id = LEDGER_NO_STACK;
		}
	} else if (stack_id >= 0) {	/* named by the walker, sent before */
		stack_id = stackstore__named(s->stacks, (uint32_t)stack_id);
		if (stack_id < 0) {
			s->udrops.stack_fetch++;
			stack_id = LEDGER_NO_STACK;
		}
	}
	/* A held process mapped code since its last allocation: its modules
	 * are read before this allocation's stack is bound to them, as the
	 * code may be where other code was (a plugin reloaded). */
	if ((e->flags & LW_EV_HELD) && e->type != LW_REC_EXEC)
		symbolizer__add_process(s->sym, e->pid);
	switch (e->type) {
	case LW_REC_ALLOC:
		note_stack(s, e->pid, stack_id);
		err = ledger__alloc(p->ledger, e->addr, e->size, stack_id, e->ts_ns);
		break;
	case LW_REC_FREE:
		if (ledger__release(p->ledger, e->addr, NULL) == -ENOENT &&
		    thread_cache_free(s, e))
			p->thread_cache_frees++;
		break;
	case LW_REC_REALLOC_BEGIN:
		err = ledger__realloc_begin(p->ledger, e->tid, e->addr);
		break;
	case LW_REC_REALLOC_END:
		if (e->addr)
			note_stack(s, e->pid, stack_id);
		err = ledger__realloc_end(p->ledger, e->tid, e->aux, e->addr, e->size,
					  stack_id, e->ts_ns);
		break;
	case LW_REC_EXEC:
		if (pid_is_leakwatch(e->pid)) {
			follow_skip_leakwatch(s, p);
			if (e->flags & LW_EV_HELD)
				tracer__continue(s->tracer, e->pid);
			return 0;
		}
		follow_exec(s, p, e);
		break;
	case LW_REC_EXIT:
		p->exited = true;
		p->exit_code = status_code((int)e->aux);
		if (s->unwind)
			unwinder__forget(s->unwind, e->pid);
		tracer__forget_sampled(s->tracer, e->pid, p->ledger);
		/* its probes go with the tracer: removing them takes a grace
		 * period that would stall the consumer */
		lw_debug("process %d (%s) exited\n", e->pid, pid_comm(p));
		break;
	}
	if (err == -ENOMEM)
		s->udrops.ledger_nomem++;
	if (e->flags & LW_EV_HELD)
		follow_held(s, p, e->pid);
	return 0;
}

/* A mapping syscall of a traced process: into its intervals. */
int dispatch_map(void *ctx, const struct lw_map_event *m, const uint64_t *ips)
{
	struct session *s = ctx;
	struct lw_proc *p = session_proc(s, m->e.pid, NULL);
	struct map_origin o = { .ts_ns = m->e.ts_ns };
	int err;

	if (!p) {
		s->udrops.stray_events++;
		return 0;
	}
	if (m->e.type != LW_REC_MUNMAP && m->e.type != LW_REC_MPROTECT) {
		err = mapevent_origin(s->sym, s->stacks, m, ips, s->o->sample_bytes, &o);
		if (err == -ENOMEM)
			s->udrops.stack_fetch++;
		note_stack(s, m->e.pid, o.stack_id);
	}
	err = mapevent_apply(p->maps, m, &o);
	free((char *)o.file);
	if (err == -ENOMEM)
		s->udrops.ledger_nomem++;
	return 0;
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
int dispatch_kevent(void *ctx, const struct lw_kevent *e, const uint64_t *ips)
{
	struct session *s = ctx;
	struct ledger *l = s->kproc->ledger;
	int32_t stack_id;

	if (e->type == LW_REC_KFREE) {
		ledger__release(l, e->addr, NULL);
		return 0;
	}
	if (e->type != LW_REC_KALLOC)
		return 0;
	stack_id = note_kstack(s, e->stack_id, ips, e->nips);
	if (ledger__alloc(l, e->addr, e->size, stack_id, e->ts_ns) == -ENOMEM)
		s->udrops.ledger_nomem++;
	return 0;
}

/* An OOM kill: the postmortem is written now, before anything else is
 * consumed, while the victim's /proc files are still there. */
int dispatch_oom(void *ctx, const struct lw_oom_event *e)
{
	struct session *s = ctx;
	struct lw_proc *p = session_proc(s, e->pid, NULL);

	if (s->oom)
		oomwatch__on_kill(s->oom, e, p && !p->exited ? p : NULL);
	return 0;
}

/* On the tracer's capture thread: the victim's files, at once. */
int dispatch_oom_early(void *ctx, const struct lw_oom_event *e)
{
	struct session *s = ctx;

	return s->oom ? oomwatch__capture_early(s->oom, e) : 0;
}
