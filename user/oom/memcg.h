/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Memory cgroups, as files: where the memory controller is mounted (cgroup
 * v1 "memory" hierarchy, or cgroup v2 with the memory controller), which
 * memory cgroup a process is in, a cgroup's usage, limit and statistics.
 * (Which container a cgroup is: identity.h.)
 *
 * The parsers work on text and are unit-tested on fixed input; the readers
 * open the files.  No libbpf.  All int functions return 0 or -Exxx
 * (-ENOENT: the file or process is gone).
 */
#ifndef LW_MEMCG_H
#define LW_MEMCG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A limit of "max" (v2), or v1's PAGE_COUNTER_MAX in bytes. */
#define MEMCG_UNLIMITED UINT64_MAX

enum memcg_version {
	MEMCG_NONE = 0,		/* no memory controller mounted */
	MEMCG_V1 = 1,
	MEMCG_V2 = 2,
};

/* Where the memory controller's hierarchy is mounted. */
struct memcg_mount {
	enum memcg_version version;
	char *mountpoint;	/* malloc'd; NULL when version is MEMCG_NONE */
	char *root;		/* malloc'd: the hierarchy's path mounted there */
};

/* One "key value" line of memory.stat, memory.events, memory.oom_control. */
struct memcg_kv {
	char *key;		/* malloc'd */
	uint64_t value;
};

struct memcg_kvs {
	struct memcg_kv *v;
	size_t n;
};

/* A memory cgroup's state, read at one moment. */
struct memcg_info {
	enum memcg_version version;
	char *path;		/* malloc'd: in the hierarchy, "/a/b" */
	uint64_t usage;		/* bytes: memory.usage_in_bytes / memory.current */
	uint64_t limit;		/* bytes, or MEMCG_UNLIMITED */
	struct memcg_kvs stat;	/* memory.stat */
	struct memcg_kvs events;	/* v2: memory.events */
	struct memcg_kvs oom_control;	/* v1: memory.oom_control */
};

/*
 * From the text of /proc/self/mountinfo: the cgroup v1 mount whose super
 * options include "memory", else the first cgroup2 mount when
 * v2_has_memory(mountpoint, ctx) says its root lists the memory controller
 * (NULL: assume it does).  No controller: 0 with out->version MEMCG_NONE.
 */
int memcg_parse_mountinfo(const char *text,
			  int (*v2_has_memory)(const char *mountpoint, void *ctx), void *ctx,
			  struct memcg_mount *out);
/* The same on this host's /proc/self/mountinfo. */
int memcg_find_mount(struct memcg_mount *out);
/* Under host_root, where a container mounts the host's /sys/fs/cgroup at
 * host_root/sys/fs/cgroup (--host-root): the v1 memory hierarchy at
 * .../memory, else cgroup v2 there when it has the memory controller; the
 * whole hierarchy, whatever this process's cgroup namespace (whose own
 * mounts show only its part).  No controller: 0 with MEMCG_NONE. */
int memcg_find_host_mount(const char *host_root, struct memcg_mount *out);
void memcg_mount__free(struct memcg_mount *m);	/* accepts NULL and zeroed */

/* The memory cgroup path in the text of /proc/PID/cgroup: the v1 line
 * whose controllers include "memory", or v2's "0::" line.  *path
 * malloc'd; -ENOENT when there is no such line. */
int memcg_parse_proc_cgroup(const char *text, enum memcg_version version, char **path);
int memcg_read_proc_cgroup(pid_t pid, enum memcg_version version, char **path);

/* The directory of cgroup path under the mount: malloc'd, NULL + errno
 * (ENOENT: the path is outside the mounted part of the hierarchy). */
char *memcg_dir(const struct memcg_mount *m, const char *path);

/* "key value" lines (values are unsigned); lines of another shape are
 * skipped.  0 or -ENOMEM; *out is replaced. */
int memcg_parse_kvs(const char *text, struct memcg_kvs *out);
void memcg_kvs__free(struct memcg_kvs *kv);	/* accepts NULL and zeroed */
/* The value of key, or -ENOENT. */
int memcg_kvs_get(const struct memcg_kvs *kv, const char *key, uint64_t *value);

/* A usage or limit file: a number of bytes, or "max" (MEMCG_UNLIMITED).
 * v1's unlimited (PAGE_COUNTER_MAX pages, just under 2^63 bytes) also
 * gives MEMCG_UNLIMITED.  0 or -EINVAL. */
int memcg_parse_bytes(const char *text, uint64_t *bytes);

/* Usage and limit of the cgroup at path (cheap: two small files). */
int memcg_read_usage(const struct memcg_mount *m, const char *path, uint64_t *usage,
		     uint64_t *limit);
/* Usage, limit and statistics of the cgroup at path.  Files that cannot be
 * read are left empty; fails only when the cgroup is not there or memory
 * runs out.  *out is replaced. */
int memcg_read(const struct memcg_mount *m, const char *path, struct memcg_info *out);
void memcg_info__free(struct memcg_info *info);	/* accepts NULL and zeroed */

#endif /* LW_MEMCG_H */
