// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stackstore.h"

struct stack_slot {
	uint64_t *ips;
	uint32_t n;
	pid_t last_pid;		/* last process it was noted for */
	bool truncated;
};

/* A walker's key and the stack it names; id -1: empty. */
struct stack_name {
	uint32_t key;
	int32_t id;
};

/*
 * Kernel ids are indexes below the table size: a flat array.  Inline
 * stacks follow it in the same array, found again through an
 * open-addressing index on their frames' hash.
 */
struct stackstore {
	size_t frames;		/* frames stored, for the footprint */
	struct stack_slot *slots;
	size_t kernel_ids;
	size_t nslots, cap;
	int32_t *index;		/* hash -> id, -1 empty; power-of-two size */
	size_t index_cap;
	struct stack_name *names;	/* open addressing; power-of-two size */
	size_t names_cap, nnames;
};

struct stackstore *stackstore__new(size_t kernel_ids)
{
	struct stackstore *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->slots = calloc(kernel_ids, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return NULL;
	}
	s->kernel_ids = s->nslots = s->cap = kernel_ids;
	return s;
}

void stackstore__free(struct stackstore *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nslots; i++)
		free(s->slots[i].ips);
	free(s->slots);
	free(s->index);
	free(s->names);
	free(s);
}

static int set_slot(struct stackstore *s, struct stack_slot *slot, const uint64_t *ips,
		    size_t n)
{
	uint64_t *copy = malloc((n ? n : 1) * sizeof(*copy));

	if (!copy)
		return -ENOMEM;
	memcpy(copy, ips, n * sizeof(*copy));
	s->frames += n - (slot->ips ? slot->n : 0);
	free(slot->ips);
	slot->ips = copy;
	slot->n = n;
	return 0;
}

int stackstore__put(struct stackstore *s, int32_t id, const uint64_t *ips, size_t n)
{
	if (id < 0 || (size_t)id >= s->kernel_ids)
		return -ERANGE;
	return set_slot(s, &s->slots[id], ips, n);
}

static uint64_t hash_ips(const uint64_t *ips, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= ips[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

static bool same(const struct stack_slot *slot, const uint64_t *ips, size_t n)
{
	return slot->n == n && !memcmp(slot->ips, ips, n * sizeof(*ips));
}

static int grow_index(struct stackstore *s)
{
	size_t cap = s->index_cap ? s->index_cap * 2 : 64, i;
	int32_t *index = malloc(cap * sizeof(*index));

	if (!index)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		index[i] = -1;
	for (i = s->kernel_ids; i < s->nslots; i++) {
		size_t k = hash_ips(s->slots[i].ips, s->slots[i].n) & (cap - 1);

		while (index[k] >= 0)
			k = (k + 1) & (cap - 1);
		index[k] = (int32_t)i;
	}
	free(s->index);
	s->index = index;
	s->index_cap = cap;
	return 0;
}

int32_t stackstore__intern(struct stackstore *s, const uint64_t *ips, size_t n)
{
	size_t k;
	int err;

	/* keep the index at most half full */
	if ((s->nslots - s->kernel_ids + 1) * 2 > s->index_cap) {
		err = grow_index(s);
		if (err)
			return err;
	}
	for (k = hash_ips(ips, n) & (s->index_cap - 1); s->index[k] >= 0;
	     k = (k + 1) & (s->index_cap - 1)) {
		if (same(&s->slots[s->index[k]], ips, n))
			return s->index[k];
	}
	if (s->nslots >= INT32_MAX)
		return -E2BIG;
	if (s->nslots == s->cap) {
		size_t cap = s->cap * 2 + 16;
		struct stack_slot *slots = realloc(s->slots, cap * sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		memset(slots + s->cap, 0, (cap - s->cap) * sizeof(*slots));
		s->slots = slots;
		s->cap = cap;
	}
	err = set_slot(s, &s->slots[s->nslots], ips, n);
	if (err)
		return err;
	s->index[k] = (int32_t)s->nslots;
	return (int32_t)s->nslots++;
}

int stackstore__get(const struct stackstore *s, int32_t id, const uint64_t **ips)
{
	if (id < 0 || (size_t)id >= s->nslots || !s->slots[id].ips)
		return -ENOENT;
	*ips = s->slots[id].ips;
	return (int)s->slots[id].n;
}

bool stackstore__first_for(struct stackstore *s, int32_t id, pid_t pid)
{
	struct stack_slot *slot;

	if (id < 0 || (size_t)id >= s->nslots)
		return false;
	slot = &s->slots[id];
	if (slot->last_pid == pid)
		return false;
	slot->last_pid = pid;
	return true;
}

static size_t name_slot(const struct stack_name *names, size_t cap, uint32_t key)
{
	/* keys are hashes already */
	size_t k = key & (cap - 1);

	while (names[k].id >= 0 && names[k].key != key)
		k = (k + 1) & (cap - 1);
	return k;
}

int stackstore__name(struct stackstore *s, uint32_t key, int32_t id)
{
	size_t k;

	/* at most half full */
	if ((s->nnames + 1) * 2 > s->names_cap) {
		size_t cap = s->names_cap ? s->names_cap * 2 : 256, i;
		struct stack_name *names = malloc(cap * sizeof(*names));

		if (!names)
			return -ENOMEM;
		for (i = 0; i < cap; i++)
			names[i].id = -1;
		for (i = 0; i < s->names_cap; i++)
			if (s->names[i].id >= 0)
				names[name_slot(names, cap, s->names[i].key)] = s->names[i];
		free(s->names);
		s->names = names;
		s->names_cap = cap;
	}
	k = name_slot(s->names, s->names_cap, key);
	if (s->names[k].id < 0)
		s->nnames++;
	s->names[k] = (struct stack_name){ key, id };
	return 0;
}

int32_t stackstore__named(const struct stackstore *s, uint32_t key)
{
	size_t k;

	if (!s->names_cap)
		return -ENOENT;
	k = name_slot(s->names, s->names_cap, key);
	return s->names[k].id >= 0 ? s->names[k].id : -ENOENT;
}

void stackstore__set_truncated(struct stackstore *s, int32_t id)
{
	if (id >= 0 && (size_t)id < s->nslots)
		s->slots[id].truncated = true;
}

bool stackstore__truncated(const struct stackstore *s, int32_t id)
{
	return id >= 0 && (size_t)id < s->nslots && s->slots[id].truncated;
}

size_t stackstore__footprint(const struct stackstore *s)
{
	return sizeof(*s) + s->cap * sizeof(*s->slots) + s->index_cap * sizeof(*s->index) +
	       s->names_cap * sizeof(*s->names) + s->frames * sizeof(uint64_t);
}
