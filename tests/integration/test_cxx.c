// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * C++: blocks from operator new, new[], nothrow and aligned new belong to
 * the function that called new, named demangled.  Without probes on the
 * new family the stack, taken where libstdc++'s new returns from malloc,
 * would skip that caller.  Ground truth: tests/fixtures/cxxnew.cc.
 */
#include "harness.h"

static const struct {
	const char *function;
	int64_t bytes, allocs;
} truth[] = {
	{ "shapes::Pool<int>::grow(unsigned long, int)", 1200, 3 },
	{ "leak_new()", 8, 1 },
	{ "leak_nothrow()", 300, 1 },
	{ "leak_aligned()", 128, 1 },
};

static void expect_truth(const char *const *extra)
{
	const char *out = lw_tmp("cxx.json");
	const char *args[16];
	json_object *report, *proc;
	struct lw_proc *lw;
	size_t n = 0;

	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n++] = "-f";
	args[n++] = "json";
	args[n++] = "-o";
	args[n++] = out;
	args[n++] = "--";
	args[n++] = lw_fixture("cxxnew");
	args[n] = NULL;
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "leakwatch exited with %d.\nstderr:\n%s", lw->exit_code,
		     lw_tail(&lw->err));
	report = lw_report(out);
	lw_expect_no_loss(report);
	proc = lw_only_process(report, "cxxnew");
	for (size_t i = 0; i < sizeof(truth) / sizeof(truth[0]); i++)
		lw_expect_function(proc, truth[i].function, truth[i].bytes, truth[i].allocs);
	lw_expect_absent(proc, "churn()");
	/* operator new itself never appears as the allocating function */
	lw_expect_absent(proc, "operator new(unsigned long)");
	lw_expect_absent(proc, "operator new[](unsigned long)");
	lw_expect_exited(proc, 0);
}

LW_TEST(cxx, operator_new_family_attributed_to_caller)
{
	lw_require_bpf();
	expect_truth(NULL);
}

LW_TEST(cxx, operator_new_family_with_legacy_uprobes)
{
	const char *const extra[] = { "--legacy-uprobes", NULL };

	lw_require_bpf();
	expect_truth(extra);
}
