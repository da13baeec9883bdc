// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory cgroup and RSS parsers on fixed text, as the kernel prints it
 * (fs/proc_namespace.c show_mountinfo, kernel/cgroup/cgroup.c proc_cgroup_show,
 * mm/memcontrol*.c, fs/proc/array.c and task_mmu.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memcg.h"
#include "rsswatch.h"

/* This project's hosts: every controller on its own v1 hierarchy, and a
 * cgroup2 mount without controllers. */
static const char mountinfo_hybrid[] =
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static const char mountinfo_v2[] =
	"24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	"30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 "
	"cgroup2 rw,nsdelegate,memory_recursiveprot\n";

static int says_yes(const char *mnt, void *ctx)
{
	*(int *)ctx += 1;
	return 1;
}

static int says_no(const char *mnt, void *ctx)
{
	return 0;
}

Test(memcg, mountinfo_prefers_v1_memory)
{
	struct memcg_mount m;
	int calls = 0;

	cr_assert_eq(memcg_parse_mountinfo(mountinfo_hybrid, says_yes, &calls, &m), 0);
	cr_assert_eq(m.version, MEMCG_V1);
	cr_assert_str_eq(m.mountpoint, "/sys/fs/cgroup/memory");
	cr_assert_str_eq(m.root, "/");
	memcg_mount__free(&m);
}

Test(memcg, mountinfo_v2_only_with_memory)
{
	struct memcg_mount m;
	int calls = 0;

	cr_assert_eq(memcg_parse_mountinfo(mountinfo_v2, says_yes, &calls, &m), 0);
	cr_assert_eq(calls, 1);
	cr_assert_eq(m.version, MEMCG_V2);
	cr_assert_str_eq(m.mountpoint, "/sys/fs/cgroup");
	memcg_mount__free(&m);

	/* cgroup2 without the memory controller: none */
	cr_assert_eq(memcg_parse_mountinfo(mountinfo_v2, says_no, NULL, &m), 0);
	cr_assert_eq(m.version, MEMCG_NONE);
	cr_assert_null(m.mountpoint);
	memcg_mount__free(&m);
}

Test(memcg, mountinfo_escapes_and_container_root)
{
	static const char text[] =
		"50 40 0:32 /kubepods/pod1/abc /sys/fs/cgroup/memory\\040x rw - cgroup cgroup "
		"rw,memory,hugetlb\n";
	struct memcg_mount m;
	char *dir;

	cr_assert_eq(memcg_parse_mountinfo(text, NULL, NULL, &m), 0);
	cr_assert_eq(m.version, MEMCG_V1);
	cr_assert_str_eq(m.mountpoint, "/sys/fs/cgroup/memory x");
	cr_assert_str_eq(m.root, "/kubepods/pod1/abc");

	dir = memcg_dir(&m, "/kubepods/pod1/abc/sub");
	cr_assert_str_eq(dir, "/sys/fs/cgroup/memory x/sub");
	free(dir);
	dir = memcg_dir(&m, "/kubepods/pod1/abc");
	cr_assert_str_eq(dir, "/sys/fs/cgroup/memory x");
	free(dir);
	/* outside the mounted subtree, and a sibling sharing the prefix */
	cr_assert_null(memcg_dir(&m, "/system.slice"));
	cr_assert_eq(errno, ENOENT);
	cr_assert_null(memcg_dir(&m, "/kubepods/pod1/abcd"));
	memcg_mount__free(&m);
}

Test(memcg, mountinfo_ignores_odd_lines)
{
	static const char text[] = "garbage\n\n1 2 3\n"
		"35 31 0:32 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct\n";
	struct memcg_mount m;

	cr_assert_eq(memcg_parse_mountinfo(text, NULL, NULL, &m), 0);
	cr_assert_eq(m.version, MEMCG_NONE);
}

Test(memcg, dir_at_root_mount)
{
	struct memcg_mount m = { MEMCG_V1, "/sys/fs/cgroup/memory", "/" };
	char *dir;

	dir = memcg_dir(&m, "/");
	cr_assert_str_eq(dir, "/sys/fs/cgroup/memory");
	free(dir);
	dir = memcg_dir(&m, "/leakwatch-test-1");
	cr_assert_str_eq(dir, "/sys/fs/cgroup/memory/leakwatch-test-1");
	free(dir);
	cr_assert_null(memcg_dir(&m, "relative"));
}

static const char proc_cgroup[] =
	"9:name=systemd:/\n"
	"8:pids:/\n"
	"4:memory:/process_api/f2b95ac05f4783cce9aa68ed2beb8ed4\n"
	"2:cpu,cpuacct:/x\n"
	"0::/user.slice/user-0.slice/session-1.scope\n";

/* A file in a host root made in a temporary directory. */
static void put_file(const char *root, const char *rel, const char *text)
{
	char cmd[1024];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s/%s')\"", root, rel);
	cr_assert_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/%s", root, rel);
	f = fopen(cmd, "w");
	cr_assert(f, "%s", cmd);
	fputs(text, f);
	fclose(f);
}

/* --host-root: the hierarchy under it, whole, whatever this process's own
 * mounts show */
Test(memcg, host_mount)
{
	char v1[] = "/tmp/lw-memcg-test.XXXXXX", v2[] = "/tmp/lw-memcg-test.XXXXXX";
	char none[] = "/tmp/lw-memcg-test.XXXXXX", cmd[128];
	struct memcg_mount m;
	char *dir;

	cr_assert(mkdtemp(v1) && mkdtemp(v2) && mkdtemp(none));
	put_file(v1, "sys/fs/cgroup/memory/memory.usage_in_bytes", "4096\n");
	put_file(v1, "sys/fs/cgroup/unified/cgroup.controllers", "\n");
	put_file(v2, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
	put_file(none, "sys/fs/cgroup/cgroup.controllers", "cpu pids\n");

	cr_assert_eq(memcg_find_host_mount(v1, &m), 0);
	cr_assert_eq(m.version, MEMCG_V1);
	cr_assert_str_eq(m.mountpoint, strcat(strcpy(cmd, v1), "/sys/fs/cgroup/memory"));
	cr_assert_str_eq(m.root, "/");
	dir = memcg_dir(&m, "/kubepods/burstable/pod1/c");
	cr_assert_str_eq(dir, strcat(strcpy(cmd, v1), "/sys/fs/cgroup/memory/kubepods/burstable/pod1/c"));
	free(dir);
	memcg_mount__free(&m);

	cr_assert_eq(memcg_find_host_mount(v2, &m), 0);
	cr_assert_eq(m.version, MEMCG_V2);
	cr_assert_str_eq(m.mountpoint, strcat(strcpy(cmd, v2), "/sys/fs/cgroup"));
	memcg_mount__free(&m);

	cr_assert_eq(memcg_find_host_mount(none, &m), 0);
	cr_assert_eq(m.version, MEMCG_NONE);
	cr_assert_null(m.mountpoint);
	for (size_t i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", i == 0 ? v1 : i == 1 ? v2 : none);
		cr_assert_eq(system(cmd), 0);
	}
}

Test(memcg, proc_cgroup_v1_and_v2)
{
	char *path = NULL;

	cr_assert_eq(memcg_parse_proc_cgroup(proc_cgroup, MEMCG_V1, &path), 0);
	cr_assert_str_eq(path, "/process_api/f2b95ac05f4783cce9aa68ed2beb8ed4");
	free(path);
	cr_assert_eq(memcg_parse_proc_cgroup(proc_cgroup, MEMCG_V2, &path), 0);
	cr_assert_str_eq(path, "/user.slice/user-0.slice/session-1.scope");
	free(path);

	/* memory shares a hierarchy with other controllers; no trailing newline */
	cr_assert_eq(memcg_parse_proc_cgroup("3:cpuset,memory:/a b", MEMCG_V1, &path), 0);
	cr_assert_str_eq(path, "/a b");
	free(path);
	/* "memoryx" is not "memory"; no v2 line */
	cr_assert_eq(memcg_parse_proc_cgroup("3:memoryx:/a\n", MEMCG_V1, &path), -ENOENT);
	cr_assert_eq(memcg_parse_proc_cgroup("4:memory:/a\n", MEMCG_V2, &path), -ENOENT);
}

Test(memcg, kvs)
{
	static const char text[] =
		"cache 0\nrss 66957312\nhierarchical_memory_limit 67108864\n"
		"bad line\nnegative -1\nempty \n oom_kill 3\ntotal_rss 18446744073709551615";
	struct memcg_kvs kv = {};
	uint64_t v;

	cr_assert_eq(memcg_parse_kvs(text, &kv), 0);
	cr_assert_eq(kv.n, 4);
	cr_assert_eq(memcg_kvs_get(&kv, "rss", &v), 0);
	cr_assert_eq(v, 66957312);
	cr_assert_eq(memcg_kvs_get(&kv, "hierarchical_memory_limit", &v), 0);
	cr_assert_eq(v, 67108864);
	cr_assert_eq(memcg_kvs_get(&kv, "total_rss", &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(memcg_kvs_get(&kv, "negative", &v), -ENOENT);
	cr_assert_eq(memcg_kvs_get(&kv, "oom_kill", &v), -ENOENT);
	/* a second parse replaces the first */
	cr_assert_eq(memcg_parse_kvs("oom 1\noom_kill 1\n", &kv), 0);
	cr_assert_eq(kv.n, 2);
	memcg_kvs__free(&kv);
	memcg_kvs__free(&kv);
}

Test(memcg, bytes)
{
	uint64_t v;

	cr_assert_eq(memcg_parse_bytes("67108864\n", &v), 0);
	cr_assert_eq(v, 67108864);
	cr_assert_eq(memcg_parse_bytes("max\n", &v), 0);
	cr_assert_eq(v, MEMCG_UNLIMITED);
	/* v1's "no limit": PAGE_COUNTER_MAX pages of 4 KiB and of 64 KiB */
	cr_assert_eq(memcg_parse_bytes("9223372036854771712\n", &v), 0);
	cr_assert_eq(v, MEMCG_UNLIMITED);
	cr_assert_eq(memcg_parse_bytes("9223372036854710272", &v), 0);
	cr_assert_eq(v, MEMCG_UNLIMITED);
	cr_assert_eq(memcg_parse_bytes("", &v), -EINVAL);
	cr_assert_eq(memcg_parse_bytes("12k\n", &v), -EINVAL);
	cr_assert_eq(memcg_parse_bytes("-1\n", &v), -EINVAL);
}

Test(rss, statm)
{
	uint64_t rss, anon;

	cr_assert_eq(rss_parse_statm("765 402 374 5 0 123 0\n", 4096, &rss, &anon), 0);
	cr_assert_eq(rss, 402 * 4096);
	cr_assert_eq(anon, 28 * 4096);
	cr_assert_eq(rss_parse_statm("1 2\n", 4096, &rss, &anon), -EINVAL);
	cr_assert_eq(rss_parse_statm("x", 4096, &rss, &anon), -EINVAL);
}

Test(rss, status)
{
	static const char text[] =
		"Name:\toomer\nUmask:\t0022\nState:\tR (running)\nUid:\t1000\t1001\t1001\t1001\n"
		"VmPeak:\t    3060 kB\nVmSize:\t   68284 kB\nVmRSS:\t   66212 kB\n"
		"RssAnon:\t   65300 kB\nRssFile:\t     912 kB\nRssShmem:\t       4 kB\n"
		"VmSwap:\t       8 kB\nThreads:\t1\n";
	struct rss_status st;

	cr_assert_eq(rss_parse_status(text, &st), 0);
	cr_assert_eq(st.anon, 65300 * 1024ull);
	cr_assert_eq(st.file, 912 * 1024ull);
	cr_assert_eq(st.shmem, 4 * 1024ull);
	cr_assert_eq(st.swap, 8 * 1024ull);
	cr_assert_eq(st.vm_size, 68284 * 1024ull);
	cr_assert_eq(st.uid, 1000);
	/* a kernel thread has no Rss lines */
	cr_assert_eq(rss_parse_status("Name:\tkthreadd\nUid:\t0\t0\t0\t0\n", &st), -EINVAL);
}

Test(rss, timeline_ring_keeps_the_newest)
{
	struct rsswatch *w = rsswatch__new(3, 1000);
	struct rss_sample s = {}, *out = NULL;
	size_t n = 0, i;

	cr_assert_not_null(w);
	for (i = 1; i <= 5; i++) {
		s.ts_ns = i * 1000;
		s.rss_bytes = i;
		cr_assert_eq(rsswatch__add(w, 42, &s), 0);
	}
	s.ts_ns = 1;
	cr_assert_eq(rsswatch__add(w, 7, &s), 0);
	cr_assert_eq(rsswatch__get(w, 42, &out, &n), 0);
	cr_assert_eq(n, 3);
	for (i = 0; i < 3; i++)
		cr_assert_eq(out[i].rss_bytes, i + 3, "oldest first");
	free(out);
	cr_assert_eq(rsswatch__get(w, 99, &out, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_null(out);
	rsswatch__free(w);
}

static bool keep_seven(pid_t pid, void *ctx)
{
	return pid == 7;
}

Test(rss, prune_and_own_process)
{
	struct rsswatch *w = rsswatch__new(4, 1000000000ull);
	struct rss_sample s = { .ts_ns = 1 }, *out = NULL;
	size_t n = 0;

	cr_assert_eq(rsswatch__add(w, 7, &s), 0);
	cr_assert_eq(rsswatch__add(w, 8, &s), 0);
	rsswatch__prune(w, keep_seven, NULL);
	cr_assert_eq(rsswatch__get(w, 8, &out, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(rsswatch__get(w, 7, &out, &n), 0);
	cr_assert_eq(n, 1);
	free(out);

	/* this very process, from /proc; a second sample within the interval
	 * is skipped */
	cr_assert_eq(rsswatch__sample(w, getpid(), 5000000000ull), 0);
	cr_assert_eq(rsswatch__sample(w, getpid(), 5000000001ull), 0);
	cr_assert_eq(rsswatch__get(w, getpid(), &out, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert(out[0].rss_bytes > 0 && out[0].anon_bytes <= out[0].rss_bytes);
	free(out);
	rsswatch__free(w);
}
