/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Function symbols of an ELF file, for placing uprobes: name -> virtual
 * address, size and file offset (what the kernel's uprobe API takes).
 */
#ifndef LW_ELFSYM_H
#define LW_ELFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_func {
	uint64_t vaddr;
	uint64_t size;
	uint64_t file_offset;
};

struct elf_file;

/* Open path; NULL + errno on failure (ENOEXEC: not a usable ELF). */
struct elf_file *elf_file__open(const char *path);
void elf_file__close(struct elf_file *ef);	/* accepts NULL */

/* Look name up in .dynsym, then .symtab; versioned names ("malloc@@GLIBC_2.2.5")
 * match their base name, the default version first.  0 or -ENOENT. */
int elf_file__find_func(struct elf_file *ef, const char *name, struct elf_func *out);

/* Copy up to len bytes of code at file offset off into buf; returns the
 * number of bytes copied or -Exxx. */
int elf_file__read(struct elf_file *ef, uint64_t off, void *buf, size_t len);

/* The i-th library the file names in DT_NEEDED (from 0), or NULL past the
 * last one; the string lives as long as ef. */
const char *elf_file__needed(struct elf_file *ef, size_t i);

/* The file has an interpreter (PT_INTERP): it is dynamically linked. */
bool elf_file__is_dynamic(const struct elf_file *ef);

/* The file was built by Go's linker: it has Go's build ID note or build
 * information section, which stripping keeps. */
bool elf_file__is_go(const struct elf_file *ef);

#endif /* LW_ELFSYM_H */
