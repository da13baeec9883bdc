// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor under leakwatch: programs that do nothing, attached where and
 * as leakwatch's are.  What a pair costs with them is what the probes cost
 * before any tracing work; the *_stack programs add the one thing that
 * attribution cannot do without, a user stack in a stack table, taken at
 * return as leakwatch takes it.  Two sets, as in leakwatch: perf-event
 * uprobes and uretprobes, or (kernels with uprobe sessions) one session
 * program for the allocating functions and a multi-uprobe one for free.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "leakwatch.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The same shape as leakwatch's lw_stacks: the walk and the hash cost the
 * same per frame, and a collision costs the walk all the same. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LW_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);
} floor_stacks SEC(".maps");

extern bool bpf_session_is_return(void) __ksym __weak;

/* Perf-event API. */
SEC("uprobe")
int floor_entry(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_ret(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_ret_stack(struct pt_regs *ctx)
{
	bpf_get_stackid(ctx, &floor_stacks, BPF_F_USER_STACK);
	return 0;
}

/* Session API: returning 0 at entry asks for the return run too. */
SEC("uprobe")	/* loaded as BPF_TRACE_UPROBE_SESSION */
int floor_session(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe")	/* loaded as BPF_TRACE_UPROBE_SESSION */
int floor_session_stack(struct pt_regs *ctx)
{
	if (bpf_session_is_return())
		bpf_get_stackid(ctx, &floor_stacks, BPF_F_USER_STACK);
	return 0;
}

SEC("uprobe")	/* loaded as BPF_TRACE_UPROBE_MULTI */
int floor_multi(struct pt_regs *ctx)
{
	return 0;
}

/* -S: leakwatch's mapping hooks when they are the syscall tracepoints.
 * Attached, they send every syscall down the kernel's traced path, and on
 * kernels where a uretprobe returns through a syscall, every return probe
 * with it. */
SEC("tp_btf/sys_enter")
int BPF_PROG(floor_sys_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
	return 0;
}
