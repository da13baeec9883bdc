// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --kernel: the kernel's own allocations, with exact ground truth from the
 * eventfds fixture (tests/fixtures/eventfds.c).  Each eventfd2() makes
 * do_eventfd() kmalloc one struct eventfd_ctx, and close() kfree()s it.
 * The bytes reported are those requested, sizeof(struct eventfd_ctx),
 * read here from the kernel's BTF as leakwatch's users would.
 *
 * The stack identified is the one whose frame after the allocator's is
 * do_eventfd: the other objects an eventfd costs (file, dentry, id) have
 * do_eventfd deeper in their stacks.  Tracing is system-wide, so another
 * process opening eventfds during the test would add to it; the tests run
 * one at a time on a machine otherwise idle.
 */
#include <bpf/btf.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "harness.h"

#define NR_FDS 64

/* Bytes of struct eventfd_ctx in the running kernel. */
static int64_t eventfd_ctx_size(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	__s32 id, size;

	cr_assert(btf, "cannot load the kernel's BTF");
	id = btf__find_by_name_kind(btf, "eventfd_ctx", BTF_KIND_STRUCT);
	cr_assert(id > 0, "no struct eventfd_ctx in the kernel's BTF");
	size = btf__resolve_size(btf, id);
	btf__free(btf);
	cr_assert(size > 0, "struct eventfd_ctx has no size");
	return size;
}

static const char *frame_fn(json_object *frames, size_t i)
{
	json_object *f = json_object_array_get_idx(frames, i), *fn;

	fn = f ? lw_get(f, "function") : NULL;
	return fn ? json_object_get_string(fn) : "(null)";
}

/* The stacks of the kernel whose frames[1] is do_eventfd. */
static struct lw_sum eventfd_stacks(json_object *kproc)
{
	json_object *stacks = lw_get(kproc, "stacks");
	struct lw_sum sum = { 0 };

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);
		json_object *frames = lw_get(s, "frames");

		if (json_object_array_length(frames) < 2 ||
		    strcmp(frame_fn(frames, 1), "do_eventfd"))
			continue;
		cr_assert_str_eq(lw_str(s, "kind"), "kernel");
		cr_assert_str_eq(lw_str(json_object_array_get_idx(frames, 1), "module"), "[kernel]");
		sum.bytes += lw_int(s, "bytes");
		sum.allocs += lw_int(s, "allocs");
		sum.stacks++;
	}
	return sum;
}

/* The pseudo-process, and no loss of any kernel record. */
static json_object *kernel_process(json_object *report)
{
	json_object *kproc = lw_process_by_pid(report, 0), *drops = lw_get(report, "drops");

	cr_assert(kproc, "no pid 0 in the report");
	cr_assert_str_eq(lw_str(kproc, "comm"), "[kernel]");
	cr_assert(!lw_bool(kproc, "exited"));
	cr_assert_eq(lw_int(report, "lost_events"), 0, "kernel records were lost");
	cr_assert_eq(lw_int(drops, "kernel_ringbuf_full_alloc"), 0);
	cr_assert_eq(lw_int(drops, "kernel_ringbuf_full_free"), 0);
	cr_assert_eq(lw_int(drops, "kernel_stack_unavailable"), 0);
	cr_assert_eq(lw_int(drops, "stack_fetch_failed"), 0);
	cr_assert_eq(lw_int(drops, "ledger_out_of_memory"), 0);
	return kproc;
}

static void expect_line(struct lw_proc *p, const char *want)
{
	const char *line = lw_next_line(p);

	cr_assert_str_eq(line, want, "eventfds said \"%s\", expected \"%s\"", line, want);
}

/* leakwatch --kernel ARGS... until SIGINT, around what fn does. */
static struct lw_proc *kernel_run(const char *const *args)
{
	struct lw_proc *lw = lw_leakwatch_start(args, NULL);

	lw_wait_ready(lw);
	return lw;
}

static void stop(struct lw_proc *lw)
{
	int code;

	lw_signal(lw, SIGINT);
	code = lw_wait_exit(lw);
	cr_assert_eq(code, 0, "leakwatch --kernel exited with %d:\n%s", code, lw_tail(&lw->err));
}

LW_TEST(kernel, eventfd_objects_exact)
{
	const char *const fx_args[] = { lw_fmt("%d", NR_FDS), NULL };
	const char *held = lw_tmp("held.json"), *closed = lw_tmp("closed.json");
	const char *const held_args[] = { "--kernel", "-f", "json", "-o", held, NULL };
	const char *const closed_args[] = { "--kernel", "-f", "json", "-o", closed, NULL };
	struct lw_proc *fx, *lw;
	json_object *kproc;
	struct lw_sum sum;
	int64_t size;

	lw_require_bpf();
	size = eventfd_ctx_size();
	fx = lw_start_target("eventfds", fx_args);

	/* opened while traced, still open at the report */
	lw = kernel_run(held_args);
	lw_signal(fx, SIGUSR1);
	expect_line(fx, lw_fmt("opened %d", NR_FDS));
	stop(lw);
	kproc = kernel_process(lw_report(held));
	sum = eventfd_stacks(kproc);
	cr_assert_eq(sum.stacks, 1, "one do_eventfd stack expected, %d found\n%s", sum.stacks,
		     lw_describe(kproc));
	cr_assert_eq(sum.allocs, NR_FDS, "do_eventfd holds %" PRId64 " objects, not %d\n%s",
		     sum.allocs, NR_FDS, lw_describe(kproc));
	cr_assert_eq(sum.bytes, NR_FDS * size,
		     "do_eventfd holds %" PRId64 " bytes, not %d x %" PRId64 " (requested)\n%s",
		     sum.bytes, NR_FDS, size, lw_describe(kproc));
	cr_assert(lw_int(kproc, "outstanding_bytes") >= sum.bytes);
	lw_signal(fx, SIGUSR2);
	expect_line(fx, lw_fmt("closed %d", NR_FDS));

	/* opened and closed while traced: the frees match, nothing is left */
	lw = kernel_run(closed_args);
	lw_signal(fx, SIGUSR1);
	expect_line(fx, lw_fmt("opened %d", NR_FDS));
	lw_signal(fx, SIGUSR2);
	expect_line(fx, lw_fmt("closed %d", NR_FDS));
	stop(lw);
	kproc = kernel_process(lw_report(closed));
	sum = eventfd_stacks(kproc);
	cr_assert_eq(sum.allocs, 0, "after close, do_eventfd still holds %" PRId64 " objects\n%s",
		     sum.allocs, lw_describe(kproc));
	cr_assert_eq(sum.bytes, 0);

	lw_signal(fx, SIGTERM);
	cr_assert_eq(lw_wait_exit(fx), 0);
}

/* The text report names the pseudo-process, the kind and the functions. */
LW_TEST(kernel, text_report)
{
	const char *const fx_args[] = { lw_fmt("%d", NR_FDS), NULL };
	const char *const args[] = { "--kernel", "-T", "100000", NULL };
	struct lw_proc *fx, *lw;
	const char *out;

	lw_require_bpf();
	fx = lw_start_target("eventfds", fx_args);
	lw = kernel_run(args);
	lw_signal(fx, SIGUSR1);
	expect_line(fx, lw_fmt("opened %d", NR_FDS));
	stop(lw);
	out = lw->out.data;
	cr_assert(strstr(out, "PID 0 ([kernel]) running: "), "no [kernel] entry:\n%s",
		  lw_tail(&lw->out));
	cr_assert(strstr(out, "  [kernel]\n"), "no stack of kind kernel:\n%s", lw_tail(&lw->out));
	cr_assert(strstr(out, "      do_eventfd+0x"), "no do_eventfd frame:\n%s",
		  lw_tail(&lw->out));
	cr_assert(lw_text_has_number(out, (int64_t)NR_FDS * eventfd_ctx_size()),
		  "no stack of %d x sizeof(struct eventfd_ctx) bytes", NR_FDS);
	lw_signal(fx, SIGTERM);
	cr_assert_eq(lw_wait_exit(fx), 0);
}

/* Combinations that cannot work are refused with the reason. */
LW_TEST(kernel, refused_combinations)
{
	static const char *const oom[] = { "--kernel", "--oom-only", "--postmortem-dir", "/tmp",
					   NULL };
	static const char *const sampled[] = { "--kernel", "-s", "4096", NULL };
	struct lw_proc *p;

	p = lw_leakwatch_run(oom, NULL);
	cr_assert_eq(p->exit_code, 2);
	cr_assert(strstr(p->err.data, "--kernel traces allocations and --oom-only traces none"),
		  "%s", p->err.data);
	p = lw_leakwatch_run(sampled, NULL);
	cr_assert_eq(p->exit_code, 2);
	cr_assert(strstr(p->err.data, "--kernel cannot be sampled"), "%s", p->err.data);
}
