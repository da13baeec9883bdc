// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolization with elfutils libdwfl, after eu-stack (elfutils src/stack.c):
 * executable mappings from /proc/PID/maps, one Dwfl per mapped ELF file
 * (opened through /proc/PID/map_files), debug info by the standard libdwfl
 * search, inline chains from dwarf_getscopes.  A module belongs to the
 * generations of the process's code that map it; ranges hold references.
 * A file is opened once for all the processes that map it: its module is
 * shared (a position-independent one reported at 0, each range keeping
 * where its process loaded it), else every process would cost the file's
 * symbols and debug info again.
 *
 * Every result is cached per process and address; the strings in the
 * results are interned in one table owned by the symbolizer.
 */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "perfmap.h"
#include "symbolizer.h"
#include "symbolizer_int.h"

static int symbolizer_init(struct symbolizer *s, const struct symbolizer_opts *o)
{
	if (o && o->debuginfo_path) {
		s->debuginfo_path = strdup(o->debuginfo_path);
		if (!s->debuginfo_path)
			return -ENOMEM;
	}
	s->callbacks = (Dwfl_Callbacks){
		/* modules are reported with their file open: find_elf is
		 * called only for what libdwfl finds on its own */
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &s->debuginfo_path,
	};
	return 0;
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *o)
{
	struct symbolizer *s = calloc(1, sizeof(struct symbolizer));
	int err;

	if (!s)
		return NULL;
	err = symbolizer_init(s, o);
	if (err) {
		free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	htab_clear(&s->procs, proc_free);
	while (s->orphans) {
		struct hnode *n = s->orphans;

		s->orphans = n->next;
		proc_free(n);
	}
	htab_clear(&s->strings, free_interned);
	lw_htab_release(&s->files);	/* empty: the ranges held its modules */
	free(s->debuginfo_path);
	free(s);
}

int symbolizer__add_process(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p;
	bool created = false;
	int err;

	if (!s || pid <= 0)
		return -EINVAL;
	p = proc_find_own(s, pid);
	/* a forked child with modules of its own from now on */
	if (p && p->same_as)
		proc_unalias(s, p);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		created = true;
	}
	err = proc_report(s, p, true);
	if (err && created)
		proc_remove(s, p);
	return err;
}

int symbolizer__add_fork(struct symbolizer *s, pid_t pid, pid_t parent)
{
	struct sym_proc *pp, *p;

	if (!s || pid <= 0)
		return -EINVAL;
	pp = proc_find(s, parent);
	if (!pp || !pp->ngens)
		return -ENOENT;
	p = proc_find_own(s, pid);
	if (p)		/* a reused pid */
		proc_remove(s, p);
	p = proc_new(s, pid);
	if (!p)
		return -ENOMEM;
	p->same_as = pp;
	pp->refs++;
	return 0;
}

int symbolizer__add_elf(struct symbolizer *s, pid_t pid, const char *path, uint64_t base)
{
	struct sym_range ranges[16];
	struct sym_module *m = NULL;
	struct sym_proc *p;
	size_t nph, i, n = 0;
	Dwarf_Addr bias;
	bool created;
	Elf *elf;
	int fd, err = 0;

	if (!s || !path)
		return -EINVAL;
	p = proc_offline(s, pid, &created);
	if (!p)
		return -ENOMEM;
	/* Opened here for a precise errno. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	m = module_new(s, path, path, fd, base);
	if (!m) {
		err = -ENOMEM;
		goto cleanup;
	}
	elf = m->mod ? dwfl_module_getelf(m->mod, &bias) : NULL;
	if (!elf || elf_getphdrnum(elf, &nph)) {
		err = -EINVAL;	/* not ELF */
		goto cleanup;
	}
	/* its code: the executable segments */
	for (i = 0; i < nph && n < sizeof(ranges) / sizeof(ranges[0]); i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) ||
		    !ph.p_memsz)
			continue;
		ranges[n++] = (struct sym_range){ .start = bias + ph.p_vaddr,
						  .end = bias + ph.p_vaddr + ph.p_memsz,
						  .mod = m, .name = m->name };
	}
	m->refs = n;
	if (!n) {
		err = -EINVAL;
		m->refs = 1;
		goto cleanup;
	}
	err = proc_add_ranges(p, ranges, n);
	if (err)
		m->refs = 1;
	else
		m = NULL;
cleanup:
	module_put(m);
	if (err && created)
		proc_remove(s, p);
	return err;
}

int symbolizer__add_perf_map(struct symbolizer *s, pid_t pid, const char *path)
{
	struct sym_range *ranges = NULL;
	const struct perf_sym *syms;
	struct perf_map *jit;
	struct sym_proc *p;
	bool created;
	size_t i, n;
	int err;

	if (!s || !path)
		return -EINVAL;
	p = proc_offline(s, pid, &created);
	if (!p)
		return -ENOMEM;
	jit = proc_jit(p);
	err = jit ? perf_map__load(jit, path, geteuid()) : -ENOMEM;
	if (err < 0)
		goto cleanup;
	n = perf_map__entries(jit, &syms);
	ranges = calloc(n ? n : 1, sizeof(*ranges));
	if (!ranges) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* each entry its own anonymous range */
	for (i = 0; i < n; i++)
		ranges[i] = (struct sym_range){ .start = syms[i].start, .end = syms[i].end };
	err = proc_add_ranges(p, ranges, n);
cleanup:
	free(ranges);
	if (err < 0 && created)
		proc_remove(s, p);
	return err < 0 ? err : 0;
}

void symbolizer__forget_process(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p;

	if (!s)
		return;
	p = proc_find_own(s, pid);
	if (p)
		proc_remove(s, p);
}

/* Not an address a user stack can hold: the walk went past its end. */
static bool stack_end(uint64_t ip)
{
	/* the first page is never mapped; user space ends below 2^47, or
	 * 2^56 with 5-level page tables: above, it is not a user address */
	return ip < 0x1000 || ip >= 1ull << 56;
}

static struct key_binding *key_find(struct sym_proc *p, int64_t key)
{
	uint64_t hash = lw_hash64((uint64_t)key);
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each_match(&p->keys, hash, slot) {
		node = (struct hnode *)slot->val;
		struct key_binding *b = container_of(node, struct key_binding, node);

		if (b->key == key)
			return b;
	}
	return NULL;
}

static void proc_forget_keys(struct sym_proc *p, bool (*gone)(int64_t key, void *ctx),
			     void *ctx)
{
	struct lw_htab_slot *slot;
	size_t i = 0;

	/* deleting moves slots: a slot found is deleted, then the same
	 * index looked at again */
	while (i < p->keys.cap) {
		slot = &p->keys.slots[i];
		if (slot->val) {
			struct key_binding *b = container_of((struct hnode *)slot->val,
							     struct key_binding, node);

			if (gone(b->key, ctx)) {
				lw_htab_del_at(&p->keys, slot);
				free(b);
				continue;
			}
		}
		i++;
	}
}

void symbolizer__forget_keys(struct symbolizer *s, bool (*gone)(int64_t key, void *ctx),
			     void *ctx)
{
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each(&s->procs, slot)
		proc_forget_keys(container_of((struct hnode *)slot->val, struct sym_proc, node),
				 gone, ctx);
	for (node = s->orphans; node; node = node->next)
		proc_forget_keys(container_of(node, struct sym_proc, node), gone, ctx);
}

/* The generation of key (the newest when unbound); p->ngens when none. */
static unsigned int key_gen(struct sym_proc *p, int64_t key)
{
	struct key_binding *b = key >= 0 ? key_find(p, key) : NULL;

	if (b && b->gen < p->ngens)
		return b->gen;
	return p->ngens ? (unsigned int)p->ngens - 1 : 0;
}

void symbolizer__note_stack(struct symbolizer *s, pid_t pid, int64_t key, const uint64_t *ips,
			    size_t n)
{
	struct key_binding *b;
	struct sym_proc *p;
	bool anon = false;
	size_t i;

	if (!s || pid <= 0)
		return;
	p = proc_find(s, pid);
	if (!p) {
		/* A fresh module list covers this stack already, if anything can. */
		symbolizer__add_process(s, pid);
		p = proc_find(s, pid);
	} else if (!p->no_refresh) {
		for (i = 0; i < n && !stack_end(ips[i]); i++) {
			const struct sym_range *r = p->ngens ?
				gen_find_return(&p->gens[p->ngens - 1], ips[i]) : NULL;
			int err;

			if (r)
				continue;
			/* One refresh per stack at most: addresses that stay
			 * unknown (garbage from frame-pointer unwinding) must
			 * not cost a read of /proc/PID/maps each. */
			err = proc_report(s, p, false);
			if (err == -ENOENT || err == -ESRCH)
				p->no_refresh = true;	/* the process is gone */
			break;
		}
	}
	if (!p || !p->ngens)
		return;
	/* JIT code: its perf map, while the process lives */
	for (i = 0; i < n && !stack_end(ips[i]) && !anon; i++) {
		const struct sym_range *r = gen_find_return(&p->gens[p->ngens - 1], ips[i]);

		anon = r && !r->mod && !r->name;
	}
	if (anon)
		proc_perf_map(p);
	if (key < 0 || key_find(p, key))
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		return;		/* resolved in the newest generation */
	b->key = key;
	b->gen = (unsigned int)p->ngens - 1;
	b->node.hash = lw_hash64((uint64_t)key);
	if (htab_add(&p->keys, &b->node))
		free(b);
}

enum sym_addr symbolizer__classify(struct symbolizer *s, pid_t pid, int64_t key, uint64_t ip)
{
	struct sym_proc *p;

	if (stack_end(ip))
		return SYM_ADDR_END;
	p = s ? proc_find(s, pid) : NULL;
	if (!p || !p->ngens)
		return SYM_ADDR_CODE;	/* nothing known: nothing to say */
	return gen_find_return(&p->gens[key_gen(p, key)], ip) ? SYM_ADDR_CODE : SYM_ADDR_JUNK;
}

unsigned int symbolizer__generation(struct symbolizer *s, pid_t pid, int64_t key)
{
	struct sym_proc *p = s ? proc_find(s, pid) : NULL;

	return p ? key_gen(p, key) : 0;
}

static uint64_t cache_hash(uint64_t ip, bool is_return_address, unsigned int gen)
{
	return lw_hash64(ip ^ ((uint64_t)is_return_address << 63) ^ ((uint64_t)gen << 48));
}

static struct cache_entry *cache_find(struct sym_proc *p, uint64_t ip, bool is_return_address,
				      unsigned int gen)
{
	uint64_t hash = cache_hash(ip, is_return_address, gen);
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each_match(&p->cache, hash, slot) {
		node = (struct hnode *)slot->val;
		struct cache_entry *e = container_of(node, struct cache_entry, node);

		if (e->ip == ip && e->is_return_address == is_return_address && e->gen == gen)
			return e;
	}
	return NULL;
}

static bool frame_known(const struct sym_frame *f)
{
	return f->function || f->module;
}

int symbolizer__resolve_in(struct symbolizer *s, pid_t pid, int64_t key, uint64_t ip,
			   bool is_return_address, const struct sym_frame **frames)
{
	struct cache_entry *old, *e = NULL;
	struct sym_proc *p;
	unsigned int g;
	int err;

	if (!s || !frames || pid < 0)
		return -EINVAL;
	p = proc_find(s, pid);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		err = pid > 0 ? proc_report(s, p, true) : -ESRCH;
		if (err) {
			/* Keep p: its unknown results are cached like others. */
			lw_debug("symbolizer: pid %d unknown and not readable: %s\n", (int)pid,
				 strerror(-err));
			p->no_refresh = true;
		}
	}
	g = key_gen(p, key);
	old = cache_find(p, ip, is_return_address, g);
	/* An address in no module may be in one added since, or in a perf
	 * map's newer entries. */
	if (old && (frame_known(&old->frames[0]) || old->epoch == p->epoch)) {
		*frames = old->frames;
		return old->n;
	}
	if (p->ngens && g < p->ngens) {
		const struct sym_range *r = gen_find_return(&p->gens[g], ip);

		if (r && !r->mod && !r->name)
			proc_perf_map(p);
	}
	err = symbolize(s, p, g, ip, is_return_address, &e);
	if (err)
		return err;
	if (old && !frame_known(&e->frames[0])) {
		/* Still unknown: keep the entry the caller may hold. */
		old->epoch = p->epoch;
		free(e);
		*frames = old->frames;
		return old->n;
	}
	e->node.hash = cache_hash(ip, is_return_address, g);
	if (htab_add(&p->cache, &e->node)) {
		free(e);
		return -ENOMEM;
	}
	if (old) {
		htab_del(&p->cache, &old->node);
		old->node.next = p->retired;
		p->retired = &old->node;
	}
	*frames = e->frames;
	return e->n;
}

int symbolizer__resolve(struct symbolizer *s, pid_t pid, uint64_t ip, bool is_return_address,
			const struct sym_frame **frames)
{
	return symbolizer__resolve_in(s, pid, SYM_NO_KEY, ip, is_return_address, frames);
}

/* The module of ip in pid's newest generation, pid added now if new. */
static const struct sym_range *current_range(struct symbolizer *s, pid_t pid, uint64_t ip)
{
	struct sym_proc *p = s ? proc_find(s, pid) : NULL;

	if (!p && s && !symbolizer__add_process(s, pid))
		p = proc_find(s, pid);
	return p && p->ngens ? gen_find(&p->gens[p->ngens - 1], ip) : NULL;
}

const char *symbolizer__module(struct symbolizer *s, pid_t pid, uint64_t ip)
{
	const struct sym_range *r = current_range(s, pid, ip);

	return r && r->mod ? r->mod->name : NULL;
}

int symbolizer__module_elf(struct symbolizer *s, pid_t pid, uint64_t ip, Elf **elf,
			   uint64_t *bias)
{
	const struct sym_range *r = current_range(s, pid, ip);
	Dwfl_Module *mod = r && r->mod ? r->mod->mod : NULL;
	Dwarf_Addr b = 0;

	*elf = mod ? dwfl_module_getelf(mod, &b) : NULL;
	*bias = b + (mod ? r->shift : 0);
	return *elf ? 0 : -ENOENT;
}

int symbolizer__mapping(struct symbolizer *s, pid_t pid, uint64_t ip, struct sym_mapping *m)
{
	struct sym_proc *p = s ? proc_find(s, pid) : NULL;
	const struct sym_range *r = NULL;
	GElf_Addr low = 0, high = 0;
	size_t g;

	/* the newest code first: older generations name what was unmapped */
	for (g = p ? p->ngens : 0; g-- > 0 && !r;) {
		r = gen_find(&p->gens[g], ip);
		if (r && (!r->mod || !r->mod->mod))
			r = NULL;
	}
	if (!r)
		return -ENOENT;
	dwfl_module_info(r->mod->mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	m->start = low + r->shift;
	m->limit = high + r->shift;
	m->file = r->mod->name;
	m->build_id = r->mod->build_id;
	return 0;
}

/* DWARF number of the stack pointer. */
#if defined(__x86_64__)
#define SP_REGNO 7
#elif defined(__aarch64__)
#define SP_REGNO 31
#endif

int symbolizer__cfa_offset(struct symbolizer *s, pid_t pid, uint64_t ip, int64_t *offset)
{
#ifdef SP_REGNO
	const struct sym_range *r = current_range(s, pid, ip);
	Dwfl_Module *mod = r && r->mod ? r->mod->mod : NULL;
	Dwarf_CFI *(*const tables[])(Dwfl_Module *, Dwarf_Addr *) = {
		dwfl_module_eh_cfi, dwfl_module_dwarf_cfi,
	};
	size_t i;

	/* .eh_frame first: it is in every x86-64 binary, .debug_frame is
	 * where some toolchains (Go) put theirs instead */
	for (i = 0; mod && i < sizeof(tables) / sizeof(tables[0]); i++) {
		Dwarf_Frame *frame = NULL;
		Dwarf_CFI *cfi;
		Dwarf_Addr bias;
		Dwarf_Op *ops;
		size_t nops;
		int found;

		cfi = tables[i](mod, &bias);
		if (!cfi || dwarf_cfi_addrframe(cfi, ip - r->shift - bias, &frame))
			continue;
		/* only "CFA = sp + N": a function that keeps a frame pointer
		 * is walked by the kernel already */
		found = !dwarf_frame_cfa(frame, &ops, &nops) && nops == 1 &&
			ops[0].atom == DW_OP_bregx && ops[0].number == SP_REGNO;
		if (found)
			*offset = (int64_t)ops[0].number2;
		free(frame);
		if (found)
			return 0;
	}
#endif
	return -ENOENT;
}
