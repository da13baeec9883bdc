// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "htab.h"
#include "procs.h"
#include "vec.h"

struct procs {
	struct lw_proc **v;	/* in order of addition */
	size_t n, cap;
	struct lw_htab by_pid;	/* every entry, by lw_hash64(pid) */
	struct lw_proc *last;	/* events come in runs from one process */
	struct ledger_counters evicted;
};

struct procs *procs__new(void)
{
	return calloc(1, sizeof(struct procs));
}

/* Let go of the ledger and mappings: the last holder frees them, and
 * returns true. */
static bool drop_vm(struct lw_proc *proc)
{
	if (proc->vm_refs && --*proc->vm_refs) {
		proc->vm_refs = NULL;
		proc->ledger = NULL;
		proc->maps = NULL;
		return false;
	}
	free(proc->vm_refs);
	proc->vm_refs = NULL;
	ledger__free(proc->ledger);
	proc->ledger = NULL;
	maptrack__free(proc->maps);
	proc->maps = NULL;
	return true;
}

static void proc_free(struct lw_proc *proc)
{
	if (!proc)
		return;
	free(proc->comm);
	free(proc->cmdline);
	identity__put(proc->identity);
	drop_vm(proc);
	free(proc);
}

int lw_proc__share_vm(struct lw_proc *proc, struct lw_proc *owner)
{
	if (proc->ledger == owner->ledger)
		return 0;
	if (!owner->vm_refs) {
		owner->vm_refs = malloc(sizeof(*owner->vm_refs));
		if (!owner->vm_refs)
			return -ENOMEM;
		*owner->vm_refs = 1;
	}
	drop_vm(proc);
	proc->ledger = owner->ledger;
	proc->maps = owner->maps;
	proc->vm_refs = owner->vm_refs;
	++*proc->vm_refs;
	return 0;
}

void procs__free(struct procs *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		proc_free(p->v[i]);
	free(p->v);
	lw_htab_release(&p->by_pid);
	free(p);
}

static int set_str(char **dst, const char *src)
{
	char *s = NULL;

	if (src && !(s = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

struct lw_proc *procs__add(struct procs *p, pid_t pid, const char *comm, const char *cmdline)
{
	struct lw_proc *proc, *old;

	/* room in the array and the index first: past this, nothing fails */
	if (lw_vec_reserve(p->v, p->cap, p->n + 1) ||
	    lw_htab_reserve(&p->by_pid, p->by_pid.count + 1)) {
		errno = ENOMEM;
		return NULL;
	}
	proc = calloc(1, sizeof(*proc));
	if (!proc)
		return NULL;
	proc->pid = pid;
	if (lw_proc__reset(proc, comm, cmdline)) {
		proc_free(proc);
		errno = ENOMEM;
		return NULL;
	}
	old = procs__live(p, pid);
	if (old)
		old->exited = true;
	lw_htab_add(&p->by_pid, lw_hash64((uint64_t)pid), (uintptr_t)proc);
	p->v[p->n++] = proc;
	p->last = proc;
	return proc;
}

struct lw_proc *procs__live(struct procs *p, pid_t pid)
{
	struct lw_htab_slot *s;

	if (p->last && p->last->pid == pid && !p->last->exited)
		return p->last;
	/* a reused pid has older entries, all exited */
	lw_htab_for_each_match(&p->by_pid, lw_hash64((uint64_t)pid), s) {
		struct lw_proc *proc = (struct lw_proc *)s->val;

		if (proc->pid == pid && !proc->exited) {
			p->last = proc;
			return proc;
		}
	}
	return NULL;
}

size_t procs__count(const struct procs *p)
{
	return p->n;
}

size_t procs__live_count(const struct procs *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->n; i++)
		n += !p->v[i]->exited;
	return n;
}

struct lw_proc *procs__at(struct procs *p, size_t i)
{
	return i < p->n ? p->v[i] : NULL;
}

static void add_counters(struct ledger_counters *sum, const struct ledger_counters *c)
{
	sum->unknown_frees += c->unknown_frees;
	sum->replaced_blocks += c->replaced_blocks;
	sum->unmatched_reallocs += c->unmatched_reallocs;
}

static void evict(struct procs *p, struct lw_proc *proc)
{
	struct ledger_counters c = *ledger__counters(proc->ledger);

	lw_htab_del(&p->by_pid, lw_hash64((uint64_t)proc->pid), (uintptr_t)proc);
	if (p->last == proc)
		p->last = NULL;
	/* a ledger shared by CLONE_VM counts once, with whoever holds it last */
	if (drop_vm(proc))
		add_counters(&p->evicted, &c);
	proc_free(proc);
}

size_t procs__evict_reported(struct procs *p, size_t keep_exited,
			     void (*gone)(struct lw_proc *proc, void *ctx), void *ctx)
{
	size_t i, k = 0, exited = 0, evicted;

	for (i = 0; i < p->n; i++)
		exited += p->v[i]->exited;
	if (exited <= keep_exited)
		return 0;
	evicted = exited - keep_exited;
	/* the oldest go; the order of the others is kept */
	for (i = 0; i < p->n; i++) {
		struct lw_proc *proc = p->v[i];

		if (proc->exited && exited-- > keep_exited) {
			if (gone)
				gone(proc, ctx);
			evict(p, proc);
			continue;
		}
		p->v[k++] = proc;
	}
	p->n = k;
	return evicted;
}

const struct ledger_counters *procs__evicted_counters(const struct procs *p)
{
	return &p->evicted;
}

/* Whether an earlier entry than i holds i's ledger (CLONE_VM). */
static bool earlier_holder(const struct procs *p, size_t i)
{
	size_t j;

	for (j = 0; p->v[i]->vm_refs && j < i; j++)
		if (p->v[j]->ledger == p->v[i]->ledger)
			return true;
	return false;
}

void procs__ledger_counters(const struct procs *p, struct ledger_counters *sum)
{
	size_t i;

	*sum = p->evicted;
	for (i = 0; i < p->n; i++)
		if (!earlier_holder(p, i))
			add_counters(sum, ledger__counters(p->v[i]->ledger));
}

static void mark_stack(int32_t stack_id, void *ctx)
{
	stackstore__mark(ctx, stack_id);
}

void procs__mark_stacks(struct procs *p, struct stackstore *stacks)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		ledger__for_each_stack(p->v[i]->ledger, mark_stack, stacks);
		maptrack__for_each_stack(p->v[i]->maps, mark_stack, stacks);
	}
}

int lw_proc__reset(struct lw_proc *proc, const char *comm, const char *cmdline)
{
	struct ledger *l = ledger__new();
	struct maptrack *m = maptrack__new(getpagesize());

	if (!l || !m || set_str(&proc->comm, comm ? comm : "?") ||
	    set_str(&proc->cmdline, cmdline)) {
		ledger__free(l);
		maptrack__free(m);
		return -ENOMEM;
	}
	/* an exec leaves any process that shared the old address space
	 * with it */
	drop_vm(proc);
	proc->ledger = l;
	proc->maps = m;
	return 0;
}
