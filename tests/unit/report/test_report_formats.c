// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Golden tests of the pprof, folded and html writers and of diff.c, on a
 * hand-built model.  The pprof profile is gunzip'd and decoded with
 * protobuf-c, then dumped field by field and compared with a golden dump;
 * the page's report is parsed back out of the HTML.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <zlib.h>

#include "diff.h"
#include "gen/profile.pb-c.h"
#include "report.h"
#include "report_build.h"

static struct report_frame leak_frames[] = {
	/* fill() inlined into grow(): one address, two frames */
	{ 0x401010, "fill", 0, "/src/app/util.h", 7, "/usr/bin/app", true, NULL, 0, false },
	{ 0x401010, "grow", 0x10, "/src/app/app.c", 30, "/usr/bin/app", false, NULL, 0, false },
	{ 0x401100, "main", 0x20, "/src/app/app.c", 50, "/usr/bin/app", false, NULL, 0, false },
	{ 0x7f0000029d90, "__libc_start_call_main", 0x80, NULL, 0,
	  "/usr/lib/x86_64-linux-gnu/libc.so.6", false, NULL, 0, false },
};

static struct report_frame other_frames[] = {
	{ 0x401200, "a;b\nc", 0x4, "/src/app/app.c", 60, "/usr/bin/app", false, NULL, 0, false },
	{ 0x401100, "main", 0x20, "/src/app/app.c", 50, "/usr/bin/app", false, NULL, 0, false },
};

static struct report_frame map_frames[] = {
	{ 0x7f0000001000, NULL, 0, NULL, 0, "/usr/lib/libfoo.so.1", false, NULL, 0, false },
	{ 0x1234, NULL, 0, NULL, 0, NULL, false, NULL, 0, false },
};

static struct report_frame arena_frames[] = {
	{ 0x7f0000040000, "_int_malloc", 0x10, "malloc.c", 4403,
	  "/usr/lib/x86_64-linux-gnu/libc.so.6", false, NULL, 0, false },
};

static struct report_stack stacks[] = {
	{ .bytes = 4096, .allocs = 4, .kind = "heap", .oldest_age_ms = 1500, .nframes = 4,
	  .frames = leak_frames },
	{ .bytes = 100, .allocs = 1, .kind = "heap", .oldest_age_ms = 20, .nframes = 2,
	  .frames = other_frames },
	{ .bytes = 8192, .allocs = 1, .kind = "mmap", .oldest_age_ms = 900, .nframes = 2,
	  .frames = map_frames },
	/* not a leak: in neither pprof nor folded */
	{ .bytes = 135168, .allocs = 1, .kind = "allocator", .oldest_age_ms = 1600, .nframes = 1,
	  .frames = arena_frames },
};

static struct report_mapping mappings[] = {
	{ 0x400000, 0x402000, 0, "/usr/bin/app", "0123abcd" },
	{ 0x7f0000000000, 0x7f0000100000, 0, "/usr/lib/x86_64-linux-gnu/libc.so.6", NULL },
};

static struct report_process procs[] = {
	{
		.pid = 42, .comm = "app", .exited = true,
		.outstanding_bytes = 4096 + 100 + 8192, .outstanding_allocs = 6,
		.nkinds = 3,
		.kinds = {
			{ "heap", 4196, 5, true },
			{ "mmap", 8192, 1, true },
			{ "allocator", 135168, 1, false },
		},
		.stacks_total = 4, .nstacks = 4, .stacks = stacks,
		.nmappings = 2, .mappings = mappings,
	},
};

static const struct report model = {
	.final = true,
	.timestamp = "2024-05-01T12:00:00Z",
	.duration_s = 2.5,
	.nprocs = 1,
	.procs = procs,
};

static const struct report_opts opts = { .format = REPORT_FOLDED };

static char *capture(int (*writer)(FILE *, const struct report *, const struct report_opts *),
		     const struct report *r, size_t *len, int *err)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	cr_assert_not_null(f);
	*err = writer(f, r, &opts);
	cr_assert_eq(fclose(f), 0);
	return out;
}

/* ---------------------------------------------------------------------- */
/* folded                                                                 */

Test(formats, folded_golden)
{
	static const char golden[] =
		"app (42);__libc_start_call_main;main;grow;fill 4096\n"
		"app (42);main;a:b?c 100\n"
		"app (42);[mmap];[unknown];libfoo.so.1+0x7f0000001000 8192\n";
	size_t len;
	int err;
	char *out = capture(report_write_folded, &model, &len, &err);

	cr_assert_eq(err, 0);
	cr_assert_str_eq(out, golden);
	free(out);
}

/* ---------------------------------------------------------------------- */
/* pprof                                                                  */

static Perftools__Profiles__Profile *decode(const char *gz, size_t len)
{
	static unsigned char raw[1 << 20];
	z_stream z = { .next_in = (unsigned char *)gz, .avail_in = len, .next_out = raw,
		       .avail_out = sizeof(raw) };
	Perftools__Profiles__Profile *p;

	/* gzip, not zlib: the first two bytes are the gzip magic */
	cr_assert(len > 2 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	inflateEnd(&z);
	p = perftools__profiles__profile__unpack(NULL, z.total_out, raw);
	cr_assert_not_null(p, "not a profile.proto message");
	return p;
}

/* The profile as text, every field that leakwatch sets, ids resolved. */
static char *dump(const Perftools__Profiles__Profile *p)
{
	char *out = NULL;
	size_t len, i, j;
	FILE *f = open_memstream(&out, &len);
	char *const *st = p->string_table;

#define S(i) ((size_t)(i) < p->n_string_table ? st[i] : "<bad string index>")
	fprintf(f, "strings %zu, [0] \"%s\"\n", p->n_string_table, st[0]);
	for (i = 0; i < p->n_sample_type; i++)
		fprintf(f, "sample_type %s/%s\n", S(p->sample_type[i]->type),
			S(p->sample_type[i]->unit));
	fprintf(f, "default %s\n", S(p->default_sample_type));
	fprintf(f, "period_type %s/%s period %lld\n", S(p->period_type->type),
		S(p->period_type->unit), (long long)p->period);
	fprintf(f, "time %lld duration %lld\n", (long long)p->time_nanos,
		(long long)p->duration_nanos);
	for (i = 0; i < p->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = p->mapping[i];

		fprintf(f, "mapping %llu %#llx-%#llx +%#llx %s id=%s fn=%d fl=%d ln=%d in=%d\n",
			(unsigned long long)m->id, (unsigned long long)m->memory_start,
			(unsigned long long)m->memory_limit, (unsigned long long)m->file_offset,
			S(m->filename), S(m->build_id), m->has_functions, m->has_filenames,
			m->has_line_numbers, m->has_inline_frames);
	}
	for (i = 0; i < p->n_function; i++)
		fprintf(f, "function %llu %s (%s) %s\n", (unsigned long long)p->function[i]->id,
			S(p->function[i]->name), S(p->function[i]->system_name),
			S(p->function[i]->filename));
	for (i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];

		fprintf(f, "location %llu %#llx m=%llu", (unsigned long long)l->id,
			(unsigned long long)l->address, (unsigned long long)l->mapping_id);
		for (j = 0; j < l->n_line; j++)
			fprintf(f, " [f%llu:%lld]", (unsigned long long)l->line[j]->function_id,
				(long long)l->line[j]->line);
		fputc('\n', f);
	}
	for (i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];

		fprintf(f, "sample");
		for (j = 0; j < s->n_value; j++)
			fprintf(f, " %lld", (long long)s->value[j]);
		fprintf(f, " @");
		for (j = 0; j < s->n_location_id; j++)
			fprintf(f, " %llu", (unsigned long long)s->location_id[j]);
		for (j = 0; j < s->n_label; j++) {
			if (s->label[j]->str)
				fprintf(f, " %s=%s", S(s->label[j]->key), S(s->label[j]->str));
			else
				fprintf(f, " %s=%lld", S(s->label[j]->key), (long long)s->label[j]->num);
		}
		fputc('\n', f);
	}
#undef S
	fclose(f);
	return out;
}

Test(formats, pprof_golden)
{
	static const char golden[] =
		"strings 22, [0] \"\"\n"
		"sample_type inuse_objects/count\n"
		"sample_type inuse_space/bytes\n"
		"default inuse_space\n"
		"period_type space/bytes period 1\n"
		"time 1714564800000000000 duration 2500000000\n"
		"mapping 1 0x400000-0x402000 +0 /usr/bin/app id=0123abcd fn=1 fl=1 ln=1 in=1\n"
		"mapping 2 0x7f0000000000-0x7f0000100000 +0 /usr/lib/x86_64-linux-gnu/libc.so.6 id= "
		"fn=1 fl=1 ln=1 in=1\n"
		"function 1 fill (fill) /src/app/util.h\n"
		"function 2 grow (grow) /src/app/app.c\n"
		"function 3 main (main) /src/app/app.c\n"
		"function 4 __libc_start_call_main (__libc_start_call_main) \n"
		"function 5 a;b\nc (a;b\nc) /src/app/app.c\n"
		"location 1 0x401010 m=1 [f1:7] [f2:30]\n"
		"location 2 0x401100 m=1 [f3:50]\n"
		"location 3 0x7f0000029d90 m=2 [f4:0]\n"
		"location 4 0x401200 m=1 [f5:60]\n"
		"location 5 0x7f0000001000 m=2\n"
		"location 6 0x1234 m=0\n"
		"sample 4 4096 @ 1 2 3 kind=heap pid=42 comm=app\n"
		"sample 1 100 @ 4 2 kind=heap pid=42 comm=app\n"
		"sample 1 8192 @ 5 6 kind=mmap pid=42 comm=app\n";
	size_t len;
	int err;
	char *out = capture(report_write_pprof, &model, &len, &err);
	Perftools__Profiles__Profile *p;
	char *text;

	cr_assert_eq(err, 0);
	p = decode(out, len);
	text = dump(p);
	cr_assert_str_eq(text, golden);
	free(text);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(out);
}

Test(formats, pprof_sampled_period_and_same_bytes)
{
	struct report r = model;
	size_t len, len2;
	int err;
	char *out, *again;
	Perftools__Profiles__Profile *p;

	r.sample_bytes = 524288;
	out = capture(report_write_pprof, &r, &len, &err);
	cr_assert_eq(err, 0);
	p = decode(out, len);
	cr_assert_eq(p->period, 524288);
	/* the values are the report's, already scaled */
	cr_assert_eq(p->sample[0]->value[1], 4096);
	perftools__profiles__profile__free_unpacked(p, NULL);
	/* no time in the gzip header: the same report, the same bytes */
	again = capture(report_write_pprof, &r, &len2, &err);
	cr_assert_eq(len, len2);
	cr_assert_eq(memcmp(out, again, len), 0);
	free(again);
	free(out);
}

Test(formats, pprof_refuses_a_bad_model)
{
	struct report_process p = { .pid = 1, .nmappings = 3, .mappings = NULL };
	struct report r = { .nprocs = 1, .procs = &p };
	size_t len;
	int err;
	char *out = capture(report_write_pprof, &r, &len, &err);

	cr_assert_eq(err, -EINVAL);
	cr_assert_eq(len, 0);
	free(out);
}

/* ---------------------------------------------------------------------- */
/* html                                                                   */

Test(formats, html_carries_the_json_report)
{
	struct report_frame evil = { .address = 0x401300,
				     .function = "</script><script>alert(1)</script><!--",
				     .module = "/usr/bin/app" };
	struct report_stack st[] = { stacks[0], { .bytes = 1, .allocs = 1, .kind = "heap",
						   .nframes = 1, .frames = &evil } };
	struct report_process p = procs[0];
	struct report r = model;
	struct json_object *want, *got;
	size_t len;
	int err;
	char *out, *start, *end;

	p.stacks = st;
	p.nstacks = p.stacks_total = 2;
	r.procs = &p;
	out = capture(report_write_html, &r, &len, &err);
	cr_assert_eq(err, 0);
	cr_assert(!strncmp(out, "<!DOCTYPE html>", 15));
	cr_assert(strstr(out, "</html>\n"));
	/* self-contained: the libraries are in the page, nothing is loaded */
	cr_assert(strstr(out, "d3js.org v7"), "d3 is not inlined");
	cr_assert(strstr(out, "d3-flame-graph"), "d3-flame-graph is not inlined");
	cr_assert_null(strstr(out, "<script src"));
	cr_assert_null(strstr(out, "<link"));
	start = strstr(out, "<script type=\"application/json\" id=\"lw-report\">");
	cr_assert_not_null(start);
	start = strchr(start, '>') + 1;
	end = strstr(start, "</script>");
	cr_assert_not_null(end);
	*end = '\0';
	/* the hostile name cannot close the element or open a comment */
	cr_assert_null(strchr(start, '<'));
	got = json_tokener_parse(start);
	cr_assert_not_null(got, "the page's report is not JSON");
	want = report_json(&r, &opts);
	cr_assert_not_null(want);
	cr_assert(json_object_equal(got, want), "the page's report differs from -f json's");
	json_object_put(got);
	json_object_put(want);
	free(out);
}

/* ---------------------------------------------------------------------- */
/* diff                                                                   */

/* A JSON report with one process, its "kinds" and stacks given as JSON
 * text (kinds "": none). */
static struct json_object *json_report_kinds(const char *comm, int pid, const char *kinds,
					     const char *stacks)
{
	char *text;
	struct json_object *j;

	cr_assert(asprintf(&text,
			   "{\"version\": 1, \"timestamp\": \"2024-05-01T12:00:00Z\", \"final\": true,"
			   " \"processes\": [{\"pid\": %d, \"comm\": \"%s\","
			   " \"outstanding_bytes\": 0, \"outstanding_allocs\": 0, %s%s%s"
			   " \"stacks\": [%s]}]}", pid, comm, *kinds ? "\"kinds\": {" : "", kinds,
			   *kinds ? "}," : "", stacks) > 0);
	j = json_tokener_parse(text);
	cr_assert_not_null(j, "%s", text);
	free(text);
	return j;
}

static struct json_object *json_report_text(const char *comm, int pid, const char *stacks)
{
	return json_report_kinds(comm, pid, "", stacks);
}

#define FRAME(fn, line, addr)                                                              \
	"{\"address\": \"" addr "\", \"function\": \"" fn "\", \"offset\": 1, \"file\": "    \
	"\"/src/t.c\", \"line\": " #line ", \"module\": \"/bin/t\", \"inlined\": false}"
#define ANON(addr)                                                                         \
	"{\"address\": \"" addr "\", \"function\": null, \"offset\": 0, \"file\": null, "     \
	"\"line\": 0, \"module\": \"/lib/ld.so\", \"inlined\": false}"
#define STACK(bytes, allocs, kind, frames)                                                 \
	"{\"bytes\": " #bytes ", \"allocs\": " #allocs ", \"kind\": \"" kind "\", "         \
	"\"oldest_age_ms\": 5, \"frames\": [" frames "]}"

static char *run_diff(struct json_object *jold, struct json_object *jnew, enum report_format fmt,
		      size_t top)
{
	struct diff_opts o = { .format = fmt, .top = top, .old_name = "old.json",
			       .new_name = "new.json" };
	struct report old, new;
	const char *why;
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	cr_assert_eq(diff_report_from_json(jold, &old, &why), 0, "%s", why);
	cr_assert_eq(diff_report_from_json(jnew, &new, &why), 0, "%s", why);
	cr_assert_eq(diff_write(f, &old, &new, &o), 0);
	fclose(f);
	report_release(&old);
	report_release(&new);
	return out;
}

Test(diff, matched_by_frames_across_runs)
{
	/* other pids, other addresses (ASLR): the same stacks */
	struct json_object *jold = json_report_text("t", 100,
		STACK(1000, 1, "heap", FRAME("grow", 10, "0x1000") "," FRAME("main", 20, "0x2000"))
		"," STACK(512, 2, "heap", FRAME("gone", 30, "0x3000"))
		"," STACK(64, 1, "loader", ANON("0x7f01"))
		"," STACK(8, 1, "heap", FRAME("steady", 40, "0x4000")));
	struct json_object *jnew = json_report_text("t", 200,
		STACK(5000, 5, "heap", FRAME("grow", 10, "0x9000") "," FRAME("main", 20, "0xa000"))
		"," STACK(300, 3, "heap", FRAME("fresh", 50, "0xb000"))
		"," STACK(64, 1, "loader", ANON("0x7f99"))
		"," STACK(8, 1, "heap", FRAME("steady", 40, "0xc000"))
		/* another line of grow: another stack */
		"," STACK(16, 1, "heap", FRAME("grow", 11, "0x9010") "," FRAME("main", 20, "0xa000")));
	char *out = run_diff(jold, jnew, REPORT_TEXT, 0);

	cr_assert_str_eq(out,
		"leakwatch diff: old.json (2024-05-01T12:00:00Z) -> new.json (2024-05-01T12:00:00Z)\n"
		"outstanding: 0 B in 0 blocks -> 0 B in 0 blocks: 0 B, +0 blocks\n"
		"  #1  +3.9 KiB (+4000 B), +4 blocks  grown: 1000 B in 1 -> 4.9 KiB in 5  [heap] t\n"
		"      grow+0x1 (t.c:10) [t]\n"
		"      main+0x1 (t.c:20) [t]\n"
		"  #2  +300 B, +3 blocks  new  [heap] t\n"
		"      fresh+0x1 (t.c:50) [t]\n"
		"  #3  +16 B, +1 block  new  [heap] t\n"
		"      grow+0x1 (t.c:11) [t]\n"
		"      main+0x1 (t.c:20) [t]\n"
		"  #4  0 B, +0 blocks  same: 64 B in 1 -> 64 B in 1  [loader] t\n"
		"      0x7f99 [ld.so]\n"
		"  #5  0 B, +0 blocks  same: 8 B in 1 -> 8 B in 1  [heap] t\n"
		"      steady+0x1 (t.c:40) [t]\n"
		"  #6  -512 B, -2 blocks  vanished  [heap] t\n"
		"      gone+0x1 (t.c:30) [t]\n");
	free(out);

	out = run_diff(jold, jnew, REPORT_JSON, 1);
	struct json_object *j = json_tokener_parse(out), *s0, *v;

	cr_assert_not_null(j, "%s", out);
	cr_assert(json_object_object_get_ex(j, "stacks_total", &v));
	cr_assert_eq(json_object_get_int(v), 6);
	cr_assert(json_object_object_get_ex(j, "stacks", &v));
	cr_assert_eq(json_object_array_length(v), 1);
	s0 = json_object_array_get_idx(v, 0);
	cr_assert(json_object_object_get_ex(s0, "status", &v));
	cr_assert_str_eq(json_object_get_string(v), "grown");
	cr_assert(json_object_object_get_ex(s0, "bytes_delta", &v));
	cr_assert_eq(json_object_get_int64(v), 4000);
	cr_assert(json_object_object_get_ex(s0, "allocs_delta", &v));
	cr_assert_eq(json_object_get_int64(v), 4);
	cr_assert(json_object_object_get_ex(s0, "old", &v));
	cr_assert(json_object_object_get_ex(v, "bytes", &v));
	cr_assert_eq(json_object_get_int64(v), 1000);
	cr_assert(json_object_object_get_ex(s0, "new", &v));
	cr_assert(json_object_object_get_ex(v, "allocs", &v));
	cr_assert_eq(json_object_get_int64(v), 5);
	json_object_put(j);
	free(out);
	json_object_put(jold);
	json_object_put(jnew);
}

/* An arena malloc grew while the program leaked: the leak is #1 with -T 1,
 * whatever the sizes, as in the report itself. */
Test(diff, leaks_before_what_is_not_a_leak)
{
#define KINDS "\"heap\": {\"bytes\": 1, \"allocs\": 1, \"leak\": true}, " \
	      "\"allocator\": {\"bytes\": 1, \"allocs\": 1, \"leak\": false}"
	struct json_object *jold = json_report_kinds("t", 100, KINDS,
		STACK(768, 3, "heap", FRAME("fill_slot", 39, "0x1000")));
	struct json_object *jnew = json_report_kinds("t", 200, KINDS,
		STACK(135168, 1, "allocator", FRAME("_int_malloc", 7, "0x7000"))
		"," STACK(2560, 10, "heap", FRAME("fill_slot", 39, "0x1000")));
#undef KINDS
	char *out = run_diff(jold, jnew, REPORT_TEXT, 0);
	struct json_object *j, *v;

	cr_assert_str_eq(out,
		"leakwatch diff: old.json (2024-05-01T12:00:00Z) -> new.json (2024-05-01T12:00:00Z)\n"
		"outstanding: 0 B in 0 blocks -> 0 B in 0 blocks: 0 B, +0 blocks\n"
		"  #1  +1.8 KiB (+1792 B), +7 blocks  grown: 768 B in 3 -> 2.5 KiB in 10  [heap] t\n"
		"      fill_slot+0x1 (t.c:39) [t]\n"
		"  not leaks (the allocator's own memory, thread stacks, libraries):\n"
		"  #2  +132.0 KiB (+135168 B), +1 block  new  [allocator] t\n"
		"      _int_malloc+0x1 (t.c:7) [t]\n");
	free(out);

	out = run_diff(jold, jnew, REPORT_JSON, 0);
	j = json_tokener_parse(out);
	cr_assert_not_null(j, "%s", out);
	cr_assert(json_object_object_get_ex(j, "stacks", &v));
	cr_assert_eq(json_object_array_length(v), 2);
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(v, 0), "leak", &v));
	cr_assert(json_object_get_boolean(v));
	cr_assert(json_object_object_get_ex(j, "stacks", &v));
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(v, 1), "leak", &v));
	cr_assert_not(json_object_get_boolean(v));
	json_object_put(j);
	free(out);
	json_object_put(jold);
	json_object_put(jnew);
}

Test(diff, refuses_what_is_not_a_report)
{
	static const char *const bad[] = {
		"[]",
		"{\"processes\": []}",
		"{\"version\": 2, \"processes\": []}",
		"{\"version\": 1}",
		"{\"version\": 1, \"processes\": [{\"pid\": 1}]}",
		"{\"version\": 1, \"processes\": [{\"pid\": 1, \"outstanding_bytes\": 1,"
		" \"outstanding_allocs\": 1, \"stacks\": [{\"bytes\": 1, \"allocs\": 1,"
		" \"frames\": [{\"address\": 12}]}]}]}",
		"{\"version\": 1, \"processes\": [{\"pid\": 1, \"outstanding_bytes\": \"x\","
		" \"outstanding_allocs\": 1, \"stacks\": []}]}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json_object *j = json_tokener_parse(bad[i]);
		struct report r;
		const char *why = NULL;

		cr_assert_not_null(j);
		cr_expect_eq(diff_report_from_json(j, &r, &why), -EINVAL, "accepted %s", bad[i]);
		cr_expect_not_null(why, "no reason for %s", bad[i]);
		json_object_put(j);
	}
}

Test(diff, keys_cannot_be_forged)
{
	/* one name holding what looks like two fields is still one name */
	struct report_frame a[] = { { .address = 1, .function = "x1:y" } };
	struct report_frame b[] = { { .address = 1, .function = "x", .file = "y" } };
	struct report_stack sa = { .kind = "heap", .nframes = 1, .frames = a };
	struct report_stack sb = { .kind = "heap", .nframes = 1, .frames = b };
	struct report_process p = { .pid = 1, .comm = "c" };
	char *ka = diff_stack_key(&p, &sa, false), *kb = diff_stack_key(&p, &sb, false);

	cr_assert_str_neq(ka, kb);
	free(ka);
	free(kb);
}

Test(diff, growth_since_the_last_report)
{
	struct report_frame f1[] = { { .address = 0x10, .function = "grow", .offset = 1,
				       .file = "a.c", .line = 1, .module = "/bin/a" } };
	struct report_frame f2[] = { { .address = 0x20, .function = "other", .offset = 1,
				       .file = "a.c", .line = 2, .module = "/bin/a" } };
	struct report_stack s[] = {
		{ .bytes = 100, .allocs = 1, .kind = "heap", .nframes = 1, .frames = f1 },
		{ .bytes = 50, .allocs = 5, .kind = "heap", .nframes = 1, .frames = f2 },
	};
	struct report_process p = { .pid = 7, .comm = "a", .nstacks = 1, .stacks = s };
	struct report r = { .nprocs = 1, .procs = &p };
	struct growth *g = growth__new();

	cr_assert_not_null(g);
	/* the first report: everything is new */
	cr_assert_eq(growth__update(g, &r), 0);
	cr_assert_not_null(p.growth);
	cr_assert_eq(p.growth[0].bytes_delta, 100);
	cr_assert_eq(p.growth[0].allocs_delta, 1);
	/* grown, and a new stack */
	s[0].bytes = 300;
	s[0].allocs = 3;
	p.nstacks = 2;
	cr_assert_eq(growth__update(g, &r), 0);
	cr_assert_eq(p.growth[0].bytes_delta, 200);
	cr_assert_eq(p.growth[0].allocs_delta, 2);
	cr_assert_eq(p.growth[1].bytes_delta, 50);
	cr_assert_eq(p.growth[1].allocs_delta, 5);
	/* shrunk */
	s[0].bytes = 100;
	s[0].allocs = 1;
	cr_assert_eq(growth__update(g, &r), 0);
	cr_assert_eq(p.growth[0].bytes_delta, -200);
	cr_assert_eq(p.growth[0].allocs_delta, -2);
	cr_assert_eq(p.growth[1].bytes_delta, 0);
	/* another pid with the same stack is another stack */
	p.pid = 8;
	cr_assert_eq(growth__update(g, &r), 0);
	cr_assert_eq(p.growth[0].bytes_delta, 100);
	free(p.growth);
	growth__free(g);
}

Test(diff, growth_shows_in_text_and_json)
{
	struct report_frame f1[] = { { .address = 0x10, .function = "grow", .offset = 1,
				       .file = "a.c", .line = 1, .module = "/bin/a" } };
	struct report_stack s = { .bytes = 3000, .allocs = 3, .kind = "heap", .nframes = 1,
				  .frames = f1 };
	struct report_growth gr = { .bytes_delta = 2000, .allocs_delta = 2 };
	struct report_process p = { .pid = 7, .comm = "a", .outstanding_bytes = 3000,
				    .outstanding_allocs = 3, .stacks_total = 1, .nstacks = 1,
				    .stacks = &s, .growth = &gr };
	struct report r = { .nprocs = 1, .procs = &p };
	struct report_opts text = { .format = REPORT_TEXT };
	struct json_object *j;
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	cr_assert_eq(report_write_text(f, &r, &text), 0);
	fclose(f);
	cr_assert(strstr(out, "  #1  2.9 KiB (3000 B) in 3 blocks, oldest 0 ms  [heap]  "
			      "(+2.0 KiB (+2000 B), +2 blocks since the last report)\n"), "%s", out);
	free(out);
	j = report_json(&r, &text);
	cr_assert(strstr(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
			 "\"bytes_delta\":2000,\"allocs_delta\":2"),
		  "%s", json_object_to_json_string(j));
	json_object_put(j);
}

Test(diff, truncate_keeps_the_first)
{
	struct report_stack *st = calloc(3, sizeof(*st));
	struct report_process *p = calloc(1, sizeof(*p));
	struct report r = { .nprocs = 1, .procs = p };
	size_t i;

	cr_assert(st && p);
	for (i = 0; i < 3; i++) {
		st[i].bytes = 3 - i;
		st[i].nframes = 1;
		st[i].frames = calloc(1, sizeof(*st[i].frames));
	}
	p->stacks = st;
	p->nstacks = p->stacks_total = 3;
	report_truncate(&r, 1);
	cr_assert_eq(p->nstacks, 1);
	cr_assert_eq(p->stacks_total, 3);
	cr_assert_eq(p->stacks[0].bytes, 3);
	report_truncate(&r, 0);
	cr_assert_eq(p->nstacks, 1);
	report_release(&r);	/* frees the rest: ASan's leak check would tell */
}
