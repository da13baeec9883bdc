// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "split.h"

/* glibc's HEAP_MAX_SIZE on 64-bit: a thread arena's heap is a mapping of
 * at most this size, aligned to it (malloc/arena.c new_heap). */
#define ARENA_HEAP_MAX (64ull << 20)

/* The header of a mapping in [line, eol): "start-end perms offset dev
 * inode [path]".  Its range and where its path starts (eol: none), or
 * false when the line is no such header.  Every step stays within the
 * line: the text comes from another process's /proc. */
static bool parse_header(const char *line, const char *eol, uint64_t *start, uint64_t *end,
			 const char **path)
{
	const char *p = line;
	char *q;

	if (!isxdigit((unsigned char)*p))
		return false;
	*start = strtoull(p, &q, 16);
	if (q >= eol || *q != '-' || !isxdigit((unsigned char)q[1]))
		return false;
	*end = strtoull(q + 1, &q, 16);
	p = q;
	/* perms, offset, dev, inode: four fields, each after blanks */
	for (int field = 0; field < 4; field++) {
		if (p >= eol || *p != ' ')
			return false;
		while (p < eol && *p == ' ')
			p++;
		if (p >= eol)
			return false;
		while (p < eol && *p != ' ')
			p++;
	}
	while (p < eol && (*p == ' ' || *p == '\t'))
		p++;
	*path = p;
	return true;
}

int split_parse_smaps(const char *smaps, uint64_t *allocator_anon)
{
	const char *line = smaps;
	bool counted = false, any = false;
	uint64_t total = 0;

	while (*line) {
		const char *eol = strchrnul(line, '\n'), *path;
		uint64_t start, end;
		unsigned long long kb;

		if (parse_header(line, eol, &start, &end, &path)) {
			size_t plen = (size_t)(eol - path);

			counted = (plen == 6 && !strncmp(path, "[heap]", 6)) ||
				  (plen == 0 && start % ARENA_HEAP_MAX == 0 && end > start &&
				   end - start <= ARENA_HEAP_MAX);
			any = true;
		} else if (counted && !strncmp(line, "Anonymous:", 10)) {
			const char *p = line + 10;

			while (p < eol && (*p == ' ' || *p == '\t'))
				p++;
			/* kB, at most 2^44 of them (16 PiB): no overflow */
			if (p < eol && isdigit((unsigned char)*p)) {
				kb = strtoull(p, NULL, 10);
				if (kb < (1ull << 44))
					total += kb * 1024;
			}
		}
		line = *eol ? eol + 1 : eol;
	}
	if (!any)
		return -EINVAL;
	*allocator_anon = total;
	return 0;
}

int split_read_smaps(const char *proc_dir, pid_t pid, uint64_t *allocator_anon)
{
	char path[4096], *text = NULL;
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%d/smaps", proc_dir, (int)pid) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	err = procfs_read_file(path, &text, NULL);
	if (!err)
		err = split_parse_smaps(text, allocator_anon);
	free(text);
	return err;
}

static uint64_t take(uint64_t *left, uint64_t want)
{
	uint64_t got = want < *left ? want : *left;

	*left -= got;
	return got;
}

void split_compute(uint64_t anon, uint64_t allocator_anon, uint64_t heap_live,
		   uint64_t maps_live, uint64_t runtime, struct mem_split *out)
{
	uint64_t left = anon;

	out->anon = anon;
	out->live = take(&left, heap_live + maps_live);
	out->runtime = take(&left, runtime);
	out->retained = take(&left, allocator_anon > heap_live ? allocator_anon - heap_live : 0);
	out->other = left;
}
