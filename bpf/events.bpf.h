/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every leakwatch BPF object shares: the ring buffer, the stack
 * table, the drop counters and the record emitter.  The maps are defined
 * __weak in each object; bpftool's static linker folds them into one.
 */
#ifndef LW_EVENTS_BPF_H
#define LW_EVENTS_BPF_H

#define LW_SIGSTOP 19

#include "leakwatch.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* resized from userspace */
} lw_events SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LW_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);	/* resized from userspace */
} lw_stacks SEC(".maps") __weak;

/* Processes traced (tgid -> enum lw_pid_flags); fork/exec/exit hooks
 * consult it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lw_pid);
	__uint(max_entries, 65536);
} lw_pids SEC(".maps") __weak;

/* Byte-weighted sampling of the processes not in lw_pids (their own rate
 * is there): each byte is sampled with probability 1/N; 0 keeps every
 * block. */
const volatile __u64 lw_sample_bytes __weak = 0;

/* An allocator call in progress on a thread, and per-thread flags. */
struct lw_call {
	__u32 depth;	/* allocator calls in progress on this thread */
	__u32 fn;	/* enum lw_fn of the outermost one */
	__u64 size;	/* bytes requested; ~0 when the request overflows */
	__u64 arg;	/* realloc: old block; posix_memalign: memptr */
	__u32 hold;	/* stop the process at its next allocation (after exec) */
	__u32 flags;	/* enum lw_call_flags */
	/* free has no return probe: where its return address was on the
	 * stack at entry, and its value, so that a mapping made inside it
	 * (glibc makes a thread's arena in its first free) is seen as the
	 * allocator's own (lw_in_free) */
	__u64 free_sp;
	__u64 free_ra;
	/* A signal handler interrupted an allocator call: the handler runs
	 * on the stack range [sig_lo, sig_hi), and while its own allocator
	 * calls run (sig_active) the interrupted call waits in saved_*
	 * (see bpf/signal.bpf.c and lw_sig_switch) */
	__u64 sig_lo;
	__u64 sig_hi;
	__u64 saved_size;
	__u64 saved_arg;
	__u32 saved_depth;
	__u32 saved_fn;
	__u32 saved_flags;
	__u32 sig_active;
	__u32 sample_bytes;	/* the process's rate, taken at the call's entry */
	/* 1 << fn for each enum lw_fn whose entry probe has run on this
	 * thread: a return without its entry before that is one whose entry
	 * probe was not live yet (see alloc_return) */
	__u32 entered;
	/* the outermost call returned, and no allocator call began since */
	__u32 returned;
	__u32 pad;
};

enum lw_call_flags {
	LW_CALL_UNSAMPLED = 1,		/* sampling passed this call over */
	LW_CALL_OLD_TRACKED = 2,	/* realloc: the old block was reported */
};

/* Task-local storage: no hashing on the hot path, freed with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lw_call);
} lw_calls SEC(".maps") __weak;

/* The user stack pointer of the current thread. */
static __always_inline __u64 lw_user_sp(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return regs ? PT_REGS_SP(regs) : 0;
}

/* sp is on the stack of the signal handler that interrupted c's call. */
static __always_inline bool lw_in_handler(const struct lw_call *c, __u64 sp)
{
	return c->sig_hi && sp >= c->sig_lo && sp < c->sig_hi;
}

/*
 * "The outermost call counts" is for allocator functions calling each
 * other; a signal handler that interrupted one makes calls of its own,
 * which count.  Called at every probe of a thread a handler interrupted
 * inside an allocator call (c->sig_hi set; rare): on the handler's stack,
 * the interrupted call is set aside and the handler's calls start from
 * depth 0; off it with the handler's calls done, the handler has returned
 * and the interrupted call is back.
 */
static __always_inline void lw_sig_switch(struct lw_call *c)
{
	bool here = lw_in_handler(c, lw_user_sp());

	if (!c->sig_active) {
		if (here && c->depth) {
			c->saved_depth = c->depth;
			c->saved_fn = c->fn;
			c->saved_size = c->size;
			c->saved_arg = c->arg;
			c->saved_flags = c->flags;
			c->depth = 0;
			c->sig_active = 1;
		} else if (!here) {
			c->sig_hi = 0;
		}
	} else if (!here && !c->depth) {
		c->depth = c->saved_depth;
		c->fn = c->saved_fn;
		c->size = c->saved_size;
		c->arg = c->saved_arg;
		c->flags = c->saved_flags;
		c->sig_active = 0;
		c->sig_hi = 0;
	}
}

/* The thread is inside free: below free's frame, whose return address
 * is still where it was at entry.  Once free returned, the next call or
 * push at that depth overwrote it; a stale copy left under the locals of
 * a deeper frame would be a false match, and any later allocator call
 * clears the mark. */
static __always_inline bool lw_in_free(const struct lw_call *c, __u64 sp)
{
	__u64 ra = 0;

	if (!c->free_sp || sp >= c->free_sp)
		return false;
	if (bpf_probe_read_user(&ra, sizeof(ra), (void *)c->free_sp))
		return false;
	return ra == c->free_ra;
}

/* Failure counters, read by userspace for every report. */
__u64 lw_drops[LW_DROP__COUNT] __weak SEC(".bss");

/*
 * Holds: a process stopped (SIGSTOP) until userspace, reading the record
 * flagged LW_EV_HELD, probes what it must and continues it.  When tracing
 * ends userspace sets lw_holds_off, then consumes until it has seen as
 * many held records as lw_holds_sent says were sent: a program counts a
 * stop before it reads the flag, so no process is left stopped with a
 * record nobody reads.
 *
 * lw_held counts, per process, the stops sent and not yet continued
 * (lw_unhold, run by userspace after its SIGCONT, takes one off).  It is
 * what leakwatch's guardian (user/attach/guardian.c) reads to continue every
 * held process if leakwatch dies without doing it; the guardian sets
 * lw_holds_off first, so that no new stop is sent.
 */
__u32 lw_holds_off __weak SEC(".bss");
__u64 lw_holds_sent __weak SEC(".bss");
__u64 lw_holds_done __weak SEC(".bss");	/* continued by userspace */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 65536);
} lw_held SEC(".maps") __weak;

/* Whether a stop of process tgid may be sent now (bounded: at most
 * LW_HOLD_LIMIT in flight); if so, lw_hold_failed(tgid) when it was not
 * sent after all. */
static __always_inline bool lw_hold_begin(__u32 tgid, bool bounded)
{
	__u64 zero = 0, *n;

	__sync_fetch_and_add(&lw_holds_sent, 1);
	if (*(volatile __u32 *)&lw_holds_off)
		goto refuse;
	if (bounded && *(volatile __u64 *)&lw_holds_sent - *(volatile __u64 *)&lw_holds_done >
			       LW_HOLD_LIMIT)
		goto refuse;
	/* noted before the stop is sent: a guardian that continues it
	 * before the stop lands sees it again on its next sweep */
	bpf_map_update_elem(&lw_held, &tgid, &zero, BPF_NOEXIST);
	n = bpf_map_lookup_elem(&lw_held, &tgid);
	if (!n)
		goto refuse;
	__sync_fetch_and_add(n, 1);
	return true;
refuse:
	__sync_fetch_and_add(&lw_holds_sent, -1);
	return false;
}

static __always_inline void lw_hold_failed(__u32 tgid)
{
	__u64 *n = bpf_map_lookup_elem(&lw_held, &tgid);

	if (n)
		__sync_fetch_and_add(n, -1);
	__sync_fetch_and_add(&lw_holds_sent, -1);
}

/* Stop the current process: true if it will stop. */
static __always_inline bool lw_hold_self(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!lw_hold_begin(tgid, false))
		return false;
	if (!bpf_send_signal(LW_SIGSTOP))
		return true;
	lw_hold_failed(tgid);
	return false;
}

/*
 * Whether a program attached with this cookie serves the current process.
 * A per-file link fires in every process that maps the file and serves
 * the LW_PID_SHARED ones; the kernel runs a per-process link's program in
 * its process only, which it serves until leakwatch moves it to the
 * per-file links (LW_PID_SHARED: then they serve it, and never both).
 */
static __always_inline bool lw_serves(__u64 cookie, __u32 *sample_bytes)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct lw_pid *v;

	v = bpf_map_lookup_elem(&lw_pids, &tgid);
	/* the process's own rate (a daemon's targets each have theirs);
	 * the session's for one no longer listed */
	*sample_bytes = v ? v->sample_bytes : lw_sample_bytes;
	if (cookie & LW_COOKIE_SHARED)
		return v && (v->flags & LW_PID_SHARED);
	return !v || !(v->flags & LW_PID_SHARED);
}

/* The current process mapped new code or exec'd: its children need a
 * hold again until userspace has probed what it maps now. */
static __always_inline void lw_uncover(__u32 tgid)
{
	struct lw_pid *v = bpf_map_lookup_elem(&lw_pids, &tgid);

	if (v && v->flags & LW_PID_COVERED)
		v->flags &= ~LW_PID_COVERED;
}

/* Wake the consumer only once this much is pending: a wake-up per record
 * would cost more than the record.  The consumer also polls on a timer. */
const volatile __u64 lw_wakeup_bytes __weak = 256 << 10;

static __always_inline void lw_count(enum lw_drop drop)
{
	__sync_fetch_and_add(&lw_drops[drop], 1);
}

static __always_inline struct lw_event *lw_reserve(enum lw_drop drop_if_full)
{
	struct lw_event *e = bpf_ringbuf_reserve(&lw_events, sizeof(*e), 0);

	if (!e) {
		lw_count(drop_if_full);
		return NULL;
	}
	return e;
}

static __always_inline void lw_submit(struct lw_event *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (e->flags & LW_EV_HELD ||
	    bpf_ringbuf_query(&lw_events, BPF_RB_AVAIL_DATA) >= lw_wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void lw_fill(struct lw_event *e, __u32 type)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->type = type;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->stack_id = -1;
	/* Only a block's birth needs a time: frees skip the clock, ~55 ns a
	 * pair (the coarse clock is not allowed in uprobe programs) */
	e->ts_ns = type == LW_REC_FREE || type == LW_REC_REALLOC_BEGIN ? 0 :
		   bpf_ktime_get_ns();
	__builtin_memset(e->comm, 0, sizeof(e->comm));
	e->addr = 0;
	e->size = 0;
	e->aux = 0;
	e->flags = 0;
	e->nips = 0;
}

#endif /* LW_EVENTS_BPF_H */
