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

/* Entry points probed in one library, at most (mimalloc's table has 44
 * names, some of them aliases). */
#define LW_MAX_LIB_PROBES 48

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

/*
 * Allocators that replace glibc's malloc when a process maps them
 * (LD_PRELOAD, or linked), one bit each: their malloc family, C++ new and
 * delete where they define them, and their own API.
 */
enum lw_other_alloc {
	LW_ALLOC_JEMALLOC = 1,
	LW_ALLOC_TCMALLOC = 2,
	LW_ALLOC_MIMALLOC = 4,
};

/* The probes of the first such library mapped in pid whose bit is not in
 * done; its bit in *kind.  0, -ENOENT when there is none, or -Exxx. */
int other_lib_find(pid_t pid, bool at_entry, unsigned done, unsigned *kind,
		   struct alloc_lib *out);
/* The same for an image held at exec, whose libraries are not mapped yet:
 * the allocator that LD_PRELOAD or the executable's DT_NEEDED names,
 * looked up in LD_LIBRARY_PATH and the dynamic linker's default
 * directories.  Its probes are live once the dynamic linker maps it. */
int other_lib_predict(pid_t pid, bool at_entry, unsigned done, unsigned *kind,
		      struct alloc_lib *out);
/* --allocator-prefix: the first object mapped in pid (the executable or a
 * library other than those above) that defines PREFIXmalloc and PREFIXfree,
 * with the malloc family's probes under prefixed names.  0, -ENOENT when
 * no object does, or -Exxx. */
int prefixed_lib_find(pid_t pid, const char *prefix, bool at_entry, struct alloc_lib *out);

/* A C library's file name: libc.so.6, libc-2.x.so, musl's libc.musl-*. */
bool probes_is_libc(const char *path);

void alloc_lib__free(struct alloc_lib *lib);	/* accepts NULL and zeroed */

#endif /* LW_PROBES_H */
