// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stackstore.h"

struct stack_slot {
	uint64_t *ips;
	uint32_t n;
	pid_t last_pid;		/* last process it was noted for */
};

/* Kernel stack ids are indexes below the table size: a flat array. */
struct stackstore {
	struct stack_slot *slots;
	size_t max_ids;
};

struct stackstore *stackstore__new(size_t max_ids)
{
	struct stackstore *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->slots = calloc(max_ids, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return NULL;
	}
	s->max_ids = max_ids;
	return s;
}

void stackstore__free(struct stackstore *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->max_ids; i++)
		free(s->slots[i].ips);
	free(s->slots);
	free(s);
}

int stackstore__put(struct stackstore *s, int32_t id, const uint64_t *ips, size_t n)
{
	struct stack_slot *slot;
	uint64_t *copy;

	if (id < 0 || (size_t)id >= s->max_ids)
		return -ERANGE;
	copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, ips, n * sizeof(*copy));
	slot = &s->slots[id];
	free(slot->ips);
	slot->ips = copy;
	slot->n = n;
	return 0;
}

int stackstore__get(const struct stackstore *s, int32_t id, const uint64_t **ips)
{
	if (id < 0 || (size_t)id >= s->max_ids || !s->slots[id].ips)
		return -ENOENT;
	*ips = s->slots[id].ips;
	return (int)s->slots[id].n;
}

bool stackstore__first_for(struct stackstore *s, int32_t id, pid_t pid)
{
	struct stack_slot *slot;

	if (id < 0 || (size_t)id >= s->max_ids)
		return false;
	slot = &s->slots[id];
	if (slot->last_pid == pid)
		return false;
	slot->last_pid = pid;
	return true;
}
