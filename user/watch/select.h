/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What --watch takes from a process's container identity (identity.h):
 * whether the selectors --namespace, --pod and --container let it be
 * traced, and the labels of its metrics.
 *
 * Selectors are shell globs (fnmatch(3): *, ?, [...]), matched against the
 * whole name.  Each option may be given several times: a process is
 * selected when, for every option given, one of its globs matches the
 * process's name of that kind.  A name the process does not have (no
 * container, or a runtime that does not give it) matches no glob, not even
 * "*": --namespace '*' selects the processes of Kubernetes pods.  With no
 * selector, every process is selected.  The cheap signals (RSS sampling)
 * cover every process all the same; selectors only limit tracing.
 */
#ifndef LW_SELECT_H
#define LW_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct identity;
struct identities;

enum select_kind {
	SELECT_NAMESPACE,
	SELECT_POD,
	SELECT_CONTAINER,
	SELECT_KINDS
};

/* The longest glob taken: a Kubernetes name (253 bytes) with room for
 * escapes and brackets. */
#define SELECT_MAX_GLOB 1024

struct selector {
	char **globs[SELECT_KINDS];
	size_t n[SELECT_KINDS];
};

/* The option's name without dashes ("namespace"), for messages. */
const char *select_kind_name(enum select_kind kind);

/* Adds glob (copied) to s.  0; -EINVAL for an empty glob, one longer than
 * SELECT_MAX_GLOB or with a control character (no name has one: a typo
 * or a quoting mistake), or a bad kind; -ENOMEM. */
int selector__add(struct selector *s, enum select_kind kind, const char *glob);
bool selector__empty(const struct selector *s);
/* Whether a process of that identity may be traced.  id NULL: a process
 * whose identity is unknown (gone), selected only when s is empty. */
bool selector__match(const struct selector *s, const struct identity *id);
void selector__clear(struct selector *s);	/* frees the globs; accepts NULL */

/* A process's labels as cAdvisor spells them: "" for a name it does not
 * have (Prometheus treats an empty label as no label).  The strings belong
 * to the identity (or are ""): they live as long as it does.  The values
 * are raw: the metrics writer escapes them. */
struct select_labels {
	const char *namespace;
	const char *pod;
	const char *container;
};

struct select_labels select_labels(const struct identity *id);	/* id may be NULL */

#endif /* LW_SELECT_H */
