/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User stacks by kernel stack id, copied out of the kernel's stack table
 * the first time an id is seen, so reports need no BPF map access.
 */
#ifndef LW_STACKSTORE_H
#define LW_STACKSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stackstore;

struct stackstore *stackstore__new(size_t max_ids);	/* NULL + errno */
void stackstore__free(struct stackstore *s);		/* accepts NULL */

/* Store the frames of id (replacing what was there): 0 or -Exxx. */
int stackstore__put(struct stackstore *s, int32_t id, const uint64_t *ips, size_t n);
/* Frames of id: number of frames (*ips set), or -ENOENT. */
int stackstore__get(const struct stackstore *s, int32_t id, const uint64_t **ips);

/* True the first time id is seen for pid since another pid used it; the
 * caller then makes sure pid's modules cover the stack (dlopen). */
bool stackstore__first_for(struct stackstore *s, int32_t id, pid_t pid);

#endif /* LW_STACKSTORE_H */
