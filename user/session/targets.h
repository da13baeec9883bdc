/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Dynamic targets: processes that a running session starts and stops
 * tracing (a daemon's choice), each with its own report.  An opaque object
 * per target; every call runs on the session's loop thread, between
 * session_hooks.ready and .ending (session.h).
 *
 * A target is a process traced as -p traces it (the allocator kinds -p
 * finds, its mappings when the session traces them, its children with
 * --follow) without ending the session when it exits.  Stopping it
 * detaches its probes and makes the kernel forget it; a process it had
 * held is continued (no stop outlives its record).  Its ledgers stay until
 * session_target__free, so that its report can be taken after the stop:
 * then its ledgers, its symbols and the stacks only it held go, so a
 * daemon can trace process after process for months.
 */
#ifndef LW_TARGETS_H
#define LW_TARGETS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct session;
struct session_target;
struct report;

struct session_target_opts {
	pid_t pid;
	/* -s for this process: each byte kept with probability 1/N; 0
	 * keeps every block */
	uint64_t sample_bytes;
	/* The window, as -d gives one: its report holds the blocks made
	 * within window_ns of its probes going live, and its duration is at
	 * most that, however late the loop stops it.  0: until stopped. */
	uint64_t window_ns;
};

/* Start tracing o->pid now.  NULL + errno: ESRCH (no such process, a
 * zombie), EINVAL (a kernel thread, leakwatch), EEXIST (traced already),
 * ENOEXEC (no allocator), or the cause of a failed attach (printed). */
struct session_target *session__trace(struct session *s, const struct session_target_opts *o);

/* Stop tracing it (the records it sent so far are consumed first, so its
 * report holds them).  Idempotent. */
void session_target__stop(struct session *s, struct session_target *t);

/* Whether it is traced and its process alive. */
bool session_target__live(const struct session_target *t);
pid_t session_target__pid(const struct session_target *t);

/* Its report model, as -f json would show this process alone (and its
 * children with --follow), with every record sent until now (the rings
 * are read first): 0 or -Exxx; release r with report_release.  The
 * report is final once the target is stopped. */
int session_target__report(struct session *s, struct session_target *t, struct report *r);

/* The same report written to f as -f json writes it: 0 or -Exxx. */
int session_target__write_json(struct session *s, struct session_target *t, FILE *f);

/* Stop it if need be and free it: its ledgers, mappings, symbols and
 * unwind tables.  Accepts NULL. */
void session_target__free(struct session *s, struct session_target *t);

#endif /* LW_TARGETS_H */
