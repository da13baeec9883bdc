// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --watch's selectors against a real suspect: tests/fixtures/leaker (1 MiB/s,
 * a process of the host, in no container) becomes a suspect whatever the
 * selectors, and is traced only when they let it.  --namespace '*' wants a
 * Kubernetes namespace, which the host's processes do not have (select.h);
 * --comm alone (its name, a link to the fixture of its own) lets it be
 * traced.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* leakwatch --watch with these selectors until the leaker is a suspect and
 * for 3 samples after: whether it traced the leaker. */
static bool traced_with(const char *const *selectors)
{
	/* a name of its own (comm is the name it is run by): other tests'
	 * leakers on a shared machine are neither selected nor awaited */
	const char *name = lw_fmt("lwsel%d", (int)getpid());
	const char *link = lw_tmp(name);
	const char *argv[] = { link, NULL };
	const char *args[16] = { "--watch", "--listen", "127.0.0.1:0", "--sample-interval", "1",
				 "--window", "8", "--comm", name };
	struct lw_proc *leaker, *lw;
	size_t n = 9;
	bool traced;

	if (access(link, F_OK))
		cr_assert_eq(symlink(lw_fixture("leaker"), link), 0, "symlink %s: %s", link,
			     strerror(errno));
	leaker = lw_spawn(argv, NULL);

	for (size_t i = 0; selectors[i]; i++)
		args[n++] = selectors[i];
	args[n] = NULL;
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	cr_assert(lw_wait_err(lw, lw_fmt("suspect: PID %d (%s)", (int)leaker->pid, name), 60000) >= 0,
		  "the leaker not a suspect within 60 s:\n%s", lw_tail(&lw->err));
	traced = lw_wait_err(lw, lw_fmt("tracing PID %d (%s)", (int)leaker->pid, name), 5000) >= 0;
	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
	lw_signal(leaker, SIGKILL);
	lw_wait_exit(leaker);
	return traced;
}

LW_TEST(selectors, a_host_process_is_in_no_namespace)
{
	lw_require_bpf();
	/* the control: selected by --comm alone, it is traced */
	cr_assert(traced_with((const char *[]){ NULL }), "the leaker was not traced");
	cr_assert_not(traced_with((const char *[]){ "--namespace", "*", NULL }),
		      "--namespace '*' traced a process of the host");
	cr_assert_not(traced_with((const char *[]){ "--container", "leaker", "--container", "x*",
						    NULL }),
		      "--container traced a process of the host");
}

LW_TEST(selectors, bad_globs_are_usage_errors)
{
	const char *bad[][4] = {
		{ "--watch", "--pod", "", NULL },
		{ "--watch", "--namespace", "shop\n", NULL },
		{ "--watch", "--container", "a\tb", NULL },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lw_proc *lw = lw_leakwatch_run(bad[i], NULL);

		cr_assert_eq(lw->exit_code, 2, "%s '%s': exit %d", bad[i][1], bad[i][2],
			     lw->exit_code);
		cr_assert(strstr(lw->err.data, lw_fmt("invalid %s '", bad[i][1])),
			  "no message naming %s: %s", bad[i][1], lw->err.data);
	}
}
