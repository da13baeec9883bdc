// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "log.h"
#include "tracer_int.h"
#include "uprobe_multi.h"

/* Load only the programs of the probe API in use. */
int tracer_choose_probe_api(struct tracer *t)
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
int tracer_choose_oom_hooks(struct tracer *t)
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
int tracer_attach_oom_hooks(struct tracer *t)
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
int tracer_choose_map_hooks(struct tracer *t)
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
int tracer_attach_loaded(struct bpf_program *prog, struct bpf_link **link)
{
	if (!bpf_program__autoload(prog))
		return 0;
	*link = bpf_program__attach(prog);
	return *link ? 0 : -errno;
}

/* System-wide hooks that act on lw_pids only. */
int tracer_attach_map_hooks(struct tracer *t)
{
	struct maphook hooks[] = MAPHOOKS(t->skel);
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		err = err ?: tracer_attach_loaded(hooks[i].prog, hooks[i].link);
	return err;
}

static void detach_map_hooks(struct tracer *t)
{
	struct maphook hooks[] = MAPHOOKS(t->skel);
	size_t i;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		bpf_link__destroy(*hooks[i].link);
		*hooks[i].link = NULL;
	}
}

int tracer__map_hooks(struct tracer *t, bool on)
{
	int err = 0;

	if (!t->opts.maps || !t->opts.maps_on_demand || on == t->map_hooks_on)
		return 0;
	if (on)
		err = tracer_attach_map_hooks(t);
	if (!on || err)
		detach_map_hooks(t);	/* an attach that failed half-way too */
	t->map_hooks_on = on && !err;
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
int tracer_choose_kernel_hooks(struct tracer *t)
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

int tracer_attach_kernel_hooks(struct tracer *t)
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

