// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The option engine on a table of its own, as a new group of options
 * would use it: each kind of value into its field, which options were
 * given, the one message of a bad value, a command's own options left
 * alone, and --help's columns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "optspec.h"

struct target {
	bool on, off;
	uint64_t big;
	size_t count;
	unsigned int pct;
	double secs;
	const char *name;
	int customs;
};

static int count_custom(const struct opt_spec *s, const char *arg, void *target)
{
	struct target *t = target;

	if (strcmp(arg, "ok"))
		return optspec_bad(s->name, arg, "expected ok");
	t->customs++;
	return 0;
}

#define F(f) offsetof(struct target, f)

static const struct opt_spec first[] = {
	{ "on", 'n', NULL, "turn on", .kind = OPT_SET, .offset = F(on) },
	{ "no-off", 0, NULL, "turn off", .kind = OPT_CLEAR, .offset = F(off) },
	{ "-- COMMAND", 0, NULL, "a note", .kind = OPT_NOTE },
	{ "big", 'b', "N", "a number", .kind = OPT_U64, .offset = F(big), .min = 1, .max = 1000 },
};

static const struct opt_spec second[] = {
	{ "count", 0, "N", "a size", .kind = OPT_SIZE, .offset = F(count), .max = 5 },
	{ "pct", 0, "PCT", "a percentage", .kind = OPT_UINT, .offset = F(pct), .min = 1,
	  .max = 100 },
	{ "secs", 's', "SEC", "seconds", .kind = OPT_SECONDS, .offset = F(secs) },
	{ "a-rather-long-name", 0, "VALUE", "first line\nsecond line",
	  .kind = OPT_PATH, .offset = F(name) },
	{ "custom", 0, "ok", "custom", .kind = OPT_CUSTOM, .parse = count_custom },
};

static const struct opt_group groups[] = {
	OPT_GROUP("First", first),
	OPT_GROUP("Second", second),
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static int run(struct target *t, bool *given, int *rest, char **args)
{
	char *argv[32] = { "prog" };
	int argc = 1;

	while (args[argc - 1]) {
		argv[argc] = args[argc - 1];
		argc++;
	}
	memset(t, 0, sizeof(*t));
	t->off = true;
	return optspec_parse(groups, NGROUPS, argc, argv, t, given, rest);
}

Test(optspec, every_kind_into_its_field)
{
	char *args[] = { "-n", "--no-off", "-b", "1000", "--count", "0", "--pct", "100", "-s",
			 "0.5", "--a-rather-long-name", "x", "--custom", "ok", "--custom", "ok",
			 "cmd", "--on", NULL };
	bool given[9];
	struct target t;
	int rest;

	cr_assert_eq(optspec_count(groups, NGROUPS), 9);
	cr_assert_eq(run(&t, given, &rest, args), 0);
	cr_expect(t.on);
	cr_expect(!t.off);
	cr_expect_eq(t.big, 1000);
	cr_expect_eq(t.count, 0);
	cr_expect_eq(t.pct, 100);
	cr_expect_eq(t.secs, 0.5);
	cr_expect_str_eq(t.name, "x");
	cr_expect_eq(t.customs, 2);
	/* the command's own --on is its own */
	cr_expect_eq(rest, 17, "rest %d", rest);
	cr_expect(optspec_given(groups, NGROUPS, given, "big"));
	cr_expect(optspec_given(groups, NGROUPS, given, "custom"));
	cr_expect(!optspec_given(groups, NGROUPS, given, "-- COMMAND"));
	cr_expect(!optspec_given(groups, NGROUPS, given, "no-such-option"));
}

Test(optspec, nothing_given)
{
	char *args[] = { NULL };
	bool given[9];
	struct target t;
	int rest;

	cr_assert_eq(run(&t, given, &rest, args), 0);
	cr_expect_eq(rest, 1);
	for (size_t i = 0; i < 9; i++)
		cr_expect(!given[i], "given[%zu]", i);
	cr_expect(!t.on);
	cr_expect(t.off);
}

Test(optspec, bad_values_named_once, .init = cr_redirect_stderr)
{
	char *range[] = { "-b", "0", NULL }, *digits[] = { "--count", "+1", NULL };
	char *secs[] = { "-s", "1e-3", NULL }, *empty[] = { "--a-rather-long-name", "", NULL };
	char *custom[] = { "--custom", "no", NULL };
	bool given[9];
	struct target t;
	int rest;

	cr_expect_eq(run(&t, given, &rest, range), -EINVAL);
	cr_expect_eq(run(&t, given, &rest, digits), -EINVAL);
	cr_expect_eq(run(&t, given, &rest, secs), -EINVAL);
	cr_expect_eq(run(&t, given, &rest, empty), -EINVAL);
	cr_expect_eq(run(&t, given, &rest, custom), -EINVAL);
	fflush(stderr);
	cr_expect_stderr_eq_str(
		"leakwatch: error: invalid --big '0': at least 1\n"
		"leakwatch: error: invalid --count '+1': expected a whole number of digits "
		"(no sign or spaces)\n"
		"leakwatch: error: invalid --secs '1e-3': expected seconds as a plain decimal, "
		"e.g. 5 or 0.5\n"
		"leakwatch: error: invalid --a-rather-long-name '': empty\n"
		"leakwatch: error: invalid --custom 'no': expected ok\n");
}

/* Seconds within a range of their own: both ends taken, the message says it. */
Test(optspec, seconds_in_a_range, .init = cr_redirect_stderr)
{
	static const struct opt_spec ranged[] = {
		{ "every", 0, "SEC", "seconds", .kind = OPT_SECONDS, .offset = F(secs),
		  .min_s = 0.1, .max_s = 3600 },
	};
	static const struct opt_group one[] = { OPT_GROUP("Ranged", ranged) };
	char *lo[] = { "prog", "--every", "0.1", NULL }, *hi[] = { "prog", "--every", "3600", NULL };
	char *under[] = { "prog", "--every", "0.09", NULL };
	char *over[] = { "prog", "--every", "3600.5", NULL };
	struct target t = { .secs = -1 };
	bool given[1];
	int rest;

	cr_expect_eq(optspec_parse(one, 1, 3, lo, &t, given, &rest), 0);
	cr_expect_eq(t.secs, 0.1);
	cr_expect_eq(optspec_parse(one, 1, 3, hi, &t, given, &rest), 0);
	cr_expect_eq(t.secs, 3600.0);
	cr_expect_eq(optspec_parse(one, 1, 3, under, &t, given, &rest), -EINVAL);
	cr_expect_eq(optspec_parse(one, 1, 3, over, &t, given, &rest), -EINVAL);
	cr_expect_eq(t.secs, 3600.0, "a refused value leaves the field alone");
	fflush(stderr);
	cr_expect_stderr_eq_str(
		"leakwatch: error: invalid --every '0.09': expected 0.1 to 3600 seconds\n"
		"leakwatch: error: invalid --every '3600.5': expected 0.1 to 3600 seconds\n");
}

Test(optspec, help_in_columns)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	optspec_help(f, groups, NGROUPS);
	fclose(f);
	cr_expect_str_eq(text,
		"\n"
		"First:\n"
		"  -n, --on                 turn on\n"
		"      --no-off             turn off\n"
		"  -- COMMAND               a note\n"
		"  -b, --big N              a number\n"
		"\n"
		"Second:\n"
		"      --count N            a size\n"
		"      --pct PCT            a percentage\n"
		"  -s, --secs SEC           seconds\n"
		"      --a-rather-long-name VALUE  first line\n"
		"                           second line\n"
		"      --custom ok          custom\n");
	free(text);
}

static const struct opt_usage usage = { "Usage: prog\n", "\nThe end.\n" };

static const struct opt_spec with_help[] = {
	{ "on", 'n', NULL, "turn on", .kind = OPT_SET, .offset = F(on) },
	{ "help", 'h', NULL, "this help", .kind = OPT_HELP, .usage = &usage },
};

Test(optspec, help_prints_the_usage_and_stops, .init = cr_redirect_stdout)
{
	const struct opt_group g[] = { OPT_GROUP("Options", with_help) };
	char *argv[] = { "prog", "-h", "-n", NULL };
	struct target t = { 0 };
	bool given[2];
	int rest;

	cr_expect_eq(optspec_parse(g, 1, 3, argv, &t, given, &rest), 1);
	cr_expect(!t.on, "options after --help are not parsed");
	fflush(stdout);
	cr_expect_stdout_eq_str("Usage: prog\n"
				"\n"
				"Options:\n"
				"  -n, --on                 turn on\n"
				"  -h, --help               this help\n"
				"\n"
				"The end.\n");
}
