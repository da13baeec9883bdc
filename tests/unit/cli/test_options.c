// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The command line: one number parser for every number option, and each
 * rough edge that once got through (signs, spaces, wrap-around, values that
 * truncate to nothing, duplicate pids, kernel buffers larger than the
 * machine).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "options.h"

/* options_parse on a NULL-terminated argument list (argv[0] added). */
static int parse(struct lw_options *o, ...)
{
	char *argv[32] = { "leakwatch" };
	int argc = 1;
	va_list ap;

	va_start(ap, o);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return options_parse(argc, argv, o);
}

Test(options, number_parser)
{
	uint64_t v = 7;

	cr_expect_eq(options_parse_number("0", 0, 10, &v), 0);
	cr_expect_eq(v, 0);
	cr_expect_eq(options_parse_number("18446744073709551615", 0, UINT64_MAX, &v), 0);
	cr_expect_eq(v, UINT64_MAX);
	cr_expect_eq(options_parse_number("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
	cr_expect_eq(options_parse_number("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	cr_expect_eq(v, UINT64_MAX, "a refused value leaves *out alone");
	static const char *const not_numbers[] = {
		"", " 1", "1 ", "-1", " -1", "+1", "0x10", "1.0", "1e3", "1,2", "١",
	};
	for (size_t i = 0; i < sizeof(not_numbers) / sizeof(*not_numbers); i++)
		cr_expect_eq(options_parse_number(not_numbers[i], 0, UINT64_MAX, &v), -EINVAL,
			     "'%s' is not a number", not_numbers[i]);
	cr_expect_eq(options_parse_number("4", 5, 10, &v), -ERANGE);
	cr_expect_eq(options_parse_number("11", 5, 10, &v), -ERANGE);
	cr_expect_eq(options_parse_number("10", 5, 10, &v), 0);
}

Test(options, seconds_parser)
{
	double s = -1;

	cr_expect_eq(options_parse_seconds("5", &s), 0);
	cr_expect_eq(s, 5.0);
	cr_expect_eq(options_parse_seconds("0.5", &s), 0);
	cr_expect_eq(s, 0.5);
	cr_expect_eq(options_parse_seconds(".25", &s), 0);
	cr_expect_eq(s, 0.25);
	cr_expect_eq(options_parse_seconds("0.001", &s), 0);
	/* 1e-12 s is 0 ns: it once turned interval reports off silently */
	cr_expect_eq(options_parse_seconds("1e-12", &s), -EINVAL);
	cr_expect_eq(options_parse_seconds("0.0000001", &s), -ERANGE);
	cr_expect_eq(options_parse_seconds("0", &s), -ERANGE);
	cr_expect_eq(options_parse_seconds("1000000001", &s), -ERANGE);
	static const char *const bad[] = { "", ".", " 1", "1 ", "-1", "+1", "inf", "nan",
					   "0x1p3", "1..2", "1.2.3", "5s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		cr_expect_eq(options_parse_seconds(bad[i], &s), -EINVAL, "'%s'", bad[i]);
}

/* Every number option refuses what used to wrap to 2^64-1 or to zero. */
Test(options, number_options_refuse_signs_and_spaces)
{
	static const char *const opts[] = {
		"-T", "--min-size", "--max-size", "--older-than", "--ringbuf-size",
		"--stack-table", "-s", "--sample-table", "--postmortem-keep", "--snapshot-at",
		"-i", "-d",
	};
	static const char *const values[] = { " -1", "-1", "+5", " 5", "5 ", "", "0x10" };
	struct lw_options o;

	for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++) {
		for (size_t j = 0; j < sizeof(values) / sizeof(*values); j++) {
			cr_expect_eq(parse(&o, opts[i], values[j], "--", "/bin/true", NULL),
				     -EINVAL, "%s '%s' accepted", opts[i], values[j]);
		}
	}
}

Test(options, values_in_range)
{
	struct lw_options o;

	cr_assert_eq(parse(&o, "-T", "3", "--min-size", "0", "--max-size", "18446744073709551615",
			   "-i", "0.5", "--ringbuf-size", "1048576", "--", "/bin/true", NULL), 0);
	cr_expect_eq(o.top, 3);
	cr_expect_eq(o.max_size, UINT64_MAX);
	cr_expect_eq(o.interval_s, 0.5);
	cr_expect_eq(o.ringbuf_bytes, 1048576);
	options_free(&o);
	cr_expect_eq(parse(&o, "-T", "0", "--", "/bin/true", NULL), -EINVAL, "-T 0");
	cr_expect_eq(parse(&o, "-i", "1e-12", "--", "/bin/true", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "-d", "0.0001", "--", "/bin/true", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--older-than", "18446744073709551", "--", "/bin/true", NULL),
		     -EINVAL, "overflows once in nanoseconds");
}

Test(options, ringbuf_size_bounds)
{
	struct lw_options o;

	/* 2^32 once went through to the kernel and failed there, exit 1 */
	cr_expect_eq(parse(&o, "--ringbuf-size", "4294967296", "--", "/bin/true", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--ringbuf-size", "2147483648", "--", "/bin/true", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--ringbuf-size", "3000", "--", "/bin/true", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--ringbuf-size", "12288", "--", "/bin/true", NULL), -EINVAL,
		     "not a power of two");
}

/* The stack table is refused when it would take more than a quarter of
 * this machine's memory: 16 Mi entries of 528 B are 8.25 GiB. */
Test(options, stack_table_fits_the_machine)
{
	uint64_t mem = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t most = mem / 4 / LW_STACK_ENTRY_BYTES;
	char buf[32];
	struct lw_options o;

	cr_expect_eq(parse(&o, "--stack-table", "16777216", "--", "/bin/true", NULL),
		     16777216ull * LW_STACK_ENTRY_BYTES > mem / 4 ? -EINVAL : 0);
	options_free(&o);
	snprintf(buf, sizeof(buf), "%" PRIu64, most + 1);
	cr_expect_eq(parse(&o, "--stack-table", buf, "--", "/bin/true", NULL), -EINVAL);
	/* --kernel keeps a second table as large */
	snprintf(buf, sizeof(buf), "%" PRIu64, most / 2 + 1);
	cr_expect_eq(parse(&o, "--kernel", "--stack-table", buf, NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--stack-table", buf, "--", "/bin/true", NULL), 0);
	options_free(&o);
	cr_expect_eq(parse(&o, "--stack-table", "4294967296", "--", "/bin/true", NULL), -EINVAL);
}

Test(options, duplicate_pids_are_one)
{
	struct lw_options o;

	cr_assert_eq(parse(&o, "-p", "42,42", "-p", "7,42", NULL), 0);
	cr_expect_eq(o.npids, 2, "-p 42,42 -p 7,42: %zu entries", o.npids);
	cr_expect_eq(o.pids[0], 42);
	cr_expect_eq(o.pids[1], 7);
	options_free(&o);
	cr_expect_eq(parse(&o, "-p", "42,", NULL), -EINVAL, "an empty entry");
	cr_expect_eq(parse(&o, "-p", ",42", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "-p", "4,,2", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "-p", "0", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "-p", "2147483648", NULL), -EINVAL);
}

/* "-p PID foo": foo is no command (no "--"), and the message says so. */
Test(options, pid_and_stray_argument, .init = cr_redirect_stderr)
{
	struct lw_options o;

	cr_expect_eq(parse(&o, "-p", "42", "foo", NULL), -EINVAL);
	fflush(stderr);
	cr_expect_stderr_eq_str("leakwatch: error: unexpected argument 'foo' after the options: -p "
				"traces running processes; to run a command give it after --, "
				"without -p\nTry 'leakwatch --help' for more information.\n");
}

Test(options, pid_and_command, .init = cr_redirect_stderr)
{
	struct lw_options o;

	cr_expect_eq(parse(&o, "-p", "42", "--", "foo", NULL), -EINVAL);
	fflush(stderr);
	cr_expect_stderr_eq_str("leakwatch: error: give either -p PID or -- COMMAND, not both\n"
				"Try 'leakwatch --help' for more information.\n");
}

/* Found by the options fuzzer: -p, then --help, leaked the pid list (the
 * sanitized unit tests check for leaks). */
Test(options, help_after_pids_frees_them, .init = cr_redirect_stdout)
{
	struct lw_options o;

	cr_expect_eq(parse(&o, "-p", "1,2", "-h", NULL), 1);
	cr_expect_null(o.pids);
	cr_expect_eq(parse(&o, "-p", "3", "--version", NULL), 1);
	cr_expect_null(o.pids);
}

/* -o takes any string (an empty one fails when the file is checked, as
 * before); the directories of --postmortem-dir and --host-root cannot be
 * empty. */
Test(options, empty_strings, .init = cr_redirect_stderr)
{
	struct lw_options o;

	cr_expect_eq(parse(&o, "-o", "", "--", "x", NULL), 0);
	cr_expect_str_eq(o.output, "");
	options_free(&o);
	cr_expect_eq(parse(&o, "--host-root", "", "--", "x", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--postmortem-dir", "", "--", "x", NULL), -EINVAL);
}
