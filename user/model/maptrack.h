/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The mappings of one process made while it was traced (mmap, mremap,
 * brk growth): page-aligned intervals, each remembering the call that
 * created it (its origin: stack, kind, file, time).  Plain C, fed decoded
 * records, unit-tested without root.
 *
 * The kernel's semantics, applied to what leakwatch saw:
 *  - a new mapping replaces whatever it overlaps (MAP_FIXED);
 *  - munmap removes a range, splitting a mapping it cuts into, and may
 *    span several mappings and the gaps between them;
 *  - mremap moves the pieces of the old range to the new address (their
 *    origins go with them), cuts them when it shrinks, and adds the growth
 *    as a mapping of its own (the mremap call asked for it);
 *  - brk growth is the range between the old and the new break, a shrink
 *    removes the range above the new break.
 *  - mprotect turns pieces into reserved address space (PROT_NONE) or
 *    into accessible memory and back; only accessible bytes are held.
 * Ranges leakwatch never saw created (mapped before tracing) are ignored
 * when removed.  An origin counts once however many pieces it was cut
 * into, and disappears with its last byte.
 */
#ifndef LW_MAPTRACK_H
#define LW_MAPTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

enum map_kind {
	MAP_KIND_MMAP,		/* mmap by the program: a possible leak */
	MAP_KIND_BRK,		/* brk growth by the program: a possible leak */
	MAP_KIND_ALLOCATOR,	/* made inside an allocator call: its own memory */
	MAP_KIND_THREAD_STACK,	/* a thread's stack (MAP_STACK) */
	MAP_KIND_LOADER,	/* the dynamic loader mapping a library */
	MAP_KIND_RUNTIME,	/* a language runtime's own (Go's heap arenas,
				 * reservations, goroutine stacks; the JVM's
				 * heap, metaspace, code cache) */
	MAP_KIND__COUNT,
};

/* "mmap", "brk", "allocator", "thread_stack", "loader", "runtime" */
const char *map_kind_name(enum map_kind kind);
/* Kinds that count as leaks: mmap and brk. */
int map_kind_is_leak(enum map_kind kind);

struct maptrack;

/* The call that created a mapping. */
struct map_origin {
	enum map_kind kind;
	int32_t stack_id;	/* < 0: unknown */
	uint64_t ts_ns;
	const char *file;	/* file-backed: its path; NULL: anonymous */
	int reserved;		/* made PROT_NONE: address space, no memory */
};

struct maptrack *maptrack__new(uint64_t page_size);	/* NULL + errno */
void maptrack__free(struct maptrack *m);		/* accepts NULL */

/* A mapping of len bytes (rounded up to pages) at addr.  0 or -ENOMEM,
 * -EINVAL when addr is not page-aligned or len is 0. */
int maptrack__map(struct maptrack *m, uint64_t addr, uint64_t len, const struct map_origin *o);
/* munmap(addr, len).  0, or -EINVAL as above (nothing changes). */
int maptrack__unmap(struct maptrack *m, uint64_t addr, uint64_t len);
/* mremap(old_addr, old_len, new_len) returned new_addr; o is the call's
 * origin, for any growth.  dontunmap: MREMAP_DONTUNMAP kept the old range
 * mapped.  old_len 0 duplicates a shared mapping: a new mapping of o. */
int maptrack__remap(struct maptrack *m, uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
		    uint64_t new_len, int dontunmap, const struct map_origin *o);
/* mprotect(addr, len, prot): reserved is prot == PROT_NONE.  What it
 * covers keeps its origin; a piece it cuts into is split.  0, -ENOMEM, or
 * -EINVAL as for maptrack__map. */
int maptrack__protect(struct maptrack *m, uint64_t addr, uint64_t len, int reserved);
/* The break moved from old_brk to new_brk; o is the origin of a growth. */
int maptrack__brk(struct maptrack *m, uint64_t old_brk, uint64_t new_brk,
		  const struct map_origin *o);

/* Accessible bytes, reserved (PROT_NONE) bytes and distinct origins held,
 * of one kind.  An origin is held while any of its pages is mapped,
 * accessible or not. */
uint64_t maptrack__bytes(const struct maptrack *m, enum map_kind kind);
uint64_t maptrack__reserved(const struct maptrack *m, enum map_kind kind);
uint64_t maptrack__origins(const struct maptrack *m, enum map_kind kind);
/* Intervals held (pieces), and the memory the tracker uses. */
size_t maptrack__intervals(const struct maptrack *m);
size_t maptrack__footprint(const struct maptrack *m);

/* Per (kind, stack, file): what its origins still hold. */
struct maptrack_stack {
	enum map_kind kind;
	int32_t stack_id;
	const char *file;	/* valid while m lives unchanged */
	uint64_t bytes;		/* accessible */
	uint64_t reserved;	/* PROT_NONE */
	uint64_t origins;
	uint64_t oldest_ts_ns;
};

/* Aggregate the origins that pass filter (NULL: all; its size bounds
 * apply to what an origin holds now, sample_bytes does not apply), sorted
 * by bytes (descending), then origins, kind, stack id.  m may be NULL (no
 * stacks).  *out malloc'd (NULL when *n is 0); 0 or -ENOMEM. */
int maptrack__stacks(const struct maptrack *m, const struct ledger_filter *filter,
		     struct maptrack_stack **out, size_t *n);

/* fn(stack id, ctx) for the origin of each mapping held (the ids in use,
 * for stackstore__mark); an id may come more than once. */
void maptrack__for_each_stack(const struct maptrack *m,
			      void (*fn)(int32_t stack_id, void *ctx), void *ctx);

#endif /* LW_MAPTRACK_H */
