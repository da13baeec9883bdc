/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one owner of held processes in userspace.
 *
 * A BPF program stops a process (SIGSTOP) and sends a record with
 * LW_EV_HELD: at fork, exec or new code, so that its probes are live or
 * its files read before it runs on (bpf/events.bpf.h, lw_hold_begin).
 *
 * Invariant: every record with LW_EV_HELD that leaves the rings gets
 * exactly one continuation (SIGCONT, counted back in the kernel), after
 * its handler has returned, whatever the handler did: a record that is
 * malformed, of an unknown type, of a process no longer traced, or one
 * whose handler failed is continued all the same, and only once.  Only
 * the decoder (intake.c) calls holds__end, once per held record it
 * consumed; nothing else in leakwatch continues a process.
 *
 * The kernel counts the stops it sent (lw_holds_sent) and tracing ends by
 * reading records until holds__seen reaches that count (tracer__end_holds),
 * so none is left stopped; the guardian covers a leakwatch that dies.
 */
#ifndef LW_HOLDS_H
#define LW_HOLDS_H

#include <stdint.h>
#include <sys/types.h>

/* Continue pid: SIGCONT and the kernel's count of holds done. */
typedef void (*holds_continue_fn)(void *ctx, pid_t pid);

struct holds {
	holds_continue_fn cont;
	void *ctx;
	uint64_t seen;		/* held records consumed */
	uint64_t ended;		/* continuations sent */
};

/* A held record of pid left the rings: it is owed one continuation. */
void holds__begin(struct holds *h, pid_t pid);
/* Its handler returned: continue pid (once per holds__begin). */
void holds__end(struct holds *h, pid_t pid);

#endif /* LW_HOLDS_H */
