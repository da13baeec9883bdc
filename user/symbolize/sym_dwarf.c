// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One address of a module to its frames: the function (symbol table or
 * DWARF), its file:line, and the chain of inlined calls at that address
 * (dwarf_getscopes), through an index of the module's compilation units.
 */
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>

#include "perfmap.h"
#include "vec.h"
#include "symbolizer_int.h"

/* Name of a function DIE: the linkage name when there is one (it demangles
 * to the qualified C++ name with its parameter types), from the abstract
 * origin or declaration of inlined and out-of-class definitions. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	return name;
}

/* The source position an inlined_subroutine DIE was inlined at. */
static void call_site(Dwarf_Die *inlined, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word val;
	Dwarf_Die cu;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (!dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &val))
		*line = (int)val;
	if (!dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &val) &&
	    dwarf_diecu(inlined, &cu, NULL, NULL) &&
	    !dwarf_getsrcfiles(&cu, &files, &nfiles) && val < nfiles)
		*file = dwarf_filesrc(files, val, NULL, NULL);
}

/*
 * The function scopes (innermost first) at lookup, from the concrete DIE
 * tree: dwarf_getscopes finds the innermost scope, but above an inlined
 * instance it continues with the scopes of the abstract definition, so the
 * chain is rebuilt from the innermost DIE with dwarf_getscopes_die (as
 * eu-addr2line -i does).  *scopes is malloc'd; returns the count or -1.
 */
static int function_scopes(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes)
{
	Dwarf_Die *all = NULL, inner;
	int n, i, nfunc = 0;

	*scopes = NULL;
	n = dwarf_getscopes(cudie, pc, &all);
	if (n <= 0)
		return n;
	inner = all[0];
	free(all);
	all = NULL;
	n = dwarf_getscopes_die(&inner, &all);
	if (n <= 0)
		return n;
	for (i = 0; i < n; i++) {
		int tag = dwarf_tag(&all[i]);

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram &&
		    tag != DW_TAG_entry_point)
			continue;
		all[nfunc++] = all[i];
		/* The out-of-line function that everything was inlined into. */
		if (tag != DW_TAG_inlined_subroutine)
			break;
	}
	*scopes = all;
	return nfunc;
}

static int set_frame(struct symbolizer *s, struct sym_frame *f, const char *function,
		     const char *file)
{
	int err;

	err = intern_function(s, function, &f->function);
	if (!err)
		err = intern(s, file, &f->file);
	return err;
}

static int cmp_cu_range(const void *pa, const void *pb)
{
	const struct cu_range *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Every CU's address ranges, from its own DW_AT_ranges or low/high_pc. */
static void build_cu_index(struct sym_module *m, Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	size_t cap = 0;

	m->cus_built = true;
	while (!dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL)) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			if (lw_vec_reserve(m->cus, cap, m->ncus + 1))
				goto out;
			m->cus[m->ncus++] = (struct cu_range){ lo, hi, dwarf_dieoffset(&cudie) };
		}
	}
out:
	if (m->ncus)
		qsort(m->cus, m->ncus, sizeof(*m->cus), cmp_cu_range);
}

/*
 * The CU holding addr (an address of the process) and the bias of its
 * DWARF.  libdwfl finds CUs through .debug_aranges; Go's linker writes
 * none, so libdw (0.188) finds no CU for a Go address, or, in a cgo binary
 * whose C objects have aranges, a C file's CU (every Go frame in
 * gcc_mmap.c).  Then the CU is looked up by its own ranges.
 */
static Dwarf_Die *module_cu(struct sym_module *m, Dwarf_Addr addr, Dwarf_Addr *bias,
			    Dwarf_Die *buf)
{
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, bias);
	size_t lo = 0, hi;
	Dwarf *dw;

	if (cu && dwarf_haspc(cu, addr - *bias) > 0)
		return cu;
	dw = dwfl_module_getdwarf(m->mod, bias);
	if (!dw)
		return NULL;
	if (!m->cus_built)
		build_cu_index(m, dw);
	hi = m->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->cus[mid].lo <= addr - *bias)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - *bias >= m->cus[lo - 1].hi)
		return NULL;
	return dwarf_offdie(dw, m->cus[lo - 1].die, buf);
}

/* Where one address of a process lies, before it becomes frames. */
struct sym_where {
	/* ip: the process's address; lookup, mip: the module's */
	uint64_t ip, lookup, mip;
	const char *sym, *src, *modname, *build_id;
	uint64_t sym_start;	/* of sym, when it is from the perf map */
	GElf_Off sym_off;	/* lookup's offset in sym */
	Dwfl_Module *mod;	/* NULL: no module libdwfl could read */
	Dwarf_Die *scopes;	/* malloc'd: the scopes at lookup, innermost first */
	int nscopes, line;
	Dwarf_Addr bias, elf_bias;
	bool from_perf_map;
};

/* w->ip in generation g of p: its module, symbol, line and scopes, or the
 * JIT symbol of the process's perf map. */
static void locate(struct sym_proc *p, unsigned int g, struct sym_where *w)
{
	const struct sym_range *r = NULL;

	if (p->ngens && g < p->ngens)
		r = gen_find_return(&p->gens[g], w->ip);
	if (r) {
		w->modname = r->name;
		if (r->mod) {
			w->mod = r->mod->mod;
			w->build_id = r->mod->build_id;
			w->lookup -= r->shift;
			w->mip -= r->shift;
		}
	}
	if (w->mod) {
		Dwarf_Die *cudie, cubuf;
		GElf_Sym elfsym;

		dwfl_module_getelf(w->mod, &w->elf_bias);
		w->sym = dwfl_module_addrinfo(w->mod, w->lookup, &w->sym_off, &elfsym, NULL, NULL,
					      NULL);
		cudie = module_cu(r->mod, w->lookup, &w->bias, &cubuf);
		if (cudie) {
			Dwarf_Line *dl = dwarf_getsrc_die(cudie, w->lookup - w->bias);

			if (dl) {
				w->src = dwarf_linesrc(dl, NULL, NULL);
				if (dwarf_lineno(dl, &w->line))
					w->line = 0;
			}
			w->nscopes = function_scopes(cudie, w->lookup - w->bias, &w->scopes);
			if (w->nscopes < 0)
				w->nscopes = 0;
		}
	} else if (r && !r->mod && !r->name) {
		/* anonymous code: JIT, named by the process's perf map */
		const struct perf_sym *ps = p->jit ? perf_map__find(p->jit, w->lookup) : NULL;

		if (ps) {
			w->sym = ps->name;
			w->sym_start = ps->start;
			w->from_perf_map = true;
			w->modname = "[jit]";
		}
	}
}

/* Frame i of nframes at w: the inlined instances innermost first, then the
 * function that contains them. */
static int fill_frame(struct symbolizer *s, const struct sym_where *w, int i, int nframes,
		      struct sym_frame *f)
{
	const char *function = NULL, *file = w->src;
	int fline = w->line, err;

	f->address = w->ip;
	f->build_id = w->build_id;
	if (w->mod) {
		f->module_offset = w->mip - w->elf_bias;
		f->has_module_offset = true;
	}
	if (i > 0)
		/* called from where the inner instance was inlined */
		call_site(&w->scopes[i - 1], &file, &fline);
	f->line = fline;
	if (i < nframes - 1) {
		/* Where an inlined instance begins says little; leave 0. */
		function = die_name(&w->scopes[i]);
		f->inlined = true;
	} else if (w->from_perf_map) {
		function = w->sym;
		f->offset = w->ip - w->sym_start;
	} else if (w->sym) {
		/* The symbol table names what the code was linked as
		 * (e.g. "foo.cold"); offset from the original ip. */
		function = w->sym;
		f->offset = w->sym_off + (w->mip - w->lookup);
	} else if (i < w->nscopes) {
		Dwarf_Addr low;

		function = die_name(&w->scopes[i]);
		if (function && !dwarf_lowpc(&w->scopes[i], &low))
			f->offset = w->mip - (low + w->bias);
	}
	err = set_frame(s, f, function, file);
	return err ?: intern(s, w->modname, &f->module);
}

/* Resolve ip in generation g of p into a new cache entry. */
int symbolize(struct symbolizer *s, struct sym_proc *p, unsigned int g, uint64_t ip,
	      bool is_return_address, struct cache_entry **out)
{
	struct sym_where w = {
		.ip = ip, .lookup = is_return_address && ip ? ip - 1 : ip, .mip = ip,
	};
	struct cache_entry *e = NULL;
	int nframes, i, err = 0;

	locate(p, g, &w);
	/* One frame per inlined instance, plus the function containing them. */
	nframes = 1;
	while (nframes - 1 < w.nscopes &&
	       dwarf_tag(&w.scopes[nframes - 1]) == DW_TAG_inlined_subroutine)
		nframes++;
	e = calloc(1, sizeof(*e) + nframes * sizeof(e->frames[0]));
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	e->ip = ip;
	e->is_return_address = is_return_address;
	e->gen = g;
	e->epoch = p->epoch;
	e->n = nframes;
	for (i = 0; i < nframes; i++) {
		err = fill_frame(s, &w, i, nframes, &e->frames[i]);
		if (err)
			goto cleanup;
	}
	*out = e;
	e = NULL;
cleanup:
	free(w.scopes);
	free(e);
	return err;
}
