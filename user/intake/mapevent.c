// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gopclntab.h"
#include "ledger.h"
#include "mapevent.h"
#include "probes.h"
#include "procfs.h"

static const char *base_name(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;

	return base ? base + 1 : path;
}

/* A loader's file name: ld-linux-x86-64.so.2, ld-musl-x86_64.so.1, ld.so. */
static bool is_loader(const char *module)
{
	const char *base = base_name(module);

	return base && (!strncmp(base, "ld-", 3) || !strncmp(base, "ld.so", 5));
}

/* The return address of the frame running pc with its stack at word
 * *sp of top[] (CFA = sp + N, from the CFI), *sp moved to its caller's. */
static bool unwind_one(struct symbolizer *sym, const struct lw_map_event *m, uint64_t lookup,
		       size_t *sp, uint64_t *ra)
{
	int64_t cfa;

	if (symbolizer__cfa_offset(sym, m->e.pid, lookup, &cfa) || cfa < 8 || cfa % 8 ||
	    *sp + cfa / 8 > LW_STACK_TOP_WORDS)
		return false;
	*ra = m->top[*sp + cfa / 8 - 1];
	*sp += cfa / 8;
	return *ra != 0;
}

/*
 * A stack the CFI walker took from the syscall's own pc: libc's frames
 * are all there.  Up to four of them (the wrapper, sbrk calling __brk)
 * are left out, as malloc is from heap stacks; *in_libc when the frame
 * after them is libc's still (libc made the call for itself); *caller:
 * the first frame kept.
 */
static int32_t walked_stack(struct symbolizer *sym, struct stackstore *stacks,
			    const struct lw_map_event *m, const uint64_t *ips, size_t n,
			    bool *in_libc, uint64_t *caller)
{
	size_t i;
	int32_t id;
	bool libc;

	for (i = 0; (libc = probes_is_libc(symbolizer__module(sym, m->e.pid, ips[i]))) &&
		    i < 4 && i + 1 < n;
	     i++)
		;
	if (in_libc)
		*in_libc = libc;
	*caller = ips[i];
	id = stackstore__intern(stacks, ips + i, n - i);
	if (id >= 0 && m->e.flags & LW_EV_STACK_TRUNCATED)
		stackstore__set_truncated(stacks, id);
	return id < 0 ? LEDGER_NO_STACK : id;
}

/*
 * The stack of a mapping syscall names the caller of libc's wrapper.  The
 * kernel's frame-pointer walk starts in the wrapper, which keeps no frame
 * pointer, and goes on from its caller's caller, skipping the caller.  The
 * CFI of libc's frames says where their return addresses are among the
 * stack words copied at the call: they are unwound up to the first frame
 * outside libc, and libc's own frames are left out, as malloc is from heap
 * stacks.  A frame outside libc without frame pointer (a raw syscall in a
 * leaf function) gets its caller the same way.  When more than one libc
 * frame was unwound (sbrk calls __brk), the frame pointer the kernel
 * followed was libc's scratch register: its frames are dropped.
 * *in_libc: the unwinding ended inside libc (libc made the call for
 * itself).  *caller: the first frame kept (0: none).  Returns the stack id
 * (the stack interned), or LEDGER_NO_STACK (out of memory).
 */
static int32_t map_stack(struct symbolizer *sym, struct stackstore *stacks,
			 const struct lw_map_event *m, const uint64_t *ips, bool *in_libc,
			 uint64_t *caller)
{
	uint64_t frames[LW_MAX_STACK_DEPTH], pc, ra;
	size_t n = ips ? m->e.nips : 0, k = 0, sp = 0, levels = 0, i = 1;
	bool valid = m->map_flags & LW_MAP_TOP_VALID;
	int32_t id;

	if (!n)
		return LEDGER_NO_STACK;
	/* the module list may predate libc (a command held at exec) */
	symbolizer__note_stack(sym, m->e.pid, SYM_NO_KEY, ips, n);
	if (m->map_flags & LW_MAP_WALKED)
		return walked_stack(sym, stacks, m, ips, n, in_libc, caller);
	pc = ips[0];
	while (valid && levels < 4 && probes_is_libc(symbolizer__module(sym, m->e.pid, pc)) &&
	       unwind_one(sym, m, levels ? pc - 1 : pc, &sp, &ra)) {
		pc = ra;
		levels++;
	}
	if (in_libc)
		*in_libc = probes_is_libc(symbolizer__module(sym, m->e.pid, pc));
	*caller = pc;
	frames[k++] = pc;
	if (!levels && valid && unwind_one(sym, m, pc, &sp, &ra) && (n < 2 || ips[1] != ra))
		frames[k++] = ra;
	if (levels == 1 && n > 1 && ips[1] == pc)	/* a wrapper with a frame pointer */
		i = 2;
	for (; levels <= 1 && i < n && k < LW_MAX_STACK_DEPTH; i++)
		frames[k++] = ips[i];
	id = stackstore__intern(stacks, frames, k);
	return id < 0 ? LEDGER_NO_STACK : id;
}

/*
 * A language runtime's own mappings, which its own tools account for.
 *  - Go: heap arenas, their reservations and goroutine stacks come from
 *    functions of package runtime (sysReserve, sysMap, sysAlloc... through
 *    runtime.sysMmap, or runtime.mmap and cgo's x_cgo_mmap in a cgo
 *    binary), named in the executable's symbol table.  Code that calls
 *    mmap itself (syscall.Mmap, C code) is not the runtime:
 *    runtime/internal/syscall, which makes syscall.Mmap's syscall, is
 *    another package.  A stripped Go binary has no symbol table: its
 *    functions are named from .gopclntab, which Go keeps for itself.
 *  - HotSpot (the JVM): the Java heap, metaspace and code cache come from
 *    libjvm.so's os:: layer, the class image from libjimage.so.
 * pc is the first frame outside libc.
 */
static bool is_runtime(struct symbolizer *sym, pid_t pid, uint64_t pc)
{
	const char *base = base_name(symbolizer__module(sym, pid, pc));
	const struct sym_frame *f;
	const char *fn = NULL;
	uint64_t bias;
	Elf *elf;
	int n;

	if (base && (!strcmp(base, "libjvm.so") || !strcmp(base, "libjimage.so")))
		return true;
	n = symbolizer__resolve(sym, pid, pc, false, &f);
	/* the function that made the call, not what was inlined into it */
	if (n >= 1)
		fn = f[n - 1].function;
	if (!fn && !symbolizer__module_elf(sym, pid, pc, &elf, &bias) &&
	    gopclntab_function(elf, pc - bias, &fn))
		fn = NULL;
	return fn && (!strncmp(fn, "runtime.", 8) || !strncmp(fn, "x_cgo_", 6));
}

#define LW_PROT_NONE 0
#define LW_MAP_ANONYMOUS 0x20
#define LW_MAP_STACK 0x20000
#define LW_MREMAP_DONTUNMAP 4

/*
 * Who made a mapping, and so whether it can be a leak.  Inside a traced
 * allocator call, the allocator.  With sampling, a call passed over
 * leaves no such mark (its return is not probed), so an anonymous mapping
 * that libc made for itself, deep in its own frames, is malloc's as well:
 * the other anonymous mappings libc makes, thread stacks, say so.
 */
static enum map_kind map_kind(struct symbolizer *sym, const struct lw_map_event *m,
			      const uint64_t *ips, bool in_libc, uint64_t caller, bool sampling)
{
	bool anon = m->e.type != LW_REC_MMAP || m->mflags & LW_MAP_ANONYMOUS;

	if (m->map_flags & LW_MAP_IN_ALLOCATOR)
		return MAP_KIND_ALLOCATOR;
	if (m->e.type == LW_REC_MMAP && m->mflags & LW_MAP_STACK)
		return MAP_KIND_THREAD_STACK;
	if (ips && m->e.nips && is_loader(symbolizer__module(sym, m->e.pid, ips[0])))
		return MAP_KIND_LOADER;
	if (caller && !in_libc && is_runtime(sym, m->e.pid, caller))
		return MAP_KIND_RUNTIME;
	if (in_libc && anon && sampling)
		return MAP_KIND_ALLOCATOR;
	return m->e.type == LW_REC_BRK ? MAP_KIND_BRK : MAP_KIND_MMAP;
}

/* The file behind a new file-backed mapping, from the process's maps
 * (malloc'd; NULL when anonymous or already gone). */
static char *map_file(const struct lw_map_event *m)
{
	struct proc_maps maps = { 0 };
	char *path = NULL;
	size_t i;

	if (m->e.type != LW_REC_MMAP || m->mflags & LW_MAP_ANONYMOUS || m->fd < 0 ||
	    procfs_read_maps(m->e.pid, &maps))
		return NULL;
	for (i = 0; i < maps.n; i++) {
		if (maps.maps[i].start <= m->e.addr && m->e.addr < maps.maps[i].end) {
			if (maps.maps[i].path)
				path = strdup(maps.maps[i].path);
			break;
		}
	}
	proc_maps__free(&maps);
	return path;
}

int mapevent_origin(struct symbolizer *sym, struct stackstore *stacks,
		    const struct lw_map_event *m, const uint64_t *ips, uint64_t sampling,
		    struct map_origin *o)
{
	bool in_libc = false;
	uint64_t caller = 0;

	o->stack_id = map_stack(sym, stacks, m, ips, &in_libc, &caller);
	o->kind = map_kind(sym, m, ips, in_libc, caller, sampling);
	o->file = map_file(m);
	o->reserved = m->e.type == LW_REC_MMAP && m->prot == LW_PROT_NONE;
	return o->stack_id == LEDGER_NO_STACK && ips && m->e.nips ? -ENOMEM : 0;
}

int mapevent_apply(struct maptrack *maps, const struct lw_map_event *m,
		   const struct map_origin *o)
{
	switch (m->e.type) {
	case LW_REC_MMAP:
		return maptrack__map(maps, m->e.addr, m->e.size, o);
	case LW_REC_MUNMAP:
		return maptrack__unmap(maps, m->e.addr, m->e.size);
	case LW_REC_MREMAP:
		return maptrack__remap(maps, m->old_addr, m->old_len, m->e.addr, m->e.size,
				       !!(m->mflags & LW_MREMAP_DONTUNMAP), o);
	case LW_REC_BRK:
		return maptrack__brk(maps, m->old_addr, m->e.addr, o);
	case LW_REC_MPROTECT:
		return maptrack__protect(maps, m->e.addr, m->e.size, m->prot == LW_PROT_NONE);
	}
	return -EINVAL;
}
