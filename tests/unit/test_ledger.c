// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

/* Heap-looking, 16-byte aligned addresses. */
#define A(n) (0x7f0000001000ULL + (uint64_t)(n) * 16)

#define TID_A 101
#define TID_B 202

static struct ledger *new_ledger(void)
{
	struct ledger *l = ledger__new();

	cr_assert_not_null(l);
	return l;
}

static void assert_block(const struct ledger *l, uint64_t addr, uint64_t size,
			 int32_t stack_id, uint64_t ts_ns)
{
	struct ledger_block b;

	cr_assert_eq(ledger__find(l, addr, &b), 0, "block %#llx missing", (unsigned long long)addr);
	cr_assert_eq(b.size, size, "block %#llx size %llu, expected %llu",
		     (unsigned long long)addr, (unsigned long long)b.size,
		     (unsigned long long)size);
	cr_assert_eq(b.stack_id, stack_id, "block %#llx stack %d, expected %d",
		     (unsigned long long)addr, b.stack_id, stack_id);
	cr_assert_eq(b.ts_ns, ts_ns, "block %#llx ts %llu, expected %llu",
		     (unsigned long long)addr, (unsigned long long)b.ts_ns,
		     (unsigned long long)ts_ns);
}

static void assert_counters(const struct ledger *l, uint64_t unknown, uint64_t replaced,
			    uint64_t unmatched)
{
	const struct ledger_counters *c = ledger__counters(l);

	cr_assert_eq(c->unknown_frees, unknown, "unknown_frees %llu, expected %llu",
		     (unsigned long long)c->unknown_frees, (unsigned long long)unknown);
	cr_assert_eq(c->replaced_blocks, replaced, "replaced_blocks %llu, expected %llu",
		     (unsigned long long)c->replaced_blocks, (unsigned long long)replaced);
	cr_assert_eq(c->unmatched_reallocs, unmatched, "unmatched_reallocs %llu, expected %llu",
		     (unsigned long long)c->unmatched_reallocs, (unsigned long long)unmatched);
}

static void assert_totals(const struct ledger *l, uint64_t bytes, uint64_t blocks)
{
	cr_assert_eq(ledger__bytes(l), bytes, "bytes %llu, expected %llu",
		     (unsigned long long)ledger__bytes(l), (unsigned long long)bytes);
	cr_assert_eq(ledger__blocks(l), blocks, "blocks %llu, expected %llu",
		     (unsigned long long)ledger__blocks(l), (unsigned long long)blocks);
}

Test(ledger, free_null_accepted)
{
	ledger__free(NULL);
}

Test(ledger, alloc_release_totals)
{
	struct ledger *l = new_ledger();
	struct ledger_block b;

	assert_totals(l, 0, 0);
	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 24, 8, 2000), 0);
	cr_assert_eq(ledger__alloc(l, A(3), 0, 9, 3000), 0);
	assert_totals(l, 124, 3);
	assert_block(l, A(1), 100, 7, 1000);
	assert_block(l, A(2), 24, 8, 2000);
	assert_block(l, A(3), 0, 9, 3000);

	cr_assert_eq(ledger__release(l, A(1), &b), 0);
	cr_assert_eq(b.size, 100);
	cr_assert_eq(b.stack_id, 7);
	cr_assert_eq(b.ts_ns, 1000);
	assert_totals(l, 24, 2);
	cr_assert_eq(ledger__find(l, A(1), &b), -ENOENT);

	cr_assert_eq(ledger__release(l, A(3), NULL), 0);
	cr_assert_eq(ledger__release(l, A(2), NULL), 0);
	assert_totals(l, 0, 0);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, release_unknown)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__release(l, A(2), NULL), -ENOENT);
	assert_counters(l, 1, 0, 0);
	cr_assert_eq(ledger__release(l, A(1), NULL), 0);
	/* a double free is a release of an unknown block */
	cr_assert_eq(ledger__release(l, A(1), NULL), -ENOENT);
	assert_counters(l, 2, 0, 0);
	assert_totals(l, 0, 0);
	ledger__free(l);
}

Test(ledger, null_addresses)
{
	struct ledger *l = new_ledger();
	struct ledger_block b = { .size = 5, .ts_ns = 5, .stack_id = 5 };

	/* malloc returning NULL and free(NULL) change nothing */
	cr_assert_eq(ledger__alloc(l, 0, 100, 7, 1000), 0);
	assert_totals(l, 0, 0);
	cr_assert_eq(ledger__release(l, 0, &b), 0);
	cr_assert_eq(b.size, 0);
	cr_assert_eq(b.ts_ns, 0);
	cr_assert_eq(b.stack_id, LEDGER_NO_STACK);
	cr_assert_eq(ledger__find(l, 0, NULL), -ENOENT);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, alloc_replaces)
{
	struct ledger *l = new_ledger();
	struct ledger_stack *st;
	size_t n;

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 10, 7, 1500), 0);
	cr_assert_eq(ledger__alloc(l, A(1), 40, 8, 2000), 0);
	assert_totals(l, 50, 2);
	assert_counters(l, 0, 1, 0);
	assert_block(l, A(1), 40, 8, 2000);

	/* the replaced block is gone from the stacks too */
	cr_assert_eq(ledger__stacks(l, NULL, &st, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(st[0].stack_id, 8);
	cr_assert_eq(st[0].bytes, 40);
	cr_assert_eq(st[0].allocs, 1);
	cr_assert_eq(st[1].stack_id, 7);
	cr_assert_eq(st[1].bytes, 10);
	cr_assert_eq(st[1].allocs, 1);
	cr_assert_eq(st[1].oldest_ts_ns, 1500);
	free(st);

	cr_assert_eq(ledger__release(l, A(1), NULL), 0);
	cr_assert_eq(ledger__release(l, A(2), NULL), 0);
	assert_totals(l, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_in_place)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	/* the parked block is in no total while the realloc runs */
	assert_totals(l, 0, 0);
	cr_assert_eq(ledger__find(l, A(1), NULL), -ENOENT);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(1), 300, 9, 2000), 0);
	assert_totals(l, 300, 1);
	assert_block(l, A(1), 300, 9, 2000);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_moved)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(5), 8, 3, 500), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(2), 300, 9, 2000), 0);
	assert_totals(l, 308, 2);
	cr_assert_eq(ledger__find(l, A(1), NULL), -ENOENT);
	assert_block(l, A(2), 300, 9, 2000);
	assert_block(l, A(5), 8, 3, 500);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_null_is_malloc)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__realloc_begin(l, TID_A, 0), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, 0, A(3), 64, 4, 700), 0);
	assert_totals(l, 64, 1);
	assert_block(l, A(3), 64, 4, 700);

	/* realloc(NULL, n) that fails allocates nothing */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, 0), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, 0, 0, 64, 4, 800), 0);
	assert_totals(l, 64, 1);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_size_zero_frees)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 50, 7, 1100), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), 0, 0, 9, 2000), 0);
	assert_totals(l, 50, 1);
	cr_assert_eq(ledger__find(l, A(1), NULL), -ENOENT);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_failure_keeps_old_block)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), 0, 1ULL << 40, 9, 2000), 0);
	assert_totals(l, 100, 1);
	/* the old size, stack and time, not the failed request's */
	assert_block(l, A(1), 100, 7, 1000);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_unknown_block)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	assert_counters(l, 1, 0, 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(2), 300, 9, 2000), 0);
	/* counted once, at begin */
	assert_counters(l, 1, 0, 0);
	assert_totals(l, 300, 1);
	assert_block(l, A(2), 300, 9, 2000);

	/* a failed realloc of an unknown block keeps nothing */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(7)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(7), 0, 10, 9, 3000), 0);
	assert_counters(l, 2, 0, 0);
	assert_totals(l, 300, 1);
	cr_assert_eq(ledger__find(l, A(7), NULL), -ENOENT);
	ledger__free(l);
}

Test(ledger, realloc_interleaved_threads)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	/* A's realloc moves the block; B's malloc gets the old address before
	 * A's realloc returns */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__alloc(l, A(1), 64, 11, 1500), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(2), 200, 12, 2000), 0);
	assert_totals(l, 264, 2);
	assert_block(l, A(1), 64, 11, 1500);
	assert_block(l, A(2), 200, 12, 2000);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_two_threads_in_flight)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 200, 8, 1100), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_B, A(2)), 0);
	assert_totals(l, 0, 0);
	/* B's fails, A's moves: each end finds its own thread's block */
	cr_assert_eq(ledger__realloc_end(l, TID_B, A(2), 0, 5000, 9, 2000), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(3), 150, 10, 2100), 0);
	assert_totals(l, 350, 2);
	assert_block(l, A(2), 200, 8, 1100);
	assert_block(l, A(3), 150, 10, 2100);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_begin_twice_same_thread)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 200, 8, 1100), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	/* the end of the first realloc was lost: its parked block is dropped */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(2)), 0);
	assert_counters(l, 0, 0, 1);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(2), A(3), 250, 9, 2000), 0);
	assert_counters(l, 0, 0, 1);
	assert_totals(l, 250, 1);
	cr_assert_eq(ledger__find(l, A(1), NULL), -ENOENT);
	cr_assert_eq(ledger__find(l, A(2), NULL), -ENOENT);
	assert_block(l, A(3), 250, 9, 2000);
	ledger__free(l);
}

Test(ledger, realloc_end_without_begin)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(4), 40, 7, 1000), 0);

	/* known old block: released from the ledger, new block added */
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(2), 300, 9, 2000), 0);
	assert_counters(l, 0, 0, 1);
	assert_totals(l, 340, 2);
	cr_assert_eq(ledger__find(l, A(1), NULL), -ENOENT);
	assert_block(l, A(2), 300, 9, 2000);

	/* in place: no replacement counted */
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(2), A(2), 30, 10, 2100), 0);
	assert_counters(l, 0, 0, 2);
	assert_totals(l, 70, 2);
	assert_block(l, A(2), 30, 10, 2100);

	/* failure: the old block stays as it was */
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(4), 0, 1000, 11, 2200), 0);
	assert_counters(l, 0, 0, 3);
	assert_block(l, A(4), 40, 7, 1000);

	/* unknown old block */
	cr_assert_eq(ledger__realloc_end(l, TID_B, A(9), A(8), 8, 12, 2300), 0);
	assert_counters(l, 1, 0, 4);
	assert_totals(l, 78, 3);
	assert_block(l, A(8), 8, 12, 2300);

	/* realloc(NULL, n) without begin: nothing to release */
	cr_assert_eq(ledger__realloc_end(l, TID_B, 0, A(10), 2, 13, 2400), 0);
	assert_counters(l, 1, 0, 5);
	assert_totals(l, 80, 4);
	ledger__free(l);
}

Test(ledger, realloc_end_of_other_pointer)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 200, 8, 1100), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	/* A's end for A(1) and begin for A(2) were lost: two unmatched */
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(2), A(3), 250, 9, 2000), 0);
	assert_counters(l, 0, 0, 2);
	assert_totals(l, 250, 1);
	assert_block(l, A(3), 250, 9, 2000);
	/* nothing stays parked for A */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(3)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(3), A(3), 260, 9, 2100), 0);
	assert_counters(l, 0, 0, 2);
	assert_totals(l, 260, 1);
	ledger__free(l);
}

Test(ledger, realloc_many_threads)
{
	struct ledger *l = new_ledger();
	uint32_t t;

	/* enough reallocs in flight at once to grow the per-thread table */
	for (t = 0; t < 1000; t++)
		cr_assert_eq(ledger__alloc(l, A(t + 1), t + 1, (int32_t)t, t), 0);
	for (t = 0; t < 1000; t++)
		cr_assert_eq(ledger__realloc_begin(l, t, A(t + 1)), 0);
	assert_totals(l, 0, 0);
	for (t = 0; t < 1000; t++) {
		/* odd threads fail, even ones move to A(5000 + t) */
		if (t % 2)
			cr_assert_eq(ledger__realloc_end(l, t, A(t + 1), 0, 9999, 0, 9), 0);
		else
			cr_assert_eq(ledger__realloc_end(l, t, A(t + 1), A(5000 + t), 2, -1, 9),
				     0);
	}
	/* odd t keep t + 1 bytes: 2 + 4 + ... + 1000 = 250,500; 500 moved of 2 */
	assert_totals(l, 250500 + 1000, 1000);
	for (t = 0; t < 1000; t++) {
		if (t % 2)
			assert_block(l, A(t + 1), t + 1, (int32_t)t, t);
		else
			assert_block(l, A(5000 + t), 2, -1, 9);
	}
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

/* Stacks for the aggregation tests:
 *   stack 1:  1000 @ts 70
 *   stack 7:   100 @50, 200 @10
 *   stack 9:   150 @30, 150 @35
 *   stack 3:   300 @40
 *   stack -1:    5 @5
 *   stack 2:    50 @60, released
 */
static struct ledger *stack_ledger(void)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, 50), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 300, 3, 40), 0);
	cr_assert_eq(ledger__alloc(l, A(3), 150, 9, 35), 0);
	cr_assert_eq(ledger__alloc(l, A(4), 1000, 1, 70), 0);
	cr_assert_eq(ledger__alloc(l, A(5), 200, 7, 10), 0);
	cr_assert_eq(ledger__alloc(l, A(6), 50, 2, 60), 0);
	cr_assert_eq(ledger__alloc(l, A(7), 5, LEDGER_NO_STACK, 5), 0);
	cr_assert_eq(ledger__alloc(l, A(8), 150, 9, 30), 0);
	cr_assert_eq(ledger__release(l, A(6), NULL), 0);
	return l;
}

struct want_stack {
	int32_t id;
	uint64_t bytes, allocs, oldest;
};

static void assert_stacks(const struct ledger *l, const struct ledger_filter *f,
			  const struct want_stack *want, size_t want_n)
{
	struct ledger_stack *st = (void *)1;
	size_t n = 99, i;

	cr_assert_eq(ledger__stacks(l, f, &st, &n), 0);
	cr_assert_eq(n, want_n, "%zu stacks, expected %zu", n, want_n);
	if (!want_n)
		cr_assert_null(st);
	for (i = 0; i < n; i++) {
		cr_assert_eq(st[i].stack_id, want[i].id, "stacks[%zu] is %d, expected %d",
			     i, st[i].stack_id, want[i].id);
		cr_assert_eq(st[i].bytes, want[i].bytes, "stack %d bytes", want[i].id);
		cr_assert_eq(st[i].allocs, want[i].allocs, "stack %d allocs", want[i].id);
		cr_assert_eq(st[i].oldest_ts_ns, want[i].oldest, "stack %d oldest", want[i].id);
	}
	free(st);
}

Test(ledger, stacks_sorted)
{
	struct ledger *l = stack_ledger();
	/* 7 and 9 tie with 3 on bytes and beat it on allocs; 7 and 9 tie on
	 * both and are ordered by id */
	const struct want_stack want[] = {
		{ 1, 1000, 1, 70 },
		{ 7, 300, 2, 10 },
		{ 9, 300, 2, 30 },
		{ 3, 300, 1, 40 },
		{ LEDGER_NO_STACK, 5, 1, 5 },
	};
	const struct ledger_filter all = { 0 };

	assert_stacks(l, NULL, want, 5);
	assert_stacks(l, &all, want, 5);
	ledger__free(l);
}

Test(ledger, stacks_filter_bounds_inclusive)
{
	struct ledger *l = stack_ledger();
	const struct ledger_filter min150 = { .min_size = 150 };
	const struct want_stack want_min150[] = {
		{ 1, 1000, 1, 70 },
		{ 9, 300, 2, 30 },
		{ 3, 300, 1, 40 },
		{ 7, 200, 1, 10 },
	};
	const struct ledger_filter max150 = { .max_size = 150 };
	const struct want_stack want_max150[] = {
		{ 9, 300, 2, 30 },
		{ 7, 100, 1, 50 },
		{ LEDGER_NO_STACK, 5, 1, 5 },
	};
	const struct ledger_filter exactly150 = { .min_size = 150, .max_size = 150 };
	const struct want_stack want_exactly150[] = {
		{ 9, 300, 2, 30 },
	};
	const struct ledger_filter ts35 = { .max_ts_ns = 35 };
	const struct want_stack want_ts35[] = {
		{ 9, 300, 2, 30 },
		{ 7, 200, 1, 10 },
		{ LEDGER_NO_STACK, 5, 1, 5 },
	};
	const struct ledger_filter ts34 = { .max_ts_ns = 34 };
	const struct want_stack want_ts34[] = {
		{ 7, 200, 1, 10 },
		{ 9, 150, 1, 30 },
		{ LEDGER_NO_STACK, 5, 1, 5 },
	};
	const struct ledger_filter combined = { .min_size = 100, .max_size = 300, .max_ts_ns = 40 };
	const struct want_stack want_combined[] = {
		{ 9, 300, 2, 30 },
		{ 3, 300, 1, 40 },
		{ 7, 200, 1, 10 },
	};
	const struct ledger_filter none = { .min_size = 1001 };

	assert_stacks(l, &min150, want_min150, 4);
	assert_stacks(l, &max150, want_max150, 3);
	assert_stacks(l, &exactly150, want_exactly150, 1);
	assert_stacks(l, &ts35, want_ts35, 3);
	assert_stacks(l, &ts34, want_ts34, 3);
	assert_stacks(l, &combined, want_combined, 3);
	assert_stacks(l, &none, NULL, 0);
	ledger__free(l);
}

Test(ledger, stacks_empty)
{
	struct ledger *l = new_ledger();

	assert_stacks(l, NULL, NULL, 0);
	ledger__free(l);
}

/* Small deterministic generator (xorshift64*) so failures reproduce. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static void shuffle(uint32_t *v, size_t n, uint64_t *seed)
{
	size_t i, j;
	uint32_t t;

	for (i = n - 1; i > 0; i--) {
		j = rng_next(seed) % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

Test(ledger, stacks_many)
{
	struct ledger *l = new_ledger();
	struct ledger_stack *st;
	size_t n, i;
	uint32_t k;

	/* 3000 stacks (growing the aggregation index); stack s holds s + 1
	 * blocks of 10 bytes, the oldest at ts s */
	for (k = 0, i = 0; k < 3000; k++) {
		uint32_t b;

		for (b = 0; b <= k % 7; b++, i++)
			cr_assert_eq(ledger__alloc(l, A(i + 1), 10, (int32_t)k, k + b), 0);
	}
	cr_assert_eq(ledger__stacks(l, NULL, &st, &n), 0);
	cr_assert_eq(n, 3000);
	for (i = 0; i < n; i++) {
		uint32_t id = (uint32_t)st[i].stack_id;

		cr_assert_lt(id, 3000);
		cr_assert_eq(st[i].allocs, id % 7 + 1);
		cr_assert_eq(st[i].bytes, 10 * (id % 7 + 1));
		cr_assert_eq(st[i].oldest_ts_ns, id);
		if (i) {
			cr_assert(st[i - 1].allocs > st[i].allocs ||
				  (st[i - 1].allocs == st[i].allocs &&
				   st[i - 1].stack_id < st[i].stack_id),
				  "stacks[%zu] out of order", i);
		}
	}
	/* 3000 = 7 * 428 + 4: ids with k % 7 == 6 come first, lowest is 6 */
	cr_assert_eq(st[0].stack_id, 6);
	cr_assert_eq(st[n - 1].stack_id, 2996);
	free(st);
	ledger__free(l);
}

struct visit {
	uint64_t *addrs;
	size_t n;
	size_t cap;
	uint64_t bytes;
};

static void collect(uint64_t addr, const struct ledger_block *b, void *ctx)
{
	struct visit *v = ctx;

	cr_assert_lt(v->n, v->cap, "for_each visited more blocks than outstanding");
	/* size = ts = index, stack = index % 5, as allocated below */
	cr_assert_eq(b->size, (addr - A(0)) / 16);
	cr_assert_eq(b->ts_ns, (addr - A(0)) / 16);
	cr_assert_eq(b->stack_id, (int32_t)((addr - A(0)) / 16 % 5));
	v->addrs[v->n++] = addr;
	v->bytes += b->size;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(ledger, for_each_visits_outstanding_set)
{
	struct ledger *l = new_ledger();
	uint64_t addrs[100];
	struct visit v = { .addrs = addrs, .cap = 100 };
	uint64_t want_bytes = 0;
	size_t i, k;

	for (i = 1; i <= 100; i++)
		cr_assert_eq(ledger__alloc(l, A(i), i, (int32_t)(i % 5), i), 0);
	for (i = 3; i <= 100; i += 3)
		cr_assert_eq(ledger__release(l, A(i), NULL), 0);
	ledger__for_each(l, collect, &v);

	/* exactly the 67 addresses not released, each once */
	cr_assert_eq(v.n, 67);
	qsort(addrs, v.n, sizeof(*addrs), cmp_u64);
	for (i = 1, k = 0; i <= 100; i++) {
		if (i % 3 == 0)
			continue;
		cr_assert_eq(addrs[k], A(i), "visit %zu is %#llx, expected %#llx", k,
			     (unsigned long long)addrs[k], (unsigned long long)A(i));
		want_bytes += i;
		k++;
	}
	cr_assert_eq(v.bytes, want_bytes);
	cr_assert_eq(ledger__bytes(l), want_bytes);
	ledger__free(l);
}

static void count_visit(uint64_t addr, const struct ledger_block *b, void *ctx)
{
	(*(size_t *)ctx)++;
}

Test(ledger, million_blocks)
{
	const size_t N = 1000000;
	struct ledger *l = new_ledger();
	uint32_t *perm = malloc(N * sizeof(*perm));
	size_t i, growths = 0, prev_fp, fp, visited = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, want_bytes = 0;
	struct ledger_block b;

	cr_assert_not_null(perm);
	for (i = 0; i < N; i++)
		perm[i] = (uint32_t)i;
	/* addresses in a random order: neighbours in the table are not
	 * neighbours in the address space */
	shuffle(perm, N, &seed);

	prev_fp = ledger__footprint(l);
	for (i = 0; i < N; i++) {
		uint32_t k = perm[i];

		cr_assert_eq(ledger__alloc(l, A(k), k % 4096 + 1, (int32_t)(k % 977), k), 0);
		want_bytes += k % 4096 + 1;
		fp = ledger__footprint(l);
		if (fp != prev_fp) {
			/* every resize doubles the table */
			cr_assert_gt(fp, prev_fp);
			growths++;
			prev_fp = fp;
		}
		/* never more than 3/4 full: at least 32 * 4/3 bytes a block;
		 * right after a doubling, at most twice that */
		cr_assert_geq(3 * fp, 128 * (i + 1));
		if (i + 1 >= 10000)
			cr_assert_leq(fp, 86 * (i + 1), "%zu bytes for %zu blocks", fp, i + 1);
	}
	assert_totals(l, want_bytes, N);
	cr_assert_geq(growths, 10, "only %zu resizes", growths);
	fp = ledger__footprint(l);
	cr_assert_leq(fp, 64 * N, "footprint %zu bytes for %zu blocks", fp, N);

	ledger__for_each(l, count_visit, &visited);
	cr_assert_eq(visited, N);
	for (i = 0; i < N; i += 997)
		assert_block(l, A(i), i % 4096 + 1, (int32_t)(i % 977), i);
	cr_assert_eq(ledger__find(l, A(N), NULL), -ENOENT);

	shuffle(perm, N, &seed);
	for (i = 0; i < N; i++) {
		uint32_t k = perm[i];

		cr_assert_eq(ledger__release(l, A(k), &b), 0, "release of block %u", k);
		cr_assert_eq(b.size, k % 4096 + 1);
		cr_assert_eq(b.ts_ns, k);
		want_bytes -= b.size;
	}
	cr_assert_eq(want_bytes, 0);
	assert_totals(l, 0, 0);
	assert_counters(l, 0, 0, 0);
	visited = 0;
	ledger__for_each(l, count_visit, &visited);
	cr_assert_eq(visited, 0);
	free(perm);
	ledger__free(l);
}

/*
 * Random allocs, frees and replacements on a small address range, checked
 * against a plain array after every step: long probe clusters and many
 * backward shifts, which a wrong shift condition would break.
 */
Test(ledger, random_churn_matches_model)
{
	enum { SPAN = 3000, STEPS = 300000 };
	struct ledger *l = new_ledger();
	uint64_t *model = calloc(SPAN, sizeof(*model));	/* size + 1; 0: absent */
	uint64_t seed = 42, bytes = 0, blocks = 0, unknown = 0, replaced = 0;
	struct ledger_block b;
	size_t i, k;

	cr_assert_not_null(model);
	for (i = 0; i < STEPS; i++) {
		uint64_t r = rng_next(&seed);
		uint64_t size = r >> 40 & 0xff;

		k = r % SPAN;
		/* grow to ~2/3 occupancy of the range, then churn around it */
		if ((r >> 32 & 0xff) < (i < STEPS / 2 ? 200 : 128)) {
			cr_assert_eq(ledger__alloc(l, A(k + 1), size, (int32_t)k, i), 0);
			if (model[k]) {
				replaced++;
				bytes -= model[k] - 1;
			} else {
				blocks++;
			}
			model[k] = size + 1;
			bytes += size;
		} else if (model[k]) {
			cr_assert_eq(ledger__release(l, A(k + 1), &b), 0);
			cr_assert_eq(b.size, model[k] - 1);
			bytes -= model[k] - 1;
			blocks--;
			model[k] = 0;
		} else {
			cr_assert_eq(ledger__release(l, A(k + 1), NULL), -ENOENT);
			unknown++;
		}
		cr_assert_eq(ledger__bytes(l), bytes);
		cr_assert_eq(ledger__blocks(l), blocks);
	}
	for (k = 0; k < SPAN; k++) {
		int err = ledger__find(l, A(k + 1), &b);

		if (model[k]) {
			cr_assert_eq(err, 0, "block %zu lost", k);
			cr_assert_eq(b.size, model[k] - 1);
		} else {
			cr_assert_eq(err, -ENOENT, "block %zu should be gone", k);
		}
	}
	assert_counters(l, unknown, replaced, 0);
	free(model);
	ledger__free(l);
}
