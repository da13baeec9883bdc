// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The JSON report, for programs: schema version 1, in report.h and
 * README.md, built and written through jsonout.
 */
#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "log.h"
#include "jsonout.h"
#include "report_int.h"

/* ---------------------------------------------------------------------- */
/* JSON output                                                            */

/* Our keys are literals that outlive the tree and appear once per object:
 * json-c need not copy them nor look for an earlier entry. */

struct json_object *report_json_frame(const struct report_frame *fr)
{
	struct json_object *obj;
	char addr[24];
	int err;

	obj = json_object_new_object();
	if (!obj)
		return NULL;
	/* a string, not a number: addresses are read and compared in hex */
	snprintf(addr, sizeof(addr), "0x%" PRIx64, fr->address);
	err = json_out_add(obj, "address", json_object_new_string(addr));
	err = err ?: json_out_add_str(obj, "function", fr->function);
	err = err ?: json_out_add_u64(obj, "offset", fr->offset);
	err = err ?: json_out_add_str(obj, "file", fr->file);
	err = err ?: json_out_add(obj, "line", json_object_new_int(fr->line > 0 ? fr->line : 0));
	err = err ?: json_out_add_str(obj, "module", fr->module);
	if (fr->has_module_offset)
		snprintf(addr, sizeof(addr), "0x%" PRIx64, fr->module_offset);
	err = err ?: json_out_add_str(obj, "module_offset", fr->has_module_offset ? addr : NULL);
	err = err ?: json_out_add_str(obj, "build_id", fr->build_id);
	err = err ?: json_out_add(obj, "inlined", json_object_new_boolean(fr->inlined));
	if (err)
		goto cleanup;
	return obj;

cleanup:
	json_object_put(obj);
	errno = -err;
	return NULL;
}

/* A mapping's kind (maptrack.h), which has reserved bytes: not heap or
 * kernel. */
static bool is_mapping_kind(const char *kind)
{
	return kind && strcmp(kind, "heap") && strcmp(kind, "kernel");
}

static struct json_object *json_stack(const struct report_stack *st,
				      const struct report_growth *growth)
{
	struct json_object *obj, *frames;
	size_t i;
	int err;

	obj = json_object_new_object();
	if (!obj)
		return NULL;
	err = json_out_add_u64(obj, "bytes", st->bytes);
	err = err ?: json_out_add_u64(obj, "allocs", st->allocs);
	err = err ?: json_out_add_str(obj, "kind", st->kind);
	if (!err && is_mapping_kind(st->kind))
		err = json_out_add_u64(obj, "reserved_bytes", st->reserved);
	if (!err && st->file)
		err = json_out_add_str(obj, "file", st->file);
	err = err ?: json_out_add_u64(obj, "oldest_age_ms", st->oldest_age_ms);
	if (!err && st->samples)
		err = json_out_add_u64(obj, "samples", st->samples);
	if (!err && st->truncated)
		err = json_out_add(obj, "truncated", json_object_new_boolean(true));
	if (!err && growth)
		err = json_out_add(obj, "bytes_delta", json_object_new_int64(growth->bytes_delta));
	if (!err && growth)
		err = json_out_add(obj, "allocs_delta", json_object_new_int64(growth->allocs_delta));
	if (err)
		goto cleanup;
	frames = json_object_new_array();
	err = json_out_add(obj, "frames", frames);
	for (i = 0; !err && i < st->nframes; i++)
		err = json_out_push(frames, report_json_frame(&st->frames[i]));
	if (err)
		goto cleanup;
	return obj;

cleanup:
	json_object_put(obj);
	errno = -err;
	return NULL;
}

/* "kinds": {"heap": {"bytes": B, "allocs": A, "leak": true}, ...} */
static int json_kinds(struct json_object *obj, const struct report_process *p)
{
	struct json_object *kinds;
	size_t i;
	int err;

	if (!p->nkinds)
		return 0;
	kinds = json_object_new_object();
	err = json_out_add(obj, "kinds", kinds);

	for (i = 0; !err && i < p->nkinds; i++) {
		const struct report_kind *k = &p->kinds[i];
		struct json_object *kind = json_object_new_object();

		err = json_out_add(kinds, k->kind, kind);
		err = err ?: json_out_add_u64(kind, "bytes", k->bytes);
		err = err ?: json_out_add_u64(kind, "allocs", k->allocs);
		err = err ?: json_out_add(kind, "leak", json_object_new_boolean(k->leak));
		if (!err && is_mapping_kind(k->kind))
			err = json_out_add_u64(kind, "reserved_bytes", k->reserved);
	}
	return err;
}

static struct json_object *json_process(const struct report_process *p)
{
	struct json_object *obj, *stacks;
	size_t i;
	int err;

	obj = json_object_new_object();
	if (!obj)
		return NULL;
	err = json_out_add(obj, "pid", json_object_new_int(p->pid));
	err = err ?: json_out_add_str(obj, "comm", p->comm);
	err = err ?: json_out_add_str(obj, "cmdline", p->cmdline);
	err = err ?: json_out_add_str(obj, "namespace", p->namespace);
	err = err ?: json_out_add_str(obj, "pod", p->pod);
	err = err ?: json_out_add_str(obj, "container", p->container);
	err = err ?: json_out_add_str(obj, "container_id", p->container_id);
	err = err ?: json_out_add(obj, "exited", json_object_new_boolean(p->exited));
	if (!err && p->exited)
		err = json_out_add(obj, "exit_code", json_object_new_int(p->exit_code));
	err = err ?: json_out_add_u64(obj, "outstanding_bytes", p->outstanding_bytes);
	err = err ?: json_out_add_u64(obj, "outstanding_allocs", p->outstanding_allocs);
	err = err ?: json_kinds(obj, p);
	if (!err && p->memory_of)
		err = json_out_add(obj, "memory_of", json_object_new_int(p->memory_of));
	err = err ?: json_out_add_u64(obj, "unknown_frees", p->unknown_frees);
	err = err ?: json_out_add_u64(obj, "thread_cache_frees", p->thread_cache_frees);
	err = err ?: json_out_add_u64(obj, "stacks_total", p->stacks_total);
	if (err)
		goto cleanup;
	stacks = json_object_new_array();
	err = json_out_add(obj, "stacks", stacks);
	for (i = 0; !err && i < p->nstacks; i++)
		err = json_out_push(stacks, json_stack(&p->stacks[i],
						       p->growth ? &p->growth[i] : NULL));
	if (err)
		goto cleanup;
	return obj;

cleanup:
	json_object_put(obj);
	errno = -err;
	return NULL;
}

static int json_drops(struct json_object *root, const struct report *r)
{
	struct json_object *drops, *val;
	size_t i;
	int err;

	drops = json_object_new_object();
	err = json_out_add(root, "drops", drops);
	for (i = 0; !err && i < r->ndrops; i++) {
		const struct report_counter *c = &r->drops[i];

		/* a second counter of the same name would silently replace
		 * the first: that is a bug in the caller, not data to hide */
		if (json_object_object_get_ex(drops, c->name, NULL)) {
			lw_debug("report: drop counter '%s' appears twice\n", c->name);
			return -EINVAL;
		}
		val = json_object_new_uint64(c->value);
		if (!val)
			return -ENOMEM;
		/* names are the caller's: json-c copies them */
		if (json_object_object_add(drops, c->name, val)) {
			json_object_put(val);
			return -ENOMEM;
		}
	}
	return err;
}

/* r as a document; with its processes, or with their array left empty
 * (report_write_json streams them). */
static int json_report(const struct report *r, bool with_procs, struct json_object **out)
{
	struct json_object *root, *procs, *summary;
	uint64_t bytes = 0, allocs = 0;
	size_t i;
	int err;

	root = json_object_new_object();
	if (!root)
		return -ENOMEM;
	err = json_out_add(root, "version", json_object_new_int(REPORT_JSON_VERSION));
	err = err ?: json_out_add_str(root, "timestamp", r->timestamp[0] ? r->timestamp : NULL);
	err = err ?: json_out_add(root, "final", json_object_new_boolean(r->final));
	if (err)
		goto cleanup;
	/* milliseconds are all a duration needs */
	err = json_out_add_milli(root, "duration_s", r->duration_s);
	err = err ?: json_out_add_u64(root, "lost_events", r->lost_events);
	err = err ?: json_out_add_str(root, "mapping_hooks", r->mapping_hooks);
	if (!err && r->sample_bytes) {
		err = json_out_add_u64(root, "sample_bytes", r->sample_bytes);
		err = err ?: json_out_add(root, "estimated", json_object_new_boolean(true));
	}
	err = err ?: json_drops(root, r);
	if (err)
		goto cleanup;

	procs = json_object_new_array();
	err = json_out_add(root, "processes", procs);
	for (i = 0; !err && i < r->nprocs; i++) {
		if (with_procs)
			err = json_out_push(procs, json_process(&r->procs[i]));
		bytes += r->procs[i].outstanding_bytes;
		allocs += r->procs[i].outstanding_allocs;
	}
	if (err)
		goto cleanup;

	summary = json_object_new_object();
	err = json_out_add(root, "summary", summary);
	err = err ?: json_out_add_u64(summary, "processes", r->nprocs);
	err = err ?: json_out_add_u64(summary, "outstanding_bytes", bytes);
	err = err ?: json_out_add_u64(summary, "outstanding_allocs", allocs);
	if (!err && r->tracer_user_bytes) {
		struct json_object *mem = json_object_new_object();

		err = json_out_add(root, "tracer_memory", mem);
		err = err ?: json_out_add_u64(mem, "user_bytes", r->tracer_user_bytes);
		err = err ?: json_out_add_u64(mem, "kernel_bytes", r->tracer_kernel_bytes);
		err = err ?: json_out_add_u64(mem, "blocks", r->tracer_blocks);
		if (!err && r->tracer_rss_bytes)
			err = json_out_add_u64(mem, "rss_bytes", r->tracer_rss_bytes);
	}
	if (err)
		goto cleanup;

	*out = root;
	return 0;

cleanup:
	json_object_put(root);
	return err;
}

static struct json_object *next_process(void *ctx, size_t i)
{
	const struct report *r = ctx;

	return json_process(&r->procs[i]);
}

int report_write_json(FILE *f, const struct report *r, const struct report_opts *opts)
{
	struct json_object *root = NULL;
	int err;

	err = check_model(f, r, opts);
	if (err)
		return err;
	err = json_report(r, false, &root);
	if (err)
		goto cleanup;
	/* one process's tree at a time: under -i, a report of every process
	 * is made every interval, and its whole tree would be tens of MiB */
	err = json_out_write_streamed(f, root, "processes", r->nprocs, next_process, (void *)r);
	if (err && err != -ENOMEM)
		lw_debug("report: write failed: %s\n", strerror(-err));

cleanup:
	json_object_put(root);
	return err;
}

struct json_object *report_json(const struct report *r, const struct report_opts *opts)
{
	struct json_object *root = NULL;
	int err = check_model(stdout, r, opts);

	err = err ?: json_report(r, true, &root);
	if (err) {
		errno = -err;
		return NULL;
	}
	return root;
}

struct json_object *report_json_process(const struct report_process *p)
{
	static const struct report_opts o = { .format = REPORT_JSON };
	int err = check_process_model(stdout, p, &o);

	if (err) {
		errno = -err;
		return NULL;
	}
	return json_process(p);
}
