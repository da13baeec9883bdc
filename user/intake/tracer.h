/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The BPF side seen from userspace: loads leakwatch's skeleton, attaches
 * the allocator probes to one process at a time, and hands the ring
 * buffer's records to a callback.  The only user of the skeleton and of
 * libbpf's object API (feature probes use its raw calls).
 */
#ifndef LW_TRACER_H
#define LW_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "intake.h"
#include "leakwatch.h"
#include "ledger.h"
#include "maphooks.h"
#include "probes.h"
#include "unwinder.h"

struct tracer;

/* An LW_REC_OOM_KILL record, on the capture thread (on_oom_early). */
typedef int (*tracer_oom_fn)(void *ctx, const struct lw_oom_event *e);

struct tracer_opts {
	bool follow;		/* follow forks of traced processes */
	size_t ringbuf_bytes;	/* power of two */
	size_t stack_entries;	/* distinct stacks the kernel table holds */
	size_t unwind_bytes;	/* kernel memory for unwind tables; 0: frame
				 * pointers only (see unwinder.h) */
	uint64_t sample_bytes;	/* byte-weighted sampling period of the processes
				 * tracked without one; 0: every block */
	bool sampling;		/* processes may be tracked with a rate of their
				 * own (tracer__track): keep a sampled set */
	bool legacy_uprobes;	/* one perf-event uprobe per probe, even where
				 * uprobe sessions exist */
	size_t sample_entries;	/* sampled blocks the kernel can keep */
	/* OOM kills: on[LW_REC_OOM_KILL] gets every victim, traced or not, in
	 * order with the other records; on_oom_early (optional) gets a copy at
	 * once, on a thread of its own that waits for nothing else: it must be
	 * thread-safe.  oom_only: no allocator probes, no tracked pids. */
	bool oom;
	bool oom_only;
	tracer_oom_fn on_oom_early;
	/* Mapping syscalls (mmap, munmap, mremap, brk) of traced processes,
	 * through map_hook (not AUTO: map_hook_choose decides). */
	bool maps;
	enum map_hook map_hook;
	/* the mapping hooks are loaded, but attached only by
	 * tracer__map_hooks (a daemon, while it traces a process: on a
	 * kernel without fentry they are the syscall tracepoints, which every
	 * syscall of the machine passes) */
	bool maps_on_demand;
	/* --kernel: the kernel's own allocations, system-wide, on a ring
	 * buffer (ringbuf_bytes) and a stack table (stack_entries) of their
	 * own.  Fails with ENOTSUP when the kernel lacks kmalloc/kfree. */
	bool kernel;
	/* every record of the rings, by type, through the decoder (intake.h),
	 * which continues each held process after its handler (holds.h) */
	intake_fn on[LW_REC__SLOTS];
	void *ctx;
};

/* Open, configure and load the BPF programs.  NULL + errno on failure;
 * details are logged at debug level (-v). */
struct tracer *tracer__new(const struct tracer_opts *opts);
void tracer__free(struct tracer *t);	/* accepts NULL */

/* Follow pid's forks, execs and exit from now on, its allocations
 * sampled at sample_bytes (0: every block; its children inherit it). */
int tracer__track(struct tracer *t, pid_t pid, uint64_t sample_bytes);
/* The kernel forgets pid: none of its records, forks or exit follow. */
void tracer__untrack(struct tracer *t, pid_t pid);

/* Attach lib's allocator probes in pid only; 0 or -Exxx.  Returns the
 * number of probes in *nprobes when non-NULL. */
int tracer__attach(struct tracer *t, pid_t pid, const struct alloc_lib *lib, size_t *nprobes);
void tracer__detach(struct tracer *t, pid_t pid);

/* pid exited: its own probes go on a thread of the tracer's, so that the
 * grace periods their removal waits for do not stall the consumer (a
 * server forking a child a second would otherwise keep every child's
 * links, and their fds, until tracing ends).  Done here when no thread
 * can take them. */
void tracer__detach_exited(struct tracer *t, pid_t pid);

/* Remove every allocator probe, and wait for the exited processes' ones
 * to be gone: tracing has ended.  The per-file ones
 * fire in every process that maps their file, leakwatch's own included,
 * whose report would pay for them at each allocation. */
void tracer__detach_all(struct tracer *t);

/* Attach lib's per-file links, which serve every LW_PID_SHARED process
 * that maps the file, once per file for the whole session: 0 (nprobes 0
 * when they were live already) or -Exxx. */
int tracer__attach_shared(struct tracer *t, const struct alloc_lib *lib, size_t *nprobes);

/* Set pid's enum lw_pid_flags, if it is still tracked (its sampling
 * stays): 0 or -Exxx. */
int tracer__set_flags(struct tracer *t, pid_t pid, uint32_t flags);

/* Processes stopped for probing and not yet continued, now. */
uint64_t tracer__holds_in_flight(const struct tracer *t);

/* An fd that is readable when the ring buffers hold records that asked
 * for a wake-up (most do not: see lw_submit), for an event loop. */
int tracer__epoll_fd(const struct tracer *t);

/* Consume every record waiting now, without waiting.  Returns the number
 * consumed or -Exxx. */
int tracer__consume(struct tracer *t);

/*
 * The ring's drains (each tracer__consume, tracer__poll's included): how
 * many have started, and in *drained the number of the last one that read
 * the ring to its end.  Every record sent before drain N started has been
 * read once *drained >= N.
 */
uint64_t tracer__drains(const struct tracer *t, uint64_t *drained);

/* The walker's claim on stack key (bpf/unwind.bpf.h) goes: the next
 * record of that stack defines it again, with its frames.  0 or -Exxx. */
int tracer__unclaim_stack(struct tracer *t, uint32_t key);

/* Wait up to timeout_ms for records and consume them all.  Returns the
 * number consumed or -Exxx (-EINTR on a signal). */
int tracer__poll(struct tracer *t, int timeout_ms);

/* Tracing ends: stop holding processes (LW_EV_HELD) and consume until the
 * record of every process held so far has been decoded, and so its
 * process continued (holds.h).  0, -ETIMEDOUT after 2 s, or -Exxx. */
int tracer__end_holds(struct tracer *t);

/* The user stack behind a stack id: number of frames or -Exxx. */
int tracer__stack(struct tracer *t, int32_t stack_id, uint64_t *ips, size_t max);

/* The unwind tables' maps (bpf/unwind.bpf.h), for an unwinder. */
void tracer__unwind_opts(const struct tracer *t, struct unwinder_opts *o);

/* The kernel stack behind a --kernel stack id: number of frames or -Exxx. */
int tracer__kstack(struct tracer *t, int32_t stack_id, uint64_t *ips, size_t max);

/* When pid is sampled (sample_bytes, its rate, not 0): it exited or
 * exec'd, its blocks are gone; drop their addresses from the kernel's
 * sampled set. */
void tracer__forget_sampled(struct tracer *t, pid_t pid, const struct ledger *l,
			    uint64_t sample_bytes);

/* Attach (on) or detach the mapping hooks of a maps_on_demand tracer;
 * nothing when they are so already.  0 or -Exxx. */
int tracer__map_hooks(struct tracer *t, bool on);

/* Current BPF-side failure counters. */
void tracer__drops(const struct tracer *t, uint64_t drops[LW_DROP__COUNT]);
/* Records the decoder dropped: malformed, or of a type with no handler. */
struct intake_stats tracer__intake_stats(const struct tracer *t);

/* "session" (uprobe session + multi links) or "perf" (perf-event uprobes). */
const char *tracer__probe_api(const struct tracer *t);

/* Kernel memory of the maps (bytes), for the tracer's own footprint. */
size_t tracer__kernel_footprint(const struct tracer *t);

#endif /* LW_TRACER_H */
