/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Prometheus text exposition format (version 0.0.4), written family by
 * family: "# HELP", "# TYPE", then the family's samples, each family once
 * and its samples together, as Prometheus and promtool require.
 *
 * Names are checked (metric [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * [a-zA-Z_][a-zA-Z0-9_]*); label values come from traced processes (comm,
 * cmdline, cgroup paths) and are escaped: backslash, double quote and
 * newline as \\, \" and \n, as the format asks; ill-formed UTF-8 becomes
 * U+FFFD, since Prometheus refuses a scrape with invalid UTF-8.  Whole
 * numbers are written exactly (a counter of 2^53 + 1 bytes stays exact);
 * NaN and infinities as NaN, +Inf, -Inf.
 *
 * No libmicrohttpd, no daemon state: unit-tested on its output.
 */
#ifndef LW_PROMTEXT_H
#define LW_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum prom_type { PROM_GAUGE, PROM_COUNTER };

struct prom_label {
	const char *name;
	const char *value;	/* NULL is written as "" (absent, to Prometheus) */
};

struct promtext {
	FILE *f;
	char family[128];	/* the family being written; "" before the first */
	int err;		/* the first error; every call after it does nothing */
};

void promtext_init(struct promtext *w, FILE *f);
/* Start a family: its HELP (escaped) and TYPE.  -EINVAL for an invalid
 * name.  Callers write each family once, all its samples after it. */
int promtext_family(struct promtext *w, const char *name, enum prom_type type, const char *help);
/* A sample of the current family: NAME{labels} value.  -EINVAL for a
 * label name that is not one. */
int promtext_sample(struct promtext *w, const struct prom_label *labels, size_t nlabels,
		    double value);
int promtext_sample_u64(struct promtext *w, const struct prom_label *labels, size_t nlabels,
			uint64_t value);
/* The first error of any call, or -EIO when the stream failed; 0. */
int promtext_finish(struct promtext *w);

bool prom_valid_metric_name(const char *s);
bool prom_valid_label_name(const char *s);

#endif /* LW_PROMTEXT_H */
