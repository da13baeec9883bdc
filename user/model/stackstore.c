// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "stackstore.h"
#include "vec.h"

struct stack_slot {
	uint64_t *ips;
	uint32_t n;
	pid_t last_pid;		/* last process it was noted for */
	uint32_t nnames;	/* walker keys that name it */
	uint64_t retired;	/* its keys' claims went when this many drains
				 * had started, plus one; 0: they have not */
	bool truncated;
	bool marked;		/* in use (stackstore__mark) */
};

/*
 * Kernel ids are indexes below the table size: a flat array.  Inline
 * stacks follow it in the same array, found again through an index on
 * their frames' hash.
 */
struct stackstore {
	size_t frames;		/* frames stored, for the footprint */
	struct stack_slot *slots;
	size_t kernel_ids;
	size_t nslots, cap;
	struct lw_htab index;	/* frames' hash -> inline stack's id + 1 */
	int32_t *free_ids;	/* swept, given out again first */
	size_t nfree, free_cap;
	struct lw_htab names;	/* a walker's key (a hash) -> the id it names + 1 */
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
	lw_htab_release(&s->index);
	lw_htab_release(&s->names);
	free(s->free_ids);
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

int32_t stackstore__intern(struct stackstore *s, const uint64_t *ips, size_t n)
{
	uint64_t hash = hash_ips(ips, n);
	struct lw_htab_slot *slot;
	int err;

	lw_htab_for_each_match(&s->index, hash, slot) {
		if (same(&s->slots[slot->val - 1], ips, n))
			return (int32_t)(slot->val - 1);
	}
	if (lw_htab_reserve(&s->index, s->index.count + 1))
		return -ENOMEM;
	if (s->nfree) {
		int32_t id = s->free_ids[s->nfree - 1];

		err = set_slot(s, &s->slots[id], ips, n);
		if (err)
			return err;
		s->nfree--;
		lw_htab_add(&s->index, hash, (uintptr_t)id + 1);
		return id;
	}
	if (s->nslots >= INT32_MAX)
		return -E2BIG;
	if (lw_vec_reserve_zero(s->slots, s->cap, s->nslots + 1))
		return -ENOMEM;
	err = set_slot(s, &s->slots[s->nslots], ips, n);
	if (err)
		return err;
	lw_htab_add(&s->index, hash, s->nslots + 1);
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

int stackstore__name(struct stackstore *s, uint32_t key, int32_t id)
{
	/* keys are hashes already */
	struct lw_htab_slot *slot = lw_htab_first(&s->names, key);
	int err = 0;

	if (id < 0 || (size_t)id >= s->nslots)
		return -ERANGE;
	if (slot) {	/* the key names another stack now */
		s->slots[slot->val - 1].nnames--;
		slot->val = (uintptr_t)id + 1;
	} else {
		err = lw_htab_add(&s->names, key, (uintptr_t)id + 1);
	}
	if (!err) {
		s->slots[id].nnames++;
		/* the walker claimed it again */
		s->slots[id].retired = 0;
	}
	return err;
}

int32_t stackstore__named(const struct stackstore *s, uint32_t key)
{
	uintptr_t val = lw_htab_get(&s->names, key);

	return val ? (int32_t)(val - 1) : -ENOENT;
}

void stackstore__mark(struct stackstore *s, int32_t id)
{
	if (id >= 0 && (size_t)id < s->nslots)
		s->slots[id].marked = true;
}

/* What a walker key names: its claim goes once the stack is not in use,
 * and the key a drain later (stackstore__sweep). */
struct name_ref {
	uint32_t key;
	int32_t id;
};

static void sweep_names(struct stackstore *s, const struct stackstore_sweep *sw)
{
	struct name_ref *gone = NULL;
	int32_t *kept = NULL;
	size_t ngone = 0, cap = 0, nkept = 0, kept_cap = 0;
	struct lw_htab_slot *h;

	lw_htab_for_each(&s->names, h) {
		int32_t id = (int32_t)(h->val - 1);
		struct stack_slot *slot = &s->slots[id];

		if (slot->marked)
			continue;
		/* every key of the stack loses its claim in the same sweep */
		if (!slot->retired || slot->retired == sw->now + 1) {
			slot->retired = sw->now + 1;
			/* a claim still there may name the stack alone later:
			 * it stays, and the next sweep tries again */
			if (sw->unclaim((uint32_t)h->hash, sw->ctx) &&
			    !lw_vec_reserve(kept, kept_cap, nkept + 1))
				kept[nkept++] = id;
		} else if (sw->drained > slot->retired &&
			   !lw_vec_reserve(gone, cap, ngone + 1)) {
			/* two drains have started since the claim went and
			 * read the ring to its end: the first read every
			 * record sent before, the second is a margin for a
			 * walk that found the claim just before it went */
			gone[ngone++] = (struct name_ref){ (uint32_t)h->hash, id };
		}
	}
	for (size_t i = 0; i < nkept; i++)
		s->slots[kept[i]].retired = 0;
	for (size_t i = 0; i < ngone; i++) {
		lw_htab_del(&s->names, gone[i].key, (uintptr_t)gone[i].id + 1);
		s->slots[gone[i].id].nnames--;
	}
	free(kept);
	free(gone);
}

size_t stackstore__sweep(struct stackstore *s, const struct stackstore_sweep *sw)
{
	size_t i, swept = 0;

	if (sw && sw->unclaim)
		sweep_names(s, sw);
	for (i = s->kernel_ids; i < s->nslots; i++) {
		struct stack_slot *slot = &s->slots[i];

		if (slot->ips && !slot->marked && !slot->nnames &&
		    !lw_vec_reserve(s->free_ids, s->free_cap, s->nfree + 1)) {
			lw_htab_del(&s->index, hash_ips(slot->ips, slot->n), i + 1);
			s->frames -= slot->n;
			free(slot->ips);
			/* as new for the stack that gets the id next */
			*slot = (struct stack_slot){ .ips = NULL };
			s->free_ids[s->nfree++] = (int32_t)i;
			swept++;
		}
		slot->marked = false;
	}
	for (i = 0; i < s->kernel_ids; i++)
		s->slots[i].marked = false;
	return swept;
}

size_t stackstore__named_count(const struct stackstore *s)
{
	return s->names.count;
}

size_t stackstore__kernel_ids_used(const struct stackstore *s, size_t *cap)
{
	size_t i, n = 0;

	for (i = 0; i < s->kernel_ids; i++)
		n += s->slots[i].ips != NULL;
	*cap = s->kernel_ids;
	return n;
}

bool stackstore__is_free(const struct stackstore *s, int32_t id)
{
	return id >= 0 && (size_t)id >= s->kernel_ids && (size_t)id < s->nslots &&
	       !s->slots[id].ips;
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
	return sizeof(*s) + s->cap * sizeof(*s->slots) + s->free_cap * sizeof(*s->free_ids) +
	       (s->index.cap + s->names.cap) * sizeof(struct lw_htab_slot) +
	       s->frames * sizeof(uint64_t);
}
