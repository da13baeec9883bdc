// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A postmortem as JSON (schema in postmortem.h and README.md), built and
 * written through jsonout like the reports; its process is the report's
 * JSON of that process.
 */
#include <errno.h>
#include <json-c/json.h>

#include "jsonout.h"
#include "postmortem_int.h"

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
		err = json_out_add_u64_or_null(o, "uid", v->uid >= 0, (uint64_t)v->uid);
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
		err = json_out_add_u64_or_null(o, "order", k->order >= 0, (uint64_t)k->order);
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
	err = err ?: json_out_add_u64_or_null(o, "anon_size_bytes", m->have_groups,
					      m->anon_size_bytes);
	err = err ?: json_out_add_u64_or_null(o, "file_size_bytes", m->have_groups,
					      m->file_size_bytes);
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
		err = json_out_add_i64(js, "t_ms",
				       ((int64_t)s->ts_ns - (int64_t)pm->event_ns) / 1000000);
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
	pm_fmt_time(&pm->event_time, false, when, sizeof(when));
	err = json_out_add_i64(root, "version", POSTMORTEM_JSON_VERSION);
	err = err ?: json_out_add_str(root, "kind", pm_kind_name(pm->kind));
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
