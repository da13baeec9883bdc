// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mmap, munmap, mremap, brk and mprotect through each kernel hook this kernel has:
 * exact interval semantics, the caller of libc's wrapper named, raw
 * syscalls counted, and the allocator's own mappings, thread stacks and
 * the loader's libraries kept out of the leak totals.  Ground truth:
 * tests/fixtures/mappings.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define PG 4096

static const struct {
	const char *function;
	const char *kind;
	int64_t bytes, allocs;
} truth[] = {
	{ "map_keep", "mmap", 3 * PG, 1 },
	{ "map_file", "mmap", 2 * PG, 1 },
	{ "map_punch", "mmap", 6 * PG, 1 },
	{ "map_fixed_base", "mmap", 2 * PG, 1 },
	{ "map_fixed_over", "mmap", 2 * PG, 1 },
	{ "remap_grow_origin", "mmap", 2 * PG, 1 },
	{ "remap_grow", "mmap", 4 * PG, 1 },
	{ "remap_shrink", "mmap", PG, 1 },
	{ "remap_move_origin", "mmap", 2 * PG, 1 },
	{ "span_a", "mmap", PG, 1 },
	{ "span_c", "mmap", 0, 1 },	/* PROT_NONE: reserved, not held */
	{ "raw_syscall_mmap", "mmap", 5 * PG, 1 },
	{ "raw_asm_mmap", "mmap", 7 * PG, 1 },
	{ "raw_nofp_mmap", "mmap", 3 * PG, 1 },
	{ "brk_grow", "brk", 2 * PG, 1 },
	{ "big_block", "heap", 1 << 20, 1 },
	{ "thread_leak", "heap", 2000, 2 },
};

#define MMAP_BYTES (40 * PG)
#define MMAP_CALLS 14

static json_object *kind(json_object *proc, const char *name)
{
	json_object *k = NULL;

	json_object_object_get_ex(lw_get(proc, "kinds"), name, &k);
	return k;
}

/* The allocator's mapping made inside a malloc that fn called: fn is the
 * frame right after libc's.  While malloc runs, its return address is the
 * kernel's uretprobe trampoline (a "[uprobes]" frame in fn's place); the
 * walk takes the address the kernel keeps for it. */
static void expect_malloc_called_from(json_object *proc, const char *fn)
{
	json_object *stacks = lw_get(proc, "stacks");

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);
		json_object *frames = lw_get(s, "frames");

		if (strcmp(lw_str(s, "kind"), "allocator"))
			continue;
		for (size_t j = 1; j < json_object_array_length(frames); j++) {
			json_object *f = json_object_array_get_idx(frames, j);
			json_object *callee = json_object_array_get_idx(frames, j - 1);
			const char *mod;

			if (!lw_has(f, "function") || !json_object_get_string(lw_get(f, "function")) ||
			    strcmp(lw_str(f, "function"), fn))
				continue;
			mod = json_object_get_string(lw_get(callee, "module"));
			cr_assert(mod && strstr(mod, "/libc.so.6"),
				  "%s: the frame before it is not libc's malloc.\n%s", fn,
				  lw_describe(proc));
			return;
		}
	}
	cr_assert_fail("%s: no allocator mapping made in a malloc it called.\n%s", fn,
		       lw_describe(proc));
}

/* hook: the report's mapping_hooks, or NULL for any. */
static void expect_mappings(const char *const *extra, const char *hook)
{
	const char *data = strdup(lw_tmp("mappings.data"));
	const char *const command[] = { "mappings", data, NULL };
	json_object *report, *proc, *k, *s;
	int64_t heap;

	report = lw_trace("mappings.json", extra, command, NULL, 0, NULL);
	lw_expect_no_loss(report);
	if (hook)
		cr_assert_str_eq(lw_str(report, "mapping_hooks"), hook);
	proc = lw_only_process(report, "mappings");
	for (size_t i = 0; i < sizeof(truth) / sizeof(truth[0]); i++) {
		lw_expect_function(proc, truth[i].function, truth[i].bytes, truth[i].allocs);
		s = lw_stack_of(proc, truth[i].function);
		cr_assert_str_eq(lw_str(s, "kind"), truth[i].kind, "%s: kind", truth[i].function);
	}
	/* moved away, replaced, unmapped or churned: nothing left */
	lw_expect_absent(proc, "remap_move");
	lw_expect_absent(proc, "span_b");
	lw_expect_absent(proc, "span_unmap");
	lw_expect_absent(proc, "churn_maps");
	/* the wrapper is never the allocating frame */
	lw_expect_absent(proc, "__GI___mmap64");
	lw_expect_absent(proc, "__sbrk");
	lw_expect_absent(proc, "syscall");

	/* the caller of the caller is there too: the kernel's walk goes on */
	s = lw_stack_of(proc, "map_keep");
	cr_assert_str_eq(lw_str(json_object_array_get_idx(lw_get(s, "frames"), 1), "function"),
			 "main", "map_keep's caller");
	cr_assert_str_eq(lw_str(lw_stack_of(proc, "map_file"), "file"), data);
	cr_expect_eq(lw_int(lw_stack_of(proc, "span_c"), "reserved_bytes"), PG);
	cr_expect_eq(lw_int(lw_stack_of(proc, "span_a"), "reserved_bytes"), 0);

	/* per kind: exactly the fixture's mappings are leaks */
	k = kind(proc, "mmap");
	cr_assert_not_null(k, "no mmap kind.\n%s", lw_describe(proc));
	cr_expect_eq(lw_int(k, "bytes"), MMAP_BYTES);
	cr_expect_eq(lw_int(k, "allocs"), MMAP_CALLS);
	cr_expect(lw_bool(k, "leak"));
	k = kind(proc, "brk");
	cr_assert_not_null(k);
	cr_expect_eq(lw_int(k, "bytes"), 2 * PG);
	heap = lw_int(kind(proc, "heap"), "bytes");
	cr_expect_eq(lw_int(proc, "outstanding_bytes"), heap + MMAP_BYTES + 2 * PG,
		     "leak totals are heap + mmap + brk");

	/* malloc's own mappings: the big block's (1 MiB + a page of header,
	 * rounded) and at least one thread arena of 64 MiB, most of which
	 * glibc keeps PROT_NONE until it needs it; never a leak */
	k = kind(proc, "allocator");
	cr_assert_not_null(k);
	cr_expect_geq(lw_int(k, "bytes"), (1 << 20) + PG);
	cr_expect_geq(lw_int(k, "bytes") + lw_int(k, "reserved_bytes"),
		      (1 << 20) + PG + (64 << 20));
	cr_expect_geq(lw_int(k, "reserved_bytes"), 32 << 20);
	cr_expect(!lw_bool(k, "leak"));
	expect_malloc_called_from(proc, "big_block");
	expect_malloc_called_from(proc, "thread_leak");
	/* two threads: two stacks of 8 MiB, and a guard page each that
	 * glibc mprotects to PROT_NONE: reserved, not memory */
	k = kind(proc, "thread_stack");
	cr_assert_not_null(k);
	cr_expect_eq(lw_int(k, "allocs"), 2);
	cr_expect_eq(lw_int(k, "bytes"), 2 * (8 << 20));
	cr_expect_eq(lw_int(k, "reserved_bytes"), 2 * PG);
	cr_expect(!lw_bool(k, "leak"));
	/* ld.so mapped libc: the loader's, with the file named */
	k = kind(proc, "loader");
	cr_assert_not_null(k);
	cr_expect(!lw_bool(k, "leak"));
	lw_expect_exited(proc, 0);
}

/* Whether leakwatch takes --mapping-hooks HOOK on this kernel: it runs,
 * or it refuses with exit 1 and says why, naming the hook. */
static bool hook_taken(const char *hook)
{
	const char *const args[] = { "--mapping-hooks", hook, "-f", "json", "-o",
				     lw_tmp("probe.json"), "--", "/bin/true", NULL };
	struct lw_proc *lw = lw_leakwatch_run(args, NULL);

	if (lw->exit_code == 0)
		return true;
	cr_assert_eq(lw->exit_code, 1, "--mapping-hooks %s: exit %d\n%s", hook, lw->exit_code,
		     lw_tail(&lw->err));
	cr_assert(strstr(lw->err.data, lw_fmt("--mapping-hooks %s: ", hook)),
		  "--mapping-hooks %s refused without saying so:\n%s", hook, lw_tail(&lw->err));
	return false;
}

/*
 * The hooks a kernel must have.  The syscall tracepoints are everywhere;
 * kprobes exactly where the kprobe PMU is; fentry where the kernel matrix
 * says so (LW_EXPECT_MAP_HOOKS, set for Debian's kernels, which have
 * them all; this host's kernel refuses fentry).
 */
static bool hook_expected(const char *hook)
{
	const char *listed = getenv("LW_EXPECT_MAP_HOOKS");

	if (!strcmp(hook, "tracepoint"))
		return true;
	if (!strcmp(hook, "kprobe"))
		return !access("/sys/bus/event_source/devices/kprobe/type", F_OK);
	return listed && strstr(listed, hook);
}

/* Every hook gives the same exact truth; one the kernel lacks is
 * refused by name, never half-loaded. */
static void expect_hook(const char *hook)
{
	const char *const extra[] = { "--mapping-hooks", hook, NULL };
	bool taken;

	lw_require_bpf();
	taken = hook_taken(hook);
	if (hook_expected(hook))
		cr_assert(taken, "this kernel has %s, but leakwatch refused it", hook);
	else if (!strcmp(hook, "kprobe"))
		cr_assert(!taken, "no kprobe PMU, yet --mapping-hooks kprobe ran");
	if (taken)
		expect_mappings(extra, hook);
}

LW_TEST(mappings, fentry_hooks)
{
	expect_hook("fentry");
}

LW_TEST(mappings, kprobe_hooks)
{
	expect_hook("kprobe");
}

LW_TEST(mappings, tracepoint_hooks)
{
	expect_hook("tracepoint");
}

/* By default: fentry wherever it works, the tracepoints otherwise. */
LW_TEST(mappings, intervals_callers_and_kinds)
{
	lw_require_bpf();
	expect_mappings(NULL, hook_taken("fentry") ? "fentry" : "tracepoint");
}

/* The allocator kind comes from the thread's allocator state, which the
 * perf-event probes keep as well. */
LW_TEST(mappings, with_legacy_uprobes)
{
	const char *const extra[] = { "--legacy-uprobes", NULL };

	lw_require_bpf();
	expect_mappings(extra, NULL);
}

LW_TEST(mappings, no_mappings_option)
{
	const char *const extra[] = { "--no-mappings", NULL };
	const char *const command[] = { "mappings", lw_tmp("mappings.data"), NULL };
	json_object *report, *proc;

	lw_require_bpf();
	report = lw_trace("nomappings.json", extra, command, NULL, 0, NULL);
	cr_assert(json_object_is_type(lw_get(report, "mapping_hooks"), json_type_null));
	proc = lw_only_process(report, "mappings");
	lw_expect_function(proc, "big_block", 1 << 20, 1);
	lw_expect_absent(proc, "map_keep");
	cr_expect_null(kind(proc, "mmap"));
	cr_expect_eq(lw_int(proc, "outstanding_bytes"), lw_int(kind(proc, "heap"), "bytes"));
}
