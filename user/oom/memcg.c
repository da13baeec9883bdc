// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Memory cgroup files.  Formats: proc(5) for mountinfo and
 * /proc/PID/cgroup; Documentation/admin-guide/cgroup-v1/memory.rst and
 * cgroup-v2.rst for the memory.* files.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memcg.h"
#include "procfs.h"
#include "vec.h"

/* v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes, a little under
 * 2^63 depending on the page size: anything from 2^62 on is no limit. */
#define V1_UNLIMITED_FROM (1ull << 62)

void memcg_mount__free(struct memcg_mount *m)
{
	if (!m)
		return;
	free(m->mountpoint);
	free(m->root);
	memset(m, 0, sizeof(*m));
}

/* Copy a mountinfo field, undoing its octal escapes (\040 is a space). */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			*o++ = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Space-separated fields of one line: start and length of each. */
#define MAX_FIELDS 32

static size_t split_fields(const char *line, const char *eol, const char **f, size_t *len)
{
	size_t n = 0;

	while (line < eol && n < MAX_FIELDS) {
		const char *s;

		while (line < eol && *line == ' ')
			line++;
		if (line == eol)
			break;
		s = line;
		while (line < eol && *line != ' ')
			line++;
		f[n] = s;
		len[n++] = line - s;
	}
	return n;
}

static int set_mount(struct memcg_mount *out, enum memcg_version v, const char *root,
		     size_t root_len, const char *mnt, size_t mnt_len)
{
	out->mountpoint = unescape(mnt, mnt_len);
	out->root = unescape(root, root_len);
	if (!out->mountpoint || !out->root) {
		memcg_mount__free(out);
		return -ENOMEM;
	}
	out->version = v;
	return 0;
}

int memcg_parse_mountinfo(const char *text,
			  int (*v2_has_memory)(const char *mountpoint, void *ctx), void *ctx,
			  struct memcg_mount *out)
{
	struct memcg_mount v2 = {};
	const char *line = text;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (*line) {
		const char *eol = strchrnul(line, '\n'), *f[MAX_FIELDS];
		size_t len[MAX_FIELDS], n, dash;

		n = split_fields(line, eol, f, len);
		line = *eol ? eol + 1 : eol;
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SOURCE SUPEROPTS */
		for (dash = 6; dash < n && !(len[dash] == 1 && f[dash][0] == '-'); dash++)
			;
		if (dash + 3 >= n)	/* not a line of that shape */
			continue;
		if (len[dash + 1] == 6 && !memcmp(f[dash + 1], "cgroup", 6) &&
		    procfs_list_has(f[dash + 3], len[dash + 3], "memory")) {
			memcg_mount__free(&v2);
			return set_mount(out, MEMCG_V1, f[3], len[3], f[4], len[4]);
		}
		if (!v2.version && len[dash + 1] == 7 && !memcmp(f[dash + 1], "cgroup2", 7)) {
			err = set_mount(&v2, MEMCG_V2, f[3], len[3], f[4], len[4]);
			if (err)
				return err;
			if (v2_has_memory && !v2_has_memory(v2.mountpoint, ctx))
				memcg_mount__free(&v2);
		}
	}
	*out = v2;
	return 0;
}

static int v2_root_has_memory(const char *mountpoint, void *ctx)
{
	char *path = NULL, *text = NULL;
	int has = 0;

	if (asprintf(&path, "%s/cgroup.controllers", mountpoint) < 0)
		return 0;
	if (!procfs_read_file(path, &text, NULL)) {
		const char *p = text;
		size_t n;

		/* space-separated, one line */
		while (*p) {
			p += strspn(p, " \n");
			n = strcspn(p, " \n");
			if (n == 6 && !memcmp(p, "memory", 6))
				has = 1;
			p += n;
		}
	}
	free(text);
	free(path);
	return has;
}

int memcg_find_mount(struct memcg_mount *out)
{
	char *text = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	err = procfs_read_file("/proc/self/mountinfo", &text, NULL);
	if (err)
		return err;
	err = memcg_parse_mountinfo(text, v2_root_has_memory, NULL, out);
	free(text);
	return err;
}

int memcg_find_host_mount(const char *host_root, struct memcg_mount *out)
{
	char *dir = NULL, *probe = NULL;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (asprintf(&dir, "%s/sys/fs/cgroup/memory", host_root) < 0)
		return -ENOMEM;
	if (asprintf(&probe, "%s/memory.usage_in_bytes", dir) < 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (!access(probe, F_OK)) {
		err = set_mount(out, MEMCG_V1, "/", 1, dir, strlen(dir));
		goto cleanup;
	}
	/* cgroup v2: the hierarchy itself, or beside v1 */
	dir[strlen(dir) - strlen("/memory")] = '\0';
	if (v2_root_has_memory(dir, NULL))
		err = set_mount(out, MEMCG_V2, "/", 1, dir, strlen(dir));
cleanup:
	free(probe);
	free(dir);
	return err;
}

int memcg_parse_proc_cgroup(const char *text, enum memcg_version version, char **path)
{
	const char *line = text;

	while (*line) {
		const char *eol = strchrnul(line, '\n'), *c1, *c2;

		c1 = memchr(line, ':', eol - line);
		c2 = c1 ? memchr(c1 + 1, ':', eol - c1 - 1) : NULL;
		if (c2) {
			/* HIERARCHY-ID:CONTROLLERS:PATH; v2 is "0::PATH" */
			bool match = version == MEMCG_V2 ?
				     c1 - line == 1 && line[0] == '0' && c2 == c1 + 1 :
				     procfs_list_has(c1 + 1, c2 - c1 - 1, "memory");

			if (match) {
				*path = strndup(c2 + 1, eol - c2 - 1);
				return *path ? 0 : -ENOMEM;
			}
		}
		line = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

int memcg_read_proc_cgroup(pid_t pid, enum memcg_version version, char **path)
{
	char file[64], *text = NULL;
	int err;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	err = procfs_read_file(file, &text, NULL);
	if (err)
		return err;
	err = memcg_parse_proc_cgroup(text, version, path);
	free(text);
	return err;
}

char *memcg_dir(const struct memcg_mount *m, const char *path)
{
	size_t rl;
	char *dir;

	if (!m->mountpoint || !m->root || path[0] != '/') {
		errno = ENOENT;
		return NULL;
	}
	/* the mount shows the hierarchy from m->root down: a path outside it
	 * has no directory here (a container's view of the host) */
	rl = strcmp(m->root, "/") ? strlen(m->root) : 0;
	if (rl && (strncmp(path, m->root, rl) || (path[rl] && path[rl] != '/'))) {
		errno = ENOENT;
		return NULL;
	}
	if (asprintf(&dir, "%s%s", m->mountpoint, strcmp(path + rl, "/") ? path + rl : "") < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return dir;
}

void memcg_kvs__free(struct memcg_kvs *kv)
{
	size_t i;

	if (!kv)
		return;
	for (i = 0; i < kv->n; i++)
		free(kv->v[i].key);
	free(kv->v);
	kv->v = NULL;
	kv->n = 0;
}

static int parse_u64(const char *s, const char *end, uint64_t *v)
{
	uint64_t x = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

int memcg_parse_kvs(const char *text, struct memcg_kvs *out)
{
	struct memcg_kvs kv = {};
	const char *line = text;
	size_t cap = 0;
	int err = 0;

	while (*line) {
		const char *eol = strchrnul(line, '\n'), *sp = memchr(line, ' ', eol - line);
		uint64_t v;

		if (sp && sp > line && !parse_u64(sp + 1, eol, &v)) {
			if (lw_vec_reserve(kv.v, cap, kv.n + 1)) {
				err = -ENOMEM;
				break;
			}
			kv.v[kv.n].key = strndup(line, sp - line);
			if (!kv.v[kv.n].key) {
				err = -ENOMEM;
				break;
			}
			kv.v[kv.n++].value = v;
		}
		line = *eol ? eol + 1 : eol;
	}
	if (err) {
		memcg_kvs__free(&kv);
		return err;
	}
	memcg_kvs__free(out);
	*out = kv;
	return 0;
}

int memcg_kvs_get(const struct memcg_kvs *kv, const char *key, uint64_t *value)
{
	size_t i;

	for (i = 0; i < kv->n; i++) {
		if (!strcmp(kv->v[i].key, key)) {
			*value = kv->v[i].value;
			return 0;
		}
	}
	return -ENOENT;
}

int memcg_parse_bytes(const char *text, uint64_t *bytes)
{
	size_t n = strcspn(text, "\n");
	uint64_t v;

	if (n == 3 && !memcmp(text, "max", 3)) {
		*bytes = MEMCG_UNLIMITED;
		return 0;
	}
	if (parse_u64(text, text + n, &v))
		return -EINVAL;
	*bytes = v >= V1_UNLIMITED_FROM ? MEMCG_UNLIMITED : v;
	return 0;
}

static int read_file_in(const char *dir, const char *name, char **text)
{
	char *path;
	int err;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	err = procfs_read_file(path, text, NULL);
	free(path);
	return err;
}

static int read_bytes_in(const char *dir, const char *name, uint64_t *v)
{
	char *text = NULL;
	int err;

	err = read_file_in(dir, name, &text);
	if (!err)
		err = memcg_parse_bytes(text, v);
	free(text);
	return err;
}

static int usage_in(const struct memcg_mount *m, const char *dir, uint64_t *usage,
		    uint64_t *limit)
{
	bool v1 = m->version == MEMCG_V1;
	int err;

	err = read_bytes_in(dir, v1 ? "memory.usage_in_bytes" : "memory.current", usage);
	/* the root of a v2 hierarchy has no memory.max: no limit */
	if (!err && read_bytes_in(dir, v1 ? "memory.limit_in_bytes" : "memory.max", limit))
		*limit = MEMCG_UNLIMITED;
	return err;
}

int memcg_read_usage(const struct memcg_mount *m, const char *path, uint64_t *usage,
		     uint64_t *limit)
{
	char *dir = memcg_dir(m, path);
	int err;

	if (!dir)
		return -errno;
	err = usage_in(m, dir, usage, limit);
	free(dir);
	return err;
}

void memcg_info__free(struct memcg_info *info)
{
	if (!info)
		return;
	free(info->path);
	memcg_kvs__free(&info->stat);
	memcg_kvs__free(&info->events);
	memcg_kvs__free(&info->oom_control);
	memset(info, 0, sizeof(*info));
}

/* A key-value file into kv; a file that cannot be read leaves it empty. */
static int read_kvs_in(const char *dir, const char *name, struct memcg_kvs *kv)
{
	char *text = NULL;
	int err;

	err = read_file_in(dir, name, &text);
	if (err)
		return err == -ENOMEM ? err : 0;
	err = memcg_parse_kvs(text, kv);
	free(text);
	return err;
}

int memcg_read(const struct memcg_mount *m, const char *path, struct memcg_info *out)
{
	struct memcg_info info = { .version = m->version };
	char *dir = memcg_dir(m, path);
	int err;

	if (!dir)
		return -errno;
	info.path = strdup(path);
	if (!info.path) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* the statistics first: they change fastest once the victim dies */
	err = read_kvs_in(dir, "memory.stat", &info.stat);
	if (!err && m->version == MEMCG_V2)
		err = read_kvs_in(dir, "memory.events", &info.events);
	else if (!err)
		err = read_kvs_in(dir, "memory.oom_control", &info.oom_control);
	err = err ?: usage_in(m, dir, &info.usage, &info.limit);
	if (err)
		goto cleanup;
	memcg_info__free(out);
	*out = info;
	info = (struct memcg_info){};
cleanup:
	memcg_info__free(&info);
	free(dir);
	return err;
}
