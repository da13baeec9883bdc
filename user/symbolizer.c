// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Symbolization with elfutils libdwfl, after eu-stack (elfutils src/stack.c):
 * one Dwfl per process, modules from /proc/PID/maps, ELF files found by our
 * find_elf (through /proc/PID/root first), debug info by the standard
 * libdwfl search, inline chains from dwarf_getscopes.
 *
 * Every result is cached per process and address; the strings in the
 * results are interned in one table owned by the symbolizer.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "symbolizer.h"

/* From libstdc++ (the C++ ABI); declared here so that this file stays C. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - __builtin_offsetof(type, member)))

/* A chained hash table of intrusive nodes; the owner compares keys. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **buckets;
	size_t nbuckets;	/* 0 or a power of two */
	size_t count;
};

struct interned {
	struct hnode node;
	char str[];
};

struct cache_entry {
	struct hnode node;	/* in sym_proc.cache, or on sym_proc.retired */
	uint64_t ip;
	bool is_return_address;
	unsigned int gen;	/* sym_proc.gen when resolved */
	int n;
	struct sym_frame frames[];
};

struct sym_proc {
	struct hnode node;
	pid_t pid;
	/* its root as /proc shows it (procfs_read_root): module names, from
	 * /proc/PID/maps, start with it; "" or NULL mostly */
	char *root;
	Dwfl *dwfl;		/* NULL: no module of pid is known */
	/* A forked child's entry: the parent's (same_as) serves it, which
	 * outlives being forgotten while it has refs; no_refresh then. */
	struct sym_proc *same_as;
	unsigned int refs;
	bool orphan;
	bool no_refresh;	/* reading /proc/PID failed: do not retry on our own */
	unsigned int gen;	/* bumped each time modules are added */
	struct htab cache;	/* struct cache_entry by (ip, is_return_address) */
	/* Entries replaced after new modules appeared: callers may still hold
	 * their frames, so they live until the process is forgotten. */
	struct hnode *retired;
};

struct symbolizer {
	struct htab procs;	/* struct sym_proc by pid */
	struct hnode *orphans;	/* forgotten entries that forked children use */
	struct htab strings;	/* struct interned by content */
};

static uint64_t hash_u64(uint64_t x)
{
	/* splitmix64's finalizer: pids and code addresses differ in few bits */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_str(const char *str)
{
	uint64_t h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *str; str++) {
		h ^= (unsigned char)*str;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int htab_grow(struct htab *h)
{
	size_t n = h->nbuckets ? h->nbuckets * 2 : 16;
	struct hnode **buckets;
	size_t i;

	buckets = calloc(n, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	for (i = 0; i < h->nbuckets; i++) {
		struct hnode *node = h->buckets[i], *next;

		for (; node; node = next) {
			next = node->next;
			node->next = buckets[node->hash & (n - 1)];
			buckets[node->hash & (n - 1)] = node;
		}
	}
	free(h->buckets);
	h->buckets = buckets;
	h->nbuckets = n;
	return 0;
}

static int htab_add(struct htab *h, struct hnode *node)
{
	struct hnode **bucket;

	/* A table that cannot grow still works, with longer chains. */
	if (h->count >= h->nbuckets && htab_grow(h) && !h->nbuckets)
		return -ENOMEM;
	bucket = &h->buckets[node->hash & (h->nbuckets - 1)];
	node->next = *bucket;
	*bucket = node;
	h->count++;
	return 0;
}

static struct hnode *htab_first(const struct htab *h, uint64_t hash)
{
	return h->nbuckets ? h->buckets[hash & (h->nbuckets - 1)] : NULL;
}

static void htab_del(struct htab *h, struct hnode *node)
{
	struct hnode **pp = &h->buckets[node->hash & (h->nbuckets - 1)];

	while (*pp != node)
		pp = &(*pp)->next;
	*pp = node->next;
	h->count--;
}

/* Empty h, passing each node to release. */
static void htab_clear(struct htab *h, void (*release)(struct hnode *))
{
	size_t i;

	for (i = 0; i < h->nbuckets; i++) {
		struct hnode *node = h->buckets[i], *next;

		for (; node; node = next) {
			next = node->next;
			release(node);
		}
	}
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = 0;
	h->count = 0;
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
	struct hnode *node;
	uint64_t hash;
	size_t len;

	*out = NULL;
	if (!str)
		return 0;
	hash = hash_str(str);
	for (node = htab_first(&s->strings, hash); node; node = node->next) {
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
	uint64_t hash = hash_u64((uint64_t)pid);
	struct hnode *node;

	for (node = htab_first(&s->procs, hash); node; node = node->next) {
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
	p->node.hash = hash_u64((uint64_t)pid);
	if (htab_add(&s->procs, &p->node)) {
		free(p);
		return NULL;
	}
	return p;
}

static void proc_free(struct hnode *node)
{
	struct sym_proc *p = container_of(node, struct sym_proc, node);
	struct hnode *next;

	htab_clear(&p->cache, free_cache_entry);
	for (node = p->retired; node; node = next) {
		next = node->next;
		free_cache_entry(node);
	}
	dwfl_end(p->dwfl);
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

/*
 * Open path as process pid sees it, through /proc/PID/root (it may live in
 * another mount namespace); ours is the same file as we see it, if we do.
 * Only regular files: mappings of devices may block or have side effects
 * on open.
 */
static int open_in_root(pid_t pid, const char *path, const char *ours, char **file_name)
{
	struct stat st, host;
	char *rooted;
	int fd;

	if (asprintf(&rooted, "/proc/%d/root%s", (int)pid, path) < 0)
		return -1;
	if (stat(rooted, &st) || !S_ISREG(st.st_mode)) {
		free(rooted);
		return -1;
	}
	fd = open(rooted, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(rooted);
		return -1;
	}
	/*
	 * libdwfl looks for separate debug info next to file_name (lazily,
	 * maybe after the process exited).  When the process shares our view
	 * of the file, its plain path outlives /proc/PID.
	 */
	if (!stat(ours, &host) && host.st_dev == st.st_dev && host.st_ino == st.st_ino) {
		char *plain = strdup(ours);

		if (plain) {
			free(rooted);
			rooted = plain;
		}
	}
	*file_name = rooted;
	return fd;
}

/*
 * find_elf callback.  libdwfl passes no process to it: its sym_proc, which
 * owns the Dwfl, is stored in the module's userdata by open_module before
 * anything opens the ELF file.
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	const struct sym_proc *p = *userdata;

	if (p && p->pid > 0 && modname[0] == '/') {
		int fd = open_in_root(p->pid, procfs_unroot(p->root, modname), modname,
				      file_name);

		if (fd >= 0)
			return fd;
	}
	/* Plain path, or "[vdso: PID]" copied from the process memory. */
	return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
}

static char *debuginfo_path;	/* NULL: libdwfl's default search path */

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* dwfl_getmodules callback: open each new module's ELF file now, while
 * /proc/PID exists; debug info is looked up lazily, on first use. */
static int open_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	struct sym_proc *p = arg;
	Dwarf_Addr bias;

	if (!*userdata)
		*userdata = p;
	if (!dwfl_module_getelf(mod, &bias))
		lw_debug("symbolizer: pid %d: no ELF for %s: %s\n", (int)p->pid,
			 procfs_unroot(p->root, name), dwfl_errmsg(-1));
	return DWARF_CB_OK;
}

/* Add pid's current mappings to its module list (modules already known
 * stay, even if unmapped since: their addresses may still be in stacks). */
static int proc_report(struct sym_proc *p)
{
	bool fresh = !p->dwfl;
	char *root;
	int ret, err;

	if (fresh) {
		p->dwfl = dwfl_begin(&proc_callbacks);
		if (!p->dwfl)
			return -ENOMEM;
	}
	/* the prefix of the paths read below; once the process is gone,
	 * the one its modules were reported with */
	if (!procfs_read_root(p->pid, &root)) {
		free(p->root);
		p->root = root;
	}
	dwfl_report_begin_add(p->dwfl);
	ret = dwfl_linux_proc_report(p->dwfl, p->pid);
	/* Ends the report in every case; on failure what was known stays. */
	if (dwfl_report_end(p->dwfl, NULL, NULL) && !ret)
		ret = -1;
	if (ret) {
		/* > 0: an errno from opening /proc files; -1: a libdwfl error,
		 * whose message -EIO does not carry. */
		err = ret > 0 ? -ret : -EIO;
		if (ret < 0)
			lw_debug("symbolizer: reading the modules of pid %d: %s\n", (int)p->pid,
				 dwfl_errmsg(-1));
		if (fresh) {
			dwfl_end(p->dwfl);
			p->dwfl = NULL;
		}
		return err;
	}
	p->no_refresh = false;
	p->gen++;
	dwfl_getmodules(p->dwfl, open_module, p, 0);
	return 0;
}

struct symbolizer *symbolizer__new(void)
{
	return calloc(1, sizeof(struct symbolizer));
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
	err = proc_report(p);
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
	if (!pp || !pp->dwfl)
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

int symbolizer__add_elf(struct symbolizer *s, pid_t pid, const char *path, uint64_t base)
{
	bool created = false, offline = false;
	struct sym_proc *p;
	Dwfl_Module *mod;
	int fd = -1, err = 0;

	if (!s || !path)
		return -EINVAL;
	p = proc_find_own(s, pid);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		created = true;
	}
	if (!p->dwfl) {
		p->dwfl = dwfl_begin(&proc_callbacks);
		if (!p->dwfl) {
			err = -ENOMEM;
			goto cleanup;
		}
		offline = true;
	}
	/* Opened here for a precise errno; on success the module owns fd. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	dwfl_report_begin_add(p->dwfl);
	/* add_p_vaddr = false: base is where file offset 0 is mapped, as in
	 * /proc/PID/maps, not the load bias. */
	mod = dwfl_report_elf(p->dwfl, path, path, fd, base, false);
	if (!mod)
		lw_debug("symbolizer: cannot use %s at 0x%llx: %s\n", path,
			 (unsigned long long)base, dwfl_errmsg(-1));
	else
		fd = -1;
	if (dwfl_report_end(p->dwfl, NULL, NULL) || !mod) {
		/* not ELF, or overlapping a module reported before */
		err = -EINVAL;
		goto cleanup;
	}
	/* An offline process has no /proc entry to refresh from. */
	if (offline)
		p->no_refresh = true;
	p->gen++;
cleanup:
	if (fd >= 0)
		close(fd);
	if (err && created)
		proc_remove(s, p);
	return err;
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

static bool proc_knows(struct sym_proc *p, uint64_t ip)
{
	/* ip - 1 too: a return address may sit just past its module's end
	 * (a call to a noreturn function as its last instruction). */
	return dwfl_addrmodule(p->dwfl, ip) || (ip && dwfl_addrmodule(p->dwfl, ip - 1));
}

void symbolizer__note_stack(struct symbolizer *s, pid_t pid, const uint64_t *ips, size_t n)
{
	struct sym_proc *p;
	size_t i;

	if (!s || pid <= 0)
		return;
	p = proc_find(s, pid);
	if (!p) {
		/* A fresh module list covers this stack already, if anything can. */
		symbolizer__add_process(s, pid);
		return;
	}
	if (p->no_refresh)
		return;
	for (i = 0; i < n; i++) {
		int err;

		if (!ips[i] || (p->dwfl && proc_knows(p, ips[i])))
			continue;
		/* One refresh per stack at most: addresses that stay unknown
		 * (JIT code, garbage from frame-pointer unwinding) must not
		 * cost a read of /proc/PID/maps each. */
		err = proc_report(p);
		if (err == -ENOENT || err == -ESRCH)
			p->no_refresh = true;	/* the process is gone */
		return;
	}
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

/* How a module is shown: its path as the process sees it. */
static const char *module_name(const struct sym_proc *p, Dwfl_Module *mod)
{
	const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

	/* dwfl_linux_proc_report names the vDSO "[vdso: PID]" */
	if (name && !strncmp(name, "[vdso", 5))
		return "[vdso]";
	return procfs_unroot(p->root, name);
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
		     const char *file, const char *module)
{
	int err;

	err = intern_function(s, function, &f->function);
	if (!err)
		err = intern(s, file, &f->file);
	if (!err)
		err = intern(s, module, &f->module);
	return err;
}

/* Resolve ip in p's modules into a new cache entry. */
static int symbolize(struct symbolizer *s, struct sym_proc *p, uint64_t ip,
		     bool is_return_address, struct cache_entry **out)
{
	uint64_t lookup = is_return_address && ip ? ip - 1 : ip;
	const char *sym = NULL, *src = NULL, *modname = NULL;
	struct cache_entry *e = NULL;
	Dwarf_Die *scopes = NULL;
	Dwfl_Module *mod = NULL;
	int nscopes = 0, nframes, i, line = 0, err = 0;
	Dwarf_Addr bias = 0;
	GElf_Off sym_off = 0;
	Dwfl_Line *dl;
	GElf_Sym elfsym;

	if (p->dwfl)
		mod = dwfl_addrmodule(p->dwfl, lookup);
	if (mod) {
		Dwarf_Die *cudie;

		modname = module_name(p, mod);
		sym = dwfl_module_addrinfo(mod, lookup, &sym_off, &elfsym, NULL, NULL, NULL);
		dl = dwfl_module_getsrc(mod, lookup);
		if (dl)
			src = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
		cudie = dwfl_module_addrdie(mod, lookup, &bias);
		if (cudie) {
			nscopes = function_scopes(cudie, lookup - bias, &scopes);
			if (nscopes < 0)
				nscopes = 0;
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
	e->gen = p->gen;
	e->n = nframes;

	for (i = 0; i < nframes; i++) {
		struct sym_frame *f = &e->frames[i];
		const char *function = NULL, *file = src;
		int fline = line;

		f->address = ip;
		if (i > 0)
			/* called from where the inner instance was inlined */
			call_site(&scopes[i - 1], &file, &fline);
		f->line = fline;
		if (i < nframes - 1) {
			/* Where an inlined instance begins says little; leave 0. */
			function = die_name(&scopes[i]);
			f->inlined = true;
		} else if (sym) {
			/* The symbol table names what the code was linked as
			 * (e.g. "foo.cold"); offset from the original ip. */
			function = sym;
			f->offset = sym_off + (ip - lookup);
		} else if (i < nscopes) {
			Dwarf_Addr low;

			function = die_name(&scopes[i]);
			if (function && !dwarf_lowpc(&scopes[i], &low))
				f->offset = ip - (low + bias);
		}
		err = set_frame(s, f, function, file, modname);
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

static uint64_t cache_hash(uint64_t ip, bool is_return_address)
{
	return hash_u64(ip ^ ((uint64_t)is_return_address << 63));
}

static struct cache_entry *cache_find(struct sym_proc *p, uint64_t ip, bool is_return_address)
{
	uint64_t hash = cache_hash(ip, is_return_address);
	struct hnode *node;

	for (node = htab_first(&p->cache, hash); node; node = node->next) {
		struct cache_entry *e = container_of(node, struct cache_entry, node);

		if (e->ip == ip && e->is_return_address == is_return_address)
			return e;
	}
	return NULL;
}

int symbolizer__resolve(struct symbolizer *s, pid_t pid, uint64_t ip, bool is_return_address,
			const struct sym_frame **frames)
{
	struct cache_entry *old, *e = NULL;
	struct sym_proc *p;
	int err;

	if (!s || !frames || pid < 0)
		return -EINVAL;
	p = proc_find(s, pid);
	if (!p) {
		p = proc_new(s, pid);
		if (!p)
			return -ENOMEM;
		err = pid > 0 ? proc_report(p) : -ESRCH;
		if (err) {
			/* Keep p: its unknown results are cached like others. */
			lw_debug("symbolizer: pid %d unknown and not readable: %s\n", (int)pid,
				 strerror(-err));
			p->no_refresh = true;
		}
	}

	old = cache_find(p, ip, is_return_address);
	/* An address outside every module may be in one added since. */
	if (old && (old->frames[0].module || old->gen == p->gen)) {
		*frames = old->frames;
		return old->n;
	}
	err = symbolize(s, p, ip, is_return_address, &e);
	if (err)
		return err;
	if (old && !e->frames[0].module) {
		/* Still unknown: keep the entry the caller may hold. */
		old->gen = p->gen;
		free(e);
		*frames = old->frames;
		return old->n;
	}
	e->node.hash = cache_hash(ip, is_return_address);
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

/* The process's entry, added now if it is new. */
static struct sym_proc *proc_get(struct symbolizer *s, pid_t pid)
{
	struct sym_proc *p = proc_find(s, pid);

	if (!p && !symbolizer__add_process(s, pid))
		p = proc_find(s, pid);
	return p && p->dwfl ? p : NULL;
}

const char *symbolizer__module(struct symbolizer *s, pid_t pid, uint64_t ip)
{
	struct sym_proc *p = proc_get(s, pid);
	Dwfl_Module *mod = p ? dwfl_addrmodule(p->dwfl, ip) : NULL;

	return mod ? module_name(p, mod) : NULL;
}

int symbolizer__module_elf(struct symbolizer *s, pid_t pid, uint64_t ip, Elf **elf,
			   uint64_t *bias)
{
	struct sym_proc *p = proc_get(s, pid);
	Dwfl_Module *mod = p ? dwfl_addrmodule(p->dwfl, ip) : NULL;
	Dwarf_Addr b = 0;

	*elf = mod ? dwfl_module_getelf(mod, &b) : NULL;
	*bias = b;
	return *elf ? 0 : -ENOENT;
}

int symbolizer__mapping(struct symbolizer *s, pid_t pid, uint64_t ip, struct sym_mapping *m)
{
	static const char hex[] = "0123456789abcdef";
	struct sym_proc *p = proc_get(s, pid);
	Dwfl_Module *mod = p ? dwfl_addrmodule(p->dwfl, ip) : NULL;
	const unsigned char *bits;
	GElf_Addr vaddr, low = 0, high = 0;
	char *id;
	int n, i, err = 0;

	if (!mod)
		return -ENOENT;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	m->start = low;
	m->limit = high;
	m->file = module_name(p, mod);
	m->build_id = NULL;
	n = dwfl_module_build_id(mod, &bits, &vaddr);
	if (n <= 0)
		return 0;
	id = malloc(2 * (size_t)n + 1);
	if (!id)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		id[2 * i] = hex[bits[i] >> 4];
		id[2 * i + 1] = hex[bits[i] & 15];
	}
	id[2 * n] = '\0';
	err = intern(s, id, &m->build_id);
	free(id);
	return err;
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
	struct sym_proc *p = proc_get(s, pid);
	Dwfl_Module *mod = p ? dwfl_addrmodule(p->dwfl, ip) : NULL;
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
		if (!cfi || dwarf_cfi_addrframe(cfi, ip - bias, &frame))
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
