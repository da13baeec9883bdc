// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle of traced processes: fork (follow the child), exec
 * (the old image's blocks are gone) and exit (what is left is leaked).
 * BTF tracepoints: no tracefs, no kprobes needed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Follow forked children (--no-follow clears it). */
const volatile bool lw_follow = true;

/* Kernel 6.13+: signal another task.  Stops a new child before its first
 * instruction so that its probes are live when it runs. */
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type,
				__u64 value) __ksym __weak;

/*
 * Before 6.13 no program can signal another task, so a new child stops
 * itself: lw_fork marks it, and the first code the child runs (the end
 * of schedule_tail, or else its first sys_exit: its return from fork),
 * before its first instruction, sends it SIGSTOP and only then the record
 * that has userspace probe and continue it, as lw_exec does for a new
 * image.  Set by userspace, which attaches one of them (user/attach/forkhold.c).
 */
const volatile bool lw_fork_self_stop = false;

/* Children that have yet to stop themselves: their parent's tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} lw_fork_holds SEC(".maps");

/* How many: all that the hooks read while no child is pending. */
__u64 lw_fork_holds_pending = 0;

SEC("tp_btf/sched_process_fork")
int BPF_PROG(lw_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct lw_pid *pv, cv;
	struct lw_event *e;
	__u32 *pending;

	if (ptgid == ctgid || !lw_follow)	/* a new thread, or not following */
		return 0;
	pv = bpf_map_lookup_elem(&lw_pids, &ptgid);
	if (!pv)
		return 0;
	/* a copy of its parent: the parent's files, so the parent's cover,
	 * and its sampling */
	cv.flags = LW_PID_TRACED | LW_PID_SHARED | (pv->flags & LW_PID_COVERED);
	cv.sample_bytes = pv->sample_bytes;

	e = lw_reserve(LW_DROP_RINGBUF_OTHER);
	if (!e)		/* userspace will never hear of it: do not hold it */
		return 0;
	bpf_map_update_elem(&lw_pids, &ctgid, &cv, BPF_ANY);
	lw_fill(e, LW_REC_FORK);
	e->pid = ctgid;
	e->tid = ctgid;
	e->aux = ptgid;
	__builtin_memcpy(e->comm, child->comm, sizeof(e->comm));
	if (child->mm && child->mm == parent->mm)
		e->flags |= LW_EV_SHARED_VM;
	if (cv.flags & LW_PID_COVERED) {
		/* the per-file probes serve it already: nothing to wait for */
		e->flags |= LW_EV_FORK_COVERED;
		lw_submit(e);
		return 0;
	}
	/* the child is held stopped until userspace continues it; it
	 * cannot run before this program returns */
	if (bpf_send_signal_task) {
		/* once tracing ends, nobody would probe it; past the backlog
		 * limit it runs on, counted */
		if (lw_hold_begin(ctgid, true)) {
			if (!bpf_send_signal_task(child, LW_SIGSTOP, PIDTYPE_TGID, 0)) {
				e->flags |= LW_EV_HELD;
			} else {
				lw_hold_failed(ctgid);
				lw_count(LW_DROP_FORK_UNHELD);
			}
		} else if (!lw_holds_off) {
			lw_count(LW_DROP_FORK_UNHELD);
		}
	} else if (lw_fork_self_stop &&
		   (pending = bpf_task_storage_get(&lw_fork_holds, child, &ptgid,
						   BPF_LOCAL_STORAGE_GET_F_CREATE))) {
		__sync_fetch_and_add(&lw_fork_holds_pending, 1);
		e->flags |= LW_EV_FORK_PENDING;
	} else {
		lw_count(LW_DROP_FORK_UNHELD);
	}
	lw_submit(e);
	return 0;
}

/* A child marked by lw_fork, in its own context before it returns to user
 * mode (pending signals are handled on the way): it stops itself, then
 * says so.  A signal queued before the record cannot race userspace's
 * SIGCONT. */
static __always_inline void fork_stop(void)
{
	struct task_struct *task;
	struct lw_event *e;
	__u32 *pending, ptgid;

	if (!lw_fork_holds_pending)
		return;
	task = bpf_get_current_task_btf();
	pending = bpf_task_storage_get(&lw_fork_holds, task, 0, 0);
	if (!pending)
		return;
	ptgid = *pending;
	bpf_task_storage_delete(&lw_fork_holds, task);
	__sync_fetch_and_add(&lw_fork_holds_pending, -1);

	/* lost: userspace knows the child from lw_fork, never probes it */
	e = lw_reserve(LW_DROP_RINGBUF_OTHER);
	if (!e)
		return;
	lw_fill(e, LW_REC_FORK);
	e->aux = ptgid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (lw_hold_begin(e->pid, true)) {
		if (!bpf_send_signal(LW_SIGSTOP))
			e->flags |= LW_EV_HELD;
		else
			lw_hold_failed(e->pid);
	}
	/* not a loss once tracing ends */
	if (!(e->flags & LW_EV_HELD) && !lw_holds_off)
		lw_count(LW_DROP_FORK_UNHELD);
	lw_submit(e);
}

/* Where BPF trampolines work: a new task runs schedule_tail first, from
 * ret_from_fork, so only new tasks pay. */
SEC("fexit/schedule_tail")
int BPF_PROG(lw_fork_stop, struct task_struct *prev)
{
	fork_stop();
	return 0;
}

/* Elsewhere: every syscall of the machine pays, a read of the count. */
SEC("tp_btf/sys_exit")
int BPF_PROG(lw_fork_stop_tp, struct pt_regs *regs, long ret)
{
	fork_stop();
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(lw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct lw_call *c;
	struct lw_event *e;

	if (!bpf_map_lookup_elem(&lw_pids, &tgid))
		return 0;
	/* a new image maps other files */
	lw_uncover(tgid);
	e = lw_reserve(LW_DROP_RINGBUF_OTHER);
	if (!e)
		return 0;
	/* hold the new image at its first allocation (see LW_EV_HELD) */
	c = bpf_task_storage_get(&lw_calls, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c) {
		c->depth = 0;
		c->hold = 1;
	}
	lw_fill(e, LW_REC_EXEC);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* and before its first instruction: a static executable carries its
	 * own malloc, which userspace must probe before it runs */
	if (lw_hold_self())
		e->flags |= LW_EV_HELD;
	lw_submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(lw_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct lw_event *e;

	/* fires for every thread: only the last one ends the process */
	if (p->signal->live.counter != 0)
		return 0;
	if (bpf_map_delete_elem(&lw_pids, &tgid))
		return 0;
	bpf_map_delete_elem(&lw_held, &tgid);
	/* a child killed before its first instruction never stopped itself */
	if (lw_fork_self_stop && !bpf_task_storage_delete(&lw_fork_holds, p))
		__sync_fetch_and_add(&lw_fork_holds_pending, -1);
	e = lw_reserve(LW_DROP_RINGBUF_OTHER);
	if (!e)
		return 0;
	lw_fill(e, LW_REC_EXIT);
	e->aux = p->signal->group_exit_code ? p->signal->group_exit_code : p->exit_code;
	lw_submit(e);
	return 0;
}

/* Userspace continued a held process (SIGCONT): one stop less in flight.
 * A program, so that the count is taken off atomically while the
 * fork and exec hooks may add to it. */
SEC("syscall")
int lw_unhold(struct lw_unhold_args *a)
{
	__u32 tgid = a->pid;
	__u64 *n = bpf_map_lookup_elem(&lw_held, &tgid);

	if (n && *n)
		__sync_fetch_and_add(n, -1);
	__sync_fetch_and_add(&lw_holds_done, 1);
	return 0;
}
