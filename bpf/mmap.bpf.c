// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The mapping syscalls of traced processes (mmap, munmap, mremap, brk,
 * and mprotect, which turns reserved address space into memory and back),
 * seen in the kernel so that raw syscalls count as well as libc's
 * wrappers: the Go runtime makes nothing but raw ones.  Three sets of
 * hooks carry the same handlers (fentry/fexit, kprobes, the syscall raw
 * tracepoints); userspace loads the one this kernel supports best.
 *
 * One record per successful call, at its exit, when the result is known;
 * userspace keeps the intervals.  A mapping made while the thread is inside
 * a traced allocator call is marked: it is the allocator's own memory
 * (arenas, a large block served by mmap), not a leak of its own.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"
#include "unwind.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#if defined(__TARGET_ARCH_x86)
#define LW_NR_MMAP 9
#define LW_NR_MPROTECT 10
#define LW_NR_MUNMAP 11
#define LW_NR_BRK 12
#define LW_NR_MREMAP 25
#define LW_SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define LW_NR_BRK 214
#define LW_NR_MUNMAP 215
#define LW_NR_MREMAP 216
#define LW_NR_MMAP 222
#define LW_NR_MPROTECT 226
#define LW_SYSCALL_NR(regs) ((regs)->syscallno)
#else
#error "leakwatch: syscall numbers of this architecture are missing"
#endif

/* A mapping syscall in progress on a thread: the break before a brk call
 * (the call returns only the new one) and, with kprobes, the call whose
 * kretprobe is due. */
struct lw_map_call {
	__u64 brk_before;
	long nr;		/* kprobes: set at entry, cleared at return */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lw_map_call);
} lw_map_calls SEC(".maps");

/* mmap's prot and flags (the same on x86 and arm64) */
#define LW_PROT_EXEC 0x4
#define LW_MAP_ANONYMOUS 0x20

/* Room to build a record (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_map_event_stack);
} lw_map_scratch SEC(".maps");

static __always_inline bool traced(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return bpf_map_lookup_elem(&lw_pids, &tgid);
}

/* Syscall arguments from the user registers (unchanged at exit). */
#if defined(__TARGET_ARCH_x86)
#define ARG1(r) ((r)->di)
#define ARG2(r) ((r)->si)
#define ARG3(r) ((r)->dx)
#define ARG4(r) ((r)->r10)
#define ARG5(r) ((r)->r8)
#define USER_SP(r) ((r)->sp)
#define USER_IP(r) ((r)->ip)
#define USER_BP(r) ((r)->bp)
#else
#define ARG1(r) ((r)->orig_x0)
#define ARG2(r) ((r)->regs[1])
#define ARG3(r) ((r)->regs[2])
#define ARG4(r) ((r)->regs[3])
#define ARG5(r) ((r)->regs[4])
#define USER_SP(r) ((r)->sp)
#define USER_IP(r) ((r)->pc)
#define USER_BP(r) ((r)->regs[29])
#endif

/* The thread is inside a traced allocator call (see alloc.bpf.c), free
 * included, and not in a signal handler that interrupted one. */
static __always_inline bool in_allocator(__u64 sp)
{
	struct lw_call *c = bpf_task_storage_get(&lw_calls, bpf_get_current_task_btf(), 0, 0);

	if (!c)
		return false;
	if (c->depth && !c->sig_active && lw_in_handler(c, sp))
		return false;
	return c->depth || lw_in_free(c, sp);
}

/*
 * At a call's entry.  Every hook needs the break before a brk; with
 * kprobes (paired), the call is also remembered, so that a return the
 * kretprobe never saw is counted when the thread's next call finds it
 * still pending: a kretprobe has a fixed pool of instances, and a call
 * that finds it empty returns unseen.
 */
static __always_inline int map_enter(long nr, bool paired)
{
	struct task_struct *task;
	struct lw_map_call *c;

	if (!traced())
		return 0;
	task = bpf_get_current_task_btf();
	c = bpf_task_storage_get(&lw_map_calls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c) {
		lw_count(LW_DROP_THREAD_STATE);
		return 0;
	}
	if (paired) {
		if (c->nr)
			lw_count(LW_DROP_MAP_RETURN);
		c->nr = nr;
	}
	if (nr == LW_NR_BRK)
		c->brk_before = BPF_CORE_READ(task, mm, brk);
	return 0;
}

/*
 * Code mapped from a file (dlopen): stop the process at its next
 * allocation, as after exec (alloc.bpf.c), so that userspace reads its
 * maps and probes a new allocator while the module is there.  Without it,
 * a process that dlopens, leaks and exits before the consumer's next look
 * at its maps leaves the module's frames unnamed.
 */
static __always_inline void hold_for_new_code(void)
{
	struct lw_call *c = bpf_task_storage_get(&lw_calls, bpf_get_current_task_btf(), 0,
						 BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (c)
		c->hold = 1;
	else
		lw_count(LW_DROP_THREAD_STATE);
	/* its children wait for the new file's per-file probes, if any */
	lw_uncover(bpf_get_current_pid_tgid() >> 32);
}

/* The record type of syscall nr, 0 for the others; *stack: whether the
 * call creates memory, so that its record carries a stack. */
static __always_inline __u32 map_type(long nr, bool *stack)
{
	*stack = true;
	switch (nr) {
	case LW_NR_MMAP:
		return LW_REC_MMAP;
	case LW_NR_MUNMAP:
		*stack = false;
		return LW_REC_MUNMAP;
	case LW_NR_MPROTECT:
		*stack = false;
		return LW_REC_MPROTECT;
	case LW_NR_MREMAP:
		return LW_REC_MREMAP;
	case LW_NR_BRK:
		return LW_REC_BRK;
	}
	return 0;
}

/* The call's arguments and result into m; false when there is nothing
 * to tell (a break unchanged, or its entry missed). */
static __always_inline bool map_args(struct lw_map_event *m, __u32 type, long ret,
				     struct pt_regs *regs, struct lw_map_call *c, bool *stack)
{
	switch (type) {
	case LW_REC_MMAP:
		m->e.addr = ret;
		m->e.size = ARG2(regs);
		m->prot = ARG3(regs);
		m->mflags = ARG4(regs);
		m->fd = ARG5(regs);
		if ((m->prot & LW_PROT_EXEC) && !(m->mflags & LW_MAP_ANONYMOUS))
			hold_for_new_code();
		break;
	case LW_REC_MUNMAP:
		m->e.addr = ARG1(regs);
		m->e.size = ARG2(regs);
		break;
	case LW_REC_MPROTECT:
		m->e.addr = ARG1(regs);
		m->e.size = ARG2(regs);
		m->prot = ARG3(regs);
		break;
	case LW_REC_MREMAP:
		m->old_addr = ARG1(regs);
		m->old_len = ARG2(regs);
		m->e.addr = ret;
		m->e.size = ARG3(regs);
		m->mflags = ARG4(regs);
		break;
	case LW_REC_BRK:
		if (!c || c->brk_before == (__u64)ret)	/* unchanged, or entry missed */
			return false;
		m->old_addr = c->brk_before;
		m->e.addr = ret;
		/* a shrinking break releases memory: no stack needed */
		*stack = (__u64)ret > c->brk_before;
		break;
	}
	return true;
}

/* The words at sp and the call's user stack into r: the bytes the
 * frames add to the record. */
static __always_inline __u64 map_stack(void *ctx, struct lw_map_event_stack *r,
				       struct pt_regs *regs)
{
	struct lw_map_event *m = &r->m;
	struct lw_walk w = {};
	long n;

	/* near the top of a stack, fewer words are there to read */
	if (!bpf_probe_read_user(m->top, sizeof(m->top), (void *)m->sp) ||
	    !bpf_probe_read_user(m->top, 8 * sizeof(__u64), (void *)m->sp))
		m->map_flags |= LW_MAP_TOP_VALID;
	/* the CFI walk, from the instruction after the syscall: the wrapper's
	 * frames and its callers' whatever their build.  Without the
	 * wrapper's CFI (libc mapped, its table not loaded yet), the
	 * frame-pointer walk and the words at sp, which userspace unwinds
	 * with libc's CFI. */
	lw_walk(&w, USER_IP(regs), USER_SP(regs), USER_BP(regs), false, m->e.pid, r->ips);
	if (w.n && !w.first_fp) {
		m->e.flags |= LW_EV_INLINE_STACK;
		m->map_flags |= LW_MAP_WALKED;
		if (w.flags & LW_WALK_TRUNCATED)
			m->e.flags |= LW_EV_STACK_TRUNCATED;
		m->e.nips = w.n > LW_MAX_STACK_DEPTH ? LW_MAX_STACK_DEPTH : w.n;
		return (m->e.nips & (LW_MAX_STACK_DEPTH * 2 - 1)) * sizeof(__u64);
	}
	n = bpf_get_stack(ctx, r->ips, sizeof(r->ips), BPF_F_USER_STACK);
	if (n <= 0) {
		lw_count(LW_DROP_STACK);
		return 0;
	}
	m->e.flags |= LW_EV_INLINE_STACK;
	m->e.nips = n / sizeof(__u64);
	return m->e.nips * sizeof(__u64);
}

/* At a call's exit: one record when it succeeded.  regs are the user
 * registers, whose argument registers the call left unchanged. */
static __always_inline int map_exit(void *ctx, long nr, long ret, struct pt_regs *regs,
				    bool paired)
{
	struct lw_map_event_stack *r;
	struct lw_map_call *c = NULL;
	struct lw_map_event *m;
	__u32 type, zero = 0;
	bool stack;
	__u64 len;

	type = map_type(nr, &stack);
	if (!type)
		return 0;
	if (paired || type == LW_REC_BRK) {
		c = bpf_task_storage_get(&lw_map_calls, bpf_get_current_task_btf(), 0, 0);
		if (paired && c)
			c->nr = 0;
	}
	/* brk never fails with an error code: it returns the old break */
	if (type != LW_REC_BRK && (unsigned long)ret >= (unsigned long)-4095)
		return 0;
	if (!traced())
		return 0;
	r = bpf_map_lookup_elem(&lw_map_scratch, &zero);
	if (!r)
		return 0;
	m = &r->m;
	lw_fill(&m->e, type);
	m->old_addr = 0;
	m->old_len = 0;
	m->prot = 0;
	m->mflags = 0;
	m->fd = -1;
	m->sp = USER_SP(regs);
	m->map_flags = stack && in_allocator(m->sp) ? LW_MAP_IN_ALLOCATOR : 0;
	if (!map_args(m, type, ret, regs, c, &stack))
		return 0;
	len = sizeof(*m);
	if (stack)
		len += map_stack(ctx, r, regs);
	if (len > sizeof(*r))
		return 0;
	if (bpf_ringbuf_output(&lw_events, r, len, 0))
		lw_count(type == LW_REC_MUNMAP ? LW_DROP_RINGBUF_FREE : LW_DROP_RINGBUF_ALLOC);
	return 0;
}

/*
 * Three ways in; userspace loads one (user/attach/maphooks.c chooses).
 *
 * fentry/fexit on the five syscalls' entry points: nothing runs for any
 * other syscall.  Needs BPF trampolines.
 */
#if defined(__TARGET_ARCH_x86)
#define SYS(name) "__x64_sys_" #name
#else
#define SYS(name) "__arm64_sys_" #name
#endif

SEC("fentry/" SYS(brk))
int BPF_PROG(lw_fentry_brk, struct pt_regs *regs)
{
	return map_enter(LW_NR_BRK, false);
}

#define FEXIT(name, nr) \
SEC("fexit/" SYS(name)) \
int BPF_PROG(lw_fexit_##name, struct pt_regs *regs, long ret) \
{ \
	return map_exit(ctx, nr, ret, regs, false); \
}

FEXIT(mmap, LW_NR_MMAP)
FEXIT(mprotect, LW_NR_MPROTECT)
FEXIT(munmap, LW_NR_MUNMAP)
FEXIT(mremap, LW_NR_MREMAP)
FEXIT(brk, LW_NR_BRK)

/*
 * kprobes and kretprobes on the same functions: as selective, but a
 * kretprobe misses returns when more threads are inside the function at
 * once than its instance pool holds (LW_DROP_MAP_RETURN counts them).
 * The user registers come from the task: a kretprobe has no arguments.
 */
#define KPROBES(name, nr) \
SEC("kprobe/" SYS(name)) \
int BPF_KPROBE(lw_kprobe_##name) \
{ \
	return map_enter(nr, true); \
} \
SEC("kretprobe/" SYS(name)) \
int BPF_KRETPROBE(lw_kretprobe_##name, long ret) \
{ \
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()); \
	return map_exit(ctx, nr, ret, regs, true); \
}

KPROBES(mmap, LW_NR_MMAP)
KPROBES(mprotect, LW_NR_MPROTECT)
KPROBES(munmap, LW_NR_MUNMAP)
KPROBES(mremap, LW_NR_MREMAP)
KPROBES(brk, LW_NR_BRK)

/*
 * The syscall raw tracepoints: they need no tracefs, kprobes or
 * trampolines, but run for every syscall of the machine (the number is
 * tested first).
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(lw_sys_enter, struct pt_regs *regs, long id)
{
	if (id != LW_NR_BRK)
		return 0;
	return map_enter(id, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(lw_sys_exit, struct pt_regs *regs, long ret)
{
	return map_exit(ctx, LW_SYSCALL_NR(regs), ret, regs, false);
}
