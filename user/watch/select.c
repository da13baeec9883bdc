// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --namespace, --pod and --container: globs over a process's container
 * identity, and the labels of its metrics (select.h).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "select.h"

const char *select_kind_name(enum select_kind kind)
{
	static const char *const names[SELECT_KINDS] = {
		[SELECT_NAMESPACE] = "namespace",
		[SELECT_POD] = "pod",
		[SELECT_CONTAINER] = "container",
	};

	return (unsigned)kind < SELECT_KINDS ? names[kind] : "?";
}

int selector__add(struct selector *s, enum select_kind kind, const char *glob)
{
	size_t len, i;
	char **globs, *copy;

	if ((unsigned)kind >= SELECT_KINDS || !glob)
		return -EINVAL;
	len = strnlen(glob, SELECT_MAX_GLOB + 1);
	if (len == 0 || len > SELECT_MAX_GLOB)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if ((unsigned char)glob[i] < 0x20 || glob[i] == 0x7f)
			return -EINVAL;
	copy = strdup(glob);
	if (!copy)
		return -ENOMEM;
	globs = realloc(s->globs[kind], (s->n[kind] + 1) * sizeof(*globs));
	if (!globs) {
		free(copy);
		return -ENOMEM;
	}
	globs[s->n[kind]++] = copy;
	s->globs[kind] = globs;
	return 0;
}

bool selector__empty(const struct selector *s)
{
	size_t k;

	for (k = 0; k < SELECT_KINDS; k++)
		if (s->n[k])
			return false;
	return true;
}

/* One of the globs matches name; none matches a name that is unknown. */
static bool any_match(char *const *globs, size_t n, const char *name)
{
	size_t i;

	if (!name)
		return false;
	for (i = 0; i < n; i++)
		if (fnmatch(globs[i], name, 0) == 0)
			return true;
	return false;
}

bool selector__match(const struct selector *s, const struct identity *id)
{
	const char *names[SELECT_KINDS];
	size_t k;

	if (selector__empty(s))
		return true;
	if (!id)
		return false;
	names[SELECT_NAMESPACE] = id->namespace;
	names[SELECT_POD] = id->pod;
	names[SELECT_CONTAINER] = id->container;
	for (k = 0; k < SELECT_KINDS; k++)
		if (s->n[k] && !any_match(s->globs[k], s->n[k], names[k]))
			return false;
	return true;
}

void selector__clear(struct selector *s)
{
	size_t k, i;

	if (!s)
		return;
	for (k = 0; k < SELECT_KINDS; k++) {
		for (i = 0; i < s->n[k]; i++)
			free(s->globs[k][i]);
		free(s->globs[k]);
	}
	memset(s, 0, sizeof(*s));
}

struct select_labels select_labels(const struct identity *id)
{
	struct select_labels l = { "", "", "" };

	if (id) {
		l.namespace = id->namespace ?: "";
		l.pod = id->pod ?: "";
		l.container = id->container ?: "";
	}
	return l;
}
