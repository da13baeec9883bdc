/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Work that blocks, done in order on a thread of its own.  Removing a
 * probe link waits for a kernel grace period (~80 ms, serialized): the
 * links of a process that exited go this way, so that the event loop
 * never waits for them while records come in.
 */
#ifndef LW_REAPER_H
#define LW_REAPER_H

#include <stddef.h>

struct reaper;

/* fn(item) does the work and frees the item.  The thread starts with the
 * first item given.  NULL + errno. */
struct reaper *reaper__new(void (*fn)(void *item));

/* Queue item.  0, or -errno (no memory, no thread): not taken, and the
 * caller does the work itself. */
int reaper__give(struct reaper *r, void *item);

/* Items given and not done yet. */
size_t reaper__pending(struct reaper *r);

/* Wait until every item given is done. */
void reaper__drain(struct reaper *r);

/* Drain, end the thread and free r.  Accepts NULL. */
void reaper__free(struct reaper *r);

#endif /* LW_REAPER_H */
