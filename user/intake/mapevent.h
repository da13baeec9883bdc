/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Mapping records (LW_REC_MMAP..LW_REC_MPROTECT) made sense of: whose call it
 * was (the stack, the caller of libc's wrapper recovered from CFI), what
 * kind of memory, which file; then applied to the process's intervals.
 */
#ifndef LW_MAPEVENT_H
#define LW_MAPEVENT_H

#include <stdint.h>

#include "leakwatch.h"
#include "maptrack.h"
#include "stackstore.h"
#include "symbolizer.h"

/*
 * The origin of a record that creates memory (not LW_REC_MUNMAP or
 * LW_REC_MPROTECT): kind, whether it is reserved (PROT_NONE),
 * stack (interned in stacks; LEDGER_NO_STACK when the record has none)
 * and, for a file-backed mmap, its file (malloc'd into o->file: the
 * caller frees it).  o->ts_ns is left as it is.  sampling: -s is on (see
 * mapevent.c on the allocator kind).  Returns 0, or -ENOMEM when the stack
 * could not be kept (o->stack_id is then LEDGER_NO_STACK).
 */
int mapevent_origin(struct symbolizer *sym, struct stackstore *stacks,
		    const struct lw_map_event *m, const uint64_t *ips, uint64_t sampling,
		    struct map_origin *o);

/* Apply the record to the intervals; o is its origin (unused for munmap
 * and mprotect).
 * 0, -ENOMEM, or -EINVAL for arguments the kernel would have refused. */
int mapevent_apply(struct maptrack *maps, const struct lw_map_event *m,
		   const struct map_origin *o);

#endif /* LW_MAPEVENT_H */
