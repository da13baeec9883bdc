// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OOM postmortems (--postmortem-dir, --oom-only, --snapshot-at) against
 * real OOM kills: each test makes a memory cgroup limited to 64 MiB
 * (cgroup v1 where the memory controller is there, else cgroup v2 with
 * it) and runs tests/fixtures/oomer in it, which grows a cache from
 * grow_cache in 1 MiB blocks until the OOM killer kills it.  The cgroup is
 * removed at teardown.
 *
 * Ground truth: grow_cache holds every block, so its stacks hold at least
 * 90% of the victim's anon RSS at the kill; the victim dies of SIGKILL
 * (137); the kill is the memory cgroup's, at its 64 MiB limit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define LIMIT (64 << 20)
#define MIB (1 << 20)
#define MAX_LATENCY_MS 250.0

/* The memory cgroup this test made and its postmortem directory (inside
 * the harness's scratch directory, which removes files only), removed at
 * teardown. */
static char cg_dir[512];
static int cg_version;
static char pm_dir[512];

static const char *make_pm_dir(void)
{
	snprintf(pm_dir, sizeof(pm_dir), "%s", lw_tmp("pm"));
	return pm_dir;
}

static void remove_pm_dir(void)
{
	DIR *d = opendir(pm_dir);
	struct dirent *de;
	char *slash;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(pm_dir);
	/* the harness could not remove its directory while pm was in it */
	slash = strrchr(pm_dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(pm_dir);
	}
	pm_dir[0] = '\0';
}

static void oom_teardown(void)
{
	/* the processes first: a cgroup with members cannot be removed */
	lw_teardown();
	if (pm_dir[0] && !getenv("LW_TEST_KEEP"))
		remove_pm_dir();
	for (int i = 0; cg_dir[0] && i < 100; i++) {
		if (!rmdir(cg_dir) || errno == ENOENT)
			break;
		usleep(10 * 1000);
	}
	cg_dir[0] = '\0';
}

#define OOM_TEST(name) Test(oom, name, .fini = oom_teardown, .timeout = 240)

static bool write_file(const char *dir, const char *name, const char *value)
{
	char path[600];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value);
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return lw_text_has_word(buf, word);
}


/* A v2 mount with the memory controller, or NULL. */
static const char *v2_with_memory(void)
{
	static const char *const mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		if (file_has_word(lw_fmt("%s/cgroup.controllers", mounts[i]), "memory"))
			return mounts[i];
	}
	return NULL;
}

/*
 * A memory cgroup limited to 64 MiB, without swap.  Returns its directory;
 * *path gets its path in the hierarchy, as /proc/PID/cgroup shows it.
 */
static const char *make_memcg(const char **path)
{
	const char *v1 = "/sys/fs/cgroup/memory", *v2;
	const char *name = lw_fmt("leakwatch-test-%d", (int)getpid());
	char limit[32];

	lw_require_bpf();
	snprintf(limit, sizeof(limit), "%d", LIMIT);
	if (!access(lw_fmt("%s/memory.limit_in_bytes", v1), F_OK)) {
		snprintf(cg_dir, sizeof(cg_dir), "%s/%s", v1, name);
		cg_version = 1;
	} else if ((v2 = v2_with_memory())) {
		/* children get the controller only when the parent hands it down */
		write_file(v2, "cgroup.subtree_control", "+memory");
		snprintf(cg_dir, sizeof(cg_dir), "%s/%s", v2, name);
		cg_version = 2;
	} else {
		lw_cannot_run("no memory cgroup controller: neither cgroup v1 "
			   "/sys/fs/cgroup/memory nor cgroup v2 with \"memory\" in "
			   "cgroup.controllers");
	}
	if (mkdir(cg_dir, 0755) && errno != EEXIST) {
		const char *why = lw_fmt("mkdir %s: %s", cg_dir, strerror(errno));

		cg_dir[0] = '\0';
		lw_cannot_run(why);
	}
	if (cg_version == 1) {
		cr_assert(write_file(cg_dir, "memory.limit_in_bytes", limit),
			  "cannot set %s/memory.limit_in_bytes: %s", cg_dir, strerror(errno));
		/* memory+swap too, where swap accounting is on: no swapping out */
		if (!access(lw_fmt("%s/memory.memsw.limit_in_bytes", cg_dir), F_OK))
			cr_assert(write_file(cg_dir, "memory.memsw.limit_in_bytes", limit),
				  "cannot set memory.memsw.limit_in_bytes: %s", strerror(errno));
	} else {
		cr_assert(write_file(cg_dir, "memory.max", limit), "cannot set %s/memory.max: %s",
			  cg_dir, strerror(errno));
		if (!access(lw_fmt("%s/memory.swap.max", cg_dir), F_OK))
			write_file(cg_dir, "memory.swap.max", "0");
	}
	*path = lw_fmt("/%s", name);
	return cg_dir;
}

/* The postmortem of pid (comm) in dir (kind "oom_kill" or "snapshot"),
 * waiting up to 20 s for it while lw runs; NULL + a failure when there is
 * none. */
static const char *find_postmortem_of(const char *dir, pid_t pid, const char *comm,
				      bool snapshot)
{
	const char *suffix = lw_fmt("-%d-%s%s.json", (int)pid, comm, snapshot ? ".snapshot" : "");
	int64_t deadline = lw_now_ms() + 20000;

	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			if (de->d_name[0] != '.' && lw_ends_with(de->d_name, suffix)) {
				const char *path = lw_fmt("%s/%s", dir, de->d_name);

				closedir(d);
				return path;
			}
		}
		if (d)
			closedir(d);
		if (lw_now_ms() > deadline)
			break;
		usleep(20 * 1000);
	}
	cr_assert_fail("no postmortem *%s in %s after 20 s", suffix, dir);
	return NULL;
}

static const char *find_postmortem(const char *dir, pid_t pid, bool snapshot)
{
	return find_postmortem_of(dir, pid, "oomer", snapshot);
}

/* Files of pid in dir ending in suffix; any other OOM kill on the machine
 * while a test runs gets a postmortem of its own, which is not counted. */
static size_t count_files(const char *dir, pid_t pid, const char *suffix)
{
	const char *tag = lw_fmt("-%d-oomer", (int)pid);
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' && strstr(de->d_name, tag) &&
		     lw_ends_with(de->d_name, suffix);
	closedir(d);
	return n;
}

static bool is_null(json_object *o, const char *key)
{
	return lw_get(o, key) == NULL;
}

static double number(json_object *o, const char *key)
{
	json_object *v = lw_get(o, key);

	cr_assert(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double),
		  "postmortem: \"%s\" is not a number: %s", key, json_object_to_json_string(v));
	return json_object_get_double(v);
}

/* The embedded process, checked against the report's schema: wrapped in a
 * one-process report for the harness's checker. */
static void check_process_schema(json_object *proc)
{
	json_object *r = json_object_new_object(), *arr = json_object_new_array();
	json_object *summary = json_object_new_object();

	json_object_object_add(r, "version", json_object_new_int(1));
	json_object_object_add(r, "timestamp", json_object_new_string("x"));
	json_object_object_add(r, "final", json_object_new_boolean(true));
	json_object_object_add(r, "duration_s", json_object_new_double(0));
	json_object_object_add(r, "lost_events", json_object_new_int(0));
	json_object_object_add(r, "mapping_hooks", NULL);
	json_object_object_add(r, "drops", json_object_new_object());
	json_object_array_add(arr, json_object_get(proc));
	json_object_object_add(r, "processes", arr);
	json_object_object_add(summary, "processes", json_object_new_int(1));
	json_object_object_add(summary, "outstanding_bytes",
			       json_object_new_int64(lw_int(proc, "outstanding_bytes")));
	json_object_object_add(summary, "outstanding_allocs",
			       json_object_new_int64(lw_int(proc, "outstanding_allocs")));
	json_object_object_add(r, "summary", summary);
	lw_check_report(r, true);
	json_object_put(r);
}

/* Every documented field of an OOM postmortem of oomer (pid) in cgroup. */
static json_object *check_kill_postmortem(const char *path, pid_t pid, const char *cgroup,
					  bool traced)
{
	json_object *pm = json_object_from_file(path), *v, *k, *t, *rss, *m, *tl, *samples;
	double latency;

	cr_assert(pm, "postmortem %s does not parse: %s", path, json_util_get_last_err());
	cr_assert_eq(lw_int(pm, "version"), 1);
	cr_assert_str_eq(lw_str(pm, "kind"), "oom_kill");
	cr_assert(strlen(lw_str(pm, "timestamp")) == 24, "timestamp %s", lw_str(pm, "timestamp"));
	latency = number(pm, "capture_latency_ms");
	cr_log_info("%s: capture_latency_ms %.3f\n", criterion_current_test->name, latency);
	fprintf(stderr, "[oom] %s: capture_latency_ms %.3f\n", criterion_current_test->name,
		latency);
	cr_assert(latency > 0 && latency <= MAX_LATENCY_MS,
		  "capture_latency_ms %.3f is not in (0, %.0f]", latency, MAX_LATENCY_MS);
	cr_assert_eq(lw_bool(pm, "traced"), traced);

	v = lw_get(pm, "victim");
	cr_assert_eq(lw_int(v, "pid"), pid);
	cr_assert_str_eq(lw_str(v, "comm"), "oomer");
	cr_assert(strstr(lw_str(v, "cmdline"), "oomer"), "cmdline %s", lw_str(v, "cmdline"));
	cr_assert_eq(lw_int(v, "uid"), (int64_t)getuid());
	cr_assert_str_eq(lw_str(v, "cgroup"), cgroup);
	cr_assert(is_null(v, "container_id"), "no container id in %s", cgroup);

	k = lw_get(pm, "kill");
	cr_assert_str_eq(lw_str(k, "scope"), "memcg");
	lw_str(k, "scope_source");
	cr_assert_str_eq(lw_str(k, "memcg"), cgroup);
	cr_assert_eq(lw_int(k, "memcg_limit_bytes"), LIMIT);
	cr_assert(lw_int(k, "memcg_usage_bytes") > LIMIT - 4 * MIB &&
		  lw_int(k, "memcg_usage_bytes") <= LIMIT,
		  "memcg usage at the kill: %" PRId64, lw_int(k, "memcg_usage_bytes"));
	cr_assert(is_null(k, "order") || lw_int(k, "order") >= 0);
	t = lw_get(k, "trigger");
	/* oomer's own page fault ran the OOM killer */
	cr_assert_eq(lw_int(t, "pid"), pid);
	lw_int(t, "tid");
	cr_assert_str_eq(lw_str(t, "comm"), "oomer");

	rss = lw_get(pm, "rss");
	cr_assert(lw_int(rss, "anon_bytes") > LIMIT / 2 && lw_int(rss, "anon_bytes") <= LIMIT,
		  "anon RSS at the kill: %" PRId64, lw_int(rss, "anon_bytes"));
	lw_int(rss, "file_bytes");
	lw_int(rss, "shmem_bytes");
	lw_int(rss, "swap_bytes");
	cr_assert(lw_int(rss, "total_vm_bytes") >= lw_int(rss, "anon_bytes"));
	lw_bool(rss, "approximate");

	/* the kernel's counts always; /proc's groups unless the victim tore its
	 * maps down first (a race the capture thread mostly wins) */
	m = lw_get(pm, "mappings");
	cr_assert_not_null(m, "no mappings");
	cr_assert(lw_int(m, "count") > 5);
	cr_assert(lw_int(m, "size_bytes") >= lw_int(rss, "anon_bytes"));
	cr_assert(lw_int(m, "data_bytes") >= lw_int(rss, "anon_bytes") - 4 * MIB,
		  "data_bytes %" PRId64, lw_int(m, "data_bytes"));
	cr_assert(lw_int(m, "exec_bytes") > 0);
	lw_int(m, "stack_bytes");
	lw_int(m, "heap_bytes");
	if (lw_get(m, "groups")) {
		cr_assert(json_object_array_length(lw_get(m, "groups")) > 0);
		cr_assert(lw_int(m, "groups_total") > 0);
		cr_assert(lw_int(m, "anon_size_bytes") >= lw_int(rss, "anon_bytes"));
	} else {
		fprintf(stderr, "[oom] %s: /proc/%d/maps was gone before it was read\n",
			criterion_current_test->name, (int)pid);
	}

	tl = lw_get(pm, "rss_timeline");
	cr_assert_eq(lw_int(tl, "interval_ms"), 1000);
	samples = lw_get(tl, "samples");
	cr_assert(json_object_array_length(samples) >= 1);
	t = json_object_array_get_idx(samples, json_object_array_length(samples) - 1);
	cr_assert_eq(lw_int(t, "t_ms"), 0, "the last sample is the kill");
	cr_assert_eq(lw_int(t, "anon_bytes"), lw_int(rss, "anon_bytes"));

	m = lw_get(pm, "memcg");
	cr_assert_str_eq(lw_str(m, "path"), cgroup);
	cr_assert_eq(lw_int(m, "version"), cg_version);
	cr_assert_eq(lw_int(m, "limit_bytes"), LIMIT);
	lw_int(m, "usage_bytes");
	cr_assert(json_object_is_type(lw_get(m, "stat"), json_type_object));
	lw_int(lw_get(m, "stat"), cg_version == 1 ? "rss" : "anon");
	lw_int(lw_get(m, cg_version == 1 ? "oom_control" : "events"), "oom_kill");
	return pm;
}

/* The text file beside the JSON. */
static void check_text(const char *json_path, pid_t pid, bool traced)
{
	const char *path = lw_fmt("%.*s.txt", (int)(strlen(json_path) - 5), json_path);
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert(fd >= 0, "no text postmortem %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert(n > 0);
	buf[n] = '\0';
	cr_assert(strstr(buf, lw_fmt("OOM postmortem: PID %d (oomer) killed at", (int)pid)),
		  "%s", buf);
	cr_assert(strstr(buf, "kill: memcg OOM in"), "%s", buf);
	cr_assert_eq(strstr(buf, "grow_cache") != NULL, traced, "%s", buf);
}

/* grow_cache holds at least 90% of the victim's anon RSS at the kill. */
static void expect_cache_holds_rss(json_object *pm)
{
	const char *const only[] = { "grow_cache", NULL };
	json_object *proc = lw_get(pm, "process");
	int64_t anon = lw_int(lw_get(pm, "rss"), "anon_bytes");
	struct lw_sum sum;

	check_process_schema(proc);
	lw_expect_only(proc, only);
	sum = lw_sum_function(proc, "grow_cache");
	cr_assert_eq(sum.bytes, sum.allocs * MIB, "grow_cache: 1 MiB blocks.\n%s",
		     lw_describe(proc));
	cr_assert(sum.bytes * 10 >= anon * 9,
		  "grow_cache holds %" PRId64 " bytes, less than 90%% of the anon RSS at the "
		  "kill (%" PRId64 ").\n%s", sum.bytes, anon, lw_describe(proc));
	cr_assert(sum.bytes <= anon + 2 * MIB,
		  "grow_cache holds %" PRId64 " bytes, more than the anon RSS (%" PRId64
		  ") allows.\n%s", sum.bytes, anon, lw_describe(proc));
	fprintf(stderr, "[oom] %s: grow_cache holds %" PRId64 " of %" PRId64
		" anon bytes (%.1f%%)\n", criterion_current_test->name, sum.bytes, anon,
		100.0 * sum.bytes / anon);
}

/* leakwatch -- oomer: killed, postmortem written, report says 137. */
OOM_TEST(traced_victim)
{
	const char *cgroup, *cg = make_memcg(&cgroup), *dir = make_pm_dir();
	const char *out = lw_tmp("report.json"), *path;
	const char *args[] = { "--postmortem-dir", dir, "-f", "json", "-o", out, "--",
			       lw_fixture("oomer"), cg, NULL };
	struct lw_proc *lw = lw_leakwatch_run(args, NULL);
	json_object *pm, *report;
	pid_t pid;

	cr_assert_eq(lw->exit_code, 137, "leakwatch exited with %d, expected 137 (oomer "
		     "killed by SIGKILL).\nstderr:\n%s", lw->exit_code, lw_tail(&lw->err));
	pid = (pid_t)atol(lw->out.data ? lw->out.data : "0");
	cr_assert(pid > 0, "oomer printed no pid: %s", lw_tail(&lw->out));
	cr_assert(strstr(lw->err.data, lw_fmt("OOM postmortem of process %d (oomer)", (int)pid)),
		  "stderr:\n%s", lw_tail(&lw->err));
	cr_assert_eq(count_files(dir, pid, ".json"), 1, "one postmortem");
	cr_assert_eq(count_files(dir, pid, ".txt"), 1, "one text postmortem");

	path = find_postmortem(dir, pid, false);
	pm = check_kill_postmortem(path, pid, cgroup, true);
	expect_cache_holds_rss(pm);
	check_text(path, pid, true);
	json_object_put(pm);

	report = lw_report(out);
	lw_expect_exited(lw_only_process(report, "oomer"), 137);
}

/*
 * A Go program calling C, killed in a 64 MiB cgroup: what it held is its C
 * cache and a little more, not the Go runtime's reserved address space
 * (hundreds of MiB, once reported as "1011.8 MiB outstanding").
 */
OOM_TEST(go_cgo_victim)
{
	const char *cgroup, *cg = make_memcg(&cgroup), *dir = make_pm_dir();
	const char *out = lw_tmp("report.json"), *path, *txt;
	const char *args[] = { "--postmortem-dir", dir, "-f", "json", "-o", out, "--",
			       lw_fixture("go/cgooom"), cg, NULL };
	struct lw_proc *lw = lw_leakwatch_run(args, NULL);
	json_object *pm, *proc, *k;
	int64_t anon, held;
	struct lw_sum sum;
	char buf[65536];
	ssize_t n;
	pid_t pid;
	int fd;

	(void)cgroup;
	cr_assert_eq(lw->exit_code, 137, "leakwatch exited with %d, expected 137.\nstderr:\n%s",
		     lw->exit_code, lw_tail(&lw->err));
	pid = (pid_t)atol(lw->out.data ? lw->out.data : "0");
	cr_assert(pid > 0, "cgooom printed no pid: %s", lw_tail(&lw->out));
	path = find_postmortem_of(dir, pid, "cgooom", false);
	pm = json_object_from_file(path);
	cr_assert(pm, "postmortem %s does not parse", path);
	proc = lw_get(pm, "process");
	check_process_schema(proc);
	anon = lw_int(lw_get(pm, "rss"), "anon_bytes");
	held = lw_int(proc, "outstanding_bytes");
	sum = lw_sum_function(proc, "grow_c_cache");
	cr_assert_eq(sum.bytes, sum.allocs * MIB, "grow_c_cache: 1 MiB blocks.\n%s",
		     lw_describe(proc));
	cr_assert(sum.bytes * 4 >= anon * 3, "grow_c_cache holds %" PRId64 " of %" PRId64
		  " anon bytes.\n%s", sum.bytes, anon, lw_describe(proc));
	cr_assert(held <= anon + 2 * MIB && held <= LIMIT + 2 * MIB,
		  "outstanding %" PRId64 " bytes, more than the anon RSS (%" PRId64 ").\n%s",
		  held, anon, lw_describe(proc));
	cr_assert(held - sum.bytes <= 2 * MIB, "more than grow_c_cache's blocks: %" PRId64
		  " bytes.\n%s", held - sum.bytes, lw_describe(proc));
	k = lw_get(lw_get(proc, "kinds"), "runtime");
	cr_assert(k && !lw_bool(k, "leak") && lw_int(k, "reserved_bytes") > 256 * MIB,
		  "the Go runtime's reservations are kind runtime.\n%s", lw_describe(proc));
	fprintf(stderr, "[oom] go_cgo_victim: %" PRId64 " outstanding, grow_c_cache %" PRId64
		", anon RSS %" PRId64 "\n", held, sum.bytes, anon);
	json_object_put(pm);

	txt = lw_fmt("%.*s.txt", (int)(strlen(path) - 5), path);
	fd = open(txt, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0, "no text postmortem %s", txt);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert(n > 0);
	buf[n] = '\0';
	cr_assert(strstr(buf, "grow_c_cache"), "%s", buf);
	cr_assert(strstr(buf, lw_fmt("(%" PRId64 " B) outstanding", held)), "%s", buf);
}

/* --oom-only: an untraced victim gets what can be known, and leakwatch
 * runs on until SIGINT. */
OOM_TEST(oom_only_untraced_victim)
{
	const char *cgroup, *cg = make_memcg(&cgroup), *dir = make_pm_dir(), *path;
	const char *args[] = { "--oom-only", "--postmortem-dir", dir, NULL };
	const char *const oomer_args[] = { cg, NULL };
	struct lw_proc *lw, *victim;
	json_object *pm;

	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	victim = lw_start_target("oomer", oomer_args);
	cr_assert_eq(lw_wait_exit(victim), 137, "oomer exited with %d, not killed by the OOM "
		     "killer.\nstderr:\n%s", victim->exit_code, lw_tail(&victim->err));

	path = find_postmortem(dir, victim->pid, false);
	pm = check_kill_postmortem(path, victim->pid, cgroup, false);
	cr_assert(is_null(pm, "process"), "an untraced victim has no stacks");
	check_text(path, victim->pid, false);
	json_object_put(pm);

	lw_signal(lw, SIGINT);
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch --oom-only exited with %d on SIGINT.\n"
		     "stderr:\n%s", lw->exit_code, lw_tail(&lw->err));
	cr_assert(strstr(lw->err.data, lw_fmt("OOM postmortem of untraced process %d (oomer)",
					      (int)victim->pid)), "stderr:\n%s", lw_tail(&lw->err));
}

/* A kill does not stop the tracing of the other traced processes. */
OOM_TEST(tracing_goes_on_after_a_kill)
{
	const char *cgroup, *cg = make_memcg(&cgroup), *dir = make_pm_dir();
	const char *out = lw_tmp("report.json"), *pids, *path;
	const char *const oomer_args[] = { cg, "wait", NULL };
	struct lw_proc *lw, *delayed, *oomer;
	json_object *pm, *report, *proc;

	delayed = lw_start_target("delayed", NULL);
	oomer = lw_start_target("oomer", oomer_args);
	pids = lw_fmt("%d,%d", (int)delayed->pid, (int)oomer->pid);
	{
		const char *args[] = { "--postmortem-dir", dir, "-f", "json", "-o", out, "-p", pids,
				       NULL };

		lw = lw_leakwatch_start(args, NULL);
	}
	lw_wait_ready(lw);

	lw_signal(oomer, SIGUSR1);
	cr_assert_eq(lw_wait_exit(oomer), 137, "oomer exited with %d", oomer->exit_code);
	path = find_postmortem(dir, oomer->pid, false);
	pm = check_kill_postmortem(path, oomer->pid, cgroup, true);
	expect_cache_holds_rss(pm);
	json_object_put(pm);

	/* delayed, traced all along, leaks now */
	lw_signal(delayed, SIGUSR1);
	cr_assert_str_eq(lw_next_line(delayed), "leaked");
	lw_signal(delayed, SIGUSR1);
	cr_assert_eq(lw_wait_exit(delayed), 0);
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch exited with %d.\nstderr:\n%s",
		     lw->exit_code, lw_tail(&lw->err));

	report = lw_report(out);
	proc = lw_process_by_pid(report, delayed->pid);
	cr_assert_not_null(proc);
	lw_expect_function(proc, "late_leak", 15554, 2);
	lw_expect_exited(proc, 0);
	lw_expect_exited(lw_process_by_pid(report, oomer->pid), 137);
}

/* --snapshot-at 50: oomer stops at 48 of 64 MiB; a snapshot, no kill. */
OOM_TEST(snapshot_at_threshold)
{
	const char *cgroup, *cg = make_memcg(&cgroup), *dir = make_pm_dir();
	const char *out = lw_tmp("report.json"), *path;
	const char *args[] = { "--postmortem-dir", dir, "--snapshot-at", "50", "-f", "json",
			       "-o", out, "--", lw_fixture("oomer"), cg, "48", NULL };
	struct lw_proc *lw = lw_leakwatch_start(args, NULL);
	json_object *pm, *m, *proc, *report;
	const char *const only[] = { "grow_cache", NULL };
	struct lw_sum sum;
	pid_t pid;

	lw_wait_ready(lw);
	pid = (pid_t)atol(lw_next_line(lw));
	cr_assert(pid > 0);
	cr_assert_str_eq(lw_next_line(lw), "holding");
	path = find_postmortem(dir, pid, true);
	cr_assert(lw->running, "leakwatch ended before the snapshot was checked");

	pm = json_object_from_file(path);
	cr_assert(pm, "snapshot %s does not parse: %s", path, json_util_get_last_err());
	cr_assert_str_eq(lw_str(pm, "kind"), "snapshot");
	cr_assert_eq(lw_int(pm, "threshold_percent"), 50);
	cr_assert(is_null(pm, "kill"));
	cr_assert(lw_bool(pm, "traced"));
	cr_assert_eq(lw_int(lw_get(pm, "victim"), "pid"), pid);
	cr_assert_str_eq(lw_str(lw_get(pm, "victim"), "cgroup"), cgroup);
	m = lw_get(pm, "memcg");
	cr_assert_eq(lw_int(m, "limit_bytes"), LIMIT);
	cr_assert(lw_int(m, "usage_bytes") * 2 >= LIMIT, "usage %" PRId64 " is below 50%%",
		  lw_int(m, "usage_bytes"));
	proc = lw_get(pm, "process");
	check_process_schema(proc);
	lw_expect_only(proc, only);
	sum = lw_sum_function(proc, "grow_cache");
	/* at least what had crossed 50%, less what was in flight */
	cr_assert(sum.bytes >= LIMIT / 2 - 4 * MIB && sum.bytes <= 48 * MIB,
		  "grow_cache holds %" PRId64 " bytes in the snapshot.\n%s", sum.bytes,
		  lw_describe(proc));
	json_object_put(pm);
	cr_assert_eq(count_files(dir, pid, ".json"), 1, "one snapshot, no OOM postmortem");

	/* SIGTERM goes on to the command: 128 + 15 */
	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 143, "leakwatch exited with %d.\nstderr:\n%s",
		     lw->exit_code, lw_tail(&lw->err));
	report = lw_report(out);
	proc = lw_only_process(report, "oomer");
	lw_expect_function(proc, "grow_cache", 48 * MIB, 48);
	lw_expect_exited(proc, 143);
	cr_assert_eq(count_files(dir, pid, ".json"), 1, "still no OOM postmortem");
}

/* The new options' usage errors exit 2 before any tracing. */
LW_TEST(oom, usage_errors)
{
	static const char *const cases[][8] = {
		{ "--oom-only", NULL },
		{ "--oom-only", "--postmortem-dir", "/tmp", "--", "/bin/true", NULL },
		{ "--oom-only", "--postmortem-dir", "/tmp", "-p", "1", NULL },
		{ "--snapshot-at", "50", "--", "/bin/true", NULL },
		{ "--postmortem-dir", "/tmp", "--snapshot-at", "0", "--", "/bin/true", NULL },
		{ "--postmortem-dir", "/tmp", "--snapshot-at", "101", "--", "/bin/true", NULL },
		{ "--postmortem-dir", "/tmp", "--postmortem-keep", "0", "--", "/bin/true", NULL },
		{ "--oom-only", "--postmortem-dir", "/tmp", "--snapshot-at", "50", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lw_proc *lw = lw_leakwatch_run(cases[i], NULL);
		const char *argstr = "";

		for (const char *const *a = cases[i]; *a; a++)
			argstr = lw_fmt("%s %s", argstr, *a);
		cr_assert_eq(lw->exit_code, 2, "leakwatch%s: exit %d, expected 2 (usage).\n"
			     "stderr:\n%s", argstr, lw->exit_code, lw_tail(&lw->err));
		cr_assert(lw->err.len > 0, "leakwatch%s: no message on stderr", argstr);
	}
}
