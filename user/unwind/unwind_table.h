/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Unwind tables: a file's call frame information (.eh_frame, read with
 * libdw) compiled into the rows bpf/unwind.bpf.h walks (struct lw_urow in
 * leakwatch.h).  Pure: no libbpf, no /proc, unit-tested on binaries the
 * test builds.
 *
 * Rows cover the file's executable segments, sorted by address.  Each row
 * says how to find the CFA (rsp or rbp plus an offset) and where the
 * caller's rbp is saved; the return address is at CFA - 8.  Code without
 * CFI, or with rules the walker cannot follow (expressions other than
 * binutils' PLT one, a CFA in another register), gets LW_UROW_NONE: the
 * walker takes the frame pointer there.  A signal frame (glibc's
 * __restore_rt, an FDE with the 'S' augmentation) gets LW_UROW_SIGNAL; an
 * undefined return address (_start, clone3) LW_UROW_END.
 *
 * Memory: 12 bytes a row, 8 per 256 bytes of code.  libc.so.6 makes
 * 28,000 rows and 5,500 pages: 374 KiB.
 */
#ifndef LW_UNWIND_TABLE_H
#define LW_UNWIND_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "leakwatch.h"

#define UNWIND_PAGE_SIZE (1u << LW_UNWIND_PAGE_SHIFT)

struct unwind_table {
	uint64_t base;		/* file address of pc 0: the first code page */
	uint64_t size;		/* bytes of code from base, pages rounded up */
	size_t nrows;
	struct lw_urow *rows;	/* sorted by pc */
	size_t npages;		/* size / UNWIND_PAGE_SIZE */
	struct lw_upage *pages;	/* first: index in rows */
	/* the executable segments: where a mapping's file offset lands */
	struct unwind_seg {
		uint64_t offset, vaddr, filesz;
	} segs[4];
	size_t nsegs;
	uint8_t build_id[64];	/* GNU build ID; build_id_len 0: none */
	size_t build_id_len;
};

/* Compile the table of the ELF file open at fd (the fd stays the
 * caller's).  NULL + errno: ENOEXEC when it is no x86-64 ELF file or
 * has no code, ENODATA when it has no .eh_frame_hdr, ENOMEM. */
struct unwind_table *unwind_table__new(int fd);
void unwind_table__free(struct unwind_table *t);	/* accepts NULL */

/* The row that holds at file address addr, or NULL outside the table. */
const struct lw_urow *unwind_table__find(const struct unwind_table *t, uint64_t addr);

/* The file address at file offset off of one of the executable segments
 * segs (a table's): 0 or -ENOENT. */
int unwind_seg_vaddr(const struct unwind_seg *segs, size_t n, uint64_t off, uint64_t *vaddr);

/* Bytes of memory the rows and pages take (here, and in the kernel). */
size_t unwind_table__bytes(const struct unwind_table *t);

#endif /* LW_UNWIND_TABLE_H */
