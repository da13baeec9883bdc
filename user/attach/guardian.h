/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The guardian: a small process, forked from leakwatch once its BPF maps
 * exist, that outlives it.  When leakwatch ends, however it ends (SIGKILL,
 * the OOM killer, a crash), the guardian sets lw_holds_off, so that no
 * program stops another process, and continues (SIGCONT) every process
 * that the lw_held map still counts as held, until none is left.  So no
 * process is left stopped by a leakwatch that cannot continue it.
 */
#ifndef LW_GUARDIAN_H
#define LW_GUARDIAN_H

#include <stdint.h>

struct guardian;

/* Fork the guardian; held_fd is the lw_held map, holds_off the flag in
 * the BPF programs' .bss (shared memory: the guardian keeps the mapping).
 * Call while leakwatch has one thread.  NULL + errno on failure. */
struct guardian *guardian__start(int held_fd, volatile uint32_t *holds_off);

/* Leakwatch is ending normally: let the guardian make its last sweep and
 * reap it.  Accepts NULL. */
void guardian__stop(struct guardian *g);

#endif /* LW_GUARDIAN_H */
