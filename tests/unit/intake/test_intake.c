// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The decoder (intake.c) and the invariant of holds.h: every record with
 * LW_EV_HELD gets exactly one continuation, after its handler returned,
 * whatever the record.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "intake.h"

#define MAX_LOG 64

/* What happened, in order: 'h' handler of pid, 'c' continuation of pid. */
struct log {
	char what[MAX_LOG];
	pid_t pid[MAX_LOG];
	uint32_t type[MAX_LOG];
	uint32_t nips[MAX_LOG];
	int n;
};

static struct log lg;

static void note(char what, pid_t pid, uint32_t type, uint32_t nips)
{
	cr_assert_lt(lg.n, MAX_LOG);
	lg.what[lg.n] = what;
	lg.pid[lg.n] = pid;
	lg.type[lg.n] = type;
	lg.nips[lg.n++] = nips;
}

static void cont(void *ctx, pid_t pid)
{
	note('c', pid, 0, 0);
}

static void handler(void *ctx, const struct lw_record *r)
{
	pid_t pid = r->e ? (pid_t)r->e->pid : r->m ? (pid_t)r->m->e.pid :
		    r->oom ? (pid_t)r->oom->pid : 0;

	note('h', pid, r->type, r->nips);
}

static struct intake new_intake(void)
{
	struct intake in = { .holds = { .cont = cont } };

	memset(&lg, 0, sizeof(lg));
	intake__on(&in, LW_REC_ALLOC, LW_REC_KFREE, handler);
	return in;
}

static struct lw_event_stack event(uint32_t type, pid_t pid, uint32_t flags, uint32_t nips)
{
	struct lw_event_stack r = {};

	r.e.type = type;
	r.e.pid = pid;
	r.e.flags = flags;
	r.e.nips = nips;
	for (uint32_t i = 0; i < nips && i < LW_MAX_STACK_DEPTH; i++)
		r.ips[i] = 0x1000 + i;
	return r;
}

/* How many continuations pid got, and that each came after a handler of
 * pid when handled is true. */
static int continued(pid_t pid)
{
	int n = 0;

	for (int i = 0; i < lg.n; i++)
		n += lg.what[i] == 'c' && lg.pid[i] == pid;
	return n;
}

Test(intake, held_record_continued_once_after_its_handler)
{
	struct intake in = new_intake();
	struct lw_event_stack r = event(LW_REC_HOLD, 41, LW_EV_HELD, 0);

	cr_assert_eq(intake__record(&in, &r, sizeof(r.e)), 0);
	cr_assert_eq(lg.n, 2);
	cr_assert_eq(lg.what[0], 'h');
	cr_assert_eq(lg.type[0], LW_REC_HOLD);
	cr_assert_eq(lg.what[1], 'c');
	cr_assert_eq(lg.pid[1], 41);
	cr_assert_eq(in.holds.seen, 1);
	cr_assert_eq(in.holds.ended, 1);
}

Test(intake, unheld_record_never_continued)
{
	struct intake in = new_intake();
	struct lw_event_stack r = event(LW_REC_ALLOC, 42, 0, 3);

	r.e.flags = LW_EV_INLINE_STACK;
	intake__record(&in, &r, sizeof(r.e) + 3 * sizeof(uint64_t));
	cr_assert_eq(lg.n, 1);
	cr_assert_eq(lg.what[0], 'h');
	cr_assert_eq(lg.nips[0], 3);
	cr_assert_eq(in.holds.seen, 0);
	cr_assert_eq(continued(42), 0);
}

/* Frames that do not fit: not handed on, but the process goes on. */
Test(intake, malformed_held_record_still_continued)
{
	struct intake in = new_intake();
	struct lw_event_stack r = event(LW_REC_EXEC, 43, LW_EV_HELD | LW_EV_INLINE_STACK, 5);

	intake__record(&in, &r, sizeof(r.e) + 4 * sizeof(uint64_t));
	cr_assert_eq(lg.n, 1);
	cr_assert_eq(lg.what[0], 'c');
	cr_assert_eq(lg.pid[0], 43);
	cr_assert_eq(in.stats.malformed, 1);

	/* more frames than a stack holds */
	r = event(LW_REC_FORK, 44, LW_EV_HELD | LW_EV_STACK_DEFINE, LW_MAX_STACK_DEPTH + 1);
	intake__record(&in, &r, sizeof(r));
	cr_assert_eq(continued(44), 1);
	cr_assert_eq(in.stats.malformed, 2);
	cr_assert_eq(in.holds.seen, 2);
	cr_assert_eq(in.holds.ended, 2);
}

/* A type nobody handles (a newer BPF side, or no handler registered). */
Test(intake, unhandled_held_record_still_continued)
{
	struct intake in = new_intake();
	struct lw_event_stack r = event(LW_REC_HOLD, 45, LW_EV_HELD, 0);

	in.on[LW_REC_HOLD] = NULL;
	intake__record(&in, &r, sizeof(r.e));
	r.e.type = 30;
	r.e.pid = 46;
	intake__record(&in, &r, sizeof(r.e));
	cr_assert_eq(lg.n, 2);
	cr_assert_eq(continued(45), 1);
	cr_assert_eq(continued(46), 1);
	cr_assert_eq(in.stats.unhandled, 2);
}

/* Too short to say its pid: nothing to continue, counted. */
Test(intake, short_records_dropped)
{
	struct intake in = new_intake();
	struct lw_event_stack r = event(LW_REC_HOLD, 47, LW_EV_HELD, 0);
	struct lw_map_event m = { .e = { .type = LW_REC_MMAP, .pid = 48 } };

	intake__record(&in, &r, 2);
	intake__record(&in, &r, sizeof(r.e) - 1);
	/* a mapping record's header is longer than a process record's */
	intake__record(&in, &m, sizeof(struct lw_event));
	cr_assert_eq(lg.n, 0);
	cr_assert_eq(in.stats.malformed, 3);
	cr_assert_eq(in.holds.seen, 0);
}

/* Every shape reaches its handler with its pointer set. */
Test(intake, every_shape_decoded)
{
	struct intake in = new_intake();
	struct lw_map_event_stack m = {};
	struct lw_kevent_stack k = {};
	struct lw_oom_event o = {};

	m.m.e.type = LW_REC_MREMAP;
	m.m.e.pid = 50;
	m.m.e.flags = LW_EV_INLINE_STACK;
	m.m.e.nips = 2;
	intake__record(&in, &m, sizeof(m.m) + 2 * sizeof(uint64_t));
	k.e.type = LW_REC_KALLOC;
	k.e.nips = 1;
	intake__record(&in, &k, sizeof(k.e) + sizeof(uint64_t));
	o.type = LW_REC_OOM_KILL;
	o.pid = 52;
	intake__record(&in, &o, sizeof(o));
	cr_assert_eq(lg.n, 3);
	cr_assert_eq(lg.type[0], LW_REC_MREMAP);
	cr_assert_eq(lg.pid[0], 50);
	cr_assert_eq(lg.nips[0], 2);
	cr_assert_eq(lg.type[1], LW_REC_KALLOC);
	cr_assert_eq(lg.nips[1], 1);
	cr_assert_eq(lg.type[2], LW_REC_OOM_KILL);
	cr_assert_eq(lg.pid[2], 52);
	cr_assert_eq(in.holds.seen, 0);
}
