// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container and pod identity from cgroup paths and the runtimes' state
 * files.  Formats: proc(7) for /proc/PID/cgroup; the OCI runtime spec for
 * config.json; runc's libcontainer for state.json ("config"."labels" holds
 * the annotations as "key=value", and "bundle=<dir>"); Docker's
 * config.v2.json.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* ---- cgroup paths ---- */

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The id a component names: all of it, or after a runtime's prefix, alone
 * (the cgroupfs driver: CRI-O's "crio-<id>", Podman's "libpod-<id>") or
 * before ".scope" (the systemd driver).  NULL when it names none. */
static const char *component_id(const char *s, size_t n)
{
	static const char *const prefixes[] = { "cri-containerd-", "crio-", "docker-", "libpod-",
						"nerdctl-" };
	size_t i, k;

	if (n == IDENTITY_ID_LEN) {
		for (i = 0; i < n && is_hex(s[i]); i++)
			;
		return i == n ? s : NULL;
	}
	for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
		size_t pl = strlen(prefixes[k]);

		/* crio-conmon-<id>.scope does not match, as "conmon-<id>"
		 * is not 64 hex digits */
		if (n < pl + IDENTITY_ID_LEN || memcmp(s, prefixes[k], pl))
			continue;
		if (n != pl + IDENTITY_ID_LEN &&
		    (n != pl + IDENTITY_ID_LEN + 6 || memcmp(s + pl + IDENTITY_ID_LEN, ".scope", 6)))
			continue;
		for (i = 0; i < IDENTITY_ID_LEN && is_hex(s[pl + i]); i++)
			;
		if (i == IDENTITY_ID_LEN)
			return s + pl;
	}
	return NULL;
}

/* The pod UID a component names: "pod<uid>" (cgroupfs driver) or
 * "kubepods[-<qos>]-pod<uid with '_'>.slice" (systemd driver), under a
 * kubelet cgroup root of another name "<root>-kubepods[-<qos>]-pod..." (kind's
 * "kubelet-kubepods-..."). */
static bool component_pod_uid(const char *s, size_t n, char *uid)
{
	const char *p;
	size_t i;

	if (n == 3 + IDENTITY_UID_LEN && !memcmp(s, "pod", 3)) {
		p = s + 3;
	} else if (n > 8 + 3 + IDENTITY_UID_LEN + 6 && memmem(s, n, "kubepods", 8) &&
		   !memcmp(s + n - 6, ".slice", 6) &&
		   !memcmp(s + n - 6 - IDENTITY_UID_LEN - 4, "-pod", 4)) {
		p = s + n - 6 - IDENTITY_UID_LEN;
	} else {
		return false;
	}
	for (i = 0; i < IDENTITY_UID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? p[i] != '-' && p[i] != '_' : !is_hex(p[i]))
			return false;
		uid[i] = dash ? '-' : (char)tolower((unsigned char)p[i]);
	}
	uid[IDENTITY_UID_LEN] = '\0';
	return true;
}

int identity_parse_cgroup_path(const char *path, char *id, char *pod_uid)
{
	const char *found = NULL, *p = path;
	char uid[IDENTITY_UID_LEN + 1] = "";

	while (*p) {
		const char *end = strchrnul(p, '/'), *cid;
		size_t n = end - p;

		/* the innermost id: a container's processes may sit in a
		 * child of its scope (Podman's ".../container") */
		if ((cid = component_id(p, n)))
			found = cid;
		else
			component_pod_uid(p, n, uid);
		p = *end ? end + 1 : end;
	}
	if (!found)
		return -ENOENT;
	if (id) {
		memcpy(id, found, IDENTITY_ID_LEN);
		id[IDENTITY_ID_LEN] = '\0';
	}
	if (pod_uid)
		memcpy(pod_uid, uid, sizeof(uid));
	return 0;
}

int identity_parse_proc_cgroup(const char *text, char **path, char **hierarchy)
{
	/* by preference: 0 memory with an id, 1 v2 with an id, 2 any with
	 * an id, 3 memory, 4 v2 */
	const char *best = NULL, *best_c = NULL, *best_eol = NULL;
	int best_rank = 5;
	const char *line = text;

	while (*line) {
		const char *eol = strchrnul(line, '\n'), *c1, *c2;

		c1 = memchr(line, ':', eol - line);
		c2 = c1 ? memchr(c1 + 1, ':', eol - c1 - 1) : NULL;
		if (c2 && c2 + 1 < eol && c2[1] == '/') {
			/* HIERARCHY-ID:CONTROLLERS:PATH; v2 is "0::PATH" */
			bool v2 = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
			bool memory = procfs_list_has(c1 + 1, c2 - c1 - 1, "memory");
			char *p = strndup(c2 + 1, eol - c2 - 1);
			bool id;
			int rank;

			if (!p)
				return -ENOMEM;
			id = !identity_parse_cgroup_path(p, NULL, NULL);
			free(p);
			rank = id ? (memory ? 0 : v2 ? 1 : 2) : (memory ? 3 : v2 ? 4 : 5);
			if (rank < best_rank) {
				best_rank = rank;
				best = c2 + 1;
				best_c = c1 + 1;
				best_eol = eol;
			}
		}
		line = *eol ? eol + 1 : eol;
	}
	if (!best)
		return -ENOENT;
	*path = strndup(best, best_eol - best);
	*hierarchy = strndup(best_c, best - 1 - best_c);
	if (!*path || !*hierarchy) {
		free(*path);
		free(*hierarchy);
		*path = *hierarchy = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- runtime state files ---- */

void identity__clear(struct identity *id)
{
	if (!id)
		return;
	free(id->cgroup);
	free(id->container_id);
	free(id->pod_uid);
	free(id->namespace);
	free(id->pod);
	free(id->container);
	memset(id, 0, sizeof(*id));
}

/* Replace *field with value (len bytes) when it is a usable name: not
 * empty, not too long, no NUL. */
static int set_field(char **field, const char *value, size_t len)
{
	char *copy;

	if (!len || len > IDENTITY_MAX_VALUE || memchr(value, '\0', len))
		return 0;
	copy = strndup(value, len);
	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

enum annotation { AN_NONE, AN_NAMESPACE, AN_POD, AN_POD_UID, AN_CONTAINER, AN_TYPE };

static enum annotation annotation_of(const char *key, size_t len)
{
	static const struct {
		const char *key;
		enum annotation a;
	} keys[] = {
		/* containerd's CRI plugin */
		{ "io.kubernetes.cri.sandbox-namespace", AN_NAMESPACE },
		{ "io.kubernetes.cri.sandbox-name", AN_POD },
		{ "io.kubernetes.cri.sandbox-uid", AN_POD_UID },
		{ "io.kubernetes.cri.container-name", AN_CONTAINER },
		{ "io.kubernetes.cri.container-type", AN_TYPE },
		/* CRI-O, and cri-dockerd's Docker labels */
		{ "io.kubernetes.pod.namespace", AN_NAMESPACE },
		{ "io.kubernetes.pod.name", AN_POD },
		{ "io.kubernetes.pod.uid", AN_POD_UID },
		{ "io.kubernetes.container.name", AN_CONTAINER },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].key) == len && !memcmp(keys[i].key, key, len))
			return keys[i].a;
	return AN_NONE;
}

/* One annotation into id; *sandbox is set by containerd's container-type. */
static int annotate(struct identity *id, const char *key, size_t klen, const char *value,
		    size_t vlen, bool *sandbox)
{
	switch (annotation_of(key, klen)) {
	case AN_NAMESPACE:
		return set_field(&id->namespace, value, vlen);
	case AN_POD:
		return set_field(&id->pod, value, vlen);
	case AN_POD_UID:
		return set_field(&id->pod_uid, value, vlen);
	case AN_CONTAINER:
		return set_field(&id->container, value, vlen);
	case AN_TYPE:
		*sandbox = vlen == 7 && !memcmp(value, "sandbox", 7);
		return 0;
	case AN_NONE:
		break;
	}
	return 0;
}

static struct json_object *parse_object(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *root;

	if (len > IDENTITY_MAX_FILE || len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	root = json_tokener_parse_ex(tok, text, (int)len);
	/* one object and nothing but whitespace after it */
	if (root && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(root, json_type_object)) {
		size_t used = json_tokener_get_parse_end(tok);

		while (used < len && strchr(" \t\r\n", text[used]))
			used++;
		if (used != len) {
			json_object_put(root);
			root = NULL;
		}
	} else {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

/* Annotations from a JSON object of strings; members of another type are
 * skipped. */
static int annotate_object(struct identity *id, struct json_object *obj)
{
	bool sandbox = false;
	int err = 0;

	json_object_object_foreach(obj, key, val) {
		if (!json_object_is_type(val, json_type_string))
			continue;
		err = annotate(id, key, strlen(key), json_object_get_string(val),
			       (size_t)json_object_get_string_len(val), &sandbox);
		if (err)
			return err;
	}
	if (sandbox) {	/* the pod's sandbox: no container of the pod's spec */
		free(id->container);
		id->container = NULL;
	}
	return 0;
}

int identity_parse_oci_config(const char *text, size_t len, struct identity *id)
{
	struct json_object *root = parse_object(text, len), *ann;
	int err = 0;

	if (!root)
		return -EINVAL;
	/* a config without annotations is a container outside Kubernetes */
	if (json_object_object_get_ex(root, "annotations", &ann)) {
		if (!json_object_is_type(ann, json_type_object)) {
			err = -EINVAL;
			goto cleanup;
		}
		err = annotate_object(id, ann);
	}
cleanup:
	json_object_put(root);
	return err;
}

int identity_parse_runc_state(const char *text, size_t len, struct identity *id, char **bundle)
{
	struct json_object *root = parse_object(text, len), *config, *labels;
	bool sandbox = false;
	size_t i, n;
	int err = 0;

	if (bundle)
		*bundle = NULL;
	if (!root)
		return -EINVAL;
	if (!json_object_object_get_ex(root, "config", &config) ||
	    !json_object_is_type(config, json_type_object)) {
		err = -EINVAL;
		goto cleanup;
	}
	if (!json_object_object_get_ex(config, "labels", &labels))
		goto cleanup;
	if (!json_object_is_type(labels, json_type_array)) {
		err = -EINVAL;
		goto cleanup;
	}
	n = json_object_array_length(labels);
	for (i = 0; !err && i < n; i++) {
		struct json_object *l = json_object_array_get_idx(labels, i);
		const char *s, *eq;
		size_t sl;

		if (!json_object_is_type(l, json_type_string))
			continue;
		s = json_object_get_string(l);
		sl = (size_t)json_object_get_string_len(l);
		eq = memchr(s, '=', sl);
		if (!eq)
			continue;
		if (bundle && eq - s == 6 && !memcmp(s, "bundle", 6)) {
			size_t bl = sl - 7;

			if (bl && bl < 4096 && !memchr(eq + 1, '\0', bl) && !*bundle) {
				*bundle = strndup(eq + 1, bl);
				if (!*bundle)
					err = -ENOMEM;
			}
			continue;
		}
		err = annotate(id, s, eq - s, eq + 1, sl - (eq + 1 - s), &sandbox);
	}
	if (!err && sandbox) {
		free(id->container);
		id->container = NULL;
	}
cleanup:
	if (err && bundle) {
		free(*bundle);
		*bundle = NULL;
	}
	json_object_put(root);
	return err;
}

int identity_parse_docker_config(const char *text, size_t len, struct identity *id)
{
	struct json_object *root = parse_object(text, len), *config, *labels, *name;
	int err = 0;

	if (!root)
		return -EINVAL;
	if (json_object_object_get_ex(root, "Config", &config) &&
	    json_object_is_type(config, json_type_object) &&
	    json_object_object_get_ex(config, "Labels", &labels) &&
	    json_object_is_type(labels, json_type_object))
		err = annotate_object(id, labels);
	/* outside Kubernetes, Docker's own name ("/web" for "web") */
	if (!err && !id->pod && json_object_object_get_ex(root, "Name", &name) &&
	    json_object_is_type(name, json_type_string)) {
		const char *s = json_object_get_string(name);
		size_t n = (size_t)json_object_get_string_len(name);

		if (n && s[0] == '/') {
			s++;
			n--;
		}
		err = set_field(&id->container, s, n);
	}
	json_object_put(root);
	return err;
}

/* ---- files under the host root ---- */

struct cached {
	char *key;		/* the cgroup path as shown, "\n", its hierarchy */
	struct identity id;
};

struct identities {
	int root_fd;
	pthread_mutex_t lock;
	void *tree;		/* tsearch tree of struct cached, by key */
	struct cached **all;	/* every entry, for pods without a container */
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

void identities__free(struct identities *ids)
{
	if (!ids)
		return;
	tdestroy(ids->tree, free_cached);
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
		ret = &(*found)->id;
		goto out;
	}
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
