// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container identity: /proc/PID/cgroup lines of every runtime, cgroup
 * driver and version (kernel/cgroup/cgroup.c proc_cgroup_show), the
 * runtimes' state files, malformed ones included, and the whole chain on a
 * host root made in a temporary directory: proc/PID/cgroup, the runtimes'
 * state directories and a cgroup hierarchy.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
#define ID63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define NOTHEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"
#define UID_ "1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d"

/* A hybrid host's 13 lines, v1 controllers each with the same path. */
#define V1(path) \
	"12:pids:" path "\n11:memory:" path "\n10:cpu,cpuacct:" path "\n" \
	"1:name=systemd:" path "\n0::/\n"

static const struct {
	const char *what;
	const char *text;	/* /proc/PID/cgroup */
	const char *path;	/* the line chosen; NULL: -ENOENT */
	const char *hierarchy;
	const char *id;		/* NULL: none */
	const char *pod_uid;	/* "": none */
} lines[] = {
	{ "containerd, systemd driver, v2",
	  "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/cri-containerd-" ID ".scope\n",
	  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/cri-containerd-" ID ".scope", "", ID, UID },
	{ "containerd, cgroupfs driver, v2",
	  "0::/kubepods/burstable/pod" UID "/" ID "\n",
	  "/kubepods/burstable/pod" UID "/" ID, "", ID, UID },
	{ "containerd, cgroupfs driver, guaranteed QoS, v1",
	  V1("/kubepods/pod" UID "/" ID),
	  "/kubepods/pod" UID "/" ID, "memory", ID, UID },
	{ "containerd, systemd driver, guaranteed QoS, v1",
	  V1("/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope"),
	  "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope", "memory",
	  ID, UID },
	{ "CRI-O, systemd driver, v2",
	  "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/crio-" ID ".scope\n",
	  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/crio-" ID ".scope", "", ID, UID },
	{ "CRI-O's conmon is not the container",
	  "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/crio-conmon-" ID ".scope\n",
	  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/crio-conmon-" ID ".scope", "", NULL, "" },
	{ "Docker, systemd driver, v2",
	  "0::/system.slice/docker-" ID ".scope\n", "/system.slice/docker-" ID ".scope", "", ID,
	  "" },
	{ "Docker, cgroupfs driver, v1", V1("/docker/" ID), "/docker/" ID, "memory", ID, "" },
	{ "Podman, v2, the container's own child cgroup",
	  "0::/machine.slice/libpod-" ID ".scope/container\n",
	  "/machine.slice/libpod-" ID ".scope/container", "", ID, "" },
	{ "Podman rootless, v2",
	  "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope\n",
	  "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope", "", ID,
	  "" },
	/* every runtime, driver and version not above */
	{ "containerd, systemd driver, besteffort, v1",
	  V1("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	     ".slice/cri-containerd-" ID ".scope"),
	  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/cri-containerd-" ID ".scope", "memory", ID, UID },
	{ "containerd outside Kubernetes (nerdctl), cgroupfs driver, v2",
	  "0::/default/" ID "\n", "/default/" ID, "", ID, "" },
	{ "containerd outside Kubernetes (nerdctl), systemd driver, v2",
	  "0::/system.slice/nerdctl-" ID ".scope\n", "/system.slice/nerdctl-" ID ".scope", "", ID,
	  "" },
	{ "containerd outside Kubernetes (nerdctl), systemd driver, v1",
	  V1("/system.slice/nerdctl-" ID ".scope"), "/system.slice/nerdctl-" ID ".scope", "memory",
	  ID, "" },
	{ "kind: a node in Docker, kubelet's cgroup root /kubelet, systemd driver, v2",
	  "0::/system.slice/docker-" ID2 ".scope/kubelet.slice/kubelet-kubepods.slice/"
	  "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_
	  ".slice/cri-containerd-" ID ".scope\n",
	  "/system.slice/docker-" ID2 ".scope/kubelet.slice/kubelet-kubepods.slice/"
	  "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" UID_
	  ".slice/cri-containerd-" ID ".scope", "", ID, UID },
	{ "kind: a node in Docker, cgroupfs driver, v2",
	  "0::/docker/" ID2 "/kubelet/kubepods/burstable/pod" UID "/" ID "\n",
	  "/docker/" ID2 "/kubelet/kubepods/burstable/pod" UID "/" ID, "", ID, UID },
	{ "CRI-O, systemd driver, v1",
	  V1("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	     ".slice/crio-" ID ".scope"),
	  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/crio-" ID ".scope", "memory", ID, UID },
	{ "CRI-O, cgroupfs driver, v2",
	  "0::/kubepods/burstable/pod" UID "/crio-" ID "\n",
	  "/kubepods/burstable/pod" UID "/crio-" ID, "", ID, UID },
	{ "CRI-O, cgroupfs driver, v1",
	  V1("/kubepods/besteffort/pod" UID "/crio-" ID),
	  "/kubepods/besteffort/pod" UID "/crio-" ID, "memory", ID, UID },
	{ "CRI-O's conmon, cgroupfs driver: the pod's cgroup",
	  "0::/kubepods/burstable/pod" UID "\n", "/kubepods/burstable/pod" UID, "", NULL, "" },
	{ "CRI-O's conmon in a cgroup of its own, cgroupfs driver",
	  "0::/kubepods/burstable/pod" UID "/crio-conmon-" ID "\n",
	  "/kubepods/burstable/pod" UID "/crio-conmon-" ID, "", NULL, "" },
	{ "Docker, systemd driver, v1", V1("/system.slice/docker-" ID ".scope"),
	  "/system.slice/docker-" ID ".scope", "memory", ID, "" },
	{ "Docker, cgroupfs driver, v2", "0::/docker/" ID "\n", "/docker/" ID, "", ID, "" },
	{ "Docker rootless, v2",
	  "0::/user.slice/user-1000.slice/user@1000.service/docker-" ID ".scope\n",
	  "/user.slice/user-1000.slice/user@1000.service/docker-" ID ".scope", "", ID, "" },
	{ "Docker under Kubernetes (cri-dockerd), systemd driver, v2",
	  "0::/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID ".scope\n",
	  "/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID ".scope", "", ID, UID },
	{ "Docker under Kubernetes (cri-dockerd), cgroupfs driver, v1",
	  V1("/kubepods/burstable/pod" UID "/" ID), "/kubepods/burstable/pod" UID "/" ID,
	  "memory", ID, UID },
	{ "Podman, systemd driver, v1", V1("/machine.slice/libpod-" ID ".scope"),
	  "/machine.slice/libpod-" ID ".scope", "memory", ID, "" },
	{ "Podman, cgroupfs driver, v2", "0::/libpod_parent/libpod-" ID "\n",
	  "/libpod_parent/libpod-" ID, "", ID, "" },
	{ "Podman, cgroupfs driver, v1", V1("/libpod_parent/libpod-" ID),
	  "/libpod_parent/libpod-" ID, "memory", ID, "" },
	{ "Podman's conmon is not the container",
	  "0::/machine.slice/libpod-conmon-" ID ".scope\n",
	  "/machine.slice/libpod-conmon-" ID ".scope", "", NULL, "" },
	{ "a Podman pod: its slice is no container, the container in it is",
	  "0::/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID ".scope/container\n",
	  "/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID ".scope/container", "",
	  ID, "" },
	{ "a Podman pod's own slice", "0::/machine.slice/machine-libpod_pod_" ID2 ".slice\n",
	  "/machine.slice/machine-libpod_pod_" ID2 ".slice", "", NULL, "" },
	{ "upper-case hex", "0::/docker/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	  "0123456789ABCDEF\n", "/docker/0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	  "0123456789ABCDEF", "", "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	  "0123456789ABCDEF", "" },
	{ "an id with a suffix other than .scope", "0::/system.slice/docker-" ID ".service\n",
	  "/system.slice/docker-" ID ".service", "", NULL, "" },
	{ "hybrid: the id only on the v1 lines, v2 at the root",
	  "11:memory:/kubepods/burstable/pod" UID "/" ID "\n0::/\n",
	  "/kubepods/burstable/pod" UID "/" ID, "memory", ID, UID },
	{ "hybrid: the id only on the v2 line",
	  "11:memory:/\n1:name=systemd:/\n0::/system.slice/docker-" ID ".scope\n",
	  "/system.slice/docker-" ID ".scope", "", ID, "" },
	{ "another cgroup namespace: relative to its root, v2",
	  "0::/../../kubepods/besteffort/pod" UID "/" ID "\n",
	  "/../../kubepods/besteffort/pod" UID "/" ID, "", ID, UID },
	{ "another cgroup namespace, systemd driver, v1",
	  "11:memory:/../../../kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/cri-containerd-" ID ".scope\n0::/\n",
	  "/../../../kubepods-burstable.slice/kubepods-burstable-pod" UID_
	  ".slice/cri-containerd-" ID ".scope", "memory", ID, UID },
	{ "another cgroup namespace, systemd driver, v2",
	  "0::/../../kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/cri-containerd-" ID ".scope\n",
	  "/../../kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/cri-containerd-" ID ".scope", "", ID, UID },
	{ "another cgroup namespace, CRI-O, cgroupfs driver, v2",
	  "0::/../../../burstable/pod" UID "/crio-" ID "\n",
	  "/../../../burstable/pod" UID "/crio-" ID, "", ID, UID },
	{ "another cgroup namespace, CRI-O, systemd driver, v1",
	  "11:memory:/../../kubepods-burstable-pod" UID_ ".slice/crio-" ID ".scope\n0::/\n",
	  "/../../kubepods-burstable-pod" UID_ ".slice/crio-" ID ".scope", "memory", ID, UID },
	{ "another cgroup namespace, Docker, systemd driver, v2",
	  "0::/../docker-" ID ".scope\n", "/../docker-" ID ".scope", "", ID, "" },
	{ "another cgroup namespace, Podman, v2",
	  "0::/../../machine.slice/libpod-" ID ".scope/container\n",
	  "/../../machine.slice/libpod-" ID ".scope/container", "", ID, "" },
	{ "the daemon's own cgroup namespace root",
	  "0::/\n", "/", "", NULL, "" },
	{ "a process of the daemon's own pod, below its namespace root",
	  "0::/worker\n", "/worker", "", NULL, "" },
	{ "a sibling container of the same pod, from its namespace",
	  "0::/../" ID2 "\n", "/../" ID2, "", ID2, "" },
	{ "a pod's own cgroup: a pod UID, no container",
	  "0::/kubepods/burstable/pod" UID "\n", "/kubepods/burstable/pod" UID, "", NULL, "" },
	{ "no container: a systemd service", "0::/system.slice/ssh.service\n",
	  "/system.slice/ssh.service", "", NULL, "" },
	{ "no container: this project's hosts",
	  "4:memory:/process_api/3477c369882472e20a9e5c6c3c402257\n0::/\n",
	  "/process_api/3477c369882472e20a9e5c6c3c402257", "memory", NULL, "" },
	{ "65 hex digits are no id", "0::/docker/" ID "0\n", "/docker/" ID "0", "", NULL, "" },
	{ "63 hex digits are no id", "0::/system.slice/docker-" ID63 ".scope\n",
	  "/system.slice/docker-" ID63 ".scope", "", NULL, "" },
	{ "not hex", "0::/docker/" NOTHEX "\n", "/docker/" NOTHEX, "", NULL, "" },
	{ "malformed: no path", "0::\n12:memory\n", NULL, NULL, NULL, "" },
	{ "malformed: empty", "", NULL, NULL, NULL, "" },
	{ "malformed: a path not absolute", "0::kubepods/" ID "\n", NULL, NULL, NULL, "" },
	{ "no trailing newline",
	  "0::/docker/" ID, "/docker/" ID, "", ID, "" },
};

Test(identity, proc_cgroup_lines)
{
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char *path = NULL, *hier = NULL, id[IDENTITY_ID_LEN + 1] = "",
		     uid[IDENTITY_UID_LEN + 1] = "x";
		int err = identity_parse_proc_cgroup(lines[i].text, &path, &hier);

		if (!lines[i].path) {
			cr_assert_eq(err, -ENOENT, "%s: %d", lines[i].what, err);
			continue;
		}
		cr_assert_eq(err, 0, "%s: %d", lines[i].what, err);
		cr_assert_str_eq(path, lines[i].path, "%s", lines[i].what);
		cr_assert_str_eq(hier, lines[i].hierarchy, "%s", lines[i].what);
		err = identity_parse_cgroup_path(path, id, uid);
		if (lines[i].id) {
			cr_assert_eq(err, 0, "%s: no id in %s", lines[i].what, path);
			cr_assert_str_eq(id, lines[i].id, "%s", lines[i].what);
			cr_assert_str_eq(uid, lines[i].pod_uid, "%s", lines[i].what);
		} else {
			cr_assert_eq(err, -ENOENT, "%s: an id in %s", lines[i].what, path);
		}
		free(path);
		free(hier);
	}
}

/* ---- state and config files ---- */

#define CRI_ANN \
	"\"io.kubernetes.cri.container-type\": \"container\", " \
	"\"io.kubernetes.cri.sandbox-name\": \"web-0\", " \
	"\"io.kubernetes.cri.sandbox-namespace\": \"shop\", " \
	"\"io.kubernetes.cri.sandbox-uid\": \"" UID "\", " \
	"\"io.kubernetes.cri.container-name\": \"app\""

static void expect_identity(const struct identity *id, const char *ns, const char *pod,
			    const char *uid, const char *container, const char *what)
{
	const char *const got[] = { id->namespace, id->pod, id->pod_uid, id->container };
	const char *const want[] = { ns, pod, uid, container };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (want[i])
			cr_assert(got[i] && !strcmp(got[i], want[i]), "%s: field %zu: %s, not %s",
				  what, i, got[i] ?: "(null)", want[i]);
		else
			cr_assert_null(got[i], "%s: field %zu: %s, not null", what, i, got[i]);
	}
}

Test(identity, oci_config)
{
	static const struct {
		const char *what, *json;
		int err;
		const char *ns, *pod, *uid, *container;
	} cases[] = {
		{ "containerd", "{\"ociVersion\": \"1.0.2\", \"annotations\": {" CRI_ANN "}}", 0,
		  "shop", "web-0", UID, "app" },
		{ "containerd's sandbox",
		  "{\"annotations\": {\"io.kubernetes.cri.container-type\": \"sandbox\", "
		  "\"io.kubernetes.cri.sandbox-name\": \"web-0\", "
		  "\"io.kubernetes.cri.container-name\": \"x\", "
		  "\"io.kubernetes.cri.sandbox-namespace\": \"shop\"}}",
		  0, "shop", "web-0", NULL, NULL },
		{ "CRI-O",
		  "{\"annotations\": {\"io.kubernetes.pod.name\": \"db-1\", "
		  "\"io.kubernetes.pod.namespace\": \"data\", \"io.kubernetes.pod.uid\": \"" UID
		  "\", \"io.kubernetes.container.name\": \"postgres\", "
		  "\"io.kubernetes.cri-o.ContainerType\": \"container\"}}\n",
		  0, "data", "db-1", UID, "postgres" },
		{ "no annotations: a container outside Kubernetes", "{\"ociVersion\": \"1.0.2\"}", 0,
		  NULL, NULL, NULL, NULL },
		{ "values of other types are skipped",
		  "{\"annotations\": {\"io.kubernetes.pod.name\": 7, "
		  "\"io.kubernetes.pod.namespace\": null, \"io.kubernetes.container.name\": \"\"}}",
		  0, NULL, NULL, NULL, NULL },
		{ "a NUL inside a value",
		  "{\"annotations\": {\"io.kubernetes.pod.name\": \"a\\u0000b\"}}", 0, NULL, NULL,
		  NULL, NULL },
		{ "annotations not an object", "{\"annotations\": [\"a=b\"]}", -EINVAL, NULL, NULL, NULL, NULL },
		{ "not an object", "[1, 2]", -EINVAL, NULL, NULL, NULL, NULL },
		{ "truncated", "{\"annotations\": {" CRI_ANN, -EINVAL, NULL, NULL, NULL, NULL },
		{ "trailing garbage", "{\"annotations\": {}} {}", -EINVAL, NULL, NULL, NULL, NULL },
		{ "empty", "", -EINVAL, NULL, NULL, NULL, NULL },
		{ "not JSON", "\x7f" "ELF\x02\x01", -EINVAL, NULL, NULL, NULL, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct identity id = {};
		int err = identity_parse_oci_config(cases[i].json, strlen(cases[i].json), &id);

		cr_assert_eq(err, cases[i].err, "%s: %d", cases[i].what, err);
		if (!err)
			expect_identity(&id, cases[i].ns, cases[i].pod, cases[i].uid,
					cases[i].container, cases[i].what);
		identity__clear(&id);
	}
}

Test(identity, oci_config_limits)
{
	struct identity id = {};
	char *json, name[IDENTITY_MAX_VALUE + 2];

	/* a value longer than any Kubernetes name is ignored */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_assert(asprintf(&json, "{\"annotations\": {\"io.kubernetes.pod.name\": \"%s\", "
			   "\"io.kubernetes.pod.namespace\": \"%s\"}}", name, name + 1) > 0);
	cr_assert_eq(identity_parse_oci_config(json, strlen(json), &id), 0);
	cr_assert_null(id.pod);
	cr_assert_str_eq(id.namespace, name + 1);
	identity__clear(&id);
	/* the length given is the document: no reading past it */
	cr_assert_eq(identity_parse_oci_config(json, 5, &id), -EINVAL);
	free(json);
}

Test(identity, runc_state)
{
	static const char state[] =
		"{\"id\": \"" ID "\", \"init_process_pid\": 9106, \"config\": {\"rootfs\": \"/r\", "
		"\"labels\": [\"io.kubernetes.cri.container-type=container\", "
		"\"io.kubernetes.cri.sandbox-name=web-0\", "
		"\"io.kubernetes.cri.sandbox-namespace=shop\", "
		"\"io.kubernetes.cri.sandbox-uid=" UID "\", "
		"\"io.kubernetes.cri.container-name=app\", 42, \"novalue\", "
		"\"bundle=/run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID "\"]}}";
	static const char *const bad[] = {
		"{}", "{\"config\": []}", "{\"config\": {\"labels\": {}}}", "[]", "{\"config\":",
	};
	struct identity id = {};
	char *bundle = NULL;
	size_t i;

	cr_assert_eq(identity_parse_runc_state(state, strlen(state), &id, &bundle), 0);
	expect_identity(&id, "shop", "web-0", UID, "app", "runc state");
	cr_assert_str_eq(bundle, "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID);
	free(bundle);
	identity__clear(&id);

	/* a plain runc container: labels with only the bundle */
	cr_assert_eq(identity_parse_runc_state("{\"config\": {\"labels\": [\"bundle=/b\"]}}", 38,
					       &id, &bundle), 0);
	expect_identity(&id, NULL, NULL, NULL, NULL, "plain runc");
	cr_assert_str_eq(bundle, "/b");
	free(bundle);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(identity_parse_runc_state(bad[i], strlen(bad[i]), &id, &bundle),
			     -EINVAL, "%s", bad[i]);
		cr_assert_null(bundle, "%s", bad[i]);
	}
}

Test(identity, docker_config)
{
	static const char k8s[] =
		"{\"ID\": \"" ID "\", \"Name\": \"/k8s_app_web-0_shop_" UID "_0\", \"Config\": "
		"{\"Labels\": {\"io.kubernetes.pod.name\": \"web-0\", "
		"\"io.kubernetes.pod.namespace\": \"shop\", \"io.kubernetes.pod.uid\": \"" UID "\", "
		"\"io.kubernetes.container.name\": \"app\"}}}";
	static const char plain[] = "{\"Name\": \"/redis\", \"Config\": {\"Labels\": null}}";
	struct identity id = {};

	cr_assert_eq(identity_parse_docker_config(k8s, strlen(k8s), &id), 0);
	expect_identity(&id, "shop", "web-0", UID, "app", "cri-dockerd");
	identity__clear(&id);
	cr_assert_eq(identity_parse_docker_config(plain, strlen(plain), &id), 0);
	expect_identity(&id, NULL, NULL, NULL, "redis", "docker");
	identity__clear(&id);
	cr_assert_eq(identity_parse_docker_config("{\"Name\": 1}", 11, &id), 0);
	expect_identity(&id, NULL, NULL, NULL, NULL, "docker, a name of another type");
	cr_assert_eq(identity_parse_docker_config("\"x\"", 3, &id), -EINVAL);
}

/* ---- the chain, on a host root in a temporary directory ---- */

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[512], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	if (!text) {	/* a directory */
		mkdir(path, 0755);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static const char *rm_cmd(const char *rel);

static void remove_root(void)
{
	if (root[0] && system(rm_cmd(""))) {
	}
}

static const char *rm_cmd(const char *rel)
{
	static char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", root, rel);
	return cmd;
}

/* What a test got from the cache, let go at its end (free_host). */
static const struct identity *held[32];
static size_t nheld;

static const struct identity *hold(const struct identity *id)
{
	cr_assert_lt(nheld, sizeof(held) / sizeof(held[0]));
	if (id)
		held[nheld++] = id;
	return id;
}

static void free_host(struct identities *ids)
{
	while (nheld)
		identity__put(held[--nheld]);
	identities__free(ids);
}

static struct identities *make_host(void)
{
	struct identity_opts o;
	struct identities *ids;

	strcpy(root, "/tmp/lw-identity-test.XXXXXX");
	cr_assert(mkdtemp(root), "mkdtemp: %s", strerror(errno));
	o.host_root = root;
	ids = identities__new(&o);
	cr_assert(ids, "identities__new: %s", strerror(errno));
	return ids;
}

#define TASKS "run/containerd/io.containerd.runtime.v2.task/k8s.io/"

Test(identity, containerd_runc_state, .fini = remove_root)
{
	struct identities *ids = make_host();
	const struct identity *id, *again;

	put("proc/100/cgroup", V1("/kubepods/burstable/pod" UID "/" ID));
	put("run/containerd/runc/k8s.io/" ID "/state.json",
	    "{\"config\": {\"labels\": [\"io.kubernetes.cri.sandbox-name=web-0\", "
	    "\"io.kubernetes.cri.sandbox-namespace=shop\", "
	    "\"io.kubernetes.cri.sandbox-uid=" UID "\", "
	    "\"io.kubernetes.cri.container-name=app\", \"bundle=/" TASKS ID "\"]}}");
	/* another namespace of containerd's, without this id */
	put("run/containerd/runc/moby", NULL);
	id = hold(identities__pid(ids, 100));
	cr_assert(id);
	cr_assert_str_eq(id->cgroup, "/kubepods/burstable/pod" UID "/" ID);
	cr_assert_str_eq(id->container_id, ID);
	expect_identity(id, "shop", "web-0", UID, "app", "runc state");
	/* cached by path: the same answer, even once the state is gone */
	put("run/containerd/runc/k8s.io/" ID "/state.json", "{}");
	again = hold(identities__pid(ids, 100));
	cr_assert_eq(again, id);
	/* a pod's own memory cgroup: the pod of its container */
	id = hold(identities__cgroup(ids, "/kubepods/burstable/pod" UID, NULL));
	cr_assert(id);
	cr_assert_null(id->container_id);
	expect_identity(id, "shop", "web-0", UID, NULL, "the pod's cgroup");
	/* a process that is gone */
	cr_assert_null(identities__pid(ids, 101));
	free_host(ids);
}

Test(identity, containerd_bundle_config, .fini = remove_root)
{
	struct identities *ids = make_host();
	const struct identity *id;

	/* runc's state names the bundle; the annotations are in its config */
	put("proc/7/cgroup", "0::/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID
	    ".scope\n");
	put("run/containerd/runc/k8s.io/" ID "/state.json",
	    "{\"config\": {\"labels\": [\"bundle=/" TASKS ID "\"]}}");
	put(TASKS ID "/config.json", "{\"annotations\": {" CRI_ANN "}}");
	id = hold(identities__pid(ids, 7));
	cr_assert(id);
	expect_identity(id, "shop", "web-0", UID, "app", "bundle");

	/* no runc state at all (a runtime other than runc): the task bundle */
	put("proc/8/cgroup", "0::/kubepods/besteffort/pod" UID "/" ID2 "\n");
	put(TASKS ID2 "/config.json",
	    "{\"annotations\": {\"io.kubernetes.cri.sandbox-name\": \"job-x\", "
	    "\"io.kubernetes.cri.sandbox-namespace\": \"batch\", "
	    "\"io.kubernetes.cri.container-name\": \"worker\"}}");
	id = hold(identities__pid(ids, 8));
	cr_assert(id);
	cr_assert_str_eq(id->container_id, ID2);
	/* the pod UID from the path when the annotations have none */
	expect_identity(id, "batch", "job-x", UID, "worker", "task bundle");
	free_host(ids);
}

Test(identity, crio_and_docker, .fini = remove_root)
{
	struct identities *ids = make_host();
	const struct identity *id;

	put("proc/9/cgroup", "0::/kubepods.slice/kubepods-besteffort.slice/"
	    "kubepods-besteffort-pod" UID_ ".slice/crio-" ID ".scope\n");
	put("run/containers/storage/overlay-containers/" ID "/userdata/config.json",
	    "{\"annotations\": {\"io.kubernetes.pod.name\": \"db-1\", "
	    "\"io.kubernetes.pod.namespace\": \"data\", \"io.kubernetes.pod.uid\": \"" UID "\", "
	    "\"io.kubernetes.container.name\": \"postgres\"}}");
	id = hold(identities__pid(ids, 9));
	cr_assert(id);
	expect_identity(id, "data", "db-1", UID, "postgres", "CRI-O");

	put("proc/10/cgroup", "0::/system.slice/docker-" ID2 ".scope\n");
	put("var/lib/docker/containers/" ID2 "/config.v2.json", "{\"Name\": \"/redis\"}");
	id = hold(identities__pid(ids, 10));
	cr_assert(id);
	cr_assert_str_eq(id->container_id, ID2);
	expect_identity(id, NULL, NULL, NULL, "redis", "Docker");
	free_host(ids);
}

Test(identity, untrusted_files, .fini = remove_root)
{
	static const char evil[] =
		"{\"config\": {\"labels\": [\"io.kubernetes.pod.name=evil\"]}}";
	struct identities *ids = make_host();
	const struct identity *id;
	char path[512], outside[128];
	int fd;

	/* runc's state is a symlink to a file outside the host root, by its
	 * absolute path: that path is resolved inside the host root, where
	 * there is no such file */
	put("proc/11/cgroup", "0::/docker/" ID "\n");
	put("run/containerd/runc/k8s.io/" ID "/x", "");
	snprintf(outside, sizeof(outside), "%s.outside.json", root);
	fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0);
	cr_assert(write(fd, evil, strlen(evil)) == (ssize_t)strlen(evil));
	close(fd);
	snprintf(path, sizeof(path), "%s/run/containerd/runc/k8s.io/" ID "/state.json", root);
	cr_assert_eq(symlink(outside, path), 0);
	/* a FIFO where a config should be: never opened for a blocking read */
	put(TASKS ID "/x", "");
	snprintf(path, sizeof(path), "%s/" TASKS ID "/config.json", root);
	cr_assert_eq(mkfifo(path, 0644), 0);
	/* a malformed CRI-O config */
	put("run/containers/storage/overlay-containers/" ID "/userdata/config.json", "{\"annot");
	id = hold(identities__pid(ids, 11));
	cr_assert(id);
	cr_assert_str_eq(id->container_id, ID);
	expect_identity(id, NULL, NULL, NULL, NULL, "untrusted");
	free_host(ids);
	unlink(outside);
}

Test(identity, relative_paths, .fini = remove_root)
{
	struct identities *ids = make_host();
	const struct identity *id;

	/* the host's v1 memory hierarchy; leakwatch in /kubepods/besteffort/
	 * pod<uid2>/<id2>, which its namespace shows as "/" */
	put("sys/fs/cgroup/memory/kubepods/burstable/pod" UID "/" ID, NULL);
	put("sys/fs/cgroup/memory/kubepods/besteffort/pod00000000-0000-0000-0000-000000000000/"
	    ID2, NULL);
	put("sys/fs/cgroup/memory/system.slice/ssh.service", NULL);
	put("proc/12/cgroup", "11:memory:/../../../burstable/pod" UID "/" ID "\n0::/\n");
	put(TASKS ID "/config.json", "{\"annotations\": {" CRI_ANN "}}");
	id = hold(identities__pid(ids, 12));
	cr_assert(id);
	cr_assert_str_eq(id->cgroup, "/kubepods/burstable/pod" UID "/" ID);
	cr_assert_str_eq(id->container_id, ID);
	expect_identity(id, "shop", "web-0", UID, "app", "relative, v1");

	/* cgroup v2 at sys/fs/cgroup, a path up to the root (a host of
	 * another kind: without the v1 hierarchy, whose paths would match too) */
	cr_assert_eq(system(rm_cmd("sys/fs/cgroup/memory")), 0);
	put("sys/fs/cgroup/cgroup.controllers", "memory pids\n");
	put("sys/fs/cgroup/kubepods/burstable/pod" UID "/" ID, NULL);
	put("proc/13/cgroup", "0::/../../../../kubepods/burstable/pod" UID "/" ID "\n");
	id = hold(identities__pid(ids, 13));
	cr_assert(id);
	cr_assert_str_eq(id->cgroup, "/kubepods/burstable/pod" UID "/" ID);
	expect_identity(id, "shop", "web-0", UID, "app", "relative, v2");

	/* nothing but "..": an ancestor, which stays relative */
	put("proc/14/cgroup", "0::/../..\n");
	id = hold(identities__pid(ids, 14));
	cr_assert(id);
	cr_assert_str_eq(id->cgroup, "/../..");
	cr_assert_null(id->container_id);
	/* two directories that both have the rest: it stays relative */
	put("sys/fs/cgroup/a/x/y", NULL);
	put("sys/fs/cgroup/b/x/y", NULL);
	put("proc/15/cgroup", "0::/../x/y\n");
	id = hold(identities__pid(ids, 15));
	cr_assert(id);
	cr_assert_str_eq(id->cgroup, "/../x/y");
	free_host(ids);
}

Test(identity, not_in_a_container, .fini = remove_root)
{
	struct identities *ids = make_host();
	const struct identity *id;

	put("proc/1/cgroup", "0::/init.scope\n");
	id = hold(identities__pid(ids, 1));
	cr_assert(id);
	cr_assert_str_eq(id->cgroup, "/init.scope");
	cr_assert_null(id->container_id);
	expect_identity(id, NULL, NULL, NULL, NULL, "init");
	free_host(ids);
	cr_assert_null(identities__new(&(struct identity_opts){ .host_root = "/nonexistent" }));
	cr_assert_eq(errno, ENOENT);
}

/* The cache keeps the latest IDENTITY_CACHE_MAX cgroups; one it let go
 * lives on while held, and is looked up afresh. */
Test(identity, cache_is_bounded, .fini = remove_root)
{
	struct identities *ids = make_host();
	const struct identity *first, *again;
	char path[64];

	first = identities__cgroup(ids, "/system.slice/first.service", NULL);
	cr_assert(first);
	for (int i = 0; i < IDENTITY_CACHE_MAX + 10; i++) {
		snprintf(path, sizeof(path), "/user.slice/session-%d.scope", i);
		identity__put(identities__cgroup(ids, path, NULL));
	}
	cr_assert_eq(identities__cached(ids), IDENTITY_CACHE_MAX);
	cr_assert_str_eq(first->cgroup, "/system.slice/first.service", "held: still whole");
	again = identities__cgroup(ids, "/system.slice/first.service", NULL);
	cr_assert(again && again != first, "let go by the cache, read again");
	cr_assert_eq(identity__get(again), again);
	identity__put(again);
	identity__put(again);
	identity__put(first);
	identities__free(ids);
}
