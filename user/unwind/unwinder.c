// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <bpf/bpf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "procfs.h"
#include "unwind_table.h"
#include "unwinder.h"
#include "vec.h"

/* A file seen in a mapping: its table's place in the kernel, or why it has
 * none (then its frames are walked by frame pointers). */
struct ufile {
	dev_t dev;
	ino_t ino;
	bool loaded;
	uint64_t base;		/* the table's file address 0 */
	uint32_t page_base, npages;
	struct unwind_seg segs[4];
	size_t nsegs;
	uint8_t build_id[64];
	size_t build_id_len;
};

/* The LPM keys a process has in lw_umaps. */
struct upid {
	pid_t pid;
	struct lw_umap_key *keys;
	size_t n;
};

struct unwinder {
	struct unwinder_opts o;
	struct ufile *files;
	size_t nfiles, files_cap;
	struct upid *pids;
	size_t npids, pids_cap;
	size_t rows, pages;	/* used in the kernel's arrays */
	uint64_t over_bound, without_cfi;
};

struct unwinder *unwinder__new(const struct unwinder_opts *o)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->o = *o;
	return u;
}

void unwinder__free(struct unwinder *u)
{
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->npids; i++)
		free(u->pids[i].keys);
	free(u->pids);
	free(u->files);
	free(u);
}

static struct ufile *file_by_inode(struct unwinder *u, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < u->nfiles; i++)
		if (u->files[i].dev == dev && u->files[i].ino == ino)
			return &u->files[i];
	return NULL;
}

static struct ufile *file_by_build_id(struct unwinder *u, const struct unwind_table *t)
{
	size_t i;

	if (!t->build_id_len)
		return NULL;
	for (i = 0; i < u->nfiles; i++)
		if (u->files[i].loaded && u->files[i].build_id_len == t->build_id_len &&
		    !memcmp(u->files[i].build_id, t->build_id, t->build_id_len))
			return &u->files[i];
	return NULL;
}

/* Copy the n entries at values into the array map fd from index first. */
static int upload(int fd, uint32_t first, const void *values, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t *keys, count = (uint32_t)n;
	size_t i;
	int err = 0;

	if (!n)
		return 0;
	keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		keys[i] = first + (uint32_t)i;
	if (bpf_map_update_batch(fd, keys, values, &count, &opts))
		err = -errno;
	free(keys);
	return err;
}

/* Load t into the kernel as file f (dev and ino set). */
static int load_table(struct unwinder *u, struct ufile *f, struct unwind_table *t)
{
	struct ufile *twin = file_by_build_id(u, t);
	size_t i;
	int err;

	memcpy(f->segs, t->segs, sizeof(f->segs));
	f->nsegs = t->nsegs;
	if (twin) {	/* the same build elsewhere (a container's copy) */
		f->loaded = true;
		f->base = twin->base;
		f->page_base = twin->page_base;
		f->npages = twin->npages;
		return 0;
	}
	if (t->nrows > u->o.rows_cap - u->rows || t->npages > u->o.pages_cap - u->pages) {
		u->over_bound++;
		return -ENOSPC;
	}
	/* page entries point into the global rows array */
	for (i = 0; i < t->npages; i++)
		t->pages[i].first += (uint32_t)u->rows;
	err = upload(u->o.urows_fd, (uint32_t)u->rows, t->rows, t->nrows);
	err = err ?: upload(u->o.upages_fd, (uint32_t)u->pages, t->pages, t->npages);
	if (err)
		return err;
	f->loaded = true;
	f->base = t->base;
	f->page_base = (uint32_t)u->pages;
	f->npages = (uint32_t)t->npages;
	memcpy(f->build_id, t->build_id, t->build_id_len);
	f->build_id_len = t->build_id_len;
	u->rows += t->nrows;
	u->pages += t->npages;
	return 0;
}

/* The file behind mapping m of pid, opened read-only; -Exxx. */
static int open_mapped(pid_t pid, const struct proc_map *m)
{
	char path[64], *rooted = NULL;
	struct stat st;
	int fd;

	/* the very file mapped, whatever its path in pid's namespace */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (!stat(path, &st) && S_ISREG(st.st_mode)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	if (asprintf(&rooted, "/proc/%d/root%s", (int)pid, m->path) < 0)
		return -ENOMEM;
	fd = -ENOENT;
	if (!stat(rooted, &st) && S_ISREG(st.st_mode) && st.st_ino == m->inode) {
		fd = open(rooted, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	free(rooted);
	return fd;
}

/* The file of mapping m, its table loaded if it can be; NULL: none. */
static struct ufile *file_of(struct unwinder *u, pid_t pid, const struct proc_map *m)
{
	struct unwind_table *t;
	struct ufile *f;
	struct stat st;
	int fd, err;

	fd = open_mapped(pid, m);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	f = file_by_inode(u, st.st_dev, st.st_ino);
	if (f) {
		close(fd);
		return f;
	}
	if (lw_vec_reserve(u->files, u->files_cap, u->nfiles + 1)) {
		close(fd);
		return NULL;
	}
	f = &u->files[u->nfiles++];
	memset(f, 0, sizeof(*f));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	t = unwind_table__new(fd);
	close(fd);
	if (!t) {
		if (errno == ENODATA)
			u->without_cfi++;
		lw_debug("process %d: no unwind table for %s: %s\n", pid, m->path,
			 strerror(errno));
		return f;
	}
	err = load_table(u, f, t);
	if (err)
		lw_debug("process %d: unwind table of %s not loaded: %s\n", pid, m->path,
			 strerror(-err));
	else
		lw_debug("process %d: unwind table of %s: %zu rows\n", pid, m->path, t->nrows);
	unwind_table__free(t);
	return f;
}

static struct upid *upid_get(struct unwinder *u, pid_t pid, bool create)
{
	size_t i;

	for (i = 0; i < u->npids; i++)
		if (u->pids[i].pid == pid)
			return &u->pids[i];
	if (!create)
		return NULL;
	if (lw_vec_reserve(u->pids, u->pids_cap, u->npids + 1))
		return NULL;
	u->pids[u->npids] = (struct upid){ .pid = pid };
	return &u->pids[u->npids++];
}

struct keys {
	struct lw_umap_key *v;
	size_t n, cap;
};

/* [start, end) as the aligned blocks of the trie, each pointing at val. */
static int add_range(struct unwinder *u, struct keys *k, pid_t pid, uint64_t start,
		     uint64_t end, const struct lw_umap *val)
{
	while (start < end) {
		/* the largest block aligned at start that ends by end */
		unsigned bits = start ? (unsigned)__builtin_ctzll(start) : 63;
		struct lw_umap_key key;

		while (bits && end - start < (1ull << bits))
			bits--;
		if (lw_vec_reserve(k->v, k->cap, k->n + 1))
			return -ENOMEM;
		key = (struct lw_umap_key){
			.prefixlen = 32 + 64 - bits,
			.pid = htobe32((uint32_t)pid),
			.addr = htobe64(start),
		};
		if (bpf_map_update_elem(u->o.umaps_fd, &key, val, BPF_ANY))
			return -errno;
		k->v[k->n++] = key;
		start += 1ull << bits;
	}
	return 0;
}

static bool has_key(const struct keys *k, const struct lw_umap_key *key)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!memcmp(&k->v[i], key, sizeof(*key)))
			return true;
	return false;
}

int unwinder__sync(struct unwinder *u, pid_t pid)
{
	struct proc_maps maps = { 0 };
	struct keys k = { 0 };
	struct upid *up;
	size_t i;
	int err;

	if (!u->o.rows_cap)
		return 0;
	err = procfs_read_maps(pid, &maps);
	if (err)
		return err;
	for (i = 0; i < maps.n && !err; i++) {
		const struct proc_map *m = &maps.maps[i];
		struct ufile *f;
		struct lw_umap val;
		uint64_t vaddr;

		if (m->perms[2] != 'x' || !m->path || m->path[0] != '/')
			continue;
		f = file_of(u, pid, m);
		if (!f || !f->loaded)
			continue;
		if (unwind_seg_vaddr(f->segs, f->nsegs, m->offset, &vaddr))
			continue;
		val = (struct lw_umap){
			/* address - base = file address - the table's base */
			.base = m->start - vaddr + f->base,
			.start = m->start,
			.end = m->end,
			.page_base = f->page_base,
			.npages = f->npages,
		};
		err = add_range(u, &k, pid, m->start, m->end, &val);
	}
	proc_maps__free(&maps);
	up = upid_get(u, pid, true);
	if (!up) {
		free(k.v);
		return -ENOMEM;
	}
	/* what pid mapped before and no longer does */
	for (i = 0; i < up->n; i++)
		if (!has_key(&k, &up->keys[i]))
			bpf_map_delete_elem(u->o.umaps_fd, &up->keys[i]);
	free(up->keys);
	up->keys = k.v;
	up->n = k.n;
	return err;
}

void unwinder__forget(struct unwinder *u, pid_t pid)
{
	struct upid *up = upid_get(u, pid, false);
	size_t i;

	if (!up)
		return;
	for (i = 0; i < up->n; i++)
		bpf_map_delete_elem(u->o.umaps_fd, &up->keys[i]);
	free(up->keys);
	*up = u->pids[--u->npids];
}

void unwinder__stats(const struct unwinder *u, struct unwinder_stats *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->rows = u->rows;
	s->pages = u->pages;
	s->rows_cap = u->o.rows_cap;
	s->pages_cap = u->o.pages_cap;
	s->files_over_bound = u->over_bound;
	s->files_without_cfi = u->without_cfi;
	s->user_bytes = sizeof(*u) + u->files_cap * sizeof(*u->files) +
			u->pids_cap * sizeof(*u->pids);
	for (i = 0; i < u->nfiles; i++)
		s->files += u->files[i].loaded;
	for (i = 0; i < u->npids; i++)
		s->user_bytes += u->pids[i].n * sizeof(*u->pids[i].keys);
}
