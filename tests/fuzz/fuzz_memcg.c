// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory cgroup parsers (user/oom/memcg.c): /proc/self/mountinfo,
 * /proc/PID/cgroup (a process in a container names its own cgroup paths),
 * memory.stat and the usage and limit files.  Every parser gets the same
 * input.
 */
#include "fuzz.h"
#include "memcg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *path = NULL, *dir;
	struct memcg_mount m = { 0 };
	struct memcg_kvs kv = { 0 };
	uint64_t v;

	if (!text)
		return 0;
	if (!memcg_parse_mountinfo(text, NULL, NULL, &m) && m.version != MEMCG_NONE) {
		dir = memcg_dir(&m, "/a/b");
		free(dir);
	}
	for (int version = MEMCG_V1; version <= MEMCG_V2; version++) {
		if (!memcg_parse_proc_cgroup(text, version, &path)) {
			if (m.version != MEMCG_NONE) {
				dir = memcg_dir(&m, path);
				free(dir);
			}
			free(path);
			path = NULL;
		}
	}
	memcg_mount__free(&m);
	if (!memcg_parse_kvs(text, &kv))
		memcg_kvs_get(&kv, "anon", &v);
	memcg_kvs__free(&kv);
	memcg_parse_bytes(text, &v);
	free(text);
	return 0;
}
