// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * OOM kills, for postmortems.  oom:mark_victim fires once the OOM killer
 * has sent SIGKILL to its victim, before the victim exits and before the
 * OOM reaper takes its memory.  The record carries what the kernel knows
 * at that moment (the victim's mm counters, its memory cgroup with the
 * cgroup's page counters, the task that ran the OOM killer) and goes out
 * twice, each with a forced wake-up: on lw_oom_events to leakwatch's
 * capture thread, which reads the victim's /proc files and its memory
 * cgroup's at once, whatever the main loop is doing; and on lw_events, in
 * order after the victim's last allocations, to the main loop, which adds
 * the ledger and writes the postmortem.  No victim is filtered out here:
 * OOM kills are rare, and untraced victims get a postmortem too.
 *
 * One code path per hook, chosen by userspace from the kernel's BTF:
 *  - tp_btf/mark_victim with the task (Linux 6.8+): lw_oom_victim.
 *  - tp_btf/mark_victim with only the pid (older kernels): lw_oom_victim_pid
 *    finds the task with bpf_task_from_pid (6.2+), else takes the one the
 *    oom_kill_process kprobe saw; failing both it sends the pid alone.
 *  - kprobe/oom_kill_process, only where the kernel has kprobes: it runs on
 *    the same thread just before mark_victim and stashes the kill's context
 *    (memcg or global, the allocation's order, the pages weighed), which the
 *    mark_victim programs pick up.  Without it, userspace infers memcg or
 *    global from the page counters (LW_OOM_AT_LIMIT, below).
 *
 * Precision of the RSS: since 6.2 the mm counters are percpu_counters, and
 * their .count holds what has been folded so far; each CPU may hold up to
 * percpu_counter_batch (max(32, 2 x CPUs)) pages more or fewer.  The
 * tracepoint's own fields and the kernel's "Killed process" line read the
 * same approximation (get_mm_counter).  Before 6.2 they were atomics, with
 * per-thread caches of up to 64 events.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The mm counters before 6.2: atomics in struct mm_rss_stat. */
struct mm_rss_stat___lw {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___lw_old {
	struct mm_rss_stat___lw rss_stat;
} __attribute__((preserve_access_index));

/* kernfs_node.parent became __parent (RCU-protected) in 6.15. */
struct kernfs_node___lw_old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

struct kernfs_node___lw_new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

/* A page counter at or above this has no limit (PAGE_COUNTER_MAX is
 * LONG_MAX / PAGE_SIZE, 2^51 with 4 KiB pages). */
#define LW_NO_LIMIT_PAGES (1ull << 50)

/* Without oom_kill_process, a memcg counts as the one at its limit when
 * it is within this many pages of it: the charge that failed was at most
 * a huge page (512), and per-CPU charge stocks are part of the usage. */
#define LW_AT_LIMIT_PAGES 1024

/* The context oom_kill_process saw, per thread, for mark_victim. */
struct lw_oom_ctx {
	__u64 ts_ns;
	__u64 totalpages;
	__u64 memcg_id;		/* kernfs id of oc->memcg; 0: global */
	__u64 chosen;		/* oc->chosen, a task pointer (not dereferenced
				 * unless its pid is the victim's) */
	__u32 chosen_pid;
	__u32 order;
};

/* Stale entries are ignored, and the LRU drops them in the end. */
#define LW_OOM_CTX_MAX_AGE_NS 1000000000ull

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);	/* thread that runs the OOM killer */
	__type(value, struct lw_oom_ctx);
	__uint(max_entries, 256);
} lw_oom_ctxs SEC(".maps");

/* The capture thread's copy of each record (a few fit; kills are rare). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} lw_oom_events SEC(".maps");

/* The record is built here once, then copied to both ring buffers. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lw_oom_event);
} lw_oom_scratch SEC(".maps");

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___lw_new, __parent))
		return BPF_CORE_READ((struct kernfs_node___lw_new *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___lw_old *)kn, parent);
}

static __always_inline __u64 clamp_pages(long v)
{
	return v > 0 ? v : 0;
}

static __always_inline void fill_mm(struct lw_oom_event *e, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);

	if (!mm)
		return;
	e->total_vm = BPF_CORE_READ(mm, total_vm);
	/* the mappings in summary: certain to be there, unlike /proc/PID/maps
	 * once the victim has exited */
	e->exec_vm = BPF_CORE_READ(mm, exec_vm);
	e->data_vm = BPF_CORE_READ(mm, data_vm);
	e->stack_vm = BPF_CORE_READ(mm, stack_vm);
	e->heap_bytes = BPF_CORE_READ(mm, brk) - BPF_CORE_READ(mm, start_brk);
	e->map_count = BPF_CORE_READ(mm, map_count);
	if (bpf_core_type_exists(struct mm_rss_stat___lw)) {
		struct mm_struct___lw_old *old = (void *)mm;

		e->rss[LW_RSS_FILE] = clamp_pages(BPF_CORE_READ(old, rss_stat.count[0].counter));
		e->rss[LW_RSS_ANON] = clamp_pages(BPF_CORE_READ(old, rss_stat.count[1].counter));
		e->rss[LW_RSS_SWAP] = clamp_pages(BPF_CORE_READ(old, rss_stat.count[2].counter));
		e->rss[LW_RSS_SHMEM] = clamp_pages(BPF_CORE_READ(old, rss_stat.count[3].counter));
	} else {
		e->rss[LW_RSS_FILE] = clamp_pages(BPF_CORE_READ(mm, rss_stat[0].count));
		e->rss[LW_RSS_ANON] = clamp_pages(BPF_CORE_READ(mm, rss_stat[1].count));
		e->rss[LW_RSS_SWAP] = clamp_pages(BPF_CORE_READ(mm, rss_stat[2].count));
		e->rss[LW_RSS_SHMEM] = clamp_pages(BPF_CORE_READ(mm, rss_stat[3].count));
	}
	e->flags |= LW_OOM_HAVE_MM;
}

/* The victim's memory cgroup: its path, and the page counters of it and
 * its ancestors, to name the one whose limit the kill is about. */
static __always_inline void fill_memcg(struct lw_oom_event *e, struct task_struct *task,
				       const struct lw_oom_ctx *c)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cset = BPF_CORE_READ(task, cgroups);
	struct kernfs_node *kn, *parent;
	__u32 i;

	if (!cset || id < 0 || id >= 64)
		return;
	/* subsys[] indexed at run time: the enum's value is this kernel's */
	if (bpf_probe_read_kernel(&css, sizeof(css),
				  (void *)cset + bpf_core_field_offset(struct css_set, subsys) +
				  id * sizeof(css)) || !css)
		return;
	kn = BPF_CORE_READ(css, cgroup, kn);
	if (!kn)
		return;
	e->memcg_id = BPF_CORE_READ(kn, id);
	for (i = 0; i < LW_CGROUP_DEPTH; i++) {
		parent = kn_parent(kn);
		if (!parent)		/* the root has no name of its own */
			break;
		bpf_probe_read_kernel_str(e->cgroup[i], LW_CGROUP_NAME, BPF_CORE_READ(kn, name));
		kn = parent;
	}
	e->depth = i;
	if (i == LW_CGROUP_DEPTH && kn_parent(kn))
		e->flags |= LW_OOM_PATH_TRUNCATED;

	for (i = 0; i < LW_CGROUP_DEPTH && css; i++) {
		struct mem_cgroup *memcg = (void *)css - bpf_core_field_offset(struct mem_cgroup, css);
		__u64 usage = clamp_pages(BPF_CORE_READ(memcg, memory.usage.counter));
		__u64 max = BPF_CORE_READ(memcg, memory.max);
		bool hit;

		if (i == 0) {
			e->memcg_usage = usage;
			e->memcg_max = max;
		}
		if (c)		/* oom_kill_process named it */
			hit = c->memcg_id && BPF_CORE_READ(css, cgroup, kn, id) == c->memcg_id;
		else
			hit = max < LW_NO_LIMIT_PAGES && usage + LW_AT_LIMIT_PAGES >= max;
		if (hit) {
			e->flags |= LW_OOM_AT_LIMIT;
			e->limit_level = i;
			e->limit_usage = usage;
			e->limit_max = max;
			break;
		}
		css = BPF_CORE_READ(css, parent);
	}
	e->flags |= LW_OOM_HAVE_MEMCG;
}

static __always_inline void fill_victim(struct lw_oom_event *e, struct task_struct *task,
					const struct lw_oom_ctx *c)
{
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->uid = BPF_CORE_READ(task, real_cred, uid.val);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	fill_mm(e, task);
	fill_memcg(e, task, c);
}

/* The context oom_kill_process stashed on this thread, if recent. */
static __always_inline const struct lw_oom_ctx *oom_ctx(__u64 now)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	const struct lw_oom_ctx *c = bpf_map_lookup_elem(&lw_oom_ctxs, &tid);

	if (!c || now - c->ts_ns > LW_OOM_CTX_MAX_AGE_NS)
		return NULL;
	return c;
}

static __always_inline struct lw_oom_event *oom_begin(const struct lw_oom_ctx **c)
{
	__u32 zero = 0;
	struct lw_oom_event *e = bpf_map_lookup_elem(&lw_oom_scratch, &zero);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e)
		return NULL;
	/* all but the names, too large for an inlined memset: each name the
	 * record carries (depth) is written NUL-terminated by
	 * bpf_probe_read_kernel_str, which zeroes it on failure */
	__builtin_memset(e, 0, __builtin_offsetof(struct lw_oom_event, cgroup));
	e->type = LW_REC_OOM_KILL;
	e->ts_ns = bpf_ktime_get_ns();
	e->trigger_pid = id >> 32;
	e->trigger_tid = (__u32)id;
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	*c = oom_ctx(e->ts_ns);
	if (*c) {
		e->flags |= LW_OOM_HAVE_CONTEXT;
		if ((*c)->memcg_id)
			e->flags |= LW_OOM_MEMCG_SCOPE;
		e->order = (*c)->order;
		e->totalpages = (*c)->totalpages;
	}
	return e;
}

/* Both consumers must run now: the victim's /proc files go with it.  A
 * lost capture-thread copy only makes the main loop read them itself. */
static __always_inline void oom_submit(struct lw_oom_event *e)
{
	bpf_ringbuf_output(&lw_oom_events, e, sizeof(*e), BPF_RB_FORCE_WAKEUP);
	if (bpf_ringbuf_output(&lw_events, e, sizeof(*e), BPF_RB_FORCE_WAKEUP))
		lw_count(LW_DROP_RINGBUF_OTHER);
}

SEC("tp_btf/mark_victim")
int BPF_PROG(lw_oom_victim, struct task_struct *task, uid_t uid)
{
	const struct lw_oom_ctx *c;
	struct lw_oom_event *e = oom_begin(&c);

	if (!e)
		return 0;
	fill_victim(e, task, c);
	e->uid = uid;		/* the tracepoint's own: the same real uid */
	oom_submit(e);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(lw_oom_victim_pid, int pid)
{
	const struct lw_oom_ctx *c;
	struct lw_oom_event *e = oom_begin(&c);
	struct task_struct *task;

	if (!e)
		return 0;
	e->pid = e->tid = pid;
	if (bpf_task_from_pid) {
		task = bpf_task_from_pid(pid);
		if (task) {
			fill_victim(e, task, c);
			bpf_task_release(task);
		}
	} else if (c && c->chosen_pid == pid) {
		/* the victim oom_kill_process chose: still pinned by it */
		fill_victim(e, (struct task_struct *)c->chosen, c);
	}
	if (!(e->flags & LW_OOM_HAVE_MM))
		e->flags |= LW_OOM_PID_ONLY;
	oom_submit(e);
	return 0;
}

/* Kernels with kprobes: the kill's context, for mark_victim on this thread. */
SEC("kprobe/oom_kill_process")
int BPF_KPROBE(lw_oom_kill_process, struct oom_control *oc)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct lw_oom_ctx c = {};
	struct mem_cgroup *memcg = BPF_CORE_READ(oc, memcg);
	struct task_struct *chosen = BPF_CORE_READ(oc, chosen);

	c.ts_ns = bpf_ktime_get_ns();
	c.order = BPF_CORE_READ(oc, order);
	c.totalpages = BPF_CORE_READ(oc, totalpages);
	c.chosen = (__u64)chosen;
	if (chosen)
		c.chosen_pid = BPF_CORE_READ(chosen, tgid);
	if (memcg)
		c.memcg_id = BPF_CORE_READ(memcg, css.cgroup, kn, id);
	bpf_map_update_elem(&lw_oom_ctxs, &tid, &c, BPF_ANY);
	return 0;
}
