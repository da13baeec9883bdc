// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "counters.h"
#include "handler.h"
#include "promtext.h"
#include "provider.h"
#include "server.h"
#include "watch.h"
#include "watchhttp.h"

/* A report's bytes by kind, parsed once per report the daemon keeps. */
struct kinds_cache {
	int pid;
	const char *json;	/* the report they were read from */
	size_t len;
	size_t nkinds;
	struct report_kind kinds[REPORT_MAX_KINDS];
	char names[REPORT_MAX_KINDS][16];
};

struct watch_http {
	struct watch *w;
	struct watch_process *procs;
	size_t nprocs, cap;
	struct kinds_cache *kc;
	size_t nkc, kccap;
	struct http_handler *handler;
	struct http_server *server;
};

/* processes[0].kinds of a -f json report into c. */
static void read_kinds(struct kinds_cache *c)
{
	struct json_object *root, *p, *kinds;
	size_t n = 0;

	root = c->len <= INT_MAX ? json_tokener_parse(c->json) : NULL;
	p = root ? json_object_array_get_idx(json_object_object_get(root, "processes"), 0)
		 : NULL;
	kinds = p ? json_object_object_get(p, "kinds") : NULL;
	if (kinds && json_object_is_type(kinds, json_type_object)) {
		json_object_object_foreach(kinds, name, val) {
			if (n == REPORT_MAX_KINDS)
				break;
			snprintf(c->names[n], sizeof(c->names[n]), "%s", name);
			c->kinds[n].kind = c->names[n];
			c->kinds[n].bytes = (uint64_t)json_object_get_int64(
				json_object_object_get(val, "bytes"));
			n++;
		}
	}
	c->nkinds = n;
	json_object_put(root);
}

static void fill_kinds(struct watch_http *h, struct watch_process *p)
{
	struct kinds_cache *c = NULL, *grown;
	const char *json;
	size_t len, i;

	json = watch__report(h->w, p->pid, &len);
	if (!json)
		return;
	for (i = 0; i < h->nkc && h->kc[i].pid != p->pid; i++)
		;
	if (i < h->nkc) {
		c = &h->kc[i];
	} else {
		if (h->nkc == h->kccap) {
			size_t cap = h->kccap ? h->kccap * 2 : 16;

			grown = realloc(h->kc, cap * sizeof(*grown));
			if (!grown)
				return;	/* no kinds for it this time */
			h->kc = grown;
			h->kccap = cap;
		}
		c = &h->kc[h->nkc++];
		memset(c, 0, sizeof(*c));
		c->pid = p->pid;
	}
	if (c->json != json || c->len != len) {
		c->json = json;
		c->len = len;
		read_kinds(c);
	}
	p->nkinds = c->nkinds;
	memcpy(p->kinds, c->kinds, sizeof(p->kinds));
}

static int wh_processes(void *ctx, const struct watch_process **procs, size_t *n)
{
	struct watch_http *h = ctx;
	size_t count = watch__process_count(h->w), i, k = 0;
	struct watch_proc_info in;

	if (count > h->cap) {
		struct watch_process *grown = realloc(h->procs, count * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		h->procs = grown;
		h->cap = count;
	}
	for (i = 0; i < count; i++) {
		struct watch_process *p = &h->procs[k];

		if (watch__process_at(h->w, i, &in))
			continue;	/* a slot not in use */
		memset(p, 0, sizeof(*p));
		p->pid = in.pid;
		p->comm = in.comm;
		p->cmdline = in.cmdline;
		p->cgroup = in.cgroup;
		/* the daemon says "" outside a container; the API says null */
		p->namespace = in.namespace && *in.namespace ? in.namespace : NULL;
		p->pod = in.pod && *in.pod ? in.pod : NULL;
		p->container = in.container && *in.container ? in.container : NULL;
		p->container_id = in.container_id && *in.container_id ? in.container_id : NULL;
		p->anon_bytes = in.anon_bytes;
		p->file_bytes = in.file_bytes;
		p->shmem_bytes = in.shmem_bytes;
		p->growth_bytes_per_second = in.growth_bytes_per_second;
		p->suspect = in.suspect;
		p->traced = in.traced;
		p->has_report = in.has_report;
		if (in.has_report) {
			p->split.live = in.split.live;
			p->split.retained = in.split.retained;
			p->split.runtime = in.split.runtime;
			p->split.other = in.split.other;
			fill_kinds(h, p);
		}
		k++;
	}
	h->nprocs = k;
	*procs = h->procs;
	*n = k;
	return 0;
}

static int wh_report(void *ctx, int pid, const char **json, size_t *len)
{
	struct watch_http *h = ctx;

	*json = watch__report(h->w, pid, len);
	return *json ? 0 : -ENOENT;
}

static int wh_trace(void *ctx, int pid, unsigned int seconds, char *reason)
{
	struct watch_http *h = ctx;
	const char *why = NULL;
	int err = watch__trace(h->w, pid, seconds, &why);

	if (why)
		snprintf(reason, WATCH_REASON_MAX, "%s", why);
	/* over the budget or too many traced: both "not now" (429) */
	return err == -EDQUOT ? -EBUSY : err;
}

static int wh_counters(void *ctx, struct lw_counters *out)
{
	struct watch_http *h = ctx;
	int err = watch__drops(h->w, out);

	/* between two runs of the session: nothing lost yet */
	if (err == -EAGAIN) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	return err;
}

static double wh_cpu_seconds(void *ctx)
{
	struct watch_http *h = ctx;
	struct watch_counters c;

	watch__counters(h->w, &c);
	return c.cpu_seconds;
}

static int write_cgroups(struct watch_http *h, struct promtext *w)
{
	static const char *const types[] = { "anon", "file", "shmem" };
	size_t n = watch__cgroup_count(h->w), i, t;
	struct watch_cgroup_info g;
	int err;

#define CG_LABELS { "cgroup", g.path }, { "namespace", g.namespace }, { "pod", g.pod }, \
		  { "container", g.container }
	err = promtext_family(w, "leakwatch_cgroup_memory_bytes", PROM_GAUGE,
			      "Memory of the memory cgroup by type (memory.stat).");
	for (i = 0; i < n && !err; i++) {
		if (watch__cgroup_at(h->w, i, &g))
			continue;
		for (t = 0; t < 3 && !err; t++) {
			struct prom_label l[] = { CG_LABELS, { "type", types[t] } };

			err = promtext_sample_u64(w, l, 5, t == 0 ? g.anon_bytes :
						  t == 1 ? g.file_bytes : g.shmem_bytes);
		}
	}
	err = err ?: promtext_family(w, "leakwatch_cgroup_growth_bytes_per_second", PROM_GAUGE,
				     "Robust slope of the cgroup's anonymous memory over the "
				     "window.");
	for (i = 0; i < n && !err; i++) {
		struct prom_label l[] = { CG_LABELS };

		if (!watch__cgroup_at(h->w, i, &g))
			err = promtext_sample(w, l, 4, g.growth_bytes_per_second);
	}
	err = err ?: promtext_family(w, "leakwatch_cgroup_suspect", PROM_GAUGE,
				     "1 when the cgroup's anonymous memory grows steadily.");
	for (i = 0; i < n && !err; i++) {
		struct prom_label l[] = { CG_LABELS };

		if (!watch__cgroup_at(h->w, i, &g))
			err = promtext_sample_u64(w, l, 4, g.suspect);
	}
	err = err ?: promtext_family(w, "leakwatch_cgroup_oom_kills_total", PROM_COUNTER,
				     "OOM kills in the cgroup (memory.events oom_kill).");
	for (i = 0; i < n && !err; i++) {
		struct prom_label l[] = { CG_LABELS };

		if (!watch__cgroup_at(h->w, i, &g))
			err = promtext_sample_u64(w, l, 4, g.oom_kills);
	}
#undef CG_LABELS
	return err;
}

static int write_fill(const char *name, size_t used, size_t cap, void *ctx)
{
	struct prom_label l[] = { { "map", name } };

	return promtext_sample(ctx, l, 1, cap ? (double)used / (double)cap : 0);
}

/* A series per victim's container and name; one with empty labels for the
 * kills past the daemon's bound (watch.h). */
static int write_kills(struct watch_http *h, struct promtext *w)
{
	size_t n = watch__kill_count(h->w), i;
	struct watch_kill k;
	int err;

	err = promtext_family(w, "leakwatch_oom_kills_total", PROM_COUNTER,
			      "OOM kills the daemon saw (with --postmortem-dir), by victim.");
	for (i = 0; i < n && !err && !watch__kill_at(h->w, i, &k); i++) {
		struct prom_label l[] = { { "namespace", k.namespace }, { "pod", k.pod },
					  { "container", k.container }, { "comm", k.comm } };

		err = promtext_sample_u64(w, l, 4, k.n);
	}
	return err;
}

static int wh_write_metrics(void *ctx, struct promtext *w)
{
	struct watch_http *h = ctx;
	struct watch_counters c;
	int err, o;

	watch__counters(h->w, &c);
	err = write_cgroups(h, w);
	err = err ?: promtext_family(w, "leakwatch_traces_total", PROM_COUNTER,
				     "Traces of suspects ended, by how they ended.");
	for (o = 0; o < WATCH_TRACE_OUTCOMES && !err; o++) {
		struct prom_label l[] = { { "outcome", watch_outcome_name(o) } };

		err = promtext_sample_u64(w, l, 1, c.traces[o]);
	}
	err = err ?: write_kills(h, w);
	err = err ?: promtext_family(w, "leakwatch_postmortems_written_total", PROM_COUNTER,
				     "OOM postmortems written.");
	err = err ?: promtext_sample_u64(w, NULL, 0, c.postmortems_written);
	err = err ?: promtext_family(w, "leakwatch_budget_used_ratio", PROM_GAUGE,
				     "CPU the daemon used over its CPU budget, last window.");
	err = err ?: promtext_sample(w, NULL, 0, c.budget_used_ratio);
	/* the kernel's tables that fill for good: a long-running daemon's
	 * stacks and unwinding degrade (counted drops) once one is full */
	err = err ?: promtext_family(w, "leakwatch_map_fill_ratio", PROM_GAUGE,
				     "How full the kernel tables that never empty are, by map.");
	err = err ?: watch__map_fill(h->w, write_fill, w);
	return err;
}

static const struct watch_provider_ops wh_ops = {
	.processes = wh_processes,
	.report = wh_report,
	.trace = wh_trace,
	.write_metrics = wh_write_metrics,
	.counters = wh_counters,
	.cpu_seconds = wh_cpu_seconds,
	.max_trace_seconds = 3600,
};

struct watch_http *watch_http__new(struct watch *w, const struct watch_http_opts *o)
{
	struct http_handler_opts ho = { .ops = &wh_ops, .top_k = o->top };
	struct http_server_opts so = { .listen = o->listen };
	struct watch_http *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return NULL;
	h->w = w;
	ho.ctx = h;
	h->handler = http_handler__new(&ho);
	so.handler = h->handler;
	h->server = h->handler ? http_server__new(&so) : NULL;
	if (!h->server) {
		err = errno;
		watch_http__free(h);
		errno = err;
		return NULL;
	}
	return h;
}

int watch_http__attach(struct watch_http *h, struct loop *l)
{
	return http_server__attach(h->server, l);
}

void watch_http__detach(struct watch_http *h)
{
	http_server__detach(h->server);
}

void watch_http__free(struct watch_http *h)
{
	if (!h)
		return;
	http_server__free(h->server);
	http_handler__free(h->handler);
	free(h->procs);
	free(h->kc);
	free(h);
}

uint16_t watch_http__port(const struct watch_http *h)
{
	return http_server__port(h->server);
}
