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
	const char *const command[] = { "cxxnew", NULL };
	json_object *report, *proc;

	report = lw_trace("cxx.json", extra, command, NULL, 0, NULL);
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
