// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report as a pprof profile (profile.proto, gzip'd), for go tool pprof,
 * Pyroscope, Grafana and every other reader of Go's heap profiles.
 *
 * What goes where:
 *  - sample types: inuse_objects/count and inuse_space/bytes, named and
 *    ordered as in Go's heap profiles, so that pprof treats it as one;
 *    inuse_space is the default.  leakwatch keeps only what is outstanding,
 *    so Go's alloc_objects/alloc_space (everything ever allocated) are not
 *    written: a pprof reader must not take zeros for them.
 *  - period_type space/bytes; period 1 for an exact report, N with -s N.
 *    The values are the report's, already scaled back from the samples.
 *  - one sample per stack of the report whose kind is a leak, with labels
 *    kind, pid and comm: without filters (-T, --min-size...) the total is
 *    the report's outstanding bytes.  The allocator's arenas, thread
 *    stacks and libraries would otherwise fill the default view;
 *  - one location per (process, address), with its mapping; an address
 *    where calls were inlined is one location with several lines, the
 *    innermost first, as the report's frames are;
 *  - one mapping per module of a process (start, limit, offset, file,
 *    build ID) and one function per (name, file).
 * Frames that leakwatch could not name get a location with no line:
 * pprof shows them by address.  The gzip header carries no time, so the
 * same report gives the same bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "gen/profile.pb-c.h"
#include "hash.h"
#include "htab.h"
#include "log.h"
#include "report.h"
#include "vec.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__ValueType ValueType;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;

/* ---------------------------------------------------------------------- */
/* The profile being built                                                */

struct builder {
	Profile prof;
	/* indexes of what is made once: the string table by content, functions
	 * by (name, file), locations by (pid, address); values are indexes
	 * (strings) and ids (functions, locations: index + 1) */
	struct lw_htab strings, functions, locations;
	pid_t *location_pids;	/* by location index */
	size_t cap_strings, cap_functions, cap_locations, cap_mappings, cap_location_pids;
	int err;
};

/* Grows an array of pointers by one, as the first error is remembered. */
static void *push(struct builder *b, void ***arr, size_t *n, size_t *cap, size_t size)
{
	void *obj;

	if (b->err)
		return NULL;
	if (lw_vec_reserve(*arr, *cap, *n + 1))
		goto nomem;
	obj = calloc(1, size);
	if (!obj)
		goto nomem;
	(*arr)[(*n)++] = obj;
	return obj;
nomem:
	b->err = -ENOMEM;
	return NULL;
}

/* The string table index of s ("" for NULL). */
static int64_t str_index(struct builder *b, const char *s)
{
	Profile *p = &b->prof;
	struct lw_htab_slot *slot;
	uint64_t hash;
	char *copy;

	if (!s || !*s || b->err)
		return 0;
	hash = lw_hash_str(s);
	lw_htab_for_each_match(&b->strings, hash, slot) {
		if (!strcmp(p->string_table[slot->val], s))
			return (int64_t)slot->val;
	}
	if (lw_vec_reserve(p->string_table, b->cap_strings, p->n_string_table + 1))
		goto nomem;
	copy = strdup(s);
	if (!copy)
		goto nomem;
	if (lw_htab_add(&b->strings, hash, p->n_string_table)) {
		free(copy);
		goto nomem;
	}
	p->string_table[p->n_string_table] = copy;
	return (int64_t)p->n_string_table++;
nomem:
	b->err = -ENOMEM;
	return 0;
}

static uint64_t function_id(struct builder *b, const struct report_frame *f)
{
	Profile *p = &b->prof;
	int64_t name = str_index(b, f->function), file = str_index(b, f->file);
	uint64_t hash = lw_hash_pair((uint64_t)name, (uint64_t)file);
	struct lw_htab_slot *slot;
	Function *fn;

	if (b->err)
		return 0;
	lw_htab_for_each_match(&b->functions, hash, slot) {
		fn = p->function[slot->val - 1];
		if (fn->name == name && fn->filename == file)
			return slot->val;
	}
	fn = push(b, (void ***)&p->function, &p->n_function, &b->cap_functions, sizeof(*fn));
	if (!fn)
		return 0;
	perftools__profiles__function__init(fn);
	fn->id = p->n_function;
	fn->name = name;
	fn->system_name = name;
	fn->filename = file;
	if (lw_htab_add(&b->functions, hash, fn->id)) {
		b->err = -ENOMEM;
		return 0;
	}
	return fn->id;
}

/* The mapping of ip among the process's (ids first_id...), or 0. */
static uint64_t mapping_id(const struct report_process *rp, uint64_t first_id, uint64_t ip)
{
	size_t lo = 0, hi = rp->nmappings;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ip < rp->mappings[mid].start)
			hi = mid;
		else if (ip >= rp->mappings[mid].limit)
			lo = mid + 1;
		else
			return first_id + mid;
	}
	return 0;
}

/* The location of frames[0..n) (one address: its inline chain, the
 * innermost first), made on first use. */
static uint64_t location_id(struct builder *b, const struct report_process *rp,
			    uint64_t first_mapping, const struct report_frame *frames, size_t n)
{
	Profile *p = &b->prof;
	uint64_t hash = lw_hash_pair((uint64_t)rp->pid, frames[0].address);
	struct lw_htab_slot *slot;
	Location *loc;
	size_t i;

	if (b->err)
		return 0;
	lw_htab_for_each_match(&b->locations, hash, slot) {
		loc = p->location[slot->val - 1];
		if (loc->address == frames[0].address &&
		    b->location_pids[slot->val - 1] == rp->pid)
			return slot->val;
	}
	if (lw_vec_reserve(b->location_pids, b->cap_location_pids, p->n_location + 1)) {
		b->err = -ENOMEM;
		return 0;
	}
	loc = push(b, (void ***)&p->location, &p->n_location, &b->cap_locations, sizeof(*loc));
	if (!loc)
		return 0;
	perftools__profiles__location__init(loc);
	loc->id = p->n_location;
	loc->address = frames[0].address;
	loc->mapping_id = mapping_id(rp, first_mapping, frames[0].address);
	b->location_pids[loc->id - 1] = rp->pid;
	if (lw_htab_add(&b->locations, hash, loc->id)) {
		b->err = -ENOMEM;
		return 0;
	}
	if (!frames[0].function)
		return loc->id;
	loc->line = calloc(n, sizeof(*loc->line));
	if (!loc->line) {
		b->err = -ENOMEM;
		return 0;
	}
	for (i = 0; i < n && frames[i].function; i++) {
		Line *l = calloc(1, sizeof(*l));

		if (!l) {
			b->err = -ENOMEM;
			return 0;
		}
		perftools__profiles__line__init(l);
		loc->line[loc->n_line++] = l;
		l->function_id = function_id(b, &frames[i]);
		l->line = frames[i].line;
	}
	return loc->id;
}

static void add_mappings(struct builder *b, const struct report_process *rp)
{
	Profile *p = &b->prof;
	size_t i;

	for (i = 0; i < rp->nmappings && !b->err; i++) {
		const struct report_mapping *rm = &rp->mappings[i];
		Mapping *m = push(b, (void ***)&p->mapping, &p->n_mapping, &b->cap_mappings,
				  sizeof(*m));

		if (!m)
			return;
		perftools__profiles__mapping__init(m);
		m->id = p->n_mapping;
		m->memory_start = rm->start;
		m->memory_limit = rm->limit;
		m->file_offset = rm->offset;
		m->filename = str_index(b, rm->file);
		m->build_id = str_index(b, rm->build_id);
		/* the names, files and lines are in the profile: pprof must
		 * not look for symbols of its own */
		m->has_functions = m->has_filenames = m->has_line_numbers = true;
		m->has_inline_frames = true;
	}
}

static Label *label(struct builder *b, const char *key, const char *str, int64_t num)
{
	Label *l = calloc(1, sizeof(*l));

	if (!l) {
		b->err = -ENOMEM;
		return NULL;
	}
	perftools__profiles__label__init(l);
	l->key = str_index(b, key);
	if (str)
		l->str = str_index(b, str);
	else
		l->num = num;
	return l;
}

static void add_sample(struct builder *b, const struct report_process *rp,
		       uint64_t first_mapping, const struct report_stack *rs, Sample *s)
{
	size_t i, j;

	perftools__profiles__sample__init(s);
	s->value = calloc(2, sizeof(*s->value));
	s->location_id = calloc(rs->nframes ? rs->nframes : 1, sizeof(*s->location_id));
	s->label = calloc(3, sizeof(*s->label));
	if (!s->value || !s->location_id || !s->label) {
		b->err = -ENOMEM;
		return;
	}
	s->n_value = 2;
	s->value[0] = (int64_t)rs->allocs;
	s->value[1] = (int64_t)rs->bytes;
	/* frames of one address: inlined ones, then the one containing them */
	for (i = 0; i < rs->nframes; i = j) {
		for (j = i; j + 1 < rs->nframes && rs->frames[j].inlined &&
			    rs->frames[j + 1].address == rs->frames[i].address; j++)
			;
		j++;
		s->location_id[s->n_location_id++] =
			location_id(b, rp, first_mapping, &rs->frames[i], j - i);
	}
	s->label[s->n_label++] = label(b, "kind", rs->kind ? rs->kind : "heap", 0);
	s->label[s->n_label++] = label(b, "pid", NULL, rp->pid);
	if (rp->comm)
		s->label[s->n_label++] = label(b, "comm", rp->comm, 0);
}

static ValueType *value_type(struct builder *b, const char *type, const char *unit)
{
	ValueType *v = calloc(1, sizeof(*v));

	if (!v) {
		b->err = -ENOMEM;
		return NULL;
	}
	perftools__profiles__value_type__init(v);
	v->type = str_index(b, type);
	v->unit = str_index(b, unit);
	return v;
}

static void build(struct builder *b, const struct report *r)
{
	Profile *p = &b->prof;
	size_t i, j, nsamples = 0;
	struct tm tm = {};

	p->string_table = calloc(64, sizeof(*p->string_table));
	p->sample_type = calloc(2, sizeof(*p->sample_type));
	if (!p->string_table || !p->sample_type) {
		b->err = -ENOMEM;
		return;
	}
	b->cap_strings = 64;
	p->string_table[p->n_string_table++] = strdup("");
	if (!p->string_table[0]) {
		b->err = -ENOMEM;
		return;
	}
	p->sample_type[p->n_sample_type++] = value_type(b, "inuse_objects", "count");
	p->sample_type[p->n_sample_type++] = value_type(b, "inuse_space", "bytes");
	p->default_sample_type = str_index(b, "inuse_space");
	p->period_type = value_type(b, "space", "bytes");
	p->period = r->sample_bytes ? (int64_t)r->sample_bytes : 1;
	if (strptime(r->timestamp, "%Y-%m-%dT%H:%M:%SZ", &tm))
		p->time_nanos = (int64_t)timegm(&tm) * 1000000000;
	if (r->duration_s > 0 && r->duration_s < 1e9)
		p->duration_nanos = (int64_t)(r->duration_s * 1e9);

	for (i = 0; i < r->nprocs; i++)
		nsamples += r->procs[i].nstacks;
	p->sample = calloc(nsamples ? nsamples : 1, sizeof(*p->sample));
	if (!p->sample) {
		b->err = -ENOMEM;
		return;
	}
	for (i = 0; i < r->nprocs && !b->err; i++) {
		const struct report_process *rp = &r->procs[i];
		uint64_t first_mapping = p->n_mapping + 1;

		add_mappings(b, rp);
		for (j = 0; j < rp->nstacks && !b->err; j++) {
			Sample *s;

			if (!report_stack_is_leak(rp, &rp->stacks[j]))
				continue;
			s = calloc(1, sizeof(*s));
			if (!s) {
				b->err = -ENOMEM;
				return;
			}
			p->sample[p->n_sample++] = s;
			add_sample(b, rp, first_mapping, &rp->stacks[j], s);
		}
	}
}

/* Frees what build() allocated; the generated free_unpacked expects
 * protobuf-c's own allocator, which is malloc too, but the profile was
 * not unpacked: free it field by field. */
static void release(struct builder *b)
{
	Profile *p = &b->prof;
	size_t i, j;

	for (i = 0; i < p->n_sample_type; i++)
		free(p->sample_type[i]);
	free(p->sample_type);
	for (i = 0; i < p->n_sample; i++) {
		Sample *s = p->sample[i];

		for (j = 0; j < s->n_label; j++)
			free(s->label[j]);
		free(s->label);
		free(s->value);
		free(s->location_id);
		free(s);
	}
	free(p->sample);
	for (i = 0; i < p->n_mapping; i++)
		free(p->mapping[i]);
	free(p->mapping);
	for (i = 0; i < p->n_location; i++) {
		for (j = 0; j < p->location[i]->n_line; j++)
			free(p->location[i]->line[j]);
		free(p->location[i]->line);
		free(p->location[i]);
	}
	free(p->location);
	for (i = 0; i < p->n_function; i++)
		free(p->function[i]);
	free(p->function);
	for (i = 0; i < p->n_string_table; i++)
		free(p->string_table[i]);
	free(p->string_table);
	free(p->period_type);
	lw_htab_release(&b->strings);
	lw_htab_release(&b->functions);
	lw_htab_release(&b->locations);
	free(b->location_pids);
}

/* buf, gzip'd, to f.  No name and no time in the header (zlib's default
 * gzip header has neither): the same profile, the same file. */
static int write_gzip(FILE *f, const uint8_t *buf, size_t len)
{
	unsigned char out[16384];
	z_stream z = {};
	int zerr, err = 0;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)buf;
	z.avail_in = len;	/* a report is far below 4 GiB */
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zerr = deflate(&z, Z_FINISH);
		if (zerr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(out, 1, sizeof(out) - z.avail_out, f) != sizeof(out) - z.avail_out) {
			lw_debug("report: write failed: %s\n", strerror(errno));
			err = -EIO;
			break;
		}
	} while (zerr != Z_STREAM_END);
	deflateEnd(&z);
	if (!err && fflush(f) == EOF)
		err = -EIO;
	return err;
}

int report_write_pprof(FILE *f, const struct report *r, const struct report_opts *o)
{
	Profile init = PERFTOOLS__PROFILES__PROFILE__INIT;
	struct builder b = { .prof = init };
	uint8_t *buf = NULL;
	size_t len;
	int err;

	if (!f || !o)
		return -EINVAL;
	err = report_check(r);
	if (err)
		return err;
	build(&b, r);
	err = b.err;
	if (err)
		goto cleanup;
	len = perftools__profiles__profile__get_packed_size(&b.prof);
	buf = malloc(len ? len : 1);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	perftools__profiles__profile__pack(&b.prof, buf);
	err = write_gzip(f, buf, len);
cleanup:
	free(buf);
	release(&b);
	return err;
}
