// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pure parsers of container identity (identity.h): cgroup paths and
 * /proc/PID/cgroup lines, and the runtimes' state files (OCI config.json,
 * runc's state.json, Docker's config.v2.json).  Every input is untrusted
 * and bounded; no file is opened here (identity.c reads them).
 */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "identity.h"
#include "procfs.h"
#include "vec.h"

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
bool component_pod_uid(const char *s, size_t n, char *uid)
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
