// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `leakwatch -- COMMAND`: argv, environment and exit status of COMMAND,
 * following forks and execs (and not, with --no-follow), usage errors.
 * Ground truth: tests/fixtures/{args,forker}.c.
 */
#include <string.h>

#include "harness.h"

static json_object *trace(const char *const *extra, const char *const *command,
			  const char *const *env, int expect_code, struct lw_proc **lwp)
{
	return lw_trace("report.json", extra, command, env, expect_code, lwp);
}

static void expect_args_leak(json_object *proc, int64_t count, int64_t size)
{
	const char *const only[] = { "leak_from_args", NULL };

	lw_expect_function(proc, "leak_from_args", count * size, count);
	lw_expect_only(proc, only);
	lw_expect_totals(proc, count * size, count);
}

/* Arguments arrive intact; LW_TEST_EXIT=7 reaches it; its 7 is ours. */
LW_TEST(cli, argv_env_and_exit_status)
{
	const char *const command[] = { "args", "5", "1234", "two words", "", NULL };
	const char *const env[] = { "LW_TEST_EXIT=7", NULL };
	struct lw_proc *lw;
	json_object *proc;

	lw_require_bpf();
	proc = lw_only_process(trace(NULL, command, env, 7, &lw), "args");

	cr_assert(lw->out.data && strstr(lw->out.data, "[two words]\n[]\n"),
		  "args echoes its arguments: \"two words\" and \"\" expected on stdout:\n%s",
		  lw_tail(&lw->out));
	expect_args_leak(proc, 5, 1234);
	lw_expect_exited(proc, 7);
	cr_assert(strstr(lw_str(proc, "cmdline"), "1234") &&
		  strstr(lw_str(proc, "cmdline"), "two words"),
		  "cmdline \"%s\" lacks the arguments", lw_str(proc, "cmdline"));
}

LW_TEST(cli, exit_status_zero)
{
	const char *const command[] = { "args", "3", "100", NULL };
	json_object *proc;

	lw_require_bpf();
	proc = lw_only_process(trace(NULL, command, NULL, 0, NULL), "args");
	expect_args_leak(proc, 3, 100);
	lw_expect_exited(proc, 0);
}

/* Killed by SIGTERM: leakwatch exits 128 + 15 and still reports the leak. */
LW_TEST(cli, killed_by_signal)
{
	const char *const command[] = { "args", "2", "4000", NULL };
	const char *const env[] = { "LW_TEST_SIGNAL=15", NULL };
	json_object *proc;

	lw_require_bpf();
	proc = lw_only_process(trace(NULL, command, env, 128 + 15, NULL), "args");
	expect_args_leak(proc, 2, 4000);
	cr_assert(lw_bool(proc, "exited"), "a killed process has exited");
}

static void expect_parent(json_object *proc)
{
	const char *const only[] = { "parent_leak", NULL };

	lw_expect_function(proc, "parent_leak", 11110, 2);
	lw_expect_only(proc, only);
	lw_expect_totals(proc, 11110, 2);
	lw_expect_exited(proc, 0);
}

/* The fork child and the exec'd grandchild are traced as processes of their own. */
LW_TEST(cli, follows_fork_and_exec)
{
	const char *const command[] = { "forker", "exec", NULL };
	const char *const child_only[] = { "child_leak", NULL };
	json_object *report, *a, *b, *parent, *child, *args;

	lw_require_bpf();
	report = trace(NULL, command, NULL, 0, NULL);

	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 3,
		     "forker, its child and the exec'd args: 3 processes");
	cr_assert_eq(lw_count_comm(report, "forker"), 2, "two processes named forker");
	a = lw_process_by_comm(report, "forker", 0);
	b = lw_process_by_comm(report, "forker", 1);
	/* Which is which: the parent is the one with parent_leak. */
	parent = lw_sum_function(a, "parent_leak").stacks ? a : b;
	child = parent == a ? b : a;
	expect_parent(parent);
	lw_expect_function(child, "child_leak", 13332, 3);
	lw_expect_only(child, child_only);
	lw_expect_totals(child, 13332, 3);
	lw_expect_exited(child, 0);

	args = lw_only_process(report, "args");
	expect_args_leak(args, 2, 333);
	lw_expect_exited(args, 0);
}

LW_TEST(cli, no_follow)
{
	const char *const command[] = { "forker", "exec", NULL };
	const char *const extra[] = { "--no-follow", NULL };
	json_object *report;

	lw_require_bpf();
	report = trace(extra, command, NULL, 0, NULL);
	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 1,
		     "--no-follow: only forker itself");
	expect_parent(lw_only_process(report, "forker"));
}

/* Usage errors exit 2 with a message, before any tracing (no root needed). */
LW_TEST(cli, usage_errors)
{
	static const char *const cases[][6] = {
		{ NULL },
		{ "--no-such-option", "--", "/bin/true", NULL },
		{ "-f", "yaml", "--", "/bin/true", NULL },
		{ "-p", "notapid", NULL },
		{ "-p", NULL },
		{ "-T", "many", "--", "/bin/true", NULL },
		{ "--mapping-hooks", "uprobe", "--", "/bin/true", NULL },
		{ "--no-mappings", "--mapping-hooks", "fentry", "--", "/bin/true", NULL },
		/* once wrapped to 2^64-1 */
		{ "-T", " -1", "--", "/bin/true", NULL },
		{ "--min-size", " -1", "--", "/bin/true", NULL },
		/* once turned interval reports off */
		{ "-i", "1e-12", "--", "/bin/true", NULL },
		/* once failed at load, exit 1 */
		{ "--ringbuf-size", "4294967296", "--", "/bin/true", NULL },
		{ "-p", "1", "foo", NULL },
		{ "-p", "1,,2", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lw_proc *lw = lw_leakwatch_run(cases[i], NULL);
		const char *argstr = "";

		for (const char *const *a = cases[i]; *a; a++)
			argstr = lw_fmt("%s %s", argstr, *a);
		cr_assert_eq(lw->exit_code, 2, "leakwatch%s: exit %d, expected 2 (usage).\n"
			     "stderr:\n%s", argstr, lw->exit_code, lw_tail(&lw->err));
		cr_assert(lw->err.len > 0, "leakwatch%s: no message on stderr", argstr);
	}
}
