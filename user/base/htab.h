/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hash table: open addressing with linear probing and backward-shift
 * deletion (no tombstones, so a table under constant insert/delete churn
 * keeps short probes).  It maps a 64-bit hash to a nonzero word, the
 * caller's value: an object pointer cast to uintptr_t, or an array index
 * plus one.  The table never sees keys: the caller hashes its key (with
 * hash.h) and compares the candidates that share the hash, so one table
 * serves any key and value type, and entries living in an array that is
 * reallocated are indexed by position:
 *
 *	struct lw_htab_slot *s;
 *
 *	lw_htab_for_each_match(&t, hash, s) {
 *		struct thing *x = (struct thing *)s->val;
 *		if (x->key == key)
 *			return x;
 *	}
 *
 * A slot is 16 bytes; the table keeps at most 3/4 of its slots used and
 * doubles (a power of two, from 16) when it would go past that, so it costs
 * 21 to 43 bytes an entry.  The index of a hash is its low bits: hashes must
 * be mixed (lw_hash64, lw_hash_str), not raw keys.  Equal hashes may be
 * added any number of times.  Adding or deleting moves other slots: a slot
 * pointer is good until the next change to the table.
 */
#ifndef LW_HTAB_H
#define LW_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lw_htab_slot {
	uint64_t hash;
	uintptr_t val;		/* 0: an empty slot */
};

struct lw_htab {
	struct lw_htab_slot *slots;
	size_t cap;		/* 0 or a power of two */
	size_t count;
};

#define LW_HTAB_INIT { NULL, 0, 0 }

/* The first slot holding hash, or NULL. */
static inline struct lw_htab_slot *lw_htab_first(const struct lw_htab *h, uint64_t hash)
{
	size_t mask = h->cap - 1, i;

	if (!h->cap)
		return NULL;
	for (i = hash & mask; h->slots[i].val; i = (i + 1) & mask) {
		if (h->slots[i].hash == hash)
			return &h->slots[i];
	}
	return NULL;
}

/* The slot after s that holds hash too, or NULL. */
static inline struct lw_htab_slot *lw_htab_next(const struct lw_htab *h, uint64_t hash,
						const struct lw_htab_slot *s)
{
	size_t mask = h->cap - 1, i;

	for (i = ((size_t)(s - h->slots) + 1) & mask; h->slots[i].val; i = (i + 1) & mask) {
		if (h->slots[i].hash == hash)
			return &h->slots[i];
	}
	return NULL;
}

/* Each slot s holding hash; the body must not change the table unless it
 * leaves the loop right after. */
#define lw_htab_for_each_match(h, hash, s) \
	for ((s) = lw_htab_first((h), (hash)); (s); (s) = lw_htab_next((h), (hash), (s)))

/* The first value stored under hash, or 0: for tables whose hash is the
 * whole key. */
static inline uintptr_t lw_htab_get(const struct lw_htab *h, uint64_t hash)
{
	const struct lw_htab_slot *s = lw_htab_first(h, hash);

	return s ? s->val : 0;
}

/* Each used slot s, in no particular order; the body must not change the
 * table (collect, then delete). */
#define lw_htab_for_each(h, s) \
	for ((s) = (h)->slots; (s) && (s) < (h)->slots + (h)->cap; (s)++) \
		if (!(s)->val) {} else

/* Add val (nonzero) under hash: 0, -EINVAL (val 0) or -ENOMEM (the table
 * is as it was). */
int lw_htab_add(struct lw_htab *h, uint64_t hash, uintptr_t val);
/* Make room for n entries in all, so that adding up to n cannot fail:
 * 0 or -ENOMEM. */
int lw_htab_reserve(struct lw_htab *h, size_t n);
/* Remove slot s (from lw_htab_first/next/for_each_match). */
void lw_htab_del_at(struct lw_htab *h, struct lw_htab_slot *s);
/* Remove the slot holding val under hash: true if there was one. */
bool lw_htab_del(struct lw_htab *h, uint64_t hash, uintptr_t val);
/* Remove every entry, keeping the memory. */
void lw_htab_reset(struct lw_htab *h);
/* Free the memory; the table is empty and usable again. */
void lw_htab_release(struct lw_htab *h);

#endif /* LW_HTAB_H */
