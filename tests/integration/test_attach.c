// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * -p: attaching to running processes (the delayed and exiter fixtures),
 * ending on exit, on -d, on SIGINT/SIGTERM; a pid that does not exist.
 * Leaks in a library dlopen()ed after tracing began (the dlopener fixture),
 * through -p and through a command.  Attaching while the process allocates
 * and frees without pause (churn until).
 * Ground truth: tests/fixtures/{delayed,exiter,dlopener,dlplugin,churn}.c.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define LATE_BYTES 15554
#define LATE_BLOCKS 2
#define EXIT_BYTES 12963
#define EXIT_BLOCKS 3
#define CHURN_LAST_BYTES 4567
#define CHURN_ATTACHES 4

/* leakwatch -p PIDS EXTRA... -f json -o OUT, and waits for "ready". */
static struct lw_proc *attach(const char *pids, const char *out, const char *const *extra)
{
	const char *args[32];
	struct lw_proc *lw;
	size_t n = 0;

	args[n++] = "-p";
	args[n++] = pids;
	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n++] = "-f";
	args[n++] = "json";
	args[n++] = "-o";
	args[n++] = out;
	args[n] = NULL;
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	return lw;
}

/* First SIGUSR1 to delayed: it leaks, and says so before we go on. */
static void delayed_leak(struct lw_proc *target)
{
	lw_signal(target, SIGUSR1);
	cr_assert_str_eq(lw_next_line(target), "leaked", "delayed's second line");
}

/* Second SIGUSR1: delayed exits 0.  Reaped at once, so no zombie lingers. */
static void delayed_finish(struct lw_proc *target)
{
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0, "delayed's exit status");
}

static void expect_late_leak(json_object *proc)
{
	const char *const only[] = { "late_leak", NULL };

	lw_expect_function(proc, "late_leak", LATE_BYTES, LATE_BLOCKS);
	/* Allocated before the attach: invisible to the tracer. */
	lw_expect_absent(proc, "early_leak");
	lw_expect_absent(proc, "early_keep");
	lw_expect_absent(proc, "late_churn");
	lw_expect_only(proc, only);
	lw_expect_totals(proc, LATE_BYTES, LATE_BLOCKS);
}

static json_object *report_for(const char *out, struct lw_proc *target)
{
	json_object *report = lw_report(out), *proc;

	lw_expect_no_loss(report);
	proc = lw_process_by_pid(report, target->pid);
	cr_assert(proc, "no process with pid %d in the report", (int)target->pid);
	cr_assert_str_eq(lw_str(proc, "comm"), target->name, "comm of pid %d",
			 (int)target->pid);
	return proc;
}

LW_TEST(attach, delayed_until_exit)
{
	const char *out;
	struct lw_proc *target, *lw;
	json_object *proc;

	lw_require_bpf();
	out = lw_tmp("delayed.json");
	target = lw_start_target("delayed", NULL);
	lw = attach(lw_fmt("%d", (int)target->pid), out, NULL);
	delayed_leak(target);
	delayed_finish(target);

	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch ends when its only process exits.\n"
		     "stderr:\n%s", lw_tail(&lw->err));
	proc = report_for(out, target);
	expect_late_leak(proc);
	lw_expect_exited(proc, 0);
	cr_assert_eq(lw_int(proc, "unknown_frees"), 2,
		     "delayed frees 2 blocks allocated before the attach.\n%s",
		     lw_describe(proc));
}

/* -d ends the trace with the process still running. */
LW_TEST(attach, duration_limit)
{
	const char *out;
	const char *const extra[] = { "-d", "2", NULL };
	struct lw_proc *target, *lw;
	json_object *proc, *stack, *report;
	double duration;

	lw_require_bpf();
	out = lw_tmp("delayed.json");
	target = lw_start_target("delayed", NULL);
	lw = attach(lw_fmt("%d", (int)target->pid), out, extra);
	delayed_leak(target);

	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch -d 2.\nstderr:\n%s", lw_tail(&lw->err));
	cr_assert(target->running, "delayed must still be running");
	proc = report_for(out, target);
	expect_late_leak(proc);
	cr_assert(!lw_bool(proc, "exited"), "delayed is still running");
	cr_assert(!lw_has(proc, "exit_code"), "no exit_code for a running process");

	report = lw_report(out);
	duration = json_object_get_double(lw_get(report, "duration_s"));
	cr_assert(duration >= 1.9 && duration < 30, "duration_s %.3f for -d 2", duration);
	stack = json_object_array_get_idx(lw_get(proc, "stacks"), 0);
	cr_assert(json_object_get_double(lw_get(stack, "oldest_age_ms")) <= duration * 1000 + 500,
		  "late_leak's age %s ms exceeds the trace's %.3f s",
		  json_object_to_json_string(lw_get(stack, "oldest_age_ms")), duration);
	delayed_finish(target);
}

/* SIGINT ends the trace and writes the report; --older-than keeps old stacks. */
LW_TEST(attach, sigint_and_older_than_shows_old)
{
	const char *out;
	const char *const extra[] = { "--older-than", "500", NULL };
	struct lw_proc *target, *lw;
	json_object *proc, *stack;

	lw_require_bpf();
	out = lw_tmp("delayed.json");
	target = lw_start_target("delayed", NULL);
	lw = attach(lw_fmt("%d", (int)target->pid), out, extra);
	delayed_leak(target);
	/* The leak is at least a second old when the report is made. */
	sleep(1);
	lw_signal(lw, SIGINT);

	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch after SIGINT.\nstderr:\n%s",
		     lw_tail(&lw->err));
	proc = report_for(out, target);
	expect_late_leak(proc);
	cr_assert(!lw_bool(proc, "exited"), "delayed is still running");
	stack = json_object_array_get_idx(lw_get(proc, "stacks"), 0);
	cr_assert(json_object_get_double(lw_get(stack, "oldest_age_ms")) >= 1000,
		  "late_leak is older than 1000 ms, oldest_age_ms says %s",
		  json_object_to_json_string(lw_get(stack, "oldest_age_ms")));
	delayed_finish(target);
}

/* SIGTERM ends the trace too; --older-than hides stacks younger than that. */
LW_TEST(attach, sigterm_and_older_than_hides_young)
{
	const char *out;
	const char *const extra[] = { "--older-than", "600000", NULL };
	struct lw_proc *target, *lw;
	json_object *proc;

	lw_require_bpf();
	out = lw_tmp("delayed.json");
	target = lw_start_target("delayed", NULL);
	lw = attach(lw_fmt("%d", (int)target->pid), out, extra);
	delayed_leak(target);
	lw_signal(lw, SIGTERM);

	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch after SIGTERM.\nstderr:\n%s",
		     lw_tail(&lw->err));
	proc = report_for(out, target);
	cr_assert_eq(json_object_array_length(lw_get(proc, "stacks")), 0,
		     "no stack is 10 minutes old.\n%s", lw_describe(proc));
	lw_expect_totals(proc, LATE_BYTES, LATE_BLOCKS);
	delayed_finish(target);
}

static void expect_exit_leak(json_object *proc, int code)
{
	const char *const only[] = { "exit_leak", NULL };

	lw_expect_function(proc, "exit_leak", EXIT_BYTES, EXIT_BLOCKS);
	lw_expect_only(proc, only);
	lw_expect_totals(proc, EXIT_BYTES, EXIT_BLOCKS);
	lw_expect_exited(proc, code);
}

/* The process leaks and exits at once: the leak and the exit both count. */
LW_TEST(attach, exiter_exits_mid_trace)
{
	const char *out;
	struct lw_proc *target, *lw;

	lw_require_bpf();
	out = lw_tmp("exiter.json");
	target = lw_start_target("exiter", NULL);
	lw = attach(lw_fmt("%d", (int)target->pid), out, NULL);
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0, "exiter's exit status");

	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch ends when exiter exits.\nstderr:\n%s",
		     lw_tail(&lw->err));
	expect_exit_leak(report_for(out, target), 0);
}

/* -p A,B: both traced; the trace ends when the last one exits. */
LW_TEST(attach, two_pids)
{
	const char *const three[] = { "3", NULL };
	const char *out;
	struct lw_proc *a, *b, *lw;
	json_object *report;

	lw_require_bpf();
	out = lw_tmp("two.json");
	a = lw_start_target("exiter", NULL);
	b = lw_start_target("exiter", three);
	lw = attach(lw_fmt("%d,%d", (int)a->pid, (int)b->pid), out, NULL);
	lw_signal(a, SIGUSR1);
	cr_assert_eq(lw_wait_exit(a), 0, "first exiter's exit status");
	/* One exited, one to go: leakwatch keeps tracing. */
	usleep(300 * 1000);
	cr_assert(lw->running, "leakwatch ended while pid %d was still running.\nstderr:\n%s",
		  (int)b->pid, lw_tail(&lw->err));
	lw_signal(b, SIGUSR1);
	cr_assert_eq(lw_wait_exit(b), 3, "second exiter's exit status");

	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch.\nstderr:\n%s", lw_tail(&lw->err));
	report = lw_report(out);
	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 2, "two processes");
	expect_exit_leak(report_for(out, a), 0);
	expect_exit_leak(report_for(out, b), 3);
}

/* A pid that does not exist is a tracing error that names the pid. */
LW_TEST(attach, missing_pid)
{
	const char *args[] = { "-p", NULL, "-f", "json", "-o", NULL, NULL };
	struct lw_proc *lw;
	int status;
	pid_t pid;

	lw_require_bpf();
	args[5] = lw_tmp("none.json");
	/* A pid that existed a moment ago: pids are handed out in order. */
	pid = fork();
	cr_assert(pid >= 0, "fork");
	if (pid == 0)
		_exit(0);
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid");
	cr_assert(kill(pid, 0) != 0, "pid %d was reused already", (int)pid);
	args[1] = lw_fmt("%d", (int)pid);

	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 1, "leakwatch -p %d (no such process) exits 1, not %d.\n"
		     "stderr:\n%s", (int)pid, lw->exit_code, lw_tail(&lw->err));
	cr_assert(lw->err.data && lw_text_has_number(lw->err.data, pid),
		  "the error message names pid %d:\n%s", (int)pid, lw_tail(&lw->err));
}

/* dlplugin.so's leaks: tests/fixtures/dlplugin.c. */
static const struct {
	const char *function;
	const char *kind;
	int64_t bytes;
	int64_t allocs;
} plugin_truth[] = {
	{ "plugin_leak_mmap", "mmap", 12288, 1 },
	{ "plugin_leak_malloc", "heap", 3702, 3 },
	{ "plugin_leak_calloc", "heap", 1110, 2 },
};

#define NR_PLUGIN (sizeof(plugin_truth) / sizeof(plugin_truth[0]))
#define PLUGIN_BYTES 17100
#define PLUGIN_BLOCKS 6

/* A frame's string field, or "(null)" when it is null (unknown). */
static const char *frame_str(json_object *frame, const char *key)
{
	json_object *v = lw_get(frame, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "(null)";
}

static bool is_plugin_function(const char *fn)
{
	for (size_t i = 0; i < NR_PLUGIN; i++)
		if (!strcmp(plugin_truth[i].function, fn))
			return true;
	return false;
}

/*
 * Each of the plugin's leaks: exact bytes and blocks in one stack of its
 * kind, whose frames[0] names the function, its source file and its module,
 * dlplugin.so (mapped after the attach), and frames[1] its caller in the
 * executable.
 */
static void expect_plugin_leaks(json_object *proc)
{
	for (size_t i = 0; i < NR_PLUGIN; i++) {
		const char *fn = plugin_truth[i].function;
		json_object *stack, *frames, *f0, *f1;

		lw_expect_function(proc, fn, plugin_truth[i].bytes, plugin_truth[i].allocs);
		stack = lw_stack_of(proc, fn);
		cr_assert_str_eq(lw_str(stack, "kind"), plugin_truth[i].kind, "%s: kind", fn);
		frames = lw_get(stack, "frames");
		cr_assert(json_object_array_length(frames) >= 2, "%s: only one frame", fn);
		f0 = json_object_array_get_idx(frames, 0);
		f1 = json_object_array_get_idx(frames, 1);
		cr_assert(lw_ends_with(frame_str(f0, "module"), "/dlplugin.so"),
			  "%s: frames[0].module is %s", fn, frame_str(f0, "module"));
		cr_assert(lw_ends_with(frame_str(f0, "file"), "dlplugin.c") &&
			  lw_int(f0, "line") > 0, "%s: frames[0] has no dlplugin.c:line: %s", fn,
			  json_object_to_json_string(f0));
		cr_assert(!strcmp(frame_str(f1, "function"), "call_plugin") &&
			  lw_ends_with(frame_str(f1, "module"), "/dlopener"),
			  "%s: frames[1] should be call_plugin in dlopener: %s", fn,
			  json_object_to_json_string(f1));
	}
	lw_expect_absent(proc, "plugin_churn");
}

/*
 * Every other leak stack is dlopen()'s own: blocks ld.so allocated for the
 * library and keeps while it is loaded (frames[0] in ld.so).  Their sizes
 * depend on the library's path, so they are taken as they come; the totals
 * must be the plugin's leaks plus exactly these.  The library's own
 * mappings are the loader's, not leaks.
 */
static void expect_only_plugin_and_loader(json_object *proc)
{
	json_object *stacks = lw_get(proc, "stacks");
	struct lw_sum ld = { 0, 0, 0 };
	bool mapped = false;

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i), *f0;
		const char *module, *base;

		if (!strcmp(lw_str(s, "kind"), "loader") && lw_has(s, "file") &&
		    json_object_is_type(lw_get(s, "file"), json_type_string) &&
		    lw_ends_with(lw_str(s, "file"), "/dlplugin.so"))
			mapped = true;
		if (!lw_is_leak_stack(s) || is_plugin_function(lw_top_function(s)))
			continue;
		f0 = json_object_array_get_idx(lw_get(s, "frames"), 0);
		module = f0 ? frame_str(f0, "module") : "(no frames)";
		base = strrchr(module, '/') ? strrchr(module, '/') + 1 : module;
		cr_assert(!strcmp(lw_str(s, "kind"), "heap") && !strncmp(base, "ld-", 3),
			  "unexpected %s stack from %s in %s: neither the plugin's nor ld.so's.\n%s",
			  lw_str(s, "kind"), lw_top_function(s), module, lw_describe(proc));
		ld.bytes += lw_int(s, "bytes");
		ld.allocs += lw_int(s, "allocs");
		ld.stacks++;
	}
	cr_assert(ld.stacks > 0, "dlopen() keeps the library's link map, allocated in ld.so, "
		  "but no stack is ld.so's.\n%s", lw_describe(proc));
	lw_expect_totals(proc, PLUGIN_BYTES + ld.bytes, PLUGIN_BLOCKS + ld.allocs);
	cr_assert(mapped, "no loader stack maps dlplugin.so.\n%s", lw_describe(proc));
}

/*
 * A library dlopen()ed after the attach, by a process that exits right
 * after leaking from it: its leaks are named in a module that was not
 * mapped when tracing began (leakwatch holds the process at its next
 * allocation after code is mapped, and reads its maps then).
 */
LW_TEST(attach, dlopen_after_attach)
{
	const char *out;
	struct lw_proc *target, *lw;
	json_object *proc;

	lw_require_bpf();
	out = lw_tmp("dlopener.json");
	target = lw_start_target("dlopener", NULL);
	lw = attach(lw_fmt("%d", (int)target->pid), out, NULL);
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0, "dlopener's exit status.\nstderr:\n%s",
		     lw_tail(&target->err));
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch ends when dlopener exits.\nstderr:\n%s",
		     lw_tail(&lw->err));
	proc = report_for(out, target);
	expect_plugin_leaks(proc);
	expect_only_plugin_and_loader(proc);
	lw_expect_exited(proc, 0);
}

/* The same under `leakwatch -- dlopener now`, from its first instruction. */
LW_TEST(attach, dlopen_in_command)
{
	const char *const command[] = { "dlopener", "now", NULL };
	json_object *proc;

	lw_require_bpf();
	proc = lw_only_process(lw_trace("dlopener.json", NULL, command, NULL, 0, NULL),
			       "dlopener");
	expect_plugin_leaks(proc);
	expect_only_plugin_and_loader(proc);
	lw_expect_exited(proc, 0);
	cr_assert_eq(lw_int(proc, "unknown_frees"), 0,
		     "traced from its first instruction, dlopener frees nothing unseen.\n%s",
		     lw_describe(proc));
}

/*
 * Ctrl-C while a process is held: dlopener reloads its plugin hundreds of
 * times a second, and leakwatch stops it at each load until it has looked
 * at the new code.  When leakwatch ends, the target must be left running.
 */
LW_TEST(attach, interrupted_while_holding)
{
	const char *const reload[] = { "reload", "600000", NULL };
	const char *out;
	struct lw_proc *target, *lw;

	lw_require_bpf();
	out = lw_tmp("reload.json");
	target = lw_start_target("dlopener", reload);
	lw = attach(lw_fmt("%d", (int)target->pid), out, NULL);
	usleep(500 * 1000);
	lw_signal(lw, SIGINT);
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch's status after SIGINT.\nstderr:\n%s",
		     lw_tail(&lw->err));
	lw_expect_not_stopped(target);
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0, "dlopener's exit status.\nstderr:\n%s",
		     lw_tail(&target->err));
	cr_assert(!lw_bool(report_for(out, target), "exited"),
		  "dlopener was still running when leakwatch stopped");
}

/*
 * -p on a process that allocates and frees without pause: the probes go
 * live one at a time while it runs, and no block may be handed out traced
 * and taken back untraced (a missed free, and a false leak).  Blocks
 * allocated before the attach and freed after are unknown frees, which
 * lose nothing.  Each attach lands at another moment: several of them,
 * every other one with the perf-event probes, whose entry and return
 * probes go live apart (the only ones before 6.13).
 */
LW_TEST(attach, while_churning)
{
	const char *const until[] = { "until", NULL };
	const char *const legacy[] = { "--legacy-uprobes", NULL };

	lw_require_bpf();
	for (int i = 0; i < CHURN_ATTACHES; i++) {
		const char *out = lw_tmp(lw_fmt("churn%d.json", i));
		struct lw_proc *target, *lw;
		json_object *proc, *heap;

		target = lw_start_target("churn", until);
		lw = attach(lw_fmt("%d", (int)target->pid), out, i % 2 ? legacy : NULL);
		/* churn on with every probe live, then its drain and last leak */
		usleep(200 * 1000);
		lw_signal(target, SIGUSR1);
		cr_assert_eq(lw_wait_exit(target), 0, "churn's exit status.\nstderr:\n%s",
			     lw_tail(&target->err));
		cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch ends when churn exits.\nstderr:\n%s",
			     lw_tail(&lw->err));
		proc = report_for(out, target);
		lw_expect_exited(proc, 0);
		/* a thread whose probes lost count of its calls would miss it */
		lw_expect_function(proc, "churn_last_leak", CHURN_LAST_BYTES, 1);
		/* mappings glibc made for a malloc not yet probed are the
		 * program's own to leakwatch: only the heap is exact */
		heap = lw_get(lw_get(proc, "kinds"), "heap");
		cr_assert(lw_int(heap, "bytes") == CHURN_LAST_BYTES && lw_int(heap, "allocs") == 1,
			  "attach %d of %d: only churn_last_leak's block is left on the heap.\n%s",
			  i + 1, CHURN_ATTACHES, lw_describe(proc));
	}
}
