// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolization with elfutils libdwfl, after eu-stack (elfutils src/stack.c):
 * executable mappings from /proc/PID/maps, one Dwfl per mapped ELF file
 * (opened through /proc/PID/map_files), debug info by the standard libdwfl
 * search, inline chains from dwarf_getscopes.  A module belongs to the
 * generations of the process's code that map it; ranges hold references.
 * A file is opened once for all the processes that map it: its module is
 * shared (a position-independent one reported at 0, each range keeping
 * where its process loaded it), else every process would cost the file's
 * symbols and debug info again.
 *
 * Every result is cached per process and address; the strings in the
 * results are interned in one table owned by the symbolizer.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "htab.h"
#include "log.h"
#include "perfmap.h"
#include "procfs.h"
#include "symbolizer.h"
#include "vec.h"

/* From libstdc++ (the C++ ABI); declared here so that this file stays C. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

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

static int htab_add(struct lw_htab *h, struct hnode *node)
{
	return lw_htab_add(h, node->hash, (uintptr_t)node);
}

static void htab_del(struct lw_htab *h, struct hnode *node)
{
	lw_htab_del(h, node->hash, (uintptr_t)node);
}

/* Empty h, passing each node to release (which must not change h). */
static void htab_clear(struct lw_htab *h, void (*release)(struct hnode *))
{
	struct lw_htab_slot *slot;

	lw_htab_for_each(h, slot)
		release((struct hnode *)slot->val);
	lw_htab_release(h);
}

static void free_interned(struct hnode *node)
{
	free(container_of(node, struct interned, node));
}

static void free_cache_entry(struct hnode *node)
{
	free(container_of(node, struct cache_entry, node));
}

/* *out = the symbolizer's copy of str (NULL for NULL). */
static int intern(struct symbolizer *s, const char *str, const char **out)
{
	struct interned *is;
	struct lw_htab_slot *slot;
	struct hnode *node;
	uint64_t hash;
	size_t len;

	*out = NULL;
	if (!str)
		return 0;
	hash = lw_hash_str(str);
	lw_htab_for_each_match(&s->strings, hash, slot) {
		node = (struct hnode *)slot->val;
		is = container_of(node, struct interned, node);
		if (node->hash == hash && !strcmp(is->str, str)) {
			*out = is->str;
			return 0;
		}
	}
	len = strlen(str);
	is = malloc(sizeof(*is) + len + 1);
	if (!is)
		return -ENOMEM;
	memcpy(is->str, str, len + 1);
	is->node.hash = hash;
	if (htab_add(&s->strings, &is->node)) {
		free(is);
		return -ENOMEM;
	}
	*out = is->str;
	return 0;
}

/* Intern a symbol name, demangled when it is a mangled C++ name. */
static int intern_function(struct symbolizer *s, const char *name, const char **out)
{
	char *demangled;
	int status, err;

	if (!name || strncmp(name, "_Z", 2))
		return intern(s, name, out);
	demangled = __cxa_demangle(name, NULL, NULL, &status);
	if (!demangled)
		/* Not every "_Z..." name is mangled: keep it as it is. */
		return intern(s, name, out);
	err = intern(s, demangled, out);
	free(demangled);
	return err;
}

/* pid's own entry, an alias (same_as) included. */
static struct sym_proc *proc_find_own(struct symbolizer *s, pid_t pid)
{
	uint64_t hash = lw_hash64((uint64_t)pid);
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each_match(&s->procs, hash, slot) {
		node = (struct hnode *)slot->val;
		struct sym_proc *p = container_of(node, struct sym_proc, node);

		if (p->pid == pid)
			return p;
	}
	return NULL;
}

/* The entry whose modules serve pid: a forked child's is its parent's. */
static struct sym_proc *proc_find(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p = proc_find_own(s, pid);

	return p && p->same_as ? p->same_as : p;
}

/* NULL: out of memory */
static struct sym_proc *proc_new(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->node.hash = lw_hash64((uint64_t)pid);
	if (htab_add(&s->procs, &p->node)) {
		free(p);
		return NULL;
	}
	return p;
}

static void module_put(struct sym_module *m)
{
	if (!m || --m->refs)
		return;
	if (m->files)
		htab_del(m->files, &m->node);
	dwfl_end(m->dwfl);
	free(m->file_name);
	free(m->cus);
	free(m);
}

static void gen_clear(struct sym_gen *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		module_put(g->r[i].mod);
	free(g->r);
	g->r = NULL;
	g->n = 0;
}

static void free_key_binding(struct hnode *node)
{
	free(container_of(node, struct key_binding, node));
}

static void proc_free(struct hnode *node)
{
	struct sym_proc *p = container_of(node, struct sym_proc, node);
	struct hnode *next;
	size_t i;

	htab_clear(&p->cache, free_cache_entry);
	htab_clear(&p->keys, free_key_binding);
	for (node = p->retired; node; node = next) {
		next = node->next;
		free_cache_entry(node);
	}
	for (i = 0; i < p->ngens; i++)
		gen_clear(&p->gens[i]);
	perf_map__free(p->jit);
	free(p->root);
	free(p);
}

/* Drop p's use of the entry that serves it. */
static void proc_unalias(struct symbolizer *s, struct sym_proc *p)
{
	struct sym_proc *to = p->same_as;
	struct hnode **n;

	p->same_as = NULL;
	if (!to || --to->refs || !to->orphan)
		return;
	for (n = &s->orphans; *n && *n != &to->node; n = &(*n)->next)
		;
	if (*n)
		*n = to->node.next;
	proc_free(&to->node);
}

static void proc_remove(struct symbolizer *s, struct sym_proc *p)
{
	htab_del(&s->procs, &p->node);
	proc_unalias(s, p);
	if (!p->refs) {
		proc_free(&p->node);
		return;
	}
	/* its forked children still resolve through it; its pid is not its
	 * own any more, so its modules are never read again */
	p->orphan = true;
	p->no_refresh = true;
	p->node.next = s->orphans;
	s->orphans = &p->node;
}

/* The range of g holding ip, or NULL. */
static const struct sym_range *gen_find(const struct sym_gen *g, uint64_t ip)
{
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->r[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && ip < g->r[lo - 1].end ? &g->r[lo - 1] : NULL;
}

/* The range holding a return address: ip - 1 first, a call may be the last
 * instruction of its mapping (a call to a noreturn function). */
static const struct sym_range *gen_find_return(const struct sym_gen *g, uint64_t ip)
{
	const struct sym_range *r = ip ? gen_find(g, ip - 1) : NULL;

	return r ? r : gen_find(g, ip);
}

/*
 * Open path as process pid sees it, through /proc/PID/root (it may live in
 * another mount namespace).  Only regular files: mappings of devices may
 * block or have side effects on open.
 */
static int open_in_root(pid_t pid, const char *path)
{
	struct stat st;
	char *rooted;
	int fd;

	if (asprintf(&rooted, "/proc/%d/root%s", (int)pid, path) < 0)
		return -1;
	fd = open(rooted, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	free(rooted);
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * The file of mapping m of pid, opened: through /proc/PID/map_files, which
 * is the very file mapped even when it was deleted or replaced since, and
 * in whatever mount namespace; else through /proc/PID/root.  *file_name:
 * where libdwfl looks for its separate debug file (beside it, lazily,
 * maybe after the process exited): the plain path when the process shares
 * our view of the file, as it outlives /proc/PID.
 */
static int open_mapped(const struct sym_proc *p, const struct proc_map *m, char **file_name)
{
	struct stat st, host;
	char mf[80], *ours;
	int fd;

	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)p->pid,
		 m->start, m->end);
	fd = open(mf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fd = open_in_root(p->pid, m->path);
	if (fd < 0 || fstat(fd, &st))
		goto fail;
	if (asprintf(&ours, "%s%s", p->root ? p->root : "", m->path) < 0)
		goto fail;
	if (m->deleted || stat(ours, &host) || host.st_dev != st.st_dev ||
	    host.st_ino != st.st_ino) {
		free(ours);
		if (asprintf(&ours, "/proc/%d/root%s", (int)p->pid, m->path) < 0)
			goto fail;
	}
	*file_name = ours;
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

static int intern_build_id(struct symbolizer *s, Dwfl_Module *mod, const char **out)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	char hex[2 * 64 + 1];
	int len, i;

	*out = NULL;
	len = dwfl_module_build_id(mod, &bits, &vaddr);
	if (len <= 0)
		return 0;
	if (len > 64)
		len = 64;
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", bits[i]);
	return intern(s, hex, out);
}

/*
 * A module for the ELF file open at fd, loaded at base (the address of file
 * offset 0).  name: how frames show it.  Takes fd in every case.  NULL:
 * out of memory.  A file libdwfl cannot read gets a module without mod.
 */
static struct sym_module *module_new(struct symbolizer *s, const char *name,
				     const char *file_name, int fd, uint64_t base)
{
	struct sym_module *m = calloc(1, sizeof(*m));
	Dwarf_Addr bias;

	if (!m || intern(s, name, &m->name)) {
		free(m);
		close(fd);
		return NULL;
	}
	m->refs = 1;
	m->base = base;
	m->dwfl = dwfl_begin(&s->callbacks);
	if (!m->dwfl) {
		close(fd);
		return m;
	}
	dwfl_report_begin(m->dwfl);
	/* add_p_vaddr = false: base is where file offset 0 is mapped, as in
	 * /proc/PID/maps, not the load bias.  On success the module owns fd. */
	m->mod = dwfl_report_elf(m->dwfl, name, file_name, fd, base, false);
	if (dwfl_report_end(m->dwfl, NULL, NULL))
		m->mod = NULL;
	if (!m->mod) {
		lw_debug("symbolizer: cannot use %s at 0x%" PRIx64 ": %s\n", name, base,
			 dwfl_errmsg(-1));
		close(fd);
		return m;
	}
	if (!dwfl_module_getelf(m->mod, &bias))
		lw_debug("symbolizer: no ELF for %s: %s\n", name, dwfl_errmsg(-1));
	intern_build_id(s, m->mod, &m->build_id);
	return m;
}

/* The ELF type (ET_*) of the file open at fd; ET_NONE: not ELF. */
static unsigned int elf_type(int fd)
{
	unsigned char h[EI_NIDENT + 2];

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, ELFMAG, SELFMAG))
		return ET_NONE;
	if (h[EI_DATA] == ELFDATA2MSB)
		return (unsigned int)h[EI_NIDENT] << 8 | h[EI_NIDENT + 1];
	return (unsigned int)h[EI_NIDENT + 1] << 8 | h[EI_NIDENT];
}

/* The same file, not written since: a file rewritten in place (same inode)
 * has other code. */
static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static uint64_t file_hash(uint64_t dev, uint64_t ino)
{
	return lw_hash_pair(dev, ino);
}

/*
 * The module of file mapping m, with *shift (see struct sym_range): one p
 * knows already (the same file at the same base), else the file opened now
 * and, when another process's module has this very file under the same
 * name (at the same base, unless position-independent), that one; else a
 * new module.  NULL: it cannot be opened.
 */
static struct sym_module *module_of(struct symbolizer *s, struct sym_proc *p,
				    const struct proc_map *m, uint64_t *shift)
{
	uint64_t dev = (uint64_t)m->dev_major << 32 | m->dev_minor, base = m->start - m->offset;
	uint64_t hash = file_hash(dev, m->inode);
	struct sym_module *mod;
	struct lw_htab_slot *slot;
	struct hnode *node;
	char *file_name = NULL;
	struct stat st;
	size_t g, i;
	bool pic;
	int fd;

	for (g = p->ngens; g-- > 0;) {
		for (i = 0; i < p->gens[g].n; i++) {
			const struct sym_range *r = &p->gens[g].r[i];

			mod = r->mod;
			if (mod && mod->dev == dev && mod->ino == m->inode &&
			    mod->base + r->shift == base && !strcmp(mod->name, m->path)) {
				mod->refs++;
				*shift = r->shift;
				return mod;
			}
		}
	}
	fd = open_mapped(p, m, &file_name);
	if (fd < 0 || fstat(fd, &st)) {
		lw_debug("symbolizer: pid %d: cannot open %s\n", (int)p->pid, m->path);
		if (fd >= 0)
			close(fd);
		free(file_name);
		return NULL;
	}
	pic = elf_type(fd) == ET_DYN;
	lw_htab_for_each_match(&s->files, hash, slot) {
		node = (struct hnode *)slot->val;
		mod = container_of(node, struct sym_module, node);
		if (mod->dev == dev && mod->ino == m->inode && same_file(&mod->st, &st) &&
		    mod->pic == pic && (pic || mod->base == base) &&
		    !strcmp(mod->name, m->path) && !strcmp(mod->file_name, file_name)) {
			close(fd);
			free(file_name);
			mod->refs++;
			*shift = base - mod->base;
			return mod;
		}
	}
	/* add_p_vaddr = false (module_new): base is where file offset 0 is,
	 * so a position-independent file at 0 has its own addresses */
	mod = module_new(s, m->path, file_name, fd, pic ? 0 : base);
	if (!mod) {
		free(file_name);
		return NULL;
	}
	mod->file_name = file_name;
	mod->dev = dev;
	mod->ino = m->inode;
	mod->st = st;
	mod->pic = pic;
	mod->node.hash = hash;
	/* not in the table: not shared, still right */
	if (!htab_add(&s->files, &mod->node))
		mod->files = &s->files;
	*shift = base - mod->base;
	return mod;
}

/* What a range is, for telling generations apart. */
static const void *range_identity(const struct sym_range *r)
{
	static const char anon;

	return r->mod ? (const void *)r->mod : r->name ? (const void *)r->name : &anon;
}

/* Whether two ranges hold the same code: one file loaded at one place. */
static bool range_same(const struct sym_range *a, const struct sym_range *b)
{
	return range_identity(a) == range_identity(b) && a->shift == b->shift;
}

static int cmp_range(const void *pa, const void *pb)
{
	const struct sym_range *a = pa, *b = pb;

	return a->start < b->start ? -1 : a->start > b->start;
}

/*
 * Take the executable mappings in fresh (sorted, not overlapping; their
 * module references are taken over) into p's generations.  The newest
 * generation keeps its ranges that fresh does not overlap: their code may
 * still be in stacks not yet seen.  When fresh overlaps one of them with
 * other code (a library unloaded and another one loaded there), the union
 * becomes a new generation and the old one stays as it was; but only when
 * the process is stopped where its records are being read (replace): a
 * process that runs on may have replaced code whose stacks are still to
 * be read, so then only code in new places is taken.
 */
static int proc_take(struct sym_proc *p, struct sym_range *fresh, size_t n, bool replace)
{
	struct sym_gen *cur = p->ngens ? &p->gens[p->ngens - 1] : NULL;
	bool conflict = false, added = false;
	struct sym_range *r;
	size_t i, j, k;

	for (j = k = 0; j < n; j++) {
		bool other = false;

		for (i = 0; cur && i < cur->n; i++) {
			const struct sym_range *old = &cur->r[i];

			if (fresh[j].start < old->end && old->start < fresh[j].end &&
			    !range_same(&fresh[j], old))
				other = true;
		}
		if (other && !replace) {
			module_put(fresh[j].mod);
			continue;
		}
		conflict |= other;
		fresh[k++] = fresh[j];
	}
	n = k;
	r = realloc(fresh, (n + (cur ? cur->n : 0) + 1) * sizeof(*r));
	if (!r) {
		for (i = 0; i < n; i++)
			module_put(fresh[i].mod);
		free(fresh);
		return -ENOMEM;
	}
	for (i = 0; cur && i < cur->n; i++) {
		const struct sym_range *old = &cur->r[i];
		bool overlaps = false;

		for (j = 0; j < n && !overlaps; j++)
			overlaps = r[j].start < old->end && old->start < r[j].end;
		if (!overlaps) {
			r[k] = *old;
			if (r[k].mod)
				r[k].mod->refs++;
			k++;
		}
	}
	/* code added: results found unknown before may be known now */
	for (j = 0; j < n; j++) {
		const struct sym_range *known = cur ? gen_find(cur, r[j].start) : NULL;

		if (!known || known->end < r[j].end || !range_same(known, &r[j]))
			added = true;
	}
	qsort(r, k, sizeof(*r), cmp_range);
	if (!cur || (conflict && p->ngens < MAX_GENERATIONS)) {
		if (cur)
			lw_debug("symbolizer: pid %d: other code where code was: generation %zu\n",
				 (int)p->pid, p->ngens);
		cur = &p->gens[p->ngens++];
	} else {
		gen_clear(cur);
	}
	cur->r = r;
	cur->n = k;
	if (added || conflict)
		p->epoch++;
	return 0;
}

/* NSpid's last field in /proc/PID/status: the pid in its own namespace. */
static pid_t read_nspid(pid_t pid)
{
	char path[64], *text = NULL, *line;
	long v = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (procfs_read_file(path, &text, NULL))
		return 0;
	line = strstr(text, "\nNSpid:");
	if (line) {
		char *end;

		line += 7;
		for (;;) {
			long x = strtol(line, &end, 10);

			if (end == line)
				break;
			v = x;
			line = end;
		}
	}
	free(text);
	return v > 0 && v <= INT32_MAX ? (pid_t)v : 0;
}

/* Read pid's executable mappings into a new look at its code; replace:
 * see proc_take. */
static int proc_report(struct symbolizer *s, struct sym_proc *p, bool replace)
{
	struct proc_maps maps = { 0 };
	struct sym_range *fresh = NULL;
	size_t i, n = 0;
	char *root;
	int err;

	err = procfs_read_maps(p->pid, &maps);
	if (err) {
		lw_debug("symbolizer: reading the maps of pid %d: %s\n", (int)p->pid,
			 strerror(-err));
		return err;
	}
	/* the prefix of the paths /proc shows; once the process is gone,
	 * the one its modules were reported with */
	if (!procfs_read_root(p->pid, &root)) {
		free(p->root);
		p->root = root;
	}
	if (!p->nspid)
		p->nspid = read_nspid(p->pid);
	fresh = calloc(maps.n ? maps.n : 1, sizeof(*fresh));
	if (!fresh) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < maps.n; i++) {
		const struct proc_map *m = &maps.maps[i];
		struct sym_range *r = &fresh[n];

		if (m->perms[2] != 'x' || m->end <= m->start)
			continue;
		*r = (struct sym_range){ .start = m->start, .end = m->end };
		if (m->path && m->path[0] == '/')
			r->mod = module_of(s, p, m, &r->shift);
		if (m->path && intern(s, r->mod ? r->mod->name : m->path, &r->name)) {
			module_put(r->mod);
			err = -ENOMEM;
			goto cleanup;
		}
		n++;
	}
	err = proc_take(p, fresh, n, replace);
	fresh = NULL;
	if (!err)
		p->no_refresh = false;
cleanup:
	if (fresh) {
		for (i = 0; i < n; i++)
			module_put(fresh[i].mod);
		free(fresh);
	}
	proc_maps__free(&maps);
	return err;
}

/* p's perf map, created empty if need be; NULL: out of memory. */
static struct perf_map *proc_jit(struct sym_proc *p)
{
	if (!p->jit)
		p->jit = perf_map__new();
	return p->jit;
}

/* A perf map that a runtime keeps appending to is read again at most this
 * often: each read parses the whole file. */
#define PERF_MAP_REREAD_NS 1000000000ull

/* Read p's perf map again if it changed: /tmp/perf-NSPID.map as the
 * process sees it, while it lives; then, if it shared our /tmp, ours. */
static void proc_perf_map(struct sym_proc *p)
{
	struct perf_map *jit = proc_jit(p);
	uint64_t now = lw_now_ns();
	char path[96], own[64];
	struct stat st;
	int err = -ENOENT;

	if (!jit || p->offline || p->pid <= 0)
		return;
	snprintf(own, sizeof(own), "/proc/%d", (int)p->pid);
	if (!stat(own, &st)) {
		/* once gone, its map changes no more: read it (again) then */
		if (p->jit_read_ns && now - p->jit_read_ns < PERF_MAP_REREAD_NS)
			return;
		/* the file must be the process's user's (or root's) */
		snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", (int)p->pid,
			 (int)(p->nspid ? p->nspid : p->pid));
		err = perf_map__load(jit, path, st.st_uid);
	} else if (p->root && !*p->root && (!p->nspid || p->nspid == p->pid)) {
		/* gone: its user is not known any more, only root's file is taken */
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)p->pid);
		err = perf_map__load(jit, path, 0);
	}
	if (err > 0) {
		p->epoch++;
		p->jit_read_ns = now;
	} else if (err < 0 && err != -ENOENT)
		lw_debug("symbolizer: pid %d: perf map not read: %s\n", (int)p->pid,
			 strerror(-err));
}

static int symbolizer_init(struct symbolizer *s, const struct symbolizer_opts *o)
{
	if (o && o->debuginfo_path) {
		s->debuginfo_path = strdup(o->debuginfo_path);
		if (!s->debuginfo_path)
			return -ENOMEM;
	}
	s->callbacks = (Dwfl_Callbacks){
		/* modules are reported with their file open: find_elf is
		 * called only for what libdwfl finds on its own */
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.debuginfo_path = &s->debuginfo_path,
	};
	return 0;
}

struct symbolizer *symbolizer__new(const struct symbolizer_opts *o)
{
	struct symbolizer *s = calloc(1, sizeof(struct symbolizer));
	int err;

	if (!s)
		return NULL;
	err = symbolizer_init(s, o);
	if (err) {
		free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	htab_clear(&s->procs, proc_free);
	while (s->orphans) {
		struct hnode *n = s->orphans;

		s->orphans = n->next;
		proc_free(n);
	}
	htab_clear(&s->strings, free_interned);
	lw_htab_release(&s->files);	/* empty: the ranges held its modules */
	free(s->debuginfo_path);
	free(s);
}

int symbolizer__add_process(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p;
	bool created = false;
	int err;

	if (!s || pid <= 0)
		return -EINVAL;
	p = proc_find_own(s, pid);
	/* a forked child with modules of its own from now on */
	if (p && p->same_as)
		proc_unalias(s, p);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		created = true;
	}
	err = proc_report(s, p, true);
	if (err && created)
		proc_remove(s, p);
	return err;
}

int symbolizer__add_fork(struct symbolizer *s, pid_t pid, pid_t parent)
{
	struct sym_proc *pp, *p;

	if (!s || pid <= 0)
		return -EINVAL;
	pp = proc_find(s, parent);
	if (!pp || !pp->ngens)
		return -ENOENT;
	p = proc_find_own(s, pid);
	if (p)		/* a reused pid */
		proc_remove(s, p);
	p = proc_new(s, pid);
	if (!p)
		return -ENOMEM;
	p->same_as = pp;
	pp->refs++;
	return 0;
}

/* p, created if need be, for offline use; NULL: out of memory. */
static struct sym_proc *proc_offline(struct symbolizer *s, pid_t pid, bool *created)
{
	struct sym_proc *p = proc_find_own(s, pid);

	*created = false;
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return NULL;
		*created = true;
		/* An offline process has no /proc entry to refresh from. */
		p->offline = true;
		p->no_refresh = true;
	}
	return p;
}

/* Add ranges to p's newest generation; -EINVAL if one overlaps. */
static int proc_add_ranges(struct sym_proc *p, struct sym_range *add, size_t n)
{
	struct sym_gen *g;
	struct sym_range *r;
	size_t i;

	if (!p->ngens)
		p->ngens = 1;
	g = &p->gens[p->ngens - 1];
	for (i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < g->n; j++)
			if (add[i].start < g->r[j].end && g->r[j].start < add[i].end)
				return -EINVAL;
	}
	r = realloc(g->r, (g->n + n) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r + g->n, add, n * sizeof(*r));
	g->r = r;
	g->n += n;
	qsort(g->r, g->n, sizeof(*r), cmp_range);
	p->epoch++;
	return 0;
}

int symbolizer__add_elf(struct symbolizer *s, pid_t pid, const char *path, uint64_t base)
{
	struct sym_range ranges[16];
	struct sym_module *m = NULL;
	struct sym_proc *p;
	size_t nph, i, n = 0;
	Dwarf_Addr bias;
	bool created;
	Elf *elf;
	int fd, err = 0;

	if (!s || !path)
		return -EINVAL;
	p = proc_offline(s, pid, &created);
	if (!p)
		return -ENOMEM;
	/* Opened here for a precise errno. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	m = module_new(s, path, path, fd, base);
	if (!m) {
		err = -ENOMEM;
		goto cleanup;
	}
	elf = m->mod ? dwfl_module_getelf(m->mod, &bias) : NULL;
	if (!elf || elf_getphdrnum(elf, &nph)) {
		err = -EINVAL;	/* not ELF */
		goto cleanup;
	}
	/* its code: the executable segments */
	for (i = 0; i < nph && n < sizeof(ranges) / sizeof(ranges[0]); i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) ||
		    !ph.p_memsz)
			continue;
		ranges[n++] = (struct sym_range){ .start = bias + ph.p_vaddr,
						  .end = bias + ph.p_vaddr + ph.p_memsz,
						  .mod = m, .name = m->name };
	}
	m->refs = n;
	if (!n) {
		err = -EINVAL;
		m->refs = 1;
		goto cleanup;
	}
	err = proc_add_ranges(p, ranges, n);
	if (err)
		m->refs = 1;
	else
		m = NULL;
cleanup:
	module_put(m);
	if (err && created)
		proc_remove(s, p);
	return err;
}

int symbolizer__add_perf_map(struct symbolizer *s, pid_t pid, const char *path)
{
	struct sym_range *ranges = NULL;
	const struct perf_sym *syms;
	struct perf_map *jit;
	struct sym_proc *p;
	bool created;
	size_t i, n;
	int err;

	if (!s || !path)
		return -EINVAL;
	p = proc_offline(s, pid, &created);
	if (!p)
		return -ENOMEM;
	jit = proc_jit(p);
	err = jit ? perf_map__load(jit, path, geteuid()) : -ENOMEM;
	if (err < 0)
		goto cleanup;
	n = perf_map__entries(jit, &syms);
	ranges = calloc(n ? n : 1, sizeof(*ranges));
	if (!ranges) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* each entry its own anonymous range */
	for (i = 0; i < n; i++)
		ranges[i] = (struct sym_range){ .start = syms[i].start, .end = syms[i].end };
	err = proc_add_ranges(p, ranges, n);
cleanup:
	free(ranges);
	if (err < 0 && created)
		proc_remove(s, p);
	return err < 0 ? err : 0;
}

void symbolizer__forget_process(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p;

	if (!s)
		return;
	p = proc_find_own(s, pid);
	if (p)
		proc_remove(s, p);
}

/* Not an address a user stack can hold: the walk went past its end. */
static bool stack_end(uint64_t ip)
{
	/* the first page is never mapped; user space ends below 2^47, or
	 * 2^56 with 5-level page tables: above, it is not a user address */
	return ip < 0x1000 || ip >= 1ull << 56;
}

static struct key_binding *key_find(struct sym_proc *p, int64_t key)
{
	uint64_t hash = lw_hash64((uint64_t)key);
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each_match(&p->keys, hash, slot) {
		node = (struct hnode *)slot->val;
		struct key_binding *b = container_of(node, struct key_binding, node);

		if (b->key == key)
			return b;
	}
	return NULL;
}

static void proc_forget_keys(struct sym_proc *p, bool (*gone)(int64_t key, void *ctx),
			     void *ctx)
{
	struct lw_htab_slot *slot;
	size_t i = 0;

	/* deleting moves slots: a slot found is deleted, then the same
	 * index looked at again */
	while (i < p->keys.cap) {
		slot = &p->keys.slots[i];
		if (slot->val) {
			struct key_binding *b = container_of((struct hnode *)slot->val,
							     struct key_binding, node);

			if (gone(b->key, ctx)) {
				lw_htab_del_at(&p->keys, slot);
				free(b);
				continue;
			}
		}
		i++;
	}
}

void symbolizer__forget_keys(struct symbolizer *s, bool (*gone)(int64_t key, void *ctx),
			     void *ctx)
{
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each(&s->procs, slot)
		proc_forget_keys(container_of((struct hnode *)slot->val, struct sym_proc, node),
				 gone, ctx);
	for (node = s->orphans; node; node = node->next)
		proc_forget_keys(container_of(node, struct sym_proc, node), gone, ctx);
}

/* The generation of key (the newest when unbound); p->ngens when none. */
static unsigned int key_gen(struct sym_proc *p, int64_t key)
{
	struct key_binding *b = key >= 0 ? key_find(p, key) : NULL;

	if (b && b->gen < p->ngens)
		return b->gen;
	return p->ngens ? (unsigned int)p->ngens - 1 : 0;
}

void symbolizer__note_stack(struct symbolizer *s, pid_t pid, int64_t key, const uint64_t *ips,
			    size_t n)
{
	struct key_binding *b;
	struct sym_proc *p;
	bool anon = false;
	size_t i;

	if (!s || pid <= 0)
		return;
	p = proc_find(s, pid);
	if (!p) {
		/* A fresh module list covers this stack already, if anything can. */
		symbolizer__add_process(s, pid);
		p = proc_find(s, pid);
	} else if (!p->no_refresh) {
		for (i = 0; i < n && !stack_end(ips[i]); i++) {
			const struct sym_range *r = p->ngens ?
				gen_find_return(&p->gens[p->ngens - 1], ips[i]) : NULL;
			int err;

			if (r)
				continue;
			/* One refresh per stack at most: addresses that stay
			 * unknown (garbage from frame-pointer unwinding) must
			 * not cost a read of /proc/PID/maps each. */
			err = proc_report(s, p, false);
			if (err == -ENOENT || err == -ESRCH)
				p->no_refresh = true;	/* the process is gone */
			break;
		}
	}
	if (!p || !p->ngens)
		return;
	/* JIT code: its perf map, while the process lives */
	for (i = 0; i < n && !stack_end(ips[i]) && !anon; i++) {
		const struct sym_range *r = gen_find_return(&p->gens[p->ngens - 1], ips[i]);

		anon = r && !r->mod && !r->name;
	}
	if (anon)
		proc_perf_map(p);
	if (key < 0 || key_find(p, key))
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		return;		/* resolved in the newest generation */
	b->key = key;
	b->gen = (unsigned int)p->ngens - 1;
	b->node.hash = lw_hash64((uint64_t)key);
	if (htab_add(&p->keys, &b->node))
		free(b);
}

enum sym_addr symbolizer__classify(struct symbolizer *s, pid_t pid, int64_t key, uint64_t ip)
{
	struct sym_proc *p;

	if (stack_end(ip))
		return SYM_ADDR_END;
	p = s ? proc_find(s, pid) : NULL;
	if (!p || !p->ngens)
		return SYM_ADDR_CODE;	/* nothing known: nothing to say */
	return gen_find_return(&p->gens[key_gen(p, key)], ip) ? SYM_ADDR_CODE : SYM_ADDR_JUNK;
}

unsigned int symbolizer__generation(struct symbolizer *s, pid_t pid, int64_t key)
{
	struct sym_proc *p = s ? proc_find(s, pid) : NULL;

	return p ? key_gen(p, key) : 0;
}

/* Name of a function DIE: the linkage name when there is one (it demangles
 * to the qualified C++ name with its parameter types), from the abstract
 * origin or declaration of inlined and out-of-class definitions. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	return name;
}

/* The source position an inlined_subroutine DIE was inlined at. */
static void call_site(Dwarf_Die *inlined, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word val;
	Dwarf_Die cu;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (!dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &val))
		*line = (int)val;
	if (!dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &val) &&
	    dwarf_diecu(inlined, &cu, NULL, NULL) &&
	    !dwarf_getsrcfiles(&cu, &files, &nfiles) && val < nfiles)
		*file = dwarf_filesrc(files, val, NULL, NULL);
}

/*
 * The function scopes (innermost first) at lookup, from the concrete DIE
 * tree: dwarf_getscopes finds the innermost scope, but above an inlined
 * instance it continues with the scopes of the abstract definition, so the
 * chain is rebuilt from the innermost DIE with dwarf_getscopes_die (as
 * eu-addr2line -i does).  *scopes is malloc'd; returns the count or -1.
 */
static int function_scopes(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes)
{
	Dwarf_Die *all = NULL, inner;
	int n, i, nfunc = 0;

	*scopes = NULL;
	n = dwarf_getscopes(cudie, pc, &all);
	if (n <= 0)
		return n;
	inner = all[0];
	free(all);
	all = NULL;
	n = dwarf_getscopes_die(&inner, &all);
	if (n <= 0)
		return n;
	for (i = 0; i < n; i++) {
		int tag = dwarf_tag(&all[i]);

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram &&
		    tag != DW_TAG_entry_point)
			continue;
		all[nfunc++] = all[i];
		/* The out-of-line function that everything was inlined into. */
		if (tag != DW_TAG_inlined_subroutine)
			break;
	}
	*scopes = all;
	return nfunc;
}

static int set_frame(struct symbolizer *s, struct sym_frame *f, const char *function,
		     const char *file)
{
	int err;

	err = intern_function(s, function, &f->function);
	if (!err)
		err = intern(s, file, &f->file);
	return err;
}

static int cmp_cu_range(const void *pa, const void *pb)
{
	const struct cu_range *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Every CU's address ranges, from its own DW_AT_ranges or low/high_pc. */
static void build_cu_index(struct sym_module *m, Dwarf *dw)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	size_t cap = 0;

	m->cus_built = true;
	while (!dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL)) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			if (lw_vec_reserve(m->cus, cap, m->ncus + 1))
				goto out;
			m->cus[m->ncus++] = (struct cu_range){ lo, hi, dwarf_dieoffset(&cudie) };
		}
	}
out:
	if (m->ncus)
		qsort(m->cus, m->ncus, sizeof(*m->cus), cmp_cu_range);
}

/*
 * The CU holding addr (an address of the process) and the bias of its
 * DWARF.  libdwfl finds CUs through .debug_aranges; Go's linker writes
 * none, so libdw (0.188) finds no CU for a Go address, or, in a cgo binary
 * whose C objects have aranges, a C file's CU (every Go frame in
 * gcc_mmap.c).  Then the CU is looked up by its own ranges.
 */
static Dwarf_Die *module_cu(struct sym_module *m, Dwarf_Addr addr, Dwarf_Addr *bias,
			    Dwarf_Die *buf)
{
	Dwarf_Die *cu = dwfl_module_addrdie(m->mod, addr, bias);
	size_t lo = 0, hi;
	Dwarf *dw;

	if (cu && dwarf_haspc(cu, addr - *bias) > 0)
		return cu;
	dw = dwfl_module_getdwarf(m->mod, bias);
	if (!dw)
		return NULL;
	if (!m->cus_built)
		build_cu_index(m, dw);
	hi = m->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->cus[mid].lo <= addr - *bias)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - *bias >= m->cus[lo - 1].hi)
		return NULL;
	return dwarf_offdie(dw, m->cus[lo - 1].die, buf);
}

/* Resolve ip in generation g of p into a new cache entry. */
static int symbolize(struct symbolizer *s, struct sym_proc *p, unsigned int g, uint64_t ip,
		     bool is_return_address, struct cache_entry **out)
{
	/* lookup, mip: the module's addresses; ip: the process's */
	uint64_t lookup = is_return_address && ip ? ip - 1 : ip, mip = ip, sym_start = 0;
	const char *sym = NULL, *src = NULL, *modname = NULL, *build_id = NULL;
	const struct sym_range *r = NULL;
	struct cache_entry *e = NULL;
	Dwarf_Die *scopes = NULL, cubuf;
	Dwfl_Module *mod = NULL;
	int nscopes = 0, nframes, i, line = 0, err = 0;
	Dwarf_Addr bias = 0, elf_bias = 0;
	GElf_Off sym_off = 0;
	bool from_perf_map = false;

	if (p->ngens && g < p->ngens)
		r = gen_find_return(&p->gens[g], ip);
	if (r) {
		modname = r->name;
		if (r->mod) {
			mod = r->mod->mod;
			build_id = r->mod->build_id;
			lookup -= r->shift;
			mip -= r->shift;
		}
	}
	if (mod) {
		Dwarf_Die *cudie;
		GElf_Sym elfsym;

		dwfl_module_getelf(mod, &elf_bias);
		sym = dwfl_module_addrinfo(mod, lookup, &sym_off, &elfsym, NULL, NULL, NULL);
		cudie = module_cu(r->mod, lookup, &bias, &cubuf);
		if (cudie) {
			Dwarf_Line *dl = dwarf_getsrc_die(cudie, lookup - bias);

			if (dl) {
				src = dwarf_linesrc(dl, NULL, NULL);
				if (dwarf_lineno(dl, &line))
					line = 0;
			}
			nscopes = function_scopes(cudie, lookup - bias, &scopes);
			if (nscopes < 0)
				nscopes = 0;
		}
	} else if (r && !r->mod && !r->name) {
		/* anonymous code: JIT, named by the process's perf map */
		const struct perf_sym *ps = p->jit ? perf_map__find(p->jit, lookup) : NULL;

		if (ps) {
			sym = ps->name;
			sym_start = ps->start;
			from_perf_map = true;
			modname = "[jit]";
		}
	}

	/* One frame per inlined instance, plus the function containing them. */
	nframes = 1;
	while (nframes - 1 < nscopes &&
	       dwarf_tag(&scopes[nframes - 1]) == DW_TAG_inlined_subroutine)
		nframes++;
	e = calloc(1, sizeof(*e) + nframes * sizeof(e->frames[0]));
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	e->ip = ip;
	e->is_return_address = is_return_address;
	e->gen = g;
	e->epoch = p->epoch;
	e->n = nframes;

	for (i = 0; i < nframes; i++) {
		struct sym_frame *f = &e->frames[i];
		const char *function = NULL, *file = src;
		int fline = line;

		f->address = ip;
		f->build_id = build_id;
		if (mod) {
			f->module_offset = mip - elf_bias;
			f->has_module_offset = true;
		}
		if (i > 0)
			/* called from where the inner instance was inlined */
			call_site(&scopes[i - 1], &file, &fline);
		f->line = fline;
		if (i < nframes - 1) {
			/* Where an inlined instance begins says little; leave 0. */
			function = die_name(&scopes[i]);
			f->inlined = true;
		} else if (from_perf_map) {
			function = sym;
			f->offset = ip - sym_start;
		} else if (sym) {
			/* The symbol table names what the code was linked as
			 * (e.g. "foo.cold"); offset from the original ip. */
			function = sym;
			f->offset = sym_off + (mip - lookup);
		} else if (i < nscopes) {
			Dwarf_Addr low;

			function = die_name(&scopes[i]);
			if (function && !dwarf_lowpc(&scopes[i], &low))
				f->offset = mip - (low + bias);
		}
		err = set_frame(s, f, function, file);
		err = err ?: intern(s, modname, &f->module);
		if (err)
			goto cleanup;
	}
	*out = e;
	e = NULL;
cleanup:
	free(scopes);
	free(e);
	return err;
}

static uint64_t cache_hash(uint64_t ip, bool is_return_address, unsigned int gen)
{
	return lw_hash64(ip ^ ((uint64_t)is_return_address << 63) ^ ((uint64_t)gen << 48));
}

static struct cache_entry *cache_find(struct sym_proc *p, uint64_t ip, bool is_return_address,
				      unsigned int gen)
{
	uint64_t hash = cache_hash(ip, is_return_address, gen);
	struct lw_htab_slot *slot;
	struct hnode *node;

	lw_htab_for_each_match(&p->cache, hash, slot) {
		node = (struct hnode *)slot->val;
		struct cache_entry *e = container_of(node, struct cache_entry, node);

		if (e->ip == ip && e->is_return_address == is_return_address && e->gen == gen)
			return e;
	}
	return NULL;
}

static bool frame_known(const struct sym_frame *f)
{
	return f->function || f->module;
}

int symbolizer__resolve_in(struct symbolizer *s, pid_t pid, int64_t key, uint64_t ip,
			   bool is_return_address, const struct sym_frame **frames)
{
	struct cache_entry *old, *e = NULL;
	struct sym_proc *p;
	unsigned int g;
	int err;

	if (!s || !frames || pid < 0)
		return -EINVAL;
	p = proc_find(s, pid);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		err = pid > 0 ? proc_report(s, p, true) : -ESRCH;
		if (err) {
			/* Keep p: its unknown results are cached like others. */
			lw_debug("symbolizer: pid %d unknown and not readable: %s\n", (int)pid,
				 strerror(-err));
			p->no_refresh = true;
		}
	}
	g = key_gen(p, key);
	old = cache_find(p, ip, is_return_address, g);
	/* An address in no module may be in one added since, or in a perf
	 * map's newer entries. */
	if (old && (frame_known(&old->frames[0]) || old->epoch == p->epoch)) {
		*frames = old->frames;
		return old->n;
	}
	if (p->ngens && g < p->ngens) {
		const struct sym_range *r = gen_find_return(&p->gens[g], ip);

		if (r && !r->mod && !r->name)
			proc_perf_map(p);
	}
	err = symbolize(s, p, g, ip, is_return_address, &e);
	if (err)
		return err;
	if (old && !frame_known(&e->frames[0])) {
		/* Still unknown: keep the entry the caller may hold. */
		old->epoch = p->epoch;
		free(e);
		*frames = old->frames;
		return old->n;
	}
	e->node.hash = cache_hash(ip, is_return_address, g);
	if (htab_add(&p->cache, &e->node)) {
		free(e);
		return -ENOMEM;
	}
	if (old) {
		htab_del(&p->cache, &old->node);
		old->node.next = p->retired;
		p->retired = &old->node;
	}
	*frames = e->frames;
	return e->n;
}

int symbolizer__resolve(struct symbolizer *s, pid_t pid, uint64_t ip, bool is_return_address,
			const struct sym_frame **frames)
{
	return symbolizer__resolve_in(s, pid, SYM_NO_KEY, ip, is_return_address, frames);
}

/* The module of ip in pid's newest generation, pid added now if new. */
static const struct sym_range *current_range(struct symbolizer *s, pid_t pid, uint64_t ip)
{
	struct sym_proc *p = s ? proc_find(s, pid) : NULL;

	if (!p && s && !symbolizer__add_process(s, pid))
		p = proc_find(s, pid);
	return p && p->ngens ? gen_find(&p->gens[p->ngens - 1], ip) : NULL;
}

const char *symbolizer__module(struct symbolizer *s, pid_t pid, uint64_t ip)
{
	const struct sym_range *r = current_range(s, pid, ip);

	return r && r->mod ? r->mod->name : NULL;
}

int symbolizer__module_elf(struct symbolizer *s, pid_t pid, uint64_t ip, Elf **elf,
			   uint64_t *bias)
{
	const struct sym_range *r = current_range(s, pid, ip);
	Dwfl_Module *mod = r && r->mod ? r->mod->mod : NULL;
	Dwarf_Addr b = 0;

	*elf = mod ? dwfl_module_getelf(mod, &b) : NULL;
	*bias = b + (mod ? r->shift : 0);
	return *elf ? 0 : -ENOENT;
}

int symbolizer__mapping(struct symbolizer *s, pid_t pid, uint64_t ip, struct sym_mapping *m)
{
	struct sym_proc *p = s ? proc_find(s, pid) : NULL;
	const struct sym_range *r = NULL;
	GElf_Addr low = 0, high = 0;
	size_t g;

	/* the newest code first: older generations name what was unmapped */
	for (g = p ? p->ngens : 0; g-- > 0 && !r;) {
		r = gen_find(&p->gens[g], ip);
		if (r && (!r->mod || !r->mod->mod))
			r = NULL;
	}
	if (!r)
		return -ENOENT;
	dwfl_module_info(r->mod->mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	m->start = low + r->shift;
	m->limit = high + r->shift;
	m->file = r->mod->name;
	m->build_id = r->mod->build_id;
	return 0;
}

/* DWARF number of the stack pointer. */
#if defined(__x86_64__)
#define SP_REGNO 7
#elif defined(__aarch64__)
#define SP_REGNO 31
#endif

int symbolizer__cfa_offset(struct symbolizer *s, pid_t pid, uint64_t ip, int64_t *offset)
{
#ifdef SP_REGNO
	const struct sym_range *r = current_range(s, pid, ip);
	Dwfl_Module *mod = r && r->mod ? r->mod->mod : NULL;
	Dwarf_CFI *(*const tables[])(Dwfl_Module *, Dwarf_Addr *) = {
		dwfl_module_eh_cfi, dwfl_module_dwarf_cfi,
	};
	size_t i;

	/* .eh_frame first: it is in every x86-64 binary, .debug_frame is
	 * where some toolchains (Go) put theirs instead */
	for (i = 0; mod && i < sizeof(tables) / sizeof(tables[0]); i++) {
		Dwarf_Frame *frame = NULL;
		Dwarf_CFI *cfi;
		Dwarf_Addr bias;
		Dwarf_Op *ops;
		size_t nops;
		int found;

		cfi = tables[i](mod, &bias);
		if (!cfi || dwarf_cfi_addrframe(cfi, ip - r->shift - bias, &frame))
			continue;
		/* only "CFA = sp + N": a function that keeps a frame pointer
		 * is walked by the kernel already */
		found = !dwarf_frame_cfa(frame, &ops, &nops) && nops == 1 &&
			ops[0].atom == DW_OP_bregx && ops[0].number == SP_REGNO;
		if (found)
			*offset = (int64_t)ops[0].number2;
		free(frame);
		if (found)
			return 0;
	}
#endif
	return -ENOENT;
}
