/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one decoder of the records leakwatch's BPF programs send, on every
 * ring.  A table keyed by record type (enum lw_rec_type) gives each type's
 * shape (the header it starts with, whether frames may follow) and the
 * handler registered for it; the ring reader (tracer.c) hands over each
 * record's bytes and nothing more.
 *
 * A record is handed on only when its header and its frames fit in the
 * bytes the ring gave; otherwise, or with a type nobody handles, it is
 * counted (intake__stats) and dropped.  A held record is continued after
 * its handler, dropped or not (holds.h).  No libbpf: unit-tested on bytes.
 */
#ifndef LW_INTAKE_H
#define LW_INTAKE_H

#include <stddef.h>
#include <stdint.h>

#include "holds.h"
#include "leakwatch.h"

/* Room for every enum lw_rec_type. */
#define LW_REC__SLOTS 32

/* A record, validated; exactly one of the shape pointers is set. */
struct lw_record {
	uint32_t type;
	const struct lw_event *e;		/* processes' records */
	const struct lw_map_event *m;		/* LW_REC_MMAP..LW_REC_MPROTECT */
	const struct lw_kevent *k;		/* LW_REC_KALLOC, LW_REC_KFREE */
	const struct lw_oom_event *oom;		/* LW_REC_OOM_KILL */
	const uint64_t *ips;	/* the frames that followed it, or NULL */
	uint32_t nips;
};

typedef void (*intake_fn)(void *ctx, const struct lw_record *r);

struct intake_stats {
	uint64_t malformed;	/* too short for its header or its frames */
	uint64_t unhandled;	/* a type with no handler */
};

struct intake {
	intake_fn on[LW_REC__SLOTS];
	void *ctx;
	struct holds holds;
	struct intake_stats stats;
};

/* Set in->on[type] to fn for every type in [first, last]. */
void intake__on(struct intake *in, uint32_t first, uint32_t last, intake_fn fn);

/* One record of size bytes from a ring: decode, hand on, release its
 * hold.  Returns 0 (ring_buffer's callback convention: go on). */
int intake__record(struct intake *in, const void *data, size_t size);

#endif /* LW_INTAKE_H */
