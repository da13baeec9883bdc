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
#include "leakwatch.skel.h"
#include "log.h"
#include "tracer.h"
#include "uprobe_multi.h"
#include "vec.h"

/* How long tracer__end_holds waits for the records of the last holds: a
 * record follows its stop within the same BPF program run. */
#define END_HOLDS_POLLS 200
#define END_HOLDS_POLL_MS 10

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
	bool session;		/* uprobe sessions and multi links */
	bool oom_kprobe;	/* oom_kill_process context for OOM records */
	/* on_oom_early's thread and ring buffer */
	struct ring_buffer *oom_rb;
	pthread_t oom_thread;
	bool oom_thread_running;
	int oom_stop;		/* atomic */
	uint64_t holds_seen;	/* LW_EV_HELD records consumed */
	struct guardian *guardian;	/* continues the held processes if leakwatch dies */
};

/* Load only the programs of the probe API in use. */
static int choose_probe_api(struct tracer *t)
{
	struct leakwatch_bpf *skel = t->skel;
	struct bpf_program *perf_progs[] = {
		skel->progs.lw_malloc, skel->progs.lw_calloc, skel->progs.lw_realloc,
		skel->progs.lw_reallocarray, skel->progs.lw_free, skel->progs.lw_posix_memalign,
		skel->progs.lw_memalign, skel->progs.lw_valloc, skel->progs.lw_pvalloc,
		skel->progs.lw_alloc_ret,
	};
	size_t i;
	int err;

	t->session = !t->opts.legacy_uprobes && have_uprobe_session();
	for (i = 0; i < sizeof(perf_progs) / sizeof(perf_progs[0]); i++) {
		err = bpf_program__set_autoload(perf_progs[i], !t->session);
		if (err)
			return err;
	}
	err = bpf_program__set_autoload(skel->progs.lw_alloc_session, t->session);
	err = err ?: bpf_program__set_autoload(skel->progs.lw_free_multi, t->session);
	if (t->session) {
		err = err ?: bpf_program__set_expected_attach_type(skel->progs.lw_alloc_session,
								   LW_BPF_TRACE_UPROBE_SESSION);
		err = err ?: bpf_program__set_expected_attach_type(skel->progs.lw_free_multi,
								   LW_BPF_TRACE_UPROBE_MULTI);
	}
	return err;
}

/* Which oom:mark_victim this kernel has, from its BTF: 2 when it passes the
 * task (Linux 6.8+), 1 when only the pid, 0 when there is none. */
static int mark_victim_kind(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t = NULL;
	int kind = 0;
	__s32 id;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	if (id > 0)
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	/* (void *__data, struct task_struct *, uid_t) or (void *__data, int) */
	if (t && btf_is_func_proto(t) && btf_vlen(t) >= 2) {
		const struct btf_type *arg = btf__type_by_id(btf, btf_params(t)[1].type);

		kind = arg && btf_is_ptr(arg) ? 2 : 1;
	}
	btf__free(btf);
	return kind;
}

/* OOM hooks: the mark_victim variant this kernel has, and the kprobe for
 * the kill's context where kprobes exist.  With oom_only, no allocator
 * probe is loaded; the lifecycle hooks stay, inert: they act only on
 * tracked pids, and there are none. */
static int choose_oom_hooks(struct tracer *t)
{
	struct leakwatch_bpf *skel = t->skel;
	struct bpf_program *prog;
	int kind = t->opts.oom ? mark_victim_kind() : 0;
	int err;

	if (t->opts.oom && !kind) {
		lw_debug("this kernel has no oom:mark_victim tracepoint in its BTF\n");
		return -ENOTSUP;
	}
	/* unused, its smallest size */
	if (!t->opts.oom) {
		err = bpf_map__set_max_entries(skel->maps.lw_oom_events, getpagesize());
		if (err)
			return err;
	}
	t->oom_kprobe = kind && !access("/sys/bus/event_source/devices/kprobe/type", F_OK);
	err = bpf_program__set_autoload(skel->progs.lw_oom_victim, kind == 2);
	err = err ?: bpf_program__set_autoload(skel->progs.lw_oom_victim_pid, kind == 1);
	err = err ?: bpf_program__set_autoload(skel->progs.lw_oom_kill_process, t->oom_kprobe);
	if (err || !t->opts.oom_only)
		return err;
	/* no pid is ever tracked: the table's preallocated entries would be
	 * most of what an idle --oom-only costs the kernel */
	err = bpf_map__set_max_entries(skel->maps.lw_pids, 1);
	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (!strncmp(sec, "uprobe", 6) || !strncmp(sec, "uretprobe", 9))
			err = err ?: bpf_program__set_autoload(prog, false);
	}
	return err;
}

/* The OOM hooks are system-wide: every victim is reported. */
static int attach_oom_hooks(struct tracer *t)
{
	struct leakwatch_bpf *skel = t->skel;
	struct bpf_program *victim = bpf_program__autoload(skel->progs.lw_oom_victim) ?
				     skel->progs.lw_oom_victim : skel->progs.lw_oom_victim_pid;
	struct bpf_link *link;

	if (!t->opts.oom)
		return 0;
	link = bpf_program__attach(victim);
	if (!link)
		return -errno;
	if (victim == skel->progs.lw_oom_victim)
		skel->links.lw_oom_victim = link;
	else
		skel->links.lw_oom_victim_pid = link;
	if (!t->oom_kprobe)
		return 0;
	/* optional: without it the kill's scope is inferred */
	skel->links.lw_oom_kill_process = bpf_program__attach(skel->progs.lw_oom_kill_process);
	if (!skel->links.lw_oom_kill_process)
		lw_debug("no kprobe on oom_kill_process (%s): the kill's scope will be inferred\n",
			 strerror(errno));
	return 0;
}

/* The mapping syscalls' programs, by the hook that carries them. */
struct maphook {
	enum map_hook hook;
	struct bpf_program *prog;
	struct bpf_link **link;
};

#define MAPHOOK(h, skel, name) { h, (skel)->progs.name, &(skel)->links.name }
#define MAPHOOKS(s) { \
	MAPHOOK(MAP_HOOK_FENTRY, s, lw_fentry_brk), \
	MAPHOOK(MAP_HOOK_FENTRY, s, lw_fexit_mmap), \
	MAPHOOK(MAP_HOOK_FENTRY, s, lw_fexit_mprotect), \
	MAPHOOK(MAP_HOOK_FENTRY, s, lw_fexit_munmap), \
	MAPHOOK(MAP_HOOK_FENTRY, s, lw_fexit_mremap), \
	MAPHOOK(MAP_HOOK_FENTRY, s, lw_fexit_brk), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kprobe_mmap), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kretprobe_mmap), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kprobe_mprotect), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kretprobe_mprotect), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kprobe_munmap), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kretprobe_munmap), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kprobe_mremap), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kretprobe_mremap), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kprobe_brk), \
	MAPHOOK(MAP_HOOK_KPROBE, s, lw_kretprobe_brk), \
	MAPHOOK(MAP_HOOK_TRACEPOINT, s, lw_sys_enter), \
	MAPHOOK(MAP_HOOK_TRACEPOINT, s, lw_sys_exit), \
}

/* Load the programs of the chosen hook only: the others may not load
 * on this kernel at all. */
static int choose_map_hooks(struct tracer *t)
{
	struct maphook hooks[] = MAPHOOKS(t->skel);
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		err = err ?: bpf_program__set_autoload(hooks[i].prog, t->opts.maps &&
						       hooks[i].hook == t->opts.map_hook);
	return err;
}

/* Attach prog if it was loaded. */
static int attach_loaded(struct bpf_program *prog, struct bpf_link **link)
{
	if (!bpf_program__autoload(prog))
		return 0;
	*link = bpf_program__attach(prog);
	return *link ? 0 : -errno;
}

/* System-wide hooks that act on lw_pids only. */
static int attach_map_hooks(struct tracer *t)
{
	struct maphook hooks[] = MAPHOOKS(t->skel);
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		err = err ?: attach_loaded(hooks[i].prog, hooks[i].link);
	return err;
}

/* --kernel's programs and the tracepoints they need. */
struct khook {
	const char *tp;
	struct bpf_program *prog;
	struct bpf_link **link;
	bool required;		/* without it --kernel cannot work */
};

#define KHOOKS(skel) { \
	{ "kmalloc", (skel)->progs.lw_kmalloc, &(skel)->links.lw_kmalloc, true }, \
	{ "kfree", (skel)->progs.lw_kfree, &(skel)->links.lw_kfree, true }, \
	{ "kmalloc_node", (skel)->progs.lw_kmalloc_node, &(skel)->links.lw_kmalloc_node, false }, \
	{ "kmem_cache_alloc", (skel)->progs.lw_kmem_cache_alloc, \
	  &(skel)->links.lw_kmem_cache_alloc, false }, \
	{ "kmem_cache_alloc_node", (skel)->progs.lw_kmem_cache_alloc_node, \
	  &(skel)->links.lw_kmem_cache_alloc_node, false }, \
	{ "kmem_cache_free", (skel)->progs.lw_kmem_cache_free, \
	  &(skel)->links.lw_kmem_cache_free, false }, \
	{ "mm_page_alloc", (skel)->progs.lw_page_alloc, &(skel)->links.lw_page_alloc, false }, \
	{ "mm_page_free", (skel)->progs.lw_page_free, &(skel)->links.lw_page_free, false }, \
	{ "percpu_alloc_percpu", (skel)->progs.lw_percpu_alloc, \
	  &(skel)->links.lw_percpu_alloc, false }, \
	{ "percpu_free_percpu", (skel)->progs.lw_percpu_free, \
	  &(skel)->links.lw_percpu_free, false }, \
}

/* The value of enumerator name in this kernel's BTF (gfp bits became an
 * enum in 6.9; before, they were #defines, invisible in BTF). */
static bool btf_enum_value(const struct btf *btf, const char *name, long long *val)
{
	__u32 id, n = btf__type_cnt(btf);
	int i;

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e;

		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (i = 0; i < btf_vlen(t); i++) {
			if (!strcmp(btf__name_by_offset(btf, e[i].name_off), name)) {
				*val = e[i].val;
				return true;
			}
		}
	}
	return false;
}

/* Load the programs of the kmem/percpu tracepoints this kernel has; each
 * one missing is said at debug level, and a kernel without kmalloc or
 * kfree cannot do --kernel.  Without --kernel, none, and the smallest
 * maps. */
static int choose_kernel_hooks(struct tracer *t)
{
	struct leakwatch_bpf *skel = t->skel;
	struct khook hooks[] = KHOOKS(skel);
	struct btf *btf = NULL;
	long long bit = 20;	/* ___GFP_HARDWALL was 0x100000 until 6.8 */
	char name[64];
	size_t i;
	int err = 0;

	if (t->opts.kernel) {
		btf = btf__load_vmlinux_btf();
		if (!btf)
			return -errno;
		if (!btf_enum_value(btf, "___GFP_HARDWALL_BIT", &bit))
			lw_debug("--kernel: no ___GFP_HARDWALL_BIT in BTF, taking 0x100000\n");
		skel->rodata->lw_kpage_skip_gfp = 1ull << bit;
		skel->rodata->lw_page_size = getpagesize();
	} else {
		err = bpf_map__set_max_entries(skel->maps.lw_kevents, getpagesize());
		err = err ?: bpf_map__set_max_entries(skel->maps.lw_kstacks, 1);
	}
	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]) && !err; i++) {
		bool have = false;

		if (btf) {
			snprintf(name, sizeof(name), "btf_trace_%s", hooks[i].tp);
			have = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
			if (!have && hooks[i].required) {
				lw_debug("--kernel: this kernel has no %s tracepoint in its BTF\n",
					 hooks[i].tp);
				err = -ENOTSUP;
				break;
			}
			if (!have)
				lw_debug("--kernel: this kernel has no %s tracepoint: %s not loaded\n",
					 hooks[i].tp, bpf_program__name(hooks[i].prog));
		}
		err = bpf_program__set_autoload(hooks[i].prog, have);
	}
	btf__free(btf);
	return err;
}

static int attach_kernel_hooks(struct tracer *t)
{
	struct leakwatch_bpf *skel = t->skel;
	struct khook hooks[] = KHOOKS(skel);
	size_t i;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]) && t->opts.kernel; i++) {
		if (!bpf_program__autoload(hooks[i].prog))
			continue;
		*hooks[i].link = bpf_program__attach(hooks[i].prog);
		if (!*hooks[i].link) {
			lw_debug("--kernel: cannot attach to %s: %s\n", hooks[i].tp,
				 strerror(errno));
			return -errno;
		}
	}
	return 0;
}

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

/* on_record tells records apart by their first field. */
_Static_assert(__builtin_offsetof(struct lw_oom_event, type) == 0 &&
	       __builtin_offsetof(struct lw_event, type) == 0, "records start with their type");
_Static_assert(sizeof(struct lw_oom_event) % 8 == 0, "lw_oom_event has no tail padding");

/*
 * The frames that follow a record's header of hdr bytes, when it carries
 * nips of them: false when they do not fit in the record (then it is
 * not handed on), *ips NULL when there are none.
 */
static bool inline_frames(const void *data, size_t size, size_t hdr, bool inline_stack,
			  __u32 nips, const uint64_t **ips)
{
	*ips = NULL;
	if (!inline_stack)
		return true;
	if (nips > LW_MAX_STACK_DEPTH || size < hdr + nips * sizeof(__u64))
		return false;
	*ips = (const uint64_t *)((const char *)data + hdr);
	return true;
}

static int on_map_record(struct tracer *t, const struct lw_map_event *m, size_t size)
{
	const uint64_t *ips;

	if (size < sizeof(*m) || !t->opts.on_map ||
	    !inline_frames(m, size, sizeof(*m), m->e.flags & LW_EV_INLINE_STACK, m->e.nips, &ips))
		return 0;
	return t->opts.on_map(t->opts.ctx, m, ips);
}

/* lw_kevents: only kernel allocation records. */
static int on_krecord(void *ctx, void *data, size_t size)
{
	const struct lw_kevent *e = data;
	struct tracer *t = ctx;
	const uint64_t *ips;

	if (size < sizeof(*e) || !inline_frames(e, size, sizeof(*e), e->nips, e->nips, &ips))
		return 0;
	return t->opts.on_kevent(t->opts.ctx, e, ips);
}

static int on_record(void *ctx, void *data, size_t size)
{
	const struct lw_event *e = data;
	struct tracer *t = ctx;
	const uint64_t *ips;

	/* every record starts with its type; OOM records have their own shape */
	if (size >= sizeof(__u32) && e->type == LW_REC_OOM_KILL) {
		if (size < sizeof(struct lw_oom_event) || !t->opts.on_oom)
			return 0;
		return t->opts.on_oom(t->opts.ctx, data);
	}
	if (size < sizeof(*e))
		return 0;
	if (e->type >= LW_REC_MMAP && e->type <= LW_REC_MPROTECT)
		return on_map_record(t, data, size);
	if (e->flags & LW_EV_HELD)
		t->holds_seen++;
	if (!inline_frames(e, size, sizeof(*e),
			   e->flags & (LW_EV_INLINE_STACK | LW_EV_STACK_DEFINE), e->nips, &ips)) {
		/* malformed, but its process must not stay stopped */
		if (e->flags & LW_EV_HELD)
			tracer__continue(t, e->pid);
		return 0;
	}
	return t->opts.on_event(t->opts.ctx, e, ips);
}

struct tracer *tracer__new(const struct tracer_opts *opts)
{
	enum fork_hold hold = FORK_HOLD_SIGNAL_TASK;
	struct tracer *t;
	int err;

	libbpf_set_print(libbpf_print);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->opts = *opts;

	t->skel = leakwatch_bpf__open();
	if (!t->skel) {
		err = -errno;
		goto cleanup;
	}
	t->skel->rodata->lw_follow = opts->follow;
	/* before 6.13 a forked child stops itself (bpf/proc.bpf.c) */
	if (opts->follow && !opts->oom_only)
		hold = fork_hold_choose();
	if (hold != FORK_HOLD_SIGNAL_TASK)
		lw_debug("forked children stop themselves (%s)\n", fork_hold_name(hold));
	t->skel->rodata->lw_fork_self_stop = hold != FORK_HOLD_SIGNAL_TASK;
	t->skel->rodata->lw_wakeup_bytes = opts->ringbuf_bytes / 8;
	err = bpf_map__set_max_entries(t->skel->maps.lw_events, opts->ringbuf_bytes);
	/* user stacks are walked by unwind.bpf.h, which names them itself */
	if (!err)
		err = bpf_map__set_max_entries(t->skel->maps.lw_stacks, 1);
	if (!err)
		err = bpf_map__set_max_entries(t->skel->maps.lw_ustack_ids, opts->stack_entries);
	/* 12 bytes a row and 8 a page (256 bytes of code), which holds
	 * about 5 rows: 14 bytes a row, with room */
	if (!err)
		err = bpf_map__set_max_entries(t->skel->maps.lw_urows,
					       opts->unwind_bytes / 14 ?: 1);
	if (!err)
		err = bpf_map__set_max_entries(t->skel->maps.lw_upages,
					       opts->unwind_bytes / 14 / 4 ?: 1);
	t->skel->rodata->lw_sample_bytes = opts->sample_bytes;
	if (!err && opts->sample_bytes)
		err = bpf_map__set_max_entries(t->skel->maps.lw_sampled, opts->sample_entries);
	err = err ?: choose_probe_api(t);
	err = err ?: choose_oom_hooks(t);
	if (!err && opts->kernel) {
		err = bpf_map__set_max_entries(t->skel->maps.lw_kevents, opts->ringbuf_bytes);
		err = err ?: bpf_map__set_max_entries(t->skel->maps.lw_kstacks,
						      opts->stack_entries);
	}
	err = err ?: choose_kernel_hooks(t);
	err = err ?: choose_map_hooks(t);
	err = err ?: bpf_program__set_autoload(t->skel->progs.lw_fork_stop,
					       hold == FORK_HOLD_FEXIT);
	err = err ?: bpf_program__set_autoload(t->skel->progs.lw_fork_stop_tp,
					       hold == FORK_HOLD_SYS_EXIT);
	if (err)
		goto cleanup;

	err = leakwatch_bpf__load(t->skel);
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
	/* The lifecycle hooks are system-wide but only act on lw_pids;
	 * allocator probes are attached per process. */
	t->skel->links.lw_fork = bpf_program__attach(t->skel->progs.lw_fork);
	if (!t->skel->links.lw_fork) {
		err = -errno;
		goto cleanup;
	}
	t->skel->links.lw_exec = bpf_program__attach(t->skel->progs.lw_exec);
	if (!t->skel->links.lw_exec) {
		err = -errno;
		goto cleanup;
	}
	t->skel->links.lw_exit = bpf_program__attach(t->skel->progs.lw_exit);
	if (!t->skel->links.lw_exit) {
		err = -errno;
		goto cleanup;
	}
	t->skel->links.lw_signal_deliver = bpf_program__attach(t->skel->progs.lw_signal_deliver);
	if (!t->skel->links.lw_signal_deliver) {
		err = -errno;
		goto cleanup;
	}
	/* the one of them loaded, if any */
	err = attach_loaded(t->skel->progs.lw_fork_stop, &t->skel->links.lw_fork_stop);
	err = err ?: attach_loaded(t->skel->progs.lw_fork_stop_tp, &t->skel->links.lw_fork_stop_tp);
	err = err ?: attach_oom_hooks(t);
	err = err ?: attach_map_hooks(t);
	if (err)
		goto cleanup;
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.lw_events), on_record, t, NULL);
	if (!t->rb) {
		err = -errno;
		goto cleanup;
	}
	/* one consumer for both rings: the kernel's records wait no longer.
	 * The kernel hooks go last, so that leakwatch's own setup (the
	 * rings' mappings) is not among the kernel's allocations. */
	if (opts->kernel) {
		err = ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.lw_kevents), on_krecord, t);
		err = err ?: attach_kernel_hooks(t);
		if (err)
			goto cleanup;
	}
	err = start_oom_thread(t);
	if (err)
		goto cleanup;
	return t;

cleanup:
	tracer__free(t);
	errno = -err;
	return NULL;
}

/* Remove the probes of entry i (one library of one process). */
static void drop_entry(struct tracer *t, size_t i)
{
	struct pid_links *pl = &t->attached[i];
	size_t j;

	/* each removal waits for an RCU-tasks grace period (~80 ms here),
	 * serialized in the kernel */
	for (j = 0; j < pl->n; j++)
		bpf_link__destroy(pl->links[j]);
	for (j = 0; j < 2; j++) {
		if (pl->fds[j] >= 0)
			close(pl->fds[j]);
	}
	free(pl->links);
	t->attached[i] = t->attached[--t->nattached];
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

/* lw_pids[pid] = flags; how: BPF_ANY, or BPF_EXIST for a pid tracked
 * already (one that has exited since stays untracked). */
static int set_pid(struct tracer *t, pid_t pid, uint32_t flags, __u64 how)
{
	__u32 key = pid, val = flags;

	if (bpf_map__update_elem(t->skel->maps.lw_pids, &key, sizeof(key), &val, sizeof(val),
				 how))
		return -errno;
	return 0;
}

int tracer__track(struct tracer *t, pid_t pid)
{
	return set_pid(t, pid, LW_PID_TRACED, BPF_ANY);
}

void tracer__untrack(struct tracer *t, pid_t pid)
{
	__u32 key = pid;

	bpf_map__delete_elem(t->skel->maps.lw_pids, &key, sizeof(key), 0);
}

int tracer__set_flags(struct tracer *t, pid_t pid, uint32_t flags)
{
	return set_pid(t, pid, flags, BPF_EXIST);
}

void tracer__continue(struct tracer *t, pid_t pid)
{
	struct lw_unhold_args a = { .pid = pid };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));

	kill(pid, SIGCONT);
	/* after the SIGCONT: a guardian that finds it still counted sends
	 * another, which does no harm */
	if (bpf_prog_test_run_opts(bpf_program__fd(t->skel->progs.lw_unhold), &opts))
		lw_debug("held process %d: cannot count its continuation: %s\n", pid,
			 strerror(errno));
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

/* Session API: one link for every allocating function (the cookie says
 * which), one for free.  Removing a link waits for one grace period, not
 * one per probe. */
static int attach_session(struct tracer *t, struct pid_links *pl, const struct alloc_lib *lib,
			  size_t *nprobes)
{
	__u64 offs[LW_MAX_LIB_PROBES], cookies[LW_MAX_LIB_PROBES], free_off[LW_MAX_LIB_PROBES];
	__u64 free_cookies[LW_MAX_LIB_PROBES], shared = pl->pid ? 0 : LW_COOKIE_SHARED;
	__u32 n = 0, nfree = 0;
	size_t i;
	int fd;

	for (i = 0; i < lib->n; i++) {
		const struct alloc_probe *p = &lib->probes[i];

		lw_debug("pid %d: %s at %s+0x%llx (entry+%llu)\n", pl->pid, p->symbol, lib->path,
			 (unsigned long long)p->site_offset,
			 (unsigned long long)(p->site_offset - p->func_offset));
		if (p->fn == LW_FN_FREE) {
			free_cookies[nfree] = shared;
			free_off[nfree++] = p->site_offset;
		} else {
			offs[n] = p->site_offset;
			cookies[n++] = p->fn | shared;
		}
	}
	fd = uprobe_multi_link(bpf_program__fd(t->skel->progs.lw_alloc_session),
			       LW_BPF_TRACE_UPROBE_SESSION, lib->open_path, offs, cookies, n,
			       pl->pid);
	if (fd < 0)
		return fd;
	pl->fds[0] = fd;
	if (nfree) {
		fd = uprobe_multi_link(bpf_program__fd(t->skel->progs.lw_free_multi),
				       LW_BPF_TRACE_UPROBE_MULTI, lib->open_path, free_off,
				       free_cookies, nfree, pl->pid);
		if (fd < 0)
			return fd;
		pl->fds[1] = fd;
	}
	if (nprobes)
		*nprobes = n + nfree;
	return 0;
}

/* The probes of lib for pid, or its per-file links when pid is 0. */
static int attach_entry(struct tracer *t, pid_t pid, const struct alloc_lib *lib, size_t *nprobes)
{
	LIBBPF_OPTS(bpf_uprobe_opts, entry_opts);
	LIBBPF_OPTS(bpf_uprobe_opts, ret_opts);
	struct pid_links *pl;
	size_t i;
	int err = 0;

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
		const struct alloc_probe *p = &lib->probes[i];
		struct bpf_link *link;

		lw_debug("pid %d: %s at %s+0x%llx (entry+%llu)\n", pid, p->symbol, lib->path,
			 (unsigned long long)p->site_offset,
			 (unsigned long long)(p->site_offset - p->func_offset));
		/* whose probe it is (see alloc.bpf.c); per-file: every
		 * process (-1) */
		entry_opts.bpf_cookie = pid ? (__u64)pid : LW_COOKIE_SHARED;
		link = bpf_program__attach_uprobe_opts(entry_prog(t->skel, p->fn), pid ? pid : -1,
						       lib->open_path, p->site_offset, &entry_opts);
		if (!link) {
			err = -errno;
			break;
		}
		err = add_link(pl, link);
		if (err || !p->ret_probe)
			continue;
		/* the return probe needs [rsp] to be the return address: true
		 * at the site too, since the instructions skipped leave rsp as
		 * it was; one breakpoint then serves both probes, and none
		 * sits on an instruction the kernel would single-step */
		ret_opts.retprobe = true;
		/* kernels before 6.13 run every perf uretprobe's program on
		 * any traced process's return: the cookie says whose it is */
		ret_opts.bpf_cookie = pid ? (__u64)pid : LW_COOKIE_SHARED;
		link = bpf_program__attach_uprobe_opts(t->skel->progs.lw_alloc_ret, pid ? pid : -1,
						       lib->open_path, p->site_offset, &ret_opts);
		if (!link) {
			err = -errno;
			break;
		}
		err = add_link(pl, link);
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

void tracer__detach_all(struct tracer *t)
{
	while (t->nattached)
		drop_entry(t, t->nattached - 1);
}

int tracer__epoll_fd(const struct tracer *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int tracer__consume(struct tracer *t)
{
	return ring_buffer__consume(t->rb);
}

int tracer__poll(struct tracer *t, int timeout_ms)
{
	int n, m;

	/* Records are mostly submitted without a wake-up (see lw_submit), so
	 * epoll may say nothing while data waits: always consume. */
	n = ring_buffer__poll(t->rb, timeout_ms);
	if (n < 0 && n != -EINTR)
		return n;
	m = ring_buffer__consume(t->rb);
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
		if (t->holds_seen >= __atomic_load_n(&bss->lw_holds_sent, __ATOMIC_SEQ_CST))
			return 0;
		n = tracer__poll(t, END_HOLDS_POLL_MS);
		if (n < 0 && n != -EINTR)
			return n;
	}
	lw_debug("holds: %llu sent, %llu seen\n",
		 (unsigned long long)__atomic_load_n(&bss->lw_holds_sent, __ATOMIC_SEQ_CST),
		 (unsigned long long)t->holds_seen);
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

void tracer__forget_sampled(struct tracer *t, pid_t pid, const struct ledger *l)
{
	struct forget_ctx f = { bpf_map__fd(t->skel->maps.lw_sampled), pid };

	/* the process's sampled set is exactly its outstanding blocks */
	if (t->opts.sample_bytes)
		ledger__for_each(l, forget_one, &f);
}

void tracer__drops(const struct tracer *t, uint64_t drops[LW_DROP__COUNT])
{
	memcpy(drops, (const void *)t->skel->bss->lw_drops, sizeof(t->skel->bss->lw_drops));
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
	if (t->opts.sample_bytes)
		bytes += (size_t)bpf_map__max_entries(t->skel->maps.lw_sampled) * 64;
	if (t->opts.oom)
		bytes += bpf_map__max_entries(t->skel->maps.lw_oom_events);
	if (t->opts.kernel)
		bytes += bpf_map__max_entries(t->skel->maps.lw_kevents) +
			 (size_t)bpf_map__max_entries(t->skel->maps.lw_kstacks) *
				 (LW_MAX_STACK_DEPTH * sizeof(__u64) + 16);
	return bytes;
}
