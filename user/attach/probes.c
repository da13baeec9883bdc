// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "log.h"
#include "probes.h"
#include "probesite.h"
#include "procfs.h"

struct alloc_symbol {
	const char *symbol;
	enum lw_fn fn;
};

static const struct alloc_symbol libc_symbols[] = {
	{ "malloc", LW_FN_MALLOC },
	{ "calloc", LW_FN_CALLOC },
	{ "realloc", LW_FN_REALLOC },
	{ "reallocarray", LW_FN_REALLOCARRAY },
	{ "free", LW_FN_FREE },
	{ "posix_memalign", LW_FN_POSIX_MEMALIGN },
	{ "aligned_alloc", LW_FN_MEMALIGN },
	{ "memalign", LW_FN_MEMALIGN },
	{ "valloc", LW_FN_VALLOC },
	{ "pvalloc", LW_FN_PVALLOC },
	{ NULL, 0 },
};

/*
 * libstdc++'s operator new family: the size comes first in each, as for
 * malloc.  They call malloc (or aligned_alloc) themselves, which the
 * nesting rule ignores: the block belongs to the caller of new.  operator
 * delete needs no probe: it calls free.
 */
static const struct alloc_symbol cxx_symbols[] = {
	{ "_Znwm", LW_FN_MALLOC },				/* new(size_t) */
	{ "_Znam", LW_FN_MALLOC },				/* new[](size_t) */
	{ "_ZnwmRKSt9nothrow_t", LW_FN_MALLOC },		/* nothrow */
	{ "_ZnamRKSt9nothrow_t", LW_FN_MALLOC },
	{ "_ZnwmSt11align_val_t", LW_FN_MALLOC },		/* aligned */
	{ "_ZnamSt11align_val_t", LW_FN_MALLOC },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", LW_FN_MALLOC },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", LW_FN_MALLOC },
	{ NULL, 0 },
};

/*
 * Other allocators.  Rules for each table, from their code (Debian 12's
 * jemalloc 5.3, gperftools 2.10, mimalloc 2.0):
 *  - a function that calls or jumps to another probed allocating function
 *    is fine (the nesting rule counts the outermost call once);
 *  - a free-like function that ends in another probed free must NOT be
 *    listed: frees have no depth, so the block would be freed twice
 *    (the second as an unknown free);
 *  - a function whose size cannot be known at entry (mi_strdup) is left
 *    out, as are mimalloc's heap-first API (mi_heap_*) and mi_reallocf.
 * Names absent from a build are skipped; aliases are probed once.
 */
#define LW_STD_SYMBOLS							\
	{ "malloc", LW_FN_MALLOC },					\
	{ "calloc", LW_FN_CALLOC },					\
	{ "realloc", LW_FN_REALLOC },					\
	{ "reallocarray", LW_FN_REALLOCARRAY },				\
	{ "free", LW_FN_FREE },						\
	{ "posix_memalign", LW_FN_POSIX_MEMALIGN },			\
	{ "aligned_alloc", LW_FN_MEMALIGN },				\
	{ "memalign", LW_FN_MEMALIGN },					\
	{ "valloc", LW_FN_VALLOC },					\
	{ "pvalloc", LW_FN_PVALLOC }

/* Their own new family: the size comes first, as for malloc. */
#define LW_NEW_SYMBOLS							\
	{ "_Znwm", LW_FN_MALLOC },					\
	{ "_Znam", LW_FN_MALLOC },					\
	{ "_ZnwmRKSt9nothrow_t", LW_FN_MALLOC },				\
	{ "_ZnamRKSt9nothrow_t", LW_FN_MALLOC },				\
	{ "_ZnwmSt11align_val_t", LW_FN_MALLOC },			\
	{ "_ZnamSt11align_val_t", LW_FN_MALLOC },			\
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", LW_FN_MALLOC },		\
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", LW_FN_MALLOC }

/* jemalloc: its deletes jump to free or sdallocx, except the sized ones,
 * which free inside sdallocx past its entry. */
static const struct alloc_symbol jemalloc_symbols[] = {
	LW_STD_SYMBOLS,
	LW_NEW_SYMBOLS,
	{ "mallocx", LW_FN_MALLOC },		/* (size, flags) */
	{ "rallocx", LW_FN_REALLOC },		/* (ptr, size, flags) */
	{ "xallocx", LW_FN_XALLOCX },		/* (ptr, size, extra, flags) */
	{ "dallocx", LW_FN_FREE },		/* (ptr, flags) */
	{ "sdallocx", LW_FN_FREE },		/* (ptr, size, flags) */
	{ "_ZdlPvm", LW_FN_FREE },		/* delete(void *, size_t) */
	{ "_ZdaPvm", LW_FN_FREE },
	{ NULL, 0 },
};

/* tcmalloc: tc_* are aliases of these; every delete has its own code. */
static const struct alloc_symbol tcmalloc_symbols[] = {
	LW_STD_SYMBOLS,
	LW_NEW_SYMBOLS,
	{ "tc_malloc_skip_new_handler", LW_FN_MALLOC },
	{ "_ZdlPvm", LW_FN_FREE },
	{ "_ZdaPvm", LW_FN_FREE },
	{ "_ZdlPvRKSt9nothrow_t", LW_FN_FREE },
	{ "_ZdaPvRKSt9nothrow_t", LW_FN_FREE },
	{ "_ZdlPvSt11align_val_t", LW_FN_FREE },
	{ "_ZdaPvSt11align_val_t", LW_FN_FREE },
	{ "_ZdlPvmSt11align_val_t", LW_FN_FREE },
	{ "_ZdaPvmSt11align_val_t", LW_FN_FREE },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", LW_FN_FREE },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", LW_FN_FREE },
	{ NULL, 0 },
};

/* mimalloc: malloc, calloc, realloc, free and new are mi_* aliases, the
 * other standard names jump to their mi_* function; every free-like
 * function ends in mi_free, so free alone is probed. */
static const struct alloc_symbol mimalloc_symbols[] = {
	LW_STD_SYMBOLS,
	LW_NEW_SYMBOLS,
	{ "mi_posix_memalign", LW_FN_POSIX_MEMALIGN },
	{ "mi_aligned_alloc", LW_FN_MEMALIGN },
	{ "mi_memalign", LW_FN_MEMALIGN },
	{ "mi_valloc", LW_FN_VALLOC },
	{ "mi_pvalloc", LW_FN_PVALLOC },
	{ "mi_reallocarray", LW_FN_REALLOCARRAY },
	{ "mi_new_nothrow", LW_FN_MALLOC },
	{ "mi_new_aligned_nothrow", LW_FN_MALLOC },	/* (size, align) */
	{ "mi_malloc_small", LW_FN_MALLOC },
	{ "mi_zalloc", LW_FN_MALLOC },
	{ "mi_zalloc_small", LW_FN_MALLOC },
	{ "mi_malloc_aligned", LW_FN_MALLOC },		/* (size, align) */
	{ "mi_zalloc_aligned", LW_FN_MALLOC },
	{ "mi_mallocn", LW_FN_CALLOC },			/* (count, size) */
	{ "mi_new_n", LW_FN_CALLOC },
	{ "mi_calloc_aligned", LW_FN_CALLOC },		/* (count, size, align) */
	{ "mi_rezalloc", LW_FN_REALLOC },		/* (ptr, size) */
	{ "mi_realloc_aligned", LW_FN_REALLOC },	/* (ptr, size, align) */
	{ "mi_rezalloc_aligned", LW_FN_REALLOC },
	{ "mi_new_realloc", LW_FN_REALLOC },
	{ "mi_expand", LW_FN_REALLOC },		/* in place: ptr, or NULL */
	{ "mi_reallocn", LW_FN_REALLOCARRAY },		/* (ptr, count, size) */
	{ "mi_recalloc", LW_FN_REALLOCARRAY },
	{ "mi_recalloc_aligned", LW_FN_REALLOCARRAY },	/* (ptr, count, size, align) */
	{ "mi_new_reallocn", LW_FN_REALLOCARRAY },
	{ NULL, 0 },
};

/* --allocator-prefix: the malloc family and jemalloc's API, prefixed
 * (je_malloc, je_mallocx, tc_malloc, mi_malloc, ...). */
static const struct alloc_symbol prefixed_symbols[] = {
	LW_STD_SYMBOLS,
	{ "mallocx", LW_FN_MALLOC },
	{ "rallocx", LW_FN_REALLOC },
	{ "xallocx", LW_FN_XALLOCX },
	{ "dallocx", LW_FN_FREE },
	{ "sdallocx", LW_FN_FREE },
	{ NULL, 0 },
};

static const struct other_alloc {
	enum lw_other_alloc kind;
	const char *lib;	/* prefix of the library's file name */
	const struct alloc_symbol *symbols;
} other_allocs[] = {
	{ LW_ALLOC_JEMALLOC, "libjemalloc", jemalloc_symbols },
	/* libtcmalloc_minimal, libtcmalloc, libtcmalloc_and_profiler */
	{ LW_ALLOC_TCMALLOC, "libtcmalloc", tcmalloc_symbols },
	{ LW_ALLOC_MIMALLOC, "libmimalloc", mimalloc_symbols },
};

void alloc_lib__free(struct alloc_lib *lib)
{
	if (!lib)
		return;
	free(lib->path);
	free(lib->open_path);
	memset(lib, 0, sizeof(*lib));
}

static const char *base_name(const char *path)
{
	const char *base = strrchr(path, '/');

	return base ? base + 1 : path;
}

bool probes_is_libc(const char *path)
{
	const char *base;

	if (!path)
		return false;
	base = base_name(path);
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5) ||
	       !strncmp(base, "libc.musl", 9);
}

static bool is_libc(const char *path)
{
	return probes_is_libc(path);
}

static bool is_libstdcxx(const char *path)
{
	return !strncmp(base_name(path), "libstdc++.so", 12);
}

/* Fill lib->probes from the ELF file's symbols in table, each name with
 * prefix before it; -ENOEXEC when none is there, or when the malloc family
 * of a libc or a prefixed allocator lacks malloc or free. */
static int plan_probes(struct alloc_lib *lib, const struct alloc_symbol *table, const char *prefix,
		       bool at_entry)
{
	const struct alloc_symbol *alloc_symbols = table;
	struct elf_file *ef;
	char name[128];
	size_t i, j;
	int err = 0;

	ef = elf_file__open(lib->open_path);
	if (!ef)
		return -errno;
	for (i = 0; alloc_symbols[i].symbol && lib->n < LW_MAX_LIB_PROBES; i++) {
		struct alloc_probe *p;
		struct elf_func f;
		bool dup = false;

		snprintf(name, sizeof(name), "%s%s", prefix, alloc_symbols[i].symbol);
		if (elf_file__find_func(ef, name, &f))
			continue;
		for (j = 0; j < lib->n; j++)
			dup |= lib->probes[j].func_offset == f.file_offset;
		if (dup)
			continue;
		p = &lib->probes[lib->n++];
		p->fn = alloc_symbols[i].fn;
		p->symbol = alloc_symbols[i].symbol;
		p->func_offset = f.file_offset;
		p->site_offset = at_entry ? f.file_offset : probe_site_choose(ef, &f);
		p->ret_probe = p->fn != LW_FN_FREE;
	}
	{
		bool have_malloc = false, have_free = false;

		for (j = 0; j < lib->n; j++) {
			have_malloc |= lib->probes[j].fn == LW_FN_MALLOC;
			have_free |= lib->probes[j].fn == LW_FN_FREE;
		}
		if (table == libc_symbols || table == prefixed_symbols ?
			    !have_malloc || !have_free : !lib->n)
			err = -ENOEXEC;
	}
	elf_file__close(ef);
	return err;
}

static int set_paths(struct alloc_lib *lib, pid_t pid, const char *path)
{
	lib->path = strdup(path);
	if (!lib->path || asprintf(&lib->open_path, "/proc/%d/root%s", pid, path) < 0) {
		lib->open_path = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* The first file mapped in pid whose path passes match, malloc'd in *path
 * (NULL when none).  Returns 0 or -Exxx. */
static int find_mapped(pid_t pid, bool (*match)(const char *path), char **path)
{
	struct proc_maps maps = {};
	size_t i;
	int err;

	*path = NULL;
	err = procfs_read_maps(pid, &maps);
	if (err)
		return err;
	for (i = 0; i < maps.n && !*path; i++) {
		const char *p = maps.maps[i].path;

		if (p && p[0] == '/' && match(p) && !(*path = strdup(p)))
			err = -ENOMEM;
	}
	proc_maps__free(&maps);
	return err;
}

/* The executable of pid, malloc'd in *path.  Returns 0 or -Exxx. */
static int read_exe(pid_t pid, char **path)
{
	char link[64];
	char buf[PATH_MAX + 1];	/* the kernel's bound on a path */
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	len = readlink(link, buf, sizeof(buf) - 1);
	if (len < 0)
		return -errno;
	if ((size_t)len >= sizeof(buf) - 1)
		return -ENAMETOOLONG;
	buf[len] = '\0';
	*path = strdup(buf);
	return *path ? 0 : -ENOMEM;
}

/* Plan the probes of the file at path in pid from table. */
static int plan_lib(pid_t pid, const char *path, const struct alloc_symbol *table, bool at_entry,
		    struct alloc_lib *out)
{
	int err = set_paths(out, pid, path);

	if (!err)
		err = plan_probes(out, table, "", at_entry);
	if (err)
		alloc_lib__free(out);
	return err;
}

int alloc_lib_find(pid_t pid, bool at_entry, struct alloc_lib *out)
{
	char *path = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	err = find_mapped(pid, is_libc, &path);
	/* no libc mapped: a static executable may carry its own malloc */
	if (!err && !path)
		err = read_exe(pid, &path);
	if (!err)
		err = plan_lib(pid, path, libc_symbols, at_entry, out);
	free(path);
	return err;
}

int cxx_lib_find(pid_t pid, bool at_entry, struct alloc_lib *out)
{
	char *path = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	err = find_mapped(pid, is_libstdcxx, &path);
	if (!err && !path)
		err = -ENOENT;
	if (!err)
		err = plan_lib(pid, path, cxx_symbols, at_entry, out);
	free(path);
	return err;
}

/* The other allocator whose library path names, or NULL. */
static const struct other_alloc *other_alloc_of(const char *path)
{
	const char *base = base_name(path);
	size_t i;

	for (i = 0; i < sizeof(other_allocs) / sizeof(other_allocs[0]); i++) {
		const char *lib = other_allocs[i].lib;

		if (!strncmp(base, lib, strlen(lib)) && strstr(base, ".so"))
			return &other_allocs[i];
	}
	return NULL;
}

int other_lib_find(pid_t pid, bool at_entry, unsigned done, unsigned *kind,
		   struct alloc_lib *out)
{
	struct proc_maps maps = {};
	const struct other_alloc *a = NULL;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	err = procfs_read_maps(pid, &maps);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < maps.n && err == -ENOENT; i++) {
		const char *p = maps.maps[i].path;

		if (!p || p[0] != '/' || !(a = other_alloc_of(p)) || done & a->kind)
			continue;
		err = plan_lib(pid, p, a->symbols, at_entry, out);
		if (!err)
			*kind = a->kind;
		else if (err == -ENOEXEC)	/* not the allocator after all */
			err = -ENOENT;
	}
	proc_maps__free(&maps);
	return err;
}

/* The dynamic linker's default search path on Debian (ld.so.conf puts
 * the multiarch directories first). */
#define LW_LIB_DIRS "/usr/local/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:" \
	"/usr/lib/x86_64-linux-gnu:/usr/local/lib:/lib64:/usr/lib64:/lib:/usr/lib"

/* Plan the allocator library name (a DT_NEEDED or LD_PRELOAD entry) as
 * the dynamic linker would find it: as given when it holds a '/', else in
 * dirs (':'-separated, may be NULL) then the default directories.
 * -ENOENT when it is no other allocator or no such file is there. */
static int plan_named(pid_t pid, const char *name, const char *dirs, bool at_entry,
		      unsigned done, unsigned *kind, struct alloc_lib *out)
{
	const struct other_alloc *a = other_alloc_of(name);
	char *list, *dir, *save = NULL, *path, *full;
	int err = -ENOENT;

	if (!a || done & a->kind)
		return -ENOENT;
	if (strchr(name, '/'))
		list = strdup("");
	else if (asprintf(&list, "%s%s%s", dirs ? dirs : "", dirs ? ":" : "", LW_LIB_DIRS) < 0)
		list = NULL;
	if (!list)
		return -ENOMEM;
	for (dir = strtok_r(list, ":", &save); err == -ENOENT && (dir || !*list);
	     dir = strtok_r(NULL, ":", &save)) {
		/* a path: the list is empty, one pass with the name itself */
		if (asprintf(&path, "%s%s%s", dir ? dir : "", dir ? "/" : "", name) < 0) {
			err = -ENOMEM;
			break;
		}
		if (asprintf(&full, "/proc/%d/root%s", pid, path) >= 0) {
			if (!access(full, R_OK) && !plan_lib(pid, path, a->symbols, at_entry, out)) {
				*kind = a->kind;
				err = 0;
			}
			free(full);
		}
		free(path);
		if (!dir)
			break;
	}
	free(list);
	return err;
}

/* The value of NAME= in an environ block (NUL-separated), or NULL. */
static const char *env_value(const char *env, size_t len, const char *name)
{
	size_t n = strlen(name), off = 0;

	while (off < len) {
		const char *e = env + off;
		size_t elen = strnlen(e, len - off);

		if (elen > n && !strncmp(e, name, n) && e[n] == '=' && off + elen < len)
			return e + n + 1;
		off += elen + 1;
	}
	return NULL;
}

int other_lib_predict(pid_t pid, bool at_entry, unsigned done, unsigned *kind,
		      struct alloc_lib *out)
{
	char file[64], *env = NULL, *preload = NULL, *name, *save = NULL;
	const char *dirs = NULL, *v;
	struct elf_file *ef;
	size_t len = 0, i;
	int err = -ENOENT;

	memset(out, 0, sizeof(*out));
	snprintf(file, sizeof(file), "/proc/%d/environ", pid);
	if (!procfs_read_file(file, &env, &len)) {
		dirs = env_value(env, len, "LD_LIBRARY_PATH");
		v = env_value(env, len, "LD_PRELOAD");
		if (v && !(preload = strdup(v))) {
			free(env);
			return -ENOMEM;
		}
	}
	/* LD_PRELOAD: names separated by spaces or colons */
	for (name = preload ? strtok_r(preload, " :", &save) : NULL; name && err == -ENOENT;
	     name = strtok_r(NULL, " :", &save))
		err = plan_named(pid, name, dirs, at_entry, done, kind, out);
	snprintf(file, sizeof(file), "/proc/%d/exe", pid);
	ef = err == -ENOENT ? elf_file__open(file) : NULL;
	for (i = 0; ef && err == -ENOENT && (v = elf_file__needed(ef, i)); i++)
		err = plan_named(pid, v, dirs, at_entry, done, kind, out);
	elf_file__close(ef);
	free(preload);
	free(env);
	return err;
}

int prefixed_lib_find(pid_t pid, const char *prefix, bool at_entry, struct alloc_lib *out)
{
	struct proc_maps maps = {};
	size_t i, j;
	int err;

	memset(out, 0, sizeof(*out));
	err = procfs_read_maps(pid, &maps);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < maps.n && err == -ENOENT; i++) {
		const char *p = maps.maps[i].path;
		bool seen = false;

		/* the allocator libraries have their own probes; each file once */
		if (!p || p[0] != '/' || other_alloc_of(p))
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = maps.maps[j].path && !strcmp(maps.maps[j].path, p);
		if (seen)
			continue;
		err = set_paths(out, pid, p);
		if (!err)
			err = plan_probes(out, prefixed_symbols, prefix, at_entry);
		if (err)
			alloc_lib__free(out);
		/* not this file: no such names, not an ELF file, gone */
		if (err && err != -ENOMEM)
			err = -ENOENT;
	}
	proc_maps__free(&maps);
	return err;
}
