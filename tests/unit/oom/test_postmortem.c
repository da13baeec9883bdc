// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The postmortem writer on hand-made models: file names, atomic files,
 * retention, the JSON's fields (and the embedded process in the report's
 * schema), the text, and the mappings summary.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postmortem.h"

#define EVENT_NS 5000000000ull

static uint64_t fake_clock(void)
{
	return EVENT_NS + 12500000;	/* 12.5 ms after the event */
}

static char *tmp_dir(void)
{
	char *d = strdup("/tmp/lw-pm-test.XXXXXX");

	cr_assert(d && mkdtemp(d), "mkdtemp: %s", strerror(errno));
	return d;
}

static void rm_dir(char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

static size_t count_files(const char *dir, const char *suffix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0, k = strlen(suffix);

	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] != '.' && len >= k && !strcmp(de->d_name + len - k, suffix))
			n++;
	}
	closedir(d);
	return n;
}

static size_t count_temporary(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, ".leakwatch-", 11);
	closedir(d);
	return n;
}

/* A victim that held 3 MiB from grow_cache and 1 KiB from main. */
static struct report_frame frames_a[] = {
	{ 0x401136, "grow_cache", 0x2a, "/src/oomer.c", 65, "/bin/oomer", false, NULL, 0, false },
	{ 0x4011f0, "main", 0xeb, "/src/oomer.c", 91, "/bin/oomer", false, NULL, 0, false },
};
static struct report_frame frames_b[] = {
	{ 0x401200, "main", 0x100, NULL, 0, "/bin/oomer", false, NULL, 0, false },
};
static struct report_stack stacks[] = {
	{ .bytes = 3 << 20, .allocs = 3, .kind = "heap", .oldest_age_ms = 40, .nframes = 2,
	  .frames = frames_a },
	{ .bytes = 1024, .allocs = 1, .kind = "heap", .oldest_age_ms = 41, .nframes = 1,
	  .frames = frames_b },
};
static struct report_process proc = {
	.pid = 4242, .comm = "oomer", .cmdline = "/bin/oomer /sys/fs/cgroup/memory/x",
	.outstanding_bytes = (3 << 20) + 1024, .outstanding_allocs = 4,
	.stacks_total = 2, .nstacks = 2, .stacks = stacks,
};

static struct memcg_kv stat_kv[] = { { "rss", 3 << 20 }, { "cache", 0 } };
static struct memcg_kv oom_kv[] = { { "oom_kill_disable", 0 }, { "under_oom", 1 },
				    { "oom_kill", 1 } };
static struct memcg_info memcg = {
	.version = MEMCG_V1, .path = "/x", .usage = 64 << 20, .limit = 64 << 20,
	.stat = { stat_kv, 2 }, .oom_control = { oom_kv, 3 },
};
static struct pm_map_group groups[] = { { "[anon]", 4, 3 << 20 }, { "/bin/oomer", 5, 20480 } };
static struct pm_maps maps = {
	.count = 9, .size_bytes = (3 << 20) + 20480,
	.have_kinds = true, .exec_bytes = 8192, .data_bytes = 3 << 20, .stack_bytes = 4096,
	.heap_bytes = 0,
	.have_groups = true, .anon_size_bytes = 3 << 20, .file_size_bytes = 20480,
	.ngroups = 2, .groups = groups,
};
static struct pm_rss rss = { 3 << 20, 1 << 20, 4096, 0, 70 << 20, true };
static struct rss_sample timeline[] = {
	{ EVENT_NS - 2000000000ull, 1 << 20, 100 << 10 },
	{ EVENT_NS - 1000000000ull, 2 << 20, 1 << 20 },
	{ EVENT_NS, 4 << 20, 3 << 20 },
};

static struct postmortem model(void)
{
	struct postmortem pm = {
		.kind = PM_OOM_KILL,
		.event_ns = EVENT_NS,
		/* 2026-11-22T03:36:07.123Z */
		.event_time = { 1795318567, 123456789 },
		.traced = true,
		.victim = { 4242, "oomer", "/bin/oomer /sys/fs/cgroup/memory/x", 0, "/x", NULL },
		.kill = { "memcg", "page_counters", "/x", true, 64 << 20, 64 << 20, -1,
			  4242, 4243, "oomer" },
		.rss = &rss,
		.maps = &maps,
		.timeline = timeline,
		.ntimeline = 3,
		.timeline_interval_ms = 1000,
		.memcg = &memcg,
		.process = &proc,
	};

	return pm;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "key %s missing in %s", key,
		  json_object_to_json_string(o));
	return v;
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	cr_assert(json_object_is_type(v, json_type_int), "%s is not an integer", key);
	return json_object_get_int64(v);
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	cr_assert(json_object_is_type(v, json_type_string), "%s is not a string", key);
	return json_object_get_string(v);
}

Test(postmortem, stem)
{
	struct postmortem pm = model();
	char *stem;

	stem = postmortem_stem(&pm);
	cr_assert_str_eq(stem, "20261122T033607.123Z-4242-oomer");
	free(stem);

	pm.kind = PM_SNAPSHOT;
	pm.victim.comm = "a/b c\x01\xff.";
	stem = postmortem_stem(&pm);
	cr_assert_str_eq(stem, "20261122T033607.123Z-4242-a_b_c__..snapshot");
	free(stem);

	pm.victim.comm = NULL;
	stem = postmortem_stem(&pm);
	cr_assert_str_eq(stem, "20261122T033607.123Z-4242-unknown.snapshot");
	free(stem);
}

Test(postmortem, writes_both_files_atomically)
{
	struct postmortem pm = model();
	struct pm_write_opts o = { .text_top = 10, .clock_ns = fake_clock };
	char *dir = tmp_dir(), *json = NULL, *text = NULL, *path;
	json_object *root, *v, *k, *p, *st, *fr;
	double latency = 0;

	o.dir = dir;
	cr_assert_eq(postmortem_write(&pm, &o, &json, &latency), 0);
	cr_assert_eq(latency, 12.5);
	cr_assert(asprintf(&path, "%s/20261122T033607.123Z-4242-oomer.json", dir) > 0);
	cr_assert_str_eq(json, path);
	free(path);
	cr_assert_eq(count_files(dir, ".json"), 1);
	cr_assert_eq(count_files(dir, ".txt"), 1);
	cr_assert_eq(count_temporary(dir), 0, "no temporary file is left");

	root = json_object_from_file(json);
	cr_assert_not_null(root, "JSON does not parse: %s", json_util_get_last_err());
	cr_assert_eq(get_int(root, "version"), POSTMORTEM_JSON_VERSION);
	cr_assert_str_eq(get_str(root, "kind"), "oom_kill");
	cr_assert_str_eq(get_str(root, "timestamp"), "2026-11-22T03:36:07.123Z");
	cr_assert_str_eq(json_object_to_json_string(get(root, "capture_latency_ms")), "12.500");
	cr_assert(json_object_get_boolean(get(root, "traced")));

	v = get(root, "victim");
	cr_assert_eq(get_int(v, "pid"), 4242);
	cr_assert_str_eq(get_str(v, "comm"), "oomer");
	cr_assert_eq(get_int(v, "uid"), 0);
	cr_assert_str_eq(get_str(v, "cgroup"), "/x");
	cr_assert_null(get(v, "container_id"));
	cr_assert_null(get(v, "namespace"));
	cr_assert_null(get(v, "pod"));
	cr_assert_null(get(v, "container"));

	k = get(root, "kill");
	cr_assert_null(get(k, "memcg_container"));
	cr_assert_str_eq(get_str(k, "scope"), "memcg");
	cr_assert_str_eq(get_str(k, "scope_source"), "page_counters");
	cr_assert_str_eq(get_str(k, "memcg"), "/x");
	cr_assert_eq(get_int(k, "memcg_limit_bytes"), 64 << 20);
	cr_assert_eq(get_int(k, "memcg_usage_bytes"), 64 << 20);
	cr_assert_null(get(k, "order"));
	cr_assert_eq(get_int(get(k, "trigger"), "tid"), 4243);
	cr_assert(!json_object_object_get_ex(root, "threshold_percent", NULL));

	cr_assert_eq(get_int(get(root, "rss"), "anon_bytes"), 3 << 20);
	cr_assert_eq(get_int(get(root, "rss"), "total_vm_bytes"), 70 << 20);
	cr_assert_eq(get_int(get(root, "mappings"), "groups_total"), 2);
	cr_assert_eq(get_int(get(root, "mappings"), "exec_bytes"), 8192);
	cr_assert_eq(get_int(get(root, "mappings"), "heap_bytes"), 0);
	cr_assert_str_eq(get_str(json_object_array_get_idx(get(get(root, "mappings"), "groups"),
							   0), "name"), "[anon]");
	v = get(get(root, "rss_timeline"), "samples");
	cr_assert_eq(json_object_array_length(v), 3);
	cr_assert_eq(get_int(json_object_array_get_idx(v, 0), "t_ms"), -2000);
	cr_assert_eq(get_int(json_object_array_get_idx(v, 2), "t_ms"), 0);
	cr_assert_eq(get_int(get(root, "memcg"), "version"), 1);
	cr_assert_eq(get_int(get(get(root, "memcg"), "oom_control"), "oom_kill"), 1);
	cr_assert_eq(get_int(get(get(root, "memcg"), "stat"), "rss"), 3 << 20);
	cr_assert(!json_object_object_get_ex(get(root, "memcg"), "events", NULL));

	/* the report's processes[] schema */
	p = get(root, "process");
	cr_assert_eq(get_int(p, "pid"), 4242);
	cr_assert(!json_object_get_boolean(get(p, "exited")));
	cr_assert_eq(get_int(p, "outstanding_bytes"), (3 << 20) + 1024);
	cr_assert_eq(get_int(p, "stacks_total"), 2);
	st = json_object_array_get_idx(get(p, "stacks"), 0);
	cr_assert_eq(get_int(st, "bytes"), 3 << 20);
	cr_assert_str_eq(get_str(st, "kind"), "heap");
	fr = json_object_array_get_idx(get(st, "frames"), 0);
	cr_assert_str_eq(get_str(fr, "function"), "grow_cache");
	cr_assert_str_eq(get_str(fr, "address"), "0x401136");
	cr_assert_eq(get_int(fr, "line"), 65);
	json_object_put(root);

	cr_assert(asprintf(&path, "%s/20261122T033607.123Z-4242-oomer.txt", dir) > 0);
	{
		FILE *f = fopen(path, "r");
		size_t n;

		cr_assert_not_null(f);
		text = calloc(1, 65536);
		n = fread(text, 1, 65535, f);
		fclose(f);
		cr_assert(n > 0);
	}
	cr_assert(strstr(text, "leakwatch OOM postmortem: PID 4242 (oomer) killed at "
			 "2026-11-22T03:36:07.123Z\n"), "%s", text);
	cr_assert(strstr(text, "captured 12.5 ms after the kill"), "%s", text);
	cr_assert(strstr(text, "kill: memcg OOM in /x (from page_counters)\n"), "%s", text);
	cr_assert(strstr(text, "memcg usage 64.0 MiB, limit 64.0 MiB\n"), "%s", text);
	cr_assert(strstr(text, "triggered by PID 4242 thread 4243 (oomer)\n"), "%s", text);
	cr_assert(strstr(text, "RSS: anon 3.0 MiB, file 1.0 MiB, shmem 4.0 KiB;"), "%s", text);
	cr_assert(strstr(text, "     -2.0 s  1.0 MiB (anon 100.0 KiB)\n"), "%s", text);
	cr_assert(strstr(text, "mappings: 9, 3.0 MiB virtual (3.0 MiB not file-backed, 20.0 KiB "
			 "file-backed)\n  executable 8.0 KiB, data 3.0 MiB, stack 4.0 KiB, heap 0 B\n"),
		  "%s", text);
	cr_assert(strstr(text, "memory cgroup /x (cgroup v1): usage 64.0 MiB, limit 64.0 MiB\n"),
		  "%s", text);
	cr_assert(strstr(text, "    oom_kill 1\n"), "%s", text);
	cr_assert(strstr(text, "PID 4242 (oomer) running: 3.0 MiB"), "%s", text);
	cr_assert(strstr(text, "grow_cache+0x2a (oomer.c:65)"), "%s", text);
	free(text);
	free(path);
	free(json);
	rm_dir(dir);
}

Test(postmortem, untraced_snapshot_and_unknowns)
{
	struct postmortem pm = model();
	struct memcg_info v2 = memcg;
	struct memcg_kv ev[] = { { "oom", 0 }, { "oom_kill", 0 } };
	json_object *root;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	pm.kind = PM_SNAPSHOT;
	pm.threshold_percent = 50;
	pm.traced = false;
	pm.process = NULL;
	pm.maps = NULL;
	pm.rss = NULL;
	pm.ntimeline = 0;
	pm.victim.uid = -1;
	pm.victim.cmdline = "bad \xff utf-8";
	pm.victim.container_id = "0123";
	v2.version = MEMCG_V2;
	v2.limit = MEMCG_UNLIMITED;
	v2.events = (struct memcg_kvs){ ev, 2 };
	pm.memcg = &v2;

	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_json(f, &pm, 1.0), 0);
	fclose(f);
	root = json_tokener_parse(buf);
	cr_assert_not_null(root, "%s", buf);
	cr_assert_str_eq(get_str(root, "kind"), "snapshot");
	cr_assert_eq(get_int(root, "threshold_percent"), 50);
	cr_assert_null(get(root, "kill"));
	cr_assert_null(get(root, "process"));
	cr_assert_null(get(root, "mappings"));
	cr_assert_null(get(root, "rss"));
	cr_assert_null(get(get(root, "victim"), "uid"));
	cr_assert_str_eq(get_str(get(root, "victim"), "cmdline"), "bad \xef\xbf\xbd utf-8");
	cr_assert_str_eq(get_str(get(root, "victim"), "container_id"), "0123");
	cr_assert_null(get(get(root, "memcg"), "limit_bytes"));
	cr_assert_eq(get_int(get(get(root, "memcg"), "events"), "oom_kill"), 0);
	cr_assert(!json_object_object_get_ex(get(root, "memcg"), "oom_control", NULL));
	cr_assert_eq(json_object_array_length(get(get(root, "rss_timeline"), "samples")), 0);
	json_object_put(root);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_text(f, &pm, 1.0, 10), 0);
	fclose(f);
	cr_assert(strstr(buf, "leakwatch memory snapshot: PID 4242 (oomer) snapshot at"), "%s", buf);
	cr_assert(strstr(buf, "not traced"), "%s", buf);
	cr_assert(strstr(buf, "passed 50% of its limit"), "%s", buf);
	cr_assert(strstr(buf, "mappings: not readable"), "%s", buf);
	cr_assert(strstr(buf, "limit none"), "%s", buf);
	cr_assert(!strstr(buf, "outstanding allocations"), "%s", buf);
	free(buf);
}

/* The victim exited before /proc/PID/maps was read: the kernel's counts. */
#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A victim in a Kubernetes container: its names in both documents, and
 * those of the memcg whose limit was hit, a container's or a pod's. */
Test(postmortem, containers)
{
	struct postmortem pm = model();
	json_object *root, *v, *k;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	pm.victim.cgroup = "/kubepods/burstable/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/" CID;
	pm.victim.container_id = CID;
	pm.victim.namespace = "shop";
	pm.victim.pod = "web-0";
	pm.victim.container = "app\x1b]0;x";
	pm.kill.memcg = pm.victim.cgroup;
	pm.kill.memcg_container = (struct pm_container){ "shop", "web-0", "app\x1b]0;x", CID };

	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_json(f, &pm, 1.0), 0);
	fclose(f);
	root = json_tokener_parse(buf);
	cr_assert_not_null(root, "%s", buf);
	v = get(root, "victim");
	cr_assert_str_eq(get_str(v, "container_id"), CID);
	cr_assert_str_eq(get_str(v, "namespace"), "shop");
	cr_assert_str_eq(get_str(v, "pod"), "web-0");
	cr_assert_str_eq(get_str(v, "container"), "app\x1b]0;x");
	k = get(get(root, "kill"), "memcg_container");
	cr_assert_str_eq(get_str(k, "namespace"), "shop");
	cr_assert_str_eq(get_str(k, "pod"), "web-0");
	cr_assert_str_eq(get_str(k, "container"), "app\x1b]0;x");
	cr_assert_str_eq(get_str(k, "container_id"), CID);
	json_object_put(root);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_text(f, &pm, 1.0, 10), 0);
	fclose(f);
	cr_assert(strstr(buf, "\n  in container app?]0;x, pod shop/web-0, id " CID "\n"), "%s", buf);
	cr_assert(strstr(buf, "\n  memcg of container app?]0;x, pod shop/web-0, id " CID "\n"),
		  "%s", buf);
	free(buf);

	/* a pod's own memcg: the pod, no container */
	pm.kill.memcg = "/kubepods/burstable/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d";
	pm.kill.memcg_container = (struct pm_container){ "shop", "web-0", NULL, NULL };
	buf = NULL;
	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_json(f, &pm, 1.0), 0);
	fclose(f);
	root = json_tokener_parse(buf);
	k = get(get(root, "kill"), "memcg_container");
	cr_assert_str_eq(get_str(k, "pod"), "web-0");
	cr_assert_null(get(k, "container"));
	cr_assert_null(get(k, "container_id"));
	json_object_put(root);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_text(f, &pm, 1.0, 10), 0);
	fclose(f);
	cr_assert(strstr(buf, "\n  memcg of pod shop/web-0\n"), "%s", buf);
	free(buf);
}

Test(postmortem, mappings_without_groups)
{
	struct postmortem pm = model();
	struct pm_maps m = { .count = 25, .size_bytes = 70 << 20, .have_kinds = true,
			     .exec_bytes = 1 << 20, .data_bytes = 64 << 20, .stack_bytes = 4096,
			     .heap_bytes = 8192 };
	json_object *root, *o;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	pm.maps = &m;
	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_json(f, &pm, 1.0), 0);
	fclose(f);
	root = json_tokener_parse(buf);
	o = get(root, "mappings");
	cr_assert_eq(get_int(o, "count"), 25);
	cr_assert_eq(get_int(o, "data_bytes"), 64 << 20);
	cr_assert_null(get(o, "groups"));
	cr_assert_null(get(o, "groups_total"));
	cr_assert_null(get(o, "anon_size_bytes"));
	json_object_put(root);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	cr_assert_eq(postmortem_write_text(f, &pm, 1.0, 10), 0);
	fclose(f);
	cr_assert(strstr(buf, "mappings: 25, 70.0 MiB virtual\n  executable 1.0 MiB, data 64.0 MiB, "
			 "stack 4.0 KiB, heap 8.0 KiB\n  (gone with the process before "
			 "/proc/PID/maps could be read)\n"), "%s", buf);
	free(buf);
}

Test(postmortem, retention_keeps_the_newest)
{
	struct postmortem pm = model();
	struct pm_write_opts o = { .keep = 3, .clock_ns = fake_clock };
	char *dir = tmp_dir(), *other;
	FILE *f;
	int i;

	o.dir = dir;
	/* a file that is not a postmortem stays */
	cr_assert(asprintf(&other, "%s/notes.json", dir) > 0);
	f = fopen(other, "w");
	cr_assert_not_null(f);
	fclose(f);
	for (i = 0; i < 5; i++) {
		pm.event_time.tv_sec = 1795318567 + i;
		pm.victim.pid = 100 + i;
		cr_assert_eq(postmortem_write(&pm, &o, NULL, NULL), 0);
	}
	cr_assert_eq(count_files(dir, ".json"), 4, "3 postmortems and notes.json");
	cr_assert_eq(count_files(dir, ".txt"), 3);
	cr_assert_eq(access(other, F_OK), 0);
	free(other);
	/* the oldest two went */
	cr_assert(asprintf(&other, "%s/20261122T033609.123Z-102-oomer.json", dir) > 0);
	cr_assert_eq(access(other, F_OK), 0, "the third is kept");
	free(other);
	cr_assert(asprintf(&other, "%s/20261122T033608.123Z-101-oomer.txt", dir) > 0);
	cr_assert_neq(access(other, F_OK), 0, "the second is gone");
	free(other);

	cr_assert_eq(postmortem_prune(dir, 1), 0);
	cr_assert_eq(count_files(dir, ".txt"), 1);
	cr_assert_eq(postmortem_prune("/nonexistent/lw", 1), -ENOENT);
	rm_dir(dir);
}

/* Another user who can write the directory plants symlinks at the names a
 * postmortem will take: root replaces the links, never writes through
 * them, and the files are root's alone (0600). */
Test(postmortem, planted_symlinks_are_not_followed)
{
	struct postmortem pm = model();
	struct pm_write_opts o = { .clock_ns = fake_clock };
	char *dir = tmp_dir(), *victim, *link, *path;
	static const char *const names[] = { "20261122T033607.123Z-4242-oomer.json",
					     "20261122T033607.123Z-4242-oomer.txt" };
	struct stat st;
	char buf[16] = "";
	FILE *f;

	cr_assert(asprintf(&victim, "%s/victim", dir) > 0);
	f = fopen(victim, "w");
	cr_assert_not_null(f);
	fputs("precious", f);
	fclose(f);
	for (size_t i = 0; i < 2; i++) {
		cr_assert(asprintf(&link, "%s/%s", dir, names[i]) > 0);
		cr_assert_eq(symlink(victim, link), 0);
		/* planted by another user: a symlink root owns is followed */
		cr_assert(geteuid() || !lchown(link, 65534, 65534), "lchown: %s", strerror(errno));
		free(link);
		/* the temporary name leakwatch once used: predictable */
		cr_assert(asprintf(&link, "%s/.%s.tmp.%d", dir, names[i], (int)getpid()) > 0);
		cr_assert_eq(symlink(victim, link), 0);
		/* planted by another user: a symlink root owns is followed */
		cr_assert(geteuid() || !lchown(link, 65534, 65534), "lchown: %s", strerror(errno));
		free(link);
	}
	o.dir = dir;
	cr_assert_eq(postmortem_write(&pm, &o, NULL, NULL), 0);
	f = fopen(victim, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "precious", "written through a planted symlink");
	for (size_t i = 0; i < 2; i++) {
		cr_assert(asprintf(&path, "%s/%s", dir, names[i]) > 0);
		cr_assert_eq(lstat(path, &st), 0);
		cr_assert(S_ISREG(st.st_mode), "%s is no regular file", names[i]);
		cr_assert_eq(st.st_mode & 07777, 0600, "%s: mode %o", names[i], st.st_mode & 07777);
		free(path);
	}
	cr_assert_eq(count_temporary(dir), 0);
	free(victim);
	rm_dir(dir);
}

Test(postmortem, write_into_missing_dir_fails)
{
	struct postmortem pm = model();
	struct pm_write_opts o = { .dir = "/nonexistent/lw-pm", .clock_ns = fake_clock };

	cr_assert_eq(postmortem_write(&pm, &o, NULL, NULL), -ENOENT);
}

Test(postmortem, maps_summary)
{
	static const char text[] =
		"55d0c0de0000-55d0c0de1000 r--p 00000000 fe:01 11 /bin/oomer\n"
		"55d0c0de1000-55d0c0de2000 r-xp 00001000 fe:01 11 /bin/oomer\n"
		"55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0 [heap]\n"
		"7f0000000000-7f0000101000 rw-p 00000000 00:00 0 \n"
		"7f0000200000-7f0000301000 rw-p 00000000 00:00 0\n"
		"7f1000000000-7f1000200000 r-xp 00000000 fe:01 12 /usr/lib/libc.so.6\n"
		"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n"
		"7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0 [vdso]\n";
	struct proc_maps m = {};
	struct pm_maps s = {};

	cr_assert_eq(procfs_parse_maps(text, &m), 0);
	cr_assert_eq(pm_maps_summarize(&m, &s), 0);
	cr_assert_eq(s.count, 8);
	cr_assert(s.have_groups && !s.have_kinds);
	cr_assert_eq(s.ngroups, 6);
	cr_assert_str_eq(s.groups[0].name, "[anon]");
	cr_assert_eq(s.groups[0].count, 2);
	cr_assert_eq(s.groups[0].size_bytes, 2 * 0x101000);
	cr_assert_str_eq(s.groups[1].name, "/usr/lib/libc.so.6");
	/* equal sizes by name */
	cr_assert_str_eq(s.groups[4].name, "/bin/oomer");
	cr_assert_eq(s.groups[4].count, 2);
	cr_assert_str_eq(s.groups[5].name, "[vdso]");
	cr_assert_eq(s.file_size_bytes, 0x2000 + 0x200000);
	cr_assert_eq(s.anon_size_bytes, s.size_bytes - s.file_size_bytes);
	cr_assert_eq(s.anon_size_bytes, 0x21000 + 2 * 0x101000 + 0x21000 + 0x2000);
	pm_maps__free(&s);
	pm_maps__free(&s);
	proc_maps__free(&m);
}
