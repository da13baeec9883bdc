// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container and pod identity from cgroup paths and the runtimes' state
 * files: the files read under the host root, the search of the runtimes'
 * state directories, and the cache of identities by cgroup.  The formats
 * are parsed by identity_parse.c: proc(7) for /proc/PID/cgroup; the OCI
 * runtime spec for config.json; runc's libcontainer for state.json
 * ("config"."labels" holds the annotations as "key=value", and
 * "bundle=<dir>"); Docker's config.v2.json.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container_of.h"
#include "identity.h"
#include "log.h"
#include "procfs.h"
#include "vec.h"

/* Namespace directories of a runtime's root looked at (containerd's
 * "k8s.io", "moby", "default"...), and how many directories of a cgroup
 * hierarchy are searched for a relative path, at most how deep. */
#define MAX_NAMESPACES 64
#define MAX_CGROUP_DIRS 20000
#define MAX_CGROUP_DEPTH 12

/* ---- files under the host root ---- */

struct cached {
	char *key;		/* the cgroup path as shown, "\n", its hierarchy */
	struct identity id;
	unsigned int refs;	/* atomic: the cache's own, and each holder's */
};

struct identities {
	int root_fd;
	pthread_mutex_t lock;
	void *tree;		/* tsearch tree of struct cached, by key */
	/* every entry, oldest first: for pods without a container, and to let
	 * the oldest go past IDENTITY_CACHE_MAX */
	struct cached **all;
	size_t n, cap;
};

/*
 * path (relative to the host root; leading '/' ignored) opened for
 * reading, with symlinks resolved inside the host root: a symlink in a
 * container's files cannot point leakwatch at a file of its choice.
 * Kernels before 5.6 have no openat2, and older seccomp profiles refuse
 * it (EPERM): then no symlink is followed in the last component only.
 * -Exxx.
 */
static int open_in_root(const struct identities *ids, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	fd = (int)syscall(SYS_openat2, ids->root_fd, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(ids->root_fd, path, (int)how.flags | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* A regular file of at most IDENTITY_MAX_FILE bytes, NUL-terminated;
 * /proc's files (size 0) are read to their end within the same bound. */
static int read_in_root(const struct identities *ids, const char *path, char **out,
			size_t *len)
{
	struct stat st;
	int fd, err;

	fd = open_in_root(ids, path, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		err = -EINVAL;
	else if ((uint64_t)st.st_size > IDENTITY_MAX_FILE)
		err = -EFBIG;
	else
		err = procfs_read_fd(fd, IDENTITY_MAX_FILE, out, len);
	close(fd);
	return err;
}

typedef int (*parse_fn)(const char *text, size_t len, struct identity *id);

/* Read and parse one state file; 0 when it was there and of its shape. */
static int try_file(const struct identities *ids, const char *path, parse_fn parse,
		    struct identity *id)
{
	char *text = NULL;
	size_t len = 0;
	int err;

	err = read_in_root(ids, path, &text, &len);
	if (!err) {
		err = parse(text, len, id);
		if (err)
			lw_debug("identity: %s: not a container's state (%s)\n", path,
				 strerror(-err));
	}
	free(text);
	return err;
}

typedef int (*try_fn)(const struct identities *ids, const char *path, struct identity *id);

/* try(ids, "<root>/<ns>/<cid>/<file>", id) for each namespace directory of
 * a runtime's root (containerd's "k8s.io", "moby", "default"...), until
 * one returns 0. */
static int each_namespace(const struct identities *ids, const char *root, const char *cid,
			  const char *file, try_fn try, struct identity *id)
{
	int fd = open_in_root(ids, root, O_DIRECTORY), err = -ENOENT;
	struct dirent *de;
	size_t seen = 0;
	DIR *d;

	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (err && (de = readdir(d)) && seen++ < MAX_NAMESPACES) {
		char *path = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s/%s/%s", root, de->d_name, cid, file) < 0) {
			err = -ENOMEM;
			break;
		}
		err = try(ids, path, id);
		free(path);
	}
	closedir(d);
	return err;
}

/* runc's state, and the bundle's config.json it names for the
 * annotations it lacks. */
static int try_runc_state(const struct identities *ids, const char *path, struct identity *id)
{
	char *text = NULL, *bundle = NULL, *config = NULL;
	size_t len;
	int err;

	err = read_in_root(ids, path, &text, &len);
	err = err ?: identity_parse_runc_state(text, len, id, &bundle);
	if (!err && bundle && !id->pod && asprintf(&config, "%s/config.json", bundle) >= 0)
		try_file(ids, config, identity_parse_oci_config, id);
	free(config);
	free(bundle);
	free(text);
	return err;
}

static int try_oci_config(const struct identities *ids, const char *path, struct identity *id)
{
	return try_file(ids, path, identity_parse_oci_config, id);
}

/* The runtime's state of container cid, into id. */
static void find_state(const struct identities *ids, const char *cid, struct identity *id)
{
	static const char *const runc_roots[] = { "run/containerd/runc", "run/docker/runtime-runc" };
	static const char *const storage[] = { "run/containers/storage", "var/lib/containers/storage" };
	char *path = NULL;
	size_t i;

	for (i = 0; i < sizeof(runc_roots) / sizeof(runc_roots[0]); i++)
		if (!each_namespace(ids, runc_roots[i], cid, "state.json", try_runc_state, id) &&
		    id->pod)
			return;
	if (!each_namespace(ids, "run/containerd/io.containerd.runtime.v2.task", cid, "config.json",
			    try_oci_config, id) && id->pod)
		return;
	for (i = 0; i < sizeof(storage) / sizeof(storage[0]); i++) {
		if (asprintf(&path, "%s/overlay-containers/%s/userdata/config.json", storage[i],
			     cid) < 0)
			return;
		try_file(ids, path, identity_parse_oci_config, id);
		free(path);
		if (id->pod)
			return;
	}
	if (asprintf(&path, "var/lib/docker/containers/%s/config.v2.json", cid) < 0)
		return;
	try_file(ids, path, identity_parse_docker_config, id);
	free(path);
}

/* Where hierarchy is mounted on a host laid out the usual way: cgroup v2
 * at sys/fs/cgroup (or sys/fs/cgroup/unified beside v1), v1's at
 * sys/fs/cgroup/<controllers> ("name=systemd" at .../systemd). */
static char *hierarchy_dir(const struct identities *ids, const char *hierarchy)
{
	char *dir = NULL;
	int fd;

	if (!*hierarchy) {
		fd = open_in_root(ids, "sys/fs/cgroup/cgroup.controllers", 0);
		if (fd >= 0) {
			close(fd);
			return strdup("sys/fs/cgroup");
		}
		return strdup("sys/fs/cgroup/unified");
	}
	if (!strncmp(hierarchy, "name=", 5))
		hierarchy += 5;
	if (strchr(hierarchy, '/') || !strcmp(hierarchy, "..") || asprintf(&dir, "sys/fs/cgroup/%s",
									   hierarchy) < 0)
		return NULL;
	return dir;
}

/* Search the hierarchy at dir, breadth first, for directories under which
 * rest exists: the first match into *found ("/a/b"), -EEXIST when there is
 * more than one. */
static int find_parent(const struct identities *ids, const char *dir, const char *rest,
		       char **found)
{
	char **queue = NULL;
	size_t head = 0, n = 0, cap = 0, visited = 0;
	int err = -ENOENT;

	*found = NULL;
	queue = malloc(sizeof(*queue));
	if (!queue || !(queue[n++] = strdup("")))
		goto cleanup;
	cap = 1;
	while (head < n && visited++ < MAX_CGROUP_DIRS) {
		char *rel = queue[head++], *path = NULL;
		struct dirent *de;
		int fd, depth = 0;
		DIR *d;

		for (const char *c = rel; *c; c++)
			depth += *c == '/';
		if (asprintf(&path, "%s%s/%s", dir, rel, rest) < 0)
			break;
		fd = open_in_root(ids, path, O_DIRECTORY);
		free(path);
		if (fd >= 0) {
			close(fd);
			if (*found) {
				err = -EEXIST;
				break;
			}
			*found = strdup(*rel ? rel : "");
			err = *found ? 0 : -ENOMEM;
			if (err)
				break;
		}
		if (depth >= MAX_CGROUP_DEPTH || asprintf(&path, "%s%s", dir, rel) < 0)
			continue;
		fd = open_in_root(ids, path, O_DIRECTORY);
		free(path);
		d = fd >= 0 ? fdopendir(fd) : NULL;
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			if (lw_vec_reserve(queue, cap, n + 1))
				break;
			if (asprintf(&queue[n], "%s/%s", rel, de->d_name) < 0)
				break;
			n++;
		}
		closedir(d);
	}
cleanup:
	for (size_t i = 0; i < n; i++)
		free(queue[i]);
	free(queue);
	if (err) {
		free(*found);
		*found = NULL;
	}
	return err;
}

/* A path relative to leakwatch's cgroup namespace root ("/../../a/b") as
 * the host's absolute path, or NULL when it cannot be told. */
static char *resolve_relative(const struct identities *ids, const char *path,
			      const char *hierarchy)
{
	const char *rest = path;
	char *dir, *parent = NULL, *abs = NULL;

	while (!strncmp(rest, "/..", 3) && (rest[3] == '/' || !rest[3]))
		rest += 3;
	/* only the components after the ".." are known: a path of nothing
	 * but ".." names an ancestor, which could be any */
	if (*rest != '/' || !rest[1])
		return NULL;
	dir = hierarchy_dir(ids, hierarchy);
	if (dir && !find_parent(ids, dir, rest + 1, &parent) &&
	    asprintf(&abs, "%s%s", parent, rest) < 0)
		abs = NULL;
	free(parent);
	free(dir);
	return abs;
}

static int cmp_cached(const void *a, const void *b)
{
	return strcmp(((const struct cached *)a)->key, ((const struct cached *)b)->key);
}

static void free_cached(void *p)
{
	struct cached *c = p;

	if (!c)
		return;
	identity__clear(&c->id);
	free(c->key);
	free(c);
}

struct identities *identities__new(const struct identity_opts *o)
{
	const char *root = o && o->host_root ? o->host_root : "/";
	struct identities *ids = calloc(1, sizeof(*ids));
	int err;

	if (!ids)
		return NULL;
	ids->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ids->root_fd < 0) {
		err = errno;
		free(ids);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&ids->lock, NULL);
	return ids;
}

const struct identity *identity__get(const struct identity *id)
{
	if (id)
		__atomic_add_fetch(&container_of(id, struct cached, id)->refs, 1,
				   __ATOMIC_RELAXED);
	return id;
}

void identity__put(const struct identity *id)
{
	struct cached *c;

	if (!id)
		return;
	c = container_of(id, struct cached, id);
	if (!__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
		free_cached(c);
}

static void cache_put(void *p)
{
	identity__put(&((struct cached *)p)->id);
}

size_t identities__cached(struct identities *ids)
{
	size_t n;

	pthread_mutex_lock(&ids->lock);
	n = ids->n;
	pthread_mutex_unlock(&ids->lock);
	return n;
}

/* Past IDENTITY_CACHE_MAX, the oldest entry leaves the cache (its holders
 * keep it).  Under the lock. */
static void cache_trim(struct identities *ids)
{
	struct cached *old;

	if (ids->n < IDENTITY_CACHE_MAX)
		return;
	old = ids->all[0];
	tdelete(old, &ids->tree, cmp_cached);
	memmove(ids->all, ids->all + 1, --ids->n * sizeof(*ids->all));
	cache_put(old);
}

void identities__free(struct identities *ids)
{
	if (!ids)
		return;
	tdestroy(ids->tree, cache_put);
	free(ids->all);
	pthread_mutex_destroy(&ids->lock);
	close(ids->root_fd);
	free(ids);
}

/* A pod's own cgroup names no container: its namespace and name come from
 * a container of the same pod met before. */
static void pod_from_cache(const struct identities *ids, struct identity *id)
{
	size_t i;

	for (i = 0; i < ids->n; i++) {
		const struct identity *o = &ids->all[i]->id;

		if (o->pod_uid && !strcmp(o->pod_uid, id->pod_uid) && o->pod) {
			id->pod = strdup(o->pod);
			id->namespace = o->namespace ? strdup(o->namespace) : NULL;
			return;
		}
	}
}

/* Fill id from its cgroup path (already in id->cgroup). */
static int resolve(struct identities *ids, struct identity *id, const char *hierarchy)
{
	char cid[IDENTITY_ID_LEN + 1], uid[IDENTITY_UID_LEN + 1] = "";

	if (!strncmp(id->cgroup, "/..", 3) && hierarchy) {
		char *abs = resolve_relative(ids, id->cgroup, hierarchy);

		if (abs) {
			free(id->cgroup);
			id->cgroup = abs;
		}
	}
	if (identity_parse_cgroup_path(id->cgroup, cid, uid)) {
		/* "/kubepods/burstable/pod<uid>": a pod, no container */
		const char *last = strrchr(id->cgroup, '/');

		if (last && component_pod_uid(last + 1, strlen(last + 1), uid)) {
			id->pod_uid = strdup(uid);
			if (!id->pod_uid)
				return -ENOMEM;
			pod_from_cache(ids, id);
		}
		return 0;
	}
	id->container_id = strdup(cid);
	if (!id->container_id)
		return -ENOMEM;
	find_state(ids, cid, id);
	/* the path's pod UID when the annotations gave none */
	if (!id->pod_uid && *uid && !(id->pod_uid = strdup(uid)))
		return -ENOMEM;
	lw_debug("identity: %s: container %.12s, pod %s/%s, container %s\n", id->cgroup, cid,
		 id->namespace ?: "?", id->pod ?: "?", id->container ?: "?");
	return 0;
}

const struct identity *identities__cgroup(struct identities *ids, const char *path,
					  const char *hierarchy)
{
	struct cached key, *c = NULL, **found;
	const struct identity *ret = NULL;

	if (asprintf(&key.key, "%s\n%s", path, hierarchy ?: "") < 0)
		return NULL;
	pthread_mutex_lock(&ids->lock);
	found = tfind(&key, &ids->tree, cmp_cached);
	if (found) {
		ret = identity__get(&(*found)->id);
		goto out;
	}
	cache_trim(ids);
	if (lw_vec_reserve(ids->all, ids->cap, ids->n + 1))
		goto out;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->id.cgroup = strdup(path)) || resolve(ids, &c->id, hierarchy))
		goto out;
	c->key = key.key;
	key.key = NULL;
	found = tsearch(c, &ids->tree, cmp_cached);
	if (!found)
		goto out;
	ids->all[ids->n++] = c;
	/* the cache's and the caller's */
	c->refs = 2;
	ret = &c->id;
	c = NULL;
out:
	pthread_mutex_unlock(&ids->lock);
	free_cached(c);
	free(key.key);
	return ret;
}

const struct identity *identities__pid(struct identities *ids, pid_t pid)
{
	char file[64], *text = NULL, *path = NULL, *hierarchy = NULL;
	const struct identity *ret = NULL;
	size_t len;

	snprintf(file, sizeof(file), "proc/%d/cgroup", (int)pid);
	if (!read_in_root(ids, file, &text, &len) &&
	    !identity_parse_proc_cgroup(text, &path, &hierarchy))
		ret = identities__cgroup(ids, path, hierarchy);
	free(hierarchy);
	free(path);
	free(text);
	return ret;
}
