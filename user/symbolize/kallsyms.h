/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel addresses to function names, from /proc/kallsyms (--kernel).
 *
 * Only text symbols (t, T, w, W) are kept: a kernel stack holds code
 * addresses.  A symbol spans up to the next one; the last one of the
 * kernel or of a module, whose end is unknown, spans 64 KiB at most.  Module symbols carry their module's name ("[nf_tables]" in
 * the file, "nf_tables" here); the kernel's own are "[kernel]".
 *
 * The table is read once: modules loaded later resolve as unknown.  Plain
 * C, no libbpf: the parser is unit-tested on text.
 */
#ifndef LW_KALLSYMS_H
#define LW_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kallsyms;

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module;	/* "[kernel]" or the module's name */
};

/* Read /proc/kallsyms.  NULL + errno: EPERM when every address reads as
 * 0 (kptr_restrict, or not root), ENOENT when there is no such file. */
struct kallsyms *kallsyms__load(void);
/* Parse text in the format of /proc/kallsyms from f; errors as above
 * (ENOENT: no text symbol at all).  Malformed lines are skipped. */
struct kallsyms *kallsyms__parse(FILE *f);
void kallsyms__free(struct kallsyms *k);	/* accepts NULL */

size_t kallsyms__count(const struct kallsyms *k);

/*
 * The function containing addr: the symbol with the greatest address at
 * or below it.  Returns it with *offset = addr - its address, or NULL
 * when addr is below the first symbol.  For a return address, pass
 * addr - 1 and add 1 to the offset: a call that ends a function returns
 * to the start of the next one.
 */
const struct ksym *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *offset);

#endif /* LW_KALLSYMS_H */
