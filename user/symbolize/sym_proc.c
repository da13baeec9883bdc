// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The processes of the symbolizer: each one's generations of executable
 * ranges, read from /proc/PID/maps (or added by path offline), a forked
 * child served by its parent's entry, and the perf map of its JIT code.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "perfmap.h"
#include "symbolizer_int.h"

/* pid's own entry, an alias (same_as) included. */
struct sym_proc *proc_find_own(struct symbolizer *s, pid_t pid)
{
	uint64_t hash = lw_hash64((uint64_t)pid);
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each_match(&s->procs, hash, slot) {
		node = (struct hnode *)slot->val;
		struct sym_proc *p = container_of(node, struct sym_proc, node);

		if (p->pid == pid)
			return p;
	}
	return NULL;
}

/* The entry whose modules serve pid: a forked child's is its parent's. */
struct sym_proc *proc_find(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p = proc_find_own(s, pid);

	return p && p->same_as ? p->same_as : p;
}

/* NULL: out of memory */
struct sym_proc *proc_new(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->node.hash = lw_hash64((uint64_t)pid);
	if (htab_add(&s->procs, &p->node)) {
		free(p);
		return NULL;
	}
	return p;
}

void module_put(struct sym_module *m)
{
	if (!m || --m->refs)
		return;
	if (m->files)
		htab_del(m->files, &m->node);
	dwfl_end(m->dwfl);
	free(m->file_name);
	free(m->cus);
	free(m);
}

static void gen_clear(struct sym_gen *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		module_put(g->r[i].mod);
	free(g->r);
	g->r = NULL;
	g->n = 0;
}

static void free_key_binding(struct hnode *node)
{
	free(container_of(node, struct key_binding, node));
}

void proc_free(struct hnode *node)
{
	struct sym_proc *p = container_of(node, struct sym_proc, node);
	struct hnode *next;
	size_t i;

	htab_clear(&p->cache, free_cache_entry);
	htab_clear(&p->keys, free_key_binding);
	for (node = p->retired; node; node = next) {
		next = node->next;
		free_cache_entry(node);
	}
	for (i = 0; i < p->ngens; i++)
		gen_clear(&p->gens[i]);
	perf_map__free(p->jit);
	free(p->root);
	free(p);
}

/* Drop p's use of the entry that serves it. */
void proc_unalias(struct symbolizer *s, struct sym_proc *p)
{
	struct sym_proc *to = p->same_as;
	struct hnode **n;

	p->same_as = NULL;
	if (!to || --to->refs || !to->orphan)
		return;
	for (n = &s->orphans; *n && *n != &to->node; n = &(*n)->next)
		;
	if (*n)
		*n = to->node.next;
	proc_free(&to->node);
}

void proc_remove(struct symbolizer *s, struct sym_proc *p)
{
	htab_del(&s->procs, &p->node);
	proc_unalias(s, p);
	if (!p->refs) {
		proc_free(&p->node);
		return;
	}
	/* its forked children still resolve through it; its pid is not its
	 * own any more, so its modules are never read again */
	p->orphan = true;
	p->no_refresh = true;
	p->node.next = s->orphans;
	s->orphans = &p->node;
}

/* The range of g holding ip, or NULL. */
const struct sym_range *gen_find(const struct sym_gen *g, uint64_t ip)
{
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->r[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && ip < g->r[lo - 1].end ? &g->r[lo - 1] : NULL;
}

/* The range holding a return address: ip - 1 first, a call may be the last
 * instruction of its mapping (a call to a noreturn function). */
const struct sym_range *gen_find_return(const struct sym_gen *g, uint64_t ip)
{
	const struct sym_range *r = ip ? gen_find(g, ip - 1) : NULL;

	return r ? r : gen_find(g, ip);
}
/* What a range is, for telling generations apart. */
static const void *range_identity(const struct sym_range *r)
{
	static const char anon;

	return r->mod ? (const void *)r->mod : r->name ? (const void *)r->name : &anon;
}

/* Whether two ranges hold the same code: one file loaded at one place. */
static bool range_same(const struct sym_range *a, const struct sym_range *b)
{
	return range_identity(a) == range_identity(b) && a->shift == b->shift;
}

static int cmp_range(const void *pa, const void *pb)
{
	const struct sym_range *a = pa, *b = pb;

	return a->start < b->start ? -1 : a->start > b->start;
}

/*
 * Take the executable mappings in fresh (sorted, not overlapping; their
 * module references are taken over) into p's generations.  The newest
 * generation keeps its ranges that fresh does not overlap: their code may
 * still be in stacks not yet seen.  When fresh overlaps one of them with
 * other code (a library unloaded and another one loaded there), the union
 * becomes a new generation and the old one stays as it was; but only when
 * the process is stopped where its records are being read (replace): a
 * process that runs on may have replaced code whose stacks are still to
 * be read, so then only code in new places is taken.
 */
static int proc_take(struct sym_proc *p, struct sym_range *fresh, size_t n, bool replace)
{
	struct sym_gen *cur = p->ngens ? &p->gens[p->ngens - 1] : NULL;
	bool conflict = false, added = false;
	struct sym_range *r;
	size_t i, j, k;

	for (j = k = 0; j < n; j++) {
		bool other = false;

		for (i = 0; cur && i < cur->n; i++) {
			const struct sym_range *old = &cur->r[i];

			if (fresh[j].start < old->end && old->start < fresh[j].end &&
			    !range_same(&fresh[j], old))
				other = true;
		}
		if (other && !replace) {
			module_put(fresh[j].mod);
			continue;
		}
		conflict |= other;
		fresh[k++] = fresh[j];
	}
	n = k;
	r = realloc(fresh, (n + (cur ? cur->n : 0) + 1) * sizeof(*r));
	if (!r) {
		for (i = 0; i < n; i++)
			module_put(fresh[i].mod);
		free(fresh);
		return -ENOMEM;
	}
	for (i = 0; cur && i < cur->n; i++) {
		const struct sym_range *old = &cur->r[i];
		bool overlaps = false;

		for (j = 0; j < n && !overlaps; j++)
			overlaps = r[j].start < old->end && old->start < r[j].end;
		if (!overlaps) {
			r[k] = *old;
			if (r[k].mod)
				r[k].mod->refs++;
			k++;
		}
	}
	/* code added: results found unknown before may be known now */
	for (j = 0; j < n; j++) {
		const struct sym_range *known = cur ? gen_find(cur, r[j].start) : NULL;

		if (!known || known->end < r[j].end || !range_same(known, &r[j]))
			added = true;
	}
	qsort(r, k, sizeof(*r), cmp_range);
	if (!cur || (conflict && p->ngens < MAX_GENERATIONS)) {
		if (cur)
			lw_debug("symbolizer: pid %d: other code where code was: generation %zu\n",
				 (int)p->pid, p->ngens);
		cur = &p->gens[p->ngens++];
	} else {
		gen_clear(cur);
	}
	cur->r = r;
	cur->n = k;
	if (added || conflict)
		p->epoch++;
	return 0;
}

/* NSpid's last field in /proc/PID/status: the pid in its own namespace. */
static pid_t read_nspid(pid_t pid)
{
	char path[64], *text = NULL, *line;
	long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (procfs_read_file(path, &text, NULL))
		return 0;
	line = strstr(text, "\nNSpid:");
	if (line) {
		char *end;

		line += 7;
		for (;;) {
			long x = strtol(line, &end, 10);

			if (end == line)
				break;
			v = x;
			line = end;
		}
	}
	free(text);
	return v > 0 && v <= INT32_MAX ? (pid_t)v : 0;
}

/* Read pid's executable mappings into a new look at its code; replace:
 * see proc_take. */
int proc_report(struct symbolizer *s, struct sym_proc *p, bool replace)
{
	struct proc_maps maps = { 0 };
	struct sym_range *fresh = NULL;
	size_t i, n = 0;
	char *root;
	int err;

	err = procfs_read_maps(p->pid, &maps);
	if (err) {
		lw_debug("symbolizer: reading the maps of pid %d: %s\n", (int)p->pid,
			 strerror(-err));
		return err;
	}
	/* the prefix of the paths /proc shows; once the process is gone,
	 * the one its modules were reported with */
	if (!procfs_read_root(p->pid, &root)) {
		free(p->root);
		p->root = root;
	}
	if (!p->nspid)
		p->nspid = read_nspid(p->pid);
	fresh = calloc(maps.n ? maps.n : 1, sizeof(*fresh));
	if (!fresh) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < maps.n; i++) {
		const struct proc_map *m = &maps.maps[i];
		struct sym_range *r = &fresh[n];

		if (m->perms[2] != 'x' || m->end <= m->start)
			continue;
		*r = (struct sym_range){ .start = m->start, .end = m->end };
		if (m->path && m->path[0] == '/')
			r->mod = module_of(s, p, m, &r->shift);
		if (m->path && intern(s, r->mod ? r->mod->name : m->path, &r->name)) {
			module_put(r->mod);
			err = -ENOMEM;
			goto cleanup;
		}
		n++;
	}
	err = proc_take(p, fresh, n, replace);
	fresh = NULL;
	if (!err)
		p->no_refresh = false;
cleanup:
	if (fresh) {
		for (i = 0; i < n; i++)
			module_put(fresh[i].mod);
		free(fresh);
	}
	proc_maps__free(&maps);
	return err;
}

/* p's perf map, created empty if need be; NULL: out of memory. */
struct perf_map *proc_jit(struct sym_proc *p)
{
	if (!p->jit)
		p->jit = perf_map__new();
	return p->jit;
}

/* A perf map that a runtime keeps appending to is read again at most this
 * often: each read parses the whole file. */
#define PERF_MAP_REREAD_NS 1000000000ull

/* Read p's perf map again if it changed: /tmp/perf-NSPID.map as the
 * process sees it, while it lives; then, if it shared our /tmp, ours. */
void proc_perf_map(struct sym_proc *p)
{
	struct perf_map *jit = proc_jit(p);
	uint64_t now = lw_now_ns();
	char path[96], own[64];
	struct stat st;
	int err = -ENOENT;

	if (!jit || p->offline || p->pid <= 0)
		return;
	snprintf(own, sizeof(own), "/proc/%d", (int)p->pid);
	if (!stat(own, &st)) {
		/* once gone, its map changes no more: read it (again) then */
		if (p->jit_read_ns && now - p->jit_read_ns < PERF_MAP_REREAD_NS)
			return;
		/* the file must be the process's user's (or root's) */
		snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", (int)p->pid,
			 (int)(p->nspid ? p->nspid : p->pid));
		err = perf_map__load(jit, path, st.st_uid);
	} else if (p->root && !*p->root && (!p->nspid || p->nspid == p->pid)) {
		/* gone: its user is not known any more, only root's file is taken */
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)p->pid);
		err = perf_map__load(jit, path, 0);
	}
	if (err > 0) {
		p->epoch++;
		p->jit_read_ns = now;
	} else if (err < 0 && err != -ENOENT)
		lw_debug("symbolizer: pid %d: perf map not read: %s\n", (int)p->pid,
			 strerror(-err));
}
/* p, created if need be, for offline use; NULL: out of memory. */
struct sym_proc *proc_offline(struct symbolizer *s, pid_t pid, bool *created)
{
	struct sym_proc *p = proc_find_own(s, pid);

	*created = false;
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return NULL;
		*created = true;
		/* An offline process has no /proc entry to refresh from. */
		p->offline = true;
		p->no_refresh = true;
	}
	return p;
}

/* Add ranges to p's newest generation; -EINVAL if one overlaps. */
int proc_add_ranges(struct sym_proc *p, struct sym_range *add, size_t n)
{
	struct sym_gen *g;
	struct sym_range *r;
	size_t i;

	if (!p->ngens)
		p->ngens = 1;
	g = &p->gens[p->ngens - 1];
	for (i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < g->n; j++)
			if (add[i].start < g->r[j].end && g->r[j].start < add[i].end)
				return -EINVAL;
	}
	r = realloc(g->r, (g->n + n) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r + g->n, add, n * sizeof(*r));
	g->r = r;
	g->n += n;
	qsort(g->r, g->n, sizeof(*r), cmp_range);
	p->epoch++;
	return 0;
}
