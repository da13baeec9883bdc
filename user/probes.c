// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfsym.h"
#include "log.h"
#include "probes.h"
#include "probesite.h"
#include "procfs.h"

static const struct {
	const char *symbol;
	enum lw_fn fn;
} alloc_symbols[] = {
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
};

void alloc_lib__free(struct alloc_lib *lib)
{
	if (!lib)
		return;
	free(lib->path);
	free(lib->open_path);
	memset(lib, 0, sizeof(*lib));
}

static bool is_libc(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
}

/* Fill lib->probes from the ELF file; -ENOEXEC when it has no malloc/free. */
static int plan_probes(struct alloc_lib *lib, bool at_entry)
{
	struct elf_file *ef;
	size_t i, j;
	int err = 0;

	ef = elf_file__open(lib->open_path);
	if (!ef)
		return -errno;
	for (i = 0; i < sizeof(alloc_symbols) / sizeof(alloc_symbols[0]); i++) {
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
		if (!have_malloc || !have_free)
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

int alloc_lib_find(pid_t pid, bool at_entry, struct alloc_lib *out)
{
	struct proc_maps maps = {};
	const char *found = NULL;
	char *exe = NULL;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	err = procfs_read_maps(pid, &maps);
	if (err)
		return err;
	for (i = 0; i < maps.n && !found; i++) {
		if (maps.maps[i].path && maps.maps[i].path[0] == '/' && is_libc(maps.maps[i].path))
			found = maps.maps[i].path;
	}
	if (found) {
		err = set_paths(out, pid, found);
		if (!err)
			err = plan_probes(out, at_entry);
		goto cleanup;
	}
	/* No libc mapped: a static executable may carry its own malloc. */
	{
		char link[64];
		char buf[4096];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		len = readlink(link, buf, sizeof(buf) - 1);
		if (len < 0) {
			err = errno == ENOENT ? -ENOENT : -errno;
			goto cleanup;
		}
		buf[len] = '\0';
		exe = strdup(buf);
		if (!exe) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	err = set_paths(out, pid, exe);
	if (!err)
		err = plan_probes(out, at_entry);
cleanup:
	if (err)
		alloc_lib__free(out);
	free(exe);
	proc_maps__free(&maps);
	return err;
}
