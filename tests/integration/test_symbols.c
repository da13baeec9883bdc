// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Naming the code of real programs: plugins reloaded at the same address,
 * a binary deleted and replaced before the attach, JIT code described by a
 * perf map, frame-pointer walks that run into junk, and binaries stripped
 * as distributions ship them, their symbols found through .gnu_debuglink,
 * MiniDebugInfo, .dynsym and a debuginfod server on loopback.
 *
 * Ground truth: tests/fixtures/{reloader,reload_plugin,delayed,jitter,
 * junkframes,stripped}.c.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static json_object *frame_at(json_object *stack, size_t i)
{
	json_object *frames = lw_get(stack, "frames");

	cr_assert(json_object_array_length(frames) > i, "a stack with %zu frames, not %zu: %s",
		  json_object_array_length(frames), i + 1, json_object_to_json_string(stack));
	return json_object_array_get_idx(frames, i);
}

/* A frame's string field, or "(null)" when it is null (unknown). */
static const char *frame_str(json_object *frame, const char *key)
{
	json_object *v = lw_get(frame, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "(null)";
}

/* The stack whose frames[0] is fn holds bytes in allocs blocks, and
 * frames[0] is in the module whose path ends in module. */
static json_object *expect_leak_in(json_object *proc, const char *fn, int64_t bytes,
				   int64_t allocs, const char *module)
{
	json_object *stack, *f0;

	lw_expect_function(proc, fn, bytes, allocs);
	stack = lw_stack_of(proc, fn);
	f0 = frame_at(stack, 0);
	cr_assert(lw_ends_with(frame_str(f0, "module"), module), "%s: frames[0].module is %s, not %s",
		  fn, frame_str(f0, "module"), module);
	return stack;
}

/*
 * A plugin unloaded and another one loaded at the same address (hot
 * reload): the first plugin's leak is named after the first plugin's code,
 * the code that was there when it was allocated.  At its return address,
 * reload_two.so has other code: its plugin_two_leak, at another offset.
 */
LW_TEST(symbols, plugin_reloaded_at_same_address)
{
	const char *const command[] = { "reloader", "now", NULL };
	json_object *proc;

	lw_require_bpf();
	proc = lw_only_process(lw_trace("reload.json", NULL, command, NULL, 0, NULL), "reloader");
	lw_expect_exited(proc, 0);
	expect_leak_in(proc, "plugin_one_leak", 3000, 3, "/reload_one.so");
	expect_leak_in(proc, "plugin_two_leak", 4000, 2, "/reload_two.so");
}

/*
 * -p on a process whose binary was deleted and replaced by another file
 * since it started (a deploy): its code is named from the file it maps.
 */
LW_TEST(symbols, deleted_and_replaced_binary)
{
	const char *copy, *out, *args[8];
	struct lw_proc *target, *lw;
	json_object *report, *proc, *f0;
	const char *argv[2];
	size_t n = 0;

	lw_require_bpf();
	copy = lw_tmp("delayed");
	out = lw_tmp("deleted.json");
	cr_assert_eq(system(lw_fmt("cp '%s' '%s'", lw_fixture("delayed"), copy)), 0);
	argv[0] = copy;
	argv[1] = NULL;
	target = lw_spawn(argv, NULL);
	cr_assert_eq(atol(lw_next_line(target)), (long)target->pid, "delayed's pid line");
	cr_assert_eq(unlink(copy), 0);
	cr_assert_eq(system(lw_fmt("cp /bin/true '%s'", copy)), 0);

	args[n++] = "-p";
	args[n++] = lw_fmt("%d", (int)target->pid);
	args[n++] = "-f";
	args[n++] = "json";
	args[n++] = "-o";
	args[n++] = out;
	args[n] = NULL;
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	lw_signal(target, SIGUSR1);
	cr_assert_str_eq(lw_next_line(target), "leaked", "delayed's second line");
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0, "delayed's exit status");
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch's exit status.\nstderr:\n%s", lw_tail(&lw->err));

	report = lw_report(out);
	lw_expect_no_loss(report);
	proc = lw_process_by_pid(report, target->pid);
	cr_assert(proc, "no process with pid %d in the report", (int)target->pid);
	f0 = frame_at(expect_leak_in(proc, "late_leak", 15554, 2, copy), 0);
	cr_assert(lw_ends_with(frame_str(f0, "file"), "/delayed.c") && lw_int(f0, "line") > 0,
		  "late_leak without its source line: %s", json_object_to_json_string(f0));
	lw_expect_totals(proc, 15554, 2);
}

/*
 * JIT code: generated into an anonymous mapping and described in
 * /tmp/perf-PID.map, which leakwatch reads (here after the exit, as for a
 * JVM that writes it at exit).
 */
LW_TEST(symbols, jit_code_named_from_perf_map)
{
	const char *const command[] = { "jitter", NULL };
	const char *const fns[] = { "jit_leak_small", "jit_leak_large", NULL };
	json_object *proc;
	const char *map;

	lw_require_bpf();
	proc = lw_only_process(lw_trace("jit.json", NULL, command, NULL, 0, NULL), "jitter");
	map = lw_fmt("/tmp/perf-%d.map", (int)lw_int(proc, "pid"));
	unlink(map);
	lw_expect_exited(proc, 0);
	for (size_t i = 0; fns[i]; i++) {
		json_object *stack = expect_leak_in(proc, fns[i], i ? 6000 : 400, i ? 2 : 4,
						    "[jit]");

		cr_assert_str_eq(frame_str(frame_at(stack, 1), "function"), "run_jit",
				 "%s: frames[1]", fns[i]);
		cr_assert(!json_object_is_type(lw_get(frame_at(stack, 0), "module_offset"),
					       json_type_string),
			  "JIT code is in no file: no module_offset");
	}
}

/*
 * The same in a container: its own mount and pid namespaces, its /tmp a
 * tmpfs of its own.  The perf map is /tmp/perf-1.map there, named with
 * the pid the process has in its namespace, and readable only through
 * /proc/PID/root while the process lives: jitter waits until leakwatch's
 * periodic report has named its code.
 */
LW_TEST(symbols, jit_code_in_a_container)
{
	const char *out = lw_tmp("jitns.json"), *go = lw_tmp("go");
	const char *script = lw_fmt("mount --bind %s /mnt && mount -t tmpfs lw-jit /tmp && "
				    "cp %s /tmp/jitter && exec /tmp/jitter wait /mnt/go",
				    lw_tmp(""), lw_fixture("jitter"));
	const char *const args[] = { "-i", "1", "-f", "json", "-o", out, "--",
				     "/usr/bin/unshare", "--mount", "--pid", "--fork",
				     "--propagation", "private", "/bin/sh", "-c", script, NULL };
	json_object *proc;
	struct lw_proc *lw;

	lw_require_bpf();
	cr_assert(access("/usr/bin/unshare", X_OK) == 0, "unshare (util-linux) is missing");
	lw = lw_leakwatch_start(args, NULL);
	/* a periodic report names the JIT function: it was read from the
	 * container's /tmp while the process lived */
	while (!strstr(lw_next_line(lw), "\"jit_leak_large\""))
		;
	cr_assert_eq(close(open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch's exit status.\nstderr:\n%s",
		     lw_tail(&lw->err));
	cr_assert(access("/tmp/perf-1.map", F_OK) != 0 ||
		  access(lw_fmt("/proc/%d", 1), F_OK) == 0,
		  "the container's perf map must not be visible here");
	proc = lw_only_process(lw_report(out), "jitter");
	lw_expect_exited(proc, 0);
	expect_leak_in(proc, "jit_leak_small", 400, 4, "[jit]");
	expect_leak_in(proc, "jit_leak_large", 6000, 2, "[jit]");
}

/*
 * One leak site whose frame-pointer chain runs into junk that differs at
 * each call (ASCII text, a return address into the stack, zero): one
 * stack, ending at the last frame that is code, marked truncated.
 */
LW_TEST(symbols, junk_frames_end_the_stack)
{
	const char *const command[] = { "junkframes", NULL };
	json_object *proc, *stack, *frames;

	lw_require_bpf();
	proc = lw_only_process(lw_trace("junk.json", NULL, command, NULL, 0, NULL), "junkframes");
	lw_expect_exited(proc, 0);
	stack = expect_leak_in(proc, "junk_leak", 1200, 12, "/junkframes");
	frames = lw_get(stack, "frames");
	cr_assert_eq(json_object_array_length(frames), 2,
		     "junk_leak's stack should be junk_leak, via_junk and nothing else: %s",
		     json_object_to_json_string(stack));
	cr_assert_str_eq(frame_str(frame_at(stack, 1), "function"), "via_junk");
	cr_assert(lw_bool(stack, "truncated"), "junk_leak's stack is not marked truncated");
}

/* The lines of the stripped fixture's allocations (tests/fixtures/stripped.c,
 * @LEAK_A and @LEAK_B). */
#define LEAK_A_LINE 30
#define LEAK_B_LINE 40

/* The stripped fixture's two leaks, named; with their source lines when
 * with_lines (the DWARF was found), else without any. */
static void expect_stripped(json_object *proc, const char *module, bool with_lines)
{
	static const struct {
		const char *fn;
		int64_t bytes, allocs;
		int line;
	} truth[] = {
		{ "strip_leak_a", 900, 3, LEAK_A_LINE },
		{ "strip_leak_b", 140, 2, LEAK_B_LINE },
	};

	lw_expect_exited(proc, 0);
	for (size_t i = 0; i < sizeof(truth) / sizeof(truth[0]); i++) {
		json_object *f0 = frame_at(expect_leak_in(proc, truth[i].fn, truth[i].bytes,
							  truth[i].allocs, module), 0);

		if (with_lines)
			cr_assert(lw_ends_with(frame_str(f0, "file"), "/stripped.c") &&
				  lw_int(f0, "line") == truth[i].line,
				  "%s: want stripped.c:%d, got %s", truth[i].fn, truth[i].line,
				  json_object_to_json_string(f0));
		else
			cr_assert(!strcmp(frame_str(f0, "file"), "(null)"),
				  "%s: a file without DWARF: %s", truth[i].fn,
				  json_object_to_json_string(f0));
		cr_assert(json_object_is_type(lw_get(f0, "build_id"), json_type_string),
			  "%s: no build_id", truth[i].fn);
	}
	lw_expect_totals(proc, 1040, 5);
}

static json_object *trace_stripped(const char *variant, const char *const *env)
{
	const char *name = lw_fmt("strip-%s", variant);
	const char *const command[] = { name, NULL };

	return lw_only_process(lw_trace(lw_fmt("%s.json", name), NULL, command, env, 0, NULL),
			       name);
}

LW_TEST(symbols, stripped_debuglink)
{
	lw_require_bpf();
	expect_stripped(trace_stripped("debuglink", NULL), "/strip-debuglink", true);
}

LW_TEST(symbols, stripped_minidebuginfo)
{
	lw_require_bpf();
	expect_stripped(trace_stripped("mini", NULL), "/strip-mini", false);
}

LW_TEST(symbols, stripped_dynsym)
{
	lw_require_bpf();
	expect_stripped(trace_stripped("dynsym", NULL), "/strip-dynsym", false);
}

/*
 * A stripped binary with no debug file on the machine: its DWARF comes from
 * a debuginfod server (Debian's, on loopback, serving the fixture's split
 * debug file) named in DEBUGINFOD_URLS.
 */
LW_TEST(symbols, stripped_debuginfod)
{
	const char *dir = lw_fixture("debuginfod"), *bare = lw_fixture("strip-bare");
	const char *url = NULL, *env[3];
	struct lw_proc *server = NULL;
	int64_t deadline;

	lw_require_bpf();
	if (access("/usr/bin/debuginfod", X_OK) || access("/usr/bin/debuginfod-find", X_OK))
		lw_cannot_run("Debian's debuginfod is not installed (apt-get install debuginfod)");
	lw_loopback_up();
	/* a port of its own: tests of other trees may run at the same time */
	for (int attempt = 0; attempt < 5 && !url; attempt++) {
		int port = 20000 + (getpid() * 7 + attempt * 811) % 20000;
		const char *argv[] = { "/usr/bin/debuginfod", "-F", "-p", lw_fmt("%d", port),
				       "-d", lw_tmp(lw_fmt("db%d.sqlite", attempt)), "-t", "0",
				       "-g", "0", dir, NULL };
		const char *probe_env[] = {
			lw_fmt("DEBUGINFOD_URLS=http://127.0.0.1:%d", port),
			lw_fmt("DEBUGINFOD_CACHE_PATH=%s", lw_tmp(lw_fmt("probe%d", attempt))),
			NULL,
		};

		server = lw_spawn(argv, NULL);
		/* ready when it serves the file: it scans the directory first */
		deadline = lw_now_ms() + 30000;
		while (!lw_pid_exited(server->pid) && lw_now_ms() < deadline) {
			const char *find[] = { "/usr/bin/debuginfod-find", "debuginfo", bare, NULL };
			struct lw_proc *probe = lw_spawn(find, probe_env);

			if (lw_wait_exit(probe) == 0) {
				url = probe_env[0] + strlen("DEBUGINFOD_URLS=");
				break;
			}
			/* a failed lookup is cached: each try has its own cache */
			probe_env[1] = lw_fmt("DEBUGINFOD_CACHE_PATH=%s",
					      lw_tmp(lw_fmt("probe%d-%" PRId64, attempt,
							    lw_now_ms())));
			usleep(200 * 1000);
		}
		if (!url && !lw_pid_exited(server->pid))
			lw_signal(server, SIGTERM);
	}
	cr_assert(url, "the debuginfod server did not serve %s's debug file.\nstderr:\n%s", bare,
		  server ? lw_tail(&server->err) : "");
	env[0] = lw_fmt("DEBUGINFOD_URLS=%s", url);
	env[1] = lw_fmt("DEBUGINFOD_CACHE_PATH=%s", lw_tmp("cache"));
	env[2] = NULL;
	expect_stripped(trace_stripped("bare", env), "/strip-bare", true);
	lw_signal(server, SIGTERM);
}

/* The one leak stack of proc with a frame named fn; fails if none or
 * several.  *at: that frame's index. */
static json_object *stack_through(json_object *proc, const char *fn, size_t *at)
{
	json_object *stacks = lw_get(proc, "stacks"), *found = NULL;

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);
		json_object *frames = lw_get(s, "frames");

		if (!lw_is_leak_stack(s))
			continue;
		for (size_t k = 0; k < json_object_array_length(frames); k++) {
			if (strcmp(frame_str(json_object_array_get_idx(frames, k), "function"), fn))
				continue;
			cr_assert(!found, "two stacks go through %s.\n%s", fn, lw_describe(proc));
			found = s;
			*at = k;
			break;
		}
	}
	cr_assert(found, "no stack goes through %s.\n%s", fn, lw_describe(proc));
	return found;
}

/* Frame i of stack is fn at main.go:line (Go's file:line, the source
 * file's path as Go records it). */
static void expect_go_frame(json_object *stack, size_t i, const char *fn, int line)
{
	json_object *f = frame_at(stack, i);

	cr_assert(!strcmp(frame_str(f, "function"), fn) &&
		  lw_ends_with(frame_str(f, "file"), "/main.go") && lw_int(f, "line") == line,
		  "frames[%zu]: want %s at main.go:%d, got %s", i, fn, line,
		  json_object_to_json_string(f));
}

/* Lines of the Go fixtures' markers (tests/fixtures/go/{symframes,symcgo}). */
#define SYMFRAMES_MMAP_LINE 21
#define SYMFRAMES_CALL_LINE 30
#define SYMCGO_CGO_LINE 28
#define SYMCGO_CALL_LINE 34

/*
 * A pure Go program (static, raw syscalls): its mapping's Go frames with
 * the file:line Go records.  Its report is taken as it comes: how leakwatch
 * treats a binary without libc is not this test's concern.
 */
LW_TEST(symbols, go_pure_frames)
{
	const char *out = lw_tmp("go.json");
	const char *args[] = { "-f", "json", "-o", out, "--", lw_fixture("go/symframes"), NULL };
	json_object *proc, *stack;
	struct lw_proc *lw;
	size_t at;

	lw_require_bpf();
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "leakwatch's exit status.\nstderr:\n%s", lw_tail(&lw->err));
	proc = lw_only_process(lw_report(out), "symframes");
	stack = stack_through(proc, "main.leakMmap", &at);
	cr_assert_str_eq(lw_str(stack, "kind"), "mmap");
	cr_assert(lw_int(stack, "bytes") == 196608 && lw_int(stack, "allocs") == 3,
		  "main.leakMmap: want 196608 bytes in 3 calls: %s",
		  json_object_to_json_string(stack));
	expect_go_frame(stack, at, "main.leakMmap", SYMFRAMES_MMAP_LINE);
	expect_go_frame(stack, at + 1, "main.main", SYMFRAMES_CALL_LINE);
}

/* cgo: a C helper's blocks, its Go callers with Go's file:line (not the
 * file:line of a C file of the cgo runtime). */
LW_TEST(symbols, go_cgo_frames)
{
	const char *command[] = { NULL, NULL };
	json_object *proc, *stack;
	size_t at;

	lw_require_bpf();
	command[0] = lw_fixture("go/symcgo");
	proc = lw_only_process(lw_trace("cgo.json", NULL, command, NULL, 0, NULL), "symcgo");
	lw_expect_exited(proc, 0);
	stack = stack_through(proc, "main.leak", &at);
	cr_assert(lw_int(stack, "bytes") == 5000 && lw_int(stack, "allocs") == 5,
		  "main.leak: want 5000 bytes in 5 blocks: %s", json_object_to_json_string(stack));
	expect_go_frame(stack, at, "main.leak", SYMCGO_CGO_LINE);
	expect_go_frame(stack, at + 1, "main.main", SYMCGO_CALL_LINE);
}
