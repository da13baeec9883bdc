/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * OOM postmortems and memory snapshots, assembled: takes the kernel's OOM
 * record and everything that can still be read about the victim, in the
 * order in which it disappears (its /proc files, its memory cgroup's
 * statistics, then the ledger and the symbolizer, which leakwatch holds
 * itself), and hands the model to postmortem.c.  Between kills it samples
 * the RSS of traced processes (the timeline) and, with --snapshot-at,
 * watches their memory cgroups' usage.
 *
 * A kill is taken in two steps: oomwatch__capture_early, on the tracer's
 * capture thread, reads the victim's files the moment the kill is known;
 * oomwatch__on_kill, on the main thread once the records before the kill
 * are consumed, adds the ledger and writes the postmortem.
 *
 * Messages are the caller's: every file written and every failure is
 * reported through opts.notify (on the main thread).
 */
#ifndef LW_OOMWATCH_H
#define LW_OOMWATCH_H

#include <stdint.h>

#include "identity.h"
#include "leakwatch.h"
#include "postmortem.h"
#include "procs.h"
#include "stackstore.h"
#include "symbolizer.h"

/* RSS timeline: one sample per second, the last five minutes. */
#define OOMWATCH_RSS_INTERVAL_MS 1000
#define OOMWATCH_RSS_SAMPLES 300

/* --snapshot-at re-arms once usage falls this many points below it. */
#define OOMWATCH_SNAPSHOT_HYSTERESIS 5

struct oomwatch_note {
	enum pm_kind kind;
	int pid;
	const char *comm;
	/* the victim's container (identity.h); NULL: none, or unknown */
	const char *namespace, *pod, *container;
	bool traced;
	const char *path;	/* the JSON written; NULL on failure */
	double latency_ms;
	int err;		/* 0 or -Exxx: the postmortem could not be written */
};

struct oomwatch_opts {
	const char *dir;		/* --postmortem-dir */
	size_t keep;			/* --postmortem-keep */
	unsigned int snapshot_pct;	/* --snapshot-at; 0: off */
	uint64_t sample_bytes;		/* -s: stacks hold estimates */
	size_t text_top;		/* stacks in the text file */
	bool early;			/* oomwatch__capture_early is called */
	struct symbolizer *sym;
	const struct stackstore *stacks;
	/* containers and pods of victims and kill memcgs (thread-safe);
	 * NULL: none named */
	struct identities *ids;
	/* --host-root: memory cgroups are read under it; NULL: as mounted
	 * here */
	const char *host_root;
	void (*notify)(void *ctx, const struct oomwatch_note *n);
	void *ctx;
};

struct oomwatch;

/* NULL + errno.  A host without a memory controller is not an error:
 * postmortems then have no memory cgroup. */
struct oomwatch *oomwatch__new(const struct oomwatch_opts *o);
void oomwatch__free(struct oomwatch *w);	/* accepts NULL */

/* On the capture thread (thread-safe): read the victim's files now.
 * Returns 0 (tracer_oom_fn's convention). */
int oomwatch__capture_early(struct oomwatch *w, const struct lw_oom_event *e);

/* The OOM killer chose e->pid; proc is its live traced entry, or NULL.
 * Writes the postmortem (and notifies) before returning; waits up to
 * 100 ms for the capture thread's files of this kill. */
void oomwatch__on_kill(struct oomwatch *w, const struct lw_oom_event *e,
		       const struct lw_proc *proc);

/* Call often (every loop): samples the RSS of procs' live processes every
 * OOMWATCH_RSS_INTERVAL_MS and, with snapshot_pct, checks their memory
 * cgroups every 100 ms, writing a snapshot on the way up. */
void oomwatch__tick(struct oomwatch *w, struct procs *procs, uint64_t now_ns);

/* A stack of pid seen for the first time: it is symbolized ahead of any
 * kill, a little every tick, so that a postmortem finds it done. */
void oomwatch__note_stack(struct oomwatch *w, pid_t pid, int32_t stack_id);

/* Postmortems and snapshots written so far. */
size_t oomwatch__written(const struct oomwatch *w);

#endif /* LW_OOMWATCH_H */
