/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One tracing session: attach or launch, consume records into the
 * ledgers, follow forks/execs/exits, write reports.
 *
 * What is traced is a configuration of the one session: processes (-p or
 * a command, with --kernel or not), the kernel alone (--kernel), or none
 * (--oom-only).  Everything it does runs on one event loop (loop.h): the
 * ring buffers, a timer per periodic duty (the flush of records that asked
 * for no wake-up, -i reports, the OOM watch's samples, -d) and the signals
 * (SIGINT, SIGTERM, SIGCHLD).  Tracing ends with a signal, -d, the end of
 * the command or of the last process of -p, or session__stop; then the
 * holds end (no process is left stopped), what is left in the rings is
 * consumed, and the final report is written.
 */
#ifndef LW_SESSION_H
#define LW_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

struct session;
struct loop;
struct lw_counters;
struct oomwatch_note;

/* Run the session described by o; returns leakwatch's exit code (errors
 * are printed, once, with their cause and remedy). */
int session_run(const struct lw_options *o);

/*
 * What a front end (a daemon's HTTP server) adds to a session.  ready is
 * called once tracing has begun, on the loop's thread, before the loop
 * waits: it adds its own sources to session__loop (fds, timers); an error
 * (-Exxx) ends the session.  ending is called when tracing ends, before
 * the holds end and the rings are drained: it removes its sources.
 */
struct session_hooks {
	int (*ready)(struct session *s, void *ctx);
	void (*ending)(struct session *s, void *ctx);
	void *ctx;
	/* each OOM postmortem or snapshot, written or not (--postmortem-dir),
	 * on the loop's thread; may be NULL */
	void (*postmortem)(struct session *s, const struct oomwatch_note *n, void *ctx);
	/* the front end keeps its targets' reports itself: no final report
	 * of the session (a daemon's has no process of its own) */
	bool no_final_report;
	/* the mapping hooks are attached only while a target is traced: a
	 * daemon that traces nothing costs the machine's syscalls nothing */
	bool maps_while_tracing;
};

/* session_run, with hooks (NULL: none). */
int session_run_hooked(const struct lw_options *o, const struct session_hooks *hooks);

/* The session's event loop, valid from ready to ending. */
struct loop *session__loop(struct session *s);

/* OOM postmortems written so far (--postmortem-dir; 0 without). */
size_t session__postmortems(const struct session *s);

/* Every counter (counters.h) of the session as a whole: the BPF side's,
 * userspace's, and the ledgers of its processes and of every target it
 * traced, freed ones included, so that each counter only grows. */
void session__counters(struct session *s, struct lw_counters *out);

/* How full the kernel's tables that never empty are: fn(name, used,
 * capacity, ctx) for each ("stack_ids": the stack ids the walker claimed;
 * "unwind_rows", "unwind_pages": --unwind-memory), until fn returns
 * non-zero, which is returned. */
int session__map_fill(struct session *s,
		      int (*fn)(const char *name, size_t used, size_t cap, void *ctx), void *ctx);

/* End tracing as a signal would (the command, if any, is not signalled). */
void session__stop(struct session *s);

#endif /* LW_SESSION_H */
