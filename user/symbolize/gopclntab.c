// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <gelf.h>
#include <string.h>

#include "gopclntab.h"

/* runtime.pcHeader (Go 1.18+), with 8-byte pointers. */
#define HDR_SIZE 72
#define HDR_NFUNC 8
#define HDR_TEXT 24
#define HDR_FUNCNAME 32
#define HDR_PCLN 64
#define MAGIC_118 0xfffffff0u
#define MAGIC_120 0xfffffff1u

static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t u64(const unsigned char *p)
{
	return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

/* The section named name: its data and its address (NULL: none). */
static Elf_Data *section(Elf *elf, const char *name, uint64_t *addr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			*addr = sh.sh_addr;
			return elf_getdata(scn, NULL);
		}
	}
	return NULL;
}

int gopclntab_function(Elf *elf, uint64_t addr, const char **name)
{
	const unsigned char *t;
	uint64_t text, nfunc, names, pcln, size, lo, hi, off, func, nameoff;
	Elf_Data *d, *tx;
	uint32_t magic;

	d = section(elf, ".gopclntab", &off);
	if (!d || !d->d_buf)
		return -ENOENT;
	t = d->d_buf;
	size = d->d_size;
	if (size < HDR_SIZE)
		return -EINVAL;
	magic = u32(t);
	if ((magic != MAGIC_118 && magic != MAGIC_120) || t[7] != 8)
		return -EINVAL;
	/* where Go's text starts (runtime.text): after the C start-up code
	 * when a C linker linked it; a position-independent executable may
	 * leave it to a relocation, and then its text starts the section */
	text = u64(t + HDR_TEXT);
	if (!text && !(tx = section(elf, ".text", &text)))
		return -ENOENT;
	nfunc = u64(t + HDR_NFUNC);
	names = u64(t + HDR_FUNCNAME);
	pcln = u64(t + HDR_PCLN);
	/* functab: nfunc + 1 pairs of (entry offset from text, _func offset
	 * from pcln), sorted by entry; the last entry is the end of text */
	if (pcln > size || nfunc >= (size - pcln) / 8 || names > size || addr < text)
		return -EINVAL;
	addr -= text;
	if (!nfunc || addr < u32(t + pcln) || addr >= u32(t + pcln + nfunc * 8))
		return -ENOENT;
	lo = 0;
	hi = nfunc;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (u32(t + pcln + mid * 8) <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* _func: entryOff uint32, nameOff int32, ... */
	func = pcln + u32(t + pcln + lo * 8 + 4);
	if (func > size - 8)
		return -EINVAL;
	nameoff = names + u32(t + func + 4);
	if (nameoff >= size || !memchr(t + nameoff, '\0', size - nameoff))
		return -EINVAL;
	*name = (const char *)t + nameoff;
	return 0;
}
