/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OOM postmortems and memory snapshots: a plain model (filled by
 * oomwatch.c at the kill) written to a directory as JSON and text, each
 * atomically, with bounded retention.  No libbpf, no /proc: unit-tested on
 * hand-made models.
 *
 * Files: DIR/<stem>.txt, then DIR/<stem>.json (so a JSON that exists means
 * both are complete), stem = "<UTC time>-<pid>-<comm>", with
 * ".snapshot" appended for snapshots; the time is the event's, in ISO
 * 8601 basic format with milliseconds ("20261122T033607.123Z"), so names
 * sort by time.  comm keeps [A-Za-z0-9._-], other bytes become '_'.
 *
 * JSON, version 1 (README.md, "OOM postmortems"):
 * {"version": 1, "kind": "oom_kill" | "snapshot", "timestamp": "...",
 *  "capture_latency_ms": L, "traced": bool,
 *  "victim": {"pid", "comm", "cmdline", "uid", "cgroup", "container_id",
 *             "namespace", "pod", "container"},
 *  "kill": {"scope": "memcg" | "global", "scope_source":
 *           "oom_kill_process" | "page_counters", "memcg",
 *           "memcg_container": {"namespace", "pod", "container",
 *                               "container_id"} | null, "memcg_limit_bytes",
 *           "memcg_usage_bytes", "order",
 *           "trigger": {"pid", "tid", "comm"}} | null,
 *  "threshold_percent": P (snapshots only),
 *  "rss": {"anon_bytes", "file_bytes", "shmem_bytes", "swap_bytes",
 *          "total_vm_bytes", "approximate": bool} | null,
 *  "mappings": {"count", "size_bytes", "exec_bytes", "data_bytes",
 *               "stack_bytes", "heap_bytes", "anon_size_bytes",
 *               "file_size_bytes", "groups_total",
 *               "groups": [{"name", "count", "size_bytes"}]} | null,
 *  "rss_timeline": {"interval_ms", "samples": [{"t_ms", "rss_bytes",
 *                   "anon_bytes"}]},
 *  "memcg": {"path", "version", "usage_bytes", "limit_bytes", "stat": {},
 *            "events": {} (v2), "oom_control": {} (v1)} | null,
 *  "process": <a processes[] entry of the JSON report> | null}
 * Unknown strings and numbers are null; "limit_bytes" null is no limit.  In
 * "mappings", exec/data/stack/heap come from the kernel's counters at the
 * kill, the rest from /proc/PID/maps, which a victim may have torn down
 * before it is read: those are then null, "groups" too.
 */
#ifndef LW_POSTMORTEM_H
#define LW_POSTMORTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "memcg.h"
#include "procfs.h"
#include "report.h"
#include "rsswatch.h"

#define POSTMORTEM_JSON_VERSION 1

/* Mapping groups the writers list (the largest); all are counted. */
#define PM_MAP_GROUPS 20

/* The mappings of one kind of backing: a file, or "[heap]", "[stack]",
 * "[anon]" (anonymous), "[vdso]" and the like. */
struct pm_map_group {
	char *name;		/* malloc'd */
	size_t count;
	uint64_t size_bytes;	/* virtual size */
};

struct pm_maps {
	size_t count;			/* mappings */
	uint64_t size_bytes;		/* their virtual size */
	bool have_kinds;		/* the kernel's counters: */
	uint64_t exec_bytes;		/* mapped executable */
	uint64_t data_bytes;		/* private writable, not stack */
	uint64_t stack_bytes;
	uint64_t heap_bytes;		/* brk area */
	bool have_groups;		/* /proc/PID/maps was read: */
	uint64_t anon_size_bytes;	/* of those without a file */
	uint64_t file_size_bytes;
	size_t ngroups;
	struct pm_map_group *groups;	/* by size, largest first */
};

/* Summarize a process's mappings by what backs them (have_groups, no
 * kinds); 0 or -ENOMEM. */
int pm_maps_summarize(const struct proc_maps *m, struct pm_maps *out);
void pm_maps__free(struct pm_maps *s);	/* accepts NULL and zeroed */

enum pm_kind {
	PM_OOM_KILL,
	PM_SNAPSHOT,	/* --snapshot-at: the memory cgroup passed a threshold */
};

struct pm_victim {
	int pid;
	const char *comm;
	const char *cmdline;		/* NULL: unknown */
	int64_t uid;			/* < 0: unknown */
	const char *cgroup;		/* its memory cgroup; NULL: unknown */
	const char *container_id;	/* NULL: the path shows none */
	/* the container's pod, its namespace and its name (identity.h);
	 * NULL: unknown, or not in a container */
	const char *namespace, *pod, *container;
};

/* The container or pod that a memory cgroup is (identity.h); all NULL when
 * it is neither. */
struct pm_container {
	const char *namespace, *pod, *container, *container_id;
};

struct pm_kill {
	const char *scope;		/* "memcg", "global"; NULL: unknown */
	const char *scope_source;	/* "oom_kill_process", "page_counters" */
	const char *memcg;		/* the memcg at its limit; NULL: global/unknown */
	bool have_memcg_counters;
	uint64_t memcg_limit;		/* bytes, at the kill */
	uint64_t memcg_usage;
	int order;			/* of the failed allocation; < 0: unknown */
	int trigger_pid;		/* the task whose allocation failed */
	int trigger_tid;
	const char *trigger_comm;
	struct pm_container memcg_container;	/* whose memcg it is */
};

struct pm_rss {
	uint64_t anon, file, shmem, swap;	/* bytes */
	uint64_t total_vm;			/* bytes */
	bool approximate;			/* per-CPU counter drift */
};

struct postmortem {
	enum pm_kind kind;
	uint64_t event_ns;		/* CLOCK_MONOTONIC of the kill or snapshot */
	struct timespec event_time;	/* CLOCK_REALTIME of it */
	bool traced;
	struct pm_victim victim;
	struct pm_kill kill;		/* PM_OOM_KILL */
	unsigned int threshold_percent;	/* PM_SNAPSHOT */
	const struct pm_rss *rss;	/* NULL: unknown */
	const struct pm_maps *maps;	/* NULL: unreadable */
	const struct rss_sample *timeline;	/* oldest first */
	size_t ntimeline;
	uint64_t timeline_interval_ms;
	const struct memcg_info *memcg;	/* NULL: unknown */
	const struct report_process *process;	/* NULL: untraced */
};

struct pm_write_opts {
	const char *dir;
	size_t keep;			/* postmortems kept in dir; 0: all */
	size_t text_top;		/* stacks in the text; 0: all */
	uint64_t (*clock_ns)(void);	/* CLOCK_MONOTONIC; NULL: the real one */
};

/* "<UTC time>-<pid>-<comm>[.snapshot]", malloc'd; NULL + errno. */
char *postmortem_stem(const struct postmortem *pm);

/* The two documents, as the files hold them.  latency_ms: from the event
 * to the document being complete.  0 or -Exxx (-EIO when f fails). */
int postmortem_write_json(FILE *f, const struct postmortem *pm, double latency_ms);
int postmortem_write_text(FILE *f, const struct postmortem *pm, double latency_ms,
			  size_t top);

/*
 * Write pm into o->dir: the text, then the JSON, each to a hidden
 * temporary file renamed into place; the latency in each is measured just
 * before it is written.  Then keep only the newest o->keep postmortems.
 * *json_path (may be NULL) gets the JSON's path (malloc'd), *latency_ms
 * (may be NULL) the JSON's capture_latency_ms.  0 or -Exxx.
 */
int postmortem_write(const struct postmortem *pm, const struct pm_write_opts *o,
		     char **json_path, double *latency_ms);

/* Remove all but the newest keep postmortems (both files) from dir; files
 * not named like a postmortem are left alone.  0 or -Exxx. */
int postmortem_prune(const char *dir, size_t keep);

#endif /* LW_POSTMORTEM_H */
