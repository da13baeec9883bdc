// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * /proc parsers (user/sys/procfs.c, statm/status in user/oom/rsswatch.c, and
 * --watch's status name and smaps in user/watch/procscan.c and split.c): a
 * traced process chooses its comm (in stat), its mapped file names (in
 * maps), and much of what else these files say.  Every parser gets the
 * same input.
 */
#include <string.h>

#include "fuzz.h"
#include "procfs.h"
#include "procscan.h"
#include "rsswatch.h"
#include "split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), state;
	struct proc_maps maps = { 0 };
	struct proc_map map;
	struct rss_status st;
	uint64_t rss, anon, alloc_anon;
	char name[16];
	unsigned int flags;
	pid_t ppid;

	if (!text)
		return 0;
	if (!procfs_parse_maps(text, &maps)) {
		/* what the planner relies on: ordered, non-empty ranges */
		for (size_t i = 0; i < maps.n; i++)
			if (maps.maps[i].start > maps.maps[i].end)
				__builtin_trap();
	}
	proc_maps__free(&maps);
	if (!procfs_parse_maps_line(text, &map))
		free(map.path);
	procfs_parse_stat(text, &state, &ppid);
	procfs_parse_stat_flags(text, &flags);
	rss_parse_statm(text, 4096, &rss, &anon);
	rss_parse_status(text, &st);
	if (!procscan_parse_name(text, name) && strlen(name) > 15)
		__builtin_trap();
	split_parse_smaps(text, &alloc_anon);
	procfs_unroot(text, "/usr/lib/libc.so.6");
	procfs_unroot("/proc/1/root", text);
	free(text);
	return 0;
}
