// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Other allocators: a process that maps jemalloc, tcmalloc or mimalloc,
 * by LD_PRELOAD or linked, gets probes on that library without any
 * option, and its blocks belong to the functions that asked for them, in
 * requested bytes.  The same fixture statically linked with musl takes
 * the static path; --allocator-prefix probes a je_-prefixed jemalloc
 * inside the executable.  Ground truth: tests/fixtures/otheralloc.c,
 * jemapi.c and jeprefixed.c.  The allocators, libstdc++ and ld.so keep
 * blocks of their own; the tests check the fixture's functions exactly,
 * that every block of the fixture's own code is one of them, and that no
 * block is attributed to an allocator entry point.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define LIBDIR "/usr/lib/x86_64-linux-gnu/"

struct truth {
	const char *function;
	int64_t bytes, allocs;
};

static const struct truth otheralloc_truth[] = {
	{ "leak_malloc", 3003, 3 },
	{ "leak_calloc", 2400, 2 },
	{ "leak_realloc_grow", 20000, 1 },
	{ "leak_posix_memalign", 2200, 1 },
	{ "leak_aligned_alloc", 2304, 1 },
	{ "leak_memalign", 2600, 1 },
	{ "leak_valloc", 2700, 1 },
	{ NULL, 0, 0 },
};
#define OTHERALLOC_BYTES 35207
#define OTHERALLOC_BLOCKS 10

static const char *const otheralloc_absent[] = { "grow_origin", "free_everything", "churn",
						 NULL };

static const struct truth jemapi_truth[] = {
	{ "leak_mallocx", 8000, 2 },
	{ "leak_xallocx", 18000, 1 },
	{ "leak_rallocx", 7000, 1 },
	{ "xallocx_fail_origin", 100, 1 },
	{ NULL, 0, 0 },
};
#define JEMAPI_BYTES 33100
#define JEMAPI_BLOCKS 5

static const char *const jemapi_absent[] = { "rallocx_origin", "xallocx_origin",
					     "free_everything", NULL };

/* Entry points of the allocators: never the allocating function. */
static const char *const entry_points[] = {
	"malloc", "calloc", "realloc", "free", "posix_memalign", "aligned_alloc", "memalign",
	"valloc", "pvalloc", "reallocarray", "mallocx", "rallocx", "xallocx", "tc_malloc",
	"tc_calloc", "tc_realloc", "tc_memalign", "tc_posix_memalign", "mi_malloc", "mi_calloc",
	"mi_realloc", "mi_malloc_aligned", "mi_posix_memalign", "mi_memalign", "mi_valloc",
	"mi_aligned_alloc", "mi_reallocarray", "mi_reallocn", NULL,
};

static void need_file(const char *path)
{
	if (access(path, R_OK))
		lw_cannot_run(lw_fmt("%s is missing: run tools/install-deps.sh", path));
}

/*
 * leakwatch EXTRA -f json -o FILE -- [env LD_PRELOAD=PRELOAD] FIXTURE and
 * the checks above; returns the fixture's process.
 */
static json_object *run(const char *fixture, const char *preload, const char *const *extra,
			const struct truth *truth, int64_t bytes, int64_t blocks,
			const char *const *absent)
{
	const char *command[4] = { fixture, NULL };
	json_object *report, *proc, *stacks;
	int64_t own_bytes = 0, own_blocks = 0;

	lw_require_bpf();
	if (preload) {
		/* the allocator is preloaded into the fixture's image only,
		 * which leakwatch sees at its exec */
		need_file(preload);
		command[0] = "/usr/bin/env";
		command[1] = lw_fmt("LD_PRELOAD=%s", preload);
		command[2] = lw_fixture(fixture);
	}
	report = lw_trace("report.json", extra, command, NULL, 0, NULL);
	proc = lw_only_process(report, fixture);
	lw_expect_exited(proc, 0);
	for (; truth->function; truth++)
		lw_expect_function(proc, truth->function, truth->bytes, truth->allocs);
	for (; *absent; absent++)
		lw_expect_absent(proc, *absent);
	for (const char *const *e = entry_points; *e; e++)
		lw_expect_absent(proc, *e);
	/* every block whose allocating frame is the fixture's own code is
	 * one of the truth's: nothing else was attributed to it */
	stacks = lw_get(proc, "stacks");
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);
		json_object *f0 = json_object_array_get_idx(lw_get(s, "frames"), 0);

		if (strcmp(lw_str(s, "kind"), "heap") || !f0 || !lw_has(f0, "module") ||
		    json_object_get_type(lw_get(f0, "module")) != json_type_string ||
		    !lw_ends_with(lw_str(f0, "module"), lw_fmt("/%s", fixture)))
			continue;
		own_bytes += lw_int(s, "bytes");
		own_blocks += lw_int(s, "allocs");
	}
	cr_assert_eq(own_bytes, bytes, "%" PRId64 " bytes from %s's code, expected %" PRId64
		     "\n%s", own_bytes, fixture, bytes, lw_describe(proc));
	cr_assert_eq(own_blocks, blocks, "%" PRId64 " blocks from %s's code, expected %" PRId64
		     "\n%s", own_blocks, fixture, blocks, lw_describe(proc));
	return proc;
}

static const char *const legacy[] = { "--legacy-uprobes", NULL };

static void otheralloc(const char *fixture, const char *preload, const char *const *extra)
{
	run(fixture, preload, extra, otheralloc_truth, OTHERALLOC_BYTES, OTHERALLOC_BLOCKS,
	    otheralloc_absent);
}

LW_TEST(allocators, jemalloc_preloaded)
{
	otheralloc("otheralloc", LIBDIR "libjemalloc.so.2", NULL);
}

LW_TEST(allocators, jemalloc_preloaded_legacy_uprobes)
{
	otheralloc("otheralloc", LIBDIR "libjemalloc.so.2", legacy);
}

LW_TEST(allocators, jemalloc_linked)
{
	otheralloc("otheralloc_je", NULL, NULL);
}

LW_TEST(allocators, jemalloc_linked_legacy_uprobes)
{
	otheralloc("otheralloc_je", NULL, legacy);
}

/* mallocx, rallocx, xallocx in place (success and failure), dallocx and
 * sdallocx */
LW_TEST(allocators, jemalloc_own_api)
{
	run("jemapi", NULL, NULL, jemapi_truth, JEMAPI_BYTES, JEMAPI_BLOCKS, jemapi_absent);
}

LW_TEST(allocators, jemalloc_own_api_legacy_uprobes)
{
	run("jemapi", NULL, legacy, jemapi_truth, JEMAPI_BYTES, JEMAPI_BLOCKS, jemapi_absent);
}

LW_TEST(allocators, tcmalloc_minimal_preloaded)
{
	otheralloc("otheralloc", LIBDIR "libtcmalloc_minimal.so.4", NULL);
}

LW_TEST(allocators, tcmalloc_minimal_preloaded_legacy_uprobes)
{
	otheralloc("otheralloc", LIBDIR "libtcmalloc_minimal.so.4", legacy);
}

/* the full tcmalloc, with its heap checker and profiler */
LW_TEST(allocators, tcmalloc_preloaded)
{
	otheralloc("otheralloc", LIBDIR "libtcmalloc.so.4", NULL);
}

LW_TEST(allocators, tcmalloc_linked)
{
	otheralloc("otheralloc_tc", NULL, NULL);
}

LW_TEST(allocators, tcmalloc_linked_legacy_uprobes)
{
	otheralloc("otheralloc_tc", NULL, legacy);
}

LW_TEST(allocators, mimalloc_preloaded)
{
	otheralloc("otheralloc", LIBDIR "libmimalloc.so.2", NULL);
}

LW_TEST(allocators, mimalloc_preloaded_legacy_uprobes)
{
	otheralloc("otheralloc", LIBDIR "libmimalloc.so.2", legacy);
}

LW_TEST(allocators, mimalloc_linked)
{
	otheralloc("otheralloc_mi", NULL, NULL);
}

LW_TEST(allocators, mimalloc_linked_legacy_uprobes)
{
	otheralloc("otheralloc_mi", NULL, legacy);
}

/* musl, statically linked: its malloc is in the executable (the static
 * path), and musl keeps no block of its own. */
LW_TEST(allocators, musl_static_executable)
{
	otheralloc("otheralloc_musl", NULL, NULL);
}

LW_TEST(allocators, musl_static_executable_legacy_uprobes)
{
	otheralloc("otheralloc_musl", NULL, legacy);
}

/* ---- --allocator-prefix: ground truth in tests/fixtures/jeprefixed.c ---- */

static const struct truth jeprefixed_truth[] = {
	{ "leak_je", 4621, 2 },
	{ "leak_je_realloc", 5555, 1 },
	{ "leak_je_mallocx", 6000, 1 },
	{ NULL, 0, 0 },
};
#define JEPREFIXED_BYTES 16176
#define JEPREFIXED_BLOCKS 4

static const char *const jeprefixed_absent[] = { "grow_origin", "free_everything", "je_malloc",
						 "je_calloc", "je_realloc", "je_mallocx", NULL };

LW_TEST(allocators, prefixed_api_in_the_executable)
{
	const char *const extra[] = { "--allocator-prefix", "je_", NULL };

	run("jeprefixed", NULL, extra, jeprefixed_truth, JEPREFIXED_BYTES, JEPREFIXED_BLOCKS,
	    jeprefixed_absent);
}

LW_TEST(allocators, prefixed_api_legacy_uprobes)
{
	const char *const extra[] = { "--allocator-prefix", "je_", "--legacy-uprobes", NULL };

	run("jeprefixed", NULL, extra, jeprefixed_truth, JEPREFIXED_BYTES, JEPREFIXED_BLOCKS,
	    jeprefixed_absent);
}

/* Without the option the je_ blocks are not the malloc family's: none is
 * seen, and the run is otherwise the same. */
LW_TEST(allocators, prefixed_api_needs_the_option)
{
	const char *const command[] = { "jeprefixed", NULL };
	json_object *proc;

	lw_require_bpf();
	proc = lw_only_process(lw_trace("plain.json", NULL, command, NULL, 0, NULL),
			       "jeprefixed");
	for (const struct truth *t = jeprefixed_truth; t->function; t++)
		lw_expect_absent(proc, t->function);
	lw_expect_exited(proc, 0);
}

/* A command whose files define no such names: a warning naming the
 * prefix, and the command traced as usual. */
LW_TEST(allocators, prefix_not_found_in_a_command)
{
	const char *const extra[] = { "--allocator-prefix", "zz_", NULL };
	const char *const command[] = { "otheralloc_je", NULL };
	struct lw_proc *lw;
	json_object *proc;

	lw_require_bpf();
	proc = lw_only_process(lw_trace("zz.json", extra, command, NULL, 0, &lw),
			       "otheralloc_je");
	cr_assert(strstr(lw->err.data ? lw->err.data : "", "defines zz_malloc and zz_free"),
		  "stderr names the missing functions.\nstderr:\n%s", lw_tail(&lw->err));
	lw_expect_function(proc, "leak_malloc", 3003, 3);
}

/* -p with a prefix that no file of the process defines: an error, exit 1. */
LW_TEST(allocators, prefix_not_found_with_pid_is_an_error)
{
	struct lw_proc *target, *lw;
	const char *args[8] = { "--allocator-prefix", "zz_", "-d", "5", "-p", NULL, NULL };

	lw_require_bpf();
	target = lw_start_target("delayed", NULL);
	args[5] = lw_fmt("%d", (int)target->pid);
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 1, "exit 1 expected, got %d.\nstderr:\n%s", lw->exit_code,
		     lw_tail(&lw->err));
	cr_assert(strstr(lw->err.data ? lw->err.data : "", "no file it maps defines zz_malloc"),
		  "stderr names the cause.\nstderr:\n%s", lw_tail(&lw->err));
	lw_signal(target, SIGKILL);
}
