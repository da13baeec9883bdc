// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

int lw_vec_grow_(void *vp, size_t *cap, size_t need, size_t size, bool zero)
{
	size_t ncap = *cap ? *cap : LW_VEC_MIN_CAP;
	void *v, *nv;

	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (!size || ncap > SIZE_MAX / size)
		return -ENOMEM;
	/* the caller's pointer is a T *: copied, not read through a void **,
	 * which would alias it as another type */
	memcpy(&v, vp, sizeof(v));
	nv = realloc(v, ncap * size);
	if (!nv)
		return -ENOMEM;
	if (zero)
		memset((char *)nv + *cap * size, 0, (ncap - *cap) * size);
	memcpy(vp, &nv, sizeof(nv));
	*cap = ncap;
	return 0;
}
