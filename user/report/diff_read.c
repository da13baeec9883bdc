// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A JSON report (schema version 1, report.h) read back into the report
 * model, for leakwatch diff.  The files are untrusted: every member is
 * checked for its type, and a report of another shape is refused with the
 * reason (why) rather than half read.
 */
#include <errno.h>
#include <string.h>
#include <json-c/json.h>

#include "diff.h"
#include "report_build.h"

static struct json_object *member(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

/* A string member, or NULL for null or absent. */
static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

static int u64_member(struct json_object *o, const char *key, uint64_t *out)
{
	struct json_object *v = member(o, key, json_type_int);

	if (!v)
		return -EINVAL;
	errno = 0;
	*out = json_object_get_uint64(v);
	return errno ? -EINVAL : 0;
}

static int frame_from_json(struct json_object *jf, struct report_frame *f)
{
	const char *addr = str_member(jf, "address");
	struct json_object *line = member(jf, "line", json_type_int);
	struct json_object *inl = member(jf, "inlined", json_type_boolean);
	char *end;

	if (!json_object_is_type(jf, json_type_object) || !addr || strncmp(addr, "0x", 2))
		return -EINVAL;
	errno = 0;
	f->address = strtoull(addr + 2, &end, 16);
	if (errno || *end || end == addr + 2)
		return -EINVAL;
	f->function = str_member(jf, "function");
	f->file = str_member(jf, "file");
	f->module = str_member(jf, "module");
	if (u64_member(jf, "offset", &f->offset))
		f->offset = 0;
	f->line = line ? (int)json_object_get_int(line) : 0;
	f->inlined = inl && json_object_get_boolean(inl);
	return 0;
}

static int stack_from_json(struct json_object *js, struct report_stack *s, const char **why)
{
	struct json_object *frames = member(js, "frames", json_type_array);
	size_t i;

	if (!json_object_is_type(js, json_type_object) || u64_member(js, "bytes", &s->bytes) ||
	    u64_member(js, "allocs", &s->allocs) || !frames) {
		*why = "a stack without bytes, allocs or frames";
		return -EINVAL;
	}
	s->kind = str_member(js, "kind");
	s->file = str_member(js, "file");
	if (u64_member(js, "oldest_age_ms", &s->oldest_age_ms))
		s->oldest_age_ms = 0;
	s->nframes = json_object_array_length(frames);
	s->frames = calloc(s->nframes ? s->nframes : 1, sizeof(*s->frames));
	if (!s->frames) {
		s->nframes = 0;
		return -ENOMEM;
	}
	for (i = 0; i < s->nframes; i++) {
		if (frame_from_json(json_object_array_get_idx(frames, i), &s->frames[i])) {
			*why = "a frame without a hexadecimal \"address\"";
			return -EINVAL;
		}
	}
	return 0;
}

/* "kinds": which stacks count as leaks (report_stack_is_leak).  A kind that
 * is not an object with a boolean "leak" is left out; past REPORT_MAX_KINDS
 * the rest are too, and their stacks count as leaks, as with no table. */
static void kinds_from_json(struct json_object *jp, struct report_process *p)
{
	struct json_object *kinds = member(jp, "kinds", json_type_object);

	if (!kinds)
		return;
	json_object_object_foreach(kinds, name, jk) {
		struct json_object *leak = member(jk, "leak", json_type_boolean);

		if (p->nkinds == REPORT_MAX_KINDS)
			break;
		if (!leak)
			continue;
		p->kinds[p->nkinds++] = (struct report_kind){
			.kind = name, .leak = json_object_get_boolean(leak) };
	}
}

static int process_from_json(struct json_object *jp, struct report_process *p, const char **why)
{
	struct json_object *stacks = member(jp, "stacks", json_type_array);
	struct json_object *pid = member(jp, "pid", json_type_int);
	size_t i, n;
	int err;

	if (!json_object_is_type(jp, json_type_object) || !pid || !stacks ||
	    u64_member(jp, "outstanding_bytes", &p->outstanding_bytes) ||
	    u64_member(jp, "outstanding_allocs", &p->outstanding_allocs)) {
		*why = "a process without pid, outstanding_bytes, outstanding_allocs or stacks";
		return -EINVAL;
	}
	p->pid = json_object_get_int(pid);
	p->comm = str_member(jp, "comm");
	p->cmdline = str_member(jp, "cmdline");
	kinds_from_json(jp, p);
	n = json_object_array_length(stacks);
	p->stacks = calloc(n ? n : 1, sizeof(*p->stacks));
	if (!p->stacks)
		return -ENOMEM;
	p->stacks_total = n;
	for (i = 0; i < n; i++) {
		err = stack_from_json(json_object_array_get_idx(stacks, i), &p->stacks[p->nstacks++],
				      why);
		if (err)
			return err;
	}
	return 0;
}

int diff_report_from_json(struct json_object *json, struct report *r, const char **why)
{
	struct json_object *procs = member(json, "processes", json_type_array);
	const char *ts = str_member(json, "timestamp");
	uint64_t version = 0, sample_bytes = 0;
	size_t i, n;
	int err = 0;

	memset(r, 0, sizeof(*r));
	*why = NULL;
	if (!json_object_is_type(json, json_type_object) || u64_member(json, "version", &version)) {
		*why = "not a leakwatch JSON report (no \"version\")";
		return -EINVAL;
	}
	if (version != REPORT_JSON_VERSION) {
		*why = "a JSON report of another schema version than 1";
		return -EINVAL;
	}
	if (!procs) {
		*why = "a report without \"processes\"";
		return -EINVAL;
	}
	if (ts)
		snprintf(r->timestamp, sizeof(r->timestamp), "%s", ts);
	if (!u64_member(json, "sample_bytes", &sample_bytes))
		r->sample_bytes = sample_bytes;
	r->final = json_object_get_boolean(member(json, "final", json_type_boolean));
	n = json_object_array_length(procs);
	r->procs = calloc(n ? n : 1, sizeof(*r->procs));
	if (!r->procs)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++)
		err = process_from_json(json_object_array_get_idx(procs, i),
					&r->procs[r->nprocs++], why);
	if (err)
		report_release(r);
	return err;
}
