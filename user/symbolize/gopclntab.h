/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Function names of a Go binary from its .gopclntab, the table the Go
 * runtime itself uses for tracebacks: it is there in every Go executable,
 * stripped ones included (strip removes .symtab, which is where other
 * tools find Go's function names).  Go 1.18 and later (the table's magic
 * 0xfffffff0 and 0xfffffff1), 64-bit little-endian.  The table is
 * untrusted input: every offset is checked against the section.
 */
#ifndef LW_GOPCLNTAB_H
#define LW_GOPCLNTAB_H

#include <libelf.h>
#include <stdint.h>

/*
 * The name of the Go function containing addr, an address as linked (the
 * runtime address minus the module's load bias).  *name points into elf's
 * data, valid while elf is.  Returns 0, -ENOENT (no .gopclntab, or no
 * function there) or -EINVAL (a table this code does not read).
 */
int gopclntab_function(Elf *elf, uint64_t addr, const char **name);

#endif /* LW_GOPCLNTAB_H */
