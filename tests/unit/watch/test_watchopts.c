// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `leakwatch --watch`'s command line on the option engine: its defaults,
 * each option into its field, --watch anywhere, each bad value refused with
 * the engine's one message, and the checks only the whole line can make.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "watchopts.h"

/* watch_options_parse on a NULL-terminated argument list (argv[0] added). */
static int parse(struct watch_options *o, ...)
{
	char *argv[64] = { "leakwatch" };
	int argc = 1, err;
	va_list ap;

	va_start(ap, o);
	while ((argv[argc] = va_arg(ap, char *)))
		cr_assert_lt(++argc, 64, "more arguments than parse() holds");
	va_end(ap);
	err = watch_options_parse(argc, argv, o);
	fflush(stdout);
	fflush(stderr);
	return err;
}

Test(watchopts, defaults)
{
	struct watch_options o;
	struct slope_params d;

	slope_params_default(&d);
	cr_assert_eq(parse(&o, "--watch", NULL), 0);
	cr_expect_eq(o.sample_interval_s, 5.0);
	cr_expect_eq(o.detector.window_s, d.window_s);
	cr_expect_eq(o.detector.window_s, 45.0);
	cr_expect_eq(o.detector.min_growth, 65536.0);
	cr_expect_eq(o.trace_seconds, 10.0);
	cr_expect_eq(o.max_traced, 1);
	cr_expect_eq(o.cpu_budget_pct, 2.0);
	cr_expect_eq(o.top, 20);
	cr_expect_eq(o.sample_bytes, 65536);
	cr_expect_str_eq(o.listen, "127.0.0.1:9464");
	cr_expect_null(o.postmortem_dir);
	cr_expect_eq(o.postmortem_keep, 20);
	cr_expect_null(o.host_root);
	cr_expect_null(o.report_dir);
	cr_expect_null(o.comm_glob);
	cr_expect(selector__empty(&o.select));
	cr_expect(!o.no_trace);
	cr_expect(!o.verbose);
}

Test(watchopts, every_option_into_its_field)
{
	struct watch_options o;

	/* --watch after other options, as main() finds it anywhere */
	cr_assert_eq(parse(&o, "--sample-interval", "0.5", "--watch", "--window", "2.5",
			   "--min-growth", "1024", "--trace-seconds", "3", "--max-traced", "0",
			   "--cpu-budget", "0.25", "-s", "0", "--namespace", "shop",
			   "--pod", "cart-*", "--pod", "web-*", "--container", "app",
			   "--comm", "leak*", "--no-trace", "--report-dir", "/r",
			   "--postmortem-dir", "/p", "--postmortem-keep", "3",
			   "--listen", "0.0.0.0:0", "--top", "7",
			   "--host-root", "/host", "-v", NULL), 0);
	cr_expect_eq(o.sample_interval_s, 0.5);
	cr_expect_eq(o.detector.window_s, 2.5);
	cr_expect_eq(o.detector.min_growth, 1024.0);
	cr_expect_eq(o.trace_seconds, 3.0);
	cr_expect_eq(o.max_traced, 0);
	cr_expect_eq(o.cpu_budget_pct, 0.25);
	cr_expect_eq(o.sample_bytes, 0);
	cr_expect_eq(o.select.n[SELECT_NAMESPACE], 1);
	cr_expect_eq(o.select.n[SELECT_POD], 2);
	cr_expect_eq(o.select.n[SELECT_CONTAINER], 1);
	cr_expect_str_eq(o.select.globs[SELECT_POD][1], "web-*");
	cr_expect_str_eq(o.comm_glob, "leak*");
	cr_expect(o.no_trace);
	cr_expect_str_eq(o.report_dir, "/r");
	cr_expect_str_eq(o.postmortem_dir, "/p");
	cr_expect_eq(o.postmortem_keep, 3);
	cr_expect_str_eq(o.listen, "0.0.0.0:0");
	cr_expect_eq(o.top, 7);
	cr_expect_str_eq(o.host_root, "/host");
	cr_expect(o.verbose);
	selector__clear(&o.select);
}

/* The ends of every range are taken. */
Test(watchopts, range_ends)
{
	struct watch_options o;

	cr_expect_eq(parse(&o, "--watch", "--sample-interval", "0.1", "--window", "1",
			   "--min-growth", "1", "--trace-seconds", "1", "--max-traced", "64",
			   "--cpu-budget", "0.001", "--top", "1", NULL), 0);
	cr_expect_eq(o.sample_interval_s, 0.1);
	cr_expect_eq(o.detector.window_s, 1.0);
	cr_expect_eq(o.detector.min_growth, 1.0);
	cr_expect_eq(o.max_traced, 64);
	cr_expect_eq(o.cpu_budget_pct, 0.001);
	cr_expect_eq(o.top, 1);
	cr_expect_eq(parse(&o, "--watch", "--sample-interval", "3600", "--window", "86400",
			   "--min-growth", "1099511627776", "--trace-seconds", "3600",
			   "--cpu-budget", "100", "--top", "100000", "-s", "1099511627776",
			   NULL), 0);
	cr_expect_eq(o.sample_interval_s, 3600.0);
	cr_expect_eq(o.detector.window_s, 86400.0);
	cr_expect_eq(o.detector.min_growth, 1099511627776.0);
	cr_expect_eq(o.trace_seconds, 3600.0);
	cr_expect_eq(o.cpu_budget_pct, 100.0);
	cr_expect_eq(o.top, 100000);
	cr_expect_eq(o.sample_bytes, 1ull << 40);
}

#define TRY "Try 'leakwatch --watch --help' for more information.\n"

static const struct {
	const char *opt, *arg, *message;
} bad_values[] = {
	{ "--sample-interval", "0.05", "invalid --sample-interval '0.05': expected 0.1 to "
	  "3600 seconds" },
	{ "--sample-interval", "3601", "invalid --sample-interval '3601': expected 0.1 to "
	  "3600 seconds" },
	{ "--sample-interval", "5s", "invalid --sample-interval '5s': expected seconds as a "
	  "plain decimal, e.g. 5 or 0.5" },
	{ "--window", "0", "invalid --window '0': expected 1 to 86400 seconds" },
	{ "--window", "86401", "invalid --window '86401': expected 1 to 86400 seconds" },
	{ "--window", "-1", "invalid --window '-1': expected seconds as a plain decimal, "
	  "e.g. 5 or 0.5" },
	{ "--min-growth", "0", "invalid --min-growth '0': at least 1" },
	{ "--min-growth", "1099511627777", "invalid --min-growth '1099511627777': at most "
	  "1099511627776" },
	{ "--min-growth", "-1", "invalid --min-growth '-1': expected a whole number of digits "
	  "(no sign or spaces)" },
	{ "--trace-seconds", "0.5", "invalid --trace-seconds '0.5': expected 1 to 3600 "
	  "seconds" },
	{ "--max-traced", "65", "invalid --max-traced '65': at most 64" },
	{ "--cpu-budget", "101", "invalid --cpu-budget '101': expected percent of one core, "
	  "from 0.001 to 100" },
	{ "--cpu-budget", "0", "invalid --cpu-budget '0': expected percent of one core, "
	  "from 0.001 to 100" },
	{ "-s", "1099511627777", "invalid --sample-bytes '1099511627777': at most "
	  "1099511627776" },
	{ "--listen", "9464", "invalid --listen '9464': expected ADDR:PORT with a numeric "
	  "address, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464" },
	{ "--listen", "localhost:9464", "invalid --listen 'localhost:9464': expected "
	  "ADDR:PORT with a numeric address, e.g. 127.0.0.1:9464, 0.0.0.0:9464 or "
	  "[::1]:9464" },
	{ "--top", "0", "invalid --top '0': at least 1" },
	{ "--pod", "", "invalid --pod '': expected a glob: not empty, no control characters, "
	  "at most 1024 bytes" },
	{ "--namespace", "shop\n", "invalid --namespace 'shop\n': expected a glob: not "
	  "empty, no control characters, at most 1024 bytes" },
	{ "--report-dir", "", "invalid --report-dir '': empty" },
	{ "--postmortem-dir", "", "invalid --postmortem-dir '': empty" },
	{ "--postmortem-keep", "0", "invalid --postmortem-keep '0': at least 1" },
	{ "--host-root", "", "invalid --host-root '': empty" },
};

/* Each refused with -EINVAL and exactly the engine's message. */
Test(watchopts, bad_values, .init = cr_redirect_stderr)
{
	static char want[8192];
	struct watch_options o;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		cr_expect_eq(parse(&o, "--watch", bad_values[i].opt, bad_values[i].arg, NULL),
			     -EINVAL, "%s '%s'", bad_values[i].opt, bad_values[i].arg);
		selector__clear(&o.select);
		len += snprintf(want + len, sizeof(want) - len, "leakwatch: error: %s\n" TRY,
				bad_values[i].message);
		cr_assert_lt(len, sizeof(want));
	}
	cr_expect_stderr_eq_str(want);
}

Test(watchopts, no_pid_or_command, .init = cr_redirect_stderr)
{
	struct watch_options o;

	cr_expect_eq(parse(&o, "--watch", "1234", NULL), -EINVAL);
	cr_expect_stderr_eq_str("leakwatch: error: --watch takes no PID or command: 1234\n" TRY);
}

Test(watchopts, window_holds_four_samples, .init = cr_redirect_stderr)
{
	struct watch_options o;

	cr_expect_eq(parse(&o, "--watch", "--window", "20", NULL), 0);
	cr_expect_eq(parse(&o, "--watch", "--window", "10", NULL), -EINVAL);
	cr_expect_stderr_eq_str("leakwatch: error: --window 10 must hold at least 4 samples "
				"of --sample-interval 5\n" TRY);
}

/* An option of leakwatch's own (-p) or none at all: getopt's complaint. */
Test(watchopts, not_an_option_of_watch, .init = cr_redirect_stderr)
{
	struct watch_options o;

	cr_expect_eq(parse(&o, "--watch", "-p", "1", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--watch", "--oom-only", NULL), -EINVAL);
	cr_expect_eq(parse(&o, "--watch", "--listen", NULL), -EINVAL);
	cr_expect_stderr_eq_str("leakwatch: invalid option -- 'p'\n" TRY
				"leakwatch: unrecognized option '--oom-only'\n" TRY
				"leakwatch: option '--listen' requires an argument\n" TRY);
}

/* --help comes from the table: every option in it, and nothing to run. */
Test(watchopts, help, .init = cr_redirect_stdout)
{
	static const char *const names[] = {
		"--sample-interval SEC", "--window SEC", "--min-growth BYTES",
		"--trace-seconds SEC", "--max-traced N", "--cpu-budget PCT",
		"-s, --sample-bytes N", "--namespace GLOB", "--pod GLOB", "--container GLOB",
		"--comm GLOB", "--no-trace", "--report-dir DIR", "--postmortem-dir DIR",
		"--postmortem-keep N", "--listen ADDR:PORT", "--top K", "--watch", "--host-root DIR",
		"-v, --verbose", "-h, --help", "Usage: leakwatch --watch [OPTIONS]",
		"See README.md, \"--watch\".", "Exit status: 0 after SIGTERM",
	};
	struct watch_options o;
	char out[8192];
	size_t n;
	FILE *f;

	cr_assert_eq(parse(&o, "--watch", "--help", NULL), 1);
	f = cr_get_redirected_stdout();
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(strstr(out, names[i]), "--help lacks %s", names[i]);
}
