/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The cheap signals of --watch, read from /proc for every process: its
 * name and RssAnon/RssFile/RssShmem, all from one read of
 * /proc/PID/status (about 10 us a process here; README "--watch" has the
 * measurements against statm, smaps_rollup and the rss_stat tracepoint).
 * No libbpf, no per-syscall hook.
 */
#ifndef LW_PROCSCAN_H
#define LW_PROCSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rsswatch.h"

/* The numeric entries of proc_dir ("/proc", or HOST/proc): *pids
 * malloc'd, ascending.  0 or -Exxx. */
int procscan_list(const char *proc_dir, pid_t **pids, size_t *n);

/* "Name:" of a /proc/PID/status text, unescaped as the kernel escapes
 * it (\n and \\), at most 15 bytes + NUL into name[16].  0 or -EINVAL. */
int procscan_parse_name(const char *status, char name[16]);

/*
 * pid's name and memory from proc_dir/PID/status.  -ENOENT: gone;
 * -EINVAL: no RssAnon line (a kernel thread has no memory of its own).
 */
int procscan_read(const char *proc_dir, pid_t pid, char name[16], struct rss_status *st);

#endif /* LW_PROCSCAN_H */
