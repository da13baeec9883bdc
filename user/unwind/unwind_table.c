// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A file's CFI into unwind rows.  libdw reads the CFI (dwarf_getcfi_elf,
 * dwarf_cfi_addrframe); which addresses have CFI comes from the search
 * table of .eh_frame_hdr, which lists every FDE's start, sorted.  Each
 * FDE is then asked for its rule ranges one after the other, from its
 * start until libdw finds nothing or the next FDE begins.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "unwind_table.h"
#include "vec.h"

/* DWARF register numbers of x86-64 */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

struct rows {
	struct lw_urow *v;
	size_t n, cap;
};

static int rows_push(struct rows *r, const struct lw_urow *row)
{
	if (r->n) {
		struct lw_urow *last = &r->v[r->n - 1];

		/* the same rule goes on: one row */
		if (last->kind == row->kind && last->cfa_off == row->cfa_off &&
		    last->rbp_off == row->rbp_off && last->plt_cut == row->plt_cut)
			return 0;
		/* a range that starts where the last did replaces it */
		if (last->pc == row->pc) {
			*last = *row;
			return 0;
		}
	}
	if (lw_vec_reserve(r->v, r->cap, r->n + 1))
		return -ENOMEM;
	r->v[r->n++] = *row;
	return 0;
}

/* binutils' CFA of a 16-byte PLT entry: rsp + 8, plus 8 once the entry's
 * push has run: breg7 8; breg16 0; lit15; and; lit11; ge; lit3; shl; plus */
static bool plt_expr(const Dwarf_Op *ops, size_t n, struct lw_urow *row)
{
	if (n != 9 || ops[0].atom != DW_OP_breg7 || ops[1].atom != DW_OP_breg16 ||
	    ops[2].atom != DW_OP_lit15 || ops[3].atom != DW_OP_and ||
	    ops[4].atom < DW_OP_lit0 || ops[4].atom > DW_OP_lit15 ||
	    ops[5].atom != DW_OP_ge || ops[6].atom != DW_OP_lit3 ||
	    ops[7].atom != DW_OP_shl || ops[8].atom != DW_OP_plus)
		return false;
	row->kind = LW_UROW_PLT;
	row->cfa_off = (int32_t)ops[0].number;
	row->plt_cut = ops[4].atom - DW_OP_lit0;
	return true;
}

/* A register saved at CFA + off: its offset, or false for any other rule. */
static bool saved_at_cfa(const Dwarf_Op *ops, size_t n, int64_t *off)
{
	if (n < 1 || n > 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (n == 1) {
		*off = 0;
		return true;
	}
	if (ops[1].atom != DW_OP_plus_uconst)
		return false;
	*off = (int64_t)ops[1].number;
	return true;
}

/* The rules of frame as a row (kind NONE where the walker cannot follow). */
static void frame_row(Dwarf_Frame *frame, bool signal, struct lw_urow *row)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	int64_t off;

	row->kind = LW_UROW_NONE;
	if (signal) {
		row->kind = LW_UROW_SIGNAL;
		return;
	}
	if (dwarf_frame_register(frame, REG_RA, mem, &ops, &n))
		return;
	if (n == 0 && ops == mem) {	/* undefined: nothing called this */
		row->kind = LW_UROW_END;
		return;
	}
	if (!saved_at_cfa(ops, n, &off) || off != -8)
		return;
	if (dwarf_frame_cfa(frame, &ops, &n) || n == 0)
		return;
	if (n == 1 && ops[0].atom == DW_OP_bregx &&
	    (ops[0].number == REG_RSP || ops[0].number == REG_RBP)) {
		int64_t cfa = (int64_t)ops[0].number2;

		if (cfa < INT32_MIN || cfa > INT32_MAX)
			return;
		row->cfa_off = (int32_t)cfa;
		row->kind = ops[0].number == REG_RSP ? LW_UROW_RSP : LW_UROW_RBP;
	} else if (!plt_expr(ops, n, row)) {
		return;
	}
	/* rbp: saved at CFA + off, or kept (same value, unspecified); any
	 * other rule leaves it as it is, which the next frame may not trust */
	if (!dwarf_frame_register(frame, REG_RBP, mem, &ops, &n) && saved_at_cfa(ops, n, &off) &&
	    off < 0 && off >= INT16_MIN)
		row->rbp_off = (int16_t)off;
}

/* A decoded .eh_frame_hdr: the FDEs' initial locations, sorted. */
static int fde_starts(Elf *elf, const GElf_Phdr *hdr, uint64_t **out, size_t *nout)
{
	Elf_Data *d = elf_getdata_rawchunk(elf, hdr->p_offset, hdr->p_filesz, ELF_T_BYTE);
	const uint8_t *p;
	uint32_t count;
	uint64_t *v;
	size_t i;

	if (!d || d->d_size < 12)
		return -ENODATA;
	p = d->d_buf;
	/* version 1; eh_frame_ptr sdata4 or udata4 (any application);
	 * fde_count udata4; table datarel sdata4: what GNU ld and lld write */
	if (p[0] != 1 || (p[1] & 0x0f) == 0x0c || (p[1] & 0x0f) == 0x04 || p[2] != 0x03 ||
	    p[3] != 0x3b)
		return -ENODATA;
	memcpy(&count, p + 8, 4);
	if ((uint64_t)count * 8 > d->d_size - 12)
		return -ENODATA;
	v = malloc((count ? count : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		int32_t loc;

		memcpy(&loc, p + 12 + i * 8, 4);
		v[i] = hdr->p_vaddr + (int64_t)loc;
	}
	*out = v;
	*nout = count;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Rows of every FDE, in [base, base + size). */
static int compile(Dwarf_CFI *cfi, const uint64_t *starts, size_t nstarts,
		   struct unwind_table *t, struct rows *r)
{
	uint64_t lim = t->base + t->size;
	size_t i;
	int err;

	for (i = 0; i < nstarts; i++) {
		uint64_t addr = starts[i], next = i + 1 < nstarts ? starts[i + 1] : lim;
		struct lw_urow row = { 0 };

		if (addr < t->base || addr >= lim)
			continue;
		if (next > lim)
			next = lim;
		while (addr < next) {
			Dwarf_Frame *frame;
			Dwarf_Addr start, end;
			bool signal;

			if (dwarf_cfi_addrframe(cfi, addr, &frame))
				break;
			if (dwarf_frame_info(frame, &start, &end, &signal) < 0 || end <= addr) {
				free(frame);
				break;
			}
			row = (struct lw_urow){ .pc = (uint32_t)(addr - t->base) };
			frame_row(frame, signal, &row);
			free(frame);
			err = rows_push(r, &row);
			if (err)
				return err;
			addr = end;
		}
		/* no CFI from here to the next FDE */
		if (addr < next) {
			row = (struct lw_urow){ .pc = (uint32_t)(addr - t->base),
						.kind = LW_UROW_NONE };
			err = rows_push(r, &row);
			if (err)
				return err;
		}
	}
	return 0;
}

/* The GNU build ID from the notes of segment ph, into t; 0 or -ENOENT.
 * Read as bytes: libdw's reader leaks what it converts from some
 * malformed notes (found by tests/fuzz/fuzz_unwind.c). */
static int build_id(Elf *elf, const GElf_Phdr *ph, struct unwind_table *t)
{
	Elf_Data *d = elf_getdata_rawchunk(elf, ph->p_offset, ph->p_filesz, ELF_T_BYTE);
	const uint8_t *p, *end;

	if (!d)
		return -ENOENT;
	p = d->d_buf;
	end = p + d->d_size;
	while (end - p >= 12) {
		uint32_t namesz, descsz, type;
		size_t name_len, desc_len;

		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		p += 12;
		name_len = ((size_t)namesz + 3) & ~(size_t)3;
		desc_len = ((size_t)descsz + 3) & ~(size_t)3;
		if (name_len > (size_t)(end - p) || desc_len > (size_t)(end - p - name_len))
			break;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && !memcmp(p, "GNU", 4) && descsz &&
		    descsz <= sizeof(t->build_id)) {
			memcpy(t->build_id, p + name_len, descsz);
			t->build_id_len = descsz;
			return 0;
		}
		p += name_len + desc_len;
	}
	return -ENOENT;
}

/* For each page: the row covering its first byte, then those in it. */
static int index_pages(struct unwind_table *t)
{
	size_t p, k = 0;

	t->npages = t->size >> LW_UNWIND_PAGE_SHIFT;
	t->pages = calloc(t->npages ? t->npages : 1, sizeof(*t->pages));
	if (!t->pages)
		return -ENOMEM;
	for (p = 0; p < t->npages; p++) {
		uint64_t lo = (uint64_t)p << LW_UNWIND_PAGE_SHIFT, hi = lo + UNWIND_PAGE_SIZE;
		size_t first, end;

		while (k + 1 < t->nrows && t->rows[k + 1].pc <= lo)
			k++;
		first = k;
		end = first;
		while (end < t->nrows && t->rows[end].pc < hi)
			end++;
		t->pages[p].first = (uint32_t)first;
		t->pages[p].count = (uint32_t)(end - first);
	}
	return 0;
}

struct unwind_table *unwind_table__new(int fd)
{
	struct unwind_table *t = NULL;
	struct rows r = { 0 };
	uint64_t lo = UINT64_MAX, hi = 0, *starts = NULL;
	size_t nphdr = 0, nstarts = 0, i;
	GElf_Phdr ehdr_frame = { 0 }, segs[4], notes[4];
	size_t nsegs = 0, nnotes = 0;
	Dwarf_CFI *cfi;
	GElf_Ehdr ehdr;
	Elf *elf;
	int err = 0;

	elf_version(EV_CURRENT);
	/* mapped, as elfsym.c maps: libelf's reading mode copies string
	 * tables, and leaks them on some malformed files (found by
	 * tests/fuzz/fuzz_unwind.c) */
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr) ||
	    ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != EM_X86_64 ||
	    elf_getphdrnum(elf, &nphdr)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph))
			continue;
		if (ph.p_type == PT_GNU_EH_FRAME)
			ehdr_frame = ph;
		if (ph.p_type == PT_NOTE && nnotes < 4)
			notes[nnotes++] = ph;
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || !ph.p_memsz)
			continue;
		if (nsegs < 4)
			segs[nsegs++] = ph;
		if (ph.p_vaddr < lo)
			lo = ph.p_vaddr;
		if (ph.p_vaddr + ph.p_memsz > hi)
			hi = ph.p_vaddr + ph.p_memsz;
	}
	lo &= ~(uint64_t)(UNWIND_PAGE_SIZE - 1);
	hi = (hi + UNWIND_PAGE_SIZE - 1) & ~(uint64_t)(UNWIND_PAGE_SIZE - 1);
	/* rows hold 32-bit offsets */
	if (lo >= hi || hi - lo > UINT32_MAX) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (ehdr_frame.p_type != PT_GNU_EH_FRAME) {
		err = -ENODATA;
		goto cleanup;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto cleanup;
	}
	t->base = lo;
	t->size = hi - lo;
	for (i = 0; i < nsegs; i++)
		t->segs[i] = (struct unwind_seg){ segs[i].p_offset, segs[i].p_vaddr,
						  segs[i].p_filesz };
	t->nsegs = nsegs;
	for (i = 0; i < nnotes && build_id(elf, &notes[i], t); i++)
		;
	cfi = dwarf_getcfi_elf(elf);
	if (!cfi) {
		err = -ENODATA;
		goto cleanup;
	}
	err = fde_starts(elf, &ehdr_frame, &starts, &nstarts);
	if (!err) {
		/* sorted by the linker; checked, as the file is untrusted */
		for (i = 1; i < nstarts && starts[i - 1] <= starts[i]; i++)
			;
		if (i < nstarts)
			qsort(starts, nstarts, sizeof(*starts), cmp_u64);
		err = compile(cfi, starts, nstarts, t, &r);
	}
	dwarf_cfi_end(cfi);
	if (err)
		goto cleanup;
	t->rows = r.v;
	t->nrows = r.n;
	r.v = NULL;
	err = index_pages(t);
cleanup:
	free(starts);
	free(r.v);
	if (elf)
		elf_end(elf);
	if (err) {
		unwind_table__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

void unwind_table__free(struct unwind_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->pages);
	free(t);
}

const struct lw_urow *unwind_table__find(const struct unwind_table *t, uint64_t addr)
{
	const struct lw_upage *pg;
	uint64_t rel;
	size_t lo, hi;

	if (addr < t->base || addr - t->base >= t->size)
		return NULL;
	rel = addr - t->base;
	pg = &t->pages[rel >> LW_UNWIND_PAGE_SHIFT];
	if (!pg->count || t->rows[pg->first].pc > rel)
		return NULL;
	/* the last row at or before rel, as the BPF walker finds it */
	lo = pg->first;
	hi = pg->first + pg->count;
	while (lo + 1 < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->rows[mid].pc <= rel)
			lo = mid;
		else
			hi = mid;
	}
	return &t->rows[lo];
}

int unwind_seg_vaddr(const struct unwind_seg *segs, size_t n, uint64_t off, uint64_t *vaddr)
{
	size_t i;

	/* mappings start at page boundaries, segments need not */
	for (i = 0; i < n; i++) {
		uint64_t start = segs[i].offset & ~(uint64_t)(UNWIND_PAGE_SIZE - 1);

		if (off >= start && off < segs[i].offset + segs[i].filesz) {
			*vaddr = segs[i].vaddr - (segs[i].offset - off);
			return 0;
		}
	}
	return -ENOENT;
}

size_t unwind_table__bytes(const struct unwind_table *t)
{
	return t->nrows * sizeof(*t->rows) + t->npages * sizeof(*t->pages);
}
