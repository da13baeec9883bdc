// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Postmortem writers (schema in postmortem.h).  Both documents are built in
 * memory first and written with one call each, to a hidden temporary file
 * in the same directory, then renamed into place: a reader never sees half
 * a postmortem, and a crash leaves at most a hidden temporary file.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "log.h"
#include "postmortem.h"
#include "safefile.h"
#include "vec.h"
#include "postmortem_int.h"

/* ---------------------------------------------------------------------- */
/* Mappings                                                               */

void pm_maps__free(struct pm_maps *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ngroups; i++)
		free(s->groups[i].name);
	free(s->groups);
	memset(s, 0, sizeof(*s));
}

static int by_size_desc(const void *a, const void *b)
{
	const struct pm_map_group *x = a, *y = b;

	if (x->size_bytes != y->size_bytes)
		return x->size_bytes < y->size_bytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

int pm_maps_summarize(const struct proc_maps *m, struct pm_maps *out)
{
	struct pm_maps s = {};
	size_t i, j;
	int err = 0;

	s.groups = calloc(m->n ? m->n : 1, sizeof(*s.groups));
	if (!s.groups)
		return -ENOMEM;
	for (i = 0; i < m->n; i++) {
		const struct proc_map *pm = &m->maps[i];
		const char *name = pm->path ? pm->path : "[anon]";
		uint64_t size = pm->end - pm->start;

		s.count++;
		s.size_bytes += size;
		if (pm->path && pm->path[0] == '/')
			s.file_size_bytes += size;
		else
			s.anon_size_bytes += size;
		/* a few dozen groups at most: a linear search is enough */
		for (j = 0; j < s.ngroups && strcmp(s.groups[j].name, name); j++)
			;
		if (j == s.ngroups) {
			s.groups[j].name = strdup(name);
			if (!s.groups[j].name) {
				err = -ENOMEM;
				goto cleanup;
			}
			s.ngroups++;
		}
		s.groups[j].count++;
		s.groups[j].size_bytes += size;
	}
	qsort(s.groups, s.ngroups, sizeof(*s.groups), by_size_desc);
	s.have_groups = true;
	*out = s;
	return 0;
cleanup:
	pm_maps__free(&s);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Names                                                                  */

const char *pm_kind_name(enum pm_kind k)
{
	return k == PM_SNAPSHOT ? "snapshot" : "oom_kill";
}

/* "2026-11-22T03:36:07.123Z" (iso) or "20261122T033607.123Z" (basic). */
void pm_fmt_time(const struct timespec *ts, bool basic, char *buf, size_t len)
{
	time_t t = ts->tv_sec;
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, basic ? "%Y%m%dT%H%M%S" : "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts->tv_nsec / 1000000);
}

char *postmortem_stem(const struct postmortem *pm)
{
	const char *comm = pm->victim.comm && *pm->victim.comm ? pm->victim.comm : "unknown";
	char when[40], *stem, *c;

	pm_fmt_time(&pm->event_time, true, when, sizeof(when));
	if (asprintf(&stem, "%s-%d-%s%s", when, pm->victim.pid, comm,
		     pm->kind == PM_SNAPSHOT ? ".snapshot" : "") < 0) {
		errno = ENOMEM;
		return NULL;
	}
	/* comm is the process's to choose: no '/', no dot files, no spaces */
	for (c = stem + strlen(when) + 1; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			*c = '_';
	}
	return stem;
}

/* ---------------------------------------------------------------------- */
/* Files                                                                  */

enum doc { DOC_TEXT, DOC_JSON };

struct doc_ctx {
	enum doc doc;
	const struct postmortem *pm;
	const struct pm_write_opts *o;
	double ms;
};

static int fill_doc(FILE *f, void *ctx)
{
	struct doc_ctx *c = ctx;

	return c->doc == DOC_JSON ? postmortem_write_json(f, c->pm, c->ms) :
		postmortem_write_text(f, c->pm, c->ms, c->o->text_top);
}

/* Write one document to dir/name, atomically and safely (safefile.h). */
static int write_atomic(const char *dir, const char *name, enum doc doc,
			const struct postmortem *pm, const struct pm_write_opts *o,
			double *latency_ms)
{
	uint64_t (*clock_ns)(void) = o->clock_ns ? o->clock_ns : lw_now_ns;
	struct doc_ctx c = { .doc = doc, .pm = pm, .o = o };
	int err;

	c.ms = (double)(int64_t)(clock_ns() - pm->event_ns) / 1e6;
	err = safefile_write_at(dir, name, SAFEFILE_MODE, fill_doc, &c);
	if (!err && latency_ms)
		*latency_ms = c.ms;
	return err;
}

int postmortem_write(const struct postmortem *pm, const struct pm_write_opts *o,
		     char **json_path, double *latency_ms)
{
	char *stem = postmortem_stem(pm), *name = NULL;
	int err;

	if (!stem)
		return -errno;
	if (asprintf(&name, "%s.txt", stem) < 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = write_atomic(o->dir, name, DOC_TEXT, pm, o, NULL);
	free(name);
	name = NULL;
	if (err)
		goto cleanup;
	/* the JSON last: once it exists, the text is complete too */
	if (asprintf(&name, "%s.json", stem) < 0) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = write_atomic(o->dir, name, DOC_JSON, pm, o, latency_ms);
	if (err)
		goto cleanup;
	if (json_path && asprintf(json_path, "%s/%s", o->dir, name) < 0)
		*json_path = NULL;
	/* a failed prune leaves extra files, not a missing postmortem */
	if (o->keep && postmortem_prune(o->dir, o->keep))
		lw_debug("postmortem: cannot prune %s\n", o->dir);
cleanup:
	free(name);
	free(stem);
	return err;
}

/* Whether name is "YYYYMMDDTHHMMSS.mmmZ-<pid>-<...>.json|.txt"; its stem's
 * length in *stem_len. */
static bool is_postmortem_name(const char *name, size_t *stem_len)
{
	static const char shape[] = "DDDDDDDDTDDDDDD.DDDZ-";
	size_t n = strlen(name), i;

	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'D' ? name[i] < '0' || name[i] > '9' : name[i] != shape[i])
			return false;
	}
	if (name[i] < '0' || name[i] > '9')
		return false;
	if (n > 5 && !strcmp(name + n - 5, ".json"))
		*stem_len = n - 5;
	else if (n > 4 && !strcmp(name + n - 4, ".txt"))
		*stem_len = n - 4;
	else
		return false;
	return *stem_len > i;
}

static int str_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

int postmortem_prune(const char *dir, size_t keep)
{
	char **stems = NULL;
	size_t n = 0, cap = 0, i, kept = 0, len;
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!is_postmortem_name(de->d_name, &len))
			continue;
		if (lw_vec_reserve(stems, cap, n + 1)) {
			err = -ENOMEM;
			goto cleanup;
		}
		stems[n] = strndup(de->d_name, len);
		if (!stems[n]) {
			err = -ENOMEM;
			goto cleanup;
		}
		n++;
	}
	/* names start with the time: newest first, a stem once per file */
	qsort(stems, n, sizeof(*stems), str_desc);
	for (i = 0; i < n; i++) {
		char *path;

		if (i && !strcmp(stems[i], stems[i - 1]))
			continue;
		if (++kept <= keep)
			continue;
		if (asprintf(&path, "%s/%s.json", dir, stems[i]) >= 0) {
			unlink(path);
			free(path);
		}
		if (asprintf(&path, "%s/%s.txt", dir, stems[i]) >= 0) {
			unlink(path);
			free(path);
		}
	}
cleanup:
	for (i = 0; i < n; i++)
		free(stems[i]);
	free(stems);
	closedir(d);
	return err;
}
