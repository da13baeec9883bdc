// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ELF files as libdwfl modules: opened through /proc/PID/root or
 * /proc/PID/map_files (the file may live in another mount namespace, or be
 * deleted), once for every process that maps the same file.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "symbolizer_int.h"

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
struct sym_module *module_new(struct symbolizer *s, const char *name,
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
struct sym_module *module_of(struct symbolizer *s, struct sym_proc *p,
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
