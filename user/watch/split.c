// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
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

int split_parse_smaps(const char *smaps, uint64_t *allocator_anon)
{
	const char *line = smaps;
	bool counted = false, any = false;
	uint64_t total = 0;

	while (*line) {
		const char *eol = strchrnul(line, '\n');
		unsigned long long start, end, kb;
		char path[16];
		int n;

		/* "start-end perms offset dev inode   [path]": a mapping */
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s%n", &start, &end, &n) == 2 &&
		    strchr(line, '-') < eol && n <= eol - line) {
			const char *p = line + n;
			size_t plen;

			while (*p == ' ' || *p == '\t')
				p++;
			plen = (size_t)(eol - p);
			snprintf(path, sizeof(path), "%.*s", (int)(plen < 15 ? plen : 15), p);
			counted = (plen == 6 && !strncmp(p, "[heap]", 6)) ||
				  (plen == 0 && start % ARENA_HEAP_MAX == 0 && end > start &&
				   end - start <= ARENA_HEAP_MAX);
			any = true;
		} else if (counted && sscanf(line, "Anonymous: %llu kB", &kb) == 1) {
			total += kb * 1024;
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
