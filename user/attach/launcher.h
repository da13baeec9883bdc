/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Start a command held before its first instruction: the child is forked
 * and waits on a pipe until its probes are live, then execs.
 */
#ifndef LW_LAUNCHER_H
#define LW_LAUNCHER_H

#include <sys/types.h>

struct held_child {
	pid_t pid;
	int go_fd;	/* write end: a byte lets the child exec */
	int err_fd;	/* read end: errno of a failed exec, EOF on success */
};

/* Fork a child that will exec argv (PATH searched) once released.
 * Returns 0 or -Exxx. */
int held_child_spawn(char *const argv[], struct held_child *c);

/* Let it exec.  Returns 0 once the exec succeeded, or the exec's -errno
 * (the child then exits with 127). */
int held_child_release(struct held_child *c);

/* Kill a child that was never released (setup failed) and reap it. */
void held_child_abort(struct held_child *c);

#endif /* LW_LAUNCHER_H */
