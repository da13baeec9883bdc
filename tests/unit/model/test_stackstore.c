// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "procs.h"
#include "stackstore.h"

#define KERNEL_IDS 4

static const uint64_t A[] = { 0x401000, 0x402000, 0x403000 };
static const uint64_t B[] = { 0x501000, 0x502000 };
static const uint64_t C[] = { 0x601000 };

/* Unmarked, unnamed inline stacks go; marked, named and kernel ones stay;
 * a swept id is free (no frames) until another stack gets it. */
Test(stackstore, sweep_unreferenced_inline_stacks)
{
	struct stackstore *s = stackstore__new(KERNEL_IDS);
	const uint64_t *ips;
	int32_t a, b, c;

	cr_assert_not_null(s);
	cr_assert_eq(stackstore__put(s, 1, C, 1), 0);
	a = stackstore__intern(s, A, 3);
	b = stackstore__intern(s, B, 2);
	c = stackstore__intern(s, C, 1);
	cr_assert(a == KERNEL_IDS && b == KERNEL_IDS + 1 && c == KERNEL_IDS + 2);
	cr_assert_eq(stackstore__intern(s, B, 2), b);
	cr_assert_eq(stackstore__name(s, 0xabcd, c), 0);
	cr_assert_eq(stackstore__name(s, 0xabce, 99), -ERANGE);

	stackstore__mark(s, a);
	cr_assert_eq(stackstore__sweep(s, NULL), 1);		/* b */
	cr_assert_eq(stackstore__get(s, a, &ips), 3);
	cr_assert_eq(ips[2], 0x403000);
	cr_assert_eq(stackstore__get(s, b, &ips), -ENOENT);
	cr_assert(stackstore__is_free(s, b));
	cr_assert_not(stackstore__is_free(s, a));
	cr_assert_not(stackstore__is_free(s, 1));	/* a kernel id */
	cr_assert_not(stackstore__is_free(s, 2));	/* one never put */
	cr_assert_eq(stackstore__get(s, c, &ips), 1);
	cr_assert_eq(stackstore__named(s, 0xabcd), c);
	cr_assert_eq(stackstore__get(s, 1, &ips), 1);

	/* the marks were cleared: a goes now, c stays (named) */
	cr_assert_eq(stackstore__sweep(s, NULL), 1);
	cr_assert_eq(stackstore__get(s, a, &ips), -ENOENT);
	cr_assert_eq(stackstore__get(s, c, &ips), 1);
	/* freed ids go to new stacks first, the latest freed first; the
	 * frames are the new stack's, found again by them */
	cr_assert_eq(stackstore__intern(s, (uint64_t[]){ 0x801000 }, 1), a);
	cr_assert_eq(stackstore__intern(s, A, 3), b);
	cr_assert_eq(stackstore__get(s, b, &ips), 3);
	cr_assert_eq(ips[0], 0x401000);
	cr_assert_not(stackstore__is_free(s, b));
	cr_assert_eq(stackstore__intern(s, A, 3), b);
	cr_assert_eq(stackstore__intern(s, B, 2), KERNEL_IDS + 3);
	stackstore__free(s);
}

/* The stacks of blocks, parked reallocs and mappings of the processes left
 * stay; those only evicted processes held go. */
Test(stackstore, sweep_after_eviction)
{
	struct stackstore *s = stackstore__new(KERNEL_IDS);
	struct procs *p = procs__new();
	struct lw_proc *gone, *kept;
	struct map_origin o = { .kind = MAP_KIND_MMAP };
	const uint64_t *ips;
	int32_t a, b, c, d;

	cr_assert(s && p);
	a = stackstore__intern(s, A, 3);
	b = stackstore__intern(s, B, 2);
	c = stackstore__intern(s, C, 1);
	d = stackstore__intern(s, (uint64_t[]){ 0x701000 }, 1);
	gone = procs__add(p, 1, "gone", NULL);
	kept = procs__add(p, 2, "kept", NULL);
	cr_assert(gone && kept);
	cr_assert_eq(ledger__alloc(gone->ledger, 0x1000, 8, a, 1), 0);
	cr_assert_eq(ledger__alloc(kept->ledger, 0x2000, 8, b, 1), 0);
	/* a realloc in flight parks its block, with its stack */
	cr_assert_eq(ledger__alloc(kept->ledger, 0x3000, 8, c, 1), 0);
	cr_assert_eq(ledger__realloc_begin(kept->ledger, 7, 0x3000), 0);
	o.stack_id = d;
	cr_assert_eq(maptrack__map(kept->maps, 0x7f0000000000, 4096, &o), 0);
	gone->exited = true;
	cr_assert_eq(procs__evict_reported(p, 0, NULL, NULL), 1);
	procs__mark_stacks(p, s);
	cr_assert_eq(stackstore__sweep(s, NULL), 1);
	cr_assert_eq(stackstore__get(s, a, &ips), -ENOENT);
	cr_assert_eq(stackstore__get(s, b, &ips), 2);
	cr_assert_eq(stackstore__get(s, c, &ips), 1);
	cr_assert_eq(stackstore__get(s, d, &ips), 1);
	procs__free(p);
	stackstore__free(s);
}

struct unclaimed {
	uint32_t keys[8];
	size_t n;
};

static int note_unclaim(uint32_t key, void *ctx)
{
	struct unclaimed *u = ctx;

	cr_assert_lt(u->n, 8);
	u->keys[u->n++] = key;
	return 0;
}

/* A named stack no process holds: its claims go at one sweep, every key
 * of it at once; its keys still find it until two drains have read the
 * ring since, and then it goes.  One in use, or claimed again, stays. */
Test(stackstore, named_stacks_retire)
{
	struct stackstore *s = stackstore__new(KERNEL_IDS);
	struct unclaimed u = { .n = 0 };
	struct stackstore_sweep sw = { .now = 5, .drained = 5, .unclaim = note_unclaim, .ctx = &u };
	const uint64_t *ips;
	int32_t a, b;

	cr_assert(s);
	a = stackstore__intern(s, A, 3);
	b = stackstore__intern(s, B, 2);
	cr_assert_eq(stackstore__name(s, 0x10, a), 0);
	cr_assert_eq(stackstore__name(s, 0x11, a), 0);	/* the same frames, truncated */
	cr_assert_eq(stackstore__name(s, 0x20, b), 0);
	cr_assert_eq(stackstore__named_count(s), 3);

	stackstore__mark(s, b);
	cr_assert_eq(stackstore__sweep(s, &sw), 0);
	cr_assert_eq(u.n, 2, "a's two keys lose their claims");
	cr_assert((u.keys[0] == 0x10 && u.keys[1] == 0x11) ||
		  (u.keys[0] == 0x11 && u.keys[1] == 0x10));
	cr_assert_eq(stackstore__named(s, 0x10), a, "a record sent before still finds it");

	/* one drain since: not yet */
	sw.now = 6;
	sw.drained = 6;
	stackstore__mark(s, b);
	cr_assert_eq(stackstore__sweep(s, &sw), 0);
	cr_assert_eq(u.n, 2, "no claim goes twice");
	cr_assert_eq(stackstore__get(s, a, &ips), 3);

	/* two: a goes; b, still in use, keeps its claim */
	sw.now = 7;
	sw.drained = 7;
	stackstore__mark(s, b);
	cr_assert_eq(stackstore__sweep(s, &sw), 1);
	cr_assert_eq(stackstore__named(s, 0x10), -ENOENT);
	cr_assert_eq(stackstore__named(s, 0x11), -ENOENT);
	cr_assert(stackstore__is_free(s, a));
	cr_assert_eq(stackstore__named(s, 0x20), b);
	cr_assert_eq(stackstore__named_count(s), 1);
	cr_assert_eq(u.n, 2);

	/* b retires, then the walker defines it again before it goes */
	cr_assert_eq(stackstore__sweep(s, &sw), 0);
	cr_assert_eq(u.n, 3);
	cr_assert_eq(u.keys[2], 0x20);
	cr_assert_eq(stackstore__intern(s, B, 2), b);
	cr_assert_eq(stackstore__name(s, 0x20, b), 0);
	sw.now = 20;
	sw.drained = 20;
	stackstore__mark(s, b);
	cr_assert_eq(stackstore__sweep(s, &sw), 0);
	cr_assert_eq(stackstore__named(s, 0x20), b, "claimed again, in use: it stays");
	cr_assert_eq(u.n, 3);
	stackstore__free(s);
}

static int refuse_unclaim(uint32_t key, void *ctx)
{
	(*(int *)ctx)++;
	return -EINVAL;
}

/* A claim that could not be dropped may still name its stack alone: the
 * stack stays, and the next sweep tries again. */
Test(stackstore, named_stack_stays_while_claimed)
{
	struct stackstore *s = stackstore__new(KERNEL_IDS);
	int tries = 0;
	struct stackstore_sweep sw = { .now = 1, .drained = 1, .unclaim = refuse_unclaim,
				       .ctx = &tries };
	const uint64_t *ips;
	int32_t a;

	cr_assert(s);
	a = stackstore__intern(s, A, 3);
	cr_assert_eq(stackstore__name(s, 0x10, a), 0);
	for (int i = 0; i < 4; i++) {
		sw.now = sw.drained = 10 + (uint64_t)i;
		cr_assert_eq(stackstore__sweep(s, &sw), 0);
	}
	cr_assert_eq(tries, 4, "tried at every sweep");
	cr_assert_eq(stackstore__named(s, 0x10), a);
	cr_assert_eq(stackstore__get(s, a, &ips), 3);
	stackstore__free(s);
}
