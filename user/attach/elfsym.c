// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsym.h"
#include "log.h"

struct elf_file {
	int fd;
	Elf *elf;
	size_t size;		/* of the file when opened */
	bool dynamic;
};

struct elf_file *elf_file__open(const char *path)
{
	struct elf_file *ef;
	struct stat st;
	size_t nphdr, i;
	int err;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = ENOTSUP;
		return NULL;
	}
	ef = calloc(1, sizeof(*ef));
	if (!ef)
		return NULL;
	ef->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ef->fd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (fstat(ef->fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	ef->size = (size_t)st.st_size;
	/*
	 * Read, not mapped: these are other processes' files, and one whose
	 * owner truncates it under a mapping would kill leakwatch with SIGBUS.
	 */
	ef->elf = elf_begin(ef->fd, ELF_C_READ, NULL);
	if (!ef->elf || elf_kind(ef->elf) != ELF_K_ELF || elf_getphdrnum(ef->elf, &nphdr)) {
		lw_debug("%s: not an ELF file: %s\n", path, elf_errmsg(-1));
		err = -ENOEXEC;
		goto cleanup;
	}
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(ef->elf, i, &ph) && ph.p_type == PT_INTERP)
			ef->dynamic = true;
	}
	return ef;

cleanup:
	elf_file__close(ef);
	errno = -err;
	return NULL;
}

void elf_file__close(struct elf_file *ef)
{
	if (!ef)
		return;
	if (ef->elf)
		elf_end(ef->elf);
	if (ef->fd >= 0)
		close(ef->fd);
	free(ef);
}

bool elf_file__is_dynamic(const struct elf_file *ef)
{
	return ef->dynamic;
}

bool elf_file__is_go(const struct elf_file *ef)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(ef->elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(ef->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(ef->elf, shstrndx, sh.sh_name);
		if (name && (!strcmp(name, ".note.go.buildid") || !strcmp(name, ".go.buildinfo")))
			return true;
	}
	return false;
}

/* Virtual address -> file offset, through the PT_LOAD segment holding it. */
static int vaddr_to_offset(Elf *elf, uint64_t vaddr, uint64_t *off)
{
	size_t nphdr, i;

	if (elf_getphdrnum(elf, &nphdr))
		return -ENOEXEC;
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* "malloc@@GLIBC_2.2.5" matches "malloc"; returns 2 for a default version
 * (@@) or an unversioned name, 1 for a hidden version (@), 0 otherwise. */
static int name_match(const char *sym, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(sym, name, n))
		return 0;
	if (!sym[n] || !strncmp(sym + n, "@@", 2))
		return 2;
	return sym[n] == '@' ? 1 : 0;
}

static int find_in_section(Elf *elf, Elf_Scn *scn, const char *name, struct elf_func *out)
{
	GElf_Shdr sh;
	Elf_Data *data;
	size_t i, n;
	int best = 0;

	if (!gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return -ENOENT;
	data = elf_getdata(scn, NULL);
	if (!data)
		return -ENOENT;
	n = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *sname;
		int m;

		if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		sname = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!sname)
			continue;
		m = name_match(sname, name);
		if (m <= best)
			continue;
		if (vaddr_to_offset(elf, sym.st_value, &out->file_offset))
			continue;
		out->vaddr = sym.st_value;
		out->size = sym.st_size;
		best = m;
		if (best == 2)
			break;
	}
	return best ? 0 : -ENOENT;
}

int elf_file__find_func(struct elf_file *ef, const char *name, struct elf_func *out)
{
	static const Elf64_Word order[] = { SHT_DYNSYM, SHT_SYMTAB };
	size_t k;

	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(ef->elf, scn))) {
			GElf_Shdr sh;

			if (gelf_getshdr(scn, &sh) && sh.sh_type == order[k] &&
			    !find_in_section(ef->elf, scn, name, out))
				return 0;
		}
	}
	return -ENOENT;
}

/*
 * Code is read from the file, never from a mapping of it: a uprobe that any
 * tool (another leakwatch among them) registers on this file is written
 * into every mapping of it that may execute, and a probe site chosen from a
 * breakpoint byte would be wrong.  The page cache holds the bytes as they
 * are on disk.
 */
int elf_file__read(struct elf_file *ef, uint64_t off, void *buf, size_t len)
{
	ssize_t n;

	if (off >= ef->size)
		return -ERANGE;
	if (len > ef->size - off)
		len = ef->size - off;
	do
		n = pread(ef->fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (int)n;
}

const char *elf_file__needed(struct elf_file *ef, size_t i)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(ef->elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;
		size_t k, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			return NULL;
		n = sh.sh_size / sh.sh_entsize;
		for (k = 0; k < n; k++) {
			GElf_Dyn dyn;

			if (!gelf_getdyn(data, k, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag == DT_NEEDED && !i--)
				return elf_strptr(ef->elf, sh.sh_link, dyn.d_un.d_val);
		}
		return NULL;
	}
	return NULL;
}
