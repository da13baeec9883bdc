// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leakwatch --watch against real processes (each daemon serves HTTP on a
 * free port: another may hold the default one): a leaker at 1 MiB/s (built as
 * distributions build it, and with -g) is a suspect within 60 s with the
 * default detector, and its trace names leak_slowly with every block of
 * its window; a sawtooth, a warm-up plateau, a filling cache and a steady
 * process are never suspects; a trace ends at its window and leaves the
 * process running; a daemon SIGKILLed mid-trace leaves no process stopped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* The leaker's blocks: 64 KiB, 16 a second (1 MiB/s). */
#define BLOCK 65536
#define BLOCKS_PER_S 16

static struct lw_proc *spawn(const char *fixture, const char *arg)
{
	const char *argv[] = { lw_fixture(fixture), arg, NULL };

	return lw_spawn(argv, NULL);
}

/* The default --trace-seconds: the trace's -d, counted from its ready
 * line (its report's duration_s also has the attach before it). */
#define TRACE_SECONDS 10

/* The trace's report of the leaker: leak_slowly holds every block the
 * leaker made while traced (-s 65536 keeps each 64 KiB block).  The probes
 * are live for the trace's 10 s after its ready line, and at most for the
 * report's duration_s (which has the attach too: under software emulation
 * the ready line comes a few hundred ms after the probes): that many
 * blocks, give or take one at each edge. */
static void expect_leak_report(const char *path, pid_t pid)
{
	json_object *r = lw_report(path), *proc = lw_process_by_pid(r, pid);
	double secs = json_object_get_double(lw_get(r, "duration_s"));
	int64_t least = TRACE_SECONDS * BLOCKS_PER_S - 2;
	int64_t most = (int64_t)(secs * BLOCKS_PER_S) + 2;
	struct lw_sum s;

	cr_assert(proc, "%s has no process %d", path, (int)pid);
	cr_assert(lw_bool(r, "estimated"), "a trace of --watch is sampled");
	s = lw_sum_function(proc, "leak_slowly");
	cr_assert(s.allocs >= least && s.allocs <= most,
		  "leak_slowly: %lld blocks, expected %lld to %lld (%d s after ready, %.2f s "
		  "in all)\n%s",
		  (long long)s.allocs, (long long)least, (long long)most, TRACE_SECONDS, secs,
		  lw_describe(proc));
	cr_assert_eq(s.bytes, s.allocs * BLOCK, "leak_slowly: %lld bytes in %lld blocks",
		     (long long)s.bytes, (long long)s.allocs);
}

LW_TEST(watch, finds_the_leaker_and_no_other)
{
	const char *dir = lw_tmp("reports");
	struct lw_proc *leak_dist, *leak_g, *others[4], *lw;
	const char *shapes[] = { "sawtooth", "plateau", "cache", "steady" };
	int64_t t_dist, t_g, t0;

	lw_require_bpf();
	cr_assert_eq(mkdir(dir, 0700), 0);
	for (size_t i = 0; i < 4; i++)
		others[i] = spawn("memshape", shapes[i]);
	leak_dist = spawn("leaker-dist", NULL);
	leak_g = spawn("leaker", NULL);
	t0 = lw_now_ms();
	{
		/* only the leakers are traced: others may grow on a shared
		 * machine (compilers), and a trace of theirs would take a slot.
		 * The budget is not what this test is about (see
		 * over_the_cpu_budget_nothing_is_traced): under software
		 * emulation a trace takes 20 times the CPU it takes here. */
		const char *args[] = { "--watch", "--listen", "127.0.0.1:0", "--report-dir", dir,
				       "--max-traced", "8", "--comm", "leaker*", "--cpu-budget",
				       "100", NULL };

		lw = lw_leakwatch_start(args, NULL);
	}
	lw_wait_ready(lw);

	/* both leakers are suspects within 60 s of their start */
	t_dist = lw_wait_err(lw, lw_fmt("suspect: PID %d (leaker-dist)", (int)leak_dist->pid),
			  60000 - (lw_now_ms() - t0));
	cr_assert(t_dist >= 0, "leaker-dist not a suspect within 60 s:\n%s", lw_tail(&lw->err));
	t_g = lw_wait_err(lw, lw_fmt("suspect: PID %d (leaker)", (int)leak_g->pid),
		       60000 - (lw_now_ms() - t0));
	cr_assert(t_g >= 0, "leaker not a suspect within 60 s:\n%s", lw_tail(&lw->err));
	fprintf(stderr, "watch: leakers found %.1f s after they started\n",
		(lw_now_ms() - t0) / 1000.0);

	/* each traced for the default 10 s, then let go, still running */
	cr_assert(lw_wait_err(lw, lw_fmt("trace of PID %d (leaker-dist) completed", (int)leak_dist->pid),
			   120000) >= 0, "no completed trace of leaker-dist:\n%s", lw_tail(&lw->err));
	cr_assert(lw_wait_err(lw, lw_fmt("trace of PID %d (leaker) completed", (int)leak_g->pid),
			   120000) >= 0, "no completed trace of leaker:\n%s", lw_tail(&lw->err));
	expect_leak_report(lw_fmt("%s/%d.json", dir, (int)leak_dist->pid), leak_dist->pid);
	expect_leak_report(lw_fmt("%s/%d.json", dir, (int)leak_g->pid), leak_g->pid);
	lw_pump(leak_dist, 0);
	lw_pump(leak_g, 0);
	cr_assert(leak_dist->running && leak_g->running, "a traced leaker ended");
	lw_expect_not_stopped(leak_dist);
	lw_expect_not_stopped(leak_g);

	/* the others, after the whole run: never a suspect */
	for (size_t i = 0; i < 4; i++) {
		lw_pump(others[i], 0);
		cr_assert(others[i]->running, "memshape %s ended", shapes[i]);
		cr_assert_null(strstr(lw->err.data, lw_fmt("PID %d (memshape)", (int)others[i]->pid)),
			       "memshape %s was flagged:\n%s", shapes[i], lw->err.data);
	}
	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
}

LW_TEST(watch, sigkill_mid_trace_leaves_nothing_stopped)
{
	struct lw_proc *leak, *lw;
	const char *args[] = { "--watch", "--listen", "127.0.0.1:0", "--sample-interval", "1",
			       "--window", "8",
			       "--trace-seconds", "60", "--comm", "leaker", "--cpu-budget", "100",
			       "--max-traced", "8", NULL };

	lw_require_bpf();
	leak = spawn("leaker", NULL);
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	cr_assert(lw_wait_err(lw, lw_fmt("tracing PID %d (leaker)", (int)leak->pid), 30000) >= 0,
		  "leaker not traced:\n%s", lw_tail(&lw->err));
	sleep(2);	/* its probes live, mid-trace */
	kill(lw->pid, SIGKILL);
	cr_assert_eq(lw_wait_exit(lw), 128 + SIGKILL);
	/* the probes went with the daemon's BPF links; its guardian
	 * continues anything left held */
	sleep(1);
	lw_pump(leak, 0);
	cr_assert(leak->running, "the traced leaker ended");
	lw_expect_not_stopped(leak);
	cr_assert_neq(lw_proc_state(leak->pid, NULL), 'T');
}

LW_TEST(watch, bad_options_are_usage_errors)
{
	const char *bad[][4] = {
		{ "--watch", "--window", "0", NULL },
		{ "--watch", "--min-growth", "-1", NULL },
		{ "--watch", "--cpu-budget", "101", NULL },
		{ "--watch", "--listen", "9464", NULL },
		{ "--watch", "--max-traced", "65", NULL },
		{ "--watch", "--no-such-option", NULL },
		{ "--watch", "-p", "1", NULL },
		{ "--watch", "--window", "10", NULL },	/* 2 samples of 5 s */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lw_proc *lw = lw_leakwatch_run(bad[i], NULL);

		cr_assert_eq(lw->exit_code, 2, "%s %s: exit %d", bad[i][1], bad[i][2] ? bad[i][2] : "",
			     lw->exit_code);
		cr_assert(strstr(lw->err.data, "leakwatch"), "no message: %s", lw->err.data);
	}
	{
		const char *help[] = { "--watch", "--help", NULL };
		struct lw_proc *lw = lw_leakwatch_run(help, NULL);

		cr_assert_eq(lw->exit_code, 0);
		cr_assert(strstr(lw->out.data, "--min-growth") && strstr(lw->out.data, "--cpu-budget"));
	}
}

LW_TEST(watch, over_the_cpu_budget_nothing_is_traced)
{
	struct lw_proc *leak, *lw;
	/* 0.001% of a core over 60 s is 0.6 ms: less than any trace costs */
	const char *args[] = { "--watch", "--listen", "127.0.0.1:0", "--sample-interval", "1",
			       "--window", "8",
			       "--cpu-budget", "0.001", "--comm", "leaker", NULL };

	lw_require_bpf();
	leak = spawn("leaker", NULL);
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	cr_assert(lw_wait_err(lw, lw_fmt("not tracing suspect PID %d (leaker): over the CPU budget",
				      (int)leak->pid), 30000) >= 0,
		  "the suspect was not refused for the budget:\n%s", lw_tail(&lw->err));
	cr_assert_null(strstr(lw->err.data, lw_fmt("tracing PID %d", (int)leak->pid)),
		       "traced over the budget:\n%s", lw->err.data);
	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
}

/* ---- OOM kills ---- */

static char cg_dir[512];
static char pm_dir[512];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) && errno != ENOENT;
}

static bool put(const char *dir, const char *name, const char *value)
{
	int fd = open(lw_fmt("%s/%s", dir, name), O_WRONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? write(fd, value, strlen(value)) : -1;

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(value);
}

static void oom_teardown(void)
{
	lw_teardown();	/* the members first */
	if (pm_dir[0]) {
		char *slash;

		/* the harness removes files only: the postmortems' directories,
		 * then its own */
		nftw(pm_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		slash = strrchr(pm_dir, '/');
		if (slash) {
			*slash = '\0';
			rmdir(pm_dir);
		}
		pm_dir[0] = '\0';
	}
	for (int i = 0; cg_dir[0] && i < 100 && rmdir(cg_dir) && errno != ENOENT; i++)
		usleep(10000);
	cg_dir[0] = '\0';
}

/* A memory cgroup of `limit` bytes without swap (v1, else v2). */
static const char *make_memcg(const char *limit)
{
	const char *v1 = "/sys/fs/cgroup/memory", *v2 = "/sys/fs/cgroup";
	bool is_v1 = !access(lw_fmt("%s/memory.limit_in_bytes", v1), F_OK);

	if (!is_v1 && access(lw_fmt("%s/memory.max", v2), F_OK) &&
	    !put(v2, "cgroup.subtree_control", "+memory"))
		lw_cannot_run("no memory cgroup controller (v1 or v2)");
	snprintf(cg_dir, sizeof(cg_dir), "%s/leakwatch-watch-%d", is_v1 ? v1 : v2, (int)getpid());
	if (mkdir(cg_dir, 0755) && errno != EEXIST) {
		const char *why = lw_fmt("mkdir %s: %s", cg_dir, strerror(errno));

		cg_dir[0] = '\0';
		lw_cannot_run(why);
	}
	if (is_v1) {
		cr_assert(put(cg_dir, "memory.limit_in_bytes", limit), "%s: %s", cg_dir,
			  strerror(errno));
		if (!access(lw_fmt("%s/memory.memsw.limit_in_bytes", cg_dir), F_OK))
			cr_assert(put(cg_dir, "memory.memsw.limit_in_bytes", limit));
	} else {
		cr_assert(put(cg_dir, "memory.max", limit), "%s: %s", cg_dir, strerror(errno));
		if (!access(lw_fmt("%s/memory.swap.max", cg_dir), F_OK))
			put(cg_dir, "memory.swap.max", "0");
	}
	return cg_dir;
}

/* The file in dir whose name ends in suffix, waiting up to 30 s. */
static const char *find_file(const char *dir, const char *suffix)
{
	for (int64_t end = lw_now_ms() + 30000; lw_now_ms() < end; usleep(50000)) {
		DIR *d = opendir(dir);
		struct dirent *de;
		const char *found = NULL;

		while (d && (de = readdir(d)) && !found)
			if (de->d_name[0] != '.' && lw_ends_with(de->d_name, suffix))
				found = lw_fmt("%s/%s", dir, de->d_name);
		if (d)
			closedir(d);
		if (found)
			return found;
	}
	return NULL;
}

/*
 * A leaker at 2 MiB/s in a 64 MiB memory cgroup is found (8 s window, 1 s
 * samples), traced for 60 s, and OOM-killed while traced: its one
 * postmortem, in DIR, has its traced stacks, leak_slowly among them.
 */
Test(watch, oom_kill_of_a_traced_process_has_its_stacks, .fini = oom_teardown, .timeout = 240)
{
	const char *pm = lw_tmp("pm"), *traced;
	const char *args[] = { "--watch", "--listen", "127.0.0.1:0", "--sample-interval", "1",
			       "--window", "8",
			       "--trace-seconds", "60", "--postmortem-dir", pm, "--comm", "leaker",
			       "--cpu-budget", "100", "--max-traced", "8", NULL };
	struct lw_proc *lw, *leak;
	struct lw_http_reply m;
	json_object *r, *proc;

	lw_require_bpf();
	cr_assert_eq(mkdir(pm, 0700), 0);
	snprintf(pm_dir, sizeof(pm_dir), "%s", pm);
	make_memcg("67108864");
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	{
		const char *argv[] = { lw_fixture("leaker"), "2097152", NULL };

		leak = lw_spawn(argv, NULL);
	}
	cr_assert(put(cg_dir, "cgroup.procs", lw_fmt("%d", (int)leak->pid)), "join %s: %s",
		  cg_dir, strerror(errno));
	cr_assert(lw_wait_err(lw, lw_fmt("tracing PID %d (leaker)", (int)leak->pid), 30000) >= 0,
		  "leaker not traced:\n%s", lw_tail(&lw->err));
	cr_assert_eq(lw_wait_exit(leak), 128 + SIGKILL, "the leaker was not OOM-killed");
	traced = find_file(pm, lw_fmt("-%d-leaker.json", (int)leak->pid));
	cr_assert(traced, "no postmortem of the traced leaker in %s:\n%s", pm, lw_tail(&lw->err));
	r = json_object_from_file(traced);
	cr_assert(r && lw_bool(r, "traced"), "%s: not a traced postmortem", traced);
	proc = lw_get(r, "process");
	cr_assert_gt(lw_sum_function(proc, "leak_slowly").bytes, 0, "%s: no leak_slowly", traced);
	json_object_put(r);
	cr_assert(lw_wait_err(lw, lw_fmt("trace of PID %d (leaker) exited", (int)leak->pid), 30000) >= 0,
		  "the trace did not end as exited:\n%s", lw_tail(&lw->err));
	/* the kill in /metrics, by victim (outside a container: empty labels) */
	m = lw_http(lw_watch_port(lw), "GET", "/metrics");
	cr_assert_eq(m.status, 200);
	cr_assert(strstr(m.body, "\nleakwatch_oom_kills_total{namespace=\"\",pod=\"\",container=\"\","
				 "comm=\"leaker\"} 1\n"),
		  "no kill of leaker in /metrics:\n%s", m.body);
	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
}
