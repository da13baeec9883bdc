// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The leak-or-not split of --watch on fixed smaps text and numbers. */
#include <criterion/criterion.h>
#include <errno.h>

#include "split.h"

/* fs/proc/task_mmu.c show_smap, abridged: [heap], a thread arena heap
 * (64 MiB-aligned, 64 MiB), a large anon mapping (not aligned), a stack
 * and a file */
static const char smaps[] =
	"55d0c0de0000-55d0c0e01000 rw-p 00000000 00:00 0                          [heap]\n"
	"Size:                132 kB\n"
	"Rss:                 120 kB\n"
	"Anonymous:           120 kB\n"
	"7f1234000000-7f1238000000 rw-p 00000000 00:00 0 \n"
	"Size:              65536 kB\n"
	"Anonymous:          2048 kB\n"
	"7f1240001000-7f1240101000 rw-p 00000000 00:00 0 \n"
	"Size:               1024 kB\n"
	"Anonymous:          1024 kB\n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
	"Anonymous:            12 kB\n"
	"7f1250000000-7f1250001000 r--p 00000000 08:01 1234                       /usr/lib/libc.so.6\n"
	"Anonymous:             4 kB\n";

Test(split, smaps_counts_the_heap_and_arena_heaps)
{
	uint64_t a = 0;

	cr_assert_eq(split_parse_smaps(smaps, &a), 0);
	cr_assert_eq(a, (120 + 2048) * 1024ull);
	cr_assert_eq(split_parse_smaps("no mappings here\n", &a), -EINVAL);
}

Test(split, parts_add_up_to_anon)
{
	struct mem_split s;

	/* 100 MiB anon: 30 live heap + 10 live mmap, 5 runtime, allocator
	 * heaps 50 resident of which 30 are the live heap: 20 retained */
	split_compute(100 << 20, 50 << 20, 30 << 20, 10 << 20, 5 << 20, &s);
	cr_assert_eq(s.live, 40 << 20);
	cr_assert_eq(s.runtime, 5 << 20);
	cr_assert_eq(s.retained, 20 << 20);
	cr_assert_eq(s.other, 35 << 20);
	cr_assert_eq(s.live + s.runtime + s.retained + s.other, s.anon);
}

Test(split, clamped_when_the_estimates_exceed_anon)
{
	struct mem_split s;

	/* sampled estimates above the resident memory */
	split_compute(10 << 20, 50 << 20, 8 << 20, 4 << 20, 1 << 20, &s);
	cr_assert_eq(s.live, 10 << 20);
	cr_assert_eq(s.runtime, 0);
	cr_assert_eq(s.retained, 0);
	cr_assert_eq(s.other, 0);
}
