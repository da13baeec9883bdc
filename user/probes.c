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

static bool is_libc(const char *path)
{
	const char *base = base_name(path);

	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
}

static bool is_libstdcxx(const char *path)
{
	return !strncmp(base_name(path), "libstdc++.so", 12);
}

/* Fill lib->probes from the ELF file's symbols in table; -ENOEXEC when
 * none is there, or when a libc lacks malloc or free. */
static int plan_probes(struct alloc_lib *lib, const struct alloc_symbol *table, bool at_entry)
{
	const struct alloc_symbol *alloc_symbols = table;
	struct elf_file *ef;
	size_t i, j;
	int err = 0;

	ef = elf_file__open(lib->open_path);
	if (!ef)
		return -errno;
	for (i = 0; alloc_symbols[i].symbol && lib->n < LW_MAX_LIB_PROBES; i++) {
		struct alloc_probe *p;
		struct elf_func f;
		bool dup = false;

		if (elf_file__find_func(ef, alloc_symbols[i].symbol, &f))
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
		if (table == libc_symbols ? !have_malloc || !have_free : !lib->n)
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
		err = plan_probes(out, table, at_entry);
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
