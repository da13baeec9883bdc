// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tracing modes beyond the plain run: --entry-probes against the moved
 * probe sites, byte-weighted sampling (-s), an exec in the traced process,
 * periodic reports (-i) and a trace cut short by -d.
 * Ground truth: tests/fixtures/{allocs,sampled,execer,args,ticker}.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* allocs's whole outstanding set, from tests/fixtures/allocs.c. */
#define ALLOCS_BYTES 229507
#define ALLOCS_BLOCKS 16

/* allocs's functions and what each holds at exit (allocs.c's table). */
static const struct {
	const char *function;
	int64_t bytes;
	int64_t allocs;
	int64_t min_block;	/* its smallest block */
} allocs_truth[] = {
	{ "leak_realloc_grow", 200000, 1, 200000 },
	{ "leak_reallocarray", 3500, 1, 3500 },
	{ "failed_realloc_origin", 3300, 1, 3300 },
	{ "leak_realloc_null", 3100, 1, 3100 },
	{ "leak_malloc", 3003, 3, 1001 },
	{ "leak_pvalloc", 2900, 1, 2900 },
	{ "leak_valloc", 2700, 1, 2700 },
	{ "leak_memalign", 2600, 1, 2600 },
	{ "leak_calloc", 2400, 2, 1200 },
	{ "leak_aligned_alloc", 2304, 1, 2304 },
	{ "leak_posix_memalign", 2200, 1, 2200 },
	{ "leak_realloc_shrink", 1500, 1, 1500 },
	{ "leak_malloc_zero", 0, 1, 0 },
};

#define NR_TRUTH (sizeof(allocs_truth) / sizeof(allocs_truth[0]))

static json_object *trace(const char *name, const char *const *extra,
			  const char *const *command, int expect_code, struct lw_proc **lwp)
{
	return lw_trace(name, extra, command, NULL, expect_code, lwp);
}

/* The sum of "samples" over the stacks of PROC whose frames[0] is FN. */
static int64_t samples_of(json_object *proc, const char *fn)
{
	json_object *stacks = lw_get(proc, "stacks");
	int64_t sum = 0;

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);

		if (!strcmp(lw_top_function(s), fn))
			sum += lw_int(s, "samples");
	}
	return sum;
}

/* A report without -s says nothing about sampling, anywhere. */
static void expect_exact_report(json_object *report)
{
	json_object *procs = lw_get(report, "processes");

	cr_assert(!lw_has(report, "sample_bytes") && !lw_has(report, "estimated"),
		  "without -s the report has neither \"sample_bytes\" nor \"estimated\": %s",
		  json_object_to_json_string_ext(report, JSON_C_TO_STRING_PLAIN));
	for (size_t i = 0; i < json_object_array_length(procs); i++) {
		json_object *stacks = lw_get(json_object_array_get_idx(procs, i), "stacks");

		for (size_t k = 0; k < json_object_array_length(stacks); k++)
			cr_assert(!lw_has(json_object_array_get_idx(stacks, k), "samples"),
				  "without -s no stack has \"samples\"");
	}
}

/* ---- --entry-probes ---- */

/*
 * The "(entry+N)" of every line LW's -v names a probe site of FN on ("free"
 * matches "pid 12: free at /lib/libc.so.6+0x98ef3 (entry+3)"); fails when
 * there is none, or when two lines disagree.
 */
static long site_offset(const struct lw_proc *lw, const char *fn)
{
	const char *err = lw->err.data ? lw->err.data : "";
	const char *needle = lw_fmt(": %s at ", fn);
	long offset = -1;

	for (const char *s = strstr(err, needle); s; s = strstr(s + 1, needle)) {
		const char *eol = strchr(s, '\n');
		const char *e = strstr(s, "(entry+");
		long v;

		cr_assert(e && (!eol || e < eol), "no (entry+N) on the site line of %s: %.200s",
			  fn, s);
		v = strtol(e + strlen("(entry+"), NULL, 10);
		cr_assert(offset < 0 || offset == v, "%s is probed at entry+%ld and entry+%ld",
			  fn, offset, v);
		offset = v;
	}
	cr_assert(offset >= 0, "-v names no probe site for %s.\nstderr:\n%s", fn,
		  lw_tail(&lw->err));
	return offset;
}

/*
 * The moved probes (free past its `test %rdi,%rdi`, the aligned allocators
 * past their leading test/cmp) must see exactly what probes on the first
 * instruction see: the same bytes and blocks for every function, and the
 * same totals, which are allocs's ground truth.
 */
LW_TEST(modes, entry_probes_same_numbers)
{
	const char *const command[] = { "allocs", NULL };
	const char *const moved_args[] = { "-v", NULL };
	const char *const entry_args[] = { "-v", "--entry-probes", NULL };
	struct lw_proc *moved_lw, *entry_lw;
	json_object *moved_report, *entry_report, *moved, *entry;
	const char *fns[2] = { "free", "malloc" };

	lw_require_bpf();
	moved_report = trace("moved.json", moved_args, command, 0, &moved_lw);
	entry_report = trace("entry.json", entry_args, command, 0, &entry_lw);
	expect_exact_report(moved_report);
	expect_exact_report(entry_report);
	moved = lw_only_process(moved_report, "allocs");
	entry = lw_only_process(entry_report, "allocs");

	/*
	 * glibc 2.36's free starts with `test %rdi,%rdi` (3 bytes), which the
	 * kernel single-steps: by default the probe moves to the `je` after it.
	 */
	cr_assert_eq(site_offset(moved_lw, "free"), 3,
		     "default: free should be probed at entry+3.\nstderr:\n%s",
		     lw_tail(&moved_lw->err));
	for (size_t i = 0; i < 2; i++)
		cr_assert_eq(site_offset(entry_lw, fns[i]), 0,
			     "--entry-probes: %s should be probed at entry+0.\nstderr:\n%s",
			     fns[i], lw_tail(&entry_lw->err));
	/* Not one site of any function may move under --entry-probes. */
	for (const char *s = strstr(entry_lw->err.data ? entry_lw->err.data : "", "(entry+"); s;
	     s = strstr(s + 1, "(entry+"))
		cr_assert(!strncmp(s, "(entry+0)", 9), "--entry-probes moved a probe: %.60s", s);

	/* Every function either run names, with the same numbers in both. */
	for (int pass = 0; pass < 2; pass++) {
		json_object *from = pass ? entry : moved, *other = pass ? moved : entry;
		json_object *stacks = lw_get(from, "stacks");

		for (size_t i = 0; i < json_object_array_length(stacks); i++) {
			const char *fn = lw_top_function(json_object_array_get_idx(stacks, i));
			struct lw_sum a = lw_sum_function(from, fn);
			struct lw_sum b = lw_sum_function(other, fn);

			cr_assert(a.bytes == b.bytes && a.allocs == b.allocs &&
				  a.stacks == b.stacks,
				  "%s: %" PRId64 " bytes in %" PRId64 " blocks (%d stacks) %s, "
				  "%" PRId64 " in %" PRId64 " (%d stacks) %s.\ndefault:\n%s\n"
				  "--entry-probes:\n%s", fn, a.bytes, a.allocs, a.stacks,
				  pass ? "at entry" : "moved", b.bytes, b.allocs, b.stacks,
				  pass ? "moved" : "at entry", lw_describe(moved),
				  lw_describe(entry));
		}
	}
	/* And both are the truth, not merely the same mistake twice. */
	for (size_t i = 0; i < NR_TRUTH; i++) {
		lw_expect_function(moved, allocs_truth[i].function, allocs_truth[i].bytes,
				   allocs_truth[i].allocs);
		lw_expect_function(entry, allocs_truth[i].function, allocs_truth[i].bytes,
				   allocs_truth[i].allocs);
	}
	lw_expect_totals(moved, ALLOCS_BYTES, ALLOCS_BLOCKS);
	lw_expect_totals(entry, ALLOCS_BYTES, ALLOCS_BLOCKS);
	cr_assert_eq(lw_int(moved, "stacks_total"), lw_int(entry, "stacks_total"),
		     "stacks_total differs");
	cr_assert(lw_int(moved, "unknown_frees") == 0 && lw_int(entry, "unknown_frees") == 0,
		  "unknown_frees: %" PRId64 " moved, %" PRId64 " at entry; allocs frees only "
		  "its own blocks", lw_int(moved, "unknown_frees"), lw_int(entry, "unknown_frees"));
}

/*
 * Kernels before 6.13 have no uprobe sessions: leakwatch then attaches one
 * perf-event uprobe per entry point and a shared return probe.  That path
 * must give the same truth, also for a forked child and an exec'd image.
 */
LW_TEST(modes, legacy_uprobes_same_truth)
{
	const char *const allocs_cmd[] = { "allocs", NULL };
	const char *const forker_cmd[] = { "forker", "exec", NULL };
	const char *const legacy[] = { "--legacy-uprobes", NULL };
	json_object *report, *proc, *child;
	struct lw_proc *lw;

	lw_require_bpf();
	report = trace("legacy.json", legacy, allocs_cmd, 0, &lw);
	cr_assert(strstr(lw->err.data ? lw->err.data : "", "(perf uprobes;"),
		  "--legacy-uprobes should say so on the ready line.\nstderr:\n%s",
		  lw_tail(&lw->err));
	expect_exact_report(report);
	proc = lw_only_process(report, "allocs");
	for (size_t i = 0; i < NR_TRUTH; i++)
		lw_expect_function(proc, allocs_truth[i].function, allocs_truth[i].bytes,
				   allocs_truth[i].allocs);
	lw_expect_totals(proc, ALLOCS_BYTES, ALLOCS_BLOCKS);

	/* fork and exec followed with perf-event probes too */
	report = trace("legacy-forker.json", legacy, forker_cmd, 0, NULL);
	child = lw_only_process(report, "args");
	lw_expect_function(child, "leak_from_args", 2 * 333, 2);
	lw_expect_exited(child, 0);
	cr_assert_eq(lw_count_comm(report, "forker"), 2,
		     "forker and its first child, both traced");
}

/* Uprobe sessions by default where the kernel has them (6.13+), the
 * perf-event path elsewhere. */
LW_TEST(modes, session_uprobes_by_default)
{
	const char *const allocs_cmd[] = { "allocs", NULL };
	bool session = lw_kernel_btf_has("BPF_TRACE_UPROBE_SESSION");
	struct lw_proc *lw;

	lw_require_bpf();
	trace("session.json", NULL, allocs_cmd, 0, &lw);
	cr_assert(strstr(lw->err.data ? lw->err.data : "",
			 session ? "(session uprobes;" : "(perf uprobes;"),
		  "expected %s uprobes on this kernel.\nstderr:\n%s",
		  session ? "session" : "perf", lw_tail(&lw->err));
}

/* ---- -s N ---- */

/* Checks the sampling header of a report made with -s N. */
static void expect_sampled_report(json_object *report, int64_t n)
{
	cr_assert_eq(lw_int(report, "sample_bytes"), n, "\"sample_bytes\" should be %" PRId64, n);
	cr_assert(lw_bool(report, "estimated"), "a sampled report is \"estimated\"");
}

/*
 * allocs under -s 1024: a block of S >= 1024 bytes is kept with probability
 * min(1, S/1024) = 1 and counts max(S, 1024) = S bytes and max(1, 1024/S) = 1
 * block, so every function whose blocks are all that big is exact.  The
 * others are checked against what sampling can make of them.
 */
LW_TEST(modes, sampling_keeps_big_blocks_exact)
{
	const char *const command[] = { "allocs", NULL };
	const char *const extra[] = { "-s", "1024", NULL };
	int64_t exact_bytes = 0, exact_allocs = 0, k;
	const char *names[NR_TRUTH + 1];
	json_object *report, *proc;
	struct lw_sum malloc_sum;
	size_t nnames = 0;

	lw_require_bpf();
	report = trace("sampled.json", extra, command, 0, NULL);
	expect_sampled_report(report, 1024);
	proc = lw_only_process(report, "allocs");
	lw_expect_exited(proc, 0);

	for (size_t i = 0; i < NR_TRUTH; i++) {
		const char *fn = allocs_truth[i].function;

		if (allocs_truth[i].min_block < 1024)
			continue;
		lw_expect_function(proc, fn, allocs_truth[i].bytes, allocs_truth[i].allocs);
		cr_assert_eq(samples_of(proc, fn), allocs_truth[i].allocs,
			     "%s: every block is kept, so samples == allocs.\n%s", fn,
			     lw_describe(proc));
		exact_bytes += allocs_truth[i].bytes;
		exact_allocs += allocs_truth[i].allocs;
		names[nnames++] = fn;
	}
	cr_assert_eq(exact_bytes, 226504, "the table above lost a line");
	/* Freed, moved or failed blocks stay out under sampling too. */
	names[nnames++] = "leak_malloc";
	names[nnames] = NULL;
	lw_expect_only(proc, names);

	/* malloc(0) holds no byte to sample: kept with probability 0. */
	lw_expect_absent(proc, "leak_malloc_zero");
	/*
	 * leak_malloc's 3 blocks of 1001 bytes: each kept with probability
	 * 1001/1024, so K of them (0..3), each counting 1024 bytes and
	 * 1024/1001 blocks: K * 1.023 rounds to K blocks.
	 */
	malloc_sum = lw_sum_function(proc, "leak_malloc");
	k = samples_of(proc, "leak_malloc");
	cr_assert(k >= 0 && k <= 3 && malloc_sum.bytes == 1024 * k && malloc_sum.allocs == k,
		  "leak_malloc: %" PRId64 " samples should count 1024 bytes and 1 block each, "
		  "got %" PRId64 " bytes in %" PRId64 " blocks.\n%s", k, malloc_sum.bytes,
		  malloc_sum.allocs, lw_describe(proc));
	/* The totals are the sum of the estimates: nothing else allocates. */
	lw_expect_totals(proc, exact_bytes + 1024 * k, exact_allocs + k);
	cr_assert_eq(lw_int(proc, "unknown_frees"), 0,
		     "frees of blocks not sampled stay in the kernel.\n%s", lw_describe(proc));
}

/*
 * The sampled fixture under -s 4096: 2000 blocks of 8192 bytes (exact) and
 * 200000 of 64 bytes (estimated), after a million balanced malloc/free pairs.
 */
LW_TEST(modes, sampling_estimates_small_blocks)
{
	const char *const command[] = { "sampled", NULL };
	const char *const extra[] = { "-s", "4096", NULL };
	const char *const only[] = { "big_leak", "small_leak", NULL };
	json_object *report, *proc;
	struct lw_sum small;
	int64_t k;

	lw_require_bpf();
	/* trace() also asserts lost_events 0 and every drop 0, sample_table_full too. */
	report = trace("sampled.json", extra, command, 0, NULL);
	expect_sampled_report(report, 4096);
	cr_assert_eq(lw_int(lw_get(report, "drops"), "sample_table_full"), 0,
		     "drops.sample_table_full");
	proc = lw_only_process(report, "sampled");
	lw_expect_exited(proc, 0);

	/* 8192 >= 4096: every block kept, each counting its own size. */
	lw_expect_function(proc, "big_leak", 2000 * 8192, 2000);
	cr_assert_eq(samples_of(proc, "big_leak"), 2000, "big_leak: samples.\n%s",
		     lw_describe(proc));
	/* Every churn block was freed: a sampled one's free reached the ledger. */
	lw_expect_absent(proc, "small_churn");
	lw_expect_only(proc, only);

	/*
	 * small_leak: each of the n = 200000 blocks of 64 bytes is kept with
	 * p = 64/4096 = 1/64 and then counts 4096 bytes and 4096/64 = 64 blocks.
	 * The number kept, K, is binomial: mean n p = 3125, standard deviation
	 * sqrt(n p (1 - p)) = sqrt(3125 * 63/64) = 55.5.  The estimate is
	 * K * 4096 bytes (mean 12800000, the truth: unbiased) and K * 64 blocks.
	 * Within 6 standard deviations (333 samples, 10.7 % of the bytes) a
	 * correct sampler fails about once in 5e8 runs (normal tail; the
	 * binomial's is no heavier here), while a sampler off by a factor, e.g.
	 * p = 1/32 or a count of 64 bytes per sample, is tens of sd away.
	 */
	small = lw_sum_function(proc, "small_leak");
	k = samples_of(proc, "small_leak");
	cr_assert(small.stacks == 1, "small_leak: one call stack.\n%s", lw_describe(proc));
	cr_assert(small.bytes == k * 4096 && small.allocs == k * 64,
		  "small_leak: %" PRId64 " samples should be %" PRId64 " bytes in %" PRId64
		  " blocks, got %" PRId64 " in %" PRId64 ".\n%s", k, k * 4096, k * 64,
		  small.bytes, small.allocs, lw_describe(proc));
	cr_assert(llabs(k - 3125) <= 333,
		  "small_leak: %" PRId64 " samples (%" PRId64 " bytes) is more than 6 sd "
		  "(333) from the expected 3125 (12800000 bytes).\n%s", k, small.bytes,
		  lw_describe(proc));
	lw_expect_totals(proc, 2000 * 8192 + k * 4096, 2000 + k * 64);
}

/* ---- exec ---- */

/*
 * execer leaks, prints its pid and execs args in the same process: the
 * process keeps its pid, takes args's name, and loses the old image's
 * blocks with its address space.
 */
LW_TEST(modes, exec_drops_old_image)
{
	const char *const command[] = { "execer", NULL };
	const char *const only[] = { "leak_from_args", NULL };
	json_object *report, *proc;
	struct lw_proc *lw;
	long pid;

	lw_require_bpf();
	report = trace("exec.json", NULL, command, 0, &lw);
	expect_exact_report(report);
	pid = lw->out.data ? atol(lw->out.data) : 0;
	cr_assert(pid > 0, "execer prints its pid first; stdout:\n%s", lw_tail(&lw->out));

	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 1,
		     "execer forks nothing: one process expected");
	proc = lw_process_by_pid(report, (pid_t)pid);
	cr_assert(proc, "no process with execer's pid %ld in the report", pid);
	cr_assert_str_eq(lw_str(proc, "comm"), "args", "the exec'd image names the process");
	cr_assert(strstr(lw_str(proc, "cmdline"), "args 2 333"),
		  "cmdline \"%s\" is not args's", lw_str(proc, "cmdline"));
	lw_expect_absent(proc, "before_exec");
	lw_expect_function(proc, "leak_from_args", 666, 2);
	lw_expect_only(proc, only);
	lw_expect_totals(proc, 666, 2);
	lw_expect_exited(proc, 0);
}

/* ---- -i SEC ---- */

/* tick_leak's share of PROC, checked to be whole ticks of 1000 bytes. */
static int64_t ticks_of(json_object *proc, int64_t max_ticks)
{
	const char *const only[] = { "tick_leak", NULL };
	struct lw_sum s = lw_sum_function(proc, "tick_leak");

	lw_expect_only(proc, only);
	cr_assert(s.stacks <= 1 && s.bytes == 1000 * s.allocs && s.allocs <= max_ticks,
		  "tick_leak should hold 0..%" PRId64 " blocks of 1000 bytes in one stack.\n%s",
		  max_ticks, lw_describe(proc));
	/* ticker allocates nothing else. */
	lw_expect_totals(proc, s.bytes, s.allocs);
	return s.allocs;
}

/*
 * -i 0.5 on a 2-second run: interim JSON reports on stdout, then the final
 * report in -o FILE.  ticker leaks 1000 bytes every 200 ms, 10 times.
 */
LW_TEST(modes, interval_reports)
{
	const char *out = lw_tmp("final.json");
	const char *args[] = { "-i", "0.5", "-f", "json", "-o", out, "--", NULL, "10", "200",
			       NULL };
	json_object *docs, *report, *proc;
	int64_t start, elapsed, prev_ticks = 0;
	bool seen_midway = false;
	struct lw_proc *lw;
	size_t n;

	lw_require_bpf();
	args[7] = lw_fixture("ticker");
	start = lw_now_ms();
	lw = lw_leakwatch_run(args, NULL);
	elapsed = lw_now_ms() - start;
	cr_assert_eq(lw->exit_code, 0, "leakwatch exited with %d (ticker exits 0).\nstderr:\n%s",
		     lw->exit_code, lw_tail(&lw->err));

	docs = lw_json_stream(lw->out.data ? lw->out.data : "");
	n = json_object_array_length(docs);
	/*
	 * The k-th report (from 1) is due no earlier than 0.5 k s after
	 * leakwatch started, so at most elapsed / 0.5 of them fit.  The loop
	 * runs at least as long as ticker, 10 x 200 ms, and wakes every 50 ms:
	 * reports come at most ~0.55 s apart, so at least 3 fit in 2 s.
	 */
	cr_assert(n >= 3 && (int64_t)n <= elapsed / 500,
		  "%zu interim reports in a %" PRId64 " ms run with -i 0.5: expected 3 to %"
		  PRId64 ".\nstdout:\n%s", n, elapsed, elapsed / 500, lw_tail(&lw->out));
	for (size_t i = 0; i < n; i++) {
		json_object *doc = json_object_array_get_idx(docs, i);
		int64_t ticks;
		double due;

		lw_check_report(doc, false);
		lw_expect_no_loss(doc);
		due = 0.5 * (double)(i + 1);
		cr_assert(json_object_get_double(lw_get(doc, "duration_s")) >= due,
			  "interim report %zu came after %.3f s, before its time (%.1f s)", i,
			  json_object_get_double(lw_get(doc, "duration_s")), due);
		cr_assert_eq(json_object_array_length(lw_get(doc, "processes")), 1,
			     "interim report %zu: one process expected", i);
		proc = json_object_array_get_idx(lw_get(doc, "processes"), 0);
		ticks = ticks_of(proc, 10);
		/* Nothing is ever freed: what a report shows can only grow. */
		cr_assert(ticks >= prev_ticks, "interim report %zu shows %" PRId64 " ticks, the "
			  "one before %" PRId64 ": leaked bytes went down", i, ticks, prev_ticks);
		prev_ticks = ticks;
		seen_midway |= ticks > 0 && ticks < 10;
	}
	/*
	 * Ticks 1 to 9 are on show for 1.8 s, longer than the ~0.55 s between
	 * reports: a report taken while ticker runs sees it midway.  Reports
	 * all dumped at the end would not.
	 */
	cr_assert(seen_midway, "no interim report saw ticker midway (1..9 ticks).\nstdout:\n%s",
		  lw_tail(&lw->out));

	report = lw_report(out);
	lw_expect_no_loss(report);
	proc = lw_only_process(report, "ticker");
	lw_expect_exited(proc, 0);
	lw_expect_function(proc, "tick_leak", 10000, 10);
	cr_assert_eq(ticks_of(proc, 10), 10, "the final report holds all 10 ticks");
}

/* ---- -d SEC -- COMMAND ---- */

/*
 * -d ends tracing while the command is held: dlopener reloads its plugin
 * hundreds of times a second and leakwatch stops it at each load.  The
 * command must run to its end, untraced: a hang here is a command left
 * stopped.
 */
LW_TEST(modes, duration_ends_while_holding)
{
	const char *out = lw_tmp("report.json");
	const char *args[] = { "-d", "0.5", "-f", "json", "-o", out, "--", NULL, "reload",
			       "2500", NULL };
	json_object *report, *proc;
	struct lw_proc *lw;

	lw_require_bpf();
	args[7] = lw_fixture("dlopener");
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_file(lw, out);
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch exited with %d, dlopener's status is 0.\n"
		     "stderr:\n%s", lw->exit_code, lw_tail(&lw->err));
	report = lw_report(out);
	lw_expect_no_loss(report);
	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 1,
		     "dlopener forks nothing: one process expected");
	proc = json_object_array_get_idx(lw_get(report, "processes"), 0);
	/* what it holds depends on where in a reload tracing stopped */
	cr_assert(!lw_bool(proc, "exited"), "dlopener was still running when tracing stopped");
}

/*
 * -d 0.5 on a 6-second command: the report is written after about 0.5 s,
 * while the command runs on; leakwatch then waits for it and exits with its
 * status, 9.
 */
LW_TEST(modes, duration_stops_tracing_not_command)
{
	const char *out = lw_tmp("report.json");
	const char *args[] = { "-d", "0.5", "-f", "json", "-o", out, "--", NULL, "30", "200", "9",
			       NULL };
	json_object *report, *proc;
	int64_t start, ready, written, elapsed;
	double duration;
	struct lw_proc *lw;

	lw_require_bpf();
	args[7] = lw_fixture("ticker");
	start = lw_now_ms();
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	ready = lw_now_ms();
	lw_wait_file(lw, out);
	written = lw_now_ms() - ready;
	/*
	 * ticker starts after the ready line, seen at READY or before, and
	 * runs for at least 6000 ms: a report that exists before then was
	 * written while ticker still ran.  (Symbolizing takes seconds under
	 * software emulation, where the kernel matrix runs.)
	 */
	cr_assert(written < 6000, "the -d 0.5 report appeared %" PRId64 " ms after the ready "
		  "line, when ticker may have ended", written);
	cr_assert(lw->running, "leakwatch exited (%d) by the time its -d report appeared: it "
		  "must wait for the command.\nstderr:\n%s", lw->exit_code, lw_tail(&lw->err));
	lw_wait_exit(lw);
	elapsed = lw_now_ms() - start;
	cr_assert_eq(lw->exit_code, 9, "leakwatch exited with %d, ticker's status is 9.\n"
		     "stderr:\n%s", lw->exit_code, lw_tail(&lw->err));
	/* ticker ran all 30 ticks of 200 ms before it could exit with 9. */
	cr_assert(elapsed >= 6000, "leakwatch returned after %" PRId64 " ms, before ticker's "
		  "6000 ms were over", elapsed);

	report = lw_report(out);
	lw_expect_no_loss(report);
	expect_exact_report(report);
	duration = json_object_get_double(lw_get(report, "duration_s"));
	cr_assert(duration >= 0.5 && duration < 2.0,
		  "duration_s %.3f: tracing should stop at 0.5 s, long before ticker's 6 s",
		  duration);
	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 1,
		     "ticker forks nothing: one process expected");
	proc = json_object_array_get_idx(lw_get(report, "processes"), 0);
	cr_assert(!lw_bool(proc, "exited"), "ticker was still running when tracing stopped");
	/*
	 * ticker leaks at 0, 200, 400 ms after its start, which is after
	 * leakwatch's: 3 ticks fit in 0.5 s; 2 more allow for the loop's
	 * 50 ms wake-ups and a slow report.  All 30 would mean -d was ignored.
	 */
	ticks_of(proc, 5);
}
