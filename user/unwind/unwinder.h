/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The unwind tables in the kernel (bpf/unwind.bpf.h): one table per file,
 * compiled once (user/unwind_table.c) and shared by every process that
 * maps it, and each traced process's executable mappings pointing at them.
 *
 * Files are known by device and inode, and by GNU build ID (a container's
 * copy of a library shares the host's table).  Tables are never unloaded:
 * the kernel's arrays are sized once (--unwind-memory) and a file whose
 * table does not fit in what is left is walked by frame pointers, counted
 * in files_over_bound.
 */
#ifndef LW_UNWINDER_H
#define LW_UNWINDER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct unwinder_opts {
	int umaps_fd;		/* lw_umaps */
	int upages_fd;		/* lw_upages */
	int urows_fd;		/* lw_urows */
	size_t pages_cap;	/* entries of lw_upages */
	size_t rows_cap;	/* entries of lw_urows */
};

struct unwinder_stats {
	size_t files;		/* tables loaded */
	size_t rows, pages;	/* entries of lw_urows and lw_upages in use */
	size_t rows_cap, pages_cap;	/* and their sizes (--unwind-memory) */
	uint64_t files_over_bound;	/* tables that did not fit */
	uint64_t files_without_cfi;	/* files with no .eh_frame_hdr */
	size_t user_bytes;	/* this module's own memory */
};

/* NULL + errno. */
struct unwinder *unwinder__new(const struct unwinder_opts *o);
void unwinder__free(struct unwinder *u);	/* accepts NULL */

/* Tables for every executable file pid maps now (built or found), and
 * pid's mappings pointing at them, replacing what pid had: 0, or -Exxx
 * (-ENOENT: pid is gone).  Call it when pid's code changes: at attach,
 * exec, fork and after dlopen (holds give the time). */
int unwinder__sync(struct unwinder *u, pid_t pid);
/* pid exited: its mappings leave the kernel. */
void unwinder__forget(struct unwinder *u, pid_t pid);

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *s);

#endif /* LW_UNWINDER_H */
