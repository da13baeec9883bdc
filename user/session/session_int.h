/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The session's parts, inside user/session only: the state they share,
 * and what each file offers the others.
 *   session.c   setup, the event loop's sources, the end of tracing
 *   follow.c    which probes a process gets, across fork, exec and holds
 *   dispatch.c  a decoded record into the ledgers, mappings and stacks
 *   output.c    reports: -i, the final one, its destination
 */
#ifndef LW_SESSION_INT_H
#define LW_SESSION_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "diff.h"
#include "kallsyms.h"
#include "launcher.h"
#include "leakwatch.h"
#include "loop.h"
#include "oomwatch.h"
#include "options.h"
#include "procs.h"
#include "report_build.h"
#include "session.h"
#include "stackstore.h"
#include "symbolizer.h"
#include "tracer.h"
#include "unwinder.h"

struct session {
	const struct lw_options *o;
	struct tracer *tracer;
	struct symbolizer *sym;
	struct procs *procs;
	struct stackstore *stacks;
	struct unwinder *unwind;	/* NULL: frame pointers only */
	struct oomwatch *oom;		/* --postmortem-dir */
	struct identities *ids;		/* processes' containers, by cgroup */
	/* --kernel: the pseudo-process "[kernel]" (alone in kprocs, so that
	 * it never counts among the processes traced), its stacks, names */
	struct procs *kprocs;
	struct lw_proc *kproc;
	struct stackstore *kstacks;
	struct kallsyms *ksyms;
	struct user_drops udrops;
	bool stdout_closed;	/* a write to stdout found its reader gone */
	struct growth *growth;		/* -i: the stacks of the last report */
	/* children that may still get probes of their own (OWN_PER_S) */
	double own_tokens;
	uint64_t own_tokens_ns;
	/* children came fast: every process is on the per-file links */
	bool per_file;
	uint64_t start_ns;		/* tracing began (ready) */
	bool drained;			/* tracing ended */
	const char *map_hooks;		/* NULL: mappings not traced */

	/* the event loop and the sources of tracing (see trace()) */
	struct loop *loop;
	struct loop_source *rings, *flush, *oom_tick, *interval, *duration;
	bool tracing;		/* the loop consumes records */
	bool end_when_gone;	/* -p: tracing ends with the last process */
	const struct session_hooks *hooks;
	struct session_target *targets;	/* dynamic (targets.h) */
	/* the ledger counters of the targets freed so far: the session's
	 * counters only grow (session__counters) */
	struct ledger_counters freed_targets;

	/* -- COMMAND */
	struct held_child child;
	bool have_child;
	bool child_reaped;
	bool forwarded;		/* a stop signal went to the command */
	int child_status;
};

/* The clock of the records' timestamps (bpf_ktime_get_ns). */
static inline uint64_t now_ns(void)
{
	return loop_now_ns();
}

/* session.c */
/* Exit status as a shell reports it. */
int status_code(int status);
/* Check pid, add it to table, track it (sampled at sample_bytes) and
 * attach its probes: 0 or -Exxx (printed). */
int session_attach(struct session *s, struct procs *table, pid_t pid, uint64_t sample_bytes);

/* targets.c */
/* The ledger counters of every target, stopped and freed ones included. */
void session_targets_counters(struct session *s, struct ledger_counters *sum);
/* The live process pid, in the session's table or a target's that is
 * still traced, and which table (table may be NULL); NULL when none. */
struct lw_proc *session_proc(struct session *s, pid_t pid, struct procs **table);
/* The sampling rate of pid (its target's, or the session's -s). */
uint64_t session_rate(struct session *s, pid_t pid);
/* Table i: 0 is the session's own, then the traced targets'; NULL past
 * the last. */
struct procs *session_table(struct session *s, size_t i);
/* Free every target (the session ends). */
void session_free_targets(struct session *s);
/* Free the inline stacks that no process holds any more, the session's
 * and every target's, stopped ones included (stackstore.h): after
 * processes were evicted or a target freed. */
void session_sweep_stacks(struct session *s);

/* follow.c */
const char *pid_comm(const struct lw_proc *p);
void follow_attach_cxx(struct session *s, struct lw_proc *p);
void follow_attach_libs(struct session *s, struct lw_proc *p, bool predict);
int follow_attach_prefixed(struct session *s, struct lw_proc *p, bool report);
int follow_attach(struct session *s, struct lw_proc *p, const char *what);
/* A process into table, with its name, command line, modules, unwind
 * tables and container; NULL + errno. */
struct lw_proc *follow_add(struct session *s, struct procs *table, pid_t pid, const char *comm);
/* The probes of a process traced from now on (-p, a dynamic target):
 * 0 or -Exxx (printed, but -ENOENT: no file defines the functions of
 * --allocator-prefix). */
int follow_start(struct session *s, struct lw_proc *p);
void follow_set_flags(struct session *s, struct lw_proc *p);
void follow_fork(struct session *s, const struct lw_event *e);
void follow_exec(struct session *s, struct lw_proc *p, const struct lw_event *e);
void follow_held(struct session *s, struct lw_proc *p, pid_t pid);
bool pid_is_leakwatch(pid_t pid);
void follow_skip_leakwatch(struct session *s, struct lw_proc *p);

/* dispatch.c: the session's handler of each record type (intake.h), ctx
 * the session; and the OOM capture thread's (tracer.h) */
void dispatch_handlers(intake_fn on[LW_REC__SLOTS]);
int dispatch_oom_early(void *ctx, const struct lw_oom_event *e);

/* output.c */
/* -o FILE and --postmortem-dir usable: 0, or -Exxx (printed). */
int output_check(const struct lw_options *o);
/* --postmortem-dir: the OOM watch; 0 or -Exxx (printed). */
int output_start_postmortems(struct session *s);
/* The options of a report of the session now (-m, -M, --older-than,
 * --top, the drops and footprints), for blocks sampled at sample_bytes. */
void output_build_opts(struct session *s, bool final, uint64_t sample_bytes,
		       struct report_build_opts *bo);
/* A report of everything traced so far to f: 0 or -Exxx. */
int output_report(struct session *s, FILE *f, bool final);
/* The final report to -o FILE or stdout: 0 or -Exxx (printed). */
int output_final_report(struct session *s);

#endif /* LW_SESSION_INT_H */
