/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User stacks by id.  Ids below the kernel stack table's size are the
 * kernel's: their frames are copied out the first time an id is seen, so
 * reports need no BPF map access.  Stacks the kernel table refused arrive
 * inline and get ids above that range, one per distinct stack.
 */
#ifndef LW_STACKSTORE_H
#define LW_STACKSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stackstore;

/* kernel_ids: size of the kernel's stack table.  NULL + errno. */
struct stackstore *stackstore__new(size_t kernel_ids);
void stackstore__free(struct stackstore *s);		/* accepts NULL */

/* Store the frames of kernel id (replacing what was there): 0 or -Exxx. */
int stackstore__put(struct stackstore *s, int32_t id, const uint64_t *ips, size_t n);
/* The id of an inline stack: the same frames always get the same id.
 * Returns the id (>= kernel_ids) or -Exxx. */
int32_t stackstore__intern(struct stackstore *s, const uint64_t *ips, size_t n);
/* Frames of id: number of frames (*ips set), or -ENOENT. */
int stackstore__get(const struct stackstore *s, int32_t id, const uint64_t **ips);

/* Stacks the BPF walker names (bpf/unwind.bpf.h): its id key now stands
 * for stack id (from stackstore__intern).  0, -ERANGE (no such id) or
 * -ENOMEM. */
int stackstore__name(struct stackstore *s, uint32_t key, int32_t id);
/* The stack id the walker's key stands for, or -ENOENT. */
int32_t stackstore__named(const struct stackstore *s, uint32_t key);

/* The walk of stack id stopped at LW_MAX_STACK_DEPTH frames: its outer
 * frames are missing. */
void stackstore__set_truncated(struct stackstore *s, int32_t id);
bool stackstore__truncated(const struct stackstore *s, int32_t id);

/* Bytes of memory the store uses. */
size_t stackstore__footprint(const struct stackstore *s);
/* How many of the kernel's stack ids have been seen (each stays claimed
 * in the kernel's table for good), of *cap. */
size_t stackstore__kernel_ids_used(const struct stackstore *s, size_t *cap);

/* True the first time id is seen for pid since another pid used it; the
 * caller then makes sure pid's modules cover the stack (dlopen). */
bool stackstore__first_for(struct stackstore *s, int32_t id, pid_t pid);

/*
 * Inline stacks outlive the processes that took them: with every process
 * having its own addresses (ASLR), a long run would keep each stack it
 * ever saw.  Mark every id still in use (stackstore__mark), then sweep:
 * the inline stacks left unmarked go.  A swept id is free: stackstore__get
 * says -ENOENT until stackstore__intern gives it to another stack, so
 * whoever keeps ids beyond the marked ones must drop the free ones after a
 * sweep (symbolizer__forget_keys).  Sweeping clears the marks; returns how
 * many went.
 *
 * Stacks the walker names are kept while it may send their key alone: its
 * table of claims is as big as the kernel's stack table and never empties
 * by itself, so a long run would fill it with the stacks of processes long
 * gone, and every new stack would then travel with its frames.  With sw,
 * a named stack left unmarked has its keys' claims dropped (sw->unclaim:
 * its next record defines it again), and goes at a later sweep, once two
 * drains of the ring have started since (every record that named it alone
 * has been read).  NULL sw: named stacks stay.
 */
struct stackstore_sweep {
	uint64_t now;		/* drains of the ring started so far */
	uint64_t drained;	/* the last drain that read the ring to its end */
	/* 0, or -Exxx: the claim stays, and so does the stack */
	int (*unclaim)(uint32_t key, void *ctx);
	void *ctx;
};

void stackstore__mark(struct stackstore *s, int32_t id);
size_t stackstore__sweep(struct stackstore *s, const struct stackstore_sweep *sw);
/* Walker keys that name a stack now. */
size_t stackstore__named_count(const struct stackstore *s);
/* Whether id is an inline stack's that a sweep freed (and not given out
 * again since). */
bool stackstore__is_free(const struct stackstore *s, int32_t id);

#endif /* LW_STACKSTORE_H */
