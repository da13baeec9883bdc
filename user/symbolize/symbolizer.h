/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Turns user-space addresses of traced processes into frames (function +
 * offset, file:line, module, inline chain, demangled C++ names) with
 * elfutils libdwfl.
 *
 * A process is registered while it is alive (symbolizer__add_process); its
 * executable mappings are taken from /proc/PID/maps and each mapped ELF
 * file is opened at once, through /proc/PID/map_files (so deleted and
 * replaced binaries, and binaries in containers, resolve) and kept, so the
 * process can be symbolized after it exited.
 *
 * Module generations: what is mapped at an address changes (dlclose, then
 * another library at the same place).  When a new look at the maps finds
 * an executable mapping that conflicts with a known one, the process gets
 * a new generation of its module list; the old one stays.  A stack noted
 * with a key (symbolizer__note_stack) is bound to the generation current
 * then, and resolving with that key uses it: each address is named after
 * the code that was mapped there when the stack was taken.
 *
 * An address belongs to a module only if it lies in an executable mapping
 * of that module; anonymous executable mappings (JIT code) are named from
 * the process's perf map (/tmp/perf-PID.map, as the process sees it).
 *
 * Debug info is looked up lazily, on first use, by libdwfl's standard
 * search: the module's .symtab and DWARF; a separate debug file by build ID
 * (DEBUGINFO_PATH/.build-id/) or .gnu_debuglink; when DEBUGINFOD_URLS is
 * set and no local file was found, debuginfod; then .gnu_debugdata
 * (MiniDebugInfo) and .dynsym, for names without file:line.  Not
 * thread-safe: one thread uses a symbolizer at a time.
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
	/* the module's GNU build ID in hex; NULL when it has none */
	const char *build_id;
	/* address in the module's ELF file (address - load bias), as
	 * addr2line -e MODULE takes it; when has_module_offset (module is
	 * an ELF file) */
	uint64_t module_offset;
	bool has_module_offset;
	bool inlined;		/* this function was inlined into the next frame */
};

struct symbolizer_opts {
	/* where separate debug files are searched (libdwfl's syntax,
	 * "/usr/lib/debug" and beside the file when NULL) */
	const char *debuginfo_path;
};

/* o may be NULL.  NULL + errno on failure. */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *o);
void symbolizer__free(struct symbolizer *s);	/* accepts NULL */

/* Take pid's module list now (for a known pid: add the modules mapped
 * since; known ones stay).  Call it where pid is stopped at the record
 * being read (a hold): code found where other code was then starts a new
 * generation.  Returns 0 or -Exxx (-ENOENT: no process,
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

/* Offline use: name pid's anonymous code from the perf map at path (the
 * format of /tmp/perf-PID.map: "START SIZE name" per line, in hex); its
 * entries become code of pid.  0 or -Exxx (-EINVAL: no valid line). */
int symbolizer__add_perf_map(struct symbolizer *s, pid_t pid, const char *path);

/* Forget pid (it exec'd, or its pid is reused): its modules and cached
 * frames are dropped. */
void symbolizer__forget_process(struct symbolizer *s, pid_t pid);

/* No stack key: resolve against the newest generation. */
#define SYM_NO_KEY (-1LL)

/* A stack of pid was seen for the first time: make sure its modules are
 * known while the process is alive (an unknown pid is added; an address
 * outside known modules refreshes the list, at most once per call), and
 * bind key (the caller's id of the stack, >= 0; or SYM_NO_KEY) to the
 * generation current now; a key keeps its first binding.  Best effort;
 * never fails. */
void symbolizer__note_stack(struct symbolizer *s, pid_t pid, int64_t key,
			    const uint64_t *ips, size_t n);

/* What an address of a captured stack is. */
enum sym_addr {
	SYM_ADDR_CODE,		/* in an executable mapping (or pid's maps unknown) */
	SYM_ADDR_JUNK,		/* in none: a stale or garbage return address */
	SYM_ADDR_END,		/* zero or not a canonical user address */
};

/* Classify ip of pid's stack key (SYM_NO_KEY: the newest generation).
 * A frame-pointer walk ends in such garbage: the stack ends before the
 * first address that is not SYM_ADDR_CODE. */
enum sym_addr symbolizer__classify(struct symbolizer *s, pid_t pid, int64_t key, uint64_t ip);

/* Unbind every key for which gone(key, ctx) is true, in every process:
 * the caller's ids that it will give to other stacks (stackstore__sweep),
 * which must not keep an old stack's generation. */
void symbolizer__forget_keys(struct symbolizer *s, bool (*gone)(int64_t key, void *ctx),
			     void *ctx);

/* The generation stack key of pid is bound to (0 when none): stacks with
 * the same addresses in different generations are different code. */
unsigned int symbolizer__generation(struct symbolizer *s, pid_t pid, int64_t key);

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
/* The same in the generation stack key was bound to (SYM_NO_KEY: the
 * newest). */
int symbolizer__resolve_in(struct symbolizer *s, pid_t pid, int64_t key, uint64_t ip,
			   bool is_return_address, const struct sym_frame **frames);

/* The module (ELF path) whose executable mapping holds ip in pid (the
 * newest generation), or NULL; no debug info is loaded.  Valid while the
 * symbolizer lives. */
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
