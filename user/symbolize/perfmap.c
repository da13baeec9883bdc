// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perfmap.h"
#include "vec.h"

struct perf_map {
	struct perf_sym *syms;	/* sorted by start */
	size_t n;
	char *names;
	/* of the file read: it is read again when these change */
	off_t size;
	struct timespec mtime;
	bool tried;
};

struct perf_map *perf_map__new(void)
{
	return calloc(1, sizeof(struct perf_map));
}

static void clear(struct perf_map *m)
{
	free(m->syms);
	free(m->names);
	m->syms = NULL;
	m->names = NULL;
	m->n = 0;
}

void perf_map__free(struct perf_map *m)
{
	if (!m)
		return;
	clear(m);
	free(m);
}

size_t perf_map__entries(const struct perf_map *m, const struct perf_sym **syms)
{
	*syms = m->syms;
	return m->n;
}

static int cmp_perf_sym(const void *pa, const void *pb)
{
	const struct perf_sym *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return (uintptr_t)a->name < (uintptr_t)b->name ? -1 : 1;
}

/* Parse perf map text (untrusted: any process writes its own) into m:
 * "START SIZE name" in hex, one per line; lines that do not parse, empty
 * or overflowing ranges and names past PERF_MAP_MAX_NAME are skipped. */
int perf_map__parse(struct perf_map *m, const char *text, size_t len)
{
	struct perf_sym *syms = NULL;
	size_t n = 0, cap = 0, nlen = 0, i, j;
	const char *line = text, *end = text + len;
	char *names = NULL;

	names = malloc(len + 1);
	if (!names)
		return -ENOMEM;
	while (line < end && n < PERF_MAP_MAX_ENTRIES) {
		const char *eol = memchr(line, '\n', end - line), *p, *name;
		unsigned long long start, size;
		char num[40], *q;
		size_t k;

		if (!eol)
			eol = end;
		p = line;
		line = eol + 1;
		/* START */
		for (k = 0; p < eol && *p != ' ' && k < sizeof(num) - 1; p++)
			num[k++] = *p;
		num[k] = '\0';
		errno = 0;
		start = strtoull(num, &q, 16);
		if (!k || *q || errno || p >= eol || *p != ' ')
			continue;
		/* SIZE */
		for (p++, k = 0; p < eol && *p != ' ' && k < sizeof(num) - 1; p++)
			num[k++] = *p;
		num[k] = '\0';
		size = strtoull(num, &q, 16);
		if (!k || *q || errno || p >= eol || *p != ' ' || !size ||
		    start + size < start || size > (1ull << 32))
			continue;
		name = p + 1;
		k = eol - name;
		if (!k || k > PERF_MAP_MAX_NAME || memchr(name, '\0', k))
			continue;
		if (lw_vec_reserve(syms, cap, n + 1)) {
			free(syms);
			free(names);
			return -ENOMEM;
		}
		memcpy(names + nlen, name, k);
		names[nlen + k] = '\0';
		/* offsets for now: names may still move */
		syms[n++] = (struct perf_sym){ start, start + size, (const char *)(uintptr_t)nlen };
		nlen += k + 1;
	}
	if (!n) {
		free(syms);
		free(names);
		return -EINVAL;
	}
	/* by start; for the same start, the later line (code replaced) wins:
	 * names are in line order */
	qsort(syms, n, sizeof(*syms), cmp_perf_sym);
	for (i = 0; i < n; i++)
		syms[i].name = names + (uintptr_t)syms[i].name;
	for (i = j = 0; i < n; i++) {
		if (j && syms[j - 1].start == syms[i].start)
			j--;
		syms[j++] = syms[i];
	}
	clear(m);
	m->syms = syms;
	m->n = j;
	m->names = names;
	return 0;
}

/*
 * (Re)read the perf map at path into m if it changed.  The file is in a
 * world-writable directory: it must be a regular file (no symlink, FIFO or
 * device), owned by uid or root, and at most PERF_MAP_MAX_BYTES.
 * Returns 1 when m changed, 0 when not, or -Exxx.
 */
int perf_map__load(struct perf_map *m, const char *path, uid_t uid)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || (st.st_uid != uid && st.st_uid != 0) ||
	    st.st_size > (off_t)PERF_MAP_MAX_BYTES) {
		err = -EPERM;
		goto cleanup;
	}
	if (m->tried && st.st_size == m->size && st.st_mtim.tv_sec == m->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == m->mtime.tv_nsec) {
		err = 0;
		goto cleanup;
	}
	text = malloc(st.st_size + 1);
	if (!text) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	m->tried = true;
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	err = perf_map__parse(m, text, got);
	err = err ?: 1;
cleanup:
	free(text);
	close(fd);
	return err;
}

const struct perf_sym *perf_map__find(const struct perf_map *m, uint64_t ip)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->syms[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && ip < m->syms[lo - 1].end ? &m->syms[lo - 1] : NULL;
}

