// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The OOM kills the daemon saw, by the victim's container and name: the
 * series of leakwatch_oom_kills_total.  At most WATCH_MAX_KILL_SERIES label
 * sets; the kills past them count in one series with every label empty,
 * so that a node whose pods churn cannot grow the daemon or /metrics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oomwatch.h"
#include "vec.h"
#include "watch_int.h"

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static struct watch_kill *find(struct watch *w, const struct oomwatch_note *n)
{
	size_t i;

	for (i = 0; i < w->nkills; i++) {
		struct watch_kill *k = &w->kills[i];

		if (same(k->comm, n->comm) && same(k->namespace, n->namespace) &&
		    same(k->pod, n->pod) && same(k->container, n->container))
			return k;
	}
	return NULL;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

void watch_note_kill(struct watch *w, const struct oomwatch_note *n)
{
	struct watch_kill *k;

	w->c.oom_kills++;
	k = find(w, n);
	if (!k && w->nkills < WATCH_MAX_KILL_SERIES &&
	    !lw_vec_reserve(w->kills, w->kills_cap, w->nkills + 1)) {
		k = &w->kills[w->nkills];
		*k = (struct watch_kill){ .comm = dup_or_empty(n->comm),
					  .namespace = dup_or_empty(n->namespace),
					  .pod = dup_or_empty(n->pod),
					  .container = dup_or_empty(n->container) };
		if (k->comm && k->namespace && k->pod && k->container) {
			w->nkills++;
		} else {
			watch_kill_release(k);
			k = NULL;
		}
	}
	if (k)
		k->n++;
	else
		w->kills_other++;
}

void watch_kill_release(struct watch_kill *k)
{
	free(k->comm);
	free(k->namespace);
	free(k->pod);
	free(k->container);
}

size_t watch__kill_count(const struct watch *w)
{
	return w->nkills + (w->kills_other ? 1 : 0);
}

int watch__kill_at(const struct watch *w, size_t i, struct watch_kill *out)
{
	if (i < w->nkills) {
		*out = w->kills[i];
		return 0;
	}
	if (i == w->nkills && w->kills_other) {
		*out = (struct watch_kill){ .comm = "", .namespace = "", .pod = "",
					    .container = "", .n = w->kills_other };
		return 0;
	}
	return -ENOENT;
}
