// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Postmortem writers (schema in postmortem.h).  Both documents are built in
 * memory first and written with one call each, to a hidden temporary file
 * in the same directory, then renamed into place: a reader never sees half
 * a postmortem, and a crash leaves at most a hidden temporary file.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "clock.h"
#include "log.h"
#include "jsonout.h"
#include "postmortem.h"
#include "safefile.h"
#include "vec.h"

#define FMT_LEN 32

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

static const char *kind_name(enum pm_kind k)
{
	return k == PM_SNAPSHOT ? "snapshot" : "oom_kill";
}

/* "2026-11-22T03:36:07.123Z" (iso) or "20261122T033607.123Z" (basic). */
static void fmt_time(const struct timespec *ts, bool basic, char *buf, size_t len)
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

	fmt_time(&pm->event_time, true, when, sizeof(when));
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
/* JSON                                                                   */

static int json_victim(struct json_object *root, const struct pm_victim *v)
{
	struct json_object *o = json_out_add_object(root, "victim");
	int err;

	if (!o)
		return -ENOMEM;
	err = json_out_add_i64(o, "pid", v->pid);
	err = err ?: json_out_add_str(o, "comm", v->comm);
	err = err ?: json_out_add_str(o, "cmdline", v->cmdline);
	if (!err)
		err = v->uid >= 0 ? json_out_add_i64(o, "uid", v->uid) : json_out_add_null(o, "uid");
	err = err ?: json_out_add_str(o, "cgroup", v->cgroup);
	err = err ?: json_out_add_str(o, "container_id", v->container_id);
	err = err ?: json_out_add_str(o, "namespace", v->namespace);
	err = err ?: json_out_add_str(o, "pod", v->pod);
	err = err ?: json_out_add_str(o, "container", v->container);
	return err;
}

/* null when the memcg is no container's and no pod's */
static int json_memcg_container(struct json_object *kill, const struct pm_container *c)
{
	struct json_object *o;
	int err;

	if (!c->container_id && !c->pod)
		return json_out_add_null(kill, "memcg_container");
	o = json_out_add_object(kill, "memcg_container");
	if (!o)
		return -ENOMEM;
	err = json_out_add_str(o, "namespace", c->namespace);
	err = err ?: json_out_add_str(o, "pod", c->pod);
	err = err ?: json_out_add_str(o, "container", c->container);
	err = err ?: json_out_add_str(o, "container_id", c->container_id);
	return err;
}

static int json_kill(struct json_object *root, const struct pm_kill *k)
{
	struct json_object *o = json_out_add_object(root, "kill"), *t;
	int err;

	if (!o)
		return -ENOMEM;
	err = json_out_add_str(o, "scope", k->scope);
	err = err ?: json_out_add_str(o, "scope_source", k->scope_source);
	err = err ?: json_out_add_str(o, "memcg", k->memcg);
	err = err ?: json_memcg_container(o, &k->memcg_container);
	if (!err && k->have_memcg_counters) {
		err = k->memcg_limit == MEMCG_UNLIMITED ? json_out_add_null(o, "memcg_limit_bytes") :
			json_out_add_u64(o, "memcg_limit_bytes", k->memcg_limit);
		err = err ?: json_out_add_u64(o, "memcg_usage_bytes", k->memcg_usage);
	} else if (!err) {
		err = json_out_add_null(o, "memcg_limit_bytes");
		err = err ?: json_out_add_null(o, "memcg_usage_bytes");
	}
	if (!err)
		err = k->order >= 0 ? json_out_add_i64(o, "order", k->order) : json_out_add_null(o, "order");
	if (err)
		return err;
	t = json_out_add_object(o, "trigger");
	if (!t)
		return -ENOMEM;
	err = json_out_add_i64(t, "pid", k->trigger_pid);
	err = err ?: json_out_add_i64(t, "tid", k->trigger_tid);
	err = err ?: json_out_add_str(t, "comm", k->trigger_comm);
	return err;
}

static int json_rss(struct json_object *root, const struct pm_rss *r)
{
	struct json_object *o;
	int err;

	if (!r)
		return json_out_add_null(root, "rss");
	o = json_out_add_object(root, "rss");
	if (!o)
		return -ENOMEM;
	err = json_out_add_u64(o, "anon_bytes", r->anon);
	err = err ?: json_out_add_u64(o, "file_bytes", r->file);
	err = err ?: json_out_add_u64(o, "shmem_bytes", r->shmem);
	err = err ?: json_out_add_u64(o, "swap_bytes", r->swap);
	err = err ?: json_out_add_u64(o, "total_vm_bytes", r->total_vm);
	err = err ?: json_out_add_bool(o, "approximate", r->approximate);
	return err;
}

static int json_maps(struct json_object *root, const struct pm_maps *m)
{
	struct json_object *o, *groups;
	size_t i;
	int err;

	if (!m)
		return json_out_add_null(root, "mappings");
	o = json_out_add_object(root, "mappings");
	if (!o)
		return -ENOMEM;
	err = json_out_add_u64(o, "count", m->count);
	err = err ?: json_out_add_u64(o, "size_bytes", m->size_bytes);
	err = err ?: json_out_add_u64_or_null(o, "exec_bytes", m->have_kinds, m->exec_bytes);
	err = err ?: json_out_add_u64_or_null(o, "data_bytes", m->have_kinds, m->data_bytes);
	err = err ?: json_out_add_u64_or_null(o, "stack_bytes", m->have_kinds, m->stack_bytes);
	err = err ?: json_out_add_u64_or_null(o, "heap_bytes", m->have_kinds, m->heap_bytes);
	err = err ?: json_out_add_u64_or_null(o, "anon_size_bytes", m->have_groups, m->anon_size_bytes);
	err = err ?: json_out_add_u64_or_null(o, "file_size_bytes", m->have_groups, m->file_size_bytes);
	err = err ?: json_out_add_u64_or_null(o, "groups_total", m->have_groups, m->ngroups);
	if (err || !m->have_groups)
		return err ?: json_out_add_null(o, "groups");
	groups = json_object_new_array();
	err = json_out_add(o, "groups", groups);
	for (i = 0; !err && i < m->ngroups && i < PM_MAP_GROUPS; i++) {
		struct json_object *g = json_object_new_object();

		if (!g || json_object_array_add(groups, g)) {
			json_object_put(g);
			return -ENOMEM;
		}
		err = json_out_add_str(g, "name", m->groups[i].name);
		err = err ?: json_out_add_u64(g, "count", m->groups[i].count);
		err = err ?: json_out_add_u64(g, "size_bytes", m->groups[i].size_bytes);
	}
	return err;
}

static int json_timeline(struct json_object *root, const struct postmortem *pm)
{
	struct json_object *o = json_out_add_object(root, "rss_timeline"), *samples;
	size_t i;
	int err;

	if (!o)
		return -ENOMEM;
	err = json_out_add_u64(o, "interval_ms", pm->timeline_interval_ms);
	if (err)
		return err;
	samples = json_object_new_array();
	err = json_out_add(o, "samples", samples);
	for (i = 0; !err && i < pm->ntimeline; i++) {
		const struct rss_sample *s = &pm->timeline[i];
		struct json_object *js = json_object_new_object();

		if (!js || json_object_array_add(samples, js)) {
			json_object_put(js);
			return -ENOMEM;
		}
		/* relative to the event: negative is before it */
		err = json_out_add_i64(js, "t_ms", ((int64_t)s->ts_ns - (int64_t)pm->event_ns) / 1000000);
		err = err ?: json_out_add_u64(js, "rss_bytes", s->rss_bytes);
		err = err ?: json_out_add_u64(js, "anon_bytes", s->anon_bytes);
	}
	return err;
}

static int json_kvs(struct json_object *o, const char *key, const struct memcg_kvs *kv)
{
	struct json_object *obj = json_out_add_object(o, key);
	size_t i;
	int err = 0;

	if (!obj)
		return -ENOMEM;
	for (i = 0; !err && i < kv->n; i++)
		err = json_out_add_u64(obj, kv->v[i].key, kv->v[i].value);
	return err;
}

static int json_memcg(struct json_object *root, const struct memcg_info *m)
{
	struct json_object *o;
	int err;

	if (!m)
		return json_out_add_null(root, "memcg");
	o = json_out_add_object(root, "memcg");
	if (!o)
		return -ENOMEM;
	err = json_out_add_str(o, "path", m->path);
	err = err ?: json_out_add_i64(o, "version", m->version);
	err = err ?: json_out_add_u64(o, "usage_bytes", m->usage);
	if (!err)
		err = m->limit == MEMCG_UNLIMITED ? json_out_add_null(o, "limit_bytes") :
			json_out_add_u64(o, "limit_bytes", m->limit);
	err = err ?: json_kvs(o, "stat", &m->stat);
	if (!err && m->version == MEMCG_V2)
		err = json_kvs(o, "events", &m->events);
	else if (!err)
		err = json_kvs(o, "oom_control", &m->oom_control);
	return err;
}

static int json_postmortem(const struct postmortem *pm, double latency_ms,
			   struct json_object **out)
{
	struct json_object *root = json_object_new_object(), *proc;
	char when[40];
	int err;

	if (!root)
		return -ENOMEM;
	fmt_time(&pm->event_time, false, when, sizeof(when));
	err = json_out_add_i64(root, "version", POSTMORTEM_JSON_VERSION);
	err = err ?: json_out_add_str(root, "kind", kind_name(pm->kind));
	err = err ?: json_out_add_str(root, "timestamp", when);
	err = err ?: json_out_add_milli(root, "capture_latency_ms", latency_ms);
	err = err ?: json_out_add_bool(root, "traced", pm->traced);
	err = err ?: json_victim(root, &pm->victim);
	if (!err && pm->kind == PM_OOM_KILL)
		err = json_kill(root, &pm->kill);
	else if (!err)
		err = json_out_add_null(root, "kill");
	if (!err && pm->kind == PM_SNAPSHOT)
		err = json_out_add_u64(root, "threshold_percent", pm->threshold_percent);
	err = err ?: json_rss(root, pm->rss);
	err = err ?: json_maps(root, pm->maps);
	err = err ?: json_timeline(root, pm);
	err = err ?: json_memcg(root, pm->memcg);
	if (!err && pm->process) {
		proc = report_json_process(pm->process);
		err = proc ? json_out_add(root, "process", proc) : -errno;
	} else if (!err) {
		err = json_out_add_null(root, "process");
	}
	if (err) {
		json_object_put(root);
		return err;
	}
	*out = root;
	return 0;
}

int postmortem_write_json(FILE *f, const struct postmortem *pm, double latency_ms)
{
	struct json_object *root = NULL;
	int err;

	err = json_postmortem(pm, latency_ms, &root);
	if (err)
		return err;
	err = json_out_write(f, root);
	json_object_put(root);
	return err;
}

/* ---------------------------------------------------------------------- */
/* Text                                                                   */

static const char *bytes(uint64_t v, char *buf)
{
	return report_fmt_bytes(v, buf, FMT_LEN);
}

/* Strings from the process (comm, cmdline, paths): control bytes shown as
 * '?' so a postmortem cannot move the reader's terminal around. */
static void put_safe(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* "  LABEL container app, pod shop/web-0, id <id>", or "  LABEL pod
 * shop/web-0" for a pod's own cgroup; nothing outside containers. */
static void text_container(FILE *f, const char *label, const char *container, const char *ns,
			   const char *pod, const char *id)
{
	if (!id && !pod)
		return;
	fprintf(f, "  %s", label);
	if (id || container) {
		fprintf(f, " container ");
		put_safe(f, container ? container : "?");
		if (pod)
			fprintf(f, ",");
	}
	if (pod) {
		fprintf(f, " pod ");
		put_safe(f, ns ? ns : "?");
		fprintf(f, "/");
		put_safe(f, pod);
	}
	if (id)
		fprintf(f, ", id %s", id);
	fprintf(f, "\n");
}

static void text_victim(FILE *f, const struct postmortem *pm, double latency_ms)
{
	const struct pm_victim *v = &pm->victim;
	char when[40];

	fmt_time(&pm->event_time, false, when, sizeof(when));
	fprintf(f, "leakwatch %s: PID %d (", pm->kind == PM_SNAPSHOT ? "memory snapshot" :
		"OOM postmortem", v->pid);
	put_safe(f, v->comm ? v->comm : "?");
	fprintf(f, ") %s at %s\n", pm->kind == PM_SNAPSHOT ? "snapshot" : "killed", when);
	fprintf(f, "  captured %.1f ms after the %s; %s\n", latency_ms,
		pm->kind == PM_SNAPSHOT ? "threshold was seen" : "kill",
		pm->traced ? "traced: its allocations follow" :
		"not traced: no allocations are known");
	if (v->cmdline) {
		fprintf(f, "  cmdline: ");
		put_safe(f, v->cmdline);
		fprintf(f, "\n");
	}
	if (v->uid >= 0)
		fprintf(f, "  uid: %" PRId64 "\n", v->uid);
	if (v->cgroup) {
		fprintf(f, "  memory cgroup: ");
		put_safe(f, v->cgroup);
		fprintf(f, "\n");
	}
	text_container(f, "in", v->container, v->namespace, v->pod, v->container_id);
}

static void text_kill(FILE *f, const struct postmortem *pm)
{
	const struct pm_kill *k = &pm->kill;
	char a[FMT_LEN], b[FMT_LEN];

	if (pm->kind == PM_SNAPSHOT) {
		fprintf(f, "\nsnapshot: the memory cgroup passed %u%% of its limit\n",
			pm->threshold_percent);
		return;
	}
	fprintf(f, "\nkill: %s OOM", k->scope ? k->scope : "unknown");
	if (k->memcg) {
		fprintf(f, " in ");
		put_safe(f, k->memcg);
	}
	if (k->scope_source)
		fprintf(f, " (from %s)", k->scope_source);
	fprintf(f, "\n");
	text_container(f, "memcg of", k->memcg_container.container,
		       k->memcg_container.namespace, k->memcg_container.pod,
		       k->memcg_container.container_id);
	if (k->have_memcg_counters)
		fprintf(f, "  memcg usage %s, limit %s\n", bytes(k->memcg_usage, a),
			k->memcg_limit == MEMCG_UNLIMITED ? "none" : bytes(k->memcg_limit, b));
	fprintf(f, "  triggered by PID %d thread %d (", k->trigger_pid, k->trigger_tid);
	put_safe(f, k->trigger_comm ? k->trigger_comm : "?");
	fprintf(f, ")");
	if (k->order >= 0)
		fprintf(f, ", allocation order %d", k->order);
	fprintf(f, "\n");
}

static void text_rss(FILE *f, const struct postmortem *pm)
{
	const struct pm_rss *r = pm->rss;
	char a[FMT_LEN], b[FMT_LEN], c[FMT_LEN], d[FMT_LEN], e[FMT_LEN];
	size_t i;

	if (r)
		fprintf(f, "\nRSS: anon %s, file %s, shmem %s; swap %s; total VM %s%s\n",
			bytes(r->anon, a), bytes(r->file, b), bytes(r->shmem, c),
			bytes(r->swap, d), bytes(r->total_vm, e),
			r->approximate ? " (kernel counters, approximate)" : "");
	else
		fprintf(f, "\nRSS: unknown\n");
	/* an untraced victim's timeline is the kill alone: the line above */
	if (!pm->ntimeline || (!pm->traced && pm->ntimeline == 1))
		return;
	fprintf(f, "RSS timeline (every %" PRIu64 " ms while traced):\n",
		pm->timeline_interval_ms);
	for (i = 0; i < pm->ntimeline; i++) {
		const struct rss_sample *s = &pm->timeline[i];
		int64_t t = ((int64_t)s->ts_ns - (int64_t)pm->event_ns) / 1000000;

		fprintf(f, "  %+9.1f s  %s (anon %s)\n", t / 1000.0, bytes(s->rss_bytes, a),
			bytes(s->anon_bytes, b));
	}
}

static void text_maps(FILE *f, const struct pm_maps *m)
{
	char a[FMT_LEN], b[FMT_LEN], c[FMT_LEN];
	size_t i;

	if (!m) {
		fprintf(f, "\nmappings: not readable\n");
		return;
	}
	fprintf(f, "\nmappings: %zu, %s virtual", m->count, bytes(m->size_bytes, a));
	if (m->have_groups)
		fprintf(f, " (%s not file-backed, %s file-backed)", bytes(m->anon_size_bytes, b),
			bytes(m->file_size_bytes, c));
	fprintf(f, "\n");
	if (m->have_kinds) {
		fprintf(f, "  executable %s, data %s, ", bytes(m->exec_bytes, a),
			bytes(m->data_bytes, b));
		fprintf(f, "stack %s, heap %s\n", bytes(m->stack_bytes, a), bytes(m->heap_bytes, b));
	}
	if (!m->have_groups)
		fprintf(f, "  (gone with the process before /proc/PID/maps could be read)\n");
	for (i = 0; i < m->ngroups && i < PM_MAP_GROUPS; i++) {
		fprintf(f, "  %10s in %3zu  ", bytes(m->groups[i].size_bytes, a),
			m->groups[i].count);
		put_safe(f, m->groups[i].name);
		fprintf(f, "\n");
	}
	if (m->ngroups > PM_MAP_GROUPS)
		fprintf(f, "  and %zu more\n", m->ngroups - PM_MAP_GROUPS);
}

static void text_kvs(FILE *f, const char *name, const struct memcg_kvs *kv)
{
	size_t i;

	if (!kv->n)
		return;
	fprintf(f, "  %s:\n", name);
	for (i = 0; i < kv->n; i++) {
		fprintf(f, "    ");
		put_safe(f, kv->v[i].key);
		fprintf(f, " %" PRIu64 "\n", kv->v[i].value);
	}
}

static void text_memcg(FILE *f, const struct memcg_info *m)
{
	char a[FMT_LEN], b[FMT_LEN];

	if (!m)
		return;
	fprintf(f, "\nmemory cgroup ");
	put_safe(f, m->path);
	fprintf(f, " (cgroup v%d): usage %s, limit %s\n", m->version, bytes(m->usage, a),
		m->limit == MEMCG_UNLIMITED ? "none" : bytes(m->limit, b));
	if (m->version == MEMCG_V2)
		text_kvs(f, "memory.events", &m->events);
	else
		text_kvs(f, "memory.oom_control", &m->oom_control);
	text_kvs(f, "memory.stat", &m->stat);
}

int postmortem_write_text(FILE *f, const struct postmortem *pm, double latency_ms,
			  size_t top)
{
	struct report_opts ro = { .format = REPORT_TEXT, .top = top };
	int err = 0;

	text_victim(f, pm, latency_ms);
	text_kill(f, pm);
	text_rss(f, pm);
	text_maps(f, pm->maps);
	text_memcg(f, pm->memcg);
	if (pm->process) {
		fprintf(f, "\noutstanding allocations at the %s:\n",
			pm->kind == PM_SNAPSHOT ? "snapshot" : "kill");
		err = report_write_process_text(f, pm->process, &ro);
	}
	if (!err && (ferror(f) || fflush(f) == EOF))
		err = errno > 0 ? -errno : -EIO;
	return err;
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
