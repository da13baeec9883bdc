/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The growable array: any `T *v` with a `size_t cap` beside it (and a
 * count the caller keeps) grows with
 *
 *	if (lw_vec_reserve(v, cap, n + 1))
 *		goto nomem;
 *	v[n++] = x;
 *
 * lw_vec_reserve makes room for at least `need` elements: it doubles the
 * capacity (from LW_VEC_MIN_CAP) so that n pushes cost O(n) copies, checks
 * the multiplication for overflow, and leaves v and cap as they were when
 * it fails.  New elements are not initialised (lw_vec_reserve_zero clears
 * them).  Evaluates v and cap more than once: pass plain lvalues.
 */
#ifndef LW_VEC_H
#define LW_VEC_H

#include <stdbool.h>
#include <stddef.h>

#define LW_VEC_MIN_CAP 16

/* 0 or -ENOMEM; *vp is a T * (passed as void * so that any T fits). */
int lw_vec_grow_(void *vp, size_t *cap, size_t need, size_t size, bool zero);

#define lw_vec_reserve(v, cap, need) \
	((need) <= (cap) ? 0 : lw_vec_grow_(&(v), &(cap), (need), sizeof(*(v)), false))
#define lw_vec_reserve_zero(v, cap, need) \
	((need) <= (cap) ? 0 : lw_vec_grow_(&(v), &(cap), (need), sizeof(*(v)), true))

#endif /* LW_VEC_H */
