/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The user stack, walked with the CFI tables userspace compiled
 * (user/unwind/unwind_table.c), and with frame pointers where a frame has none:
 * Debian builds without frame pointers, so a frame-pointer walk stops in
 * the first library.  The tables and their index are described in
 * leakwatch.h (struct lw_urow).
 *
 * Per frame: the mapping (an LPM trie on pid and address, skipped while
 * frames stay in the last mapping), the page's short run of rows (an array
 * indexed by the file's first page and the page), a binary search in it,
 * then the reads of the return address and the saved rbp.  The frames are
 * a bpf_loop's iterations and the search a nested bpf_loop, which the
 * verifier checks once each: a search inlined into the frame loop makes
 * it walk every branch of every step (the 1 M instruction limit).
 *
 * Stacks are deduplicated here: a stack's id is 31 bits of the hash of its
 * frames, claimed in lw_ustack_ids with the whole hash.  The first record
 * of a stack carries its frames (LW_EV_STACK_DEFINE), later ones the id
 * alone.  The record is in the ring buffer before the claim is in the
 * map, so no record names an id ahead of its frames.  A stack whose id
 * another stack claimed, or that finds the table full, travels with its
 * frames every time (userspace merges copies): never dropped.
 */
#ifndef LW_UNWIND_BPF_H
#define LW_UNWIND_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "events.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lw_umap_key);
	__type(value, struct lw_umap);
	__uint(max_entries, 65536);	/* resized from userspace */
} lw_umaps SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lw_upage);
	__uint(max_entries, 1);		/* sized from userspace: --unwind-memory */
} lw_upages SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lw_urow);
	__uint(max_entries, 1);		/* sized from userspace: --unwind-memory */
} lw_urows SEC(".maps") __weak;

/* A stack's id -> the hash of the frames that claimed it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16384);	/* resized from userspace: --stack-table */
} lw_ustack_ids SEC(".maps") __weak;

/* Room to build a record with its frames (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_event_stack);
} lw_walk_scratch SEC(".maps") __weak;

/* Where the signal frame keeps the interrupted registers: the ucontext
 * starts at the trampoline's rsp, its uc_mcontext 40 bytes in. */
#define LW_UC_RBP (40 + 10 * 8)
#define LW_UC_RSP (40 + 15 * 8)
#define LW_UC_RIP (40 + 16 * 8)

/* Binary search steps: a page holds at most 2^16 rows (compilers make
 * no more than one row a byte: 256). */
#define LW_SEARCH_STEPS 16

enum lw_walk_flags {
	LW_WALK_TRUNCATED = 1,
};

struct lw_walk {
	__u64 pc, sp, bp;
	__u64 hash;
	struct lw_umap m;	/* the last mapping looked up; end 0: none */
	__u64 *ips;
	__u32 pid_be;
	__u32 n;
	__u32 is_ret;		/* pc is a return address: look up pc - 1 */
	__u32 flags;		/* enum lw_walk_flags */
	__u32 ended;		/* the stack ended (or cannot be followed) */
	__u32 first_fp;		/* the first frame had no CFI: frame pointers */
	__u64 tramp;		/* the uretprobe trampoline; 0: none, or not read */
	struct return_instance *ri;	/* the next one the walk may meet */
};

struct lw_search {
	__u32 lo, hi;		/* rows[lo].pc <= rel < rows[hi].pc */
	__u32 rel;
};

static long lw_search_step(__u32 i, struct lw_search *s)
{
	__u32 mid = s->lo + (s->hi - s->lo) / 2;
	struct lw_urow *row;

	if (s->lo + 1 >= s->hi)
		return 1;
	row = bpf_map_lookup_elem(&lw_urows, &mid);
	if (!row) {
		s->hi = s->lo;	/* gives up: no row */
		return 1;
	}
	if (row->pc <= s->rel)
		s->lo = mid;
	else
		s->hi = mid;
	return 0;
}

/* The row for w->pc, or NULL: the frame is walked by its frame pointer. */
static __always_inline struct lw_urow *lw_find_row(struct lw_walk *w, __u64 *rel_out)
{
	struct lw_search s;
	struct lw_upage *pg;
	struct lw_urow *row;
	__u64 pc = w->pc, rel;
	__u32 page;

	if (pc < w->m.start || pc >= w->m.end) {
		struct lw_umap_key k = {
			.prefixlen = 96,
			.pid = w->pid_be,
			.addr = bpf_cpu_to_be64(pc),
		};
		struct lw_umap *m = bpf_map_lookup_elem(&lw_umaps, &k);

		if (!m) {
			w->m.start = w->m.end = 0;
			return NULL;
		}
		w->m = *m;
	}
	rel = pc - w->m.base - w->is_ret;
	if ((rel >> LW_UNWIND_PAGE_SHIFT) >= w->m.npages)
		return NULL;
	page = w->m.page_base + (__u32)(rel >> LW_UNWIND_PAGE_SHIFT);
	pg = bpf_map_lookup_elem(&lw_upages, &page);
	if (!pg || !pg->count)
		return NULL;
	s.lo = pg->first;
	s.hi = pg->first + pg->count;
	s.rel = (__u32)rel;
	row = bpf_map_lookup_elem(&lw_urows, &s.lo);
	if (!row || row->pc > s.rel)
		return NULL;
	bpf_loop(LW_SEARCH_STEPS, lw_search_step, &s, 0);
	if (s.lo + 1 != s.hi)
		return NULL;
	*rel_out = rel;
	return bpf_map_lookup_elem(&lw_urows, &s.lo);
}

static __always_inline int lw_read(__u64 *dst, __u64 addr)
{
	return bpf_probe_read_user(dst, sizeof(*dst), (void *)addr);
}

/*
 * A function with a return probe pending (malloc, when a mapping hook
 * fires inside it; realloc around the malloc it calls) returns to the
 * kernel's uretprobe trampoline: the kernel put the trampoline's address
 * in the return address's slot and keeps the caller's in the task's
 * return instances, innermost first, each with the slot's address.  Taken
 * as it is, the trampoline is a "[uprobes]" frame in place of the caller,
 * and the walk goes on by frame pointer, or stops.
 */
#define LW_MAX_PENDING_RETURNS 8

/* The trampoline's address in this process, 0 if it has none. */
static __always_inline __u64 lw_trampoline(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
}

/* Without a return pending, no slot holds the trampoline: the common case
 * pays two reads, not five.  (A signal frame may still show it: see
 * lw_interrupted_return.) */
static __always_inline void lw_walk_returns(struct lw_walk *w)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	w->ri = BPF_CORE_READ(task, utask, return_instances);
	w->tramp = w->ri ? lw_trampoline() : 0;
}

/* The return address the kernel replaced in the slot at addr, or ra as it
 * is.  The walk goes outwards and so does the list: instances below addr
 * are behind it and skipped for the frames after. */
static __always_inline __u64 lw_pending_return(struct lw_walk *w, __u64 ra, __u64 addr)
{
	struct return_instance *ri = w->ri;
	int i;

	for (i = 0; i < LW_MAX_PENDING_RETURNS && ri; i++) {
		if (BPF_CORE_READ(ri, stack) >= addr) {
			w->ri = BPF_CORE_READ(ri, next);
			return BPF_CORE_READ(ri, orig_ret_vaddr);
		}
		ri = BPF_CORE_READ(ri, next);
	}
	w->ri = ri;
	return ra;
}

/*
 * A signal came while the thread was in the trampoline, on its way back
 * to the caller of a probed function: w has the interrupted registers.
 * Before the kernel takes the return instance (x86's int3 trampoline, or
 * the pushes of rax, rcx and r11 before its uretprobe syscall), it is the
 * next one pending: the function's ret has popped its slot and at most
 * three words lie above it.  After the uretprobe syscall (x86, 6.11+) the instance is gone and
 * the return address is the last of the three words the trampoline takes
 * back: r11 and rcx are popped from +0xd and +0xf, ret is at +0x10.
 * Elsewhere in the page the caller is not known: the walk ends there, cut
 * short, rather than give the trampoline as a frame.  0, or 1: ended.
 */
#define LW_TRAMP_AFTER_SYSCALL 0xd

static __always_inline long lw_interrupted_return(struct lw_walk *w)
{
	struct return_instance *ri = w->ri;
	__u64 off = w->pc - w->tramp, stack, ra_addr;

	if (ri && off < LW_TRAMP_AFTER_SYSCALL) {
		stack = BPF_CORE_READ(ri, stack);
		if (stack + 8 >= w->sp && stack <= w->sp + 16) {
			w->pc = BPF_CORE_READ(ri, orig_ret_vaddr);
			w->sp = stack + 8;
			w->ri = BPF_CORE_READ(ri, next);
			w->is_ret = 1;
			return 0;
		}
	}
	if (off == LW_TRAMP_AFTER_SYSCALL)
		ra_addr = w->sp + 16;
	else if (off == LW_TRAMP_AFTER_SYSCALL + 2)
		ra_addr = w->sp + 8;
	else if (off == LW_TRAMP_AFTER_SYSCALL + 3)
		ra_addr = w->sp;
	else
		ra_addr = 0;
	if (ra_addr && !lw_read(&w->pc, ra_addr) && w->pc >= 4096 &&
	    w->pc < 0x800000000000ull && w->pc - w->tramp >= 4096) {
		w->sp = ra_addr + 8;
		w->is_ret = 1;
		return 0;
	}
	w->flags |= LW_WALK_TRUNCATED;
	return 1;
}

/* Step from frame w->pc to its caller: 0, or 1 where the stack ends. */
static __always_inline long lw_unwind(struct lw_walk *w)
{
	__u64 pc = w->pc, sp = w->sp, bp = w->bp, cfa, ra, ra_addr, rel = 0;
	struct lw_urow *row;
	bool fp = false;

	row = lw_find_row(w, &rel);
	if (!row || row->kind == LW_UROW_NONE || row->kind > LW_UROW_END) {
		/* frame pointers: [rbp] is the caller's rbp, [rbp+8] the
		 * return address.  The chain may go on to another stack
		 * (Go's asmcgocall calls C on the system stack), as the
		 * kernel's frame-pointer walk lets it. */
		if (w->n == 1)
			w->first_fp = 1;
		if (!bp)
			return 1;
		fp = true;
		ra_addr = bp + 8;
		if (lw_read(&ra, ra_addr) || lw_read(&w->bp, bp))
			return 1;
		cfa = bp + 16;
	} else if (row->kind == LW_UROW_END) {
		return 1;
	} else if (row->kind == LW_UROW_SIGNAL) {
		/* the interrupted state: its pc is exact, not a return address */
		if (lw_read(&w->bp, sp + LW_UC_RBP) || lw_read(&w->sp, sp + LW_UC_RSP) ||
		    lw_read(&w->pc, sp + LW_UC_RIP) || !w->pc)
			return 1;
		w->is_ret = 0;
		if (!w->tramp)
			w->tramp = lw_trampoline();
		if (w->tramp && w->pc - w->tramp < 4096)
			return lw_interrupted_return(w);
		return 0;
	} else {
		if (row->kind == LW_UROW_RSP)
			cfa = sp + row->cfa_off;
		else if (row->kind == LW_UROW_RBP)
			cfa = bp + row->cfa_off;
		else	/* PLT */
			cfa = sp + row->cfa_off + ((pc & 15) >= row->plt_cut ? 8 : 0);
		ra_addr = cfa - 8;
		if (lw_read(&ra, ra_addr))
			return 1;
		if (row->rbp_off && lw_read(&w->bp, cfa + row->rbp_off))
			return 1;
	}
	if (ra == w->tramp && ra)
		ra = lw_pending_return(w, ra, ra_addr);
	/* a caller returns to a user address, and by CFI its frame lies
	 * above its callee's: a frame pointer that is none (rbp used as a
	 * register) ends the walk rather than add a garbage frame */
	if (ra < 4096 || ra >= 0x800000000000ull || (!fp && cfa <= sp))
		return 1;
	w->pc = ra;
	w->sp = cfa;
	w->is_ret = 1;
	return 0;
}

/* One frame: record w->pc, then step to its caller.  1 ends the walk. */
static long lw_walk_step(__u32 i, struct lw_walk *w)
{
	__u32 n = w->n;

	if (n >= LW_MAX_STACK_DEPTH)
		return 1;	/* more frames than kept: not ended */
	w->ips[n] = w->pc;
	w->n = n + 1;
	w->hash = (w->hash ^ w->pc) * 0x100000001b3ull;
	w->hash ^= w->hash >> 29;
	if (!lw_unwind(w))
		return 0;
	w->ended = 1;
	return 1;
}

/* Walk the user stack from (pc, sp, bp) into w->ips: w's frames in w->n,
 * LW_WALK_TRUNCATED in w->flags when it was deeper than the walk.
 * is_ret: pc is a return address (a return probe), not an exact pc. */
static __always_inline void lw_walk(struct lw_walk *w, __u64 pc, __u64 sp, __u64 bp,
				    bool is_ret, __u32 pid, __u64 *ips)
{
	w->pc = pc;
	w->sp = sp;
	w->bp = bp;
	w->ips = ips;
	w->pid_be = bpf_htonl(pid);
	w->is_ret = is_ret;
	w->hash = 0xcbf29ce484222325ull;
	lw_walk_returns(w);
	bpf_loop(LW_MAX_STACK_DEPTH + 1, lw_walk_step, w, 0);
	/* whatever stopped the loop, a walk that did not end is cut short */
	if (w->n && !w->ended)
		w->flags |= LW_WALK_TRUNCATED;
}

/*
 * The user stack of the record e (filled, reserved on lw_events) at ctx,
 * a return probe.  Known stack: sends a copy of e naming it and returns 1
 * (or, the ring buffer full, sets e->stack_id and returns 0: the caller
 * submits e).  New stack: sends the record with its frames in e's place
 * (e discarded) and returns 1.  -1: the stack is missing (counted).
 */
static __always_inline int lw_user_stack(struct pt_regs *ctx, struct lw_event *e)
{
	struct lw_event_stack *big;
	struct lw_walk w = {};
	__u32 zero = 0, id;
	__u64 *claim;
	long len;

	big = bpf_map_lookup_elem(&lw_walk_scratch, &zero);
	if (!big) {
		lw_count(LW_DROP_STACK);
		return -1;
	}
	/* the probe fires on the return to the caller */
	lw_walk(&w, PT_REGS_IP(ctx), PT_REGS_SP(ctx), ctx->bp, true, e->pid, big->ips);
	if (!w.n) {
		lw_count(LW_DROP_STACK);
		return -1;
	}
	w.hash ^= w.flags;
	id = (__u32)w.hash & 0x7fffffff;
	claim = bpf_map_lookup_elem(&lw_ustack_ids, &id);
	if (claim && *claim == w.hash) {
		__u64 flags = BPF_RB_NO_WAKEUP;

		e->stack_id = id;
		if (w.flags & LW_WALK_TRUNCATED)
			e->flags |= LW_EV_STACK_TRUNCATED;
		/* The ring buffer is read in the order records were reserved,
		 * and e was reserved before the walk: the record that defines
		 * id, which another CPU sent before claiming it, may lie
		 * after e.  A copy sent now lies after that definition. */
		big->e = *e;
		if (e->flags & LW_EV_HELD ||
		    bpf_ringbuf_query(&lw_events, BPF_RB_AVAIL_DATA) >= lw_wakeup_bytes)
			flags = BPF_RB_FORCE_WAKEUP;
		if (bpf_ringbuf_output(&lw_events, &big->e, sizeof(big->e), flags))
			return 0;	/* full: e goes as it is */
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return 1;
	}
	big->e = *e;
	big->e.nips = w.n > LW_MAX_STACK_DEPTH ? LW_MAX_STACK_DEPTH : w.n;
	if (w.flags & LW_WALK_TRUNCATED)
		big->e.flags |= LW_EV_STACK_TRUNCATED;
	if (claim) {	/* another stack has the id */
		big->e.flags |= LW_EV_INLINE_STACK;
	} else {
		big->e.stack_id = id;
		big->e.flags |= LW_EV_STACK_DEFINE;
	}
	len = sizeof(big->e) + (big->e.nips & (LW_MAX_STACK_DEPTH * 2 - 1)) * sizeof(__u64);
	if (len > sizeof(*big)) {
		lw_count(LW_DROP_STACK);
		return -1;
	}
	if (bpf_ringbuf_output(&lw_events, big, len,
			       big->e.flags & LW_EV_HELD ? BPF_RB_FORCE_WAKEUP : 0)) {
		/* the caller's record goes without the stack */
		lw_count(LW_DROP_STACK);
		return -1;
	}
	bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
	/* after the record: nobody names id before its frames are sent.  A
	 * twin racing on another CPU sends the same frames; a full table
	 * leaves the stack to travel with its frames each time. */
	if (!claim)
		bpf_map_update_elem(&lw_ustack_ids, &id, &w.hash, BPF_NOEXIST);
	return 1;
}

#endif /* LW_UNWIND_BPF_H */
