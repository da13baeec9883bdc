// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The --watch suspect detector on synthetic series whose verdict is known:
 * a steady leak, a sawtooth, a warm-up plateau, a cache filling to its
 * limit, noise, an outlier, a window not yet full.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>

#include "slope.h"

#define MiB (1024.0 * 1024)

static struct slope_params defaults(void)
{
	struct slope_params p;

	slope_params_default(&p);
	return p;
}

/* n samples every dt seconds from t0, y = f(t) */
static size_t series(struct slope_point *pts, size_t n, double t0, double dt,
		     double (*f)(double))
{
	for (size_t i = 0; i < n; i++) {
		pts[i].t = t0 + i * dt;
		pts[i].y = f(pts[i].t);
	}
	return n;
}

static double leak_1mib(double t) { return 50 * MiB + t * MiB; }
static double flat(double t) { return 80 * MiB; }
/* fills 1 MiB/s for 15 s, then frees it all */
static double sawtooth(double t) { return 30 * MiB + fmod(t, 15.0) * MiB; }
/* warms up 1 MiB/s for 20 s, then holds */
static double plateau(double t) { return 10 * MiB + (t < 20 ? t : 20) * MiB; }
/* a cache filling to 64 MiB, halving the distance every 5 s */
static double cache(double t) { return 64 * MiB * (1 - pow(2, -t / 5)); }

Test(slope, theil_sen_is_the_median_of_pair_slopes)
{
	struct slope_point odd[] = { { 0, 0 }, { 1, 1 }, { 2, 4 } };	/* 1 2 3 */
	struct slope_point even[] = { { 0, 0 }, { 1, 1 }, { 2, 4 }, { 3, 9 } };	/* 1 2 3 3 4 5 */
	struct slope_point same_t[] = { { 1, 0 }, { 1, 5 } };
	double scratch[6], s;

	cr_assert_eq(theil_sen(odd, 3, scratch, &s), 0);
	cr_assert_eq(s, 2.0);
	cr_assert_eq(theil_sen(even, 4, scratch, &s), 0);
	cr_assert_eq(s, 3.0);
	cr_assert_eq(theil_sen(same_t, 2, scratch, &s), -EINVAL);
}

Test(slope, leak_of_1mib_per_second_is_a_suspect_when_the_window_is_full)
{
	struct slope_params p = defaults();
	struct slope_point pts[10];
	struct slope_verdict v;

	/* 0..45 s at 5 s: exactly the default window */
	cr_assert_eq(slope_judge(&p, pts, series(pts, 10, 0, 5, leak_1mib), &v), 0);
	cr_assert_eq(v.reason, SLOPE_LEAK);
	cr_assert(v.suspect);
	cr_assert_eq(v.slope, MiB);
	cr_assert_eq(v.recent_slope, MiB);
	cr_assert_eq(v.drawdown, 0);
	cr_assert_eq(v.used, 10);
}

Test(slope, window_not_full_is_no_verdict)
{
	struct slope_params p = defaults();
	struct slope_point pts[8];
	struct slope_verdict v;

	/* 0..35 s: 35 < 0.9 * 45 */
	cr_assert_eq(slope_judge(&p, pts, series(pts, 8, 0, 5, leak_1mib), &v), 0);
	cr_assert_eq(v.reason, SLOPE_TOO_FEW);
	cr_assert_not(v.suspect);
	cr_assert_eq(v.slope, 0);
	cr_assert_eq(slope_judge(&p, pts, 0, &v), 0);
	cr_assert_eq(v.reason, SLOPE_TOO_FEW);
}

Test(slope, only_the_window_is_judged)
{
	struct slope_params p = defaults();
	struct slope_point pts[40];
	struct slope_verdict v;

	/* 195 s of a flat series, then the last 45 s leak: the old part is
	 * outside the window and does not dilute the slope */
	series(pts, 40, 0, 5, flat);
	for (size_t i = 30; i < 40; i++)
		pts[i].y = 80 * MiB + (pts[i].t - pts[30].t) * 2 * MiB;
	cr_assert_eq(slope_judge(&p, pts, 40, &v), 0);
	cr_assert_eq(v.used, 10);
	cr_assert_eq(v.slope, 2 * MiB);
	cr_assert_eq(v.reason, SLOPE_LEAK);
}

Test(slope, steady_is_flat)
{
	struct slope_params p = defaults();
	struct slope_point pts[20];
	struct slope_verdict v;

	series(pts, 20, 0, 5, flat);
	/* page-sized jitter either way */
	for (size_t i = 0; i < 20; i++)
		pts[i].y += (i % 3 == 0 ? 4096 : i % 3 == 1 ? -8192 : 0);
	cr_assert_eq(slope_judge(&p, pts, 20, &v), 0);
	cr_assert_eq(v.reason, SLOPE_FLAT);
	cr_assert_not(v.suspect);
	cr_assert_lt(fabs(v.slope), 4096);
}

Test(slope, sawtooth_is_never_a_suspect)
{
	struct slope_params p = defaults();
	struct slope_point pts[200];
	struct slope_verdict v;

	/* every window of a 10-minute run, at every phase of the tooth */
	for (double t0 = 0; t0 < 15; t0 += 1) {
		series(pts, 121, t0, 5, sawtooth);
		for (size_t n = 1; n <= 121; n++) {
			cr_assert_eq(slope_judge(&p, pts, n, &v), 0);
			cr_assert_not(v.suspect, "t0 %.0f n %zu: slope %.0f", t0, n, v.slope);
		}
	}
}

Test(slope, a_sawtooth_that_grows_gives_back_too_much)
{
	struct slope_params p = defaults();
	struct slope_point pts[10];
	struct slope_verdict v;

	/* 2 MiB/s, with 40 MiB given back at 25 s: the slope is high, but the
	 * drop is 40 MiB of the 45 s * slope grown */
	series(pts, 10, 0, 5, leak_1mib);
	for (size_t i = 0; i < 10; i++)
		pts[i].y = 2 * MiB * pts[i].t - (pts[i].t >= 25 ? 40 * MiB : 0);
	cr_assert_eq(slope_judge(&p, pts, 10, &v), 0);
	cr_assert_eq(v.reason, SLOPE_SAWTOOTH);
	cr_assert_eq(v.drawdown, 40 * MiB - 10 * MiB);
}

Test(slope, warm_up_plateau_is_never_a_suspect)
{
	struct slope_params p = defaults();
	struct slope_point pts[121];
	struct slope_verdict v;

	series(pts, 121, 0, 5, plateau);
	for (size_t n = 1; n <= 121; n++) {
		cr_assert_eq(slope_judge(&p, pts, n, &v), 0);
		cr_assert_not(v.suspect, "n %zu: %s", n, slope_reason_name(v.reason));
	}
	/* the first full window: grew, then stopped */
	cr_assert_eq(slope_judge(&p, pts, 10, &v), 0);
	cr_assert_eq(v.reason, SLOPE_LEVELLING);
	cr_assert_eq(v.recent_slope, 0);
}

Test(slope, cache_filling_to_its_limit_is_never_a_suspect)
{
	struct slope_params p = defaults();
	struct slope_point pts[121];
	struct slope_verdict v;

	series(pts, 121, 0, 5, cache);
	for (size_t n = 1; n <= 121; n++) {
		cr_assert_eq(slope_judge(&p, pts, n, &v), 0);
		cr_assert_not(v.suspect, "n %zu: %s", n, slope_reason_name(v.reason));
	}
}

Test(slope, one_outlier_moves_nothing)
{
	struct slope_params p = defaults();
	struct slope_point pts[10];
	struct slope_verdict v;

	series(pts, 10, 0, 5, leak_1mib);
	pts[6].y += 300 * MiB;	/* one sample read mid-burst */
	cr_assert_eq(slope_judge(&p, pts, 10, &v), 0);
	cr_assert_eq(v.slope, MiB);
	/* its drop back is a give-back of 300 MiB: judged a sawtooth, never a
	 * leak on a single spike */
	cr_assert_eq(v.reason, SLOPE_SAWTOOTH);
}

Test(slope, thresholds_are_options)
{
	struct slope_params p = defaults();
	struct slope_point pts[10];
	struct slope_verdict v;

	series(pts, 10, 0, 5, leak_1mib);
	p.min_growth = 2 * MiB;
	cr_assert_eq(slope_judge(&p, pts, 10, &v), 0);
	cr_assert_eq(v.reason, SLOPE_FLAT);
	p = defaults();
	p.window_s = 90;
	cr_assert_eq(slope_judge(&p, pts, 10, &v), 0);
	cr_assert_eq(v.reason, SLOPE_TOO_FEW);
}

Test(slope, long_windows_are_thinned_to_max_points)
{
	struct slope_params p = defaults();
	static struct slope_point pts[721];
	struct slope_verdict v;

	p.window_s = 3600;
	series(pts, 721, 0, 5, leak_1mib);
	cr_assert_eq(slope_judge(&p, pts, 721, &v), 0);
	cr_assert_eq(v.used, SLOPE_MAX_POINTS);
	cr_assert_eq(v.slope, MiB);
	cr_assert_eq(v.reason, SLOPE_LEAK);
}
