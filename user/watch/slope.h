/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Is this memory series a leak?  The suspect detector of --watch, pure
 * logic on (time, bytes) samples: no /proc, no libbpf, unit-tested on
 * synthetic series.
 *
 * A leak is memory that keeps growing and is never given back.  Over the
 * window (the newest samples spanning window_s seconds) a series is a
 * suspect when all of these hold:
 *   - its Theil-Sen slope (the median of the slopes between every pair of
 *     samples: a few outliers move it nowhere) is at least min_growth;
 *   - it gave nothing back: its largest drop below an earlier high is at
 *     most max_drawdown of what it grew over the window.  A sawtooth (a
 *     buffer filled and freed, a collector's cycles) drops by its whole
 *     tooth, so it is no suspect while its period is under the window;
 *   - it is still growing: the Theil-Sen slope of the newest half of the
 *     window is at least min_recent of the whole window's, and at least
 *     min_growth.  A warm-up that levels off, or a cache filling to its
 *     limit ever more slowly, fails this as soon as it bends.
 * A series whose window is not full yet is no suspect: so a warm-up shorter
 * than half the window is never flagged, and a leak is found one window
 * after it starts (plus a sample interval).
 */
#ifndef LW_SLOPE_H
#define LW_SLOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slope_params {
	double window_s;	/* span of samples judged */
	double min_growth;	/* bytes per second */
	double max_drawdown;	/* largest give-back, as a fraction of the growth */
	double min_recent;	/* newest half's slope over the window's */
	size_t min_samples;	/* fewer samples in the window: no verdict */
};

/* The defaults: a 1 MiB/s leak is a suspect within 60 s at 5 s samples;
 * README "--watch" explains each. */
#define SLOPE_DEFAULT_WINDOW_S 45.0
#define SLOPE_DEFAULT_MIN_GROWTH (64.0 * 1024)
#define SLOPE_DEFAULT_MAX_DRAWDOWN 0.25
#define SLOPE_DEFAULT_MIN_RECENT 0.5
#define SLOPE_DEFAULT_MIN_SAMPLES 6
/* The jitter of sample times a window allows, as a fraction of it. */
#define SLOPE_WINDOW_SLACK 0.05
/* At most this many samples of a window are judged (evenly spread). */
#define SLOPE_MAX_POINTS 64

void slope_params_default(struct slope_params *p);

struct slope_point {
	double t;		/* seconds, increasing */
	double y;		/* bytes */
};

/* Why a series is or is not a suspect. */
enum slope_reason {
	SLOPE_TOO_FEW = 0,	/* window not full, or too few samples */
	SLOPE_FLAT,		/* slope below min_growth (or shrinking) */
	SLOPE_SAWTOOTH,		/* grows, but gives back more than max_drawdown */
	SLOPE_LEVELLING,	/* grew, but the newest half grows too slowly */
	SLOPE_LEAK,		/* a suspect */
};

struct slope_verdict {
	enum slope_reason reason;
	bool suspect;		/* reason == SLOPE_LEAK */
	double slope;		/* Theil-Sen over the window, bytes/s (0: too few) */
	double recent_slope;	/* Theil-Sen over its newest half */
	double drawdown;	/* largest drop below an earlier high, bytes */
	size_t used;		/* samples judged */
};

const char *slope_reason_name(enum slope_reason r);

/*
 * Theil-Sen slope of pts[0..n): the median of (y_j - y_i) / (t_j - t_i)
 * over i < j with t_j > t_i (the mean of the middle two for an even
 * count).  scratch holds n*(n-1)/2 doubles.  0, or -EINVAL when no pair
 * has distinct times.
 */
int theil_sen(const struct slope_point *pts, size_t n, double *scratch, double *slope);

/*
 * Judge the series pts[0..n) (oldest first): only the samples within
 * p->window_s of the newest are used, give or take SLOPE_WINDOW_SLACK of
 * the window (samples are never exactly an interval apart); the window is
 * full when they span at least (1 - SLOPE_WINDOW_SLACK) of it.  0, or
 * -ENOMEM.
 */
int slope_judge(const struct slope_params *p, const struct slope_point *pts, size_t n,
		struct slope_verdict *out);

#endif /* LW_SLOPE_H */
