// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Real containers, laid out as containerd lays them out for Kubernetes:
 * Debian's runc with containerd's runc root (/run/containerd/runc/k8s.io),
 * the task bundle under /run/containerd/io.containerd.runtime.v2.task/
 * k8s.io/<id>/ with the CRI plugin's annotations in its config.json, and a
 * cgroupfs-driver kubepods path (cgroupsPath /kubepods/burstable/pod<uid>/
 * <id>).  The rootfs is the host's /usr, read-only, and the fixtures'
 * directory at /fx; the container has its own pid, mount, ipc and uts
 * namespaces.  Ids, the pod UID and the pod's name are new in every test;
 * the container, its bundle and its cgroups are removed at teardown,
 * whatever happened.
 *
 * Ground truth: the namespace, pod, container and id the test gave the
 * container, in leakwatch's report of it (-p), in a report made from
 * another cgroup namespace (where the container's cgroup path is relative),
 * and in the OOM postmortem of its process; tests/fixtures/delayed.c's
 * late_leak (2 x 7777 B) and oomer's 64 MiB memory limit.
 *
 * A machine where runc cannot run a container (no runc, or a kernel or
 * filesystem it cannot work with) makes these tests fail under CI=true
 * with runc's own error, and skip loudly otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define RUNC_ROOT "/run/containerd/runc/k8s.io"
#define TASKS "/run/containerd/io.containerd.runtime.v2.task/k8s.io"
#define NAMESPACE "lw-test"
#define CONTAINER "app"
#define LIMIT (64 << 20)

extern char **environ;

/* The test's container; removed at teardown. */
static struct {
	char id[65];
	char pod_uid[37];
	char pod[32];
	char bundle[256];
	char cgroup[256];	/* /kubepods/burstable/pod<uid>/<id> */
	char cgns[64];		/* another test cgroup's name, or "" */
	const char *runc;
	bool created;
	pid_t pid;		/* its process, on the host */
} ctr;

static const char *find_runc(void)
{
	static const char *const paths[] = { "/usr/sbin/runc", "/usr/bin/runc", "/sbin/runc" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

/* Runs argv to its end, quietly: teardown cannot assert. */
static int run_quiet(const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (!posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ))
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	posix_spawn_file_actions_destroy(&fa);
	return st;
}

static void rmdir_retry(const char *dir)
{
	for (int i = 0; i < 100; i++) {
		if (!rmdir(dir) || errno == ENOENT)
			return;
		usleep(10 * 1000);
	}
}

/* path in every cgroup hierarchy mounted under /sys/fs/cgroup (v1's
 * directories, v2 itself or beside them) */
static void rmdir_cgroups(const char *path)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	char dir[600];

	snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", path);
	rmdir_retry(dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s", de->d_name, path);
		rmdir_retry(dir);
	}
	if (d)
		closedir(d);
}

static const char *const rootfs_dirs[] = { "usr", "proc", "dev", "sys", "fx", "tmp" };
static const char *const rootfs_links[][2] = {
	{ "bin", "usr/bin" }, { "lib", "usr/lib" }, { "lib64", "usr/lib64" }, { "sbin", "usr/sbin" },
};

/* The bundle holds mount points only, never mounted here (runc mounts in
 * the container's mount namespace): removed entry by entry, no rm -r. */
static void remove_bundle(void)
{
	char path[512];
	size_t i;

	for (i = 0; i < sizeof(rootfs_dirs) / sizeof(rootfs_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/rootfs/%s", ctr.bundle, rootfs_dirs[i]);
		rmdir(path);
	}
	for (i = 0; i < sizeof(rootfs_links) / sizeof(rootfs_links[0]); i++) {
		snprintf(path, sizeof(path), "%s/rootfs/%s", ctr.bundle, rootfs_links[i][0]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/rootfs", ctr.bundle);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/config.json", ctr.bundle);
	unlink(path);
	rmdir(ctr.bundle);
}

static void containers_teardown(void)
{
	char pod_dir[128];

	/* leakwatch and the runc processes first */
	lw_teardown();
	if (ctr.created) {
		const char *const del[] = { ctr.runc, "--root", RUNC_ROOT, "delete", "-f", ctr.id,
					    NULL };

		run_quiet(del);
		ctr.created = false;
	}
	if (ctr.bundle[0])
		remove_bundle();
	if (ctr.cgroup[0]) {
		/* runc removes the container's own cgroup, not its parents */
		rmdir_cgroups(ctr.cgroup);
		snprintf(pod_dir, sizeof(pod_dir), "/kubepods/burstable/pod%s", ctr.pod_uid);
		rmdir_cgroups(pod_dir);
	}
	if (ctr.cgns[0])
		rmdir_cgroups(ctr.cgns);
	memset(&ctr, 0, sizeof(ctr));
}

#define CONTAINER_TEST(name) Test(containers, name, .fini = containers_teardown, .timeout = 240)

static void random_hex(char *out, size_t bytes)
{
	unsigned char b[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	cr_assert(fd >= 0 && bytes <= sizeof(b) && read(fd, b, bytes) == (ssize_t)bytes,
		  "/dev/urandom: %s", strerror(errno));
	close(fd);
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void mkdir_p(const char *path)
{
	char buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strchr(buf + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		cr_assert(!mkdir(buf, 0755) || errno == EEXIST, "mkdir %s: %s", buf,
			  strerror(errno));
		if (!p)
			break;
		*p = '/';
	}
}

static json_object *jstrings(const char *const *v)
{
	json_object *a = json_object_new_array();

	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *jmount(const char *dest, const char *type, const char *source,
			   const char *const *options)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "destination", json_object_new_string(dest));
	json_object_object_add(m, "type", json_object_new_string(type));
	json_object_object_add(m, "source", json_object_new_string(source));
	if (options)
		json_object_object_add(m, "options", jstrings(options));
	return m;
}

/* The OCI config: args in the container, a memory limit (0: none), and
 * the annotations containerd's CRI plugin writes. */
static void write_config(const char *const *args, int64_t limit)
{
	static const char *const ro[] = { "rbind", "ro", NULL };
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k",
					   NULL };
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	static const char *const ns[] = { "pid", "ipc", "uts", "mount" };
	json_object *c = json_object_new_object(), *p = json_object_new_object();
	json_object *user = json_object_new_object(), *root = json_object_new_object();
	json_object *mounts = json_object_new_array(), *ann = json_object_new_object();
	json_object *linux_ = json_object_new_object(), *nss = json_object_new_array();
	char fxdir[512], *slash;

	snprintf(fxdir, sizeof(fxdir), "%s", lw_fixture("delayed"));
	slash = strrchr(fxdir, '/');
	*slash = '\0';

	json_object_object_add(c, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(p, "terminal", json_object_new_boolean(false));
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", user);
	json_object_object_add(p, "args", jstrings(args));
	json_object_object_add(p, "env", jstrings(env));
	json_object_object_add(p, "cwd", json_object_new_string("/"));
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(true));
	json_object_object_add(c, "process", p);
	json_object_object_add(root, "path", json_object_new_string("rootfs"));
	json_object_object_add(root, "readonly", json_object_new_boolean(true));
	json_object_object_add(c, "root", root);
	json_object_object_add(c, "hostname", json_object_new_string(ctr.pod));
	json_object_array_add(mounts, jmount("/proc", "proc", "proc", NULL));
	json_object_array_add(mounts, jmount("/dev", "tmpfs", "tmpfs", dev));
	json_object_array_add(mounts, jmount("/usr", "bind", "/usr", ro));
	json_object_array_add(mounts, jmount("/fx", "bind", fxdir, ro));
	json_object_object_add(c, "mounts", mounts);
	json_object_object_add(ann, "io.kubernetes.cri.container-type",
			       json_object_new_string("container"));
	json_object_object_add(ann, "io.kubernetes.cri.sandbox-id",
			       json_object_new_string(ctr.id));
	json_object_object_add(ann, "io.kubernetes.cri.sandbox-name",
			       json_object_new_string(ctr.pod));
	json_object_object_add(ann, "io.kubernetes.cri.sandbox-namespace",
			       json_object_new_string(NAMESPACE));
	json_object_object_add(ann, "io.kubernetes.cri.sandbox-uid",
			       json_object_new_string(ctr.pod_uid));
	json_object_object_add(ann, "io.kubernetes.cri.container-name",
			       json_object_new_string(CONTAINER));
	json_object_object_add(c, "annotations", ann);
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		json_object *n = json_object_new_object();

		json_object_object_add(n, "type", json_object_new_string(ns[i]));
		json_object_array_add(nss, n);
	}
	json_object_object_add(linux_, "namespaces", nss);
	json_object_object_add(linux_, "cgroupsPath", json_object_new_string(ctr.cgroup));
	if (limit) {
		json_object *res = json_object_new_object(), *mem = json_object_new_object();

		json_object_object_add(mem, "limit", json_object_new_int64(limit));
		/* v1 with swap accounting: memory+swap too, so nothing is
		 * swapped out instead of killed */
		if (!access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK))
			json_object_object_add(mem, "swap", json_object_new_int64(limit));
		json_object_object_add(res, "memory", mem);
		json_object_object_add(linux_, "resources", res);
	}
	json_object_object_add(c, "linux", linux_);
	cr_assert_eq(json_object_to_file_ext(lw_fmt("%s/config.json", ctr.bundle), c,
					     JSON_C_TO_STRING_PRETTY), 0,
		     "cannot write config.json: %s", json_util_get_last_err());
	json_object_put(c);
}

/* The container's bundle and identity, fresh: nothing is started yet. */
static void make_bundle(void)
{
	char path[512];
	size_t i;

	lw_require_bpf();
	ctr.runc = find_runc();
	if (!ctr.runc)
		lw_cannot_run("runc is not installed (apt-get install runc)");
	random_hex(ctr.id, 32);
	random_hex(ctr.pod_uid, 16);
	/* 8-4-4-4-12, as Kubernetes writes UIDs */
	memmove(ctr.pod_uid + 24, ctr.pod_uid + 20, 12);
	memmove(ctr.pod_uid + 19, ctr.pod_uid + 16, 4);
	memmove(ctr.pod_uid + 14, ctr.pod_uid + 12, 4);
	memmove(ctr.pod_uid + 9, ctr.pod_uid + 8, 4);
	ctr.pod_uid[8] = ctr.pod_uid[13] = ctr.pod_uid[18] = ctr.pod_uid[23] = '-';
	ctr.pod_uid[36] = '\0';
	snprintf(ctr.pod, sizeof(ctr.pod), "web-%d", (int)getpid());
	snprintf(ctr.cgroup, sizeof(ctr.cgroup), "/kubepods/burstable/pod%s/%s", ctr.pod_uid,
		 ctr.id);
	snprintf(ctr.bundle, sizeof(ctr.bundle), TASKS "/%s", ctr.id);
	mkdir_p(lw_fmt("%s/rootfs", ctr.bundle));
	for (i = 0; i < sizeof(rootfs_dirs) / sizeof(rootfs_dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/rootfs/%s", ctr.bundle, rootfs_dirs[i]);
		cr_assert(!mkdir(path, 0755), "mkdir %s: %s", path, strerror(errno));
	}
	for (i = 0; i < sizeof(rootfs_links) / sizeof(rootfs_links[0]); i++) {
		snprintf(path, sizeof(path), "%s/rootfs/%s", ctr.bundle, rootfs_links[i][0]);
		cr_assert(!symlink(rootfs_links[i][1], path), "symlink %s: %s", path,
			  strerror(errno));
	}
	mkdir_p(RUNC_ROOT);
}

static struct lw_proc *runc(const char *const *args)
{
	const char *argv[16];
	size_t n = 0;

	argv[n++] = ctr.runc;
	argv[n++] = "--root";
	argv[n++] = RUNC_ROOT;
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return lw_spawn(argv, NULL);
}

/*
 * Starts args in the container, in the foreground (`runc run`: its stdout
 * is the test's), and waits for the fixture's first line.  First a
 * container running /usr/bin/true from the same bundle must work: a
 * machine where runc cannot run containers is told apart from a failure.
 */
static struct lw_proc *start_container(const char *const *args, int64_t limit)
{
	static const char *const t[] = { "/usr/bin/true", NULL };
	struct lw_proc *probe, *r, *st;
	json_object *state;

	make_bundle();
	write_config(t, limit);
	ctr.created = true;
	probe = runc((const char *const[]){ "run", "--bundle", ctr.bundle, ctr.id, NULL });
	if (lw_wait_exit(probe))
		lw_cannot_run(lw_fmt("runc cannot run a container on this machine (exit %d): %s",
				     probe->exit_code, lw_tail(&probe->err)));

	write_config(args, limit);
	r = runc((const char *const[]){ "run", "--bundle", ctr.bundle, ctr.id, NULL });
	lw_next_line(r);	/* the fixture's pid line: its pid in its own namespace */
	st = runc((const char *const[]){ "state", ctr.id, NULL });
	cr_assert_eq(lw_wait_exit(st), 0, "runc state: %s", lw_tail(&st->err));
	state = json_tokener_parse(st->out.data);
	cr_assert(state, "runc state printed no JSON: %s", st->out.data);
	cr_assert_str_eq(lw_str(state, "status"), "running");
	ctr.pid = (pid_t)lw_int(state, "pid");
	json_object_put(state);
	cr_assert_gt(ctr.pid, 1);
	return r;
}

/* The four fields, exactly the container's. */
static void expect_identity(json_object *o, const char *what)
{
	cr_assert_str_eq(lw_str(o, "namespace"), NAMESPACE, "%s: namespace", what);
	cr_assert_str_eq(lw_str(o, "pod"), ctr.pod, "%s: pod", what);
	cr_assert_str_eq(lw_str(o, "container"), CONTAINER, "%s: container", what);
	cr_assert_str_eq(lw_str(o, "container_id"), ctr.id, "%s: container_id", what);
}

/* delayed in the container under leakwatch -p: its leaks and its names. */
static void trace_delayed(struct lw_proc *r, struct lw_proc *lw)
{
	lw_wait_ready(lw);
	kill(ctr.pid, SIGUSR1);
	cr_assert_str_eq(lw_next_line(r), "leaked");
	kill(ctr.pid, SIGUSR1);
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch exited with %d:\n%s", lw->exit_code,
		     lw_tail(&lw->err));
	cr_assert_eq(lw_wait_exit(r), 0, "the container exited with %d:\n%s", r->exit_code,
		     lw_tail(&r->err));
}

CONTAINER_TEST(report_names_the_pod)
{
	static const char *const args[] = { "/fx/delayed", NULL };
	const char *out = lw_tmp("report.json");
	struct lw_proc *r = start_container(args, 0), *lw;
	json_object *report, *proc;

	lw = lw_leakwatch_start((const char *const[]){ "-f", "json", "-o", out, "-p",
						       lw_fmt("%d", (int)ctr.pid), NULL }, NULL);
	trace_delayed(r, lw);
	report = lw_report(out);
	lw_expect_no_loss(report);
	proc = lw_process_by_pid(report, ctr.pid);
	expect_identity(proc, "report");
	lw_expect_function(proc, "late_leak", 15554, 2);
	lw_expect_exited(proc, 0);
}

/* The entry of pid in --watch's /api/v1/processes, once it is sampled. */
static json_object *watched(int port, pid_t pid, json_object **all)
{
	int64_t deadline = lw_now_ms() + 30000;

	for (;;) {
		struct lw_http_reply r = lw_http(port, "GET", "/api/v1/processes");
		json_object *a = json_tokener_parse(r.body);
		size_t i;

		cr_assert(r.status == 200 && a && json_object_is_type(a, json_type_array),
			  "/api/v1/processes: %d %.200s", r.status, r.body);
		for (i = 0; i < json_object_array_length(a); i++) {
			json_object *e = json_object_array_get_idx(a, i);

			if (lw_int(e, "pid") == pid) {
				*all = a;
				return e;
			}
		}
		json_object_put(a);
		cr_assert(lw_now_ms() < deadline, "process %d never in /api/v1/processes",
			  (int)pid);
		usleep(200 * 1000);
	}
}

/*
 * leakwatch --watch, as the DaemonSet runs it, selecting by namespace: the
 * container's process is in /api/v1/processes and /metrics with its
 * namespace, pod and container, and a trace requested of it names them in
 * its report with exactly what it leaked (every allocation kept: -s 0).
 */
CONTAINER_TEST(watch_names_the_pod)
{
	static const char *const args[] = { "/fx/delayed", NULL };
	struct lw_proc *r = start_container(args, 0), *lw;
	json_object *all, *e, *report, *proc;
	struct lw_http_reply m;
	const char *series, *out = lw_tmp("watch-report.json");
	int port;
	FILE *f;

	lw_loopback_up();
	lw = lw_leakwatch_start((const char *const[]){ "--watch", "--listen", "127.0.0.1:0",
						       "--sample-interval", "1", "--top", "100000",
						       "--namespace", NAMESPACE, "-s", "0",
						       "--cpu-budget", "100", NULL }, NULL);
	lw_wait_ready(lw);
	port = lw_watch_port(lw);
	e = watched(port, ctr.pid, &all);
	expect_identity(e, "/api/v1/processes");
	json_object_put(all);
	m = lw_http(port, "GET", "/metrics");
	series = lw_fmt("\nleakwatch_process_anon_bytes{pid=\"%d\",comm=\"delayed\",namespace=\""
			NAMESPACE "\",pod=\"%s\",container=\"" CONTAINER "\"} ",
			(int)ctr.pid, ctr.pod);
	cr_assert(m.status == 200 && strstr(m.body, series), "no %s in /metrics:\n%.2000s",
		  series + 1, m.body);
	/* the container's series, for the log */
	for (const char *l = m.body, *nl; (nl = strchr(l, '\n')); l = nl + 1) {
		const char *pod = lw_fmt("pod=\"%s\"", ctr.pod);

		if (!strncmp(l, "leakwatch_", 10) && memmem(l, (size_t)(nl - l), pod, strlen(pod)))
			fprintf(stderr, "[containers] %.*s\n", (int)(nl - l), l);
	}

	m = lw_http(port, "POST", lw_fmt("/api/v1/processes/%d/trace?seconds=3", (int)ctr.pid));
	cr_assert_eq(m.status, 202, "trace request: %d %s", m.status, m.body);
	cr_assert(lw_wait_err(lw, lw_fmt("tracing PID %d", (int)ctr.pid), 30000) >= 0,
		  "the container's process was not traced:\n%s", lw_tail(&lw->err));
	kill(ctr.pid, SIGUSR1);
	cr_assert_str_eq(lw_next_line(r), "leaked");
	/* the 3 s trace, then its report: well within 30 s */
	for (int64_t deadline = lw_now_ms() + 30000; lw_now_ms() < deadline;) {
		usleep(200 * 1000);
		m = lw_http(port, "GET", lw_fmt("/api/v1/processes/%d/report", (int)ctr.pid));
		if (m.status != 404)
			break;
	}
	cr_assert_eq(m.status, 200, "report: %d %s", m.status, m.body);
	f = fopen(out, "w");
	cr_assert(f && fputs(m.body, f) >= 0 && !fclose(f));
	report = lw_report(out);
	lw_expect_no_loss(report);
	proc = lw_process_by_pid(report, ctr.pid);
	expect_identity(proc, "the trace's report");
	lw_expect_function(proc, "late_leak", 15554, 2);
	kill(ctr.pid, SIGUSR1);
	cr_assert_eq(lw_wait_exit(r), 0, "the container exited with %d:\n%s", r->exit_code,
		     lw_tail(&r->err));
	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
}

/* Whether dir is a cgroup hierarchy's root. */
static bool is_hierarchy(const char *dir)
{
	return !access(lw_fmt("%s/cgroup.procs", dir), F_OK);
}

/*
 * leakwatch in a cgroup namespace of its own, as in a DaemonSet's pod:
 * rooted at a cgroup made for it, so that the container's path reads
 * "/../kubepods/..." there; leakwatch finds the host's path (its -v output
 * says which) and the text report names the container.
 */
CONTAINER_TEST(report_from_another_cgroup_namespace)
{
	static const char *const args[] = { "/fx/delayed", NULL };
	const char *out = lw_tmp("report.txt"), *join = "", *seen;
	static const char *const hierarchies[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified",
						    "/sys/fs/cgroup/memory" };
	struct lw_proc *r = start_container(args, 0), *lw, *cat;

	cr_assert(access("/usr/bin/unshare", X_OK) == 0, "unshare (util-linux) is missing");
	/* a cgroup in each hierarchy leakwatch may read the container's path
	 * from (v1's memory controller, cgroup v2), joined by the shell that
	 * execs unshare: its namespace's root */
	snprintf(ctr.cgns, sizeof(ctr.cgns), "/leakwatch-cgns-%d", (int)getpid());
	for (size_t i = 0; i < sizeof(hierarchies) / sizeof(hierarchies[0]); i++) {
		if (!is_hierarchy(hierarchies[i]))
			continue;
		mkdir_p(lw_fmt("%s%s", hierarchies[i], ctr.cgns));
		join = lw_fmt("%secho $$ > %s%s/cgroup.procs && ", join, hierarchies[i], ctr.cgns);
	}
	cr_assert(*join, "no cgroup hierarchy under /sys/fs/cgroup");

	/* the premise: from there, the container's path is relative */
	cat = lw_spawn((const char *const[]){ "/bin/sh", "-c",
		lw_fmt("%sexec /usr/bin/unshare --cgroup cat /proc/%d/cgroup", join, (int)ctr.pid), NULL },
		NULL);
	cr_assert_eq(lw_wait_exit(cat), 0, "%s", lw_tail(&cat->err));
	seen = lw_fmt(":/../kubepods/burstable/pod%s/%s\n", ctr.pod_uid, ctr.id);
	cr_assert(strstr(cat->out.data, seen), "the container's cgroup from the namespace:\n%s",
		  cat->out.data);

	lw = lw_spawn((const char *const[]){ "/bin/sh", "-c",
		lw_fmt("%sexec /usr/bin/unshare --cgroup %s -v -o %s -p %d", join, lw_leakwatch(),
		       out, (int)ctr.pid), NULL }, NULL);
	trace_delayed(r, lw);
	/* -v: the relative path was turned into the host's, then named */
	seen = lw_fmt("identity: /kubepods/burstable/pod%s/%s: container %.12s, pod " NAMESPACE
		      "/%s, container " CONTAINER "\n", ctr.pod_uid, ctr.id, ctr.id, ctr.pod);
	cr_assert(strstr(lw->err.data, seen), "no\n%s\nin leakwatch -v's output:\n%s", seen,
		  lw_tail(&lw->err));
	cat = lw_spawn((const char *const[]){ "/bin/cat", out, NULL }, NULL);
	lw_wait_exit(cat);
	seen = lw_fmt("\nPID %d (delayed) exited with 0: ", (int)ctr.pid);
	cr_assert(strstr(cat->out.data, seen), "no\n%s\nin the report:\n%s", seen, cat->out.data);
	seen = lw_fmt("\n  cmdline: /fx/delayed\n  container: " CONTAINER ", pod " NAMESPACE
		      "/%s, id %.12s\n", ctr.pod, ctr.id);
	cr_assert(strstr(cat->out.data, seen), "no\n%s\nin the report:\n%s", seen, cat->out.data);
}

/* The postmortem of the container's oomer in dir (waiting up to 20 s while
 * lw runs): the victim and the kill's memcg are the container.  Returns
 * the postmortem's JSON, the caller's to put. */
static json_object *expect_postmortem(const char *dir, struct lw_proc *lw, bool traced)
{
	const char *suffix = lw_fmt("-%d-oomer.json", (int)ctr.pid), *path = NULL, *txt;
	struct lw_proc *cat;
	json_object *pm, *k;
	int64_t deadline;

	for (deadline = lw_now_ms() + 20000; !path && lw_now_ms() < deadline;) {
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.' && lw_ends_with(de->d_name, suffix))
				path = lw_fmt("%s/%s", dir, de->d_name);
		if (d)
			closedir(d);
		usleep(20 * 1000);
	}
	cr_assert(path, "no postmortem *%s in %s after 20 s; leakwatch:\n%s", suffix, dir,
		  lw_tail(&lw->err));
	pm = json_object_from_file(path);
	cr_assert(pm, "postmortem %s does not parse", path);
	cr_assert_eq(lw_bool(pm, "traced"), traced);
	expect_identity(lw_get(pm, "victim"), "victim");
	cr_assert_str_eq(lw_str(lw_get(pm, "victim"), "cgroup"), ctr.cgroup);
	k = lw_get(pm, "kill");
	cr_assert_str_eq(lw_str(k, "scope"), "memcg");
	cr_assert_str_eq(lw_str(k, "memcg"), ctr.cgroup);
	cr_assert_eq(lw_int(k, "memcg_limit_bytes"), LIMIT);
	expect_identity(lw_get(k, "memcg_container"), "kill memcg");

	txt = lw_fmt("%.*s.txt", (int)(strlen(path) - 5), path);
	cat = lw_spawn((const char *const[]){ "/bin/cat", txt, NULL }, NULL);
	lw_wait_exit(cat);
	cr_assert(strstr(cat->out.data, lw_fmt("\n  in container " CONTAINER ", pod " NAMESPACE
					       "/%s, id %s\n", ctr.pod, ctr.id)),
		  "%s", cat->out.data);
	cr_assert(strstr(cat->out.data, lw_fmt("\n  memcg of container " CONTAINER ", pod "
					       NAMESPACE "/%s, id %s\n", ctr.pod, ctr.id)),
		  "%s", cat->out.data);
	return pm;
}

/* oomer in the container, under its 64 MiB limit: traced (-p), it is
 * also in the final report, exited with 137. */
CONTAINER_TEST(oom_postmortem_names_the_pod)
{
	static const char *const args[] = { "/fx/oomer", "-", "wait", NULL };
	const char *out = lw_tmp("report.json"), *dir;
	struct lw_proc *r = start_container(args, LIMIT), *lw;
	json_object *report;
	char *slash;

	dir = lw_fmt("%s", out);
	slash = strrchr(dir, '/');
	*slash = '\0';
	lw = lw_leakwatch_start((const char *const[]){ "--postmortem-dir", dir, "-f", "json",
						       "-o", out, "-p",
						       lw_fmt("%d", (int)ctr.pid), NULL }, NULL);
	lw_wait_ready(lw);
	kill(ctr.pid, SIGUSR1);
	json_object_put(expect_postmortem(dir, lw, true));

	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch exited with %d:\n%s", lw->exit_code,
		     lw_tail(&lw->err));
	lw_wait_exit(r);
	report = lw_report(out);
	expect_identity(lw_process_by_pid(report, ctr.pid), "report");
	lw_expect_exited(lw_process_by_pid(report, ctr.pid), 137);
}

/* --oom-only: the victim is not traced; its names come from its memory
 * cgroup's path in the kernel's record.  With --host-root, as a DaemonSet
 * runs it (the host's root here being /): the memory cgroup's statistics
 * are read under it. */
CONTAINER_TEST(oom_only_postmortem_names_the_pod)
{
	static const char *const args[] = { "/fx/oomer", "-", "wait", NULL };
	const char *dir = lw_tmp("pm");
	struct lw_proc *r = start_container(args, LIMIT), *lw;
	json_object *pm, *memcg;
	char *slash;

	dir = lw_fmt("%s", dir);
	slash = strrchr(dir, '/');
	*slash = '\0';
	lw = lw_leakwatch_start((const char *const[]){ "--oom-only", "--postmortem-dir", dir,
						       "--host-root", "/", NULL }, NULL);
	lw_wait_ready(lw);
	kill(ctr.pid, SIGUSR1);
	pm = expect_postmortem(dir, lw, false);
	memcg = lw_get(pm, "memcg");
	cr_assert(memcg, "no memory cgroup statistics under the host root");
	cr_assert_str_eq(lw_str(memcg, "path"), ctr.cgroup);
	cr_assert_eq(lw_int(memcg, "limit_bytes"), LIMIT);
	json_object_put(pm);
	lw_wait_exit(r);
	lw_signal(lw, SIGINT);
	cr_assert_eq(lw_wait_exit(lw), 0, "leakwatch exited with %d:\n%s", lw->exit_code,
		     lw_tail(&lw->err));
}
