/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The symbolizer's own types, shared by its files and by no one else
 * (symbolizer.h is the contract):
 *   symbolizer.c   the object and its API: processes added, forked, forgotten;
 *                  stacks bound to generations; results cached per process
 *   sym_intern.c   the chained hash table and the interned strings
 *   sym_proc.c     processes and their generations of executable ranges,
 *                  read from /proc/PID/maps, and their perf maps
 *   sym_module.c   ELF files opened once, as libdwfl modules, shared by every
 *                  process that maps them
 *   sym_dwarf.c    an address of a module to its function, file:line and
 *                  inline chain
 */
#ifndef LW_SYMBOLIZER_INT_H
#define LW_SYMBOLIZER_INT_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "container_of.h"
#include "htab.h"
#include "procfs.h"
#include "symbolizer.h"

/* From libstdc++ (the C++ ABI); declared here so that this file stays C. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/* An entry's hash, by which an lw_htab indexes it (the owner compares
 * keys), and a link for the lists of entries out of the tables. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct interned {
	struct hnode node;
	char str[];
};

/* Generations a process keeps; past this, the newest one is updated in
 * place (stacks bound to it may then name newer code). */
#define MAX_GENERATIONS 64

struct cu_range {
	uint64_t lo, hi;	/* DWARF addresses (before the bias) */
	Dwarf_Off die;		/* the CU's DIE */
};

/*
 * One ELF file, kept open, for every process that maps it: in
 * symbolizer.files (when shared) by the file's identity, with the place it
 * was reported at (base): 0 for a position-independent file (ET_DYN), where
 * a process loaded it for one that is not.
 */
struct sym_module {
	struct hnode node;	/* in *files */
	struct lw_htab *files;	/* NULL: not shared (added by path) */
	unsigned int refs;	/* ranges that point to it */
	Dwfl *dwfl;		/* with this module only */
	Dwfl_Module *mod;	/* NULL: not an ELF file libdwfl can read */
	const char *name;	/* interned: the path as the process sees it */
	const char *build_id;	/* interned hex; NULL: none */
	char *file_name;	/* where libdwfl looks beside it for debug info */
	uint64_t dev, ino, base;	/* dev and inode as in /proc/PID/maps */
	struct stat st;		/* of the open file: a file rewritten since differs */
	bool pic;		/* ET_DYN: reported at 0, shared at any base */
	bool cus_built;
	size_t ncus;
	struct cu_range *cus;	/* sorted by lo */
};

/* An executable mapping. */
struct sym_range {
	uint64_t start, end;
	struct sym_module *mod;	/* NULL: no file, or one that cannot be opened */
	/* where the process loaded mod minus where mod was reported: an
	 * address of the process is the module's address plus shift */
	uint64_t shift;
	/* interned: the mapping's path or "[vdso]"; NULL: anonymous code */
	const char *name;
};

/* What was executable in a process at one time, sorted by start. */
struct sym_gen {
	struct sym_range *r;
	size_t n;
};

struct cache_entry {
	struct hnode node;	/* in sym_proc.cache, or on sym_proc.retired */
	uint64_t ip;
	bool is_return_address;
	unsigned int gen;	/* the generation resolved in */
	unsigned int epoch;	/* sym_proc.epoch when resolved */
	int n;
	struct sym_frame frames[];
};

/* A stack key bound to a generation. */
struct key_binding {
	struct hnode node;
	int64_t key;
	unsigned int gen;
};

struct sym_proc {
	struct hnode node;
	pid_t pid;
	pid_t nspid;		/* pid as the process sees it (its perf map's name); 0: unknown */
	/* its root as /proc shows it (procfs_read_root): module names, from
	 * /proc/PID/maps, start with it; "" or NULL mostly */
	char *root;
	/* A forked child's entry: the parent's (same_as) serves it, which
	 * outlives being forgotten while it has refs; no_refresh then. */
	struct sym_proc *same_as;
	unsigned int refs;
	bool orphan;
	bool no_refresh;	/* reading /proc/PID failed: do not retry on our own */
	bool offline;		/* modules added by path: no /proc to read */
	unsigned int epoch;	/* bumped each time code is added */
	size_t ngens;
	struct sym_gen gens[MAX_GENERATIONS];	/* [ngens - 1]: the newest */
	struct lw_htab keys;	/* struct key_binding by key */
	struct lw_htab cache;	/* struct cache_entry by (ip, is_return_address, gen) */
	/* Entries replaced after new modules appeared: callers may still hold
	 * their frames, so they live until the process is forgotten. */
	struct hnode *retired;
	struct perf_map *jit;	/* NULL until a perf map was read */
	uint64_t jit_read_ns;	/* when it was last (re)read; 0: never */
};

struct symbolizer {
	struct lw_htab procs;	/* struct sym_proc by pid */
	struct hnode *orphans;	/* forgotten entries that forked children use */
	struct lw_htab strings;	/* struct interned by content */
	struct lw_htab files;	/* struct sym_module by (dev, inode) */
	char *debuginfo_path;
	Dwfl_Callbacks callbacks;
};

/* sym_intern.c */
int htab_add(struct lw_htab *h, struct hnode *node);
void htab_del(struct lw_htab *h, struct hnode *node);
void htab_clear(struct lw_htab *h, void (*release)(struct hnode *));
void free_interned(struct hnode *node);
void free_cache_entry(struct hnode *node);
int intern(struct symbolizer *s, const char *str, const char **out);
int intern_function(struct symbolizer *s, const char *name, const char **out);

/* sym_proc.c */
struct sym_proc *proc_find_own(struct symbolizer *s, pid_t pid);
struct sym_proc *proc_find(struct symbolizer *s, pid_t pid);
struct sym_proc *proc_new(struct symbolizer *s, pid_t pid);
void module_put(struct sym_module *m);
void proc_free(struct hnode *node);
void proc_unalias(struct symbolizer *s, struct sym_proc *p);
void proc_remove(struct symbolizer *s, struct sym_proc *p);
const struct sym_range *gen_find(const struct sym_gen *g, uint64_t ip);
const struct sym_range *gen_find_return(const struct sym_gen *g, uint64_t ip);
int proc_report(struct symbolizer *s, struct sym_proc *p, bool replace);
struct perf_map *proc_jit(struct sym_proc *p);
void proc_perf_map(struct sym_proc *p);
struct sym_proc *proc_offline(struct symbolizer *s, pid_t pid, bool *created);
int proc_add_ranges(struct sym_proc *p, struct sym_range *add, size_t n);

/* sym_module.c */
struct sym_module *module_new(struct symbolizer *s, const char *name,
			      const char *file_name, int fd, uint64_t base);
struct sym_module *module_of(struct symbolizer *s, struct sym_proc *p,
			     const struct proc_map *m, uint64_t *shift);

/* sym_dwarf.c */
int symbolize(struct symbolizer *s, struct sym_proc *p, unsigned int g, uint64_t ip,
	      bool is_return_address, struct cache_entry **out);

#endif /* LW_SYMBOLIZER_INT_H */
