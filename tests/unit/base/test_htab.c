// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "hash.h"
#include "htab.h"

/* How many values under hash, and whether val is one of them. */
static size_t matches(const struct lw_htab *h, uint64_t hash, uintptr_t val, bool *found)
{
	struct lw_htab_slot *s;
	size_t n = 0;

	*found = false;
	lw_htab_for_each_match(h, hash, s) {
		n++;
		*found |= s->val == val;
	}
	return n;
}

Test(htab, empty_table_finds_nothing)
{
	struct lw_htab h = LW_HTAB_INIT;
	bool found;

	cr_assert_null(lw_htab_first(&h, 42));
	cr_assert_eq(lw_htab_get(&h, 42), 0);
	cr_assert_eq(matches(&h, 42, 1, &found), 0);
	cr_assert_not(lw_htab_del(&h, 42, 1));
	cr_assert_eq(lw_htab_add(&h, 42, 0), -EINVAL);
	cr_assert_eq(h.count, 0);
	lw_htab_release(&h);
}

/* 100,000 keys in, every one found, half deleted, the rest still found:
 * the backward shift keeps every probe sequence whole. */
Test(htab, add_find_delete_many)
{
	struct lw_htab h = LW_HTAB_INIT;
	const uintptr_t n = 100000;
	uintptr_t k;
	bool found;

	for (k = 1; k <= n; k++)
		cr_assert_eq(lw_htab_add(&h, lw_hash64(k), k), 0);
	cr_assert_eq(h.count, n);
	/* at most 3/4 full, a power of two */
	cr_assert_leq(h.count, h.cap - h.cap / 4);
	cr_assert_eq(h.cap & (h.cap - 1), 0);
	for (k = 1; k <= n; k++)
		cr_assert_eq(lw_htab_get(&h, lw_hash64(k)), k, "key %zu", (size_t)k);
	cr_assert_eq(lw_htab_get(&h, lw_hash64(n + 1)), 0);
	for (k = 1; k <= n; k += 2)
		cr_assert(lw_htab_del(&h, lw_hash64(k), k));
	cr_assert_eq(h.count, n / 2);
	for (k = 1; k <= n; k++)
		cr_assert_eq(matches(&h, lw_hash64(k), k, &found), k % 2 == 0, "key %zu", (size_t)k);
	lw_htab_release(&h);
	cr_assert_eq(h.cap, 0);
	cr_assert_null(h.slots);
}

/* Equal hashes (the caller's collisions) are all kept and all visited;
 * deleting one leaves the others. */
Test(htab, equal_hashes_are_all_visited)
{
	struct lw_htab h = LW_HTAB_INIT;
	bool found;
	uintptr_t v;

	for (v = 1; v <= 40; v++)
		cr_assert_eq(lw_htab_add(&h, 7, v), 0);
	cr_assert_eq(lw_htab_add(&h, 8, 99), 0);
	cr_assert_eq(matches(&h, 7, 13, &found), 40);
	cr_assert(found);
	cr_assert(lw_htab_del(&h, 7, 13));
	cr_assert_not(lw_htab_del(&h, 7, 13));
	cr_assert_eq(matches(&h, 7, 13, &found), 39);
	cr_assert_not(found);
	cr_assert_eq(lw_htab_get(&h, 8), 99);
	lw_htab_release(&h);
}

/* Hashes that all land in the last slots wrap around the end of the
 * array; deletions there must shift across the wrap. */
Test(htab, clusters_wrap_around)
{
	struct lw_htab h = LW_HTAB_INIT;
	uint64_t hash;
	bool found;

	cr_assert_eq(lw_htab_reserve(&h, 10), 0);
	cr_assert_eq(h.cap, 16);
	for (hash = 14; hash < 14 + 10; hash++)
		cr_assert_eq(lw_htab_add(&h, hash == 23 ? 14 : hash, hash), 0);
	cr_assert_eq(h.cap, 16);
	cr_assert(lw_htab_del(&h, 14, 14));
	cr_assert(lw_htab_del(&h, 16, 16));
	for (hash = 15; hash < 23; hash++) {
		if (hash == 16)
			continue;
		cr_assert_eq(lw_htab_get(&h, hash), hash, "hash %lu", (unsigned long)hash);
	}
	cr_assert_eq(matches(&h, 14, 23, &found), 1);
	cr_assert(found);
	lw_htab_release(&h);
}

Test(htab, for_each_visits_every_entry_once)
{
	struct lw_htab h = LW_HTAB_INIT;
	struct lw_htab_slot *s;
	uintptr_t v, sum = 0, n = 0;

	for (v = 1; v <= 1000; v++)
		cr_assert_eq(lw_htab_add(&h, lw_hash64(v), v), 0);
	lw_htab_for_each(&h, s) {
		sum += s->val;
		n++;
	}
	cr_assert_eq(n, 1000);
	cr_assert_eq(sum, 1000 * 1001 / 2);
	lw_htab_reset(&h);
	cr_assert_eq(h.count, 0);
	cr_assert_eq(lw_htab_get(&h, lw_hash64(5)), 0);
	lw_htab_release(&h);
}

Test(hash, mixers)
{
	/* fmix64 is a bijection with 0 as its fixed point; pids 1 and 2
	 * differ in many bits, low and high */
	cr_assert_eq(lw_hash64(0), 0);
	cr_assert_eq(lw_hash64(1), 0xb456bcfc34c2cb2cULL);
	cr_assert_geq(__builtin_popcountll(lw_hash64(1) ^ lw_hash64(2)), 16);
	cr_assert_neq(lw_hash_pair(1, 2), lw_hash_pair(2, 1));
	/* FNV-1a's published test values */
	cr_assert_eq(lw_hash_str(""), 0xcbf29ce484222325ULL);
	cr_assert_eq(lw_hash_str("a"), 0xaf63dc4c8601ec8cULL);
	cr_assert_eq(lw_hash_str("foobar"), 0x85944171f73967e8ULL);
}
