// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A postmortem as text, for people: what was killed, by whom and why, its
 * memory, its mappings and memory cgroup, and what it held by stack (the
 * report's text of that process).  Untrusted strings are escaped.
 */
#include <errno.h>
#include <json-c/json.h>

#include "postmortem_int.h"

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

	pm_fmt_time(&pm->event_time, false, when, sizeof(when));
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
