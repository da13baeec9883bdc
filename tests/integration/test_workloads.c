// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Busier fixtures: threads allocating at once, 200000 balanced operations,
 * and the bundled demo.  Ground truth: tests/fixtures/{threads,churn,demo}.c.
 */
#include <string.h>

#include "harness.h"

/* leakwatch -f json -o FILE -- FIXTURE; returns the report. */
static json_object *trace(const char *fixture)
{
	const char *const command[] = { fixture, NULL };

	return lw_trace("report.json", NULL, command, NULL, 0, NULL);
}

LW_TEST(workloads, threads_exact)
{
	const char *const only[] = { "thread_leak", NULL };
	json_object *report, *proc;

	lw_require_bpf();
	report = trace("threads");
	proc = lw_only_process(report, "threads");
	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 1,
		     "threads are not processes: one process expected");

	lw_expect_exited(proc, 0);
	lw_expect_function(proc, "thread_leak", 24720, 12);
	lw_expect_absent(proc, "thread_churn");
	lw_expect_absent(proc, "thread_handoff");
	lw_expect_only(proc, only);
	/* The threads run on the fixture's own stacks: glibc keeps no DTV. */
	lw_expect_totals(proc, 24720, 12);
}

LW_TEST(workloads, churn_leaves_nothing)
{
	json_object *report, *proc, *stacks;

	lw_require_bpf();
	report = trace("churn");
	proc = lw_only_process(report, "churn");

	lw_expect_exited(proc, 0);
	lw_expect_totals(proc, 0, 0);
	stacks = lw_get(proc, "stacks");
	for (size_t i = 0; i < json_object_array_length(stacks); i++)
		cr_assert(!lw_is_leak_stack(json_object_array_get_idx(stacks, i)),
			  "no stack holds leaked memory.\n%s", lw_describe(proc));
	cr_assert_eq(lw_int(proc, "unknown_frees"), 0,
		     "every block churn frees was allocated while traced.\n%s",
		     lw_describe(proc));
}

LW_TEST(workloads, demo_ground_truth)
{
	const char *const ours[] = { "cache_insert", "parse_request", NULL };
	json_object *report, *proc, *stacks;
	int64_t other_bytes = 0, other_allocs = 0;

	lw_require_bpf();
	report = trace("demo");
	proc = lw_only_process(report, "demo");

	lw_expect_exited(proc, 0);
	lw_expect_function(proc, "cache_insert", 28800, 360);
	cr_assert_eq(lw_sum_function(proc, "cache_insert").stacks, 2,
		     "cache_insert has two call sites.\n%s", lw_describe(proc));
	lw_expect_function(proc, "parse_request", 10240, 20);
	lw_expect_absent(proc, "do_work");
	lw_expect_absent(proc, "handle_request");
	lw_expect_absent(proc, "collect_metrics");

	/*
	 * Anything else is glibc's: the helper thread's DTV, 272 bytes in one
	 * block on glibc 2.36 (see demo.c).  Checked by size, not by name: the
	 * name depends on the symbols ld.so ships with.
	 */
	stacks = lw_get(proc, "stacks");
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);
		const char *top = lw_top_function(s);
		const char *const *f;

		for (f = ours; *f && strcmp(*f, top); f++)
			;
		/* the helper thread's stack and arena are not leaks */
		if (*f || !lw_is_leak_stack(s))
			continue;
		other_bytes += lw_int(s, "bytes");
		other_allocs += lw_int(s, "allocs");
	}
	cr_assert(other_bytes == 272 && other_allocs == 1,
		  "besides the demo's leaks only glibc's 272-byte DTV block should remain.\n%s",
		  lw_describe(proc));
	lw_expect_totals(proc, 39312, 381);
}
