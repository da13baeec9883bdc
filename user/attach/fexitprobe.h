/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Whether fentry/fexit programs work on a kernel function, learnt by
 * trying: for the hooks that prefer them (mapping syscalls, forked
 * children's hold) and fall back to tracepoints.
 */
#ifndef LW_FEXITPROBE_H
#define LW_FEXITPROBE_H

struct btf;

/*
 * A fexit program that returns at once, loaded and attached on fn (a
 * function of btf, the kernel's) and dropped: BTF, trampolines and the
 * kernel's policy (lockdown, a kernel without ftrace, a function ftrace
 * cannot patch) all have their say, which no look at the BTF alone can
 * tell.  0, -ENOENT when btf has no function fn, or the kernel's -Exxx.
 */
int fexit_probe(const struct btf *btf, const char *fn);

#endif /* LW_FEXITPROBE_H */
