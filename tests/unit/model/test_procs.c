// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "procs.h"

static struct procs *new_procs(void)
{
	struct procs *p = procs__new();

	cr_assert_not_null(p);
	return p;
}

static struct lw_proc *add(struct procs *p, pid_t pid)
{
	struct lw_proc *proc = procs__add(p, pid, "x", NULL);

	cr_assert_not_null(proc);
	return proc;
}

/* 20,000 processes: each found by pid through the index, the cache of
 * the last one bypassed by asking in another order. */
Test(procs, live_by_pid)
{
	struct procs *p = new_procs();
	pid_t pid;

	for (pid = 1; pid <= 20000; pid++)
		add(p, pid);
	cr_assert_eq(procs__count(p), 20000);
	for (pid = 20000; pid >= 1; pid -= 7) {
		struct lw_proc *proc = procs__live(p, pid);

		cr_assert_not_null(proc, "pid %d", pid);
		cr_assert_eq(proc->pid, pid);
		cr_assert_eq(procs__at(p, (size_t)pid - 1), proc);
	}
	cr_assert_null(procs__live(p, 20001));
	procs__live(p, 5)->exited = true;
	cr_assert_null(procs__live(p, 5));
	cr_assert_eq(procs__live_count(p), 19999);
	procs__free(p);
}

/* A reused pid: the new entry is the live one, the old one is marked
 * exited (its exit was missed) and stays listed. */
Test(procs, reused_pid)
{
	struct procs *p = new_procs();
	struct lw_proc *a = add(p, 42), *b;

	add(p, 43);
	b = add(p, 42);
	cr_assert(a->exited);
	cr_assert_not(b->exited);
	cr_assert_eq(procs__live(p, 42), b);
	cr_assert_eq(procs__count(p), 3);
	b->exited = true;
	cr_assert_null(procs__live(p, 42));
	procs__free(p);
}

static void note_gone(struct lw_proc *proc, void *ctx)
{
	pid_t **out = ctx;

	*(*out)++ = proc->pid;
}

/* Eviction takes the oldest exited entries past keep_exited, keeps the
 * live ones and the order, and adds the evicted ledgers' counters up. */
Test(procs, evict_reported_keeps_newest_exits)
{
	struct procs *p = new_procs();
	pid_t gone[8], *next = gone;
	const struct ledger_counters *c;
	pid_t pid;

	for (pid = 1; pid <= 10; pid++) {
		struct lw_proc *proc = add(p, pid);

		/* an allocation at an address outstanding: one replaced block */
		cr_assert_eq(ledger__alloc(proc->ledger, 0x1000, 8, 1, 1), 0);
		cr_assert_eq(ledger__alloc(proc->ledger, 0x1000, 8, 1, 2), 0);
		proc->exited = pid % 2 == 0;	/* 2, 4, 6, 8, 10 */
	}
	cr_assert_eq(procs__evict_reported(p, 5, note_gone, &next), 0);
	cr_assert_eq(procs__evict_reported(p, 2, note_gone, &next), 3);
	cr_assert_eq(next - gone, 3);
	cr_assert(gone[0] == 2 && gone[1] == 4 && gone[2] == 6);
	cr_assert_eq(procs__count(p), 7);
	{
		pid_t want[] = { 1, 3, 5, 7, 8, 9, 10 };

		for (size_t i = 0; i < 7; i++)
			cr_assert_eq(procs__at(p, i)->pid, want[i], "entry %zu", i);
	}
	cr_assert_null(procs__live(p, 4));
	cr_assert_eq(procs__live(p, 9)->pid, 9);
	c = procs__evicted_counters(p);
	cr_assert_eq(c->replaced_blocks, 3);
	cr_assert_eq(c->unknown_frees, 0);
	cr_assert_eq(procs__evict_reported(p, 0, NULL, NULL), 2);
	cr_assert_eq(procs__evicted_counters(p)->replaced_blocks, 5);
	cr_assert_eq(procs__count(p), 5);
	procs__free(p);
}

/* A ledger shared by CLONE_VM is counted once, when its last holder goes;
 * the survivor keeps using it. */
Test(procs, evicting_a_clone_vm_holder)
{
	struct procs *p = new_procs();
	struct lw_proc *owner = add(p, 1), *clone = add(p, 2);

	cr_assert_eq(lw_proc__share_vm(clone, owner), 0);
	cr_assert_eq(ledger__alloc(owner->ledger, 0x1000, 8, 1, 1), 0);
	cr_assert_eq(ledger__alloc(clone->ledger, 0x1000, 8, 1, 2), 0);
	owner->exited = true;
	cr_assert_eq(procs__evict_reported(p, 0, NULL, NULL), 1);
	cr_assert_eq(procs__evicted_counters(p)->replaced_blocks, 0);
	cr_assert_eq(ledger__blocks(clone->ledger), 1);
	clone->exited = true;
	cr_assert_eq(procs__evict_reported(p, 0, NULL, NULL), 1);
	cr_assert_eq(procs__evicted_counters(p)->replaced_blocks, 1);
	cr_assert_eq(procs__count(p), 0);
	procs__free(p);
}
