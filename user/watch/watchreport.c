// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The reports --watch keeps: the latest per traced process, a bounded
 * number of them, each with its leak-or-not split (split.h). */
#include <errno.h>
#include <json-c/json.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "log.h"
#include "procscan.h"
#include "report_build.h"
#include "safefile.h"
#include "targets.h"
#include "watch_int.h"

static void wreport_clear(struct wreport *r)
{
	if (r->parsed)
		report_release(&r->model);
	json_object_put(r->obj);
	free(r->json);
	memset(r, 0, sizeof(*r));
}

void watch_reports_free(struct watch *w)
{
	for (size_t i = 0; i < w->nreports; i++)
		wreport_clear(&w->reports[i]);
	w->nreports = 0;
}

const struct wreport *watch_find_report(const struct watch *w, pid_t pid)
{
	for (size_t i = 0; i < w->nreports; i++)
		if (w->reports[i].pid == pid)
			return &w->reports[i];
	return NULL;
}

/* The slot for pid's report: its last one, else a free one, else the
 * oldest. */
static struct wreport *report_slot(struct watch *w, pid_t pid)
{
	struct wreport *r = (struct wreport *)watch_find_report(w, pid);
	size_t oldest = 0;

	if (r) {
		wreport_clear(r);
		return r;
	}
	if (w->nreports < WATCH_REPORTS_KEPT)
		return &w->reports[w->nreports++];
	for (size_t i = 1; i < w->nreports; i++)
		if (w->reports[i].at < w->reports[oldest].at)
			oldest = i;
	wreport_clear(&w->reports[oldest]);
	return &w->reports[oldest];
}

static int write_json(FILE *f, void *ctx)
{
	const struct wreport *r = ctx;

	if (fwrite(r->json, 1, r->len, f) != r->len)
		return -EIO;
	return 0;
}

static uint64_t kind_bytes(json_object *kinds, const char *kind)
{
	json_object *k, *b;

	if (!json_object_object_get_ex(kinds, kind, &k) ||
	    !json_object_object_get_ex(k, "bytes", &b))
		return 0;
	return (uint64_t)json_object_get_int64(b);
}

/* The trace's report: its process entry, whether it exited, the split. */
static int digest_report(struct watch *w, const struct wtrace *t, const char *json, bool *exited,
			 uint64_t *outstanding, struct mem_split *split)
{
	json_object *root, *procs, *proc = NULL, *kinds = NULL, *v;
	struct rss_status st = { 0 };
	uint64_t alloc_anon = 0;
	char name[16];
	size_t i;

	root = json_tokener_parse(json);
	if (!root)
		return -EINVAL;
	if (json_object_object_get_ex(root, "processes", &procs))
		for (i = 0; i < json_object_array_length(procs) && !proc; i++) {
			json_object *p = json_object_array_get_idx(procs, i);

			if (json_object_object_get_ex(p, "pid", &v) &&
			    json_object_get_int(v) == t->pid)
				proc = p;
		}
	*exited = proc && json_object_object_get_ex(proc, "exited", &v) &&
		  json_object_get_boolean(v);
	*outstanding = proc && json_object_object_get_ex(proc, "outstanding_bytes", &v) ?
			       (uint64_t)json_object_get_int64(v) : 0;
	if (proc)
		json_object_object_get_ex(proc, "kinds", &kinds);
	if (t->have_end) {
		st.anon = t->anon_end;
		alloc_anon = t->alloc_anon_end;
	} else if (!*exited && !procscan_read(w->proc_dir, t->pid, name, &st)) {
		split_read_smaps(w->proc_dir, t->pid, &alloc_anon);
	}
	/* the allocator's growth while traced: what it held before is
	 * nobody's the trace knows (split.h) */
	alloc_anon = alloc_anon > t->alloc_anon_start ? alloc_anon - t->alloc_anon_start : 0;
	split_compute(st.anon, alloc_anon, kind_bytes(kinds, "heap"),
		      kind_bytes(kinds, "mmap") + kind_bytes(kinds, "brk"),
		      kind_bytes(kinds, "runtime"), split);
	json_object_put(root);
	return proc ? 0 : -ENOENT;
}

/* The target's report in the -f json schema, in memory. */
static int target_json(struct watch *w, struct wtrace *t, char **json, size_t *len)
{
	FILE *f = open_memstream(json, len);
	int err;

	if (!f)
		return -errno;
	err = session_target__write_json(w->s, t->target, f);
	if (fclose(f) && !err)
		err = -errno;
	if (err) {
		free(*json);
		*json = NULL;
	}
	return err;
}

int watch_keep_report(struct watch *w, struct wtrace *t, bool *exited, uint64_t *outstanding,
		      struct mem_split *split)
{
	struct wreport *r;
	char name[32], *json = NULL;
	size_t len = 0;
	int err;

	*exited = false;
	err = target_json(w, t, &json, &len);
	err = err ?: digest_report(w, t, json, exited, outstanding, split);
	if (err) {
		free(json);
		return err;
	}
	r = report_slot(w, t->pid);
	r->pid = t->pid;
	r->json = json;
	r->len = len;
	r->at = watch_now();
	r->split = *split;
	/* the report's model was many small blocks, freed now among what
	 * stays: give their pages back (a daemon runs for months) */
	malloc_trim(0);
	if (!w->o.report_dir)
		return 0;
	snprintf(name, sizeof(name), "%d.json", (int)t->pid);
	err = safefile_write_at(w->o.report_dir, name, SAFEFILE_MODE, write_json, r);
	if (err)
		lw_warn("cannot write %s/%s: %s\n", w->o.report_dir, name, strerror(-err));
	return 0;
}

const char *watch__report(const struct watch *w, pid_t pid, size_t *len)
{
	const struct wreport *r = watch_find_report(w, pid);

	if (!r)
		return NULL;
	*len = r->len;
	return r->json;
}

int watch__report_model(struct watch *w, pid_t pid, const struct report **out)
{
	struct wreport *r = (struct wreport *)watch_find_report(w, pid);
	const char *why = NULL;
	int err;

	if (!r)
		return -ENOENT;
	if (!r->parsed) {
		if (!r->obj)
			r->obj = json_tokener_parse(r->json);
		if (!r->obj)
			return -EINVAL;
		err = diff_report_from_json(r->obj, &r->model, &why);
		if (err) {
			lw_debug("report of %d: %s\n", (int)pid, why ? why : strerror(-err));
			return err;
		}
		r->parsed = true;
	}
	*out = &r->model;
	return 0;
}
