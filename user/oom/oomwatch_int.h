/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The OOM watcher's state, shared by its two files and no one else
 * (oomwatch.h is the contract):
 *   oomwatch.c        the watcher, and what happens at a kill: the victim's
 *                     files read early, then the postmortem assembled
 *   oomwatch_tick.c   between kills: stacks symbolized ahead, the
 *                     --snapshot-at thresholds, state of gone processes dropped
 */
#ifndef LW_OOMWATCH_INT_H
#define LW_OOMWATCH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "memcg.h"
#include "oomwatch.h"
#include "postmortem.h"
#include "procfs.h"
#include "report_build.h"
#include "rsswatch.h"
#include "vec.h"

/* How often memory cgroups are looked at for --snapshot-at. */
#define SNAPSHOT_POLL_NS (100 * 1000000ull)
/* How long a process's memory cgroup path is trusted before it is re-read
 * (processes can be moved). */
#define CGROUP_PATH_TTL_NS (5 * 1000000000ull)
/* How often the state of processes that are gone is dropped. */
#define PRUNE_NS (10 * 1000000000ull)
/* Symbolizing ahead of a kill: at most this long per tick, and at most
 * this many stacks waiting (the rest are symbolized at the kill). */
#define WARM_BUDGET_NS (5 * 1000000ull)
#define WARM_QUEUE_MAX (1 << 16)
/* How long the main thread waits for the capture thread's files of a
 * kill (it reads them itself after that), and how many it keeps. */
#define EARLY_WAIT_NS (100 * 1000000ull)
#define EARLY_MAX 16

/* A page counter at or above this many pages has no limit (as in
 * bpf/oom.bpf.c). */
#define NO_LIMIT_PAGES (1ull << 50)

/* --snapshot-at state of one traced process. */
struct watched {
	pid_t pid;
	char *cgroup;		/* memory cgroup path; NULL: not read yet */
	uint64_t cgroup_ns;	/* when it was read */
	bool fired;		/* above the threshold since the last snapshot */
};

/* A stack of a process, to symbolize before any kill needs it. */
struct warm {
	pid_t pid;
	int32_t stack_id;
};

/* What is read about a victim at its kill, in the order it disappears. */
struct victim_files {
	uint32_t pid;
	uint64_t ts_ns;		/* of the kill they belong to */
	char *cmdline;		/* NULL: not readable */
	struct pm_maps maps;
	bool have_maps;
	struct rss_status st;	/* when the kernel's record had no mm */
	bool have_status;
	char *cgroup;		/* memory cgroup path; NULL: unknown */
	char *kill_memcg;	/* the memcg whose limit the kill is about */
	struct memcg_info memcg;
	bool have_memcg;
	/* the victim's container and the kill memcg's, held (identity.h);
	 * NULL: unknown */
	const struct identity *identity, *kill_identity;
	struct victim_files *next;	/* in oomwatch.early, newest first */
};

struct oomwatch {
	struct oomwatch_opts o;
	struct memcg_mount mount;	/* read-only once made: both threads use it */
	struct rsswatch *rss;
	uint64_t page_size;
	uint64_t last_poll_ns, last_prune_ns;
	struct watched *w;
	size_t nw, capw;
	struct warm *warm;	/* a FIFO: [warm_head, nwarm) */
	size_t warm_head, nwarm, capwarm;
	size_t written;
	/* the capture thread's files, for the main thread */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool sync_ready;
	struct victim_files *early;
};
/* A postmortem or snapshot being assembled; freed in one place. */
struct capture {
	struct postmortem pm;
	struct pm_rss rss;
	struct victim_files *files;
	struct rss_sample *timeline;
	struct report_process process;
	char comm[LW_COMM_LEN + 1];
};

/* oomwatch.c */
struct timespec wall_time(uint64_t mono_ns);
void capture_release(struct capture *c);
void use_files(struct capture *c, const struct lw_proc *proc);
void take_timeline(struct oomwatch *w, struct capture *c, pid_t pid,
		   const struct rss_sample *last);
void take_process(struct oomwatch *w, struct capture *c, const struct lw_proc *proc,
		  uint64_t at_ns);
void write_capture(struct oomwatch *w, struct capture *c);

#endif /* LW_OOMWATCH_INT_H */
