// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Stacks through code built without frame pointers, walked with its CFI
 * in BPF (bpf/unwind.bpf.h): every frame from the leaking function to
 * main or the thread's start function, exactly, and beyond them to the
 * stack's end (_start, or libc's thread start).  Ground truth: the
 * fixtures' headers (tests/fixtures/unwind_nofp.c, unwind_fp.c,
 * unwind_cxx.cc).
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"

static const char *frame_str(json_object *frame, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(frame, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool in_libc(json_object *frame)
{
	const char *m = frame_str(frame, "module");

	return m && (!strcmp(m, "libc.so.6") || lw_ends_with(m, "/libc.so.6"));
}

static const char *describe_frames(json_object *stack)
{
	json_object *frames = lw_get(stack, "frames");
	const char *out = "";

	for (size_t i = 0; i < json_object_array_length(frames); i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		const char *fn = frame_str(f, "function"), *m = frame_str(f, "module");

		out = lw_fmt("%s\n  %s [%s]", out, fn ? fn : frame_str(f, "address"), m ? m : "?");
	}
	return out;
}

/*
 * The stack of one block of bytes from want[0]: its frames outside libc
 * are exactly want (NULL-terminated), and libc_between of libc's frames
 * sit between want[k] and want[k + 1] (k = libc_at; -1: none).  After the
 * last of want the stack goes on to its end: main's callers end with
 * _start, a thread's with libc's frames.
 */
static void expect_stack(json_object *proc, int64_t bytes, const char *const *want,
			 int libc_at, int libc_between)
{
	json_object *stack = lw_stack_of(proc, want[0]), *frames;
	size_t n, i, k = 0, last = 0;
	int libc_run = 0;
	bool thread;

	cr_assert_eq(lw_int(stack, "bytes"), bytes, "%s: %lld bytes", want[0],
		     (long long)lw_int(stack, "bytes"));
	cr_assert_eq(lw_int(stack, "allocs"), 1);
	cr_assert(!lw_has(stack, "truncated"), "%s: truncated", want[0]);
	frames = lw_get(stack, "frames");
	n = json_object_array_length(frames);
	for (i = 0; i < n && want[k]; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		const char *fn = frame_str(f, "function");

		if (in_libc(f) && k > 0) {
			libc_run++;
			continue;
		}
		cr_assert(fn && !strcmp(fn, want[k]), "frame %zu: %s, expected %s:%s", i,
			  fn ? fn : "(unknown)", want[k], describe_frames(stack));
		if (k > 0)
			cr_assert_eq(libc_run, (int)k - 1 == libc_at ? libc_between : 0,
				     "%d libc frames before %s:%s", libc_run, want[k],
				     describe_frames(stack));
		libc_run = 0;
		last = i;
		k++;
	}
	cr_assert(!want[k], "%s: frames missing:%s", want[k], describe_frames(stack));
	thread = strcmp(want[k - 1], "main");
	/* the stack's end: libc's main caller and _start, or libc's thread
	 * start and clone3 */
	cr_assert_gt(n, last + 1, "%s: nothing after it:%s", want[k - 1], describe_frames(stack));
	for (i = last + 1; i < n; i++) {
		json_object *f = json_object_array_get_idx(frames, i);
		const char *fn = frame_str(f, "function");

		if (i == n - 1 && !thread)
			cr_assert(fn && !strcmp(fn, "_start"), "the stack ends in %s:%s",
				  fn ? fn : "(unknown)", describe_frames(stack));
		else
			cr_assert(in_libc(f), "frame %zu after %s is not libc's:%s", i,
				  want[k - 1], describe_frames(stack));
	}
}

static void expect_nofp(const char *const *extra)
{
	const char *const command[] = { "unwind_nofp", NULL };
	const char *const deep[] = { "leak_deep", "chain_d", "chain_c", "chain_b", "chain_a",
				     "main", NULL };
	const char *const vla[] = { "leak_vla", "with_vla", "with_alloca", "main", NULL };
	const char *const sig[] = { "handler_leak", "send_signal", "main", NULL };
	const char *const thread[] = { "leak_thread", "thread_work", "thread_main", NULL };
	const char *const lib[] = { "lib_leak", "lib_inner", "lib_outer", "call_lib", "main",
				    NULL };
	const char *const plugin[] = { "plugin_leak", "plugin_outer", "run_plugin", "main",
				       NULL };
	json_object *report, *proc, *stack, *frames;

	report = lw_trace("unwind.json", extra, command, NULL, 0, NULL);
	proc = lw_only_process(report, "unwind_nofp");
	lw_expect_exited(proc, 0);
	expect_stack(proc, 101, deep, -1, 0);
	expect_stack(proc, 102, vla, -1, 0);
	/* the signal frame (__restore_rt) and kill, which the signal
	 * interrupted */
	expect_stack(proc, 103, sig, 0, 2);
	expect_stack(proc, 104, thread, -1, 0);
	expect_stack(proc, 105, lib, -1, 0);
	expect_stack(proc, 106, plugin, -1, 0);

	/* deeper than the walk: marked, every frame kept is recurse's */
	stack = lw_stack_of(proc, "recurse");
	cr_assert_eq(lw_int(stack, "bytes"), 107);
	cr_assert(lw_has(stack, "truncated") && lw_bool(stack, "truncated"),
		  "the 100-deep recursion is not marked truncated");
	frames = lw_get(stack, "frames");
	cr_assert_eq(json_object_array_length(frames), 64);
	for (size_t i = 0; i < 64; i++)
		cr_assert_str_eq(frame_str(json_object_array_get_idx(frames, i), "function"),
				 "recurse");
}

LW_TEST(unwind, frames_of_code_without_frame_pointers)
{
	lw_require_bpf();
	expect_nofp(NULL);
}

LW_TEST(unwind, frames_of_code_without_frame_pointers_legacy_uprobes)
{
	const char *const extra[] = { "--legacy-uprobes", NULL };

	lw_require_bpf();
	expect_nofp(extra);
}

/* Frame-pointer code calling a library without them and called back. */
LW_TEST(unwind, frame_pointer_code_around_a_library_without)
{
	const char *const command[] = { "unwind_fp", NULL };
	const char *const want[] = { "leak_in_callback", "fp_callback", "lib_trampoline_inner",
				     "lib_trampoline", "fp_outer", "main", NULL };
	json_object *report, *proc;

	lw_require_bpf();
	report = lw_trace("unwind_fp.json", NULL, command, NULL, 0, NULL);
	proc = lw_only_process(report, "unwind_fp");
	lw_expect_exited(proc, 0);
	lw_expect_totals(proc, 110, 1);
	expect_stack(proc, 110, want, -1, 0);
}

/* C++: an inlined caller of new, a destructor run by an exception's
 * unwinding, and the handler's own allocation. */
LW_TEST(unwind, cxx_inlining_and_exceptions)
{
	const char *const command[] = { "unwind_cxx", NULL };
	const char *const inl[] = { "make_node", "build_list(int)", "main", NULL };
	const char *const dtor[] = { "Guard::~Guard()", "thrower(int) [clone .cold]",
				     "recover(int)", "main", NULL };
	const char *const handler[] = { "recover(int) [clone .cold]", "main", NULL };
	json_object *report, *proc, *stack;

	lw_require_bpf();
	report = lw_trace("unwind_cxx.json", NULL, command, NULL, 0, NULL);
	proc = lw_only_process(report, "unwind_cxx");
	lw_expect_exited(proc, 0);
	stack = lw_stack_of(proc, "make_node");
	cr_assert_eq(lw_int(stack, "bytes"), 160);
	cr_assert_eq(lw_int(stack, "allocs"), 10);
	cr_assert(lw_bool(json_object_array_get_idx(lw_get(stack, "frames"), 0), "inlined"));
	/* expect_stack wants one block: the 10 nodes share the stack */
	for (size_t i = 0; inl[i]; i++)
		cr_assert_str_eq(frame_str(json_object_array_get_idx(lw_get(stack, "frames"), i),
					   "function"), inl[i], "%s", describe_frames(stack));
	expect_stack(proc, 120, dtor, -1, 0);
	expect_stack(proc, 44, handler, -1, 0);
}

/*
 * Stock Debian programs, built without frame pointers and stripped: the
 * share of their outstanding heap bytes on stacks that reach main's caller
 * (__libc_start_call_main) or a thread's start (start_thread), glibc's
 * names from libc6-dbg.  With frame pointers only (--unwind-memory 0)
 * most stacks stop in the first frame; with the CFI walk at least 95%
 * must be complete.  Both shares are printed.
 */
static double complete_share(json_object *proc, int64_t *total)
{
	json_object *stacks = lw_get(proc, "stacks");
	int64_t all = 0, complete = 0;

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i), *frames;
		bool done = false;

		if (strcmp(lw_str(s, "kind"), "heap"))
			continue;
		frames = lw_get(s, "frames");
		for (size_t k = 0; k < json_object_array_length(frames) && !done; k++) {
			const char *fn = frame_str(json_object_array_get_idx(frames, k), "function");

			done = fn && (!strcmp(fn, "__libc_start_call_main") ||
				      !strcmp(fn, "start_thread"));
		}
		all += lw_int(s, "bytes");
		complete += done ? lw_int(s, "bytes") : 0;
	}
	*total = all;
	return all ? 100.0 * (double)complete / (double)all : 0;
}

static void expect_complete(const char *name, const char *comm, const char *const *command,
			    double at_least)
{
	const char *const fp_only[] = { "--unwind-memory", "0", NULL };
	json_object *report, *proc;
	int64_t before_bytes, after_bytes;
	double before, after;

	report = lw_trace(lw_fmt("%s-fp.json", name), fp_only, command, NULL, 0, NULL);
	proc = lw_only_process(report, comm);
	before = complete_share(proc, &before_bytes);
	report = lw_trace(lw_fmt("%s.json", name), NULL, command, NULL, 0, NULL);
	proc = lw_only_process(report, comm);
	after = complete_share(proc, &after_bytes);
	fprintf(stderr, "[unwind] %s: heap bytes on complete stacks: frame pointers %.1f%% of %lld, "
		"CFI %.1f%% of %lld\n", name, before, (long long)before_bytes, after,
		(long long)after_bytes);
	cr_assert_gt(after_bytes, 0, "%s holds no heap bytes at exit", name);
	cr_assert_geq(after, at_least, "%s: %.1f%% of %lld heap bytes on complete stacks:\n%s",
		      name, after, (long long)after_bytes, lw_describe(proc));
}

LW_TEST(unwind, debian_programs_complete_stacks)
{
	const char *script = lw_tmp("lists.tcl");
	const char *const tcl[] = { "/usr/bin/tclsh", script, NULL };
	const char *const py[] = { "/usr/bin/python3", "-c",
				   "l = [str(i) * 10 for i in range(10000)]; print(len(l))", NULL };
	const char *const pl[] = { "/usr/bin/perl", "-e",
				   "my @a = map { 'x' x $_ } 1..2000; print scalar(@a), qq(\\n);",
				   NULL };
	const char *const sq[] = { "/usr/bin/sqlite3", ":memory:",
				   "create table t(x); insert into t values(1); select * from t;",
				   NULL };
	const char *const xz[] = { "/usr/bin/xz", "-9", "-c", "/etc/services", NULL };
	FILE *f;

	lw_require_bpf();
	f = fopen(script, "w");
	cr_assert_not_null(f);
	fputs("set l {}\nfor {set i 0} {$i < 1000} {incr i} {lappend l [string repeat x $i]}\n"
	      "puts [llength $l]\n", f);
	cr_assert_eq(fclose(f), 0);
	expect_complete("tclsh", "tclsh", tcl, 95);
	expect_complete("python3", "python3", py, 95);
	expect_complete("perl", "perl", pl, 95);
	expect_complete("sqlite3", "sqlite3", sq, 95);
	expect_complete("xz", "xz", xz, 95);
}
