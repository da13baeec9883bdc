// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Busier fixtures: threads allocating at once, 200000 balanced operations,
 * the bundled demo, a stack deeper than leakwatch keeps.  Ground truth:
 * tests/fixtures/{threads,churn,demo,deep}.c.
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

/* A stack deeper than the 64 frames kept is marked as cut, in JSON and in
 * text; a whole one is not. */
LW_TEST(workloads, deep_stack_marked_truncated)
{
	const char *const only[] = { "deep_leak", "shallow_leak", NULL };
	const char *args[] = { "--", lw_fixture("deep"), NULL };
	json_object *report, *proc, *deep, *shallow, *frames;
	struct lw_proc *lw;

	lw_require_bpf();
	report = trace("deep");
	proc = lw_only_process(report, "deep");
	lw_expect_only(proc, only);
	lw_expect_totals(proc, 4242 + 2121, 2);
	deep = lw_stack_of(proc, "deep_leak");
	frames = lw_get(deep, "frames");
	cr_assert_eq(json_object_array_length(frames), 64, "%s", lw_describe(proc));
	cr_assert(lw_has(deep, "truncated") && lw_bool(deep, "truncated"),
		  "a stack of 102 frames kept as 64 is not marked truncated");
	for (size_t i = 0; i < 64; i++)
		cr_assert_str_eq(lw_str(json_object_array_get_idx(frames, i), "function"),
				 "deep_leak");
	/* leakwatch's own memory: its resident size, of which the ledgers
	 * are a part, not the whole */
	json_object *mem = lw_get(report, "tracer_memory");
	cr_assert_gt(lw_int(mem, "rss_bytes"), lw_int(mem, "user_bytes"));
	cr_assert_gt(lw_int(mem, "rss_bytes"), 1 << 20, "less than 1 MiB resident");
	shallow = lw_stack_of(proc, "shallow_leak");
	cr_assert(!lw_has(shallow, "truncated"), "a whole stack is marked truncated");

	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "%s", lw_tail(&lw->err));
	cr_assert(strstr(lw->out.data, "deep_leak+") &&
		  strstr(lw->out.data, "(stack cut here: its outer callers are not known)") &&
		  strstr(lw->out.data, " resident, of which ledgers and stacks "),
		  "no mark in the text report:\n%s", lw_tail(&lw->out));
}
