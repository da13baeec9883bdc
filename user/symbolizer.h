/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Turns user-space addresses of traced processes into frames (function +
 * offset, file:line, module, inline chain, demangled C++ names) with
 * elfutils libdwfl.
 *
 * A process is registered while it is alive (symbolizer__add_process); its
 * module list is taken from /proc/PID/maps and each module's ELF is opened
 * through /proc/PID/root (so binaries in containers resolve) and kept, so
 * the process can be symbolized after it exited.  symbolizer__note_stack
 * is called when a stack is first seen: if an address falls outside known
 * modules (dlopen after attach) the module list is refreshed right away,
 * while the process is still there.  Resolution itself is lazy (only
 * stacks that appear in a report) and cached per (pid, address).
 *
 * Separate debug info is looked up lazily, on first use, by libdwfl's
 * standard search (build-id under /usr/lib/debug, .gnu_debuglink; and
 * debuginfod when DEBUGINFOD_URLS is set).  Not thread-safe: one thread
 * uses a symbolizer at a time.
 */
#ifndef LW_SYMBOLIZER_H
#define LW_SYMBOLIZER_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

struct sym_frame {
	uint64_t address;	/* the address as captured (not adjusted) */
	const char *function;	/* demangled; NULL when unknown */
	uint64_t offset;	/* address - function start (0 when unknown and
				 * on inlined frames) */
	const char *file;	/* source file; NULL when no line info */
	int line;		/* 0 when no line info */
	const char *module;	/* path of the ELF file; NULL when unknown */
	bool inlined;		/* this function was inlined into the next frame */
};

struct symbolizer *symbolizer__new(void);	/* NULL + errno on failure */
void symbolizer__free(struct symbolizer *s);	/* accepts NULL */

/* Take pid's module list now (for a known pid: add the modules mapped
 * since; known ones stay).  Returns 0 or -Exxx (-ENOENT: no process,
 * -EACCES: its /proc files are not readable, -EIO: libdwfl failed). */
int symbolizer__add_process(struct symbolizer *s, pid_t pid);

/* A child pid just forked from parent, which is known: it resolves
 * through the parent's modules (the same at the same addresses), without
 * reading /proc/PID of the child, which may be gone already, and without
 * files of its own, so thousands of children cost one set.  They stay
 * its own even when the parent execs or is forgotten; symbolizer__add_process
 * gives the child modules of its own.  Returns 0 or -Exxx (-ENOENT:
 * parent unknown). */
int symbolizer__add_fork(struct symbolizer *s, pid_t pid, pid_t parent);

/* Offline use (tests, postmortems): add to pid's modules the ELF file at
 * path loaded at base (as in /proc/PID/maps: address of file offset 0);
 * call once per module.  path is also the module's name in frames.
 * Returns 0 or -Exxx (-EINVAL: not ELF, or overlapping a known module). */
int symbolizer__add_elf(struct symbolizer *s, pid_t pid, const char *path,
			uint64_t base);

/* Forget pid (it exec'd, or its pid is reused): its modules and cached
 * frames are dropped. */
void symbolizer__forget_process(struct symbolizer *s, pid_t pid);

/* A stack of pid was seen for the first time: make sure its modules are
 * known while the process is alive (an unknown pid is added; an address
 * outside known modules refreshes the list, at most once per call).
 * Best effort; never fails. */
void symbolizer__note_stack(struct symbolizer *s, pid_t pid,
			    const uint64_t *ips, size_t n);

/*
 * Resolve address ip of pid.  is_return_address: ip was pushed by a call
 * (every frame of a captured stack here), so line info is looked up at
 * ip - 1.  Fills *frames with the chain innermost first: inlined callees
 * (inlined = true) then the function that contains them; at least one
 * frame, with NULL fields when nothing is known.  The frames belong to
 * the symbolizer and stay valid until pid is forgotten or the symbolizer
 * is freed; their strings until the symbolizer is freed.  A pid never
 * added is added now if it is running; if not, its frames are unknown.
 * Returns the number of frames (>= 1) or -Exxx (-EINVAL, -ENOMEM).
 */
int symbolizer__resolve(struct symbolizer *s, pid_t pid, uint64_t ip,
			bool is_return_address, const struct sym_frame **frames);

/* The module (ELF path) holding ip in pid, or NULL; no debug info is
 * loaded.  Valid while the symbolizer lives. */
const char *symbolizer__module(struct symbolizer *s, pid_t pid, uint64_t ip);

/* The ELF file of the module holding ip in pid (not its debug file), and
 * the module's load bias (runtime address - address as linked).  *elf is
 * valid while the symbolizer lives.  0, or -ENOENT. */
int symbolizer__module_elf(struct symbolizer *s, pid_t pid, uint64_t ip, Elf **elf,
			   uint64_t *bias);

/* The module holding ip in pid as mapped: [start, limit) from file offset
 * 0 on (libdwfl's module bounds, from /proc/PID/maps), and its GNU build
 * ID in hex (NULL when it has none).  Strings live as long as the
 * symbolizer.  Returns 0, or -ENOENT when no known module holds ip. */
struct sym_mapping {
	uint64_t start;
	uint64_t limit;
	const char *file;
	const char *build_id;
};
int symbolizer__mapping(struct symbolizer *s, pid_t pid, uint64_t ip, struct sym_mapping *m);

/*
 * Where the frame executing at ip (a current pc, not a return address)
 * has its canonical frame address, from its module's CFI (.eh_frame, else
 * .debug_frame): CFA = sp + *offset.  The return address is then just below
 * the CFA: how the caller of a function without frame pointer is found.
 * Returns 0, or -ENOENT when no CFI covers ip or its CFA is not of that
 * form (a frame-pointer function, which needs no help).
 */
int symbolizer__cfa_offset(struct symbolizer *s, pid_t pid, uint64_t ip, int64_t *offset);

#endif /* LW_SYMBOLIZER_H */
