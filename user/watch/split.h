/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Leak or not?  The anon RSS of a traced process split into:
 *   live      what the live blocks and mappings of the trace explain: the
 *             leak kinds' bytes (heap, mmap, brk) of its report;
 *   runtime   what a language runtime manages (the `runtime` kind: the Go
 *             heap's accessible arenas);
 *   retained  what the allocator kept resident without a live block in
 *             it: the growth, while traced, of the resident anon pages of
 *             its heaps (the [heap] break segment and glibc's 64
 *             MiB-aligned arena heaps, from /proc/PID/smaps) beyond the
 *             live heap blocks the trace saw.  Fragmentation and arena
 *             retention: MALLOC_ARENA_MAX or another allocator is the fix,
 *             not a code change;
 *   other     the rest: memory allocated before the trace began and still
 *             held (a trace attached to a running process cannot tell its
 *             older blocks from retention), stacks, anon mappings nobody
 *             made while traced.
 * Each part is clamped so that the four add up to anon exactly.  No
 * libbpf; unit-tested on fixed text.
 */
#ifndef LW_SPLIT_H
#define LW_SPLIT_H

#include <stdint.h>
#include <sys/types.h>

struct mem_split {
	uint64_t anon;
	uint64_t live, retained, runtime, other;
};

/* The allocator's resident anon bytes in the text of /proc/PID/smaps:
 * the Anonymous: lines of [heap] and of anonymous mappings that start on a
 * 64 MiB boundary and are at most 64 MiB long.  0 or -EINVAL. */
int split_parse_smaps(const char *smaps, uint64_t *allocator_anon);
int split_read_smaps(const char *proc_dir, pid_t pid, uint64_t *allocator_anon);

/* allocator_anon: the allocator's resident growth while traced. */
void split_compute(uint64_t anon, uint64_t allocator_anon, uint64_t heap_live,
		   uint64_t maps_live, uint64_t runtime, struct mem_split *out);

#endif /* LW_SPLIT_H */
