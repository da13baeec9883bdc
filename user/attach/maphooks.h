/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which kernel hooks carry the mapping syscalls (bpf/mmap.bpf.c), chosen
 * by trying them on this kernel rather than by its version.
 */
#ifndef LW_MAPHOOKS_H
#define LW_MAPHOOKS_H

enum map_hook {
	MAP_HOOK_AUTO,		/* the best this kernel has */
	MAP_HOOK_FENTRY,	/* fentry/fexit on the five syscalls */
	MAP_HOOK_KPROBE,	/* kprobe/kretprobe on the same functions */
	MAP_HOOK_TRACEPOINT,	/* sys_enter/sys_exit raw tracepoints */
};

/* "auto", "fentry", "kprobe", "tracepoint". */
const char *map_hook_name(enum map_hook h);
/* 0, or -EINVAL for an unknown name. */
int map_hook_parse(const char *name, enum map_hook *h);

/*
 * Resolve wanted for this kernel.  AUTO gives fentry where a fexit program
 * loads and attaches on the mmap syscall, else the tracepoints: never
 * kprobes, whose returns can be missed.  A named hook is tried the same
 * way.  Returns the hook, or -Exxx with *why saying what is missing.
 */
int map_hook_choose(enum map_hook wanted, const char **why);

#endif /* LW_MAPHOOKS_H */
