// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Signal handlers and allocator nesting.  A handler that interrupts a
 * thread inside malloc or free and allocates makes calls of its own, not
 * calls of the allocator: they count.  When a signal is delivered to a
 * handler while the thread is inside an allocator call, the stack range
 * the handler will run on is kept in the thread's allocator state; the
 * allocator probes then tell the handler's calls from the interrupted
 * call's by their stack pointer (lw_sig_switch in events.bpf.h).
 *
 * The handler's frame goes below the interrupted stack pointer and its
 * red zone, or on the alternate signal stack.  A handler interrupted in
 * turn inside its own allocator call keeps the first handler's range.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define LW_SIG_IGN 1
#define LW_SA_ONSTACK 0x08000000
#if defined(__TARGET_ARCH_x86)
#define LW_REDZONE 128
#else
#define LW_REDZONE 0
#endif

SEC("tp_btf/signal_deliver")
int BPF_PROG(lw_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task;
	struct lw_call *c;
	__u64 sp, ss_sp, ss_size;

	if (!bpf_map_lookup_elem(&lw_pids, &tgid))
		return 0;
	/* default action or ignored: no handler runs */
	if ((unsigned long)ka->sa.sa_handler <= LW_SIG_IGN)
		return 0;
	task = bpf_get_current_task_btf();
	c = bpf_task_storage_get(&lw_calls, task, 0, 0);
	if (!c || c->sig_active)
		return 0;
	if (!c->depth) {
		c->sig_hi = 0;
		return 0;
	}
	sp = lw_user_sp();
	ss_sp = task->sas_ss_sp;
	ss_size = task->sas_ss_size;
	if (ka->sa.sa_flags & LW_SA_ONSTACK && ss_size &&
	    !(sp > ss_sp && sp - ss_sp <= ss_size)) {
		c->sig_lo = ss_sp;
		c->sig_hi = ss_sp + ss_size;
	} else {
		c->sig_lo = 0;
		c->sig_hi = sp - LW_REDZONE;
	}
	return 0;
}
