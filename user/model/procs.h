/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The traced processes, live and exited.  A pid can appear more than once
 * when it was reused: only the newest entry of a pid is live.  Entries are
 * found by pid through a hash index, and kept in order of addition for the
 * reports.
 *
 * Exited processes stay, because a report shows what each one still held
 * at exit (its leaks): the one-shot final report lists every process
 * traced.  A session that reports periodically (-i) and runs for long
 * evicts them instead, once a report has shown them exited: see
 * procs__evict_reported.
 */
#ifndef LW_PROCS_H
#define LW_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "identity.h"
#include "ledger.h"
#include "maptrack.h"
#include "stackstore.h"

struct lw_proc {
	pid_t pid;
	char *comm;		/* malloc'd */
	char *cmdline;		/* malloc'd; NULL when unknown */
	/* its container and pod (identity.h), held: let go with the
	 * process; NULL: unknown */
	const struct identity *identity;
	bool exited;
	int exit_code;
	bool attached;		/* allocator probes live */
	bool skipped;		/* exec'd leakwatch: no longer traced, not reported */
	/* followed (forked from a traced process, or from one of those):
	 * served by the per-file links (LW_PID_SHARED), never its own */
	bool shared;
	/* every allocator file it maps has its per-file links
	 * (LW_PID_COVERED): its children need no hold */
	bool covered;
	uint64_t last_fork_ns;	/* when it last forked a child, 0: never */
	bool fork_pending;	/* forked, stopping itself (before 6.13):
				 * probed at its second FORK record */
	bool cxx_attached;	/* operator new probes live in its libstdc++ */
	unsigned other_attached;	/* enum lw_other_alloc: libraries probed */
	/* the file whose --allocator-prefix functions are probed (0: none) */
	uint64_t prefix_dev, prefix_ino;
	struct ledger *ledger;
	struct maptrack *maps;	/* mappings made while traced */
	/* ledger and maps shared by processes with one address space
	 * (CLONE_VM): how many entries hold them; NULL: this one only */
	unsigned *vm_refs;
	/* unknown frees that were glibc emptying an exiting thread's cache */
	uint64_t thread_cache_frees;
};

struct procs;

struct procs *procs__new(void);			/* NULL + errno */
void procs__free(struct procs *p);		/* accepts NULL */

/* Add a live process; an older live entry of the same pid is marked
 * exited first (its exit was missed).  NULL + errno on failure. */
struct lw_proc *procs__add(struct procs *p, pid_t pid, const char *comm,
			   const char *cmdline);
/* The live entry of pid, or NULL. */
struct lw_proc *procs__live(struct procs *p, pid_t pid);
size_t procs__count(const struct procs *p);
size_t procs__live_count(const struct procs *p);
/* Entry i, in order of addition. */
struct lw_proc *procs__at(struct procs *p, size_t i);

/*
 * Evict the exited processes a report has just shown, all but the newest
 * keep_exited of them: their entries, ledgers and mappings are freed, and
 * gone(proc, ctx) is called first for each (NULL: none) so that the caller
 * lets go of what it keeps per process (symbols, unwind tables).  Call it
 * right after a report that listed every process, with no event handled in
 * between: every exited entry was in it, with its final numbers.  Returns
 * how many were evicted.
 *
 * The ledger counters of evicted processes stay counted in
 * procs__evicted_counters (those of a ledger shared by CLONE_VM count when
 * its last holder goes), so drop counters never go down.  What the reports
 * list changes: a process evicted is no longer in later reports, the final
 * one included.  So the session calls it only with -i, after each interval
 * report, and a run without -i (one final report) evicts nothing.  keep_exited
 * keeps the latest exits in the final report of an -i run too.
 */
size_t procs__evict_reported(struct procs *p, size_t keep_exited,
			     void (*gone)(struct lw_proc *proc, void *ctx), void *ctx);
/* Sum of the ledger counters of the processes evicted so far. */
const struct ledger_counters *procs__evicted_counters(const struct procs *p);
/* Sum of the ledger counters of every process, evicted ones included; a
 * ledger shared by CLONE_VM counts once. */
void procs__ledger_counters(const struct procs *p, struct ledger_counters *sum);

/* Mark the stacks that p's processes hold a block or a mapping of
 * (stackstore__mark), before stackstore__sweep: every table whose ids are
 * in stacks must be marked, or the stacks of its processes go. */
void procs__mark_stacks(struct procs *p, struct stackstore *stacks);

/* proc shares owner's address space (CLONE_VM): from now on they have one
 * ledger and one set of mappings, so that a block one allocates and the
 * other frees matches.  proc's own, empty, go.  0 or -ENOMEM. */
int lw_proc__share_vm(struct lw_proc *proc, struct lw_proc *owner);

/* Give the process a fresh ledger, mappings and name (exec): 0 or -ENOMEM. */
int lw_proc__reset(struct lw_proc *proc, const char *comm, const char *cmdline);

#endif /* LW_PROCS_H */
