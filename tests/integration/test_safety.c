// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leakwatch runs as root on machines it does not own: the files it writes
 * are created safely (planted symlinks are not followed), outputs that
 * cannot be written are refused before the command runs, a full disk keeps
 * the report (on stdout) and the command's status, leakwatch never traces
 * leakwatch, and -p names why a kernel thread or a zombie cannot be traced.
 * Ground truth: tests/fixtures/{args,delayed}.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static const char *get(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return lw_fmt("%s", buf);
}

static const char *text(const struct lw_buf *b)
{
	return b->data ? b->data : "";
}

/* Mounts made by this test vanish with it: a mount namespace of its own
 * (Criterion runs each test in a process of its own). */
static void private_mounts(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		lw_cannot_run(lw_fmt("no mount namespace of its own: %s", strerror(errno)));
}

static const char *tmpfs(const char *name, const char *opts, unsigned long flags)
{
	const char *dir = lw_tmp(name);

	cr_assert_eq(mkdir(dir, 0755), 0, "mkdir %s: %s", dir, strerror(errno));
	if (mount("tmpfs", dir, "tmpfs", flags, opts))
		lw_cannot_run(lw_fmt("cannot mount a tmpfs: %s", strerror(errno)));
	return dir;
}

/* Symlinks another user planted at -o's name and at the temporary names
 * leakwatch once used (FILE.tmp.PID, .FILE.tmp.PID: the pid is known to
 * whoever watches it start), pointing at a file someone wants clobbered:
 * root replaces the link at the name with its report, 0600, and the file
 * is untouched. */
LW_TEST(safety, output_symlink_not_followed)
{
	const char *victim = lw_tmp("victim"), *out = lw_tmp("report.json");
	/* the shell's pid is leakwatch's once it execs */
	const char *script = lw_fmt("ln -s %s %s.tmp.$$ && ln -s %s %s/.report.json.tmp.$$ && "
				    "chown -h 65534:65534 %s.tmp.$$ %s/.report.json.tmp.$$ && "
				    "exec %s -f json -o %s -- %s 1 100", victim, out, victim,
				    lw_tmp(""), out, lw_tmp(""), lw_leakwatch(), out,
				    lw_fixture("args"));
	const char *const argv[] = { "/bin/sh", "-c", script, NULL };
	struct lw_proc *lw;
	struct stat st;

	lw_require_bpf();
	put(victim, "precious");
	cr_assert_eq(symlink(victim, out), 0);
	/* planted by another user: a symlink root owns is followed */
	cr_assert_eq(lchown(out, 65534, 65534), 0, "lchown: %s", strerror(errno));
	/* a directory anyone may write to, as /tmp */
	cr_assert_eq(chmod(lw_tmp(""), 01777), 0);
	lw = lw_spawn(argv, NULL);
	lw_wait_exit(lw);
	cr_assert_eq(lw->exit_code, 0, "stderr:\n%s", lw_tail(&lw->err));
	cr_assert_str_eq(get(victim), "precious", "root wrote through a planted symlink");
	cr_assert_eq(lstat(out, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "the symlink was not replaced by the report");
	cr_assert_eq(st.st_mode & 07777, 0600, "report mode %o, expected 0600",
		     st.st_mode & 07777);
	lw_expect_totals(lw_only_process(lw_report(out), "args"), 100, 1);
}

/* -o (and --postmortem-dir) that cannot take the report: exit 2 before
 * the command runs, with the cause; no "ready". */
LW_TEST(safety, unwritable_output_refused_before_command)
{
	const char *marker = lw_tmp("command-ran"), *file = lw_tmp("file"), *sub = lw_tmp("sub");
	const char *ro;
	struct {
		const char *opt, *path, *why;
	} cases[] = {
		{ "-o", lw_tmp("missing/report.json"), "No such file or directory" },
		{ "-o", sub, "Is a directory" },
		{ "-o", lw_tmp("file/report.json"), "Not a directory" },
		{ "-o", NULL, "Read-only file system" },
		{ "--postmortem-dir", file, "Not a directory" },
		{ "--postmortem-dir", NULL, "Read-only file system" },
		/* a file mounted over the target: rename cannot replace it */
		{ "-o", NULL, "a mount point" },
	};
	const char *bound = lw_tmp("bound");

	lw_require_bpf();
	private_mounts();
	put(file, "x");
	cr_assert_eq(mkdir(sub, 0755), 0);
	ro = tmpfs("ro", "size=64k", MS_RDONLY);
	cases[3].path = lw_fmt("%s/report.json", ro);
	cases[5].path = ro;
	put(bound, "bound");
	if (mount(file, bound, NULL, MS_BIND, NULL))
		lw_cannot_run(lw_fmt("cannot bind-mount a file: %s", strerror(errno)));
	cases[6].path = bound;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *args[] = { cases[i].opt, cases[i].path, "--", "/bin/touch", marker,
				       NULL };
		struct lw_proc *lw = lw_leakwatch_run(args, NULL);

		cr_assert_eq(lw->exit_code, 2, "%s %s: exit %d, expected 2.\nstderr:\n%s",
			     cases[i].opt, cases[i].path, lw->exit_code, lw_tail(&lw->err));
		cr_assert(strstr(text(&lw->err), cases[i].why), "%s %s: the cause (%s) is not "
			  "named:\n%s", cases[i].opt, cases[i].path, cases[i].why,
			  lw_tail(&lw->err));
		cr_assert_null(strstr(text(&lw->err), "ready"), "%s %s: traced first:\n%s",
			       cases[i].opt, cases[i].path, lw_tail(&lw->err));
		cr_assert_neq(access(marker, F_OK), 0, "%s %s: the command ran", cases[i].opt,
			      cases[i].path);
	}
	umount2(ro, MNT_DETACH);
	umount2(bound, MNT_DETACH);
}

/* The disk fills while tracing: the report goes to stdout, the cause is
 * named (not "Input/output error"), the command's status is kept, and no
 * temporary file is left behind. */
LW_TEST(safety, full_disk_keeps_report_and_status)
{
	const char *full, *out;
	const char *const env[] = { "LW_TEST_EXIT=7", NULL };
	struct lw_proc *lw;
	char block[4096] = { 0 };
	FILE *f;

	lw_require_bpf();
	private_mounts();
	full = tmpfs("full", "size=64k", 0);
	out = lw_fmt("%s/report.txt", full);
	f = fopen(lw_fmt("%s/filler", full), "w");
	cr_assert_not_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	while (fwrite(block, 1, sizeof(block), f) == sizeof(block))
		;
	fclose(f);

	const char *args[] = { "-o", out, "--", lw_fixture("args"), "1", "100", NULL };
	lw = lw_leakwatch_run(args, env);
	cr_assert_eq(lw->exit_code, 7, "the command's status, not %d.\nstderr:\n%s",
		     lw->exit_code, lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), "No space left on device"), "ENOSPC not named:\n%s",
		  lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), "writing it to stdout instead"), "%s", lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->out), "leakwatch: 1 process, 100 B outstanding in 1 block;"),
		  "the report is not on stdout:\n%s", lw_tail(&lw->out));
	cr_assert_neq(access(out, F_OK), 0);
	/* the filler alone: no temporary file left */
	cr_assert_eq(system(lw_fmt("test $(ls -A %s | wc -l) = 1", full)), 0,
		     "files left in the full directory");
	umount2(full, MNT_DETACH);
}

/* leakwatch -p <itself>, and -p <another leakwatch>: refused, exit 1. */
LW_TEST(safety, never_traces_leakwatch)
{
	const char *const self[] = { "/bin/sh", "-c", lw_fmt("exec %s -p $$", lw_leakwatch()),
				     NULL };
	struct lw_proc *lw, *target, *other;

	lw_require_bpf();
	lw = lw_spawn(self, NULL);
	cr_assert_eq(lw_wait_exit(lw), 1, "leakwatch -p <itself>.\nstderr:\n%s",
		     lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), "leakwatch does not trace itself"), "%s",
		  lw_tail(&lw->err));

	target = lw_start_target("delayed", NULL);
	const char *args[] = { "-p", lw_fmt("%d", (int)target->pid), "-o", lw_tmp("r.txt"),
			       NULL };
	other = lw_leakwatch_start(args, NULL);
	lw_wait_ready(other);
	const char *again[] = { "-p", lw_fmt("%d", (int)other->pid), NULL };
	lw = lw_leakwatch_run(again, NULL);
	cr_assert_eq(lw->exit_code, 1, "leakwatch -p <another leakwatch>.\nstderr:\n%s",
		     lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), lw_fmt("process %d (leakwatch) is another leakwatch",
					      (int)other->pid)), "%s", lw_tail(&lw->err));
	lw_signal(other, SIGINT);
	cr_assert_eq(lw_wait_exit(other), 0, "%s", lw_tail(&other->err));
}

/* A traced shell that runs leakwatch: that process is let go untraced and
 * counted, what the shell runs next is traced as usual. */
LW_TEST(safety, followed_exec_of_leakwatch_is_skipped)
{
	const char *out = lw_tmp("report.json");
	const char *script = lw_fmt("%s --version; %s 1 100", lw_leakwatch(), lw_fixture("args"));
	const char *args[] = { "-f", "json", "-o", out, "--", "/bin/sh", "-c", script, NULL };
	json_object *report, *procs;
	struct lw_proc *lw;

	lw_require_bpf();
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "stderr:\n%s", lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->out), "leakwatch 0."), "the inner leakwatch ran:\n%s",
		  lw_tail(&lw->out));
	report = lw_report(out);
	cr_assert_eq(lw_int(lw_get(report, "drops"), "leakwatch_not_traced"), 1, "%s",
		     lw_tail(&lw->err));
	cr_assert_eq(lw_count_comm(report, "leakwatch"), 0, "leakwatch is in the report");
	procs = lw_get(report, "processes");
	for (size_t i = 0; i < json_object_array_length(procs); i++) {
		json_object *p = json_object_array_get_idx(procs, i);

		cr_assert(!strcmp(lw_str(p, "comm"), "sh") || !strcmp(lw_str(p, "comm"), "args"),
			  "unexpected process %s", lw_str(p, "comm"));
	}
	lw_expect_totals(lw_only_process(report, "args"), 100, 1);
}

/* -p of a kernel thread and of a zombie: the message names the cause. */
LW_TEST(safety, kernel_thread_and_zombie_named)
{
	const char *kthread[] = { "-p", "2", NULL };
	struct lw_proc *lw;
	char state = 0;
	pid_t pid;

	lw_require_bpf();
	lw = lw_leakwatch_run(kthread, NULL);
	cr_assert_eq(lw->exit_code, 1, "%s", lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), "process 2 (kthreadd) is a kernel thread"), "%s",
		  lw_tail(&lw->err));

	pid = fork();
	cr_assert(pid >= 0);
	if (!pid)
		_exit(0);
	/* not reaped: a zombie until this test waits for it */
	for (int i = 0; i < 1000 && (state = lw_proc_state(pid, NULL)) != 'Z'; i++)
		usleep(1000);
	cr_assert_eq(state, 'Z');
	const char *zombie[] = { "-p", lw_fmt("%d", (int)pid), NULL };
	lw = lw_leakwatch_run(zombie, NULL);
	cr_assert_eq(lw->exit_code, 1, "%s", lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), lw_fmt("process %d", (int)pid)) &&
		  strstr(text(&lw->err), "is a zombie"), "%s", lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), lw_fmt("process %d, has not reaped it", (int)getpid())),
		  "%s", lw_tail(&lw->err));
	waitpid(pid, NULL, 0);
}

/* -p P,P: one process, reported once. */
LW_TEST(safety, duplicate_pid_is_one_process)
{
	const char *out = lw_tmp("report.json");
	struct lw_proc *target, *lw;
	json_object *report;

	lw_require_bpf();
	target = lw_start_target("delayed", NULL);
	const char *args[] = { "-p", lw_fmt("%d,%d", (int)target->pid, (int)target->pid), "-f",
			       "json", "-o", out, NULL };
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	cr_assert(strstr(text(&lw->err), "tracing 1 process"), "%s", lw_tail(&lw->err));
	lw_signal(target, SIGUSR1);
	cr_assert_str_eq(lw_next_line(target), "leaked");
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
	report = lw_report(out);
	lw_expect_no_loss(report);
	cr_assert_eq(json_object_array_length(lw_get(report, "processes")), 1);
	lw_expect_totals(lw_process_by_pid(report, target->pid), 15554, 2);
}

/* -i with its reader gone: one message, tracing ends, the command goes
 * on and its status is leakwatch's. */
LW_TEST(safety, closed_stdout_stops_interval_reports)
{
	const char *args[] = { "-i", "0.1", "--", "/bin/sh", "-c", "sleep 1; exit 3", NULL };
	struct lw_proc *lw;
	const char *at, *msg = "stdout was closed";
	int n = 0;

	lw_require_bpf();
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	close(lw->out_fd);
	lw->out_fd = -1;
	cr_assert_eq(lw_wait_exit(lw), 3, "%s", lw_tail(&lw->err));
	for (at = text(&lw->err); (at = strstr(at, msg)); at++)
		n++;
	cr_assert_eq(n, 1, "%d messages about stdout, expected one:\n%s", n, lw_tail(&lw->err));
	cr_assert_null(strstr(text(&lw->err), "cannot write"), "%s", lw_tail(&lw->err));
}

/* A directory as the command: refused before anything is traced. */
LW_TEST(safety, directory_command_refused_before_ready)
{
	const char *args[] = { "--", "/tmp", NULL };
	struct lw_proc *lw;

	lw_require_bpf();
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 126, "%s", lw_tail(&lw->err));
	cr_assert(strstr(text(&lw->err), "cannot run /tmp: Is a directory"), "%s",
		  lw_tail(&lw->err));
	cr_assert_null(strstr(text(&lw->err), "ready"), "%s", lw_tail(&lw->err));
}

/* -o /dev/null and -o /dev/stdout: written in place; /dev/null stays the
 * device (a rename would have put a regular file there, for everyone). */
LW_TEST(safety, output_to_devices)
{
	const char *const to_null[] = { "-f", "json", "-o", "/dev/null", "--",
					lw_fixture("args"), "1", "100", NULL };
	const char *const to_stdout[] = { "-f", "json", "-o", "/dev/stdout", "--",
					  lw_fixture("args"), "1", "100", NULL };
	json_object *reports;
	struct lw_proc *lw;
	struct stat st;

	lw_require_bpf();
	lw = lw_leakwatch_run(to_null, NULL);
	cr_assert_eq(lw->exit_code, 0, "stderr:\n%s", lw_tail(&lw->err));
	cr_assert(!lstat("/dev/null", &st) && S_ISCHR(st.st_mode),
		  "/dev/null is no longer a device");
	lw = lw_leakwatch_run(to_stdout, NULL);
	cr_assert_eq(lw->exit_code, 0, "stderr:\n%s", lw_tail(&lw->err));
	cr_assert(!lstat("/dev/stdout", &st) && S_ISLNK(st.st_mode),
		  "/dev/stdout is no longer a symlink");
	reports = lw_json_stream(lw->out.data);
	cr_assert_eq(json_object_array_length(reports), 1, "one report on stdout:\n%s",
		     lw_tail(&lw->out));
	lw_expect_totals(lw_only_process(json_object_array_get_idx(reports, 0), "args"), 100, 1);
}
