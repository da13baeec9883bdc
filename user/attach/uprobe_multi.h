/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uprobe_multi and uprobe session links (Linux 6.6+ and 6.13+), which
 * Debian 12's <linux/bpf.h> and libbpf 1.1 predate: the attach types and
 * the BPF_LINK_CREATE layout are the kernel's ABI, written out here.
 * Shared by the tracer and the benchmark's floor tracer.
 */
#ifndef LW_UPROBE_MULTI_H
#define LW_UPROBE_MULTI_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#define LW_BPF_TRACE_UPROBE_MULTI 48
#define LW_BPF_TRACE_UPROBE_SESSION 57

/* One link placing prog_fd at cnt offsets of path, in process pid only;
 * cookies (may be NULL) go with the offsets.  The link fd, or -Exxx. */
int uprobe_multi_link(int prog_fd, __u32 attach_type, const char *path, const __u64 *offsets,
		      const __u64 *cookies, __u32 cnt, pid_t pid);

/* Uprobe sessions are there when this kernel's BTF knows their attach type
 * (a feature probe, not a version check). */
bool have_uprobe_session(void);

#endif /* LW_UPROBE_MULTI_H */
