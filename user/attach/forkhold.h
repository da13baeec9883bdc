/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How a forked child is held before its first instruction until its
 * probes are live (bpf/proc.bpf.c), chosen by trying what this kernel has.
 */
#ifndef LW_FORKHOLD_H
#define LW_FORKHOLD_H

enum fork_hold {
	FORK_HOLD_SIGNAL_TASK,	/* 6.13+: lw_fork stops it (bpf_send_signal_task) */
	FORK_HOLD_FEXIT,	/* it stops itself at the end of schedule_tail */
	FORK_HOLD_SYS_EXIT,	/* ... at its first sys_exit: every syscall pays */
};

/* "signal_task", "fexit", "sys_exit". */
const char *fork_hold_name(enum fork_hold h);

/* bpf_send_signal_task where the kernel has it, else a fexit program on
 * schedule_tail where one loads and attaches, else the sys_exit tracepoint. */
enum fork_hold fork_hold_choose(void);

#endif /* LW_FORKHOLD_H */
