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

/*
 * The ledger keeps times in whole microseconds after the first time it is
 * given, so tests that check exact times give them in microseconds.
 */
#define US(n) ((uint64_t)(n) * 1000)

/* Largest size and time offset (in microseconds) a block holds. */
#define MAX48 ((1ULL << 48) - 1)

static struct ledger *new_ledger(void)
{
	struct ledger *l = ledger__new();

	cr_assert_not_null(l);
	return l;
}

/*
 * A ledger whose time base is base_ns: the first time a ledger is given
 * sets it, and a malloc that returned NULL gives one without adding a block.
 */
static struct ledger *new_ledger_at(uint64_t base_ns)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, 0, 0, LEDGER_NO_STACK, base_ns), 0);
	cr_assert_eq(ledger__blocks(l), 0);
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

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, US(1000)), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 10, 7, US(1500)), 0);
	cr_assert_eq(ledger__alloc(l, A(1), 40, 8, US(2000)), 0);
	assert_totals(l, 50, 2);
	assert_counters(l, 0, 1, 0);
	assert_block(l, A(1), 40, 8, US(2000));

	/* the replaced block is gone from the stacks too */
	cr_assert_eq(ledger__stacks(l, NULL, &st, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(st[0].stack_id, 8);
	cr_assert_eq(st[0].bytes, 40);
	cr_assert_eq(st[0].allocs, 1);
	cr_assert_eq(st[1].stack_id, 7);
	cr_assert_eq(st[1].bytes, 10);
	cr_assert_eq(st[1].allocs, 1);
	cr_assert_eq(st[1].oldest_ts_ns, US(1500));
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

	/* in time order: the first time is the ledger's base */
	cr_assert_eq(ledger__alloc(l, A(5), 8, 3, US(500)), 0);
	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, US(1000)), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(2), 300, 9, US(2000)), 0);
	assert_totals(l, 308, 2);
	cr_assert_eq(ledger__find(l, A(1), NULL), -ENOENT);
	assert_block(l, A(2), 300, 9, US(2000));
	assert_block(l, A(5), 8, 3, US(500));
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

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, US(1000)), 0);
	/* A's realloc moves the block; B's malloc gets the old address before
	 * A's realloc returns */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__alloc(l, A(1), 64, 11, US(1500)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(2), 200, 12, US(2000)), 0);
	assert_totals(l, 264, 2);
	assert_block(l, A(1), 64, 11, US(1500));
	assert_block(l, A(2), 200, 12, US(2000));
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

Test(ledger, realloc_two_threads_in_flight)
{
	struct ledger *l = new_ledger();

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, US(1000)), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 200, 8, US(1100)), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(1)), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_B, A(2)), 0);
	assert_totals(l, 0, 0);
	/* B's fails, A's moves: each end finds its own thread's block */
	cr_assert_eq(ledger__realloc_end(l, TID_B, A(2), 0, 5000, 9, US(2000)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(3), 150, 10, US(2100)), 0);
	assert_totals(l, 350, 2);
	assert_block(l, A(2), 200, 8, US(1100));
	assert_block(l, A(3), 150, 10, US(2100));
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

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, US(1000)), 0);
	cr_assert_eq(ledger__alloc(l, A(4), 40, 7, US(1000)), 0);

	/* known old block: released from the ledger, new block added */
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(1), A(2), 300, 9, US(2000)), 0);
	assert_counters(l, 0, 0, 1);
	assert_totals(l, 340, 2);
	cr_assert_eq(ledger__find(l, A(1), NULL), -ENOENT);
	assert_block(l, A(2), 300, 9, US(2000));

	/* in place: no replacement counted */
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(2), A(2), 30, 10, US(2100)), 0);
	assert_counters(l, 0, 0, 2);
	assert_totals(l, 70, 2);
	assert_block(l, A(2), 30, 10, US(2100));

	/* failure: the old block stays as it was */
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(4), 0, 1000, 11, US(2200)), 0);
	assert_counters(l, 0, 0, 3);
	assert_block(l, A(4), 40, 7, US(1000));

	/* unknown old block */
	cr_assert_eq(ledger__realloc_end(l, TID_B, A(9), A(8), 8, 12, US(2300)), 0);
	assert_counters(l, 1, 0, 4);
	assert_totals(l, 78, 3);
	assert_block(l, A(8), 8, 12, US(2300));

	/* realloc(NULL, n) never has a begin: nothing to release, and
	 * nothing unmatched */
	cr_assert_eq(ledger__realloc_end(l, TID_B, 0, A(10), 2, 13, US(2400)), 0);
	assert_counters(l, 1, 0, 4);
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
		cr_assert_eq(ledger__alloc(l, A(t + 1), t + 1, (int32_t)t, US(t)), 0);
	for (t = 0; t < 1000; t++)
		cr_assert_eq(ledger__realloc_begin(l, t, A(t + 1)), 0);
	assert_totals(l, 0, 0);
	for (t = 0; t < 1000; t++) {
		/* odd threads fail, even ones move to A(5000 + t) */
		if (t % 2)
			cr_assert_eq(ledger__realloc_end(l, t, A(t + 1), 0, 9999, 0, US(9)), 0);
		else
			cr_assert_eq(ledger__realloc_end(l, t, A(t + 1), A(5000 + t), 2, -1,
							 US(9)), 0);
	}
	/* odd t keep t + 1 bytes: 2 + 4 + ... + 1000 = 250,500; 500 moved of 2 */
	assert_totals(l, 250500 + 1000, 1000);
	for (t = 0; t < 1000; t++) {
		if (t % 2)
			assert_block(l, A(t + 1), t + 1, (int32_t)t, US(t));
		else
			assert_block(l, A(5000 + t), 2, -1, US(9));
	}
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

/* Stacks for the aggregation tests (times in microseconds after 0):
 *   stack 1:  1000 @ts 70
 *   stack 7:   100 @50, 200 @10
 *   stack 9:   150 @30, 150 @35
 *   stack 3:   300 @40
 *   stack -1:    5 @5
 *   stack 2:    50 @60, released
 */
static struct ledger *stack_ledger(void)
{
	/* blocks come out of time order, so the base must come first */
	struct ledger *l = new_ledger_at(0);

	cr_assert_eq(ledger__alloc(l, A(1), 100, 7, US(50)), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 300, 3, US(40)), 0);
	cr_assert_eq(ledger__alloc(l, A(3), 150, 9, US(35)), 0);
	cr_assert_eq(ledger__alloc(l, A(4), 1000, 1, US(70)), 0);
	cr_assert_eq(ledger__alloc(l, A(5), 200, 7, US(10)), 0);
	cr_assert_eq(ledger__alloc(l, A(6), 50, 2, US(60)), 0);
	cr_assert_eq(ledger__alloc(l, A(7), 5, LEDGER_NO_STACK, US(5)), 0);
	cr_assert_eq(ledger__alloc(l, A(8), 150, 9, US(30)), 0);
	cr_assert_eq(ledger__release(l, A(6), NULL), 0);
	return l;
}

struct want_stack {
	int32_t id;
	uint64_t bytes, allocs, oldest;	/* oldest in microseconds */
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
		cr_assert_eq(st[i].oldest_ts_ns, US(want[i].oldest), "stack %d oldest",
			     want[i].id);
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
	const struct ledger_filter ts35 = { .max_ts_ns = US(35) };
	const struct want_stack want_ts35[] = {
		{ 9, 300, 2, 30 },
		{ 7, 200, 1, 10 },
		{ LEDGER_NO_STACK, 5, 1, 5 },
	};
	const struct ledger_filter ts34 = { .max_ts_ns = US(35) - 1 };
	const struct want_stack want_ts34[] = {
		{ 7, 200, 1, 10 },
		{ 9, 150, 1, 30 },
		{ LEDGER_NO_STACK, 5, 1, 5 },
	};
	const struct ledger_filter combined = {
		.min_size = 100, .max_size = 300, .max_ts_ns = US(40)
	};
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

	/* 3000 stacks (growing the aggregation index); stack s holds s % 7 + 1
	 * blocks of 10 bytes, the oldest at s microseconds */
	for (k = 0, i = 0; k < 3000; k++) {
		uint32_t b;

		for (b = 0; b <= k % 7; b++, i++)
			cr_assert_eq(ledger__alloc(l, A(i + 1), 10, (int32_t)k, US(k + b)), 0);
	}
	cr_assert_eq(ledger__stacks(l, NULL, &st, &n), 0);
	cr_assert_eq(n, 3000);
	for (i = 0; i < n; i++) {
		uint32_t id = (uint32_t)st[i].stack_id;

		cr_assert_lt(id, 3000);
		cr_assert_eq(st[i].allocs, id % 7 + 1);
		cr_assert_eq(st[i].bytes, 10 * (id % 7 + 1));
		cr_assert_eq(st[i].oldest_ts_ns, US(id));
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
	/* size = index, ts = index microseconds, stack = index % 5, as
	 * allocated below */
	cr_assert_eq(b->size, (addr - A(0)) / 16);
	cr_assert_eq(b->ts_ns, US((addr - A(0)) / 16));
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
		cr_assert_eq(ledger__alloc(l, A(i), i, (int32_t)(i % 5), US(i)), 0);
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
	/* blocks come in random time order, so the base must come first */
	struct ledger *l = new_ledger_at(0);
	uint32_t *perm = malloc(N * sizeof(*perm));
	size_t i, growths = 0, fp_empty, prev_fp, fp, visited = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, want_bytes = 0;
	struct ledger_block b;

	cr_assert_not_null(perm);
	for (i = 0; i < N; i++)
		perm[i] = (uint32_t)i;
	/* addresses in a random order: neighbours in the table are not
	 * neighbours in the address space */
	shuffle(perm, N, &seed);

	fp_empty = prev_fp = ledger__footprint(l);
	for (i = 0; i < N; i++) {
		uint32_t k = perm[i];

		cr_assert_eq(ledger__alloc(l, A(k), k % 4096 + 1, (int32_t)(k % 977), US(k)), 0);
		want_bytes += k % 4096 + 1;
		fp = ledger__footprint(l);
		if (fp != prev_fp) {
			/* every resize doubles the table */
			cr_assert_gt(fp, prev_fp);
			growths++;
			prev_fp = fp;
		}
		/*
		 * 24-byte slots, never more than 3/4 full: at least 32 bytes a
		 * block; right after a doubling 3/8 full, at most 64.  The
		 * ledger's fixed part (its struct, the per-thread realloc
		 * table, all the size of an empty ledger or less) comes on top.
		 */
		cr_assert_geq(fp, 32 * (i + 1));
		cr_assert_leq(fp, 64 * (i + 1) + fp_empty, "%zu bytes for %zu blocks", fp, i + 1);
	}
	assert_totals(l, want_bytes, N);
	cr_assert_geq(growths, 10, "only %zu resizes", growths);
	/*
	 * One million blocks fit in 3 * 2^19 slots (at most 1,179,648 blocks):
	 * 37.7 bytes a block.  The bound is 48: it leaves room for the fixed
	 * part, and fails if capacities ever become powers of two again
	 * (2^21 slots, 50 bytes a block), which is what 3 * 2^k is for.
	 */
	fp = ledger__footprint(l);
	cr_assert_leq(fp, 48 * N, "footprint %zu bytes for %zu blocks", fp, N);

	ledger__for_each(l, count_visit, &visited);
	cr_assert_eq(visited, N);
	for (i = 0; i < N; i += 997)
		assert_block(l, A(i), i % 4096 + 1, (int32_t)(i % 977), US(i));
	cr_assert_eq(ledger__find(l, A(N), NULL), -ENOENT);

	shuffle(perm, N, &seed);
	for (i = 0; i < N; i++) {
		uint32_t k = perm[i];

		cr_assert_eq(ledger__release(l, A(k), &b), 0, "release of block %u", k);
		cr_assert_eq(b.size, k % 4096 + 1);
		cr_assert_eq(b.ts_ns, US(k));
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

/*
 * Times are kept as whole microseconds after the first time the ledger is
 * given, and come back rounded down to the microsecond counted from there,
 * from every way of reading them.
 */
Test(ledger, time_rounded_from_first_time)
{
	/* a boot-relative time with a sub-microsecond part */
	const uint64_t base = 3600000000123ULL;
	/* more than 32 bits of microseconds: both halves of the field */
	const uint64_t big_us = 0xabcd12345678ULL;
	struct ledger *l = new_ledger();
	struct ledger_filter f = { .min_size = 10, .max_size = 10 };
	struct ledger_stack *st;
	struct ledger_block b;
	size_t n;

	cr_assert_eq(ledger__alloc(l, A(1), 10, 1, base), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 10, 2, base + 999), 0);
	cr_assert_eq(ledger__alloc(l, A(3), 10, 3, base + 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(4), 10, 4, base + 5999), 0);
	cr_assert_eq(ledger__alloc(l, A(5), 10, 5, base + big_us * 1000 + 999), 0);
	assert_block(l, A(1), 10, 1, base);
	assert_block(l, A(2), 10, 2, base);
	assert_block(l, A(3), 10, 3, base + 1000);
	assert_block(l, A(4), 10, 4, base + 5000);
	assert_block(l, A(5), 10, 5, base + big_us * 1000);

	/* realloc_end records its time the same way */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(3)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(3), A(6), 20, 6, base + 7654), 0);
	assert_block(l, A(6), 20, 6, base + 7000);

	/* oldest_ts_ns and the max_ts_ns filter see the rounded time: A(4),
	 * given at base + 5999, is a block of base + 5000 */
	f.max_ts_ns = base + 5000;
	cr_assert_eq(ledger__stacks(l, &f, &st, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(st[0].stack_id, 1);
	cr_assert_eq(st[0].oldest_ts_ns, base);
	cr_assert_eq(st[1].stack_id, 2);
	cr_assert_eq(st[1].oldest_ts_ns, base);
	cr_assert_eq(st[2].stack_id, 4);
	cr_assert_eq(st[2].oldest_ts_ns, base + 5000);
	free(st);
	f.max_ts_ns = base + 4999;
	cr_assert_eq(ledger__stacks(l, &f, &st, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(st[1].stack_id, 2);
	free(st);

	/* a failed realloc puts the parked block back with its time as kept */
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(4)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(4), 0, 99, 9, base + 9999), 0);
	assert_block(l, A(4), 10, 4, base + 5000);

	cr_assert_eq(ledger__release(l, A(5), &b), 0);
	cr_assert_eq(b.ts_ns, base + big_us * 1000);
	assert_counters(l, 0, 0, 0);
	ledger__free(l);
}

struct ts_visit {
	uint64_t addr;
	uint64_t ts_ns;
	size_t seen;
};

static void find_ts(uint64_t addr, const struct ledger_block *b, void *ctx)
{
	struct ts_visit *v = ctx;

	if (addr == v->addr) {
		v->ts_ns = b->ts_ns;
		v->seen++;
	}
}

Test(ledger, time_base_from_first_call)
{
	struct ledger *l = new_ledger();
	struct ts_visit v = { .addr = A(1) };

	/* a malloc that returned NULL sets the base all the same */
	cr_assert_eq(ledger__alloc(l, 0, 10, 1, 5500), 0);
	cr_assert_eq(ledger__alloc(l, A(1), 10, 1, 7000), 0);
	assert_block(l, A(1), 10, 1, 6500);
	ledger__for_each(l, find_ts, &v);
	cr_assert_eq(v.seen, 1);
	cr_assert_eq(v.ts_ns, 6500);
	ledger__free(l);

	/* and so does a realloc that failed */
	l = new_ledger();
	cr_assert_eq(ledger__realloc_begin(l, TID_A, 0), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, 0, 0, 64, 4, 5500), 0);
	assert_totals(l, 0, 0);
	cr_assert_eq(ledger__alloc(l, A(1), 10, 1, 7000), 0);
	assert_block(l, A(1), 10, 1, 6500);

	/* the base stays where it was when the ledger empties */
	cr_assert_eq(ledger__release(l, A(1), NULL), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 10, 1, 9999), 0);
	assert_block(l, A(2), 10, 1, 9500);
	ledger__free(l);
}

/* Events from different CPUs may arrive slightly out of order. */
Test(ledger, time_before_base_clamps)
{
	const uint64_t base = 1000000000;
	const struct ledger_filter before = { .max_ts_ns = base - 1 };
	struct ledger *l = new_ledger();
	struct ts_visit v = { .addr = A(3) };
	struct ledger_stack *st;
	struct ledger_block b;
	size_t n, i;

	cr_assert_eq(ledger__alloc(l, A(1), 10, 1, base), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 10, 2, base - 1), 0);
	/* far before: no wrap to a time 8.9 years later */
	cr_assert_eq(ledger__alloc(l, A(3), 10, 3, 0), 0);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, 0), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, 0, A(4), 10, 4, base - 2000), 0);
	assert_block(l, A(1), 10, 1, base);
	assert_block(l, A(2), 10, 2, base);
	assert_block(l, A(3), 10, 3, base);
	assert_block(l, A(4), 10, 4, base);
	ledger__for_each(l, find_ts, &v);
	cr_assert_eq(v.seen, 1);
	cr_assert_eq(v.ts_ns, base);

	cr_assert_eq(ledger__stacks(l, NULL, &st, &n), 0);
	cr_assert_eq(n, 4);
	for (i = 0; i < n; i++)
		cr_assert_eq(st[i].oldest_ts_ns, base, "stack %d", st[i].stack_id);
	free(st);

	/* a block that clamped is as old as the oldest, and no older */
	cr_assert_eq(ledger__stacks(l, &before, &st, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(ledger__release(l, A(3), &b), 0);
	cr_assert_eq(b.ts_ns, base);
	assert_totals(l, 30, 3);
	ledger__free(l);
}

Test(ledger, time_far_after_base_clamps)
{
	const uint64_t last = MAX48 * 1000;	/* the latest time a block can hold */
	const struct ledger_filter early = { .max_ts_ns = last - 1 };
	struct ledger *l = new_ledger_at(0);
	struct ledger_stack *st;
	size_t n;

	/* the last microsecond that fits is kept exactly */
	cr_assert_eq(ledger__alloc(l, A(1), 10, 1, last + 999), 0);
	cr_assert_eq(ledger__alloc(l, A(2), 10, 2, last + 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(3), 10, 3, UINT64_MAX), 0);
	assert_block(l, A(1), 10, 1, last);
	assert_block(l, A(2), 10, 2, last);
	assert_block(l, A(3), 10, 3, last);
	/* the clamped blocks did not wrap to times near the base */
	cr_assert_eq(ledger__stacks(l, &early, &st, &n), 0);
	cr_assert_eq(n, 0);
	ledger__free(l);

	/* a base near the end of the clock cannot overflow on the way back */
	l = new_ledger_at(UINT64_MAX - 10);
	cr_assert_eq(ledger__alloc(l, A(1), 10, 1, UINT64_MAX), 0);
	assert_block(l, A(1), 10, 1, UINT64_MAX - 10);
	ledger__free(l);
}

/* No allocation of 2^48 bytes (256 TiB) succeeds, but a bogus size must
 * not corrupt the totals. */
Test(ledger, size_clamps_to_48_bits)
{
	const uint64_t split = 0xabcd12345678ULL;	/* bits in both halves */
	const struct ledger_filter above = { .min_size = MAX48 + 1 };
	const struct ledger_filter at_most = { .min_size = MAX48, .max_size = MAX48 };
	struct ledger *l = new_ledger();
	struct ledger_stack *st;
	struct ledger_block b;
	size_t n;

	cr_assert_eq(ledger__alloc(l, A(1), MAX48, 1, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(2), MAX48 + 1, 2, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(3), UINT64_MAX, 3, 1000), 0);
	cr_assert_eq(ledger__alloc(l, A(4), split, 4, 1000), 0);
	assert_block(l, A(1), MAX48, 1, 1000);
	assert_block(l, A(2), MAX48, 2, 1000);
	assert_block(l, A(3), MAX48, 3, 1000);
	assert_block(l, A(4), split, 4, 1000);
	assert_totals(l, 3 * MAX48 + split, 4);

	/* filters see the clamped size */
	cr_assert_eq(ledger__stacks(l, &above, &st, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(ledger__stacks(l, &at_most, &st, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(st[0].bytes, MAX48);
	free(st);

	/* replacing, reallocating and releasing keep the totals exact */
	cr_assert_eq(ledger__alloc(l, A(2), 7, 2, 2000), 0);
	assert_totals(l, 2 * MAX48 + split + 7, 4);
	cr_assert_eq(ledger__realloc_begin(l, TID_A, A(4)), 0);
	cr_assert_eq(ledger__realloc_end(l, TID_A, A(4), A(5), UINT64_MAX, 5, 3000), 0);
	assert_block(l, A(5), MAX48, 5, 3000);
	assert_totals(l, 3 * MAX48 + 7, 4);
	cr_assert_eq(ledger__release(l, A(3), &b), 0);
	cr_assert_eq(b.size, MAX48);
	cr_assert_eq(ledger__release(l, A(1), NULL), 0);
	cr_assert_eq(ledger__release(l, A(5), NULL), 0);
	assert_totals(l, 7, 1);
	cr_assert_eq(ledger__release(l, A(2), NULL), 0);
	assert_totals(l, 0, 0);
	assert_counters(l, 0, 1, 0);
	ledger__free(l);
}

/*
 * Every size, time and stack a slot can hold comes back exactly, through
 * resizes and backward shifts: random 48-bit sizes and microsecond times
 * with sub-microsecond noise, and the extreme stack ids.
 */
Test(ledger, fields_round_trip)
{
	enum { N = 20000 };
	const uint64_t base = 123456789;
	struct ledger *l = new_ledger_at(base);
	uint64_t *size = malloc(N * sizeof(*size)), *us = malloc(N * sizeof(*us));
	int32_t *stack = malloc(N * sizeof(*stack));
	uint64_t seed = 7, bytes = 0;
	struct ledger_block b;
	size_t i;

	cr_assert(size && us && stack);
	for (i = 0; i < N; i++) {
		uint64_t r = rng_next(&seed);

		size[i] = rng_next(&seed) >> (16 + r % 48);
		us[i] = rng_next(&seed) >> (16 + (r >> 8) % 48);
		stack[i] = i % 3 == 0 ? INT32_MIN : i % 3 == 1 ? INT32_MAX : (int32_t)r;
		cr_assert_eq(ledger__alloc(l, A(i + 1), size[i], stack[i],
					   base + us[i] * 1000 + (r >> 20) % 1000), 0);
		bytes += size[i];
	}
	/* release every other block to shift the rest back */
	for (i = 0; i < N; i += 2) {
		cr_assert_eq(ledger__release(l, A(i + 1), &b), 0);
		cr_assert_eq(b.size, size[i]);
		cr_assert_eq(b.ts_ns, base + us[i] * 1000);
		cr_assert_eq(b.stack_id, stack[i]);
		bytes -= size[i];
	}
	for (i = 1; i < N; i += 2)
		assert_block(l, A(i + 1), size[i], stack[i], base + us[i] * 1000);
	assert_totals(l, bytes, N / 2);
	free(stack);
	free(us);
	free(size);
	ledger__free(l);
}
