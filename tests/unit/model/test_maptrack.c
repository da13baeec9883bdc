// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maptrack.h"

#define PG 4096ULL
/* Page n of a mapping-looking region. */
#define P(n) (0x7f1200000000ULL + (uint64_t)(n) * PG)

static struct maptrack *new_tracker(void)
{
	struct maptrack *m = maptrack__new(PG);

	cr_assert_not_null(m);
	return m;
}

static struct map_origin origin(enum map_kind kind, int32_t stack_id)
{
	return (struct map_origin){ .kind = kind, .stack_id = stack_id, .ts_ns = 1000 + stack_id };
}

/* What stack_id of kind holds: bytes and origins, from maptrack__stacks. */
static void expect_stack(const struct maptrack *m, enum map_kind kind, int32_t stack_id,
			 uint64_t bytes, uint64_t origins)
{
	struct maptrack_stack *s;
	size_t n, i;
	uint64_t got_bytes = 0, got_origins = 0;

	cr_assert_eq(maptrack__stacks(m, NULL, &s, &n), 0);
	for (i = 0; i < n; i++) {
		if (s[i].kind != kind || s[i].stack_id != stack_id)
			continue;
		got_bytes += s[i].bytes;
		got_origins += s[i].origins;
	}
	free(s);
	cr_expect_eq(got_bytes, bytes, "stack %d: %llu bytes, expected %llu", stack_id,
		     (unsigned long long)got_bytes, (unsigned long long)bytes);
	cr_expect_eq(got_origins, origins, "stack %d: %llu origins, expected %llu", stack_id,
		     (unsigned long long)got_origins, (unsigned long long)origins);
}

Test(maptrack, map_rounds_up_to_pages)
{
	struct maptrack *m = new_tracker();
	struct map_origin o = origin(MAP_KIND_MMAP, 1);

	cr_assert_eq(maptrack__map(m, P(0), 100, &o), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), PG);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_MMAP), 1);
	cr_expect_eq(maptrack__map(m, P(0) + 8, PG, &o), -EINVAL);
	cr_expect_eq(maptrack__map(m, P(4), 0, &o), -EINVAL);
	cr_expect_eq(maptrack__unmap(m, P(0) + 1, PG), -EINVAL);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), PG);
	maptrack__free(m);
}

Test(maptrack, punch_a_hole_splits_one_origin)
{
	struct maptrack *m = new_tracker();
	struct map_origin o = origin(MAP_KIND_MMAP, 1);

	cr_assert_eq(maptrack__map(m, P(0), 8 * PG, &o), 0);
	cr_assert_eq(maptrack__unmap(m, P(3), 2 * PG), 0);
	cr_expect_eq(maptrack__intervals(m), 2);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 6 * PG);
	/* two pieces, one call */
	cr_expect_eq(maptrack__origins(m, MAP_KIND_MMAP), 1);
	expect_stack(m, MAP_KIND_MMAP, 1, 6 * PG, 1);
	/* the rest, piece by piece */
	cr_assert_eq(maptrack__unmap(m, P(0), 3 * PG), 0);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_MMAP), 1);
	cr_assert_eq(maptrack__unmap(m, P(5), 3 * PG), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 0);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_MMAP), 0);
	cr_expect_eq(maptrack__intervals(m), 0);
	maptrack__free(m);
}

Test(maptrack, unmap_trims_both_ends)
{
	struct maptrack *m = new_tracker();
	struct map_origin o = origin(MAP_KIND_MMAP, 1);

	cr_assert_eq(maptrack__map(m, P(0), 10 * PG, &o), 0);
	cr_assert_eq(maptrack__unmap(m, P(0), 2 * PG), 0);	/* head */
	cr_assert_eq(maptrack__unmap(m, P(9), 5 * PG), 0);	/* tail and beyond */
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 7 * PG);
	cr_expect_eq(maptrack__intervals(m), 1);
	maptrack__free(m);
}

Test(maptrack, one_unmap_spans_several_mappings_and_gaps)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), b = origin(MAP_KIND_MMAP, 2),
			  c = origin(MAP_KIND_MMAP, 3);

	cr_assert_eq(maptrack__map(m, P(0), 2 * PG, &a), 0);
	cr_assert_eq(maptrack__map(m, P(3), 2 * PG, &b), 0);
	cr_assert_eq(maptrack__map(m, P(6), 4 * PG, &c), 0);
	/* from inside a to inside c: a keeps 1 page, b goes, c keeps 3 */
	cr_assert_eq(maptrack__unmap(m, P(1), 6 * PG), 0);
	expect_stack(m, MAP_KIND_MMAP, 1, PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 2, 0, 0);
	expect_stack(m, MAP_KIND_MMAP, 3, 3 * PG, 1);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_MMAP), 2);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 4 * PG);
	maptrack__free(m);
}

Test(maptrack, map_fixed_replaces_what_it_covers)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), b = origin(MAP_KIND_MMAP, 2);

	cr_assert_eq(maptrack__map(m, P(0), 4 * PG, &a), 0);
	cr_assert_eq(maptrack__map(m, P(1), 2 * PG, &b), 0);	/* MAP_FIXED in the middle */
	expect_stack(m, MAP_KIND_MMAP, 1, 2 * PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 2, 2 * PG, 1);
	cr_expect_eq(maptrack__intervals(m), 3);
	/* and over everything: only the newest is left */
	cr_assert_eq(maptrack__map(m, P(0), 4 * PG, &a), 0);
	expect_stack(m, MAP_KIND_MMAP, 1, 4 * PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 2, 0, 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 4 * PG);
	maptrack__free(m);
}

Test(maptrack, unknown_ranges_are_ignored)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1);

	cr_assert_eq(maptrack__unmap(m, P(0), 16 * PG), 0);
	cr_assert_eq(maptrack__map(m, P(20), PG, &a), 0);
	cr_assert_eq(maptrack__unmap(m, P(0), 16 * PG), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), PG);
	maptrack__free(m);
}

Test(maptrack, mremap_grow_in_place_attributes_the_growth_to_the_call)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), r = origin(MAP_KIND_MMAP, 2);

	cr_assert_eq(maptrack__map(m, P(0), 2 * PG, &a), 0);
	cr_assert_eq(maptrack__remap(m, P(0), 2 * PG, P(0), 6 * PG, 0, &r), 0);
	expect_stack(m, MAP_KIND_MMAP, 1, 2 * PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 2, 4 * PG, 1);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 6 * PG);
	maptrack__free(m);
}

Test(maptrack, mremap_shrink_cuts_the_tail)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), r = origin(MAP_KIND_MMAP, 2);

	cr_assert_eq(maptrack__map(m, P(0), 4 * PG, &a), 0);
	cr_assert_eq(maptrack__remap(m, P(0), 4 * PG, P(0), PG, 0, &r), 0);
	expect_stack(m, MAP_KIND_MMAP, 1, PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 2, 0, 0);
	cr_expect_eq(maptrack__intervals(m), 1);
	maptrack__free(m);
}

Test(maptrack, mremap_move_carries_pieces_and_their_origins)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), b = origin(MAP_KIND_MMAP, 2),
			  r = origin(MAP_KIND_MMAP, 3), x = origin(MAP_KIND_MMAP, 4);

	cr_assert_eq(maptrack__map(m, P(0), 4 * PG, &a), 0);
	cr_assert_eq(maptrack__map(m, P(2), PG, &b), 0);	/* a, b, a */
	cr_assert_eq(maptrack__map(m, P(100), 2 * PG, &x), 0);	/* replaced by the move */
	/* moved to P(100) and grown by 2 pages */
	cr_assert_eq(maptrack__remap(m, P(0), 4 * PG, P(100), 6 * PG, 0, &r), 0);
	expect_stack(m, MAP_KIND_MMAP, 1, 3 * PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 2, PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 3, 2 * PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 4, 0, 0);
	/* nothing left at the old place */
	cr_assert_eq(maptrack__unmap(m, P(0), 4 * PG), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 6 * PG);
	/* everything at the new one */
	cr_assert_eq(maptrack__unmap(m, P(100), 6 * PG), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_MMAP), 0);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_MMAP), 0);
	maptrack__free(m);
}

Test(maptrack, mremap_dontunmap_keeps_the_old_range)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), r = origin(MAP_KIND_MMAP, 2);

	cr_assert_eq(maptrack__map(m, P(0), 2 * PG, &a), 0);
	cr_assert_eq(maptrack__remap(m, P(0), 2 * PG, P(50), 2 * PG, 1, &r), 0);
	expect_stack(m, MAP_KIND_MMAP, 1, 4 * PG, 1);
	maptrack__free(m);
}

Test(maptrack, mremap_of_zero_length_maps_anew)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), r = origin(MAP_KIND_MMAP, 2);

	cr_assert_eq(maptrack__map(m, P(0), 2 * PG, &a), 0);
	cr_assert_eq(maptrack__remap(m, P(0), 0, P(10), 2 * PG, 0, &r), 0);
	expect_stack(m, MAP_KIND_MMAP, 1, 2 * PG, 1);
	expect_stack(m, MAP_KIND_MMAP, 2, 2 * PG, 1);
	maptrack__free(m);
}

Test(maptrack, brk_grows_and_shrinks_in_pages)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_BRK, 1), b = origin(MAP_KIND_ALLOCATOR, 2);
	uint64_t base = P(0) + 100;	/* the break need not be aligned */

	cr_assert_eq(maptrack__brk(m, base, base + 3 * PG, &a), 0);	/* pages 1..3 */
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_BRK), 3 * PG);
	cr_assert_eq(maptrack__brk(m, base + 3 * PG, base + 5 * PG, &b), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), 2 * PG);
	/* shrink into the first growth */
	cr_assert_eq(maptrack__brk(m, base + 5 * PG, base + 2 * PG, &a), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_BRK), 2 * PG);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_ALLOCATOR), 0);
	/* within one page: nothing changes */
	cr_assert_eq(maptrack__brk(m, base + 2 * PG, base + 2 * PG - 50, &a), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_BRK), 2 * PG);
	maptrack__free(m);
}

Test(maptrack, kinds_and_files_are_apart)
{
	struct maptrack *m = new_tracker();
	struct map_origin a = origin(MAP_KIND_MMAP, 1), f = origin(MAP_KIND_MMAP, 1),
			  s = origin(MAP_KIND_THREAD_STACK, 1);
	struct maptrack_stack *st;
	size_t n;

	f.file = "/data/x.bin";
	cr_assert_eq(maptrack__map(m, P(0), PG, &a), 0);
	cr_assert_eq(maptrack__map(m, P(10), PG, &a), 0);
	cr_assert_eq(maptrack__map(m, P(20), 3 * PG, &f), 0);
	cr_assert_eq(maptrack__map(m, P(30), 2 * PG, &s), 0);
	cr_assert_eq(maptrack__stacks(m, NULL, &st, &n), 0);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(st[0].file, "/data/x.bin");
	cr_expect_eq(st[0].bytes, 3 * PG);
	cr_expect_eq(st[1].kind, MAP_KIND_MMAP);	/* 2 pages, 2 origins beat 2 pages, 1 */
	cr_expect_null(st[1].file);
	cr_expect_eq(st[1].origins, 2);
	cr_expect_eq(st[2].kind, MAP_KIND_THREAD_STACK);
	free(st);
	cr_expect_eq(map_kind_is_leak(MAP_KIND_MMAP), 1);
	cr_expect_eq(map_kind_is_leak(MAP_KIND_ALLOCATOR), 0);
	cr_expect_str_eq(map_kind_name(MAP_KIND_THREAD_STACK), "thread_stack");
	maptrack__free(m);
}

/* PROT_NONE reservations, and mprotect turning their pages into memory
 * and back: only accessible bytes are held, the origin stays one call. */
Test(maptrack, mprotect_tells_reserved_from_accessible)
{
	struct maptrack *m = new_tracker();
	struct map_origin o = origin(MAP_KIND_ALLOCATOR, 1);
	struct maptrack_stack *st;
	size_t n;

	o.reserved = 1;
	cr_assert_eq(maptrack__map(m, P(0), 16 * PG, &o), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), 0);
	cr_expect_eq(maptrack__reserved(m, MAP_KIND_ALLOCATOR), 16 * PG);
	/* glibc's arena: the first pages made accessible, then more */
	cr_assert_eq(maptrack__protect(m, P(0), 2 * PG, 0), 0);
	cr_assert_eq(maptrack__protect(m, P(2), PG, 0), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), 3 * PG);
	cr_expect_eq(maptrack__reserved(m, MAP_KIND_ALLOCATOR), 13 * PG);
	/* a guard page in the middle, and one already reserved */
	cr_assert_eq(maptrack__protect(m, P(1), PG, 1), 0);
	cr_assert_eq(maptrack__protect(m, P(8), PG, 1), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), 2 * PG);
	cr_expect_eq(maptrack__reserved(m, MAP_KIND_ALLOCATOR), 14 * PG);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_ALLOCATOR), 1);
	cr_assert_eq(maptrack__stacks(m, NULL, &st, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_eq(st[0].bytes, 2 * PG);
	cr_expect_eq(st[0].reserved, 14 * PG);
	cr_expect_eq(st[0].origins, 1);
	free(st);
	/* unmapping an accessible and a reserved piece */
	cr_assert_eq(maptrack__unmap(m, P(0), 2 * PG), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), PG);
	cr_expect_eq(maptrack__reserved(m, MAP_KIND_ALLOCATOR), 13 * PG);
	/* a growing mremap: the growth has the protection it extends */
	cr_assert_eq(maptrack__remap(m, P(2), 14 * PG, P(32), 20 * PG, 0, &o), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), PG);
	cr_expect_eq(maptrack__reserved(m, MAP_KIND_ALLOCATOR), 19 * PG);
	/* mprotect of pages never seen mapped changes nothing */
	cr_assert_eq(maptrack__protect(m, P(100), 4 * PG, 0), 0);
	cr_expect_eq(maptrack__bytes(m, MAP_KIND_ALLOCATOR), PG);
	cr_assert_eq(maptrack__unmap(m, P(32), 20 * PG), 0);
	cr_expect_eq(maptrack__reserved(m, MAP_KIND_ALLOCATOR), 0);
	cr_expect_eq(maptrack__origins(m, MAP_KIND_ALLOCATOR), 0);
	cr_expect_eq(maptrack__protect(m, P(0) + 1, PG, 0), -EINVAL);
	maptrack__free(m);
}

/* Random operations against a page-by-page model: map (some PROT_NONE),
 * unmap, mprotect. */
Test(maptrack, matches_a_page_model)
{
	enum { PAGES = 64, OPS = 20000 };
	struct maptrack *m = new_tracker();
	int model[PAGES];	/* stack id per page, 0: unmapped */
	bool none[PAGES];	/* the page is PROT_NONE */
	unsigned int seed = 12345;
	int op;

	memset(model, 0, sizeof(model));
	memset(none, 0, sizeof(none));
	for (op = 0; op < OPS; op++) {
		unsigned int a = rand_r(&seed) % PAGES, len = 1 + rand_r(&seed) % 8, i;
		int id = 1 + rand_r(&seed) % 5, what = rand_r(&seed) % 3;
		bool reserved = rand_r(&seed) % 2;
		struct map_origin o = origin(MAP_KIND_MMAP, id);
		uint64_t bytes[6] = { 0 }, rbytes[6] = { 0 };

		o.reserved = reserved;
		if (a + len > PAGES)
			len = PAGES - a;
		if (what == 0) {
			cr_assert_eq(maptrack__map(m, P(a), len * PG, &o), 0);
			for (i = a; i < a + len; i++) {
				model[i] = id;
				none[i] = reserved;
			}
		} else if (what == 1) {
			cr_assert_eq(maptrack__unmap(m, P(a), len * PG), 0);
			for (i = a; i < a + len; i++)
				model[i] = 0;
		} else {
			cr_assert_eq(maptrack__protect(m, P(a), len * PG, reserved), 0);
			for (i = a; i < a + len; i++)
				none[i] = reserved;
		}
		if (op % 97)
			continue;
		for (i = 0; i < PAGES; i++) {
			if (none[i])
				rbytes[model[i]] += PG;
			else
				bytes[model[i]] += PG;
		}
		for (i = 1; i <= 5; i++) {
			struct maptrack_stack *st;
			size_t n, k;
			uint64_t got = 0, rgot = 0;

			cr_assert_eq(maptrack__stacks(m, NULL, &st, &n), 0);
			for (k = 0; k < n; k++) {
				if (st[k].stack_id == (int32_t)i) {
					got += st[k].bytes;
					rgot += st[k].reserved;
				}
			}
			free(st);
			cr_assert_eq(got, bytes[i], "op %d, stack %u", op, i);
			cr_assert_eq(rgot, rbytes[i], "op %d, stack %u: reserved", op, i);
		}
		cr_assert_eq(maptrack__bytes(m, MAP_KIND_MMAP),
			     bytes[1] + bytes[2] + bytes[3] + bytes[4] + bytes[5], "op %d", op);
		cr_assert_eq(maptrack__reserved(m, MAP_KIND_MMAP),
			     rbytes[1] + rbytes[2] + rbytes[3] + rbytes[4] + rbytes[5], "op %d", op);
	}
	maptrack__free(m);
}
