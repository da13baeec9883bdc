// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ledger__stacks with ledger_filter.sample_bytes = N (-s N): a held block of
 * S bytes was kept with probability min(1, S/N), so it stands for
 * max(S, N) bytes and max(1, N/S) blocks; a stack's allocs is the rounded
 * sum, its samples the blocks actually held.  N = 0 is the exact ledger.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "ledger.h"

/* Heap-looking, 16-byte aligned addresses. */
#define A(n) (0x7f0000001000ULL + (uint64_t)(n) * 16)
/* Block times: whole microseconds after the ledger's clock start, T(0). */
#define T(us) (1000000000ULL + (uint64_t)(us) * 1000)

struct want {
	int32_t id;
	uint64_t bytes, allocs, samples;
	uint64_t oldest;	/* T(oldest) */
};

/*
 * The ledger keeps times in microseconds after the first one it is given
 * (earlier ones count as that one): a block at T(0) starts the clock, so
 * every block after it keeps its own time.
 */
static struct ledger *new_ledger(void)
{
	struct ledger *l = ledger__new();

	cr_assert_not_null(l);
	cr_assert_eq(ledger__alloc(l, A(100000000), 1, 0, T(0)), 0);
	cr_assert_eq(ledger__release(l, A(100000000), NULL), 0);
	return l;
}

/* Adds COUNT blocks of SIZE bytes to stack ID at T(TS); *next numbers the addresses. */
static void add_blocks(struct ledger *l, uint64_t *next, int count, uint64_t size, int32_t id,
		       uint64_t ts)
{
	for (int i = 0; i < count; i++)
		cr_assert_eq(ledger__alloc(l, A((*next)++), size, id, T(ts)), 0);
}

/* ledger__stacks under sample_bytes N gives exactly WANT, in that order. */
static void expect_stacks(const struct ledger *l, uint64_t n, const struct want *want,
			  size_t want_n)
{
	const struct ledger_filter f = { .sample_bytes = n };
	struct ledger_stack *st = NULL;
	size_t got = 0;

	cr_assert_eq(ledger__stacks(l, &f, &st, &got), 0);
	cr_assert_eq(got, want_n, "N = %llu: %zu stacks, expected %zu", (unsigned long long)n, got,
		     want_n);
	for (size_t i = 0; i < got; i++) {
		cr_assert_eq(st[i].stack_id, want[i].id, "N = %llu: stacks[%zu] is %d, expected %d",
			     (unsigned long long)n, i, st[i].stack_id, want[i].id);
		cr_assert(st[i].bytes == want[i].bytes && st[i].allocs == want[i].allocs &&
			  st[i].samples == want[i].samples,
			  "N = %llu, stack %d: %llu bytes, %llu allocs, %llu samples; expected "
			  "%llu, %llu, %llu", (unsigned long long)n, want[i].id,
			  (unsigned long long)st[i].bytes, (unsigned long long)st[i].allocs,
			  (unsigned long long)st[i].samples, (unsigned long long)want[i].bytes,
			  (unsigned long long)want[i].allocs, (unsigned long long)want[i].samples);
		cr_assert_eq(st[i].oldest_ts_ns, T(want[i].oldest),
			     "N = %llu, stack %d: oldest %llu, expected %llu",
			     (unsigned long long)n, want[i].id,
			     (unsigned long long)st[i].oldest_ts_ns,
			     (unsigned long long)T(want[i].oldest));
	}
	free(st);
}

/* One block of SIZE under N: its bytes, allocs and samples. */
static void expect_one_block(uint64_t n, uint64_t size, uint64_t bytes, uint64_t allocs)
{
	struct ledger *l = new_ledger();
	const struct want want[] = { { 5, bytes, allocs, 1, 77 } };
	uint64_t next = 0;

	add_blocks(l, &next, 1, size, 5, 77);
	expect_stacks(l, n, want, 1);
	ledger__free(l);
}

/* S < N: kept with probability S/N, so it stands for N bytes in N/S blocks. */
Test(sampling, small_block_scaled_up)
{
	expect_one_block(1000, 10, 1000, 100);
	expect_one_block(4096, 64, 4096, 64);
	expect_one_block(4096, 1, 4096, 4096);
}

/* S >= N: always kept, so it counts as itself, one block. */
Test(sampling, block_of_n_or_more_is_exact)
{
	expect_one_block(1000, 1000, 1000, 1);
	expect_one_block(1000, 1001, 1001, 1);
	expect_one_block(1000, 5000, 5000, 1);
	expect_one_block(2, 1 << 20, 1 << 20, 1);
}

/* Just below N: still N bytes; 1000/999 = 1.001 blocks rounds to 1. */
Test(sampling, just_below_n)
{
	expect_one_block(1000, 999, 1000, 1);
}

/*
 * A 0-byte block has no byte to sample (the BPF side keeps it with
 * probability 0), so a sampled ledger should never hold one.  If it does
 * (a realloc result, say), max(S, N) makes it N bytes, and the block count
 * must stay finite: one block, not N / 0.
 */
Test(sampling, zero_size_block)
{
	expect_one_block(1000, 0, 1000, 1);
}

/*
 * allocs is rounded once per stack, after summing: two blocks of 3 bytes
 * under N = 1000 are 2 x 333.33 = 666.67 -> 667 (666 if each block were
 * rounded first); three are 1000.  1000/400 = 2.5 rounds up to 3 (round
 * half away from zero, like round()), 1000/600 = 1.67 to 2.
 */
Test(sampling, allocs_rounded_after_summing)
{
	struct ledger *l = new_ledger();
	const struct want want[] = {
		{ 3, 3000, 1000, 3, 30 },
		{ 2, 2000, 667, 2, 20 },
		{ 4, 1000, 3, 1, 40 },
		{ 6, 1000, 2, 1, 60 },
	};
	uint64_t next = 0;

	add_blocks(l, &next, 2, 3, 2, 20);
	add_blocks(l, &next, 3, 3, 3, 30);
	add_blocks(l, &next, 1, 400, 4, 40);
	add_blocks(l, &next, 1, 600, 6, 60);
	expect_stacks(l, 1000, want, 4);
	ledger__free(l);
}

/*
 * Mixed sizes on one stack: 2 x 10 B (2 x 1000 B, 2 x 100 blocks), 1000 B
 * (1 block), 2 x 3000 B (exact), 0 B (1000 B, 1 block): 10000 bytes, 204
 * blocks, 6 samples; the oldest block's time whatever its weight.
 */
Test(sampling, mixed_sizes_on_one_stack)
{
	struct ledger *l = new_ledger();
	const struct want sampled[] = { { 9, 10000, 204, 6, 5 } };
	const struct want exact[] = { { 9, 7020, 6, 6, 5 } };
	uint64_t next = 0;

	add_blocks(l, &next, 2, 10, 9, 50);
	add_blocks(l, &next, 1, 1000, 9, 5);
	add_blocks(l, &next, 2, 3000, 9, 70);
	add_blocks(l, &next, 1, 0, 9, 90);
	expect_stacks(l, 1000, sampled, 1);
	expect_stacks(l, 0, exact, 1);
	ledger__free(l);
}

/*
 * Stacks are ordered by their scaled bytes, then scaled (rounded) allocs,
 * then id.  Unsampled, stack 1's 5000 bytes lead stack 2's 6 x 10; sampled,
 * those 6 blocks stand for 6000 bytes and lead.  Stacks 3, 4, 5 all stand
 * for 2000 bytes, in 4, 2 and 1 blocks; 6 and 7 tie on both.
 */
Test(sampling, sorted_by_scaled_bytes)
{
	struct ledger *l = new_ledger();
	const struct want sampled[] = {
		{ 2, 6000, 600, 6, 20 },
		{ 1, 5000, 1, 1, 10 },
		{ 3, 2000, 4, 2, 30 },
		{ 4, 2000, 2, 2, 40 },
		{ 5, 2000, 1, 1, 50 },
		{ 6, 1000, 10, 1, 60 },
		{ 7, 1000, 10, 1, 70 },
	};
	const struct want exact[] = {
		{ 1, 5000, 1, 1, 10 },
		{ 4, 2000, 2, 2, 40 },
		{ 5, 2000, 1, 1, 50 },
		{ 3, 1000, 2, 2, 30 },
		{ 6, 100, 1, 1, 60 },
		{ 7, 100, 1, 1, 70 },
		{ 2, 60, 6, 6, 20 },
	};
	uint64_t next = 0;

	/* Added in an order that is none of the expected ones. */
	add_blocks(l, &next, 1, 100, 7, 70);
	add_blocks(l, &next, 1, 2000, 5, 50);
	add_blocks(l, &next, 6, 10, 2, 20);
	add_blocks(l, &next, 2, 500, 3, 30);
	add_blocks(l, &next, 1, 100, 6, 60);
	add_blocks(l, &next, 1, 5000, 1, 10);
	add_blocks(l, &next, 2, 1000, 4, 40);
	expect_stacks(l, 1000, sampled, 7);
	expect_stacks(l, 0, exact, 7);
	ledger__free(l);
}

/* sample_bytes 0 is the exact ledger: the same as no filter at all. */
Test(sampling, zero_keeps_exact_numbers)
{
	struct ledger *l = new_ledger();
	const struct want exact[] = {
		{ 1, 5000, 1, 1, 10 },
		{ 2, 60, 6, 6, 20 },
		{ 3, 0, 2, 2, 30 },
	};
	struct ledger_stack *st = NULL;
	uint64_t next = 0;
	size_t n = 0;

	add_blocks(l, &next, 6, 10, 2, 20);
	add_blocks(l, &next, 1, 5000, 1, 10);
	add_blocks(l, &next, 2, 0, 3, 30);
	expect_stacks(l, 0, exact, 3);

	cr_assert_eq(ledger__stacks(l, NULL, &st, &n), 0);
	cr_assert_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		cr_assert(st[i].stack_id == exact[i].id && st[i].bytes == exact[i].bytes &&
			  st[i].allocs == exact[i].allocs,
			  "no filter: stacks[%zu] differs from sample_bytes 0", i);
	free(st);
	ledger__free(l);
}

/*
 * --min-size and --max-size select blocks by the size the program asked
 * for, not by what a sample stands for: a 10-byte block is not "1000 bytes".
 */
Test(sampling, size_filters_see_real_sizes)
{
	struct ledger *l = new_ledger();
	const struct ledger_filter min100 = { .min_size = 100, .sample_bytes = 1000 };
	const struct ledger_filter max50 = { .max_size = 50, .sample_bytes = 1000 };
	struct ledger_stack *st = NULL;
	uint64_t next = 0;
	size_t n = 0;

	add_blocks(l, &next, 1, 10, 1, 10);
	add_blocks(l, &next, 1, 500, 2, 20);

	cr_assert_eq(ledger__stacks(l, &min100, &st, &n), 0);
	cr_assert(n == 1 && st[0].stack_id == 2 && st[0].bytes == 1000 && st[0].allocs == 2,
		  "--min-size 100 keeps the 500-byte block only (1000 bytes in 2 blocks)");
	free(st);
	cr_assert_eq(ledger__stacks(l, &max50, &st, &n), 0);
	cr_assert(n == 1 && st[0].stack_id == 1 && st[0].bytes == 1000 && st[0].allocs == 100,
		  "--max-size 50 keeps the 10-byte block only (1000 bytes in 100 blocks)");
	free(st);
	ledger__free(l);
}

/* Released blocks leave the estimate as they leave the exact numbers. */
Test(sampling, released_blocks_leave_the_estimate)
{
	struct ledger *l = new_ledger();
	const struct want want[] = { { 1, 2000, 200, 2, 10 } };
	uint64_t next = 0;

	add_blocks(l, &next, 3, 10, 1, 10);
	cr_assert_eq(ledger__release(l, A(1), NULL), 0);
	expect_stacks(l, 1000, want, 1);
	cr_assert_eq(ledger__release(l, A(0), NULL), 0);
	cr_assert_eq(ledger__release(l, A(2), NULL), 0);
	expect_stacks(l, 1000, NULL, 0);
	ledger__free(l);
}

/*
 * The integration test's population: 200000 samples of 64-byte blocks under
 * N = 4096 are 200000 x 4096 bytes in exactly 200000 x 64 blocks (64.0 sums
 * exactly in a double).
 */
Test(sampling, many_samples_sum_exactly)
{
	struct ledger *l = new_ledger();
	const struct want want[] = {
		{ 1, 200000ULL * 4096, 200000ULL * 64, 200000, 3 },
		{ 2, 2000ULL * 8192, 2000, 2000, 1 },
	};
	uint64_t next = 0;

	add_blocks(l, &next, 2000, 8192, 2, 1);
	add_blocks(l, &next, 200000, 64, 1, 3);
	expect_stacks(l, 4096, want, 2);
	ledger__free(l);
}

/* The largest N -s accepts, 2^32 - 1, on 1-byte blocks: no 32-bit overflow. */
Test(sampling, largest_n)
{
	struct ledger *l = new_ledger();
	const struct want want[] = { { 1, 3 * 4294967295ULL, 3 * 4294967295ULL, 3, 8 } };
	uint64_t next = 0;

	add_blocks(l, &next, 3, 1, 1, 8);
	expect_stacks(l, 4294967295ULL, want, 1);
	ledger__free(l);
}
