// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Dynamic targets (user/session/targets.h): one session, driven through
 * tests/drivers/session_targets as a daemon drives it, starts and stops
 * tracing processes without ending.  Ground truth: tests/fixtures/delayed.c
 * (2 blocks of 7777 bytes leaked by late_leak once traced, 2 frees of
 * blocks allocated before).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define LATE_BYTES 15554
#define LATE_BLOCKS 2

struct driver {
	struct lw_proc *p;
	int fd;		/* the command FIFO */
};

static struct driver start_driver(const char *final)
{
	const char *fifo = lw_tmp("commands");
	const char *argv[] = { lw_driver("session_targets"), fifo, "-f", "json", "-o", final,
			       NULL };
	struct driver d;

	cr_assert_eq(mkfifo(fifo, 0600), 0, "mkfifo %s: %s", fifo, strerror(errno));
	d.p = lw_spawn(argv, NULL);
	lw_wait_ready(d.p);
	d.fd = open(fifo, O_WRONLY | O_CLOEXEC);
	cr_assert(d.fd >= 0, "open %s: %s", fifo, strerror(errno));
	return d;
}

/* One command; its answer must be expect. */
static void ask(struct driver *d, const char *cmd, const char *expect)
{
	const char *line = lw_fmt("%s\n", cmd);

	cr_assert_eq(write(d->fd, line, strlen(line)), (ssize_t)strlen(line));
	line = lw_next_line(d->p);
	cr_assert_str_eq(line, expect, "answer to \"%s\"\nstderr:\n%s", cmd, lw_tail(&d->p->err));
}

/* The target's report now, through the API: exactly delayed's late leak.
 * Sampled at sample (0: not), which keeps blocks at least that big and
 * reports no free of a block it did not keep. */
static void expect_report(struct driver *d, pid_t pid, const char *name, bool final,
			  int64_t sample)
{
	const char *out = lw_tmp(name);
	const char *const only[] = { "late_leak", NULL };
	json_object *report, *proc;

	ask(d, lw_fmt("report %d %s", (int)pid, out), lw_fmt("report %d", (int)pid));
	/* the schema of -f json: final once the target is stopped */
	if (final) {
		report = json_object_get(lw_report(out));
	} else {
		report = json_object_from_file(out);
		cr_assert(report, "%s does not parse", out);
		lw_check_report(report, false);
	}
	lw_expect_no_loss(report);
	cr_assert_eq(lw_int(lw_get(report, "summary"), "processes"), 1, "%s", name);
	proc = lw_process_by_pid(report, pid);
	cr_assert(proc, "no process %d in %s", (int)pid, name);
	cr_assert_str_eq(lw_str(proc, "comm"), "delayed");
	lw_expect_function(proc, "late_leak", LATE_BYTES, LATE_BLOCKS);
	lw_expect_only(proc, only);
	lw_expect_totals(proc, LATE_BYTES, LATE_BLOCKS);
	if (sample) {
		cr_assert_eq(lw_int(report, "sample_bytes"), sample);
		cr_assert(lw_bool(report, "estimated"));
	} else {
		cr_assert(!lw_has(report, "sample_bytes"));
	}
	cr_assert_eq(lw_int(proc, "unknown_frees"), sample ? 0 : 2, "%s", lw_describe(proc));
	json_object_put(report);
}

/* A delayed process traced from its leak to its report, then let go. */
static void trace_delayed(struct driver *d, struct lw_proc *target, const char *name,
			  int64_t sample)
{
	pid_t pid = target->pid;

	ask(d, lw_fmt("trace %d %" PRId64, (int)pid, sample), lw_fmt("traced %d", (int)pid));
	lw_signal(target, SIGUSR1);
	cr_assert_str_eq(lw_next_line(target), "leaked");
	expect_report(d, pid, lw_fmt("%s-live.json", name), false, sample);
	ask(d, lw_fmt("stop %d", (int)pid), lw_fmt("stopped %d", (int)pid));
	/* stopped: the same numbers, as the final report of -p would give */
	expect_report(d, pid, lw_fmt("%s-stopped.json", name), true, sample);
	ask(d, lw_fmt("free %d", (int)pid), lw_fmt("freed %d", (int)pid));
	ask(d, lw_fmt("report %d /dev/null", (int)pid), lw_fmt("error %d no-target", (int)pid));
	lw_expect_not_stopped(target);
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0, "delayed's exit status");
}

LW_TEST(targets, traced_twice_in_one_session)
{
	const char *final = lw_tmp("final.json");
	struct lw_proc *a, *b, *c;
	struct driver d;
	json_object *report;

	lw_require_bpf();
	d = start_driver(final);
	a = lw_start_target("delayed", NULL);
	/* traced and let go before it leaks: its probes come and go */
	ask(&d, lw_fmt("trace %d", (int)a->pid), lw_fmt("traced %d", (int)a->pid));
	ask(&d, lw_fmt("trace %d", (int)a->pid), lw_fmt("error %d EEXIST", (int)a->pid));
	ask(&d, lw_fmt("free %d", (int)a->pid), lw_fmt("freed %d", (int)a->pid));
	trace_delayed(&d, a, "first", 0);
	/* another process in the same session */
	b = lw_start_target("delayed", NULL);
	trace_delayed(&d, b, "second", 0);
	/* and one sampled at a rate of its own (the session's is none):
	 * late_leak's blocks of 7777 bytes are all kept at 4096 */
	c = lw_start_target("delayed", NULL);
	trace_delayed(&d, c, "sampled", 4096);
	ask(&d, "trace 0", "error 0 EINVAL");
	ask(&d, "quit", "bye");
	cr_assert_eq(lw_wait_exit(d.p), 0, "stderr:\n%s", lw_tail(&d.p->err));
	/* the session's own report: the targets were never its processes */
	report = lw_report(final);
	cr_assert_eq(lw_int(lw_get(report, "summary"), "processes"), 0);
	close(d.fd);
}
