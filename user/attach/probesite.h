/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Choose where an entry uprobe goes.  The kernel emulates a few x86
 * instructions under a breakpoint (push, jmp, call, jcc, nop: ~0.5 us a
 * hit) and single-steps every other one (~16 us here).  glibc's free
 * starts with `test %rdi,%rdi`, so probing it at entry costs 30x more
 * than probing the `je` right after, where rdi is unchanged.
 *
 * The probe moves past leading instructions only while everything skipped
 * leaves the argument registers, the stack pointer, memory and control flow
 * as they were (it may only write flags: test, cmp, endbr64); it stops at
 * the first instruction the kernel emulates.  Otherwise it stays at entry.
 * Decoding uses capstone, a maintained decoder: a hand-written length
 * decoder would have to get every prefix and ModRM form right.
 */
#ifndef LW_PROBESITE_H
#define LW_PROBESITE_H

#include <stddef.h>
#include <stdint.h>

#include "elfsym.h"

/* Offset into the code bytes where the probe should go (0: entry). */
size_t probe_site_in_code(const uint8_t *code, size_t len);

/* File offset for func's entry probe. */
uint64_t probe_site_choose(struct elf_file *ef, const struct elf_func *func);

#endif /* LW_PROBESITE_H */
