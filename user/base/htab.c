// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

#define HTAB_MIN_CAP 16

/* At most 3/4 of the slots used: probes stay a few slots long. */
static size_t limit_of(size_t cap)
{
	return cap - cap / 4;
}

/* The empty slot where hash goes. */
static size_t free_slot(const struct lw_htab_slot *slots, size_t cap, uint64_t hash)
{
	size_t mask = cap - 1, i = hash & mask;

	while (slots[i].val)
		i = (i + 1) & mask;
	return i;
}

static int resize(struct lw_htab *h, size_t cap)
{
	struct lw_htab_slot *slots;
	size_t i;

	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < h->cap; i++) {
		if (h->slots[i].val)
			slots[free_slot(slots, cap, h->slots[i].hash)] = h->slots[i];
	}
	free(h->slots);
	h->slots = slots;
	h->cap = cap;
	return 0;
}

int lw_htab_reserve(struct lw_htab *h, size_t n)
{
	size_t cap = h->cap ? h->cap : HTAB_MIN_CAP;

	while (limit_of(cap) < n) {
		if (cap > SIZE_MAX / 2 / sizeof(struct lw_htab_slot))
			return -ENOMEM;
		cap *= 2;
	}
	return cap == h->cap ? 0 : resize(h, cap);
}

int lw_htab_add(struct lw_htab *h, uint64_t hash, uintptr_t val)
{
	int err;

	if (!val)
		return -EINVAL;
	err = lw_htab_reserve(h, h->count + 1);
	if (err)
		return err;
	h->slots[free_slot(h->slots, h->cap, hash)] = (struct lw_htab_slot){ hash, val };
	h->count++;
	return 0;
}

/* Probe distance from slot a forward to slot b, wrapping around. */
static size_t dist(size_t a, size_t b, size_t mask)
{
	return (b - a) & mask;
}

void lw_htab_del_at(struct lw_htab *h, struct lw_htab_slot *s)
{
	size_t mask = h->cap - 1, i = (size_t)(s - h->slots), j = i;

	/* Move back every slot of the cluster after the hole whose probe
	 * passes through it, so that lookups can stop at the first empty
	 * slot. */
	for (;;) {
		j = (j + 1) & mask;
		if (!h->slots[j].val)
			break;
		if (dist(h->slots[j].hash & mask, j, mask) >= dist(i, j, mask)) {
			h->slots[i] = h->slots[j];
			i = j;
		}
	}
	h->slots[i] = (struct lw_htab_slot){ 0, 0 };
	h->count--;
}

bool lw_htab_del(struct lw_htab *h, uint64_t hash, uintptr_t val)
{
	struct lw_htab_slot *s;

	lw_htab_for_each_match(h, hash, s) {
		if (s->val == val) {
			lw_htab_del_at(h, s);
			return true;
		}
	}
	return false;
}

void lw_htab_reset(struct lw_htab *h)
{
	if (h->cap)
		memset(h->slots, 0, h->cap * sizeof(*h->slots));
	h->count = 0;
}

void lw_htab_release(struct lw_htab *h)
{
	free(h->slots);
	*h = (struct lw_htab)LW_HTAB_INIT;
}
