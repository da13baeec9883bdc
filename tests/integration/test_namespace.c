// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process in another mount namespace, as in a container: its executable
 * lives on a tmpfs mounted only in its namespace, so the path it was run
 * from does not exist for leakwatch.  Its frames must still resolve, through
 * /proc/PID/root, and name the module by the path the process sees.
 * Ground truth: tests/fixtures/args.c (`args 3 777` leaks 3 x 777 bytes
 * from leak_from_args).
 */
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* leakwatch -f json -o OUT -- unshare --mount ... sh -c SCRIPT; the args
 * process the script execs, named by the path it sees: INNER. */
static void trace_in_namespace(const char *script, const char *inner)
{
	const char *out = lw_tmp("report.json");
	const char *const args[] = { "-f", "json", "-o", out, "--", "/usr/bin/unshare",
				     "--mount", "--propagation", "private", "/bin/sh", "-c",
				     script, NULL };
	const char *const only[] = { "leak_from_args", NULL };
	json_object *report, *proc, *stack, *frame;
	struct lw_proc *lw;

	cr_assert(access("/usr/bin/unshare", X_OK) == 0, "unshare (util-linux) is missing");
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "leakwatch exited with %d.\nstderr:\n%s", lw->exit_code,
		     lw_tail(&lw->err));
	/* the test means something only if the binary is not visible here */
	cr_assert(access(inner, F_OK) != 0, "%s is visible outside the namespace", inner);

	report = lw_report(out);
	lw_expect_no_loss(report);
	proc = lw_only_process(report, "args");
	lw_expect_function(proc, "leak_from_args", 3 * 777, 3);
	lw_expect_only(proc, only);
	lw_expect_exited(proc, 0);

	stack = json_object_array_get_idx(lw_get(proc, "stacks"), 0);
	frame = json_object_array_get_idx(lw_get(stack, "frames"), 0);
	cr_assert_str_eq(lw_str(frame, "module"), inner,
			 "the module is named as the process sees it");
	cr_assert(lw_ends_with(lw_str(frame, "file"), "args.c"),
		  "source file of leak_from_args: %s", lw_str(frame, "file"));
	cr_assert_gt(lw_int(frame, "line"), 0, "a line number for leak_from_args");
}

LW_TEST(namespace, binary_only_inside_the_mount_namespace)
{
	const char *dir = lw_tmp("ns-root");
	const char *inner = lw_fmt("%s/args", dir);

	lw_require_bpf();
	trace_in_namespace(lw_fmt("mkdir -p %s && mount -t tmpfs lw-test %s && cp %s %s && "
				  "exec %s 3 777", dir, dir, lw_fixture("args"), inner, inner),
			   inner);
}

/*
 * The same, chrooted inside its namespace (as RootDirectory= or a chroot
 * in a container does): /proc shows its files, and its root, under a path
 * that leakwatch cannot reach, which is not the path the process sees.
 * The new root is a copy of ours, so its libraries are there.
 */
LW_TEST(namespace, chrooted_inside_the_mount_namespace)
{
	const char *dir = lw_tmp("inner");
	const char *root = lw_tmp("root");
	const char *inner = lw_fmt("%s/args", dir);

	lw_require_bpf();
	cr_assert(access("/usr/sbin/chroot", X_OK) == 0, "chroot (coreutils) is missing");
	trace_in_namespace(lw_fmt("mkdir -p %s %s && mount --rbind / %s && "
				  "mount -t tmpfs lw-test %s%s && cp %s %s%s && "
				  "exec /usr/sbin/chroot %s %s 3 777", dir, root, root, root, dir,
				  lw_fixture("args"), root, inner, root, inner),
			   inner);
}
