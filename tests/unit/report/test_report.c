// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Golden tests of the report writers: a hand-built model, written as text
 * and as JSON, compared byte for byte; the JSON is also parsed back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "jsonout.h"
#include "report.h"

/* 2^53 + 1: the first integer a double cannot hold */
#define BIG 9007199254740993ULL

/* quote, backslash, slash, newline, non-ASCII UTF-8 */
#define NASTY_CMDLINE "/opt/srv --motd \"h\xc3\xa9llo\\w\xc3\xb6rld\"\n--next"

#define CONTAINER_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define CXX_NAME "std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>" \
	"(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)"

static struct report_frame a1_frames[] = {
	{ 0x55d0c0de1a1a, "leak_malloc", 0x1a, "/src/leaky/leaky.c", 42, "/usr/bin/leaky", false,
	  NULL, 0, false },
	/* inlined into main: same address, no offset of its own */
	{ 0x55d0c0de1b40, "fill_buffer", 0, "/src/leaky/util.h", 7, "/usr/bin/leaky", true,
	  NULL, 0, false },
	{ 0x55d0c0de1b40, "main", 0x33, "/src/leaky/leaky.c", 80, "/usr/bin/leaky", false,
	  NULL, 0, false },
	/* no line info */
	{ 0x7f3a12c29d90, "__libc_start_call_main", 0x80, NULL, 0,
	  "/usr/lib/x86_64-linux-gnu/libc.so.6", false, NULL, 0, false },
	/* nothing known */
	{ 0x55d0c0de1025, NULL, 0, NULL, 0, NULL, false, NULL, 0, false },
};

static struct report_frame a2_frames[] = {
	{ 0x55d0c0de2c4c, CXX_NAME, 0x4c, "/usr/include/c++/12/bits/vector.tcc", 439,
	  "/usr/bin/leaky", false, NULL, 0, false },
	/* file known, line unknown */
	{ 0x55d0c0de2d21, "Cache<std::string>::insert(std::string const&)", 0x21,
	  "/src/leaky/cache.hpp", 0, "/usr/bin/leaky", false, NULL, 0, false },
};

/* module known, function unknown: its place in the module, its build ID */
static struct report_frame a3_frames[] = {
	{ 0x7f3a12e01234, NULL, 0, NULL, 0, "/usr/lib/x86_64-linux-gnu/libfoo.so.1", false,
	  "5d41402abc4b2a76b9719d911017c592", 0x1234, true },
};

static struct report_frame b1_frames[] = {
	{ 0x4011d6, "grow_forever", 0x16, "/opt/src/srv.c", 1234, "/opt/srv", false,
	  NULL, 0, false },
};

static struct report_stack a_stacks[] = {
	{ .bytes = 1048576, .allocs = 256, .kind = "heap", .oldest_age_ms = 2345,
	  .nframes = 5, .frames = a1_frames },
	{ .bytes = 40960, .allocs = 10, .kind = "heap", .oldest_age_ms = 250,
	  .nframes = 2, .frames = a2_frames },
	/* the walk ended in an address that is no code */
	{ .bytes = 812, .allocs = 1, .kind = "heap", .oldest_age_ms = 300000,
	  .nframes = 1, .frames = a3_frames, .truncated = true },
};

static struct report_stack b_stacks[] = {
	{ .bytes = BIG, .allocs = 1, .kind = "heap", .oldest_age_ms = 7200001,
	  .nframes = 1, .frames = b1_frames },
	/* stack not captured */
	{ .bytes = 4096, .allocs = 4, .kind = "heap", .oldest_age_ms = 999,
	  .nframes = 0, .frames = NULL },
};

static struct report_process procs[] = {
	{
		.pid = 1234, .comm = "leaky", .cmdline = NULL,
		.exited = true, .exit_code = 3,
		.outstanding_bytes = 1048576 + 40960 + 812, .outstanding_allocs = 267,
		.unknown_frees = 0, .stacks_total = 3, .nstacks = 3, .stacks = a_stacks,
	},
	{
		/* the caller cut two stacks (2 KiB, 2 blocks) off the model */
		.pid = 5678, .comm = "srv", .cmdline = NASTY_CMDLINE,
		.namespace = "shop", .pod = "web-0", .container = "app\x1b[2J",
		.container_id = CONTAINER_ID,
		.exited = false, .exit_code = 0,
		.outstanding_bytes = BIG + 4096 + 2048, .outstanding_allocs = 7,
		.unknown_frees = 3, .stacks_total = 4, .nstacks = 2, .stacks = b_stacks,
	},
};

static struct report_counter drops[] = {
	{ "ringbuf_alloc", 0, "allocations not recorded: ring buffer full" },
	{ "ringbuf_free", 5, "frees not recorded: their blocks become false leaks" },
	{ "stack", 12, "user stacks not captured" },
	{ "thread_state", 0, "calls untracked: no per-thread state" },
};

static const struct report model = {
	.final = true,
	.timestamp = "2024-05-01T12:00:00Z",
	.duration_s = 12.5,
	.lost_events = 7,
	.mapping_hooks = "fentry",
	.ndrops = 4,
	.drops = drops,
	.nprocs = 2,
	.procs = procs,
};

static const char golden_text[] =
"leakwatch report at 2024-05-01T12:00:00Z after 12.5 s of tracing\n"
"\n"
"PID 1234 (leaky) exited with 3: 1.0 MiB (1090348 B) outstanding in 267 blocks from 3 stacks\n"
"  #1  1.0 MiB (1048576 B) in 256 blocks, oldest 2.3 s  [heap]\n"
"      leak_malloc+0x1a (leaky.c:42) [leaky]\n"
"      fill_buffer (util.h:7) [leaky] [inlined]\n"
"      main+0x33 (leaky.c:80) [leaky]\n"
"      __libc_start_call_main+0x80 [libc.so.6]\n"
"      0x55d0c0de1025\n"
"  #2  40.0 KiB (40960 B) in 10 blocks, oldest 250 ms  [heap]\n"
"      " CXX_NAME "+0x4c (vector.tcc:439) [leaky]\n"
"      Cache<std::string>::insert(std::string const&)+0x21 (cache.hpp) [leaky]\n"
"  #3  812 B in 1 block, oldest 5.0 min  [heap]\n"
"      libfoo.so.1+0x1234 [libfoo.so.1, build ID 5d41402abc4b2a76b9719d911017c592]\n"
"      \xe2\x80\xa6 (stack cut here: its outer callers are not known)\n"
"\n"
"PID 5678 (srv) running: 8.0 PiB (9007199254747137 B) outstanding in 7 blocks from 4 stacks\n"
"  cmdline: /opt/srv --motd \"h\xc3\xa9llo\\\\w\xc3\xb6rld\"\\n--next\n"
"  container: app\\x1b[2J, pod shop/web-0, id 0123456789ab\n"
"  3 frees of blocks not seen allocated (allocated before tracing began or inside the allocator)\n"
"  #1  8.0 PiB (9007199254740993 B) in 1 block, oldest 2.0 h  [heap]\n"
"      grow_forever+0x16 (srv.c:1234) [srv]\n"
"  #2  4.0 KiB (4096 B) in 4 blocks, oldest 999 ms  [heap]\n"
"      (no stack trace)\n"
"  \xe2\x80\xa6 and 2 more stacks: 2.0 KiB (2048 B)\n"
"\n"
"WARNING: 7 events lost, 17 drops: totals may be incomplete (a lost free shows as a leak)\n"
"drops:\n"
"  ringbuf_free   5  frees not recorded: their blocks become false leaks\n"
"  stack         12  user stacks not captured\n"
"\n"
"leakwatch: 2 processes, 8.0 PiB (9007199255837485 B) outstanding in 274 blocks; "
"7 events lost, 17 drops\n";

static const char golden_json[] =
"{\n"
"  \"version\": 1,\n"
"  \"timestamp\": \"2024-05-01T12:00:00Z\",\n"
"  \"final\": true,\n"
"  \"duration_s\": 12.500,\n"
"  \"lost_events\": 7,\n"
"  \"mapping_hooks\": \"fentry\",\n"
"  \"drops\": {\n"
"    \"ringbuf_alloc\": 0,\n"
"    \"ringbuf_free\": 5,\n"
"    \"stack\": 12,\n"
"    \"thread_state\": 0\n"
"  },\n"
"  \"processes\": [\n"
"    {\n"
"      \"pid\": 1234,\n"
"      \"comm\": \"leaky\",\n"
"      \"cmdline\": null,\n"
"      \"namespace\": null,\n"
"      \"pod\": null,\n"
"      \"container\": null,\n"
"      \"container_id\": null,\n"
"      \"exited\": true,\n"
"      \"exit_code\": 3,\n"
"      \"outstanding_bytes\": 1090348,\n"
"      \"outstanding_allocs\": 267,\n"
"      \"unknown_frees\": 0,\n"
"      \"thread_cache_frees\": 0,\n"
"      \"stacks_total\": 3,\n"
"      \"stacks\": [\n"
"        {\n"
"          \"bytes\": 1048576,\n"
"          \"allocs\": 256,\n"
"          \"kind\": \"heap\",\n"
"          \"oldest_age_ms\": 2345,\n"
"          \"frames\": [\n"
"            {\n"
"              \"address\": \"0x55d0c0de1a1a\",\n"
"              \"function\": \"leak_malloc\",\n"
"              \"offset\": 26,\n"
"              \"file\": \"/src/leaky/leaky.c\",\n"
"              \"line\": 42,\n"
"              \"module\": \"/usr/bin/leaky\",\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": false\n"
"            },\n"
"            {\n"
"              \"address\": \"0x55d0c0de1b40\",\n"
"              \"function\": \"fill_buffer\",\n"
"              \"offset\": 0,\n"
"              \"file\": \"/src/leaky/util.h\",\n"
"              \"line\": 7,\n"
"              \"module\": \"/usr/bin/leaky\",\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": true\n"
"            },\n"
"            {\n"
"              \"address\": \"0x55d0c0de1b40\",\n"
"              \"function\": \"main\",\n"
"              \"offset\": 51,\n"
"              \"file\": \"/src/leaky/leaky.c\",\n"
"              \"line\": 80,\n"
"              \"module\": \"/usr/bin/leaky\",\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": false\n"
"            },\n"
"            {\n"
"              \"address\": \"0x7f3a12c29d90\",\n"
"              \"function\": \"__libc_start_call_main\",\n"
"              \"offset\": 128,\n"
"              \"file\": null,\n"
"              \"line\": 0,\n"
"              \"module\": \"/usr/lib/x86_64-linux-gnu/libc.so.6\",\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": false\n"
"            },\n"
"            {\n"
"              \"address\": \"0x55d0c0de1025\",\n"
"              \"function\": null,\n"
"              \"offset\": 0,\n"
"              \"file\": null,\n"
"              \"line\": 0,\n"
"              \"module\": null,\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": false\n"
"            }\n"
"          ]\n"
"        },\n"
"        {\n"
"          \"bytes\": 40960,\n"
"          \"allocs\": 10,\n"
"          \"kind\": \"heap\",\n"
"          \"oldest_age_ms\": 250,\n"
"          \"frames\": [\n"
"            {\n"
"              \"address\": \"0x55d0c0de2c4c\",\n"
"              \"function\": \"" CXX_NAME "\",\n"
"              \"offset\": 76,\n"
"              \"file\": \"/usr/include/c++/12/bits/vector.tcc\",\n"
"              \"line\": 439,\n"
"              \"module\": \"/usr/bin/leaky\",\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": false\n"
"            },\n"
"            {\n"
"              \"address\": \"0x55d0c0de2d21\",\n"
"              \"function\": \"Cache<std::string>::insert(std::string const&)\",\n"
"              \"offset\": 33,\n"
"              \"file\": \"/src/leaky/cache.hpp\",\n"
"              \"line\": 0,\n"
"              \"module\": \"/usr/bin/leaky\",\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": false\n"
"            }\n"
"          ]\n"
"        },\n"
"        {\n"
"          \"bytes\": 812,\n"
"          \"allocs\": 1,\n"
"          \"kind\": \"heap\",\n"
"          \"oldest_age_ms\": 300000,\n"
"          \"truncated\": true,\n"
"          \"frames\": [\n"
"            {\n"
"              \"address\": \"0x7f3a12e01234\",\n"
"              \"function\": null,\n"
"              \"offset\": 0,\n"
"              \"file\": null,\n"
"              \"line\": 0,\n"
"              \"module\": \"/usr/lib/x86_64-linux-gnu/libfoo.so.1\",\n"
"              \"module_offset\": \"0x1234\",\n"
"              \"build_id\": \"5d41402abc4b2a76b9719d911017c592\",\n"
"              \"inlined\": false\n"
"            }\n"
"          ]\n"
"        }\n"
"      ]\n"
"    },\n"
"    {\n"
"      \"pid\": 5678,\n"
"      \"comm\": \"srv\",\n"
"      \"cmdline\": \"/opt/srv --motd \\\"h\xc3\xa9llo\\\\w\xc3\xb6rld\\\"\\n--next\",\n"
"      \"namespace\": \"shop\",\n"
"      \"pod\": \"web-0\",\n"
"      \"container\": \"app\\u001b[2J\",\n"
"      \"container_id\": \"" CONTAINER_ID "\",\n"
"      \"exited\": false,\n"
"      \"outstanding_bytes\": 9007199254747137,\n"
"      \"outstanding_allocs\": 7,\n"
"      \"unknown_frees\": 3,\n"
"      \"thread_cache_frees\": 0,\n"
"      \"stacks_total\": 4,\n"
"      \"stacks\": [\n"
"        {\n"
"          \"bytes\": 9007199254740993,\n"
"          \"allocs\": 1,\n"
"          \"kind\": \"heap\",\n"
"          \"oldest_age_ms\": 7200001,\n"
"          \"frames\": [\n"
"            {\n"
"              \"address\": \"0x4011d6\",\n"
"              \"function\": \"grow_forever\",\n"
"              \"offset\": 22,\n"
"              \"file\": \"/opt/src/srv.c\",\n"
"              \"line\": 1234,\n"
"              \"module\": \"/opt/srv\",\n"
"              \"module_offset\": null,\n"
"              \"build_id\": null,\n"
"              \"inlined\": false\n"
"            }\n"
"          ]\n"
"        },\n"
"        {\n"
"          \"bytes\": 4096,\n"
"          \"allocs\": 4,\n"
"          \"kind\": \"heap\",\n"
"          \"oldest_age_ms\": 999,\n"
"          \"frames\": [\n"
"          ]\n"
"        }\n"
"      ]\n"
"    }\n"
"  ],\n"
"  \"summary\": {\n"
"    \"processes\": 2,\n"
"    \"outstanding_bytes\": 9007199255837485,\n"
"    \"outstanding_allocs\": 274\n"
"  }\n"
"}\n";

/* Runs a writer into memory; returns its result, *out is the text. */
static int capture(int (*writer)(FILE *, const struct report *, const struct report_opts *),
		   const struct report *r, const struct report_opts *o, char **out)
{
	size_t len = 0;
	FILE *f;
	int err;

	*out = NULL;
	f = open_memstream(out, &len);
	cr_assert_not_null(f, "open_memstream: %s", strerror(errno));
	err = writer(f, r, o);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(strlen(*out), len, "output contains a NUL");
	return err;
}

/* Like cr_assert_str_eq, and on a mismatch also points at the first
 * differing line: the goldens are long. */
static void assert_golden(const char *got, const char *want)
{
	size_t i = 0, line = 1;

	if (!strcmp(got, want))
		return;
	while (got[i] && got[i] == want[i]) {
		if (got[i] == '\n')
			line++;
		i++;
	}
	cr_assert_fail("output differs at line %zu, byte %zu\n--- got:\n%s\n--- want:\n%s",
		       line, i, got, want);
}

static const struct report_opts text_all = { .format = REPORT_TEXT };
static const struct report_opts json_opts = { .format = REPORT_JSON };

Test(report, text_golden)
{
	char *out;

	cr_assert_eq(capture(report_write_text, &model, &text_all, &out), 0);
	assert_golden(out, golden_text);
	free(out);
}

Test(report, json_golden)
{
	char *out;

	cr_assert_eq(capture(report_write_json, &model, &json_opts, &out), 0);
	assert_golden(out, golden_json);
	free(out);
}

Test(report, write_dispatches_on_format)
{
	struct report_opts bad = { .format = (enum report_format)42 };
	char *out;

	cr_assert_eq(capture(report_write, &model, &json_opts, &out), 0);
	assert_golden(out, golden_json);
	free(out);
	cr_assert_eq(capture(report_write, &model, &text_all, &out), 0);
	assert_golden(out, golden_text);
	free(out);
	cr_assert_eq(capture(report_write, &model, &bad, &out), -EINVAL);
	cr_assert_str_eq(out, "");
	free(out);
}

static struct json_object *get(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object *val = NULL;

	cr_assert(json_object_object_get_ex(obj, key, &val), "no key \"%s\"", key);
	cr_assert_eq(json_object_get_type(val), type, "\"%s\" is a %s", key,
		     json_type_to_name(json_object_get_type(val)));
	return val;
}

static uint64_t get_u64(struct json_object *obj, const char *key)
{
	struct json_object *val = get(obj, key, json_type_int);

	errno = 0;
	return json_object_get_uint64(val);
}

static const char *get_str(struct json_object *obj, const char *key)
{
	return json_object_get_string(get(obj, key, json_type_string));
}

Test(report, json_parses_back)
{
	struct json_object *root, *d, *p0, *p1, *st, *fr, *s;
	struct json_object_iterator it, end;
	const char *names[] = { "ringbuf_alloc", "ringbuf_free", "stack", "thread_state" };
	const uint64_t values[] = { 0, 5, 12, 0 };
	size_t i = 0;
	char *out;

	cr_assert_eq(capture(report_write_json, &model, &json_opts, &out), 0);
	root = json_tokener_parse(out);
	cr_assert_not_null(root);

	cr_assert_eq(get_u64(root, "version"), REPORT_JSON_VERSION);
	cr_assert_str_eq(get_str(root, "timestamp"), "2024-05-01T12:00:00Z");
	cr_assert(json_object_get_boolean(get(root, "final", json_type_boolean)));
	cr_assert_eq(json_object_get_double(get(root, "duration_s", json_type_double)), 12.5);
	cr_assert_eq(get_u64(root, "lost_events"), 7);

	/* all counters, zeros included, in model order */
	d = get(root, "drops", json_type_object);
	it = json_object_iter_begin(d);
	end = json_object_iter_end(d);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it), i++) {
		cr_assert_lt(i, 4);
		cr_assert_str_eq(json_object_iter_peek_name(&it), names[i]);
		cr_assert_eq(json_object_get_uint64(json_object_iter_peek_value(&it)), values[i]);
	}
	cr_assert_eq(i, 4);

	p0 = json_object_array_get_idx(get(root, "processes", json_type_array), 0);
	p1 = json_object_array_get_idx(get(root, "processes", json_type_array), 1);
	cr_assert_eq(json_object_array_length(get(root, "processes", json_type_array)), 2);

	cr_assert_eq(json_object_get_int(get(p0, "pid", json_type_int)), 1234);
	cr_assert_str_eq(get_str(p0, "comm"), "leaky");
	get(p0, "cmdline", json_type_null);
	get(p0, "namespace", json_type_null);
	get(p0, "pod", json_type_null);
	get(p0, "container", json_type_null);
	get(p0, "container_id", json_type_null);
	cr_assert(json_object_get_boolean(get(p0, "exited", json_type_boolean)));
	cr_assert_eq(json_object_get_int(get(p0, "exit_code", json_type_int)), 3);
	cr_assert_eq(get_u64(p0, "stacks_total"), 3);

	st = json_object_array_get_idx(get(p0, "stacks", json_type_array), 0);
	cr_assert_eq(json_object_array_length(get(st, "frames", json_type_array)), 5);
	fr = json_object_array_get_idx(get(st, "frames", json_type_array), 1);
	cr_assert_str_eq(get_str(fr, "address"), "0x55d0c0de1b40");
	cr_assert_str_eq(get_str(fr, "function"), "fill_buffer");
	cr_assert(json_object_get_boolean(get(fr, "inlined", json_type_boolean)));
	fr = json_object_array_get_idx(get(st, "frames", json_type_array), 4);
	get(fr, "function", json_type_null);
	get(fr, "file", json_type_null);
	get(fr, "module", json_type_null);
	cr_assert_eq(json_object_get_int(get(fr, "line", json_type_int)), 0);

	st = json_object_array_get_idx(get(p0, "stacks", json_type_array), 1);
	fr = json_object_array_get_idx(get(st, "frames", json_type_array), 0);
	cr_assert_str_eq(get_str(fr, "function"), CXX_NAME);
	cr_assert_eq(get_u64(fr, "offset"), 0x4c);

	/* escaping round-trips to the very bytes of the model */
	cr_assert_str_eq(get_str(p1, "cmdline"), NASTY_CMDLINE);
	cr_assert_str_eq(get_str(p1, "namespace"), "shop");
	cr_assert_str_eq(get_str(p1, "pod"), "web-0");
	cr_assert_str_eq(get_str(p1, "container"), "app\x1b[2J");
	cr_assert_str_eq(get_str(p1, "container_id"), CONTAINER_ID);
	cr_assert_not(json_object_get_boolean(get(p1, "exited", json_type_boolean)));
	cr_assert_not(json_object_object_get_ex(p1, "exit_code", NULL));
	cr_assert_eq(get_u64(p1, "unknown_frees"), 3);

	/* above 2^53: exact, not rounded through a double */
	cr_assert_eq(get_u64(p1, "outstanding_bytes"), BIG + 6144);
	st = json_object_array_get_idx(get(p1, "stacks", json_type_array), 0);
	cr_assert_eq(get_u64(st, "bytes"), BIG);
	cr_assert_eq(get_u64(st, "oldest_age_ms"), 7200001);
	st = json_object_array_get_idx(get(p1, "stacks", json_type_array), 1);
	cr_assert_eq(json_object_array_length(get(st, "frames", json_type_array)), 0);

	s = get(root, "summary", json_type_object);
	cr_assert_eq(get_u64(s, "processes"), 2);
	cr_assert_eq(get_u64(s, "outstanding_bytes"), 1090348 + BIG + 6144);
	cr_assert_eq(get_u64(s, "outstanding_allocs"), 274);

	json_object_put(root);
	free(out);
}

Test(report, uint64_max_in_json)
{
	struct report_frame fr = { UINT64_MAX, "f", UINT64_MAX, NULL, 0, NULL, false, NULL, 0,
				   false };
	struct report_stack st = { .bytes = UINT64_MAX, .allocs = UINT64_MAX, .kind = "heap",
		.oldest_age_ms = UINT64_MAX, .nframes = 1, .frames = &fr };
	struct report_process p = {
		.pid = 1, .comm = "x", .outstanding_bytes = UINT64_MAX,
		.outstanding_allocs = UINT64_MAX, .stacks_total = 1, .nstacks = 1, .stacks = &st,
	};
	struct report r = { .lost_events = UINT64_MAX, .nprocs = 1, .procs = &p };
	struct json_object *root, *ps, *sj, *fj;
	char *out;

	cr_assert_eq(capture(report_write_json, &r, &json_opts, &out), 0);
	cr_assert_not_null(strstr(out, "\"lost_events\": 18446744073709551615,\n"));
	root = json_tokener_parse(out);
	cr_assert_not_null(root);
	cr_assert_eq(get_u64(root, "lost_events"), UINT64_MAX);
	ps = json_object_array_get_idx(get(root, "processes", json_type_array), 0);
	sj = json_object_array_get_idx(get(ps, "stacks", json_type_array), 0);
	fj = json_object_array_get_idx(get(sj, "frames", json_type_array), 0);
	cr_assert_eq(get_u64(sj, "bytes"), UINT64_MAX);
	cr_assert_eq(get_u64(fj, "offset"), UINT64_MAX);
	cr_assert_str_eq(get_str(fj, "address"), "0xffffffffffffffff");
	get(root, "timestamp", json_type_null);
	json_object_put(root);
	free(out);
}

Test(report, text_top_and_max_frames)
{
	const struct report_opts o = { .format = REPORT_TEXT, .top = 1, .max_frames = 2 };
	static const char want[] =
"leakwatch report at 2024-05-01T12:00:00Z after 12.5 s of tracing\n"
"\n"
"PID 1234 (leaky) exited with 3: 1.0 MiB (1090348 B) outstanding in 267 blocks from 3 stacks\n"
"  #1  1.0 MiB (1048576 B) in 256 blocks, oldest 2.3 s  [heap]\n"
"      leak_malloc+0x1a (leaky.c:42) [leaky]\n"
"      fill_buffer (util.h:7) [leaky] [inlined]\n"
"      \xe2\x80\xa6 3 more frames\n"
"  \xe2\x80\xa6 and 2 more stacks: 40.8 KiB (41772 B)\n"
"\n"
"PID 5678 (srv) running: 8.0 PiB (9007199254747137 B) outstanding in 7 blocks from 4 stacks\n"
"  cmdline: /opt/srv --motd \"h\xc3\xa9llo\\\\w\xc3\xb6rld\"\\n--next\n"
"  container: app\\x1b[2J, pod shop/web-0, id 0123456789ab\n"
"  3 frees of blocks not seen allocated (allocated before tracing began or inside the allocator)\n"
"  #1  8.0 PiB (9007199254740993 B) in 1 block, oldest 2.0 h  [heap]\n"
"      grow_forever+0x16 (srv.c:1234) [srv]\n"
"  \xe2\x80\xa6 and 3 more stacks: 6.0 KiB (6144 B)\n"
"\n"
"WARNING: 7 events lost, 17 drops: totals may be incomplete (a lost free shows as a leak)\n"
"drops:\n"
"  ringbuf_free   5  frees not recorded: their blocks become false leaks\n"
"  stack         12  user stacks not captured\n"
"\n"
"leakwatch: 2 processes, 8.0 PiB (9007199255837485 B) outstanding in 274 blocks; "
"7 events lost, 17 drops\n";
	char *out;

	cr_assert_eq(capture(report_write_text, &model, &o, &out), 0);
	assert_golden(out, want);
	free(out);
}

Test(report, text_one_frame_hidden)
{
	const struct report_opts o = { .format = REPORT_TEXT, .top = 3, .max_frames = 4 };
	char *out;

	cr_assert_eq(capture(report_write_text, &model, &o, &out), 0);
	cr_assert_not_null(strstr(out, "      libfoo.so.1+0x1234 [libfoo.so.1, build ID "
				       "5d41402abc4b2a76b9719d911017c592]\n"
				       "      \xe2\x80\xa6 (stack cut here: its outer callers "
				       "are not known)\n"));
	cr_assert_not_null(strstr(out, "      __libc_start_call_main+0x80 [libc.so.6]\n"
				       "      \xe2\x80\xa6 1 more frame\n"
				       "  #2  "));
	/* top >= nstacks shows every stack of the model */
	cr_assert_null(strstr(out, "more stacks: 40.8 KiB"));
	free(out);
}

Test(report, json_ignores_top)
{
	const struct report_opts o = { .format = REPORT_JSON, .top = 1, .max_frames = 1 };
	char *out;

	cr_assert_eq(capture(report_write_json, &model, &o, &out), 0);
	assert_golden(out, golden_json);
	free(out);
}

Test(report, empty_report)
{
	const struct report r = { .final = false, .duration_s = 0.25 };
	char *out;

	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), 0);
	assert_golden(out,
		"leakwatch report after 250 ms of tracing (interim)\n"
		"\n"
		"leakwatch: 0 processes, 0 B outstanding in 0 blocks; 0 events lost\n");
	free(out);

	cr_assert_eq(capture(report_write_json, &r, &json_opts, &out), 0);
	assert_golden(out,
		"{\n"
		"  \"version\": 1,\n"
		"  \"timestamp\": null,\n"
		"  \"final\": false,\n"
		"  \"duration_s\": 0.250,\n"
		"  \"lost_events\": 0,\n"
		"  \"mapping_hooks\": null,\n"
		"  \"drops\": {\n"
		"  },\n"
		"  \"processes\": [\n"
		"  ],\n"
		"  \"summary\": {\n"
		"    \"processes\": 0,\n"
		"    \"outstanding_bytes\": 0,\n"
		"    \"outstanding_allocs\": 0\n"
		"  }\n"
		"}\n");
	free(out);
}

/* No counter is non-zero, yet events were lost: warn, list nothing. */
Test(report, lost_events_only_warns)
{
	struct report_counter zero[] = { { "stack", 0, "user stacks not captured" } };
	struct report_process p = {
		.pid = 42, .comm = NULL, .outstanding_bytes = 100, .outstanding_allocs = 1,
		.stacks_total = 1,
	};
	const struct report r = {
		.final = true, .timestamp = "2024-05-01T12:00:00Z", .duration_s = 200.0,
		.lost_events = 1, .ndrops = 1, .drops = zero, .nprocs = 1, .procs = &p,
	};
	char *out;

	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), 0);
	assert_golden(out,
		"leakwatch report at 2024-05-01T12:00:00Z after 3.3 min of tracing\n"
		"\n"
		"PID 42 running: 100 B outstanding in 1 block from 1 stack\n"
		"  \xe2\x80\xa6 and 1 more stack: 100 B\n"
		"\n"
		"WARNING: 1 event lost, 0 drops: totals may be incomplete "
		"(a lost free shows as a leak)\n"
		"\n"
		"leakwatch: 1 process, 100 B outstanding in 1 block; 1 event lost\n");
	free(out);
}

/* Bytes a traced program controls cannot drive the terminal nor break
 * the JSON document. */
Test(report, hostile_strings)
{
	struct report_frame fr = {
		0x1000, "f\tg\x1b[31m", 0, "/a/b\\c.c", 1, "/lib/m\x7f.so", false, NULL, 0, false,
	};
	struct report_stack st = { .bytes = 10, .allocs = 1, .kind = "heap", .oldest_age_ms = 5,
		.nframes = 1, .frames = &fr };
	struct report_process p = {
		.pid = 7, .comm = "a\x01" "b", .cmdline = "x\xff\xc3(\xed\xa0\x80\xf4\x90\x80\x80z",
		.outstanding_bytes = 10, .outstanding_allocs = 1, .stacks_total = 1,
		.nstacks = 1, .stacks = &st,
	};
	const struct report r = { .final = true, .duration_s = 1.0, .nprocs = 1, .procs = &p };
	struct json_object *root, *pj;
	char *out;

	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), 0);
	assert_golden(out,
		"leakwatch report after 1.0 s of tracing\n"
		"\n"
		"PID 7 (a\\x01b) running: 10 B outstanding in 1 block from 1 stack\n"
		"  cmdline: x\\xff\\xc3(\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80z\n"
		"  #1  10 B in 1 block, oldest 5 ms  [heap]\n"
		"      f\\tg\\x1b[31m+0x0 (b\\\\c.c:1) [m\\x7f.so]\n"
		"\n"
		"leakwatch: 1 process, 10 B outstanding in 1 block; 0 events lost\n");
	free(out);

	cr_assert_eq(capture(report_write_json, &r, &json_opts, &out), 0);
	cr_assert_not_null(strstr(out, "\"comm\": \"a\\u0001b\",\n"));
	/* each ill-formed byte (a surrogate, a code point above U+10FFFF)
	 * becomes U+FFFD */
	cr_assert_not_null(strstr(out, "\"cmdline\": \"x\xef\xbf\xbd\xef\xbf\xbd("
				       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\",\n"));
	cr_assert_not_null(strstr(out, "\"function\": \"f\\tg\\u001b[31m\",\n"));
	cr_assert_not_null(strstr(out, "\"file\": \"/a/b\\\\c.c\",\n"));
	root = json_tokener_parse(out);
	cr_assert_not_null(root);
	pj = json_object_array_get_idx(get(root, "processes", json_type_array), 0);
	cr_assert_str_eq(get_str(pj, "comm"), "a\x01" "b");
	json_object_put(root);
	free(out);
}

Test(report, fmt_bytes)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} cases[] = {
		{ 0, "0 B" },
		{ 1, "1 B" },
		{ 812, "812 B" },
		{ 1023, "1023 B" },
		{ 1024, "1.0 KiB" },
		{ 1075, "1.0 KiB" },		/* 1.0498 */
		{ 1076, "1.1 KiB" },		/* 1.0508: half rounds up */
		{ 1536, "1.5 KiB" },
		{ 40960, "40.0 KiB" },
		{ 1048063, "1023.5 KiB" },	/* 1023.4990 */
		{ 1048064, "1023.5 KiB" },	/* 1023.5 exactly */
		{ 1048524, "1023.9 KiB" },	/* 1023.9492 */
		{ 1048525, "1.0 MiB" },		/* 1023.9502 rounds to 1024.0 */
		{ 1048575, "1.0 MiB" },
		{ 1048576, "1.0 MiB" },
		{ 1572864, "1.5 MiB" },
		{ 1073741824, "1.0 GiB" },
		{ 1ULL << 40, "1.0 TiB" },
		{ (1ULL << 40) - 1, "1.0 TiB" },
		{ 1ULL << 50, "1.0 PiB" },
		{ 1ULL << 60, "1.0 EiB" },
		{ UINT64_MAX, "16.0 EiB" },
	};
	char buf[16];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(report_fmt_bytes(cases[i].bytes, buf, sizeof(buf)), buf);
		cr_assert_str_eq(buf, cases[i].want, "%llu bytes",
				 (unsigned long long)cases[i].bytes);
	}
	/* a short buffer is truncated, never overrun */
	cr_assert_str_eq(report_fmt_bytes(1048576, buf, 4), "1.0");
}

static void assert_no_space(int (*writer)(FILE *, const struct report *,
					  const struct report_opts *),
			    const struct report_opts *o, bool buffered)
{
	FILE *f = fopen("/dev/full", "w");

	cr_assert_not_null(f, "/dev/full: %s", strerror(errno));
	/* unbuffered: the first write fails; buffered: the final flush */
	if (!buffered)
		cr_assert_eq(setvbuf(f, NULL, _IONBF, 0), 0);
	/* named as what it is: "No space left on device", not "I/O error" */
	cr_assert_eq(writer(f, &model, o), -ENOSPC);
	fclose(f);
}

Test(report, write_failure_is_enospc)
{
	assert_no_space(report_write_text, &text_all, false);
	assert_no_space(report_write_text, &text_all, true);
	assert_no_space(report_write_json, &json_opts, false);
	assert_no_space(report_write_json, &json_opts, true);
	assert_no_space(report_write, &json_opts, true);
}

Test(report, invalid_models)
{
	struct report_process no_stacks = { .pid = 1, .nstacks = 1, .stacks = NULL };
	struct report_stack st = { .bytes = 1, .allocs = 1, .kind = "heap", .oldest_age_ms = 0,
		.nframes = 2, .frames = NULL };
	struct report_process no_frames = { .pid = 1, .nstacks = 1, .stacks = &st };
	struct report_counter dup[] = { { "stack", 1, NULL }, { "stack", 2, NULL } };
	struct report_counter unnamed[] = { { NULL, 1, NULL } };
	struct report r = { 0 };
	char *out;

	cr_assert_eq(report_write_text(NULL, &model, &text_all), -EINVAL);
	cr_assert_eq(report_write_json(NULL, &model, &json_opts), -EINVAL);
	cr_assert_eq(capture(report_write_text, NULL, &text_all, &out), -EINVAL);
	free(out);
	cr_assert_eq(capture(report_write_json, &model, NULL, &out), -EINVAL);
	free(out);
	cr_assert_eq(capture(report_write, &model, NULL, &out), -EINVAL);
	free(out);

	/* nothing is written for a model that is refused */
	r.nprocs = 1;
	r.procs = &no_stacks;
	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), -EINVAL);
	cr_assert_str_eq(out, "");
	free(out);
	r.procs = &no_frames;
	cr_assert_eq(capture(report_write_json, &r, &json_opts, &out), -EINVAL);
	cr_assert_str_eq(out, "");
	free(out);

	r.nprocs = 0;
	r.ndrops = 1;
	r.drops = unnamed;
	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), -EINVAL);
	free(out);
	r.ndrops = 2;
	r.drops = dup;
	cr_assert_eq(capture(report_write_json, &r, &json_opts, &out), -EINVAL);
	cr_assert_str_eq(out, "");
	free(out);

	r.ndrops = 0;
	memset(r.timestamp, 'x', sizeof(r.timestamp));
	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), -EINVAL);
	free(out);
}

/* Mapping kinds: totals by kind, the file of a file-backed mapping, and
 * "calls" rather than "blocks" for mappings. */
Test(report, mapping_kinds)
{
	struct report_frame fr = { .address = 0x1000, .function = "map_file" };
	struct report_stack st[] = {
		{ .bytes = 8192, .allocs = 1, .kind = "mmap", .nframes = 1, .frames = &fr,
		  .file = "/data/x.bin" },
		{ .bytes = 65536, .allocs = 2, .kind = "allocator", .nframes = 1, .frames = &fr,
		  .reserved = 1 << 20 },
	};
	struct report_process p = {
		.pid = 7, .comm = "m", .outstanding_bytes = 8292, .outstanding_allocs = 2,
		.stacks_total = 2, .nstacks = 2, .stacks = st, .nkinds = 3,
		.kinds = {
			{ "heap", 100, 1, true },
			{ "mmap", 8192, 1, true },
			{ "allocator", 65536, 2, false, 1 << 20 },
		},
	};
	struct report r = { .final = true, .nprocs = 1, .procs = &p };
	char *out;

	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), 0);
	cr_expect(strstr(out, "  by kind: heap 100 B in 1 block, mmap 8.0 KiB (8192 B) in 1 call\n"),
		  "%s", out);
	cr_expect(strstr(out, "  not leaks: allocator 64.0 KiB (65536 B) in 2 calls"
			      " + 1.0 MiB (1048576 B) reserved\n"), "%s", out);
	cr_expect(strstr(out, "in 1 call, oldest 0 ms  [mmap /data/x.bin]\n"), "%s", out);
	cr_expect(strstr(out, "in 2 calls + 1.0 MiB (1048576 B) reserved, oldest 0 ms  [allocator]\n"),
		  "%s", out);
	free(out);

	cr_assert_eq(capture(report_write_json, &r, &json_opts, &out), 0);
	cr_expect(strstr(out, "\"kinds\": {\n        \"heap\": {\n          \"bytes\": 100,\n"
			      "          \"allocs\": 1,\n          \"leak\": true\n"), "%s", out);
	cr_expect(strstr(out, "\"allocator\": {\n          \"bytes\": 65536,\n"
			      "          \"allocs\": 2,\n          \"leak\": false,\n"
			      "          \"reserved_bytes\": 1048576\n"), "%s", out);
	cr_expect(strstr(out, "\"kind\": \"mmap\",\n          \"reserved_bytes\": 0,\n"
			      "          \"file\": \"/data/x.bin\",\n"), "%s", out);
	cr_expect(strstr(out, "\"kind\": \"allocator\",\n          \"reserved_bytes\": 1048576,\n"),
		  "%s", out);
	free(out);
}

/* A stack deeper than the walk: a line under its frames, and "truncated"
 * in JSON, absent on the others. */
Test(report, truncated_stack)
{
	struct report_frame fr = { .address = 0x1000, .function = "recurse" };
	struct report_stack st[] = {
		{ .bytes = 107, .allocs = 1, .kind = "heap", .nframes = 1, .frames = &fr,
		  .truncated = true },
		{ .bytes = 7, .allocs = 1, .kind = "heap", .nframes = 1, .frames = &fr },
	};
	struct report_process p = {
		.pid = 7, .comm = "r", .outstanding_bytes = 114, .outstanding_allocs = 2,
		.stacks_total = 2, .nstacks = 2, .stacks = st,
	};
	struct report r = { .final = true, .nprocs = 1, .procs = &p };
	struct json_object *root, *ps, *sj;
	char *out;

	cr_assert_eq(capture(report_write_text, &r, &text_all, &out), 0);
	cr_expect(strstr(out, "[heap]\n      recurse+0x0\n"
			      "      \xe2\x80\xa6 (stack cut here: its outer callers are not known)\n"
			      "  #2"), "%s", out);
	cr_expect_eq(strstr(out, "cut") ? strstr(strstr(out, "cut") + 1, "cut") : NULL, NULL,
		     "%s", out);
	free(out);

	cr_assert_eq(capture(report_write_json, &r, &json_opts, &out), 0);
	root = json_tokener_parse(out);
	cr_assert_not_null(root);
	ps = json_object_array_get_idx(get(root, "processes", json_type_array), 0);
	sj = json_object_array_get_idx(get(ps, "stacks", json_type_array), 0);
	cr_assert(json_object_get_boolean(get(sj, "truncated", json_type_boolean)));
	sj = json_object_array_get_idx(get(ps, "stacks", json_type_array), 1);
	cr_assert(!json_object_object_get_ex(sj, "truncated", NULL));
	json_object_put(root);
	free(out);
}

static struct json_object *nth_element(void *ctx, size_t i)
{
	struct json_object *o = json_object_new_object(), *inner = json_object_new_array();

	if (ctx && i == 1) {	/* out of memory on the second */
		json_object_put(o);
		json_object_put(inner);
		return NULL;
	}
	json_object_array_add(inner, json_object_new_int((int)i));
	json_object_object_add(o, "i", json_object_new_int((int)i));
	json_object_object_add(o, "inner", inner);
	return o;
}

/* A document with a streamed array: the same bytes as with the array in
 * the tree, and the tree as it was after a failure. */
Test(jsonout, streamed_array_as_in_the_tree)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	char *whole = NULL, *streamed = NULL;
	size_t len;
	FILE *f;

	json_object_object_add(root, "a", json_object_new_string("x"));
	json_object_object_add(root, "list", arr);
	json_object_object_add(root, "b", json_object_new_int(2));
	f = open_memstream(&streamed, &len);
	cr_assert_eq(json_out_write_streamed(f, root, "list", 3, nth_element, NULL), 0);
	fclose(f);
	cr_assert_eq(json_object_array_length(arr), 0, "the placeholder is gone");
	for (size_t i = 0; i < 3; i++)
		json_object_array_add(arr, nth_element(NULL, i));
	f = open_memstream(&whole, &len);
	cr_assert_eq(json_out_write(f, root), 0);
	fclose(f);
	cr_expect_str_eq(streamed, whole);
	free(streamed);
	free(whole);

	json_object_array_del_idx(arr, 0, 3);
	f = open_memstream(&streamed, &len);
	cr_assert_eq(json_out_write_streamed(f, root, "list", 3, nth_element, "fail"), -ENOMEM);
	fclose(f);
	cr_expect_eq(json_object_array_length(arr), 0);
	free(streamed);
	json_object_put(root);
}
