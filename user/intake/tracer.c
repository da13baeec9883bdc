// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "forkhold.h"
#include "guardian.h"
#include "intake.h"
#include "leakwatch.skel.h"
#include "log.h"
#include "tracer_int.h"
#include "uprobe_multi.h"
#include "vec.h"

/* How long tracer__end_holds waits for the records of the last holds: a
 * record follows its stop within the same BPF program run. */
#define END_HOLDS_POLLS 200
#define END_HOLDS_POLL_MS 10

/* How long the capture thread sleeps between looks at its stop flag: the
 * longest tracer__free waits for it. */
#define OOM_THREAD_POLL_MS 100

static int on_oom_copy(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	if (size < sizeof(struct lw_oom_event))
		return 0;
	return t->opts.on_oom_early(t->opts.ctx, data);
}

static void *oom_thread(void *arg)
{
	struct tracer *t = arg;

	while (!__atomic_load_n(&t->oom_stop, __ATOMIC_ACQUIRE))
		ring_buffer__poll(t->oom_rb, OOM_THREAD_POLL_MS);
	return NULL;
}

/* The capture thread: it reads OOM records the moment they are written,
 * however long the main loop takes over a batch or a report. */
static int start_oom_thread(struct tracer *t)
{
	int err;

	if (!t->opts.oom || !t->opts.on_oom_early)
		return 0;
	t->oom_rb = ring_buffer__new(bpf_map__fd(t->skel->maps.lw_oom_events), on_oom_copy, t,
				     NULL);
	if (!t->oom_rb)
		return -errno;
	err = pthread_create(&t->oom_thread, NULL, oom_thread, t);
	if (err)
		return -err;
	t->oom_thread_running = true;
	/* real-time, so that its wake-up preempts whatever runs: the victim's
	 * maps go a few ms after the kill.  It sleeps but for rare, short
	 * reads of small files.  Without CAP_SYS_NICE it stays as it is. */
	err = pthread_setschedparam(t->oom_thread, SCHED_FIFO,
				    &(struct sched_param){ .sched_priority = 1 });
	if (err)
		lw_debug("capture thread stays non-real-time: %s\n", strerror(err));
	return 0;
}

const char *tracer__probe_api(const struct tracer *t)
{
	return t->session ? "session" : "perf";
}

/* libbpf's own messages, verifier logs included, only with -v: the caller
 * reports each failure once, with its cause and remedy. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!lw_log_enabled(LW_LOG_DEBUG))
		return 0;
	fprintf(stderr, "leakwatch: debug: ");
	return vfprintf(stderr, fmt, ap);
}

/* The ring's bytes to the decoder, which validates and hands them on. */
static int on_record(void *ctx, void *data, size_t size)
{
	return intake__record(ctx, data, size);
}

/* A held process's continuation (holds.h): SIGCONT, then the kernel's
 * count of the holds done. */
static void continue_held(void *ctx, pid_t pid)
{
	struct tracer *t = ctx;
	struct lw_unhold_args a = { .pid = pid };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));

	kill(pid, SIGCONT);
	/* after the SIGCONT: a guardian that finds it still counted sends
	 * another, which does no harm */
	if (bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.lw_unhold), &opts))
		lw_debug("held process %d: cannot count its continuation: %s\n", pid,
			 strerror(errno));
}

/* Between open and load: the maps' sizes, the rodata, and which programs
 * this kernel loads. */
static int configure(struct tracer *t)
{
	const struct tracer_opts *opts = &t->opts;
	struct leakwatch_bpf *skel = t->skel;
	enum fork_hold hold = FORK_HOLD_SIGNAL_TASK;
	int err;

	skel->rodata->lw_follow = opts->follow;
	/* before 6.13 a forked child stops itself (bpf/proc.bpf.c) */
	if (opts->follow && !opts->oom_only)
		hold = fork_hold_choose();
	if (hold != FORK_HOLD_SIGNAL_TASK)
		lw_debug("forked children stop themselves (%s)\n", fork_hold_name(hold));
	skel->rodata->lw_fork_self_stop = hold != FORK_HOLD_SIGNAL_TASK;
	skel->rodata->lw_wakeup_bytes = opts->ringbuf_bytes / 8;
	err = bpf_map__set_max_entries(skel->maps.lw_events, opts->ringbuf_bytes);
	/* user stacks are walked by unwind.bpf.h, which names them itself */
	err = err ?: bpf_map__set_max_entries(skel->maps.lw_stacks, 1);
	err = err ?: bpf_map__set_max_entries(skel->maps.lw_ustack_ids, opts->stack_entries);
	/* 12 bytes a row and 8 a page (256 bytes of code), which holds
	 * about 5 rows: 14 bytes a row, with room */
	err = err ?: bpf_map__set_max_entries(skel->maps.lw_urows, opts->unwind_bytes / 14 ?: 1);
	err = err ?: bpf_map__set_max_entries(skel->maps.lw_upages,
					      opts->unwind_bytes / 14 / 4 ?: 1);
	skel->rodata->lw_sample_bytes = opts->sample_bytes;
	if (!err && (opts->sample_bytes || opts->sampling))
		err = bpf_map__set_max_entries(skel->maps.lw_sampled, opts->sample_entries);
	err = err ?: tracer_choose_probe_api(t);
	err = err ?: tracer_choose_oom_hooks(t);
	if (!err && opts->kernel) {
		err = bpf_map__set_max_entries(skel->maps.lw_kevents, opts->ringbuf_bytes);
		err = err ?: bpf_map__set_max_entries(skel->maps.lw_kstacks, opts->stack_entries);
	}
	err = err ?: tracer_choose_kernel_hooks(t);
	err = err ?: tracer_choose_map_hooks(t);
	err = err ?: bpf_program__set_autoload(skel->progs.lw_fork_stop, hold == FORK_HOLD_FEXIT);
	err = err ?: bpf_program__set_autoload(skel->progs.lw_fork_stop_tp,
					       hold == FORK_HOLD_SYS_EXIT);
	return err;
}

/* The system-wide hooks (they act on lw_pids only; allocator probes are
 * attached per process). */
static int attach_hooks(struct tracer *t)
{
	struct leakwatch_bpf *skel = t->skel;
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
	} life[] = {
		{ skel->progs.lw_fork, &skel->links.lw_fork },
		{ skel->progs.lw_exec, &skel->links.lw_exec },
		{ skel->progs.lw_exit, &skel->links.lw_exit },
		{ skel->progs.lw_signal_deliver, &skel->links.lw_signal_deliver },
	};
	int err;

	for (size_t i = 0; i < sizeof(life) / sizeof(life[0]); i++) {
		*life[i].link = bpf_program__attach(life[i].prog);
		if (!*life[i].link)
			return -errno;
	}
	/* the one of them loaded, if any */
	err = tracer_attach_loaded(skel->progs.lw_fork_stop, &skel->links.lw_fork_stop);
	err = err ?: tracer_attach_loaded(skel->progs.lw_fork_stop_tp,
					  &skel->links.lw_fork_stop_tp);
	err = err ?: tracer_attach_oom_hooks(t);
	return err ?: (t->opts.maps_on_demand ? 0 : tracer_attach_map_hooks(t));
}

/* The rings' reader, then --kernel's hooks: they go last, so that
 * leakwatch's own setup (the rings' mappings) is not among the kernel's
 * allocations. */
static int open_rings(struct tracer *t)
{
	int err;

	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.lw_events), on_record, &t->intake,
				 NULL);
	if (!t->rb)
		return -errno;
	/* one consumer for both rings: the kernel's records wait no longer */
	if (t->opts.kernel) {
		err = ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.lw_kevents), on_record,
				       &t->intake);
		err = err ?: tracer_attach_kernel_hooks(t);
		if (err)
			return err;
	}
	return 0;
}

struct tracer *tracer__new(const struct tracer_opts *opts)
{
	struct tracer *t;
	int err;

	libbpf_set_print(libbpf_print);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->opts = *opts;
	memcpy(t->intake.on, opts->on, sizeof(t->intake.on));
	t->intake.ctx = opts->ctx;
	t->intake.holds = (struct holds){ .cont = continue_held, .ctx = t };

	t->skel = leakwatch_bpf__open();
	err = t->skel ? configure(t) : -errno;
	err = err ?: leakwatch_bpf__load(t->skel);
	if (err)
		goto cleanup;
	/* before any probe is attached, while leakwatch has one thread */
	if (!opts->oom_only) {
		t->guardian = guardian__start(bpf_map__fd(t->skel->maps.lw_held),
					      &t->skel->bss->lw_holds_off);
		if (!t->guardian) {
			err = -errno;
			goto cleanup;
		}
	}
	err = attach_hooks(t);
	err = err ?: open_rings(t);
	err = err ?: start_oom_thread(t);
	if (err)
		goto cleanup;
	return t;

cleanup:
	tracer__free(t);
	errno = -err;
	return NULL;
}

/* Remove the probes of one library of one process. */
static void release_links(struct pid_links *pl)
{
	size_t j;

	/* each removal waits for an RCU-tasks grace period (~80 ms here),
	 * serialized in the kernel; in the reverse order of attach_rank, so
	 * that what hands blocks out goes before what takes them back */
	for (j = pl->n; j-- > 0;)
		bpf_link__destroy(pl->links[j]);
	for (j = 0; j < 2; j++) {
		if (pl->fds[j] >= 0)
			close(pl->fds[j]);
	}
	free(pl->links);
}

static void drop_entry(struct tracer *t, size_t i)
{
	release_links(&t->attached[i]);
	t->attached[i] = t->attached[--t->nattached];
}

/* The reaper's work: a copy of an entry (tracer__detach_exited). */
static void reap_links(void *item)
{
	release_links(item);
	free(item);
}

void tracer__free(struct tracer *t)
{
	if (!t)
		return;
	if (t->oom_thread_running) {
		__atomic_store_n(&t->oom_stop, 1, __ATOMIC_RELEASE);
		pthread_join(t->oom_thread, NULL);
	}
	ring_buffer__free(t->oom_rb);
	reaper__free(t->reaper);
	while (t->nattached)
		drop_entry(t, t->nattached - 1);
	free(t->attached);
	ring_buffer__free(t->rb);
	/* every hold has ended (tracer__end_holds) or its process is
	 * continued by the guardian's last sweep */
	guardian__stop(t->guardian);
	leakwatch_bpf__destroy(t->skel);
	free(t);
}

int tracer__track(struct tracer *t, pid_t pid, uint64_t sample_bytes)
{
	struct lw_pid val = { .flags = LW_PID_TRACED, .sample_bytes = sample_bytes };
	__u32 key = pid;

	if (bpf_map__update_elem(t->skel->maps.lw_pids, &key, sizeof(key), &val, sizeof(val),
				 BPF_ANY))
		return -errno;
	return 0;
}

void tracer__untrack(struct tracer *t, pid_t pid)
{
	__u32 key = pid;

	bpf_map__delete_elem(t->skel->maps.lw_pids, &key, sizeof(key), 0);
}

int tracer__set_flags(struct tracer *t, pid_t pid, uint32_t flags)
{
	struct lw_pid val;
	__u32 key = pid;

	/* a pid tracked already (one that has exited since stays
	 * untracked), with the rate it was given */
	if (bpf_map__lookup_elem(t->skel->maps.lw_pids, &key, sizeof(key), &val, sizeof(val), 0))
		return -errno;
	val.flags = flags;
	if (bpf_map__update_elem(t->skel->maps.lw_pids, &key, sizeof(key), &val, sizeof(val),
				 BPF_EXIST))
		return -errno;
	return 0;
}

static struct bpf_program *entry_prog(struct leakwatch_bpf *skel, enum lw_fn fn)
{
	switch (fn) {
	case LW_FN_MALLOC: return skel->progs.lw_malloc;
	case LW_FN_CALLOC: return skel->progs.lw_calloc;
	case LW_FN_REALLOC: return skel->progs.lw_realloc;
	case LW_FN_REALLOCARRAY: return skel->progs.lw_reallocarray;
	case LW_FN_FREE: return skel->progs.lw_free;
	case LW_FN_POSIX_MEMALIGN: return skel->progs.lw_posix_memalign;
	case LW_FN_MEMALIGN: return skel->progs.lw_memalign;
	case LW_FN_VALLOC: return skel->progs.lw_valloc;
	case LW_FN_PVALLOC: return skel->progs.lw_pvalloc;
	case LW_FN_XALLOCX: return skel->progs.lw_xallocx;
	case LW_FN__COUNT: break;
	}
	return NULL;
}

static int add_link(struct pid_links *pl, struct bpf_link *link)
{
	if (lw_vec_reserve(pl->links, pl->cap, pl->n + 1))
		return -ENOMEM;
	pl->links[pl->n++] = link;
	return 0;
}

/*
 * Probes go live one at a time (one registration, and a grace period,
 * each) while the process may run: -p attaches to a running process.  A
 * function that takes blocks back must be probed before any that hands
 * them out, or a block handed out and taken back in between stays in the
 * ledger, and the next block at its address counts as a missed free.
 * The other way round, a block handed out before and taken back after
 * is an unknown free, as any block allocated before tracing began: so
 * free first, then the realloc family (which takes and hands out), then
 * the rest.  The kernel registers a multi link's probes in array order.
 */
static int attach_rank(enum lw_fn fn)
{
	switch (fn) {
	case LW_FN_FREE:
		return 0;
	case LW_FN_REALLOC:
	case LW_FN_REALLOCARRAY:
	case LW_FN_XALLOCX:
		return 1;
	default:
		return 2;
	}
}

#define ATTACH_RANKS 3

/* Session API: one link for every allocating function (the cookie says
 * which), one for free, attached first (attach_rank).  Removing a link
 * waits for one grace period, not one per probe. */
static int attach_session(struct tracer *t, struct pid_links *pl, const struct alloc_lib *lib,
			  size_t *nprobes)
{
	__u64 offs[LW_MAX_LIB_PROBES], cookies[LW_MAX_LIB_PROBES], free_off[LW_MAX_LIB_PROBES];
	__u64 free_cookies[LW_MAX_LIB_PROBES], shared = pl->pid ? 0 : LW_COOKIE_SHARED;
	__u32 n = 0, nfree = 0;
	size_t i;
	int fd, rank;

	for (rank = 0; rank < ATTACH_RANKS; rank++) {
		for (i = 0; i < lib->n; i++) {
			const struct alloc_probe *p = &lib->probes[i];

			if (attach_rank(p->fn) != rank)
				continue;
			lw_debug("pid %d: %s at %s+0x%llx (entry+%llu)\n", pl->pid, p->symbol,
				 lib->path, (unsigned long long)p->site_offset,
				 (unsigned long long)(p->site_offset - p->func_offset));
			if (p->fn == LW_FN_FREE) {
				free_cookies[nfree] = shared;
				free_off[nfree++] = p->site_offset;
			} else {
				offs[n] = p->site_offset;
				cookies[n++] = p->fn | shared;
			}
		}
	}
	if (nfree) {
		fd = uprobe_multi_link(bpf_program__fd(t->skel->progs.lw_free_multi),
				       LW_BPF_TRACE_UPROBE_MULTI, lib->open_path, free_off,
				       free_cookies, nfree, pl->pid);
		if (fd < 0)
			return fd;
		pl->fds[1] = fd;
	}
	fd = uprobe_multi_link(bpf_program__fd(t->skel->progs.lw_alloc_session),
			       LW_BPF_TRACE_UPROBE_SESSION, lib->open_path, offs, cookies, n,
			       pl->pid);
	if (fd < 0)
		return fd;
	pl->fds[0] = fd;
	if (nprobes)
		*nprobes = n + nfree;
	return 0;
}

/* Perf API: p's entry probe (ret false) or return probe (ret true), for
 * pl->pid (0: every process, a per-file link). */
static int attach_perf(struct tracer *t, struct pid_links *pl, const struct alloc_lib *lib,
		       const struct alloc_probe *p, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	/* whose probe it is (see alloc.bpf.c); per-file: every process (-1) */
	__u64 whose = pl->pid ? (__u64)pl->pid : LW_COOKIE_SHARED;
	struct bpf_link *link;

	if (!ret) {
		lw_debug("pid %d: %s at %s+0x%llx (entry+%llu)\n", pl->pid, p->symbol, lib->path,
			 (unsigned long long)p->site_offset,
			 (unsigned long long)(p->site_offset - p->func_offset));
		opts.bpf_cookie = whose;
		link = bpf_program__attach_uprobe_opts(entry_prog(t->skel, p->fn),
						       pl->pid ? pl->pid : -1, lib->open_path,
						       p->site_offset, &opts);
		return link ? add_link(pl, link) : -errno;
	}
	/* the return probe needs [rsp] to be the return address: true at the
	 * site too, since the instructions skipped leave rsp as it was; one
	 * breakpoint then serves both probes, and none sits on an
	 * instruction the kernel would single-step */
	opts.retprobe = true;
	/* kernels before 6.13 run every perf uretprobe's program on any
	 * traced process's return: the cookie says whose it is, and which
	 * function returns */
	opts.bpf_cookie = whose | (__u64)p->fn << LW_COOKIE_FN_SHIFT;
	link = bpf_program__attach_uprobe_opts(t->skel->progs.lw_alloc_ret, pl->pid ? pl->pid : -1,
					       lib->open_path, p->site_offset, &opts);
	return link ? add_link(pl, link) : -errno;
}

/*
 * The probes of lib for pid, or its per-file links when pid is 0: in the
 * order of attach_rank, and on the perf API every return probe before any
 * entry probe but free's.  A call entered while its return probe alone is
 * live returns unmatched, which counts nothing (alloc_return); an entry
 * probe alone would have the thread wait for a return that never comes,
 * tracing none of its calls after.  Returns before entries, inner calls
 * (malloc inside realloc) have their returns when the outer one is entered.
 */
static int attach_entry(struct tracer *t, pid_t pid, const struct alloc_lib *lib, size_t *nprobes)
{
	struct pid_links *pl;
	size_t i;
	int err = 0, rank;

	if (lw_vec_reserve(t->attached, t->attached_cap, t->nattached + 1))
		return -ENOMEM;
	pl = &t->attached[t->nattached++];
	memset(pl, 0, sizeof(*pl));
	pl->pid = pid;
	pl->fds[0] = pl->fds[1] = -1;
	if (t->session) {
		err = attach_session(t, pl, lib, nprobes);
		if (err)
			drop_entry(t, t->nattached - 1);
		return err;
	}
	for (i = 0; i < lib->n && !err; i++) {
		if (attach_rank(lib->probes[i].fn) == 0)
			err = attach_perf(t, pl, lib, &lib->probes[i], false);
	}
	for (i = 0; i < lib->n && !err; i++) {
		if (lib->probes[i].ret_probe)
			err = attach_perf(t, pl, lib, &lib->probes[i], true);
	}
	for (rank = 1; rank < ATTACH_RANKS && !err; rank++) {
		for (i = 0; i < lib->n && !err; i++) {
			if (attach_rank(lib->probes[i].fn) == rank)
				err = attach_perf(t, pl, lib, &lib->probes[i], false);
		}
	}
	if (nprobes)
		*nprobes = pl->n;
	if (err)
		drop_entry(t, t->nattached - 1);
	return err;
}

int tracer__attach(struct tracer *t, pid_t pid, const struct alloc_lib *lib, size_t *nprobes)
{
	return attach_entry(t, pid, lib, nprobes);
}

int tracer__attach_shared(struct tracer *t, const struct alloc_lib *lib, size_t *nprobes)
{
	struct stat st;
	size_t i;
	int err;

	if (nprobes)
		*nprobes = 0;
	if (stat(lib->open_path, &st))
		return -errno;
	/* the kernel keys a uprobe by inode: once per file */
	for (i = 0; i < t->nattached; i++) {
		if (!t->attached[i].pid && t->attached[i].dev == st.st_dev &&
		    t->attached[i].ino == st.st_ino)
			return 0;
	}
	err = attach_entry(t, 0, lib, nprobes);
	if (err)
		return err;
	t->attached[t->nattached - 1].dev = st.st_dev;
	t->attached[t->nattached - 1].ino = st.st_ino;
	return 0;
}

void tracer__detach(struct tracer *t, pid_t pid)
{
	size_t i;

	/* a process may have several libraries probed: one entry each */
	for (i = t->nattached; i-- > 0;) {
		if (t->attached[i].pid == pid)
			drop_entry(t, i);
	}
}

void tracer__detach_exited(struct tracer *t, pid_t pid)
{
	struct pid_links *copy;
	size_t i;

	for (i = t->nattached; i-- > 0;) {
		if (t->attached[i].pid != pid)
			continue;
		if (!t->reaper)
			t->reaper = reaper__new(reap_links);
		copy = t->reaper ? malloc(sizeof(*copy)) : NULL;
		if (copy)
			*copy = t->attached[i];
		if (copy && !reaper__give(t->reaper, copy)) {
			t->attached[i] = t->attached[--t->nattached];
			continue;
		}
		/* no thread to hand them to: here, as before */
		free(copy);
		drop_entry(t, i);
	}
}

void tracer__detach_all(struct tracer *t)
{
	while (t->nattached)
		drop_entry(t, t->nattached - 1);
	if (t->reaper)
		reaper__drain(t->reaper);
}

int tracer__epoll_fd(const struct tracer *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int tracer__consume(struct tracer *t)
{
	uint64_t seq = ++t->drains_started;
	int n = ring_buffer__consume(t->rb);

	/* everything in the ring when it started has been read */
	if (n >= 0 && seq > t->drained)
		t->drained = seq;
	return n;
}

uint64_t tracer__drains(const struct tracer *t, uint64_t *drained)
{
	*drained = t->drained;
	return t->drains_started;
}

int tracer__unclaim_stack(struct tracer *t, uint32_t key)
{
	int fd = bpf_map__fd(t->skel->maps.lw_ustack_ids);

	if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
		return -errno;
	return 0;
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	int n, m;

	/* Records are mostly submitted without a wake-up (see lw_submit), so
	 * epoll may say nothing while data waits: always consume. */
	n = ring_buffer__poll(t->rb, timeout_ms);
	if (n < 0 && n != -EINTR)
		return n;
	m = tracer__consume(t);
	if (m < 0)
		return m;
	return n == -EINTR && !m ? -EINTR : (n > 0 ? n : 0) + m;
}

int tracer__end_holds(struct tracer *t)
{
	struct leakwatch_bpf__bss *bss = t->skel->bss;
	int i, n;

	/* the store must be visible before the count is read: a program
	 * that has not seen the flag has counted its stop already */
	__atomic_store_n(&bss->lw_holds_off, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < END_HOLDS_POLLS; i++) {
		if (t->intake.holds.seen >= __atomic_load_n(&bss->lw_holds_sent, __ATOMIC_SEQ_CST))
			return 0;
		n = tracer__poll(t, END_HOLDS_POLL_MS);
		if (n < 0 && n != -EINTR)
			return n;
	}
	lw_debug("holds: %llu sent, %llu seen\n",
		 (unsigned long long)__atomic_load_n(&bss->lw_holds_sent, __ATOMIC_SEQ_CST),
		 (unsigned long long)t->intake.holds.seen);
	return -ETIMEDOUT;
}

uint64_t tracer__holds_in_flight(const struct tracer *t)
{
	uint64_t done = __atomic_load_n(&t->skel->bss->lw_holds_done, __ATOMIC_SEQ_CST);

	return __atomic_load_n(&t->skel->bss->lw_holds_sent, __ATOMIC_SEQ_CST) - done;
}

int tracer__stack(struct tracer *t, int32_t stack_id, uint64_t *ips, size_t max)
{
	__u64 buf[LW_MAX_STACK_DEPTH] = {};
	__u32 key = stack_id;
	size_t n;

	if (stack_id < 0)
		return -ENOENT;
	if (bpf_map__lookup_elem(t->skel->maps.lw_stacks, &key, sizeof(key), buf, sizeof(buf), 0))
		return -errno;
	for (n = 0; n < LW_MAX_STACK_DEPTH && n < max && buf[n]; n++)
		ips[n] = buf[n];
	return (int)n;
}

void tracer__unwind_opts(const struct tracer *t, struct unwinder_opts *o)
{
	*o = (struct unwinder_opts){
		.umaps_fd = bpf_map__fd(t->skel->maps.lw_umaps),
		.upages_fd = bpf_map__fd(t->skel->maps.lw_upages),
		.urows_fd = bpf_map__fd(t->skel->maps.lw_urows),
		.pages_cap = t->opts.unwind_bytes ? bpf_map__max_entries(t->skel->maps.lw_upages) : 0,
		.rows_cap = t->opts.unwind_bytes ? bpf_map__max_entries(t->skel->maps.lw_urows) : 0,
	};
}

int tracer__kstack(struct tracer *t, int32_t stack_id, uint64_t *ips, size_t max)
{
	__u64 buf[LW_MAX_STACK_DEPTH] = {};
	__u32 key = stack_id;
	size_t n;

	if (stack_id < 0 || !t->opts.kernel)
		return -ENOENT;
	if (bpf_map__lookup_elem(t->skel->maps.lw_kstacks, &key, sizeof(key), buf, sizeof(buf), 0))
		return -errno;
	for (n = 0; n < LW_MAX_STACK_DEPTH && n < max && buf[n]; n++)
		ips[n] = buf[n];
	return (int)n;
}

struct forget_ctx {
	int map_fd;
	pid_t pid;
};

static void forget_one(uint64_t addr, const struct ledger_block *b, void *ctx)
{
	const struct forget_ctx *f = ctx;
	struct lw_sample_key k = { .pid = f->pid, .addr = addr };

	bpf_map_delete_elem(f->map_fd, &k);
}

void tracer__forget_sampled(struct tracer *t, pid_t pid, const struct ledger *l,
			    uint64_t sample_bytes)
{
	struct forget_ctx f = { bpf_map__fd(t->skel->maps.lw_sampled), pid };

	/* the process's sampled set is exactly its outstanding blocks */
	if (sample_bytes)
		ledger__for_each(l, forget_one, &f);
}

void tracer__drops(const struct tracer *t, uint64_t drops[LW_DROP__COUNT])
{
	memcpy(drops, (const void *)t->skel->bss->lw_drops, sizeof(t->skel->bss->lw_drops));
}

struct intake_stats tracer__intake_stats(const struct tracer *t)
{
	return t->intake.stats;
}

/* What the maps cost at their configured sizes (the stack table is
 * preallocated; the sampled set holds ~64 B per entry in use, counted at
 * its capacity). */
size_t tracer__kernel_footprint(const struct tracer *t)
{
	size_t bytes = bpf_map__max_entries(t->skel->maps.lw_events);

	/* the stack ids and the unwind tables (preallocated) */
	bytes += (size_t)bpf_map__max_entries(t->skel->maps.lw_ustack_ids) * 64;
	bytes += (size_t)bpf_map__max_entries(t->skel->maps.lw_urows) * sizeof(struct lw_urow) +
		 (size_t)bpf_map__max_entries(t->skel->maps.lw_upages) * sizeof(struct lw_upage);
	if (t->opts.sample_bytes || t->opts.sampling)
		bytes += (size_t)bpf_map__max_entries(t->skel->maps.lw_sampled) * 64;
	if (t->opts.oom)
		bytes += bpf_map__max_entries(t->skel->maps.lw_oom_events);
	if (t->opts.kernel)
		bytes += bpf_map__max_entries(t->skel->maps.lw_kevents) +
			 (size_t)bpf_map__max_entries(t->skel->maps.lw_kstacks) *
				 (LW_MAX_STACK_DEPTH * sizeof(__u64) + 16);
	return bytes;
}
