// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "vec.h"

struct item {
	uint64_t a;
	uint32_t b;
};

Test(vec, grows_by_doubling_and_keeps_elements)
{
	struct item *v = NULL;
	size_t n = 0, cap = 0, i, grows = 0, last_cap = 0;

	for (i = 0; i < 10000; i++) {
		cr_assert_eq(lw_vec_reserve(v, cap, n + 1), 0);
		if (cap != last_cap) {
			grows++;
			last_cap = cap;
		}
		v[n++] = (struct item){ i * 3, (uint32_t)i };
	}
	cr_assert_geq(cap, n);
	/* 16, 32, ... 16384: 11 reallocations for 10,000 pushes */
	cr_assert_eq(cap, 16384);
	cr_assert_eq(grows, 11);
	for (i = 0; i < n; i++)
		cr_assert(v[i].a == i * 3 && v[i].b == i);
	/* enough room already: nothing moves */
	cr_assert_eq(lw_vec_reserve(v, cap, 100), 0);
	cr_assert_eq(cap, 16384);
	free(v);
}

Test(vec, reserve_jumps_to_what_is_needed)
{
	int *v = NULL;
	size_t cap = 0;

	cr_assert_eq(lw_vec_reserve(v, cap, 1000), 0);
	cr_assert_eq(cap, 1024);
	free(v);
}

Test(vec, zeroed_growth_clears_new_elements)
{
	uint64_t *v = NULL;
	size_t cap = 0, i;

	cr_assert_eq(lw_vec_reserve_zero(v, cap, 3), 0);
	for (i = 0; i < cap; i++) {
		cr_assert_eq(v[i], 0);
		v[i] = ~0ULL;
	}
	cr_assert_eq(lw_vec_reserve_zero(v, cap, cap + 1), 0);
	cr_assert_eq(cap, 32);
	for (i = 0; i < 16; i++)
		cr_assert_eq(v[i], ~0ULL);
	for (; i < cap; i++)
		cr_assert_eq(v[i], 0);
	free(v);
}

/* A size that overflows fails and leaves the array as it was. */
Test(vec, overflow_fails_untouched)
{
	uint64_t *v = NULL;
	size_t cap = 0;

	cr_assert_eq(lw_vec_reserve(v, cap, 4), 0);
	uint64_t *before = v;
	v[0] = 42;
	cr_assert_eq(lw_vec_reserve(v, cap, SIZE_MAX / 4), -ENOMEM);
	cr_assert_eq(v, before);
	cr_assert_eq(cap, 16);
	cr_assert_eq(v[0], 42);
	free(v);
}

Test(clock, monotonic_nanoseconds)
{
	struct timespec ts;
	uint64_t a, b, c;

	a = lw_now_ns();
	cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	c = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	b = lw_now_ns();
	cr_assert(a <= c && c <= b, "%lu %lu %lu", (unsigned long)a, (unsigned long)c,
		  (unsigned long)b);
	cr_assert_gt(lw_clock_ns(CLOCK_REALTIME), 1600000000ULL * 1000000000ULL);
	cr_assert_eq(lw_clock_ns((clockid_t)-42), 0);
}
