// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unwind tables (user/unwind/unwind_table.c) compiled from the files of traced
 * processes, which their owners may craft: .eh_frame_hdr and the CFI
 * behind it.  The input becomes a file (a memfd), as leakwatch reads
 * /proc/PID/map_files/...; the table is then queried at every page and
 * for the file addresses of mapping offsets.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "unwind_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unwind_table *t;
	uint64_t a, v;
	size_t i;
	int fd;

	fd = memfd_create("fuzz-unwind", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	t = unwind_table__new(fd);
	close(fd);
	if (!t)
		return 0;
	/* every page's first and last byte, at most 4096 pages */
	for (i = 0; i < t->npages && i < 4096; i++) {
		a = t->base + ((uint64_t)i << LW_UNWIND_PAGE_SHIFT);
		unwind_table__find(t, a);
		unwind_table__find(t, a + UNWIND_PAGE_SIZE - 1);
	}
	unwind_table__find(t, t->base - 1);
	unwind_table__find(t, t->base + t->size);
	for (i = 0; i < t->nsegs; i++) {
		unwind_seg_vaddr(t->segs, t->nsegs, t->segs[i].offset, &v);
		unwind_seg_vaddr(t->segs, t->nsegs, t->segs[i].offset + t->segs[i].filesz, &v);
	}
	unwind_seg_vaddr(t->segs, t->nsegs, UINT64_MAX, &v);
	unwind_table__bytes(t);
	unwind_table__free(t);
	return 0;
}
