// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "maptrack.h"
#include "vec.h"

/* A piece of a mapping: [start, end), page-aligned, from origin;
 * reserved: PROT_NONE, address space without memory behind it. */
struct ival {
	uint64_t start;
	uint64_t end;
	uint32_t origin;
	uint32_t reserved;
};

struct origin {
	struct map_origin o;	/* o.file malloc'd */
	uint64_t bytes;		/* accessible; 0 and pieces 0: free, on the free list */
	uint64_t reserved;	/* PROT_NONE */
	uint64_t pieces;
	uint32_t next_free;
};

#define NO_ORIGIN UINT32_MAX

/*
 * Intervals in one array sorted by start (they never overlap, so their
 * ends are sorted too): a process has thousands of mappings at most
 * (vm.max_map_count is 65530), and mapping calls are rare next to
 * allocations, so a binary search and a memmove beat a tree here.
 */
struct maptrack {
	uint64_t page;
	struct ival *iv;
	size_t n, cap;
	struct origin *org;
	uint32_t norg;
	size_t orgcap;
	uint32_t free_head;
	uint64_t bytes[MAP_KIND__COUNT];
	uint64_t reserved[MAP_KIND__COUNT];
	uint64_t origins[MAP_KIND__COUNT];
};

static const char *const kind_names[MAP_KIND__COUNT] = {
	[MAP_KIND_MMAP] = "mmap",
	[MAP_KIND_BRK] = "brk",
	[MAP_KIND_ALLOCATOR] = "allocator",
	[MAP_KIND_THREAD_STACK] = "thread_stack",
	[MAP_KIND_LOADER] = "loader",
	[MAP_KIND_RUNTIME] = "runtime",
};

const char *map_kind_name(enum map_kind kind)
{
	return (unsigned int)kind < MAP_KIND__COUNT ? kind_names[kind] : "?";
}

int map_kind_is_leak(enum map_kind kind)
{
	return kind == MAP_KIND_MMAP || kind == MAP_KIND_BRK;
}

struct maptrack *maptrack__new(uint64_t page_size)
{
	struct maptrack *m;

	if (!page_size || page_size & (page_size - 1)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->page = page_size;
	m->free_head = NO_ORIGIN;
	return m;
}

void maptrack__free(struct maptrack *m)
{
	uint32_t i;

	if (!m)
		return;
	for (i = 0; i < m->norg; i++)
		free((char *)m->org[i].o.file);
	free(m->org);
	free(m->iv);
	free(m);
}

static uint64_t page_up(const struct maptrack *m, uint64_t x)
{
	return (x + m->page - 1) & ~(m->page - 1);
}

/* Bytes of origin i gained (d > 0) or lost, accessible or reserved, and a
 * piece more or less. */
static void account(struct maptrack *m, uint32_t i, int64_t d, int dpieces, bool reserved)
{
	struct origin *o = &m->org[i];
	enum map_kind k = o->o.kind;

	if (!o->pieces && dpieces > 0)
		m->origins[k]++;
	if (reserved) {
		o->reserved += d;
		m->reserved[k] += d;
	} else {
		o->bytes += d;
		m->bytes[k] += d;
	}
	o->pieces += dpieces;
	if (o->pieces)
		return;
	/* its last byte is gone */
	m->origins[k]--;
	free((char *)o->o.file);
	o->o.file = NULL;
	o->next_free = m->free_head;
	m->free_head = i;
}

static int new_origin(struct maptrack *m, const struct map_origin *src, uint32_t *out)
{
	struct origin *o;
	uint32_t i;
	char *file = NULL;

	if (src->file && !(file = strdup(src->file)))
		return -ENOMEM;
	if (m->free_head != NO_ORIGIN) {
		i = m->free_head;
		m->free_head = m->org[i].next_free;
	} else {
		if (lw_vec_reserve(m->org, m->orgcap, (size_t)m->norg + 1)) {
			free(file);
			return -ENOMEM;
		}
		i = m->norg++;
	}
	o = &m->org[i];
	memset(o, 0, sizeof(*o));
	o->o = *src;
	o->o.file = file;
	*out = i;
	return 0;
}

static int reserve(struct maptrack *m, size_t more)
{
	return lw_vec_reserve(m->iv, m->cap, m->n + more);
}

/* Index of the first interval ending after addr (n when none). */
static size_t first_after(const struct maptrack *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->iv[mid].end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Remove [a, b) from every interval; needs room for one more interval
 * (a range strictly inside one splits it). */
static void cut(struct maptrack *m, uint64_t a, uint64_t b)
{
	size_t i = first_after(m, a), j;

	if (i < m->n && m->iv[i].start < a && m->iv[i].end > b) {
		struct ival *v = &m->iv[i];

		/* a hole in the middle: [start, a) and [b, end) */
		memmove(v + 2, v + 1, (m->n - i - 1) * sizeof(*v));
		m->n++;
		v[1] = (struct ival){ .start = b, .end = v->end, .origin = v->origin,
				      .reserved = v->reserved };
		v->end = a;
		account(m, v->origin, -(int64_t)(b - a), 1, v->reserved);
		return;
	}
	if (i < m->n && m->iv[i].start < a && m->iv[i].end > a) {
		account(m, m->iv[i].origin, -(int64_t)(m->iv[i].end - a), 0, m->iv[i].reserved);
		m->iv[i].end = a;
		i++;
	}
	/* whole intervals inside [a, b), then maybe one cut at its start */
	for (j = i; j < m->n && m->iv[j].end <= b; j++)
		account(m, m->iv[j].origin, -(int64_t)(m->iv[j].end - m->iv[j].start), -1,
			m->iv[j].reserved);
	if (j < m->n && m->iv[j].start < b) {
		account(m, m->iv[j].origin, -(int64_t)(b - m->iv[j].start), 0, m->iv[j].reserved);
		m->iv[j].start = b;
	}
	memmove(m->iv + i, m->iv + j, (m->n - j) * sizeof(*m->iv));
	m->n -= j - i;
}

/* Put [a, b) of origin i where nothing is (cut first). */
static void place(struct maptrack *m, uint64_t a, uint64_t b, uint32_t origin, bool reserved)
{
	size_t i = first_after(m, a);

	memmove(m->iv + i + 1, m->iv + i, (m->n - i) * sizeof(*m->iv));
	m->iv[i] = (struct ival){ .start = a, .end = b, .origin = origin, .reserved = reserved };
	m->n++;
	account(m, origin, (int64_t)(b - a), 1, reserved);
}

static int map_range(struct maptrack *m, uint64_t a, uint64_t b, const struct map_origin *o)
{
	uint32_t origin;
	int err;

	err = reserve(m, 2) ?: new_origin(m, o, &origin);
	if (err)
		return err;
	cut(m, a, b);
	place(m, a, b, origin, o->reserved);
	return 0;
}

/* Split interval i at x (start < x < end): one piece more of its origin. */
static void split_at(struct maptrack *m, size_t i, uint64_t x)
{
	struct ival *v = &m->iv[i];

	memmove(v + 2, v + 1, (m->n - i - 1) * sizeof(*v));
	m->n++;
	v[1] = *v;
	v[1].start = x;
	v->end = x;
	account(m, v->origin, 0, 1, v->reserved);
}

int maptrack__protect(struct maptrack *m, uint64_t addr, uint64_t len, int reserved)
{
	uint64_t a = addr, b;
	size_t i;
	int err;

	if (addr & (m->page - 1) || !len || addr + page_up(m, len) < addr)
		return -EINVAL;
	b = addr + page_up(m, len);
	for (i = first_after(m, a); i < m->n && m->iv[i].start < b; i++) {
		struct ival *v = &m->iv[i];
		uint64_t n;

		if (!v->reserved == !reserved)
			continue;
		err = reserve(m, 2);
		if (err)
			return err;
		v = &m->iv[i];
		if (v->start < a) {
			split_at(m, i++, a);
			v = &m->iv[i];
		}
		if (v->end > b)
			split_at(m, i, b);
		n = v->end - v->start;
		account(m, v->origin, -(int64_t)n, 0, v->reserved);
		v->reserved = !!reserved;
		account(m, v->origin, (int64_t)n, 0, v->reserved);
	}
	return 0;
}

int maptrack__map(struct maptrack *m, uint64_t addr, uint64_t len, const struct map_origin *o)
{
	if (addr & (m->page - 1) || !len || addr + page_up(m, len) < addr)
		return -EINVAL;
	return map_range(m, addr, addr + page_up(m, len), o);
}

int maptrack__unmap(struct maptrack *m, uint64_t addr, uint64_t len)
{
	int err;

	if (addr & (m->page - 1) || !len || addr + page_up(m, len) < addr)
		return -EINVAL;
	err = reserve(m, 1);
	if (err)
		return err;
	cut(m, addr, addr + page_up(m, len));
	return 0;
}

int maptrack__remap(struct maptrack *m, uint64_t old_addr, uint64_t old_len, uint64_t new_addr,
		    uint64_t new_len, int dontunmap, const struct map_origin *o)
{
	uint64_t olen = page_up(m, old_len), nlen = page_up(m, new_len), keep, shift;
	struct ival *moved = NULL;
	bool grow_reserved = o->reserved;
	size_t i, k = 0;
	int err = 0;

	if (old_addr & (m->page - 1) || new_addr & (m->page - 1) || !nlen ||
	    old_addr + olen < old_addr || new_addr + nlen < new_addr)
		return -EINVAL;
	if (!olen)	/* a second mapping of shared memory */
		return map_range(m, new_addr, new_addr + nlen, o);
	keep = olen < nlen ? olen : nlen;
	/* the pieces that survive the move: the first keep bytes of the old
	 * range, each with its origin */
	for (i = first_after(m, old_addr); i < m->n && m->iv[i].start < old_addr + keep; i++)
		k++;
	if (k && !(moved = malloc(k * sizeof(*moved))))
		return -ENOMEM;
	for (i = first_after(m, old_addr), k = 0;
	     i < m->n && m->iv[i].start < old_addr + keep; i++, k++) {
		moved[k] = m->iv[i];
		if (moved[k].start < old_addr)
			moved[k].start = old_addr;
		if (moved[k].end > old_addr + keep)
			moved[k].end = old_addr + keep;
	}
	/* hold them while the old range goes: an origin must not die between */
	for (i = 0; i < k; i++)
		m->org[moved[i].origin].pieces++;
	err = reserve(m, k + 3);
	if (err)
		goto out;
	if (!dontunmap)
		cut(m, old_addr, old_addr + olen);
	cut(m, new_addr, new_addr + nlen);
	shift = new_addr - old_addr;
	for (i = 0; i < k; i++)
		place(m, moved[i].start + shift, moved[i].end + shift, moved[i].origin,
		      moved[i].reserved);
	/* the growth has the protection of the mapping it extends */
	if (k && moved[k - 1].end == old_addr + keep)
		grow_reserved = moved[k - 1].reserved;
	if (nlen > olen) {
		uint32_t origin;

		err = new_origin(m, o, &origin);
		if (!err)
			place(m, new_addr + olen, new_addr + nlen, origin, grow_reserved);
	}
out:
	for (i = 0; i < k; i++)
		account(m, moved[i].origin, 0, -1, moved[i].reserved);
	free(moved);
	return err;
}

int maptrack__brk(struct maptrack *m, uint64_t old_brk, uint64_t new_brk,
		  const struct map_origin *o)
{
	/* the kernel maps the break in whole pages */
	uint64_t a = page_up(m, old_brk), b = page_up(m, new_brk);
	int err;

	if (a == b)
		return 0;
	if (b > a)
		return map_range(m, a, b, o);
	err = reserve(m, 1);
	if (!err)
		cut(m, b, a);
	return err;
}

uint64_t maptrack__bytes(const struct maptrack *m, enum map_kind kind)
{
	return (unsigned int)kind < MAP_KIND__COUNT ? m->bytes[kind] : 0;
}

uint64_t maptrack__reserved(const struct maptrack *m, enum map_kind kind)
{
	return (unsigned int)kind < MAP_KIND__COUNT ? m->reserved[kind] : 0;
}

uint64_t maptrack__origins(const struct maptrack *m, enum map_kind kind)
{
	return (unsigned int)kind < MAP_KIND__COUNT ? m->origins[kind] : 0;
}

size_t maptrack__intervals(const struct maptrack *m)
{
	return m->n;
}

size_t maptrack__footprint(const struct maptrack *m)
{
	size_t bytes = sizeof(*m) + m->cap * sizeof(*m->iv) + m->orgcap * sizeof(*m->org);
	uint32_t i;

	for (i = 0; i < m->norg; i++)
		if (m->org[i].o.file)
			bytes += strlen(m->org[i].o.file) + 1;
	return bytes;
}

static int cmp_file(const char *a, const char *b)
{
	if (!a || !b)
		return !!a - !!b;
	return strcmp(a, b);
}

/* Group key: kind, stack, file. */
static int cmp_group(const struct maptrack_stack *a, const struct maptrack_stack *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->stack_id != b->stack_id)
		return a->stack_id < b->stack_id ? -1 : 1;
	return cmp_file(a->file, b->file);
}

static int cmp_group_qsort(const void *a, const void *b)
{
	return cmp_group(a, b);
}

static int cmp_report(const void *pa, const void *pb)
{
	const struct maptrack_stack *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->origins != b->origins)
		return a->origins > b->origins ? -1 : 1;
	return cmp_group(a, b);
}

static bool passes(const struct origin *o, const struct ledger_filter *f)
{
	if (!o->pieces)
		return false;
	if (!f)
		return true;
	return o->bytes >= f->min_size && (!f->max_size || o->bytes <= f->max_size) &&
	       (!f->max_ts_ns || o->o.ts_ns <= f->max_ts_ns);
}

int maptrack__stacks(const struct maptrack *m, const struct ledger_filter *filter,
		     struct maptrack_stack **out, size_t *n)
{
	struct maptrack_stack *s;
	size_t k = 0, g = 0, i;
	uint32_t j;

	*out = NULL;
	*n = 0;
	if (!m)
		return 0;
	for (j = 0; j < m->norg; j++)
		k += passes(&m->org[j], filter);
	if (!k)
		return 0;
	s = malloc(k * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (j = 0, k = 0; j < m->norg; j++) {
		const struct origin *o = &m->org[j];

		if (!passes(o, filter))
			continue;
		s[k++] = (struct maptrack_stack){
			.kind = o->o.kind,
			.stack_id = o->o.stack_id,
			.file = o->o.file,
			.bytes = o->bytes,
			.reserved = o->reserved,
			.origins = 1,
			.oldest_ts_ns = o->o.ts_ns,
		};
	}
	qsort(s, k, sizeof(*s), cmp_group_qsort);
	for (i = 0; i < k; i++) {
		if (g && !cmp_group(&s[g - 1], &s[i])) {
			struct maptrack_stack *t = &s[g - 1];

			t->bytes += s[i].bytes;
			t->reserved += s[i].reserved;
			t->origins++;
			if (s[i].oldest_ts_ns < t->oldest_ts_ns)
				t->oldest_ts_ns = s[i].oldest_ts_ns;
			continue;
		}
		s[g++] = s[i];
	}
	qsort(s, g, sizeof(*s), cmp_report);
	*out = s;
	*n = g;
	return 0;
}

void maptrack__for_each_stack(const struct maptrack *m,
			      void (*fn)(int32_t stack_id, void *ctx), void *ctx)
{
	uint32_t i;

	for (i = 0; i < m->norg; i++)
		if (m->org[i].pieces)
			fn(m->org[i].o.stack_id, ctx);
}
