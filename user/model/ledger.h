/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ledger of one process: every outstanding heap block (address -> size,
 * stack, time) and, per allocating stack, the bytes and blocks it holds.
 * Plain C, no libbpf: it is fed decoded events and unit-tested without root.
 *
 * Memory: one open-addressing slot of 24 bytes per block, table kept
 * between 3/8 and 3/4 full (it doubles), so 32 to 64 bytes per outstanding
 * block (38 at one million blocks, 60 at ten million); while it doubles the
 * old and the new table coexist, up to 96 bytes per block for that moment.
 * It grows without a fixed cap and reports ENOMEM instead of dropping
 * silently.
 *
 * To fit 24 bytes, a slot keeps sizes and times in 48 bits each:
 *  - Times are whole microseconds after the ledger's base, the first ts_ns
 *    given to ledger__alloc() or ledger__realloc_end() (even for a NULL
 *    address).  Every ts_ns the ledger hands back, and the one max_ts_ns is
 *    compared with, is base + us * 1000: rounded down to the microsecond,
 *    counted from the base.  A time before the base, which events from
 *    different CPUs arriving slightly out of order can give, counts as the
 *    base rather than wrapping; one over 2^48 us (8.9 years) after it counts
 *    as base + (2^48 - 1) us.
 *  - Sizes of 2^48 bytes (256 TiB) or more cannot come from an allocation
 *    that succeeded; such a size is clamped to 2^48 - 1, in the block and
 *    in ledger__bytes() alike, so that releasing the block leaves the totals
 *    exact.
 */
#ifndef LW_LEDGER_H
#define LW_LEDGER_H

#include <stddef.h>
#include <stdint.h>

/* Stack ids come from the kernel's stack table; < 0 means "unknown". */
#define LEDGER_NO_STACK (-1)

struct ledger;

/* As the ledger keeps it: size at most 2^48 - 1, ts_ns rounded (see above). */
struct ledger_block {
	uint64_t size;
	uint64_t ts_ns;
	int32_t stack_id;
};

/* One allocating stack's share of what the process holds. */
struct ledger_stack {
	int32_t stack_id;
	uint64_t bytes;
	uint64_t allocs;
	uint64_t oldest_ts_ns;	/* time of its oldest outstanding block (rounded) */
	uint64_t samples;	/* blocks actually held (allocs is scaled) */
	double allocs_est;	/* unrounded allocs while aggregating */
};

/* Irregularities the ledger saw; none of them loses a block silently. */
struct ledger_counters {
	/* free/realloc of a block never seen allocated (allocated before
	 * tracing started, or its allocation record was lost) */
	uint64_t unknown_frees;
	/* allocation at an address already outstanding: the free of the
	 * earlier block was lost; the earlier block is replaced */
	uint64_t replaced_blocks;
	/* realloc end without its beginning on that thread, or vice versa */
	uint64_t unmatched_reallocs;
};

struct ledger *ledger__new(void);
void ledger__free(struct ledger *l);	/* accepts NULL */

/* A block of size bytes was handed out at addr.  Returns 0, or -ENOMEM.
 * addr 0 (a failed allocation) is ignored. */
int ledger__alloc(struct ledger *l, uint64_t addr, uint64_t size,
		  int32_t stack_id, uint64_t ts_ns);

/* The block at addr is released.  Returns 0 with *out filled (out may be
 * NULL), or -ENOENT when the block is unknown (counted in unknown_frees).
 * addr 0 is free(NULL): returns 0, *out zeroed with LEDGER_NO_STACK. */
int ledger__release(struct ledger *l, uint64_t addr, struct ledger_block *out);

/*
 * realloc(old, size) on thread tid, in two steps because another thread may
 * receive the old address from malloc before this realloc returns:
 * begin takes the old block out of the ledger and parks it per thread;
 * end applies the C semantics given the returned pointer new_addr:
 *   new_addr != 0           old block released, new block of size added
 *                           (moved or in place alike)
 *   new_addr == 0, size == 0, old != 0   old block freed (glibc realloc(p, 0))
 *   new_addr == 0 otherwise              failure: the old block is kept
 * old_addr == 0 is malloc(size).  Returns 0, or -ENOMEM.
 * Between begin and end the parked block is in no total, lookup or report.
 * An old block unknown at begin counts once in unknown_frees.  A begin on a
 * thread that still has one parked, or an end whose begin is missing, counts
 * in unmatched_reallocs: the stale parked block is dropped (its realloc most
 * likely released it), and an end without begin releases old_addr from the
 * ledger itself (unknown_frees when it is not there either).
 */
int ledger__realloc_begin(struct ledger *l, uint32_t tid, uint64_t old_addr);
int ledger__realloc_end(struct ledger *l, uint32_t tid, uint64_t old_addr,
			uint64_t new_addr, uint64_t size, int32_t stack_id,
			uint64_t ts_ns);

uint64_t ledger__bytes(const struct ledger *l);
uint64_t ledger__blocks(const struct ledger *l);
const struct ledger_counters *ledger__counters(const struct ledger *l);
/* Bytes of memory the ledger itself uses. */
size_t ledger__footprint(const struct ledger *l);

/* Look up an outstanding block: 0 with *out filled, or -ENOENT. */
int ledger__find(const struct ledger *l, uint64_t addr, struct ledger_block *out);

/* Which blocks a report shows (--min-size, --max-size, --older-than). */
struct ledger_filter {
	uint64_t min_size;	/* 0: no lower bound */
	uint64_t max_size;	/* 0: no upper bound */
	uint64_t max_ts_ns;	/* only blocks whose rounded time is at or before; 0: all */
	/* Blocks were sampled with probability min(1, size / sample_bytes):
	 * count each as max(size, sample_bytes) bytes and
	 * max(1, sample_bytes / size) blocks, unbiased estimates.  0: exact. */
	uint64_t sample_bytes;
};

/*
 * Aggregate the blocks that pass filter (NULL: all) by stack: every stack
 * holding at least one such block, with oldest_ts_ns, sorted by bytes
 * (descending), then allocs (descending), then stack id (ascending).
 * *out is malloc'd (caller frees; NULL when *n is 0); returns 0 or -ENOMEM.
 */
int ledger__stacks(const struct ledger *l, const struct ledger_filter *filter,
		   struct ledger_stack **out, size_t *n);

/* Calls fn for every outstanding block, in no particular order. */
void ledger__for_each(const struct ledger *l,
		      void (*fn)(uint64_t addr, const struct ledger_block *b, void *ctx),
		      void *ctx);

/* fn(stack id, ctx) for each block held, parked reallocs included (the
 * ids in use, for stackstore__mark); an id may come more than once. */
void ledger__for_each_stack(const struct ledger *l, void (*fn)(int32_t stack_id, void *ctx),
			    void *ctx);

#endif /* LW_LEDGER_H */
