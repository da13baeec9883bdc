/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The tracer's parts, inside user/intake only:
 *   tracer.c        the skeleton's life, the rings, per-process probes
 *   tracer_hooks.c  the system-wide hooks: which programs this kernel
 *                   loads (probe API, OOM, mappings, --kernel) and
 *                   their attachment
 */
#ifndef LW_TRACER_INT_H
#define LW_TRACER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include <bpf/libbpf.h>

#include "guardian.h"
#include "intake.h"
#include "leakwatch.skel.h"
#include "reaper.h"
#include "tracer.h"

/* A process's probes: libbpf links (perf API) or raw link fds (session).
 * pid 0: a file's per-file links, which serve every LW_PID_SHARED process
 * that maps the file (dev, ino). */
struct pid_links {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	size_t n, cap;
	struct bpf_link **links;
	int fds[2];
};

struct tracer {
	struct leakwatch_bpf *skel;
	struct ring_buffer *rb;
	struct tracer_opts opts;
	struct pid_links *attached;
	size_t nattached, attached_cap;
	struct reaper *reaper;	/* removes exited processes' links; NULL: none yet */
	bool session;		/* uprobe sessions and multi links */
	bool oom_kprobe;	/* oom_kill_process context for OOM records */
	bool map_hooks_on;	/* maps_on_demand: attached now */
	/* on_oom_early's thread and ring buffer */
	struct ring_buffer *oom_rb;
	pthread_t oom_thread;
	bool oom_thread_running;
	int oom_stop;		/* atomic */
	struct intake intake;	/* the decoder, and the owner of holds */
	struct guardian *guardian;	/* continues the held processes if leakwatch dies */
	/* drains of the ring (tracer__drains): started, and the number of
	 * the last one that read it to the end */
	uint64_t drains_started, drained;
};

/* tracer_hooks.c: each returns 0 or -Exxx (details at debug level). */
int tracer_choose_probe_api(struct tracer *t);
int tracer_choose_oom_hooks(struct tracer *t);
int tracer_attach_oom_hooks(struct tracer *t);
int tracer_choose_map_hooks(struct tracer *t);
int tracer_attach_map_hooks(struct tracer *t);
int tracer_choose_kernel_hooks(struct tracer *t);
int tracer_attach_kernel_hooks(struct tracer *t);
/* Attach prog if it was loaded. */
int tracer_attach_loaded(struct bpf_program *prog, struct bpf_link **link);

#endif /* LW_TRACER_INT_H */
