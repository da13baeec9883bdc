// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>

#include "intake.h"

/* Every record starts with its type. */
_Static_assert(__builtin_offsetof(struct lw_oom_event, type) == 0 &&
	       __builtin_offsetof(struct lw_event, type) == 0 &&
	       __builtin_offsetof(struct lw_kevent, type) == 0 &&
	       __builtin_offsetof(struct lw_map_event, e) == 0, "records start with their type");
_Static_assert(sizeof(struct lw_oom_event) % 8 == 0, "lw_oom_event has no tail padding");
_Static_assert(LW_REC_KFREE < LW_REC__SLOTS, "a slot for every record type");

enum shape { SHAPE_NONE, SHAPE_EVENT, SHAPE_MAP, SHAPE_KERNEL, SHAPE_OOM };

/* Each type's shape: the header it starts with. */
static const enum shape shapes[LW_REC__SLOTS] = {
	[LW_REC_ALLOC] = SHAPE_EVENT,
	[LW_REC_FREE] = SHAPE_EVENT,
	[LW_REC_REALLOC_BEGIN] = SHAPE_EVENT,
	[LW_REC_REALLOC_END] = SHAPE_EVENT,
	[LW_REC_FORK] = SHAPE_EVENT,
	[LW_REC_EXEC] = SHAPE_EVENT,
	[LW_REC_EXIT] = SHAPE_EVENT,
	[LW_REC_HOLD] = SHAPE_EVENT,
	[LW_REC_OOM_KILL] = SHAPE_OOM,
	[LW_REC_MMAP] = SHAPE_MAP,
	[LW_REC_MUNMAP] = SHAPE_MAP,
	[LW_REC_MREMAP] = SHAPE_MAP,
	[LW_REC_BRK] = SHAPE_MAP,
	[LW_REC_MPROTECT] = SHAPE_MAP,
	[LW_REC_KALLOC] = SHAPE_KERNEL,
	[LW_REC_KFREE] = SHAPE_KERNEL,
};

static const size_t header[] = {
	[SHAPE_EVENT] = sizeof(struct lw_event),
	[SHAPE_MAP] = sizeof(struct lw_map_event),
	[SHAPE_KERNEL] = sizeof(struct lw_kevent),
	[SHAPE_OOM] = sizeof(struct lw_oom_event),
};

void intake__on(struct intake *in, uint32_t first, uint32_t last, intake_fn fn)
{
	for (uint32_t t = first; t <= last && t < LW_REC__SLOTS; t++)
		in->on[t] = fn;
}

/* The frames after a header of hdr bytes, when it says nips of them
 * follow: false when they do not fit in the record. */
static bool frames(struct lw_record *r, const void *data, size_t size, size_t hdr,
		   bool follow, uint32_t nips)
{
	if (!follow)
		return true;
	if (nips > LW_MAX_STACK_DEPTH || size < hdr + nips * sizeof(uint64_t))
		return false;
	r->ips = (const uint64_t *)((const char *)data + hdr);
	r->nips = nips;
	return true;
}

/* Point r at data as its shape says: false when malformed. */
static bool decode(struct lw_record *r, enum shape shape, const void *data, size_t size)
{
	const struct lw_event *e = data;

	switch (shape) {
	case SHAPE_EVENT:
		r->e = e;
		return frames(r, data, size, sizeof(*e),
			      e->flags & (LW_EV_INLINE_STACK | LW_EV_STACK_DEFINE), e->nips);
	case SHAPE_MAP:
		r->m = data;
		return frames(r, data, size, sizeof(*r->m), e->flags & LW_EV_INLINE_STACK,
			      e->nips);
	case SHAPE_KERNEL:
		r->k = data;
		return frames(r, data, size, sizeof(*r->k), r->k->nips, r->k->nips);
	case SHAPE_OOM:
		r->oom = data;
		return true;
	case SHAPE_NONE:
		break;
	}
	return false;
}

int intake__record(struct intake *in, const void *data, size_t size)
{
	struct lw_record r = {};
	enum shape shape;
	bool held = false;
	pid_t pid = 0;

	if (size < sizeof(uint32_t)) {
		in->stats.malformed++;
		return 0;
	}
	r.type = *(const uint32_t *)data;
	shape = r.type < LW_REC__SLOTS ? shapes[r.type] : SHAPE_NONE;
	/* a process's record whose header is whole says whether it is held,
	 * whatever else is wrong with it; one of a type unknown here is
	 * taken for one (every type but the OOM and kernel ones has that
	 * header), so that no held process is left stopped */
	if ((shape == SHAPE_EVENT || shape == SHAPE_NONE) && size >= sizeof(struct lw_event) &&
	    ((const struct lw_event *)data)->flags & LW_EV_HELD) {
		held = true;
		pid = ((const struct lw_event *)data)->pid;
		holds__begin(&in->holds, pid);
	}
	if (shape == SHAPE_NONE || !in->on[r.type])
		in->stats.unhandled++;
	else if (size < header[shape] || !decode(&r, shape, data, size))
		in->stats.malformed++;
	else
		in->on[r.type](in->ctx, &r);
	if (held)
		holds__end(&in->holds, pid);
	return 0;
}
