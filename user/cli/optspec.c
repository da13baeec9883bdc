// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "optspec.h"

/* getopt_long's value of an option with no short name: past every char */
#define OPT_LONG_BASE 256
/* --help's column for the help text: "  -p, --pid PID[,PID...]   " */
#define HELP_COLUMN 27

int options_parse_number(const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *c;

	/* digits only: strtoull would take " -1" and wrap it to 2^64-1, and
	 * "+1", "0x10" or "1 " are no one's idea of a count */
	if (!*arg)
		return -EINVAL;
	for (c = arg; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int options_parse_seconds(const char *arg, double *out)
{
	size_t ints = strspn(arg, "0123456789"), frac = 0;
	double v;

	/* plain decimals: strtod would also take " 1", "1e-12", "inf" and hex */
	if (arg[ints] == '.')
		frac = strspn(arg + ints + 1, "0123456789") + 1;
	if (ints + frac != strlen(arg) || (!ints && frac < 2))
		return -EINVAL;
	v = strtod(arg, NULL);
	/* the loop counts in nanoseconds and polls every few: less than a
	 * millisecond would truncate to nothing or spin */
	if (v < 1e-3 || v > 1e9)
		return -ERANGE;
	*out = v;
	return 0;
}

int optspec_bad(const char *name, const char *arg, const char *why)
{
	lw_err("invalid --%s '%s': %s\n", name, arg, why);
	return -EINVAL;
}

int optspec_number(const struct opt_spec *spec, const char *arg, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	char why[96];
	int err = options_parse_number(arg, min, max, out);

	if (err == -EINVAL)
		return optspec_bad(spec->name, arg,
				   "expected a whole number of digits (no sign or spaces)");
	if (err) {
		uint64_t v;

		/* which end it missed: a value too long to parse is too large */
		if (min && !options_parse_number(arg, 0, UINT64_MAX, &v) && v < min)
			snprintf(why, sizeof(why), "at least %" PRIu64, min);
		else
			snprintf(why, sizeof(why), "at most %" PRIu64, max);
		return optspec_bad(spec->name, arg, why);
	}
	return 0;
}

/* One option's value into its field, by its kind. */
static int apply(const struct opt_spec *s, const char *arg, void *target)
{
	char *field = (char *)target + s->offset;
	char why[64];
	uint64_t v;
	double d;
	int err;

	switch (s->kind) {
	case OPT_SET:
	case OPT_CLEAR:
		*(bool *)field = s->kind == OPT_SET;
		return 0;
	case OPT_U64:
		return optspec_number(s, arg, s->min, s->max, (uint64_t *)field);
	case OPT_SIZE:
		err = optspec_number(s, arg, s->min, s->max, &v);
		if (!err)
			*(size_t *)field = v;
		return err;
	case OPT_UINT:
		err = optspec_number(s, arg, s->min, s->max, &v);
		if (!err)
			*(unsigned int *)field = v;
		return err;
	case OPT_SECONDS:
		err = options_parse_seconds(arg, &d);
		if (err == -EINVAL)
			return optspec_bad(s->name, arg,
					   "expected seconds as a plain decimal, e.g. 5 or 0.5");
		if (!err && s->max_s && (d < s->min_s || d > s->max_s))
			err = -ERANGE;
		if (err) {
			/* %.15g: 0.1 and 1000000000 as written, not 1e+09 */
			snprintf(why, sizeof(why), "expected %.15g to %.15g seconds",
				 s->max_s ? s->min_s : 0.001, s->max_s ? s->max_s : 1e9);
			return optspec_bad(s->name, arg, why);
		}
		*(double *)field = d;
		return 0;
	case OPT_PATH:
		if (!*arg)
			return optspec_bad(s->name, arg, "empty");
		/* fall through */
	case OPT_STRING:
		*(const char **)field = arg;
		return 0;
	case OPT_CUSTOM:
		return s->parse(s, arg, target);
	case OPT_NOTE:
	case OPT_HELP:	/* optspec_parse's: it has the groups */
		break;
	}
	return -EINVAL;
}

size_t optspec_count(const struct opt_group *groups, size_t ngroups)
{
	size_t n = 0;

	for (size_t g = 0; g < ngroups; g++)
		n += groups[g].nspecs;
	return n;
}

/* The spec at a flat index (groups in order). */
static const struct opt_spec *spec_at(const struct opt_group *groups, size_t ngroups, size_t i)
{
	for (size_t g = 0; g < ngroups; g++) {
		if (i < groups[g].nspecs)
			return &groups[g].specs[i];
		i -= groups[g].nspecs;
	}
	return NULL;
}

bool optspec_given(const struct opt_group *groups, size_t ngroups, const bool *given,
		   const char *name)
{
	size_t n = optspec_count(groups, ngroups);

	for (size_t i = 0; i < n; i++) {
		const struct opt_spec *s = spec_at(groups, ngroups, i);

		if (s->kind != OPT_NOTE && !strcmp(s->name, name))
			return given[i];
	}
	return false;
}

/* getopt_long's tables from the specs: longs[i].val is the short name or
 * OPT_LONG_BASE + the spec's flat index. */
static int build_getopt(const struct opt_group *groups, size_t ngroups,
			struct option **ret_longs, char **ret_shorts)
{
	size_t n = optspec_count(groups, ngroups), nl = 0, ns = 0;
	struct option *longs = calloc(n + 1, sizeof(*longs));
	/* '+': stop at the first non-option; each short name and its ':' */
	char *shorts = calloc(2 * n + 2, 1);

	if (!longs || !shorts) {
		free(longs);
		free(shorts);
		return -ENOMEM;
	}
	shorts[ns++] = '+';
	for (size_t i = 0; i < n; i++) {
		const struct opt_spec *s = spec_at(groups, ngroups, i);

		if (s->kind == OPT_NOTE)
			continue;
		longs[nl].name = s->name;
		longs[nl].has_arg = s->arg ? required_argument : no_argument;
		longs[nl].val = s->short_name ? s->short_name : OPT_LONG_BASE + (int)i;
		nl++;
		if (s->short_name) {
			shorts[ns++] = s->short_name;
			if (s->arg)
				shorts[ns++] = ':';
		}
	}
	*ret_longs = longs;
	*ret_shorts = shorts;
	return 0;
}

/* The flat index of the spec getopt_long returned c for. */
static long spec_of(const struct opt_group *groups, size_t ngroups, int c)
{
	size_t n = optspec_count(groups, ngroups);

	if (c >= OPT_LONG_BASE)
		return (size_t)(c - OPT_LONG_BASE) < n ? c - OPT_LONG_BASE : -1;
	for (size_t i = 0; i < n; i++) {
		const struct opt_spec *s = spec_at(groups, ngroups, i);

		if (s->kind != OPT_NOTE && s->short_name && s->short_name == c)
			return (long)i;
	}
	return -1;
}

int optspec_parse(const struct opt_group *groups, size_t ngroups, int argc, char **argv,
		  void *target, bool *given, int *ret_optind)
{
	const struct opt_spec *s;
	struct option *longs;
	char *shorts;
	int c, err;

	err = build_getopt(groups, ngroups, &longs, &shorts);
	if (err)
		return err;
	memset(given, 0, optspec_count(groups, ngroups) * sizeof(*given));
	/* 0 rescans from the start, with getopt's state reset: a parse is a
	 * function of argv alone (the tests and the fuzzer parse many) */
	optind = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		long i = spec_of(groups, ngroups, c);

		if (i < 0) {	/* getopt printed what it did not understand */
			err = -EINVAL;
			break;
		}
		given[i] = true;
		s = spec_at(groups, ngroups, (size_t)i);
		if (s->kind == OPT_HELP) {
			fputs(s->usage->head, stdout);
			optspec_help(stdout, groups, ngroups);
			fputs(s->usage->tail, stdout);
			err = 1;
			break;
		}
		err = apply(s, optarg, target);
		if (err)
			break;
	}
	*ret_optind = optind;
	free(longs);
	free(shorts);
	return err;
}

/* One option's lines: its names and argument, then its help in a column. */
static void help_one(FILE *f, const struct opt_spec *s)
{
	const char *line = s->help;
	int len;

	if (s->kind == OPT_NOTE)
		len = fprintf(f, "  %s", s->name);
	else if (s->short_name)
		len = fprintf(f, "  -%c, --%s%s%s", s->short_name, s->name, s->arg ? " " : "",
			      s->arg ?: "");
	else
		len = fprintf(f, "      --%s%s%s", s->name, s->arg ? " " : "", s->arg ?: "");
	for (;;) {
		size_t n = strcspn(line, "\n");

		/* a name as wide as the column is followed by two spaces */
		fprintf(f, "%*s%.*s\n", len < HELP_COLUMN ? HELP_COLUMN - len : 2, "", (int)n,
			line);
		len = 0;
		if (!line[n])
			break;
		line += n + 1;
	}
}

void optspec_help(FILE *f, const struct opt_group *groups, size_t ngroups)
{
	for (size_t g = 0; g < ngroups; g++) {
		fprintf(f, "\n%s:\n", groups[g].title);
		for (size_t i = 0; i < groups[g].nspecs; i++)
			help_one(f, &groups[g].specs[i]);
	}
}
