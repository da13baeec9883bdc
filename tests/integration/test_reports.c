// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report formats, read back by the tools people read them with:
 *  - pprof: `go tool pprof -raw` and `-top` (Debian's golang-go) on profiles
 *    of fixtures whose leaks are known: exact bytes and blocks per function,
 *    Go's heap sample types, an inline frame as a line of its caller's
 *    location, and the period of sampled mode;
 *  - folded: every line parses, and the lines add up to the leaks;
 *  - diff: two reports of a fixture with known growth, from two runs, and
 *    two interim reports of one -i run: exact deltas;
 *  - html: the page in real headless Chromium (tests/browser/check_page.js
 *    drives it through the DevTools protocol): it asks the network for
 *    nothing, its DOM holds the fixture's functions, its screenshot is not
 *    blank, a click zooms and the tooltip tells bytes and blocks.
 * A tool that is missing makes its test unable to run (a failure under
 * CI=true): tools/install-deps.sh installs them.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define GO "/usr/bin/go"
#define CHROMIUM "/usr/bin/chromium"

static void require(const char *path, const char *package)
{
	if (access(path, X_OK))
		lw_cannot_run(lw_fmt("%s is not installed (Debian package %s; "
				     "tools/install-deps.sh installs it)", path, package));
}

/* The first executable of NAME on PATH, or NULL. */
static const char *on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	const char *found = NULL;

	copy = strdup(path ? path : "/usr/bin:/bin");
	cr_assert_not_null(copy);
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		const char *cand = lw_fmt("%s/%s", dir, name);

		if (!access(cand, X_OK))
			found = cand;
	}
	free(copy);
	return found;
}

/* leakwatch -f FORMAT -o NAME [EXTRA...] -- FIXTURE ARG: the output's path. */
static const char *trace_to(const char *format, const char *name, const char *extra,
			    const char *fixture, const char *arg)
{
	const char *out = lw_tmp(name);
	const char *args[12];
	struct lw_proc *lw;
	size_t n = 0;

	args[n++] = "-f";
	args[n++] = format;
	args[n++] = "-o";
	args[n++] = out;
	if (extra) {
		args[n++] = "-s";
		args[n++] = extra;
	}
	args[n++] = "--";
	args[n++] = lw_fixture(fixture);
	if (arg)
		args[n++] = arg;
	args[n] = NULL;
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "leakwatch -f %s exited with %d.\nstderr:\n%s", format,
		     lw->exit_code, lw_tail(&lw->err));
	return out;
}

/* `go tool pprof ARGS... PROFILE`: its stdout. */
static const char *pprof(const char *profile, const char *a1, const char *a2)
{
	const char *argv[] = { GO, "tool", "pprof", a1, a2, profile, NULL };
	const char *env[] = { lw_fmt("HOME=%s", lw_tmp("home")), "PPROF_TMPDIR=/tmp", NULL };
	struct lw_proc *p;

	if (!a2) {
		argv[4] = profile;
		argv[5] = NULL;
	}
	p = lw_spawn(argv, env);
	cr_assert_eq(lw_wait_exit(p), 0, "go tool pprof %s %s failed:\n%s", a1, a2 ? a2 : "",
		     lw_tail(&p->err));
	return p->out.data ? p->out.data : "";
}

/* The -top line of FN: its flat and cum values, in the unit asked for
 * ("768B" is 768, "3" is 3); fails when FN has no line. */
static void top_line(const char *top, const char *fn, int64_t *flat, int64_t *cum)
{
	const char *line = top;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *l = strndup(line, len), *tok[5], *save = NULL, *rest;
		int n;

		/* "      768B 75.00% 75.00%       768B 75.00%  fill_slot (inline)" */
		cr_assert_not_null(l);
		for (n = 0; n < 5; n++) {
			tok[n] = strtok_r(n ? NULL : l, " ", &save);
			if (!tok[n])
				break;
		}
		rest = n == 5 ? save : NULL;
		while (rest && *rest == ' ')
			rest++;
		if (rest && !strcmp(rest, fn) && lw_ends_with(tok[1], "%")) {
			*flat = strtoll(tok[0], NULL, 10);
			*cum = strtoll(tok[3], NULL, 10);
			free(l);
			return;
		}
		free(l);
		line = end ? end + 1 : NULL;
	}
	cr_assert_fail("go tool pprof -top has no line for %s:\n%s", fn, top);
}

/*
 * profiled 3: fill_slot (inlined in grow_cache) 3 x 256 B, keep_names
 * 4 x 64 B.  -top in bytes and in objects, -raw for the sample types,
 * the period, the labels and the inline frame.
 */
LW_TEST(reports, pprof_exact_per_function)
{
	const char *profile, *top, *raw;
	int64_t flat, cum;
	json_object *report, *proc;

	lw_require_bpf();
	require(GO, "golang-go");
	profile = trace_to("pprof", "profiled.pb.gz", NULL, "profiled", "3");

	top = pprof(profile, "-top", "-unit=B");
	cr_assert(strstr(top, "Type: inuse_space\n"), "%s", top);
	cr_assert(strstr(top, "Total samples = 1024B"), "%s", top);
	top_line(top, "fill_slot (inline)", &flat, &cum);
	cr_assert_eq(flat, 768, "%s", top);
	top_line(top, "keep_names", &flat, &cum);
	cr_assert_eq(flat, 256, "%s", top);
	top_line(top, "grow_cache", &flat, &cum);
	cr_assert_eq(flat, 0, "%s", top);
	cr_assert_eq(cum, 768, "%s", top);
	top_line(top, "main", &flat, &cum);
	cr_assert_eq(cum, 1024, "%s", top);

	top = pprof(profile, "-top", "-sample_index=inuse_objects");
	top_line(top, "fill_slot (inline)", &flat, &cum);
	cr_assert_eq(flat, 3, "%s", top);
	top_line(top, "keep_names", &flat, &cum);
	cr_assert_eq(flat, 4, "%s", top);

	raw = pprof(profile, "-raw", NULL);
	cr_assert(strstr(raw, "PeriodType: space bytes\nPeriod: 1\n"), "%s", raw);
	cr_assert(strstr(raw, "inuse_objects/count inuse_space/bytes[dflt]\n"), "%s", raw);
	cr_assert(strstr(raw, "          3        768: "), "%s", raw);
	cr_assert(strstr(raw, "          4        256: "), "%s", raw);
	cr_assert(strstr(raw, "comm:[profiled] kind:[heap]"), "%s", raw);
	/* the inline frame: fill_slot and grow_cache are lines of one location */
	cr_assert(strstr(raw, " fill_slot tests/fixtures/profiled.c:") &&
		  strstr(raw, "s=0\n             grow_cache tests/fixtures/profiled.c:"),
		  "fill_slot is not a line of grow_cache's location:\n%s", raw);
	/* the mapping of the executable, with its build ID */
	cr_assert(strstr(raw, lw_fixture("profiled")), "%s", raw);
	cr_assert(strstr(raw, "[FN][FL][LN][IN]"), "%s", raw);

	/* the same per function as the JSON report of the same program */
	report = lw_trace("profiled.json", NULL, (const char *[]){ "profiled", "3", NULL }, NULL,
			  0, NULL);
	proc = lw_only_process(report, "profiled");
	lw_expect_function(proc, "fill_slot", 768, 3);
	lw_expect_function(proc, "keep_names", 256, 4);
	lw_expect_totals(proc, 1024, 7);
}

/* demo: the README's example; the JSON report's functions, in pprof. */
LW_TEST(reports, pprof_demo_matches_json)
{
	const char *profile, *top;
	int64_t flat, cum;
	json_object *report, *proc;

	lw_require_bpf();
	require(GO, "golang-go");
	profile = trace_to("pprof", "demo.pb.gz", NULL, "demo", NULL);
	top = pprof(profile, "-top", "-unit=B");
	report = lw_trace("demo.json", NULL, (const char *[]){ "demo", NULL }, NULL, 0, NULL);
	proc = lw_only_process(report, "demo");
	/* the JSON's per-function bytes (the README's ground truth) */
	lw_expect_function(proc, "cache_insert", 28800, 360);
	lw_expect_function(proc, "parse_request", 10240, 20);
	cr_assert(strstr(top, "Total samples = 39312B"), "%s", top);
	top_line(top, "cache_insert", &flat, &cum);
	cr_assert_eq(flat, 28800, "%s", top);
	top_line(top, "parse_request", &flat, &cum);
	cr_assert_eq(flat, 10240, "%s", top);
	top_line(top, "handle_request", &flat, &cum);
	cr_assert_eq(cum, 39040, "%s", top);
}

/*
 * -s 64 on demo: every block is at least 64 bytes, so every block is
 * sampled and counted as itself: the period is 64 and the numbers exact.
 */
LW_TEST(reports, pprof_sampled_period)
{
	const char *profile, *raw, *top;
	int64_t flat, cum;

	lw_require_bpf();
	require(GO, "golang-go");
	profile = trace_to("pprof", "sampled.pb.gz", "64", "demo", NULL);
	raw = pprof(profile, "-raw", NULL);
	cr_assert(strstr(raw, "PeriodType: space bytes\nPeriod: 64\n"), "%s", raw);
	top = pprof(profile, "-top", "-unit=B");
	top_line(top, "cache_insert", &flat, &cum);
	cr_assert_eq(flat, 28800, "%s", top);
	top_line(top, "parse_request", &flat, &cum);
	cr_assert_eq(flat, 10240, "%s", top);
}

/* Every line is "frames BYTES"; by leaf, the fixture's leaks; in all,
 * the report's outstanding bytes. */
LW_TEST(reports, folded_sums_to_the_report)
{
	char *text, *line, *save = NULL;
	int64_t total = 0, fill = 0, names = 0;
	size_t lines = 0;
	const char *out;
	FILE *f;
	size_t cap = 0;

	lw_require_bpf();
	out = trace_to("folded", "profiled.folded", NULL, "profiled", "10");
	f = fopen(out, "r");
	cr_assert_not_null(f);
	text = NULL;
	cr_assert(getdelim(&text, &cap, '\0', f) > 0);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' '), *leaf, *end;
		long long bytes;

		cr_assert_not_null(sp, "no count in \"%s\"", line);
		bytes = strtoll(sp + 1, &end, 10);
		cr_assert(*end == '\0' && bytes > 0, "bad count in \"%s\"", line);
		*sp = '\0';
		cr_assert(!strncmp(line, "profiled (", 10), "the root is not the process: %s", line);
		leaf = strrchr(line, ';');
		cr_assert_not_null(leaf, "no frames in \"%s\"", line);
		if (!strcmp(leaf + 1, "fill_slot")) {
			cr_assert(lw_ends_with(line, ";main;grow_cache;fill_slot"), "%s", line);
			fill += bytes;
		} else if (!strcmp(leaf + 1, "keep_names")) {
			names += bytes;
		}
		total += bytes;
		lines++;
	}
	free(text);
	cr_assert_eq(fill, 2560);
	cr_assert_eq(names, 256);
	cr_assert_eq(total, 2816, "the folded lines add up to %" PRId64 " B, the report has 2816",
		     total);
	cr_assert_eq(lines, 2);
}

static json_object *diff_json(const char *old, const char *new)
{
	const char *args[] = { "diff", "-f", "json", old, new, NULL };
	struct lw_proc *lw = lw_leakwatch_run(args, NULL);
	json_object *j;

	cr_assert_eq(lw->exit_code, 0, "leakwatch diff exited with %d:\n%s", lw->exit_code,
		     lw_tail(&lw->err));
	j = json_tokener_parse(lw->out.data ? lw->out.data : "");
	cr_assert_not_null(j, "leakwatch diff -f json wrote no JSON:\n%s", lw_tail(&lw->out));
	return j;
}

/* The diff's entry whose first frame is FN, of kind heap. */
static json_object *change_of(json_object *diff, const char *fn)
{
	json_object *stacks = lw_get(diff, "stacks");

	for (size_t i = 0; i < json_object_array_length(stacks); i++) {
		json_object *s = json_object_array_get_idx(stacks, i);

		if (!strcmp(lw_str(s, "kind"), "heap") && !strcmp(lw_top_function(s), fn))
			return s;
	}
	cr_assert_fail("the diff has no heap stack of %s:\n%s", fn,
		       json_object_to_json_string_ext(diff, JSON_C_TO_STRING_PRETTY));
	return NULL;
}

/* profiled 3, then profiled 10, in two runs: +7 slots, names unchanged. */
LW_TEST(reports, diff_of_two_runs)
{
	const char *old, *new;
	json_object *d, *c;
	const char *text_args[] = { "diff", NULL, NULL, NULL };
	struct lw_proc *lw;

	lw_require_bpf();
	old = trace_to("json", "old.json", NULL, "profiled", "3");
	new = trace_to("json", "new.json", NULL, "profiled", "10");
	d = diff_json(old, new);
	cr_assert_eq(lw_int(d, "bytes_delta"), 1792);
	cr_assert_eq(lw_int(d, "allocs_delta"), 7);
	c = json_object_array_get_idx(lw_get(d, "stacks"), 0);
	cr_assert_str_eq(lw_top_function(c), "fill_slot", "the largest growth comes first:\n%s",
			 json_object_to_json_string_ext(d, JSON_C_TO_STRING_PRETTY));
	cr_assert_str_eq(lw_str(c, "status"), "grown");
	cr_assert_eq(lw_int(c, "bytes_delta"), 1792);
	cr_assert_eq(lw_int(c, "allocs_delta"), 7);
	cr_assert_eq(lw_int(lw_get(c, "old"), "bytes"), 768);
	cr_assert_eq(lw_int(lw_get(c, "new"), "bytes"), 2560);
	cr_assert_eq(lw_int(lw_get(c, "new"), "allocs"), 10);
	c = change_of(d, "keep_names");
	cr_assert_str_eq(lw_str(c, "status"), "same");
	cr_assert_eq(lw_int(c, "bytes_delta"), 0);
	cr_assert_eq(lw_int(lw_get(c, "new"), "bytes"), 256);

	/* the other way round: the slots shrink */
	d = diff_json(new, old);
	c = change_of(d, "fill_slot");
	cr_assert_str_eq(lw_str(c, "status"), "shrunk");
	cr_assert_eq(lw_int(c, "bytes_delta"), -1792);

	/* and as text */
	text_args[1] = old;
	text_args[2] = new;
	lw = lw_leakwatch_run(text_args, NULL);
	cr_assert_eq(lw->exit_code, 0, "%s", lw_tail(&lw->err));
	cr_assert(strstr(lw->out.data, "  #1  +1.8 KiB (+1792 B), +7 blocks  grown: 768 B in 3 -> "
				       "2.5 KiB in 10  [heap] profiled\n"
				       "      fill_slot (profiled.c:"), "%s", lw_tail(&lw->out));
}

/* Not reports: refused with the reason, exit status 1; bad usage 2. */
LW_TEST(reports, diff_refuses_what_is_not_a_report)
{
	const char *bogus = lw_tmp("bogus.json");
	const char *args[] = { "diff", bogus, bogus, NULL };
	const char *usage[] = { "diff", bogus, NULL };
	struct lw_proc *lw;
	FILE *f = fopen(bogus, "w");

	cr_assert_not_null(f);
	fputs("{\"version\": 1, \"processes\": [{\"pid\": 1}]}\n", f);
	fclose(f);
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 1);
	cr_assert(strstr(lw->err.data, "is not a report leakwatch diff can read: a process "
				       "without pid"), "%s", lw_tail(&lw->err));
	lw = lw_leakwatch_run(usage, NULL);
	cr_assert_eq(lw->exit_code, 2);
}

/*
 * -i: ticker leaks 1000 B every 100 ms; each interim report carries each
 * stack's growth since the report before, and leakwatch diff of two of
 * them gives the same numbers.
 */
LW_TEST(reports, interval_growth_and_diff_of_snapshots)
{
	const char *args[] = { "-i", "0.4", "-f", "json", "-o", lw_tmp("final.json"), "--", NULL,
			       "20", "100", NULL };
	json_object *docs, *prev_doc = NULL;
	int64_t prev_bytes = 0;
	struct lw_proc *lw;
	size_t n, checked = 0;

	lw_require_bpf();
	args[7] = lw_fixture("ticker");
	lw = lw_leakwatch_run(args, NULL);
	cr_assert_eq(lw->exit_code, 0, "%s", lw_tail(&lw->err));
	docs = lw_json_stream(lw->out.data ? lw->out.data : "");
	n = json_object_array_length(docs);
	cr_assert_geq(n, 3, "%zu interim reports:\n%s", n, lw_tail(&lw->out));
	for (size_t i = 0; i < n; i++) {
		json_object *doc = json_object_array_get_idx(docs, i);
		json_object *proc = json_object_array_get_idx(lw_get(doc, "processes"), 0);
		json_object *stacks = lw_get(proc, "stacks"), *st = NULL;
		int64_t bytes = 0;

		/* a report before the first tick (a slow machine) has none */
		for (size_t k = 0; k < json_object_array_length(stacks); k++) {
			json_object *cand = json_object_array_get_idx(stacks, k);

			cr_assert(lw_has(cand, "bytes_delta") && lw_has(cand, "allocs_delta"),
				  "interim report %zu: a stack has no growth", i);
			if (!strcmp(lw_top_function(cand), "tick_leak"))
				st = cand;
		}
		if (st) {
			bytes = lw_int(st, "bytes");
			cr_assert_eq(lw_int(st, "bytes_delta"), bytes - prev_bytes,
				     "report %zu: %" PRId64 " B, %" PRId64 " B before, delta %"
				     PRId64, i, bytes, prev_bytes, lw_int(st, "bytes_delta"));
			cr_assert_eq(lw_int(st, "allocs_delta") * 1000, lw_int(st, "bytes_delta"));
		}
		if (prev_doc && bytes > prev_bytes) {
			/* two snapshots: leakwatch diff must agree */
			const char *a = lw_tmp(lw_fmt("snap%zu.json", i - 1));
			const char *b = lw_tmp(lw_fmt("snap%zu.json", i));
			json_object *d, *c;

			cr_assert_eq(json_object_to_file(a, prev_doc), 0);
			cr_assert_eq(json_object_to_file(b, doc), 0);
			d = diff_json(a, b);
			c = change_of(d, "tick_leak");
			cr_assert_eq(lw_int(c, "bytes_delta"), bytes - prev_bytes);
			cr_assert_eq(lw_int(c, "allocs_delta"), (bytes - prev_bytes) / 1000);
			cr_assert_eq(lw_int(lw_get(c, "old"), "bytes"), prev_bytes);
			cr_assert_eq(lw_int(lw_get(c, "new"), "bytes"), bytes);
			checked++;
		}
		prev_doc = doc;
		prev_bytes = bytes;
	}
	cr_assert_geq(checked, 1, "no two interim reports apart:\n%s", lw_tail(&lw->out));
}

/* The page of demo carries its report, with the libraries inside it. */
LW_TEST(reports, html_page_of_demo)
{
	const char *page, *start, *end;
	char *text = NULL, *json;
	size_t cap = 0;
	json_object *report, *proc;
	FILE *f;

	lw_require_bpf();
	page = trace_to("html", "demo.html", NULL, "demo", NULL);
	f = fopen(page, "r");
	cr_assert_not_null(f);
	cr_assert(getdelim(&text, &cap, '\0', f) > 0);
	fclose(f);
	cr_assert(!strncmp(text, "<!DOCTYPE html>", 15));
	cr_assert(strstr(text, "d3js.org v7") && strstr(text, "d3-flame-graph"),
		  "the libraries are not in the page");
	cr_assert_null(strstr(text, "<script src"), "the page loads a script");
	start = strstr(text, "id=\"lw-report\">");
	cr_assert_not_null(start);
	start += strlen("id=\"lw-report\">");
	end = strstr(start, "</script>");
	cr_assert_not_null(end);
	json = strndup(start, end - start);
	report = json_tokener_parse(json);
	free(json);
	free(text);
	cr_assert_not_null(report, "the page's report is not JSON");
	proc = lw_only_process(report, "demo");
	lw_expect_function(proc, "cache_insert", 28800, 360);
	lw_expect_function(proc, "parse_request", 10240, 20);
	lw_expect_totals(proc, 39312, 381);
	json_object_put(report);
}

/* check_page.js on page (a file or a URL), typing func and clicking click:
 * what it found (JSON).  Fails the test when Chromium or node is missing. */
static json_object *check_page(const char *page, const char *shot, const char *func,
			       const char *click)
{
	const char *node, *script;
	struct lw_proc *p;
	json_object *r;

	require(CHROMIUM, "chromium");
	node = on_path("node");
	if (!node)
		lw_cannot_run("node is not installed (Debian package nodejs)");
	script = lw_fmt("%s/tests/browser/check_page.js", getenv("LW_BUILD_DIR"));
	cr_assert(!access(script, R_OK), "%s is missing: make builds it", script);
	p = lw_spawn((const char *[]){ node, script, page, shot, func, click, NULL },
		     (const char *[]){ "CHROMIUM=" CHROMIUM, NULL });
	cr_assert_eq(lw_wait_exit(p), 0, "check_page.js failed:\n%s", lw_tail(&p->err));
	r = json_tokener_parse(p->out.data ? p->out.data : "");
	cr_assert_not_null(r, "check_page.js wrote no JSON:\n%s", lw_tail(&p->out));
	return r;
}

/*
 * The page of demo in headless Chromium, from a file: nothing fetched, the
 * demo's functions in the DOM, a screenshot that is not blank, a search
 * for cache_insert highlights it, a click on parse_request zooms it to the
 * chart's width, the tooltip of cache_insert gives its bytes and blocks.
 * A suite of its own, "page", which the
 * kernel matrix leaves out: it asks nothing of the kernel that
 * reports/html_page_of_demo does not, and Chromium under qemu's software
 * emulation takes minutes.
 */
LW_TEST(page, demo_in_chromium)
{
	const char *page, *shot;
	json_object *r, *frames, *s, *z;
	const char *table, *tooltip;
	const char *want[] = { "cache_insert", "parse_request", "handle_request", "main",
			       "allocate_dtv", NULL };

	lw_require_bpf();
	page = trace_to("html", "demo.html", NULL, "demo", NULL);
	shot = lw_tmp("demo.png");
	r = check_page(page, shot, "cache_insert", "parse_request");

	/* self-contained: the only request is the page itself */
	cr_assert_eq(json_object_array_length(lw_get(r, "requests")), 1, "%s",
		     json_object_to_json_string(lw_get(r, "requests")));
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(lw_get(r, "requests"), 0)),
			 lw_fmt("file://%s", page));
	cr_assert_eq(json_object_array_length(lw_get(r, "errors")), 0, "script errors: %s",
		     json_object_to_json_string(lw_get(r, "errors")));

	frames = lw_get(r, "frames");
	for (const char *const *fn = want; *fn; fn++) {
		bool found = false;

		for (size_t i = 0; i < json_object_array_length(frames); i++)
			found |= !strcmp(json_object_get_string(json_object_array_get_idx(frames, i)),
					 *fn);
		cr_assert(found, "the flame graph has no frame %s: %s", *fn,
			  json_object_to_json_string(frames));
	}
	table = lw_str(r, "table");
	cr_assert(strstr(table, "16.9 KiB (17280 B)\t180\t") && strstr(table, "10.0 KiB (10240 B)\t20\t")
		  && strstr(table, "cache_insert  demo.c:108"), "the table:\n%s", table);

	s = lw_get(r, "shot");
	cr_assert_eq(lw_int(s, "width"), 1280);
	cr_assert_eq(lw_int(s, "height"), 900);
	cr_assert_geq(lw_int(s, "colours"), 50, "a screenshot of %" PRId64 " colours",
		      lw_int(s, "colours"));
	cr_assert(json_object_get_double(lw_get(s, "not_white")) > 0.05 &&
		  json_object_get_double(lw_get(s, "not_white")) < 0.95, "not_white %f",
		  json_object_get_double(lw_get(s, "not_white")));
	cr_assert(!access(shot, R_OK));

	/* typed "cache_insert": that frame alone is highlighted */
	cr_assert_eq(json_object_array_length(lw_get(r, "search")), 1, "search: %s",
		     json_object_to_json_string(lw_get(r, "search")));
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(lw_get(r, "search"), 0)),
			 "cache_insert");

	tooltip = lw_str(r, "tooltip");
	cr_assert(strstr(tooltip, "cache_insert") && strstr(tooltip, "28.1 KiB (28800 B) in 360 blocks"),
		  "tooltip: %s", tooltip);

	z = lw_get(r, "zoom");
	/* parse_request holds 10240 of 39312 B: about a quarter, then all */
	cr_assert(json_object_get_double(lw_get(z, "before")) <
		  0.3 * json_object_get_double(lw_get(z, "chart_width")), "%s",
		  json_object_to_json_string(z));
	cr_assert(json_object_get_double(lw_get(z, "after")) >
		  0.99 * json_object_get_double(lw_get(z, "chart_width")),
		  "the click did not zoom: %s", json_object_to_json_string(z));
}

/* pprof and html are files: -o is needed, -i refused. */
LW_TEST(reports, binary_formats_need_a_file)
{
	const char *no_o[] = { "-f", "pprof", "--", "/bin/true", NULL };
	const char *with_i[] = { "-f", "html", "-o", lw_tmp("x.html"), "-i", "1", "--", "/bin/true",
				 NULL };
	struct lw_proc *lw;

	lw = lw_leakwatch_run(no_o, NULL);
	cr_assert_eq(lw->exit_code, 2);
	cr_assert(strstr(lw->err.data, "-f pprof writes one file: give -o FILE, and no -i"), "%s",
		  lw_tail(&lw->err));
	lw = lw_leakwatch_run(with_i, NULL);
	cr_assert_eq(lw->exit_code, 2);
	cr_assert(strstr(lw->err.data, "-f html writes one file"), "%s", lw_tail(&lw->err));
}

/*
 * The page the --watch daemon serves for a process it traced
 * (GET /processes/PID), in headless Chromium: what it asks for is the page
 * alone, no script error, and the traced leak (delayed's late_leak, 2 x
 * 7777 B, every allocation kept: -s 0) in the flame graph and its tooltip.
 */
LW_TEST(page, watch_serves_the_page)
{
	const char *const delayed[] = { NULL };
	const char *url, *shot = lw_tmp("watch.png");
	struct lw_proc *target, *lw;
	struct lw_http_reply m;
	json_object *r, *reqs;
	int port;

	lw_require_bpf();
	lw_loopback_up();
	target = lw_start_target("delayed", delayed);
	lw = lw_leakwatch_start((const char *const[]){ "--watch", "--listen", "127.0.0.1:0",
						       "--no-trace", "-s", "0", "--cpu-budget",
						       "100", NULL }, NULL);
	lw_wait_ready(lw);
	port = lw_watch_port(lw);
	m = lw_http(port, "POST", lw_fmt("/api/v1/processes/%d/trace?seconds=2",
					 (int)target->pid));
	cr_assert_eq(m.status, 202, "trace request: %d %s", m.status, m.body);
	cr_assert(lw_wait_err(lw, lw_fmt("tracing PID %d", (int)target->pid), 30000) >= 0,
		  "not traced:\n%s", lw_tail(&lw->err));
	lw_signal(target, SIGUSR1);
	cr_assert_str_eq(lw_next_line(target), "leaked");
	do {
		usleep(200 * 1000);
		m = lw_http(port, "GET", lw_fmt("/api/v1/processes/%d/report", (int)target->pid));
	} while (m.status == 404);
	cr_assert_eq(m.status, 200, "report: %d %s", m.status, m.body);

	url = lw_fmt("http://127.0.0.1:%d/processes/%d", port, (int)target->pid);
	r = check_page(url, shot, "late_leak", "late_leak");
	/* the page asks for nothing; Chromium itself asks an http server for
	 * its /favicon.ico */
	reqs = lw_get(r, "requests");
	for (size_t i = 0; i < json_object_array_length(reqs); i++) {
		const char *u = json_object_get_string(json_object_array_get_idx(reqs, i));

		cr_assert(!strcmp(u, url) || !strcmp(u, lw_fmt("http://127.0.0.1:%d/favicon.ico", port)),
			  "the page asked for %s", u);
	}
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(reqs, 0)), url);
	cr_assert_eq(json_object_array_length(lw_get(r, "errors")), 0, "script errors: %s",
		     json_object_to_json_string(lw_get(r, "errors")));
	cr_assert(strstr(lw_str(r, "tooltip"), "late_leak") &&
		  strstr(lw_str(r, "tooltip"), "15.2 KiB (15554 B) in 2 blocks"), "tooltip: %s",
		  lw_str(r, "tooltip"));
	json_object_put(r);
	lw_signal(target, SIGUSR1);
	cr_assert_eq(lw_wait_exit(target), 0, "delayed's exit status");
	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
}
