// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probes on the malloc family.  Entry probes record the arguments of the
 * outermost allocator call of each thread; one return probe, shared by
 * every allocating function, emits the record with the user stack, which
 * is complete at return (the caller's frame is live, glibc's is gone),
 * walked with CFI where there is no frame pointer (unwind.bpf.h).
 *
 * Allocators call each other on the same thread (realloc(NULL, n) calls
 * malloc, reallocarray calls realloc, realloc(p, 0) calls free): only the
 * outermost call is accounted, nested ones are ignored by depth.  The
 * calls of a signal handler that interrupted an allocator call are not
 * nested: they count (bpf/signal.bpf.c).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "events.bpf.h"
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct lw_call *call_state(bool create)
{
	struct lw_call *c = bpf_task_storage_get(&lw_calls, bpf_get_current_task_btf(), 0,
						 create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);

	/* a signal handler interrupted an allocator call (signal.bpf.c) */
	if (c && c->sig_hi)
		lw_sig_switch(c);
	return c;
}

/* Sampled blocks (--sample-bytes): frees of any other block end here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lw_sample_key);
	__type(value, __u8);
	__uint(max_entries, 1);		/* sized from userspace when sampling */
} lw_sampled SEC(".maps");

/* Userspace removes the keys of a process that exits or execs. */
static __always_inline struct lw_sample_key sample_key(__u64 addr)
{
	struct lw_sample_key k = {
		.pid = bpf_get_current_pid_tgid() >> 32,
		.addr = addr,
	};

	return k;
}

/* Byte-weighted sampling: each byte is sampled with probability 1/n, so a
 * block of size bytes with min(1, size/n). */
static __always_inline bool sample(__u64 size, __u64 n)
{

	if (size >= n)
		return true;
	return (((__u64)bpf_get_prandom_u32() * n) >> 32) < size;
}

/*
 * The first allocation of a new image, or after new code was mapped
 * (dlopen): everything is mapped now.  The process stops before the call
 * runs, so that userspace reads its modules and loads their unwind tables
 * before this call's stack is walked at its return.
 */
static __always_inline void hold_new_code(void)
{
	struct lw_event *e = lw_reserve(LW_DROP_RINGBUF_OTHER);

	if (!e)
		return;
	lw_fill(e, LW_REC_HOLD);
	if (!lw_hold_self()) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	e->flags |= LW_EV_HELD;
	lw_submit(e);
}

/* Record the call in this thread's state c (from call_state(true));
 * returns c when it is the outermost allocator call, else NULL. */
static __always_inline struct lw_call *enter_state(struct lw_call *c, enum lw_fn fn, __u64 size,
						   __u64 arg, __u32 rate)
{
	if (!c) {
		lw_count(LW_DROP_THREAD_STATE);
		return NULL;
	}
	c->free_sp = 0;
	c->entered |= 1u << (fn & 31);
	c->returned = 0;
	if (c->depth++)
		return NULL;
	if (c->hold) {
		c->hold = 0;
		hold_new_code();
	}
	c->fn = fn;
	c->size = size;
	c->arg = arg;
	c->flags = 0;
	c->sample_bytes = rate;
	if (rate && !sample(size, rate))
		c->flags |= LW_CALL_UNSAMPLED;
	return c;
}

static __always_inline struct lw_call *enter(enum lw_fn fn, __u64 size, __u64 arg, __u32 rate)
{
	return enter_state(call_state(true), fn, size, arg, rate);
}

/* n * size, or ~0 when it overflows (the call then fails). */
static __always_inline __u64 mul_size(__u64 n, __u64 size)
{
	__u64 limit;

	/* BPF has no 128-bit multiply: check by division, hidden from the
	 * optimizer, which would turn it back into one */
	if (!n)
		return 0;
	limit = ~0ULL / n;
	asm volatile("" : "+r"(limit));
	if (size > limit)
		return ~0ULL;
	return n * size;
}

/*
 * The perf-event probes below (before 6.13, or --legacy-uprobes): the
 * kernel runs a process's probes for every task of its address space, so
 * two processes that share one (clone(CLONE_VM)) would each run the
 * other's.  The attach cookie is the process the probe is for, or
 * LW_COOKIE_SHARED.
 */
static __always_inline bool mine(struct pt_regs *ctx, __u32 *rate)
{
	__u64 cookie = bpf_get_attach_cookie(ctx) & ~LW_COOKIE_FN_MASK;

	*rate = 0;
	/* a per-file probe (LW_COOKIE_SHARED) is every process's: lw_serves
	 * says which it does the work for */
	if (!(cookie & LW_COOKIE_SHARED) && cookie != bpf_get_current_pid_tgid() >> 32)
		return false;
	return lw_serves(cookie, rate);
}

SEC("uprobe")
int BPF_KPROBE(lw_malloc, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	enter(LW_FN_MALLOC, size, 0, rate);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lw_calloc, __u64 n, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	enter(LW_FN_CALLOC, mul_size(n, size), 0, rate);
	return 0;
}

/*
 * realloc takes the old block out of the ledger at entry, before another
 * thread's malloc can be handed the same address; the return record says
 * what became of it.  When sampling, only a sampled old block matters, and
 * it leaves the sampled set at entry for the same reason.
 */
static __always_inline void realloc_enter(enum lw_fn fn, __u64 ptr, __u64 size, __u32 rate)
{
	/* one task-storage lookup serves both the nesting test and enter */
	struct lw_call *c = call_state(true);
	bool announce = ptr && (!c || !c->depth);
	struct lw_event *e;

	if (announce && rate) {
		struct lw_sample_key k = sample_key(ptr);

		announce = !bpf_map_delete_elem(&lw_sampled, &k);
	}
	c = enter_state(c, fn, size, ptr, rate);
	if (!announce)
		return;
	if (c)
		c->flags |= LW_CALL_OLD_TRACKED;
	e = lw_reserve(LW_DROP_RINGBUF_OTHER);
	if (!e)
		return;
	lw_fill(e, LW_REC_REALLOC_BEGIN);
	e->addr = ptr;
	lw_submit(e);
}

SEC("uprobe")
int BPF_KPROBE(lw_realloc, __u64 ptr, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	realloc_enter(LW_FN_REALLOC, ptr, size, rate);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lw_reallocarray, __u64 ptr, __u64 n, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	realloc_enter(LW_FN_REALLOCARRAY, ptr, mul_size(n, size), rate);
	return 0;
}

/*
 * jemalloc's xallocx(ptr, size, extra, flags) resizes ptr in place and
 * returns its usable size: the block is then size bytes when that covers
 * size, else it is unchanged.  Accounted as a realloc that either keeps
 * the address or fails.
 */
SEC("uprobe")
int BPF_KPROBE(lw_xallocx, __u64 ptr, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	realloc_enter(LW_FN_XALLOCX, ptr, size, rate);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lw_posix_memalign, __u64 memptr, __u64 align, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	enter(LW_FN_POSIX_MEMALIGN, size, memptr, rate);
	return 0;
}

/* memalign and aligned_alloc: (alignment, size), one address in glibc. */
SEC("uprobe")
int BPF_KPROBE(lw_memalign, __u64 align, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	enter(LW_FN_MEMALIGN, size, 0, rate);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lw_valloc, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	enter(LW_FN_VALLOC, size, 0, rate);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lw_pvalloc, __u64 size)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	enter(LW_FN_PVALLOC, size, 0, rate);
	return 0;
}

/* free has no return probe, yet glibc creates a thread's cache and its
 * arena inside free when that is the thread's first allocator call (every
 * thread cgo starts): where free's return address is marks the thread as
 * inside free for the mapping hooks (lw_in_free).  The probe sits before
 * free moves its stack pointer, so the return address is at sp. */
static __always_inline void mark_free(struct pt_regs *ctx, struct lw_call *c)
{
	__u64 sp = PT_REGS_SP(ctx);

	if (bpf_probe_read_user(&c->free_ra, sizeof(c->free_ra), (void *)sp))
		sp = 0;
	c->free_sp = sp;
}

static __always_inline int free_entry(struct pt_regs *ctx, __u64 ptr, __u32 rate)
{
	struct lw_call *c;
	struct lw_event *e;

	if (!ptr)
		return 0;
	/* free called by realloc(p, 0): the realloc record accounts for it */
	c = call_state(true);
	if (!c)
		lw_count(LW_DROP_THREAD_STATE);
	else if (c->depth)
		return 0;
	else
		mark_free(ctx, c);
	/* an unsampled block: nothing to tell userspace */
	if (rate) {
		struct lw_sample_key k = sample_key(ptr);

		if (bpf_map_delete_elem(&lw_sampled, &k))
			return 0;
	}
	e = lw_reserve(LW_DROP_RINGBUF_FREE);
	if (!e)
		return 0;
	lw_fill(e, LW_REC_FREE);
	e->addr = ptr;
	if (c)
		e->aux = c->free_ra;
	lw_submit(e);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(lw_free, __u64 ptr)
{
	__u32 rate;

	if (!mine(ctx, &rate))
		return 0;
	return free_entry(ctx, ptr, rate);
}

/* Remember a sampled block so that its free is reported; false when the
 * set is full (counted: the block is then not reported at all). */
static __always_inline bool keep_sampled(__u64 addr)
{
	struct lw_sample_key k = sample_key(addr);
	__u8 one = 1;

	if (!bpf_map_update_elem(&lw_sampled, &k, &one, BPF_ANY))
		return true;
	lw_count(LW_DROP_SAMPLE_TABLE);
	return false;
}

/* Return of allocating function fn: ret is its return register. */
static __always_inline int alloc_return(struct pt_regs *ctx, __u64 ret, __u32 fn)
{
	struct lw_call *c = call_state(false);
	struct lw_event *e;
	__u64 addr = ret, old = 0, size;
	__u32 type = LW_REC_ALLOC;
	bool keep;

	if (!c || !c->depth) {
		/* The perf-event probes go live one by one while the process
		 * runs, a function's return probe before its entry probe (an
		 * entry without its return would leave the thread's depth
		 * counting a call that never ends, see tracer.c): a call
		 * entered in between returns here, before fn's entry probe ever
		 * ran on this thread, or right after the traced call inside it
		 * returned (operator new around malloc), which holds its block.
		 * Once tracing has ended, they are removed one by one: a return
		 * whose entry probe is gone already.  None of them is a loss of
		 * anything traced. */
		if (!*(volatile __u32 *)&lw_holds_off && c && c->entered & (1u << (fn & 31)) &&
		    !c->returned)
			lw_count(LW_DROP_UNMATCHED_RET);
		return 0;
	}
	/* a call inside the outermost one (malloc inside realloc) whose entry
	 * probe was not live yet: the outermost call's return is still to come */
	if (c->depth == 1 && fn != c->fn)
		return 0;
	if (--c->depth)
		return 0;
	c->returned = 1;
	size = c->size;
	keep = !(c->flags & LW_CALL_UNSAMPLED);

	switch (c->fn) {
	case LW_FN_XALLOCX:
		/* ret is a usable size: the block stayed at its address, resized
		 * to size when ret covers it; otherwise a failure (old stays) */
		addr = ret >= size ? c->arg : 0;
		/* fall through */
	case LW_FN_REALLOC:
	case LW_FN_REALLOCARRAY:
		type = LW_REC_REALLOC_END;
		if (!c->sample_bytes) {
			old = c->arg;
			break;
		}
		/* sampling: only a tracked old block and a sampled new one
		 * are reported; an untracked new one reads as "freed" */
		old = c->flags & LW_CALL_OLD_TRACKED ? c->arg : 0;
		if (!addr && size && old)	/* failed: the old block stays */
			keep_sampled(old);
		if (addr && !(keep && keep_sampled(addr))) {
			addr = 0;
			size = 0;
		}
		if (!old && !addr)
			return 0;
		break;
	case LW_FN_POSIX_MEMALIGN:
		/* returns an error number; the block is in *memptr */
		if ((int)ret != 0)
			return 0;
		if (bpf_probe_read_user(&addr, sizeof(addr), (void *)c->arg)) {
			lw_count(LW_DROP_MEMPTR_READ);
			return 0;
		}
		break;
	}
	if (type == LW_REC_ALLOC) {
		/* a failed allocation holds nothing */
		if (!addr)
			return 0;
		if (c->sample_bytes && !(keep && keep_sampled(addr)))
			return 0;
	}

	e = lw_reserve(type == LW_REC_ALLOC ? LW_DROP_RINGBUF_ALLOC : LW_DROP_RINGBUF_OTHER);
	if (!e)
		return 0;
	lw_fill(e, type);
	e->addr = addr;
	e->size = size;
	if (type == LW_REC_REALLOC_END)
		e->aux = old;
	if (addr) {
		if (lw_user_stack(ctx, e) > 0)
			return 0;	/* sent with its frames */
	}
	lw_submit(e);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lw_alloc_ret, __u64 ret)
{
	__u32 rate;	/* the entry's, kept in the call state */

	/* Before 6.13 the kernel does not filter perf uretprobes by process:
	 * a return runs this program once per traced process probing the
	 * function.  The one attached for this process (cookie) does the
	 * work; the others are not "unmatched" returns (see mine). */
	if (!mine(ctx, &rate))
		return 0;
	return alloc_return(ctx, ret, bpf_get_attach_cookie(ctx) >> LW_COOKIE_FN_SHIFT);
}

/*
 * Kernels with uprobe sessions (6.13+): one program runs at entry and at
 * return of every allocating function, which one is in the attach cookie,
 * and an entry that returns 1 skips the return probe: an unsampled call
 * then costs one breakpoint hit instead of two.  All of a process's
 * functions share one link (see tracer.c).
 */
extern bool bpf_session_is_return(void) __ksym __weak;

static __always_inline int alloc_entry(struct pt_regs *ctx, enum lw_fn fn, __u32 rate)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx);
	struct lw_call *c;

	switch (fn) {
	case LW_FN_MALLOC:
	case LW_FN_VALLOC:
	case LW_FN_PVALLOC:
		c = enter(fn, a1, 0, rate);
		break;
	case LW_FN_CALLOC:
		c = enter(fn, mul_size(a1, a2), 0, rate);
		break;
	case LW_FN_MEMALIGN:
		c = enter(fn, a2, 0, rate);
		break;
	case LW_FN_POSIX_MEMALIGN:
		c = enter(fn, a3, a1, rate);
		break;
	case LW_FN_REALLOC:
		/* realloc may call malloc and free: its return always runs */
		realloc_enter(fn, a1, a2, rate);
		return 0;
	case LW_FN_REALLOCARRAY:
		realloc_enter(fn, a1, mul_size(a2, a3), rate);
		return 0;
	case LW_FN_XALLOCX:
		realloc_enter(fn, a1, a2, rate);
		return 0;
	default:
		return 1;
	}
	/* an outermost call that sampling passed over ends here (these
	 * functions call no other allocator entry point) */
	if (c && c->flags & LW_CALL_UNSAMPLED) {
		c->depth--;
		return 1;
	}
	return 0;
}

SEC("uprobe")	/* loaded as BPF_TRACE_UPROBE_SESSION */
int lw_alloc_session(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 rate;

	if (bpf_session_is_return())
		return alloc_return(ctx, PT_REGS_RC(ctx), (__u32)cookie);
	if (!lw_serves(cookie, &rate))
		return 1;	/* and no return probe */
	return alloc_entry(ctx, (__u32)cookie, rate);
}

SEC("uprobe")	/* loaded as BPF_TRACE_UPROBE_MULTI */
int lw_free_multi(struct pt_regs *ctx)
{
	__u32 rate;

	if (!lw_serves(bpf_get_attach_cookie(ctx), &rate))
		return 0;
	return free_entry(ctx, PT_REGS_PARM1(ctx), rate);
}
