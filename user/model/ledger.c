// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ledger: outstanding blocks of one process in an open-addressing hash
 * table (linear probing, backward-shift deletion, so no tombstones pile up
 * under the malloc/free churn of a long trace), plus a small table of the
 * reallocs in flight per thread.
 *
 * A slot is 24 bytes: sizes and times get 48 bits each, enough for any
 * allocation that can succeed and for 8.9 years of microseconds, so that a
 * block costs at most 64 bytes at every table size (see ledger.h).
 *
 * This table is not the shared one (htab.h), on purpose: it holds every
 * outstanding block of every process and takes every malloc and free.  The
 * block lives in the slot itself (no pointer, no allocation per block, 24
 * bytes where htab.h's hash-and-pointer slot plus a block would take 40 and
 * a cache miss more), the address is its own key (0 marks an empty slot),
 * and capacities of 3 * 2^k with a multiply-shift reduction keep it denser
 * (below).  Its keys are hashed with the shared mixer, lw_hash64.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "htab.h"
#include "ledger.h"
#include "log.h"
#include "vec.h"

/*
 * Capacities are 3 * 2^k rather than 2^k.  Slot indexes come from a
 * multiply-shift range reduction, which works for any capacity, so the
 * choice only moves the points where the table doubles: with 24-byte slots
 * and a 3/4 load limit, 2^20 slots hold at most 786,432 blocks, so one
 * million blocks would need 2^21 slots (50 bytes per block); 3 * 2^19 slots
 * hold them in 38 bytes per block.  Any doubling table costs between 32
 * and 64 bytes per block depending on where in its cycle it is.
 */
#define LEDGER_INITIAL_SLOTS 24
#define PENDING_INITIAL_SLOTS 6

/* Largest size and time offset a slot holds; larger ones are clamped. */
#define FIELD48_MAX ((1ULL << 48) - 1)

/*
 * 48-bit size and time split into 16 high and 32 low bits, so that every
 * field is naturally aligned and a slot packs into 24 bytes with no
 * padding.  addr comes first: a probe reads only it, and at 24-byte strides
 * it never straddles a cache line.  (48-bit bitfields, which read the size
 * with one load and a mask, were no faster over 10 million allocs and
 * frees: the time goes in cache misses, not in assembling fields.)
 */
struct slot {
	uint64_t addr;		/* 0: empty; malloc never returns it for a block */
	int32_t stack_id;
	uint16_t size_hi;
	uint16_t ts_hi;
	uint32_t size_lo;
	uint32_t ts_lo;		/* ts_hi:ts_lo are microseconds after the base */
};
_Static_assert(sizeof(struct slot) == 24, "ledger slots are 24 bytes");
_Static_assert(_Alignof(struct slot) == 8, "ledger slots keep addr aligned");

/* A realloc between its begin and its end on one thread. */
struct pending {
	uint64_t key;		/* tid + 1 (tid 0 is valid for the key); 0: empty */
	uint64_t old_addr;	/* the realloc's pointer argument */
	struct slot block;	/* the parked block; addr 0 when old_addr was 0 or unknown */
};

struct ledger {
	struct slot *slots;
	size_t cap;
	size_t count;
	uint64_t bytes;		/* sum of the slots' (clamped) sizes */

	/* slots store times as microseconds after base_ns, the first time
	 * the ledger was given */
	uint64_t base_ns;
	bool has_base;

	struct pending *pend;
	size_t pend_cap;
	size_t pend_count;

	struct ledger_counters counters;
};

/* Maps a hash uniformly onto [0, cap) without a division (Lemire). */
static inline size_t home_of(uint64_t key, size_t cap)
{
	return (size_t)(((unsigned __int128)lw_hash64(key) * cap) >> 64);
}

static inline size_t next_of(size_t i, size_t cap)
{
	return i + 1 == cap ? 0 : i + 1;
}

/* Probe distance from slot a forward to slot b, wrapping around. */
static inline size_t dist(size_t a, size_t b, size_t cap)
{
	return b >= a ? b - a : b + cap - a;
}

/* Tables are kept at most 3/4 full so that probe sequences stay short. */
static inline size_t limit_of(size_t cap)
{
	return cap - cap / 4;
}

static inline uint64_t slot_size(const struct slot *s)
{
	return (uint64_t)s->size_hi << 32 | s->size_lo;
}

static inline uint64_t slot_ts_ns(const struct ledger *l, const struct slot *s)
{
	uint64_t us = (uint64_t)s->ts_hi << 32 | s->ts_lo;

	/* cannot overflow: slot_set() stored at most (ts_ns - base_ns) / 1000 */
	return l->base_ns + us * 1000;
}

/*
 * Fills a slot, clamping what does not fit in 48 bits rather than wrapping
 * it: a wrapped size would unbalance ledger->bytes, a wrapped time would
 * make an old block look new.  Times before the base (events from other
 * CPUs arriving slightly out of order) count as the base.
 */
static inline void slot_set(const struct ledger *l, struct slot *s, uint64_t addr,
			    uint64_t size, int32_t stack_id, uint64_t ts_ns)
{
	uint64_t us = ts_ns > l->base_ns ? (ts_ns - l->base_ns) / 1000 : 0;

	if (size > FIELD48_MAX)
		size = FIELD48_MAX;
	if (us > FIELD48_MAX)
		us = FIELD48_MAX;
	s->addr = addr;
	s->stack_id = stack_id;
	s->size_hi = (uint16_t)(size >> 32);
	s->size_lo = (uint32_t)size;
	s->ts_hi = (uint16_t)(us >> 32);
	s->ts_lo = (uint32_t)us;
}

static inline void slot_get(const struct ledger *l, const struct slot *s,
			    struct ledger_block *out)
{
	out->size = slot_size(s);
	out->ts_ns = slot_ts_ns(l, s);
	out->stack_id = s->stack_id;
}

/* Index of the slot holding addr, or of the empty slot ending its probe. */
static inline size_t slot_probe(const struct slot *slots, size_t cap, uint64_t addr)
{
	size_t i = home_of(addr, cap);

	while (slots[i].addr && slots[i].addr != addr)
		i = next_of(i, cap);
	return i;
}

/*
 * Empties slot i, then walks the cluster after it and moves back every
 * block whose probe sequence passes through the hole, so that lookups can
 * keep stopping at the first empty slot.
 */
static void slot_remove_at(struct slot *slots, size_t cap, size_t i)
{
	size_t j = i;

	for (;;) {
		j = next_of(j, cap);
		if (!slots[j].addr)
			break;
		/* slot j may fill the hole unless its home lies in (i, j] */
		if (dist(home_of(slots[j].addr, cap), j, cap) >= dist(i, j, cap)) {
			slots[i] = slots[j];
			i = j;
		}
	}
	slots[i].addr = 0;
}

static int slots_grow(struct ledger *l)
{
	struct slot *old = l->slots, *slots;
	size_t old_cap = l->cap, cap, i;

	if (old_cap > SIZE_MAX / 2 / sizeof(*slots))
		return -ENOMEM;
	cap = old_cap * 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < old_cap; i++) {
		if (old[i].addr)
			slots[slot_probe(slots, cap, old[i].addr)] = old[i];
	}
	free(old);
	l->slots = slots;
	l->cap = cap;
	lw_debug("ledger: grew to %zu slots for %zu blocks\n", cap, l->count);
	return 0;
}

static size_t pending_probe(const struct pending *pend, size_t cap, uint64_t key)
{
	size_t i = home_of(key, cap);

	while (pend[i].key && pend[i].key != key)
		i = next_of(i, cap);
	return i;
}

/* Same backward shift as slot_remove_at(), on the pending table. */
static void pending_remove_at(struct pending *pend, size_t cap, size_t i)
{
	size_t j = i;

	for (;;) {
		j = next_of(j, cap);
		if (!pend[j].key)
			break;
		if (dist(home_of(pend[j].key, cap), j, cap) >= dist(i, j, cap)) {
			pend[i] = pend[j];
			i = j;
		}
	}
	pend[i].key = 0;
}

static int pending_grow(struct ledger *l)
{
	struct pending *old = l->pend, *pend;
	size_t old_cap = l->pend_cap, cap, i;

	if (old_cap > SIZE_MAX / 2 / sizeof(*pend))
		return -ENOMEM;
	cap = old_cap * 2;
	pend = calloc(cap, sizeof(*pend));
	if (!pend)
		return -ENOMEM;
	for (i = 0; i < old_cap; i++) {
		if (old[i].key)
			pend[pending_probe(pend, cap, old[i].key)] = old[i];
	}
	free(old);
	l->pend = pend;
	l->pend_cap = cap;
	return 0;
}

struct ledger *ledger__new(void)
{
	struct ledger *l;

	l = calloc(1, sizeof(*l));
	if (!l)
		goto cleanup;
	l->cap = LEDGER_INITIAL_SLOTS;
	l->slots = calloc(l->cap, sizeof(*l->slots));
	l->pend_cap = PENDING_INITIAL_SLOTS;
	l->pend = calloc(l->pend_cap, sizeof(*l->pend));
	if (!l->slots || !l->pend)
		goto cleanup;
	return l;

cleanup:
	ledger__free(l);
	errno = ENOMEM;
	return NULL;
}

void ledger__free(struct ledger *l)
{
	if (!l)
		return;
	free(l->pend);
	free(l->slots);
	free(l);
}

/* The first time the ledger is given becomes the base of all its times. */
static inline void clock_start(struct ledger *l, uint64_t ts_ns)
{
	if (!l->has_base) {
		l->base_ns = ts_ns;
		l->has_base = true;
	}
}

/* Puts a filled slot into the table, replacing a block at the same address. */
static int insert(struct ledger *l, const struct slot *s)
{
	size_t i;
	int err;

	i = slot_probe(l->slots, l->cap, s->addr);
	if (l->slots[i].addr) {
		/* the free of the earlier block at this address was lost */
		l->counters.replaced_blocks++;
		l->bytes -= slot_size(&l->slots[i]);
	} else {
		if (l->count >= limit_of(l->cap)) {
			err = slots_grow(l);
			if (err)
				return err;
			i = slot_probe(l->slots, l->cap, s->addr);
		}
		l->count++;
	}
	l->slots[i] = *s;
	l->bytes += slot_size(s);
	return 0;
}

int ledger__alloc(struct ledger *l, uint64_t addr, uint64_t size,
		  int32_t stack_id, uint64_t ts_ns)
{
	struct slot s;

	clock_start(l, ts_ns);
	/* a failed allocation hands out nothing */
	if (!addr)
		return 0;
	slot_set(l, &s, addr, size, stack_id, ts_ns);
	return insert(l, &s);
}

/* Takes the block in slot i out of the table and the totals. */
static void take_out(struct ledger *l, size_t i, struct slot *out)
{
	if (out)
		*out = l->slots[i];
	l->bytes -= slot_size(&l->slots[i]);
	l->count--;
	slot_remove_at(l->slots, l->cap, i);
}

int ledger__release(struct ledger *l, uint64_t addr, struct ledger_block *out)
{
	struct slot s;
	size_t i;

	/* free(NULL) releases nothing and is not an irregularity */
	if (!addr) {
		if (out)
			*out = (struct ledger_block){ .stack_id = LEDGER_NO_STACK };
		return 0;
	}

	i = slot_probe(l->slots, l->cap, addr);
	if (!l->slots[i].addr) {
		l->counters.unknown_frees++;
		return -ENOENT;
	}
	take_out(l, i, &s);
	if (out)
		slot_get(l, &s, out);
	return 0;
}

int ledger__realloc_begin(struct ledger *l, uint32_t tid, uint64_t old_addr)
{
	uint64_t key = (uint64_t)tid + 1;
	struct pending *p;
	size_t i;
	int err;

	i = pending_probe(l->pend, l->pend_cap, key);
	if (l->pend[i].key) {
		/*
		 * The end of this thread's previous realloc was lost.  That
		 * realloc most likely succeeded and released its block, so
		 * the parked block is dropped: putting it back would report
		 * a leak that is most likely false.
		 */
		l->counters.unmatched_reallocs++;
	} else {
		/* grow before touching the main table: ENOMEM loses nothing */
		if (l->pend_count >= limit_of(l->pend_cap)) {
			err = pending_grow(l);
			if (err)
				return err;
			i = pending_probe(l->pend, l->pend_cap, key);
		}
		l->pend_count++;
	}

	p = &l->pend[i];
	p->key = key;
	p->old_addr = old_addr;
	p->block.addr = 0;
	if (!old_addr)
		return 0;

	i = slot_probe(l->slots, l->cap, old_addr);
	if (l->slots[i].addr)
		take_out(l, i, &p->block);
	else
		l->counters.unknown_frees++;
	return 0;
}

int ledger__realloc_end(struct ledger *l, uint32_t tid, uint64_t old_addr,
			uint64_t new_addr, uint64_t size, int32_t stack_id,
			uint64_t ts_ns)
{
	uint64_t key = (uint64_t)tid + 1;
	/* realloc(p, 0) returning NULL freed p; any other NULL is a failure */
	bool failed = !new_addr && !(size == 0 && old_addr);
	struct slot parked = { 0 };
	bool begun = false;
	size_t i;
	int err;

	clock_start(l, ts_ns);
	i = pending_probe(l->pend, l->pend_cap, key);
	if (l->pend[i].key) {
		if (l->pend[i].old_addr == old_addr) {
			begun = true;
			parked = l->pend[i].block;
		} else {
			/* a stale begin whose end was lost: dropped as above */
			l->counters.unmatched_reallocs++;
		}
		pending_remove_at(l->pend, l->pend_cap, i);
		l->pend_count--;
	}

	if (!begun) {
		/*
		 * The begin was lost (or came before tracing started), so a
		 * known old block is still in the table: release it there,
		 * or a moved block would stay as a false leak.
		 */
		if (old_addr) {
			/* realloc(NULL, n) has no begin: only a real block's
			 * end is unmatched */
			l->counters.unmatched_reallocs++;
			i = slot_probe(l->slots, l->cap, old_addr);
			if (!l->slots[i].addr)
				l->counters.unknown_frees++;
			else if (!failed)
				take_out(l, i, NULL);
		}
	} else if (failed && parked.addr) {
		/* a failed realloc leaves the old block as it was */
		err = insert(l, &parked);
		if (err)
			return err;
	}

	if (new_addr)
		return ledger__alloc(l, new_addr, size, stack_id, ts_ns);
	return 0;
}

uint64_t ledger__bytes(const struct ledger *l)
{
	return l->bytes;
}

uint64_t ledger__blocks(const struct ledger *l)
{
	return l->count;
}

const struct ledger_counters *ledger__counters(const struct ledger *l)
{
	return &l->counters;
}

size_t ledger__footprint(const struct ledger *l)
{
	return sizeof(*l) + l->cap * sizeof(*l->slots) + l->pend_cap * sizeof(*l->pend);
}

int ledger__find(const struct ledger *l, uint64_t addr, struct ledger_block *out)
{
	const struct slot *s;

	if (!addr)
		return -ENOENT;
	s = &l->slots[slot_probe(l->slots, l->cap, addr)];
	if (!s->addr)
		return -ENOENT;
	if (out)
		slot_get(l, s, out);
	return 0;
}

/* Filters on the block as the ledger reports it: clamped size, rounded time. */
static bool filter_pass(const struct ledger_filter *f, uint64_t size, uint64_t ts_ns)
{
	if (!f)
		return true;
	if (size < f->min_size)
		return false;
	if (f->max_size && size > f->max_size)
		return false;
	if (f->max_ts_ns && ts_ns > f->max_ts_ns)
		return false;
	return true;
}

/*
 * Temporary index from stack id to its entry in the result array, sized to
 * the number of distinct stacks (thousands) rather than of blocks.
 */
static int cmp_stacks(const void *a, const void *b)
{
	const struct ledger_stack *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->allocs != y->allocs)
		return x->allocs > y->allocs ? -1 : 1;
	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	return 0;
}

/* The entry of stack_id in res, through its index, or NULL. */
static struct ledger_stack *stack_find(const struct lw_htab *index, struct ledger_stack *res,
				       int32_t stack_id)
{
	struct lw_htab_slot *slot;

	lw_htab_for_each_match(index, lw_hash64((uint32_t)stack_id), slot) {
		if (res[slot->val - 1].stack_id == stack_id)
			return &res[slot->val - 1];
	}
	return NULL;
}

/* What one block stands for: itself, or its share of a sampled population. */
static void block_weight(const struct ledger_filter *f, uint64_t size, uint64_t *bytes,
			 double *allocs)
{
	*bytes = size;
	*allocs = 1;
	if (f && f->sample_bytes && size < f->sample_bytes) {
		*bytes = f->sample_bytes;
		if (size)
			*allocs = (double)f->sample_bytes / (double)size;
	}
}

int ledger__stacks(const struct ledger *l, const struct ledger_filter *filter,
		   struct ledger_stack **out, size_t *n)
{
	struct lw_htab index = LW_HTAB_INIT;	/* stack id -> entry + 1 in res */
	struct ledger_stack *res = NULL, *st;
	size_t res_n = 0, res_cap = 0, i;
	int err = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; i < l->cap; i++) {
		const struct slot *s = &l->slots[i];
		uint64_t bytes, size, ts_ns;
		double allocs;

		if (!s->addr)
			continue;
		size = slot_size(s);
		ts_ns = slot_ts_ns(l, s);
		if (!filter_pass(filter, size, ts_ns))
			continue;
		block_weight(filter, size, &bytes, &allocs);
		st = stack_find(&index, res, s->stack_id);
		if (st) {
			st->bytes += bytes;
			st->allocs_est += allocs;
			st->samples++;
			if (ts_ns < st->oldest_ts_ns)
				st->oldest_ts_ns = ts_ns;
			continue;
		}

		if (lw_vec_reserve(res, res_cap, res_n + 1)) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = lw_htab_add(&index, lw_hash64((uint32_t)s->stack_id), res_n + 1);
		if (err)
			goto cleanup;
		res[res_n++] = (struct ledger_stack){
			.stack_id = s->stack_id,
			.bytes = bytes,
			.allocs_est = allocs,
			.samples = 1,
			.oldest_ts_ns = ts_ns,
		};
	}

	for (i = 0; i < res_n; i++)
		res[i].allocs = (uint64_t)(res[i].allocs_est + 0.5);
	if (res_n) {
		qsort(res, res_n, sizeof(*res), cmp_stacks);
		*out = res;
		*n = res_n;
		res = NULL;
	}

cleanup:
	free(res);
	lw_htab_release(&index);
	return err;
}

void ledger__for_each(const struct ledger *l,
		      void (*fn)(uint64_t addr, const struct ledger_block *b, void *ctx),
		      void *ctx)
{
	struct ledger_block b;
	size_t i;

	for (i = 0; i < l->cap; i++) {
		const struct slot *s = &l->slots[i];

		if (!s->addr)
			continue;
		slot_get(l, s, &b);
		fn(s->addr, &b, ctx);
	}
}

void ledger__for_each_stack(const struct ledger *l, void (*fn)(int32_t stack_id, void *ctx),
			    void *ctx)
{
	size_t i;

	for (i = 0; i < l->cap; i++)
		if (l->slots[i].addr)
			fn(l->slots[i].stack_id, ctx);
	for (i = 0; i < l->pend_cap; i++)
		if (l->pend[i].key && l->pend[i].block.addr)
			fn(l->pend[i].block.stack_id, ctx);
}
