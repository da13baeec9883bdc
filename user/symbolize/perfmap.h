/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Perf maps: the symbol files JIT runtimes write for profilers
 * (/tmp/perf-PID.map: "START SIZE name" per line, START and SIZE in hex,
 * with or without 0x).  The JVM (perf-map-agent, -XX:+DumpPerfMapAtExit),
 * Node (--perf-basic-prof) and .NET (DOTNET_PerfMapEnabled=1) write them.
 *
 * The file is untrusted: any process writes its own, in a world-writable
 * directory.  Loading takes only a regular file (no symlink, FIFO or
 * device), owned by the given user or root, of at most PERF_MAP_MAX_BYTES;
 * lines that do not parse, empty or overflowing ranges, sizes over 4 GiB
 * and names over PERF_MAP_MAX_NAME bytes are skipped, and at most
 * PERF_MAP_MAX_ENTRIES entries are kept.  For entries with the same start,
 * the later line wins (code replaced at the same address).
 */
#ifndef LW_PERFMAP_H
#define LW_PERFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PERF_MAP_MAX_BYTES (64u << 20)
#define PERF_MAP_MAX_ENTRIES (1u << 20)
#define PERF_MAP_MAX_NAME 4096

struct perf_sym {
	uint64_t start, end;	/* [start, end) */
	const char *name;	/* NUL-terminated, owned by the map */
};

struct perf_map;

struct perf_map *perf_map__new(void);	/* NULL + errno */
void perf_map__free(struct perf_map *m);	/* accepts NULL */

/* Replace m's entries with those of text (len bytes).  0, -EINVAL when
 * no line is valid (m unchanged), or -ENOMEM. */
int perf_map__parse(struct perf_map *m, const char *text, size_t len);

/* Read the file at path into m, unless it is the file read last time,
 * unchanged (same size and mtime).  Returns 1 when m changed, 0 when not,
 * or -Exxx: -ENOENT, -ELOOP (a symlink), -EPERM (not a regular file, not
 * owned by uid or root, too large), -EINVAL (no valid line). */
int perf_map__load(struct perf_map *m, const char *path, uid_t uid);

/* The entry holding ip, or NULL. */
const struct perf_sym *perf_map__find(const struct perf_map *m, uint64_t ip);

/* The entries, sorted by start: *syms and the count. */
size_t perf_map__entries(const struct perf_map *m, const struct perf_sym **syms);

#endif /* LW_PERFMAP_H */
