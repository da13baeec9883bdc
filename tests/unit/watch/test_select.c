// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --namespace, --pod and --container: every combination of selectors
 * against processes of a pod, a pod's sandbox, a plain Docker container
 * and the host; bad globs; and the labels of metrics.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "select.h"

static const struct identity web = { .namespace = "shop", .pod = "web-0", .container = "app" },
	sidecar = { .namespace = "shop", .pod = "web-0", .container = "envoy" },
	sandbox = { .namespace = "shop", .pod = "web-0" },
	batch = { .namespace = "jobs", .pod = "etl-27", .container = "worker" },
	docker = { .container = "redis" },
	host = { .cgroup = "/system.slice/ssh.service" };

/* the identities each case is matched against, in this order */
static const struct identity *const procs[] = { &web, &sidecar, &sandbox, &batch, &docker, &host,
						NULL };
#define NPROCS (sizeof(procs) / sizeof(procs[0]))

static const struct {
	const char *what;
	const char *ns[3], *pod[3], *container[3];	/* globs, NULL-ended */
	const char *want;	/* per procs[]: '1' selected, '0' not */
} cases[] = {
	{ "no selector: everything, even a process whose identity is unknown",
	  {}, {}, {}, "1111111" },
	{ "a namespace", { "shop" }, {}, {}, "1110000" },
	{ "a namespace is matched whole, not as a prefix", { "sho" }, {}, {}, "0000000" },
	{ "'*' wants a namespace: not the host's, not Docker's", { "*" }, {}, {}, "1111000" },
	{ "two namespaces: either", { "shop", "jobs" }, {}, {}, "1111000" },
	{ "a pod glob", {}, { "web-*" }, {}, "1110000" },
	{ "'?' is one character", {}, { "etl-?" }, {}, "0000000" },
	{ "two '?' are two characters", {}, { "etl-??" }, {}, "0001000" },
	{ "a bracket expression", {}, { "etl-[0-9][0-9]" }, {}, "0001000" },
	{ "a negated bracket", {}, { "[!w]*" }, {}, "0001000" },
	{ "a container: the sandbox has none", {}, {}, { "app" }, "1000000" },
	{ "a container outside Kubernetes", {}, {}, { "redis" }, "0000100" },
	{ "every container", {}, {}, { "*" }, "1101100" },
	{ "namespace and container: both must match", { "shop" }, {}, { "envoy" }, "0100000" },
	{ "namespace and pod, no such pod there", { "jobs" }, { "web-*" }, {}, "0000000" },
	{ "all three", { "s*" }, { "web-0" }, { "app", "envoy" }, "1100000" },
	{ "a literal '*' escaped matches no name", {}, { "web-\\*" }, {}, "0000000" },
	{ "an escaped ordinary character is itself", {}, { "\\web-0" }, {}, "1110000" },
	{ "an unclosed bracket is taken literally", {}, { "web-[0" }, {}, "0000000" },
	{ "case matters: Kubernetes names are lower case", { "SHOP" }, {}, {}, "0000000" },
};

Test(select, table)
{
	size_t c, i, k;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *const *globs[SELECT_KINDS] = { cases[c].ns, cases[c].pod,
							   cases[c].container };
		struct selector s = {};

		cr_assert_eq(strlen(cases[c].want), NPROCS, "%s", cases[c].what);
		for (k = 0; k < SELECT_KINDS; k++)
			for (i = 0; i < 3 && globs[k][i]; i++)
				cr_assert_eq(selector__add(&s, k, globs[k][i]), 0, "%s: %s",
					     cases[c].what, globs[k][i]);
		cr_assert_eq(selector__empty(&s), !strcmp(cases[c].want, "1111111") &&
			     !cases[c].ns[0], "%s", cases[c].what);
		for (i = 0; i < NPROCS; i++)
			cr_assert_eq(selector__match(&s, procs[i]), cases[c].want[i] == '1',
				     "%s: process %zu (%s/%s/%s)", cases[c].what, i,
				     procs[i] && procs[i]->namespace ? procs[i]->namespace : "-",
				     procs[i] && procs[i]->pod ? procs[i]->pod : "-",
				     procs[i] && procs[i]->container ? procs[i]->container : "-");
		selector__clear(&s);
		cr_assert(selector__empty(&s));
	}
}

Test(select, bad_globs)
{
	struct selector s = {};
	char *huge;

	cr_assert_eq(selector__add(&s, SELECT_POD, ""), -EINVAL);
	cr_assert_eq(selector__add(&s, SELECT_POD, "web\n"), -EINVAL);
	cr_assert_eq(selector__add(&s, SELECT_POD, "we\tb"), -EINVAL);
	cr_assert_eq(selector__add(&s, SELECT_POD, "\x7f"), -EINVAL);
	cr_assert_eq(selector__add(&s, SELECT_KINDS, "web"), -EINVAL);
	cr_assert_eq(selector__add(&s, (enum select_kind)-1, "web"), -EINVAL);
	cr_assert_eq(selector__add(&s, SELECT_POD, NULL), -EINVAL);
	huge = malloc(SELECT_MAX_GLOB + 2);
	cr_assert(huge);
	memset(huge, 'a', SELECT_MAX_GLOB + 1);
	huge[SELECT_MAX_GLOB + 1] = '\0';
	cr_assert_eq(selector__add(&s, SELECT_POD, huge), -EINVAL);
	huge[SELECT_MAX_GLOB] = '\0';
	cr_assert_eq(selector__add(&s, SELECT_POD, huge), 0);
	free(huge);
	/* UTF-8 is no control character */
	cr_assert_eq(selector__add(&s, SELECT_CONTAINER, "caf\xc3\xa9"), 0);
	cr_assert_eq(s.n[SELECT_POD], 1);
	cr_assert_eq(s.n[SELECT_CONTAINER], 1);
	selector__clear(&s);
	selector__clear(NULL);
	cr_assert_str_eq(select_kind_name(SELECT_NAMESPACE), "namespace");
	cr_assert_str_eq(select_kind_name(SELECT_POD), "pod");
	cr_assert_str_eq(select_kind_name(SELECT_CONTAINER), "container");
	cr_assert_str_eq(select_kind_name(SELECT_KINDS), "?");
}

Test(select, labels)
{
	static const struct {
		const struct identity *id;
		const char *ns, *pod, *container;
	} cases[] = {
		{ &web, "shop", "web-0", "app" },
		{ &sandbox, "shop", "web-0", "" },
		{ &docker, "", "", "redis" },
		{ &host, "", "", "" },
		{ NULL, "", "", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct select_labels l = select_labels(cases[i].id);

		cr_assert_str_eq(l.namespace, cases[i].ns, "case %zu", i);
		cr_assert_str_eq(l.pod, cases[i].pod, "case %zu", i);
		cr_assert_str_eq(l.container, cases[i].container, "case %zu", i);
	}
	/* the strings are the identity's own */
	cr_assert_eq(select_labels(&web).pod, web.pod);
}

/* The labels of a pid through the identity cache, on a host root made in
 * a temporary directory: a pod's process, a host process, a gone one. */
static char root[64];

static void put(const char *rel, const char *text)
{
	char path[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

static void remove_root(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (root[0] && system(cmd)) {
	}
}

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"

Test(select, labels_of_pid, .fini = remove_root)
{
	const struct identity *id;
	struct identities *ids;
	struct select_labels l;
	struct selector s = {};

	strcpy(root, "/tmp/lw-select-test.XXXXXX");
	cr_assert(mkdtemp(root));
	put("proc/100/cgroup", "0::/kubepods/burstable/pod" UID "/" ID "\n");
	put("run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID "/config.json",
	    "{\"annotations\": {\"io.kubernetes.cri.sandbox-name\": \"web-0\", "
	    "\"io.kubernetes.cri.sandbox-namespace\": \"shop\", "
	    "\"io.kubernetes.cri.container-name\": \"app\"}}");
	put("proc/1/cgroup", "0::/init.scope\n");
	ids = identities__new(&(struct identity_opts){ .host_root = root });
	cr_assert(ids);

	id = identities__pid(ids, 100);
	l = select_labels(id);
	cr_assert_str_eq(l.namespace, "shop");
	cr_assert_str_eq(l.pod, "web-0");
	cr_assert_str_eq(l.container, "app");
	cr_assert_eq(selector__add(&s, SELECT_POD, "web-*"), 0);
	cr_assert(selector__match(&s, id));
	identity__put(id);
	id = identities__pid(ids, 1);
	cr_assert_not(selector__match(&s, id));
	l = select_labels(id);
	cr_assert_str_eq(l.namespace, "");
	cr_assert_str_eq(l.pod, "");
	cr_assert_str_eq(l.container, "");
	identity__put(id);
	/* gone: no identity, selected by no selector */
	cr_assert_null(identities__pid(ids, 2));
	cr_assert_not(selector__match(&s, NULL));
	l = select_labels(NULL);
	cr_assert_str_eq(l.pod, "");
	selector__clear(&s);
	identities__free(ids);
}
