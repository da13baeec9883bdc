/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where the allocator probes of a process go: which ELF file holds its
 * malloc family (libc.so, or the executable itself when it is static),
 * and the file offset of each entry point, each address probed once
 * (glibc's aligned_alloc and memalign are one function, free and cfree).
 */
#ifndef LW_PROBES_H
#define LW_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "leakwatch.h"

/* Entry points probed in one library, at most (libstdc++ has 8 new). */
#define LW_MAX_LIB_PROBES 12

struct alloc_probe {
	enum lw_fn fn;
	const char *symbol;	/* static string */
	uint64_t func_offset;	/* file offset of the function's entry */
	uint64_t site_offset;	/* where the entry probe goes (see probesite.h) */
	bool ret_probe;		/* also probe its return */
};

struct alloc_lib {
	char *path;		/* as the process sees it */
	char *open_path;	/* how leakwatch opens it (/proc/PID/root/...) */
	size_t n;
	struct alloc_probe probes[LW_MAX_LIB_PROBES];
};

/*
 * Find the allocator of pid and plan its probes (at_entry: never move an
 * entry probe past the first instruction).  Returns 0, -ENOENT when
 * the process is gone, -ENOEXEC when it maps no libc and its executable
 * defines no malloc (a stripped static binary), or another -Exxx.
 */
int alloc_lib_find(pid_t pid, bool at_entry, struct alloc_lib *out);
/* The C++ allocation functions (operator new family) of pid's libstdc++:
 * 0, or -ENOENT when it maps none. */
int cxx_lib_find(pid_t pid, bool at_entry, struct alloc_lib *out);

void alloc_lib__free(struct alloc_lib *lib);	/* accepts NULL and zeroed */

#endif /* LW_PROBES_H */
