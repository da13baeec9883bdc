/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which container, pod and Kubernetes namespace a process belongs to, from
 * the host's own files, without any Kubernetes API client:
 *
 *   /proc/PID/cgroup  ->  cgroup path  ->  container id (and pod UID)
 *   ->  the container runtime's state of that id  ->  its OCI annotations
 *
 * Container ids are taken from the last cgroup components that name one:
 * systemd's "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "docker-<id>.scope", "libpod-<id>.scope" (and Podman's ".../container"
 * below it), "nerdctl-<id>.scope"; cgroupfs's "/kubepods/<qos>/pod<uid>/<id>",
 * ".../pod<uid>/crio-<id>", "/docker/<id>", "/libpod_parent/libpod-<id>"
 * and the like; an id is 64 hex digits.  conmon's own scopes
 * ("crio-conmon-<id>.scope") are not the container.
 *
 * A process in another cgroup namespace than leakwatch shows a path
 * relative to leakwatch's namespace root ("/../../kubepods/..."); it is
 * resolved to the absolute path by finding the one directory of the host's
 * cgroup hierarchy under which the rest of the path exists.
 *
 * The runtime's state, tried in this order for an id:
 *   run/containerd/runc/<ns>/<id>/state.json  runc's state under
 *       containerd (and run/docker/runtime-runc/<ns>/): the annotations are
 *       its config's "labels" ("key=value"), with "bundle=<dir>"
 *   <bundle>/config.json, run/containerd/io.containerd.runtime.v2.task/
 *       <ns>/<id>/config.json: the OCI config's "annotations"
 *   run/containers/storage/overlay-containers/<id>/userdata/config.json
 *       (CRI-O and Podman), and the same under var/lib/containers
 *   var/lib/docker/containers/<id>/config.v2.json: Docker's "Name" and
 *       "Config"."Labels" (cri-dockerd puts the Kubernetes names there)
 * Annotations: containerd's io.kubernetes.cri.sandbox-namespace,
 * sandbox-name, sandbox-uid, container-name (a pod's sandbox, whose
 * container-type is "sandbox", has no container name); CRI-O's and
 * cri-dockerd's io.kubernetes.pod.namespace, pod.name, pod.uid,
 * container.name.
 *
 * Every file is read under the host root (--host-root: "/" or where a
 * container sees the host), untrusted: opened with openat2's
 * RESOLVE_IN_ROOT so that no symlink leads out of the host root, never a
 * FIFO or device, at most IDENTITY_MAX_FILE bytes; JSON by json-c; values
 * of more than IDENTITY_MAX_VALUE bytes are ignored.
 */
#ifndef LW_IDENTITY_H
#define LW_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A container id: 64 hex digits. */
#define IDENTITY_ID_LEN 64
/* A pod UID: 36 characters, "8-4-4-4-12" hex digits. */
#define IDENTITY_UID_LEN 36
/* The largest state or config file read (OCI configs carry the
 * environment, so they can be large). */
#define IDENTITY_MAX_FILE (4u << 20)
/* The longest name kept: Kubernetes names are at most 253 bytes. */
#define IDENTITY_MAX_VALUE 253

/* A process's container and pod.  Strings are NULL when unknown; every
 * one is NULL outside a container. */
struct identity {
	char *cgroup;		/* the cgroup path the id was read from */
	char *container_id;
	char *pod_uid;
	char *namespace;	/* the pod's Kubernetes namespace */
	char *pod;
	char *container;	/* the container's name */
};

void identity__clear(struct identity *id);	/* frees the strings; accepts NULL */

/* ---- Parsers of text: no file access, unit-tested ---- */

/* In a cgroup path: the container id (IDENTITY_ID_LEN + 1 bytes, may be
 * NULL) and the pod UID (IDENTITY_UID_LEN + 1 bytes, dashes, lower case;
 * may be NULL, "" when the path shows none).  0, or -ENOENT when the path
 * names no container. */
int identity_parse_cgroup_path(const char *path, char *id, char *pod_uid);
/* The pod UID one component of a cgroup path (s, n bytes) names, into uid
 * (IDENTITY_UID_LEN + 1 bytes): "pod<uid>" (cgroupfs driver) or
 * "kubepods[-<qos>]-pod<uid with '_'>.slice" (systemd driver), also under a
 * kubelet cgroup root of another name ("<root>-kubepods-..."). */
bool component_pod_uid(const char *s, size_t n, char *uid);

/* In the text of /proc/PID/cgroup, the line that names the container:
 * the memory controller's, else cgroup v2's "0::", else any other; when
 * none names one, the memory controller's line, else v2's.  *path and
 * *hierarchy (its controllers, "" for v2, "name=systemd" for a named
 * hierarchy) are malloc'd.  0, -ENOENT (no usable line) or -ENOMEM. */
int identity_parse_proc_cgroup(const char *text, char **path, char **hierarchy);

/* The annotations of an OCI config.json (text of len bytes) into id's
 * namespace, pod, pod_uid and container (those it has replace id's).
 * 0, -EINVAL when it is not JSON of that shape, or -ENOMEM. */
int identity_parse_oci_config(const char *text, size_t len, struct identity *id);
/* runc's state.json: the same from its config's labels; *bundle (may be
 * NULL) gets the "bundle" label, malloc'd, or NULL. */
int identity_parse_runc_state(const char *text, size_t len, struct identity *id,
			      char **bundle);
/* Docker's config.v2.json: Kubernetes labels, else its name as the
 * container's. */
int identity_parse_docker_config(const char *text, size_t len, struct identity *id);

/* ---- The cache ---- */

struct identity_opts {
	const char *host_root;	/* where the host's / is; NULL: "/" */
};

struct identities;

/* NULL + errno (the host root cannot be opened). */
struct identities *identities__new(const struct identity_opts *o);
void identities__free(struct identities *ids);	/* accepts NULL */

/*
 * The identity of pid (its /proc under the host root), or of a cgroup
 * path as /proc/PID/cgroup shows it (hierarchy as identity_parse_proc_cgroup
 * gives it; NULL: unknown, then no relative path is resolved).  The answer
 * is cached by cgroup path.  A path that names a pod but no container (a
 * pod's own cgroup) gets the pod of a container of that pod met before.
 * NULL when the process is gone; an identity with every field NULL outside
 * containers.  Thread-safe.
 *
 * The caller holds the identity returned until identity__put: the cache
 * keeps the latest IDENTITY_CACHE_MAX cgroups, and one it let go lives on
 * while someone holds it (a daemon meets new cgroups for months: every
 * pod, every login session).
 */
const struct identity *identities__pid(struct identities *ids, pid_t pid);
const struct identity *identities__cgroup(struct identities *ids, const char *path,
					  const char *hierarchy);
/* One more holder of id (from the functions above); id may be NULL. */
const struct identity *identity__get(const struct identity *id);
/* A holder lets id go; id may be NULL. */
void identity__put(const struct identity *id);
/* The cgroups the cache keeps now. */
size_t identities__cached(struct identities *ids);

#define IDENTITY_CACHE_MAX 1024

#endif /* LW_IDENTITY_H */
