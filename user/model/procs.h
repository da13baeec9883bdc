/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The traced processes, live and exited.  A pid can appear more than once
 * when it was reused: only the newest entry of a pid is live.
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

struct lw_proc {
	pid_t pid;
	char *comm;		/* malloc'd */
	char *cmdline;		/* malloc'd; NULL when unknown */
	/* its container and pod (identity.h, owned by the session's cache);
	 * NULL: unknown */
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

/* proc shares owner's address space (CLONE_VM): from now on they have one
 * ledger and one set of mappings, so that a block one allocates and the
 * other frees matches.  proc's own, empty, go.  0 or -ENOMEM. */
int lw_proc__share_vm(struct lw_proc *proc, struct lw_proc *owner);

/* Give the process a fresh ledger, mappings and name (exec): 0 or -ENOMEM. */
int lw_proc__reset(struct lw_proc *proc, const char *comm, const char *cmdline);

#endif /* LW_PROCS_H */
