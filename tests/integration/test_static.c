// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Statically linked executables: glibc's malloc is inside the executable,
 * so the probes go there, decided when the new image is held at exec
 * (before its first instruction).  A
 * stripped one cannot be traced: leakwatch says so and counts it.
 * Ground truth: tests/fixtures/alloc_static.c.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

LW_TEST(static_exe, launched_static_executable)
{
	const char *const command[] = { "alloc_static", NULL };
	json_object *report, *proc;

	lw_require_bpf();
	report = lw_trace("static.json", NULL, command, NULL, 0, NULL);
	proc = lw_only_process(report, "alloc_static");
	lw_expect_function(proc, "static_leak", 4321 + 300, 2);
	lw_expect_exited(proc, 0);
}

/* A static binary without symbols: an error naming the cause, the process
 * counted as not traced, the command's status kept. */
LW_TEST(static_exe, stripped_static_executable_is_reported)
{
	const char *stripped = lw_tmp("alloc_static-stripped");
	const char *out = lw_tmp("stripped.json");
	const char *const args[] = { "-f", "json", "-o", out, "--", stripped, NULL };
	struct lw_proc *lw;
	json_object *report;

	lw_require_bpf();
	cr_assert_eq(system(lw_fmt("strip -o '%s' '%s'", stripped, lw_fixture("alloc_static"))),
		     0, "strip failed");
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "the command's status, 0; got %d.\nstderr:\n%s",
		     lw->exit_code, lw_tail(&lw->err));
	cr_assert(strstr(lw->err.data ? lw->err.data : "", "no allocator found"),
		  "stderr names the cause.\nstderr:\n%s", lw_tail(&lw->err));
	report = lw_report(out);
	cr_assert_eq(lw_int(lw_get(report, "drops"), "processes_not_traced"), 1,
		     "the untraced process is counted");
}
