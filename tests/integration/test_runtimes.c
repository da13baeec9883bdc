// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Real runtimes and the things they do to the allocator: Go (cgo and pure,
 * Debian's golang-go), a JVM (Debian's default-jdk-headless), threads whose
 * first allocator call is free, a signal handler that allocates inside
 * malloc and free, and clone(CLONE_VM).  Ground truth: each fixture's
 * comment (tests/fixtures/go/, tests/fixtures/java/, firstfree.c,
 * sighandler.c, clonevm.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define KIB 1024
#define MIB (1024 * 1024)

static json_object *kind(json_object *proc, const char *name)
{
	json_object *k = NULL;

	json_object_object_get_ex(lw_get(proc, "kinds"), name, &k);
	return k;
}

/* Whether a frame of stack is the function fn. */
static bool stack_has(json_object *stack, const char *fn)
{
	json_object *frames = lw_get(stack, "frames");

	for (size_t i = 0; i < json_object_array_length(frames); i++) {
		json_object *f = lw_get(json_object_array_get_idx(frames, i), "function");

		if (f && !strcmp(json_object_get_string(f), fn))
			return true;
	}
	return false;
}

/* Sum over the stacks of kind k that go through fn (any frame); reserved
 * bytes in *reserved when not NULL. */
static struct lw_sum sum_through(json_object *proc, const char *k, const char *fn,
				 int64_t *reserved)
{
	json_object *stacks = lw_get(proc, "stacks");
	struct lw_sum sum = { 0 };

	if (reserved)
		*reserved = 0;
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);

		if (strcmp(lw_str(s, "kind"), k) || !stack_has(s, fn))
			continue;
		sum.bytes += lw_int(s, "bytes");
		sum.allocs += lw_int(s, "allocs");
		sum.stacks++;
		if (reserved)
			*reserved += lw_int(s, "reserved_bytes");
	}
	return sum;
}

/* The first stack of a leak kind: the largest leak (stacks are listed
 * leaks first, by bytes). */
static json_object *largest_leak(json_object *proc)
{
	json_object *stacks = lw_get(proc, "stacks");

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);

		if (lw_is_leak_stack(s))
			return s;
	}
	cr_assert_fail("no leak stack.\n%s", lw_describe(proc));
	return NULL;
}

/*
 * Go calling C: 512 blocks of 4096 bytes leaked by the C helper are the
 * leak, plus a few KiB (glibc's thread blocks).  The runtime's arenas and
 * reservations are kind runtime; the arenas glibc makes inside the first
 * free of each thread cgo starts are the allocator's.
 */
LW_TEST(runtimes, go_cgo)
{
	const char *const command[] = { lw_fixture("go/cgoleak"), NULL };
	const char *const only[] = { "cgo_leak_block", "calloc", NULL };
	json_object *report, *proc, *k;
	struct lw_sum sum;
	int64_t reserved;

	lw_require_bpf();
	report = lw_trace("cgoleak.json", NULL, command, NULL, 0, NULL);
	proc = lw_only_process(report, "cgoleak");
	lw_expect_exited(proc, 0);
	lw_expect_function(proc, "cgo_leak_block", 512 * 4096, 512);
	cr_assert(stack_has(lw_stack_of(proc, "cgo_leak_block"), "main.leakBlocks"),
		  "cgo_leak_block's Go caller.\n%s", lw_describe(proc));
	/* the rest of the leak kinds: ld.so's thread blocks (calloc inlined
	 * in allocate_dtv), a few hundred bytes per thread */
	lw_expect_only(proc, only);
	cr_assert_null(kind(proc, "mmap"), "no mapping is a leak.\n%s", lw_describe(proc));
	cr_assert(lw_int(proc, "outstanding_bytes") >= 512 * 4096 &&
		  lw_int(proc, "outstanding_bytes") <= 512 * 4096 + 64 * KIB,
		  "outstanding: the C leak and the thread blocks, got %" PRId64 ".\n%s",
		  lw_int(proc, "outstanding_bytes"), lw_describe(proc));

	k = kind(proc, "runtime");
	cr_assert_not_null(k, "no runtime kind.\n%s", lw_describe(proc));
	cr_assert(!lw_bool(k, "leak"));
	cr_assert_gt(lw_int(k, "bytes"), 0);
	/* Go reserves hundreds of MiB of PROT_NONE address space */
	cr_assert_gt(lw_int(k, "reserved_bytes"), 256 * MIB);
	sum = sum_through(proc, "runtime", "runtime.sysReserve", &reserved);
	cr_assert(sum.allocs > 0 && reserved > 256 * MIB,
		  "runtime.sysReserve's reservations.\n%s", lw_describe(proc));

	/* every cgo thread's arena, made inside its first free (the first
	 * malloc of the main thread also goes through tcache_init) */
	sum = sum_through(proc, "allocator", "free", &reserved);
	cr_assert(sum.allocs >= 1, "free's arenas.\n%s", lw_describe(proc));
	cr_assert_eq((sum.bytes + reserved) % (64 * MIB), 0, "whole 64 MiB arenas");
	cr_assert_gt(reserved, sum.bytes, "an arena is mostly reserved");
}

/*
 * Pure Go, static, without libc: heap probes do not apply (a note, not an
 * error); the mappings syscall.Mmap leaks are the leak, a PROT_NONE one is
 * reserved, not held.
 */
LW_TEST(runtimes, go_static)
{
	const char *const command[] = { lw_fixture("go/gommap"), NULL };
	json_object *report, *proc, *k;
	struct lw_proc *lw;
	struct lw_sum sum;
	int64_t reserved;

	lw_require_bpf();
	report = lw_trace("gommap.json", NULL, command, NULL, 0, &lw);
	cr_assert(strstr(lw->err.data ? lw->err.data : "", "static Go program"),
		  "stderr notes the static Go program.\n%s", lw_tail(&lw->err));
	cr_assert(!strstr(lw->err.data ? lw->err.data : "", "error"), "stderr:\n%s",
		  lw_tail(&lw->err));
	cr_assert_eq(lw_int(lw_get(report, "drops"), "processes_not_traced"), 0);
	proc = lw_only_process(report, "gommap");
	lw_expect_exited(proc, 0);

	sum = sum_through(proc, "mmap", "main.leakMappings", &reserved);
	cr_assert(sum.bytes == 6 * MIB && sum.allocs == 6 && reserved == 0,
		  "leakMappings: 6 MiB in 6 calls.\n%s", lw_describe(proc));
	sum = sum_through(proc, "mmap", "main.reserveOnly", &reserved);
	cr_assert(sum.bytes == 0 && sum.allocs == 1 && reserved == 8 * MIB,
		  "reserveOnly: 8 MiB reserved, nothing held.\n%s", lw_describe(proc));
	cr_assert_eq(sum_through(proc, "mmap", "main.churnMappings", NULL).allocs, 0);
	k = kind(proc, "mmap");
	cr_assert_not_null(k);
	cr_assert_eq(lw_int(k, "bytes"), 6 * MIB);
	cr_assert_eq(lw_int(k, "reserved_bytes"), 8 * MIB);
	cr_assert_eq(lw_int(proc, "outstanding_bytes"), 6 * MIB, "%s", lw_describe(proc));

	k = kind(proc, "runtime");
	cr_assert_not_null(k, "no runtime kind.\n%s", lw_describe(proc));
	cr_assert_gt(lw_int(k, "reserved_bytes"), 256 * MIB);
	cr_assert(!lw_bool(k, "leak"));
}

/*
 * Go binaries as distributions ship them: stripped, without .symtab.  The
 * runtime's functions are named from .gopclntab, so its mappings are still
 * kind runtime, and only syscall.Mmap's mappings count.
 */
static void expect_stripped_go(const char *fixture, const char *kind_name, int64_t min_bytes,
			       int64_t max_bytes)
{
	const char *stripped = lw_tmp(lw_fmt("%s.strip", fixture));
	const char *const command[] = { stripped, NULL };
	json_object *report, *proc, *k;

	lw_require_bpf();
	cr_assert_eq(system(lw_fmt("strip -o '%s' '%s'", stripped,
				   lw_fixture(lw_fmt("go/%s", fixture)))), 0, "strip failed");
	report = lw_trace("stripped.json", NULL, command, NULL, 0, NULL);
	proc = lw_only_process(report, lw_fmt("%s.strip", fixture));
	lw_expect_exited(proc, 0);
	k = kind(proc, kind_name);
	cr_assert(k && lw_int(k, "bytes") >= min_bytes && lw_int(k, "bytes") <= max_bytes,
		  "%s: %" PRId64 " bytes.\n%s", kind_name, k ? lw_int(k, "bytes") : -1,
		  lw_describe(proc));
	k = kind(proc, "runtime");
	cr_assert(k && lw_int(k, "reserved_bytes") > 256 * MIB, "no runtime kind.\n%s",
		  lw_describe(proc));
	if (strcmp(kind_name, "mmap"))
		cr_assert_null(kind(proc, "mmap"), "no mapping is a leak.\n%s", lw_describe(proc));
}

LW_TEST(runtimes, go_static_stripped)
{
	expect_stripped_go("gommap", "mmap", 6 * MIB, 6 * MIB);
}

LW_TEST(runtimes, go_cgo_stripped)
{
	/* the C leak and glibc's thread blocks, as in go_cgo */
	expect_stripped_go("cgoleak", "heap", 512 * 4096, 512 * 4096 + 64 * KIB);
}

/*
 * Threads whose first allocator call is free: the arena glibc makes inside
 * it is the allocator's, never a leak; at their exit glibc empties their
 * caches, which are counted apart from unknown frees.
 */
LW_TEST(runtimes, first_call_free)
{
	const char *const command[] = { "firstfree", NULL };
	json_object *report, *proc;
	struct lw_sum sum;
	int64_t reserved;

	lw_require_bpf();
	report = lw_trace("firstfree.json", NULL, command, NULL, 0, NULL);
	proc = lw_only_process(report, "firstfree");
	lw_expect_exited(proc, 0);
	lw_expect_function(proc, "consumer_leak", 800, 8);
	lw_expect_absent(proc, "producer");
	lw_expect_totals(proc, 800, 8);
	cr_assert_null(kind(proc, "mmap"), "no mapping is a leak.\n%s", lw_describe(proc));
	/* one arena per thread, all alive at once, made in free (the main
	 * thread's first malloc also goes through tcache_init) */
	sum = sum_through(proc, "allocator", "free", &reserved);
	cr_assert(sum.allocs == 8 && sum.bytes + reserved == 8 * 64 * MIB,
		  "8 arenas of 64 MiB made in free.\n%s", lw_describe(proc));
	/* each thread's cache held the block it freed, and is freed itself */
	cr_assert_eq(lw_int(proc, "thread_cache_frees"), 16);
	cr_assert_eq(lw_int(proc, "unknown_frees"), 0);
}

/* Every block a signal handler allocates and frees while the main loop is
 * inside malloc or free counts; nothing is lost. */
static void expect_signal_handler(const char *const *extra)
{
	const char *const command[] = { "sighandler", "1000", NULL };
	json_object *report, *proc;

	lw_require_bpf();
	report = lw_trace("sighandler.json", extra, command, NULL, 0, NULL);
	proc = lw_only_process(report, "sighandler");
	lw_expect_exited(proc, 0);
	lw_expect_function(proc, "handler_leak", 500 * 200, 500);
	lw_expect_absent(proc, "main_churn");
	lw_expect_totals(proc, 500 * 200, 500);
	cr_assert_eq(lw_int(proc, "unknown_frees"), 0);
}

LW_TEST(runtimes, signal_handler)
{
	expect_signal_handler(NULL);
}

LW_TEST(runtimes, signal_handler_legacy_uprobes)
{
	const char *const extra[] = { "--legacy-uprobes", NULL };

	expect_signal_handler(extra);
}

/* clone(CLONE_VM): one address space, one ledger: the blocks the child
 * allocates and the parent frees match, and the other way round. */
static void expect_clone_vm(const char *const *extra)
{
	const char *const command[] = { "clonevm", NULL };
	json_object *report, *parent, *child;

	lw_require_bpf();
	report = lw_trace("clonevm.json", extra, command, NULL, 0, NULL);
	cr_assert_eq(lw_count_comm(report, "clonevm"), 2);
	parent = lw_process_by_comm(report, "clonevm", 0);
	child = lw_process_by_comm(report, "clonevm", 1);
	lw_expect_exited(parent, 0);
	lw_expect_exited(child, 0);
	lw_expect_function(parent, "child_alloc", 16 * 256, 16);
	lw_expect_absent(parent, "parent_alloc");
	lw_expect_totals(parent, 16 * 256, 16);
	cr_assert_eq(lw_int(parent, "unknown_frees"), 0);
	cr_assert_eq(lw_int(child, "memory_of"), lw_int(parent, "pid"));
	lw_expect_totals(child, 0, 0);
	cr_assert_eq(lw_int(child, "unknown_frees"), 0);
}

LW_TEST(runtimes, clone_vm)
{
	expect_clone_vm(NULL);
}

/* The perf-event probes run for every task of the address space: each
 * process's own only count. */
LW_TEST(runtimes, clone_vm_legacy_uprobes)
{
	const char *const extra[] = { "--legacy-uprobes", NULL };

	expect_clone_vm(extra);
}

/*
 * A JVM leaking java.util.zip.Inflater native memory (Inflaters never
 * ended, kept reachable): zlib's inflate state, sizeof(struct
 * inflate_state) = 7160 bytes in Debian 12's zlib 1.2.13, one per
 * Inflater, from inflateInit2_ in libz, and the 112-byte z_stream that
 * Inflater.init callocs in the JDK's libzip.  HotSpot's own mappings (Java
 * heap, metaspace, code cache) are kind runtime.
 *
 * With frame pointers the stack ended in zlib, which has none; walked
 * with CFI, every inflate state's stack names its caller in the JDK,
 * Java_java_util_zip_Inflater_init (the Java frames above it differ as
 * the JIT compiles the loop, so there are several such stacks).
 */
#define INFLATERS 1000

LW_TEST(runtimes, jvm_inflater)
{
	const char *java = "/usr/bin/java", *out = lw_tmp("jvm.json");
	const char *const args[] = { "-f", "json", "-o", out, "--", java, "-Xmx32m",
				     "-XX:+UseSerialGC", "-cp", lw_fixture("java"), "InflaterLeak",
				     "1000", NULL };
	json_object *report, *proc, *top, *f, *k, *stacks;
	struct lw_proc *lw;
	struct lw_sum sum;
	int code;

	lw_require_bpf();
	if (access(java, X_OK))
		lw_cannot_run("no JVM: /usr/bin/java (Debian's default-jdk-headless)");
	/* a JVM starts in seconds here, in minutes under the kernel matrix's
	 * software emulation */
	lw = lw_leakwatch_start(args, NULL);
	code = lw_wait_exit_within(lw, 200 * 1000);
	cr_assert_eq(code, 0, "leakwatch exited with %d.\nstderr:\n%s", code, lw_tail(&lw->err));
	report = lw_report(out);
	lw_expect_no_loss(report);
	proc = lw_only_process(report, "java");
	lw_expect_exited(proc, 0);

	sum = lw_sum_function(proc, "inflateInit2_");
	cr_assert(sum.bytes == INFLATERS * 7160 && sum.allocs == INFLATERS,
		  "inflateInit2_: %d inflate states of 7160 bytes, got %" PRId64 " bytes in %"
		  PRId64 " blocks.\n%s", INFLATERS, sum.bytes, sum.allocs, lw_describe(proc));
	sum = lw_sum_function(proc, "Java_java_util_zip_Inflater_init");
	cr_assert(sum.bytes == INFLATERS * 112 && sum.allocs == INFLATERS,
		  "Inflater.init: %d z_streams of 112 bytes.\n%s", INFLATERS, lw_describe(proc));

	/* the largest leak stack is the inflate states', allocated in libz */
	top = largest_leak(proc);
	f = json_object_array_get_idx(lw_get(top, "frames"), 0);
	cr_assert_str_eq(lw_str(f, "function"), "inflateInit2_", "%s", lw_describe(proc));
	cr_assert(strstr(lw_str(f, "module"), "/libz.so."), "module %s", lw_str(f, "module"));

	stacks = lw_get(proc, "stacks");
	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i), *fr = lw_get(s, "frames");

		if (strcmp(lw_top_function(s), "inflateInit2_"))
			continue;
		f = json_object_array_get_idx(fr, 1);
		cr_assert(f && lw_has(f, "function") &&
			  !strcmp(json_object_get_string(lw_get(f, "function")),
				  "Java_java_util_zip_Inflater_init"),
			  "inflateInit2_'s caller.\n%s", lw_describe(proc));
	}

	k = kind(proc, "runtime");
	cr_assert_not_null(k, "HotSpot's mappings are kind runtime.\n%s", lw_describe(proc));
	cr_assert(!lw_bool(k, "leak"));
	cr_assert_gt(lw_int(k, "bytes"), 0);
}
