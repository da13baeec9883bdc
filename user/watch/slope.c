// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>

#include "slope.h"

void slope_params_default(struct slope_params *p)
{
	p->window_s = SLOPE_DEFAULT_WINDOW_S;
	p->min_growth = SLOPE_DEFAULT_MIN_GROWTH;
	p->max_drawdown = SLOPE_DEFAULT_MAX_DRAWDOWN;
	p->min_recent = SLOPE_DEFAULT_MIN_RECENT;
	p->min_samples = SLOPE_DEFAULT_MIN_SAMPLES;
}

const char *slope_reason_name(enum slope_reason r)
{
	switch (r) {
	case SLOPE_TOO_FEW:
		return "too few samples";
	case SLOPE_FLAT:
		return "flat";
	case SLOPE_SAWTOOTH:
		return "sawtooth";
	case SLOPE_LEVELLING:
		return "levelling off";
	case SLOPE_LEAK:
		return "growing";
	}
	return "?";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int theil_sen(const struct slope_point *pts, size_t n, double *scratch, double *slope)
{
	size_t i, j, m = 0;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (pts[j].t > pts[i].t)
				scratch[m++] = (pts[j].y - pts[i].y) / (pts[j].t - pts[i].t);
	if (!m)
		return -EINVAL;
	/* n is at most a window of samples (hundreds): sorting is cheap enough
	 * and exact, which the unit tests rely on. */
	qsort(scratch, m, sizeof(*scratch), cmp_double);
	*slope = m % 2 ? scratch[m / 2] : (scratch[m / 2 - 1] + scratch[m / 2]) / 2;
	return 0;
}

int slope_judge(const struct slope_params *p, const struct slope_point *pts, size_t n,
		struct slope_verdict *out)
{
	struct slope_point *thin = NULL;
	size_t first = n, half, k;
	double *scratch = NULL, newest, high, growth;
	int err = 0;

	*out = (struct slope_verdict){ .reason = SLOPE_TOO_FEW };
	if (!n)
		return 0;
	newest = pts[n - 1].t;
	while (first > 0 && newest - pts[first - 1].t <= p->window_s * (1 + SLOPE_WINDOW_SLACK))
		first--;
	k = n - first;
	/* full: the oldest sample kept spans (almost) the whole window */
	if (k < p->min_samples || k < 4 ||
	    newest - pts[first].t < (1 - SLOPE_WINDOW_SLACK) * p->window_s)
		return 0;
	pts += first;
	/* every sample counts here, thinned or not: a drop is a drop */
	high = pts[0].y;
	for (size_t i = 1; i < k; i++) {
		if (pts[i].y > high)
			high = pts[i].y;
		else if (high - pts[i].y > out->drawdown)
			out->drawdown = high - pts[i].y;
	}
	/* A long window (--window 3600 at 5 s) is judged on SLOPE_MAX_POINTS
	 * of its samples, evenly spread, first and newest kept: the pairs
	 * grow with the square of the count. */
	if (k > SLOPE_MAX_POINTS) {
		thin = malloc(SLOPE_MAX_POINTS * sizeof(*thin));
		if (!thin)
			return -ENOMEM;
		for (size_t i = 0; i < SLOPE_MAX_POINTS; i++)
			thin[i] = pts[i * (k - 1) / (SLOPE_MAX_POINTS - 1)];
		pts = thin;
		k = SLOPE_MAX_POINTS;
	}
	out->used = k;
	scratch = malloc(k * (k - 1) / 2 * sizeof(*scratch));
	if (!scratch) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (theil_sen(pts, k, scratch, &out->slope))
		goto cleanup;	/* every sample at one time: too few */
	half = k / 2;
	if (theil_sen(pts + half, k - half, scratch, &out->recent_slope))
		goto cleanup;

	growth = out->slope * (pts[k - 1].t - pts[0].t);
	if (out->slope < p->min_growth)
		out->reason = SLOPE_FLAT;
	else if (out->drawdown > p->max_drawdown * growth)
		out->reason = SLOPE_SAWTOOTH;
	else if (out->recent_slope < p->min_growth ||
		 out->recent_slope < p->min_recent * out->slope)
		out->reason = SLOPE_LEVELLING;
	else
		out->reason = SLOPE_LEAK;
	out->suspect = out->reason == SLOPE_LEAK;
cleanup:
	free(scratch);
	free(thin);
	return err;
}
