// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP API of --watch without the network: the Prometheus text writer
 * (escaping, exact numbers), /metrics on a hand-made process table (the
 * top-K bound and what it counts as dropped), the router, and every route
 * of the handler on a provider whose answers the tests choose.  The real
 * server, under Prometheus, is in tests/integration/test_http.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "counters.h"
#include "unit/http/canned_report.h"
#include "handler.h"
#include "metrics.h"
#include "promtext.h"
#include "server.h"

/* What f received, as a malloc'd string. */
struct sink {
	char *buf;
	size_t len;
	FILE *f;
};

static void sink_open(struct sink *s)
{
	s->buf = NULL;
	s->len = 0;
	s->f = open_memstream(&s->buf, &s->len);
	cr_assert(s->f);
}

static char *sink_close(struct sink *s)
{
	fclose(s->f);
	return s->buf;
}

Test(promtext, escapes_label_values_and_help)
{
	struct prom_label l[] = { { "comm", "a\"b\\c\nd" }, { "pod", NULL }, { "x", "\xff\xc3\xa9" } };
	struct promtext w;
	struct sink s;
	char *out;

	sink_open(&s);
	promtext_init(&w, s.f);
	cr_assert_eq(promtext_family(&w, "leakwatch_x_bytes", PROM_GAUGE, "a \\ b\nc \"q\""), 0);
	cr_assert_eq(promtext_sample_u64(&w, l, 3, 18446744073709551615ull), 0);
	cr_assert_eq(promtext_family(&w, "leakwatch_y_total", PROM_COUNTER, "y"), 0);
	cr_assert_eq(promtext_sample(&w, NULL, 0, 1.5), 0);
	cr_assert_eq(promtext_sample(&w, NULL, 0, NAN), 0);
	cr_assert_eq(promtext_sample(&w, NULL, 0, -INFINITY), 0);
	cr_assert_eq(promtext_sample(&w, NULL, 0, 9007199254740993.0), 0);
	cr_assert_eq(promtext_sample(&w, NULL, 0, -3), 0);
	cr_assert_eq(promtext_finish(&w), 0);
	out = sink_close(&s);
	cr_assert_str_eq(out,
			 "# HELP leakwatch_x_bytes a \\\\ b\\nc \"q\"\n"
			 "# TYPE leakwatch_x_bytes gauge\n"
			 "leakwatch_x_bytes{comm=\"a\\\"b\\\\c\\nd\",pod=\"\",x=\"\xef\xbf\xbd\xc3\xa9\"} "
			 "18446744073709551615\n"
			 "# HELP leakwatch_y_total y\n"
			 "# TYPE leakwatch_y_total counter\n"
			 "leakwatch_y_total 1.5\n"
			 "leakwatch_y_total NaN\n"
			 "leakwatch_y_total -Inf\n"
			 "leakwatch_y_total 9007199254740992\n"
			 "leakwatch_y_total -3\n");
	free(out);
}

Test(promtext, refuses_bad_names)
{
	struct prom_label bad[] = { { "1x", "v" } }, reserved[] = { { "__name__", "v" } };
	struct promtext w;
	struct sink s;

	cr_assert(!prom_valid_metric_name("1abc"));
	cr_assert(!prom_valid_metric_name("a-b"));
	cr_assert(!prom_valid_metric_name(""));
	cr_assert(prom_valid_metric_name("a:b_c9"));
	cr_assert(!prom_valid_label_name("a:b"));
	sink_open(&s);
	promtext_init(&w, s.f);
	/* a sample before any family */
	cr_assert_eq(promtext_sample(&w, NULL, 0, 1), -EINVAL);
	promtext_init(&w, s.f);
	cr_assert_eq(promtext_family(&w, "ok", PROM_GAUGE, ""), 0);
	cr_assert_eq(promtext_sample(&w, bad, 1, 1), -EINVAL);
	/* and every call after the first error fails the same */
	cr_assert_eq(promtext_family(&w, "ok2", PROM_GAUGE, ""), -EINVAL);
	cr_assert_eq(promtext_finish(&w), -EINVAL);
	promtext_init(&w, s.f);
	cr_assert_eq(promtext_family(&w, "ok", PROM_GAUGE, ""), 0);
	cr_assert_eq(promtext_sample(&w, reserved, 1, 1), -EINVAL);
	free(sink_close(&s));
}

/* ---- a provider whose answers the tests choose ---- */

static struct watch_process table[] = {
	{ .pid = 100, .comm = "big", .anon_bytes = 9000, .file_bytes = 1, .shmem_bytes = 2 },
	{ .pid = 200, .comm = "small", .anon_bytes = 10 },
	{ .pid = 300, .comm = "leaky", .cmdline = "leaky --rate 1M", .cgroup = "/app.slice",
	  .namespace = "prod", .pod = "web-1", .container = "web", .container_id = "ab",
	  .anon_bytes = 5, .growth_bytes_per_second = 1048576.5, .suspect = true, .traced = true,
	  .has_report = true, .split = { 4096, 100, 0, 7 }, .nkinds = 2,
	  .kinds = { { .kind = "heap", .bytes = 4096 }, { .kind = "mmap", .bytes = 8192 } } },
	{ .pid = 400, .comm = "mid", .anon_bytes = 500 },
};

static int last_trace_pid;
static unsigned int last_trace_seconds;

static int fp_processes(void *ctx, const struct watch_process **procs, size_t *n)
{
	*procs = table;
	*n = sizeof(table) / sizeof(table[0]);
	return 0;
}

static int fp_trace(void *ctx, int pid, unsigned int seconds, char *reason)
{
	last_trace_pid = pid;
	last_trace_seconds = seconds;
	if (pid == 100) {
		snprintf(reason, WATCH_REASON_MAX, "over the CPU budget: 2.5%% of 2%%");
		return -EBUSY;
	}
	if (pid == 300 || pid == 200)
		return 0;
	return -ESRCH;
}

static int fp_more(void *ctx, struct promtext *w)
{
	struct prom_label l[] = { { "outcome", "completed" } };

	return promtext_family(w, "leakwatch_traces_total", PROM_COUNTER, "Traces.") ?:
	       promtext_sample_u64(w, l, 1, 3);
}

static int fp_counters(void *ctx, struct lw_counters *out)
{
	out->v[LW_COUNTER_RINGBUF_ALLOC] = 5;
	out->v[LW_COUNTER_MISSED_FREES] = 2;
	out->v[LW_COUNTER_PROCESSES_NOT_TRACED] = 9;
	return 0;
}

static const struct watch_provider_ops fake_ops = {
	.counters = fp_counters,
	.processes = fp_processes,
	.report = canned_report_op,
	.trace = fp_trace,
	.write_metrics = fp_more,
	.max_trace_seconds = 600,
};

static struct http_handler *fake_handler(size_t top_k)
{
	struct http_handler_opts o = { .ops = &fake_ops, .top_k = top_k };
	struct http_handler *h = http_handler__new(&o);

	cr_assert(h);
	return h;
}

static char *metrics_of(struct http_handler *h)
{
	struct sink s;

	sink_open(&s);
	cr_assert_eq(http_handler__write_metrics(h, s.f), 0);
	return sink_close(&s);
}

/* The lines of text that start with prefix, joined. */
static char *lines_with(const char *text, const char *prefix)
{
	struct sink s;
	const char *p = text, *nl;

	sink_open(&s);
	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		cr_assert(nl);
		if (!strncmp(p, prefix, strlen(prefix)))
			fwrite(p, 1, (size_t)(nl - p + 1), s.f);
	}
	return sink_close(&s);
}

Test(metrics, top_k_and_suspects_with_exact_values)
{
	struct http_handler *h = fake_handler(1);
	char *out = metrics_of(h), *l;

	/* top 1 by anon (big) and the suspect, traced one; small and mid cut */
	l = lines_with(out, "leakwatch_process_anon_bytes{");
	cr_assert_str_eq(l,
		"leakwatch_process_anon_bytes{pid=\"100\",comm=\"big\",namespace=\"\",pod=\"\","
		"container=\"\"} 9000\n"
		"leakwatch_process_anon_bytes{pid=\"300\",comm=\"leaky\",namespace=\"prod\","
		"pod=\"web-1\",container=\"web\"} 5\n");
	free(l);
	l = lines_with(out, "leakwatch_process_growth_bytes_per_second{pid=\"300\"");
	cr_assert_str_eq(l, "leakwatch_process_growth_bytes_per_second{pid=\"300\",comm=\"leaky\","
			 "namespace=\"prod\",pod=\"web-1\",container=\"web\"} 1048576.5\n");
	free(l);
	l = lines_with(out, "leakwatch_process_memory_bytes{");
	cr_assert_str_eq(l,
		"leakwatch_process_memory_bytes{pid=\"300\",comm=\"leaky\",namespace=\"prod\","
		"pod=\"web-1\",container=\"web\",part=\"live\"} 4096\n"
		"leakwatch_process_memory_bytes{pid=\"300\",comm=\"leaky\",namespace=\"prod\","
		"pod=\"web-1\",container=\"web\",part=\"retained\"} 100\n"
		"leakwatch_process_memory_bytes{pid=\"300\",comm=\"leaky\",namespace=\"prod\","
		"pod=\"web-1\",container=\"web\",part=\"runtime\"} 0\n"
		"leakwatch_process_memory_bytes{pid=\"300\",comm=\"leaky\",namespace=\"prod\","
		"pod=\"web-1\",container=\"web\",part=\"other\"} 7\n");
	free(l);
	l = lines_with(out, "leakwatch_process_outstanding_bytes{");
	cr_assert(strstr(l, "kind=\"heap\"} 4096\n") && strstr(l, "kind=\"mmap\"} 8192\n"), "%s", l);
	free(l);
	/* two plain processes cut, 6 series each; once per scrape */
	l = lines_with(out, "leakwatch_series_dropped_total ");
	cr_assert_str_eq(l, "leakwatch_series_dropped_total 12\n");
	free(l);
	free(out);
	out = metrics_of(h);
	l = lines_with(out, "leakwatch_series_dropped_total ");
	cr_assert_str_eq(l, "leakwatch_series_dropped_total 24\n");
	free(l);
	cr_assert(strstr(out, "leakwatch_processes_watched 4\n"));
	cr_assert(strstr(out, "leakwatch_processes_traced 1\n"));
	cr_assert(strstr(out, "leakwatch_suspects 1\n"));
	cr_assert(strstr(out, "leakwatch_build_info{version=\""));
	/* every drop counter of the registry, by name; its gauges are none */
	l = lines_with(out, "leakwatch_events_lost_total{");
	cr_assert(strstr(l, "leakwatch_events_lost_total{source=\"ringbuf_full_alloc\"} 5\n") &&
		  strstr(l, "leakwatch_events_lost_total{source=\"missed_frees\"} 2\n") &&
		  strstr(l, "leakwatch_events_lost_total{source=\"ringbuf_full_free\"} 0\n") &&
		  !strstr(l, "processes_not_traced"), "%s", l);
	free(l);
	/* the provider's own families come after */
	cr_assert(strstr(out, "# TYPE leakwatch_traces_total counter\n"
			      "leakwatch_traces_total{outcome=\"completed\"} 3\n"));
	free(out);
	http_handler__free(h);
}

Test(metrics, no_bound_drops_nothing)
{
	struct http_handler *h = fake_handler(10);
	char *out = metrics_of(h), *l;

	l = lines_with(out, "leakwatch_process_anon_bytes{");
	cr_assert_eq(strlen(l) > 0 && l[strlen(l) - 1] == '\n', true);
	cr_assert(strstr(l, "pid=\"200\"") && strstr(l, "pid=\"400\""));
	free(l);
	cr_assert(strstr(out, "leakwatch_series_dropped_total 0\n"));
	free(out);
	http_handler__free(h);
}

Test(router, routes_and_methods)
{
	struct http_route r;

	cr_assert_eq(http_route("GET", "/metrics", &r), 0);
	cr_assert_eq(r.id, ROUTE_METRICS);
	cr_assert_eq(http_route("HEAD", "/healthz", &r), 0);
	cr_assert_eq(r.id, ROUTE_HEALTHZ);
	cr_assert_eq(http_route("GET", "/", &r), 0);
	cr_assert_eq(r.id, ROUTE_NODE_PAGE);
	cr_assert_eq(http_route("GET", "/processes/42", &r), 0);
	cr_assert_eq(r.id, ROUTE_PROCESS_PAGE);
	cr_assert_eq(r.pid, 42);
	cr_assert_eq(http_route("GET", "/api/v1/processes/2147483647/report", &r), 0);
	cr_assert_eq(r.id, ROUTE_REPORT);
	cr_assert_eq(r.pid, 2147483647);
	cr_assert_eq(http_route("POST", "/api/v1/processes/7/trace", &r), 0);
	cr_assert_eq(r.id, ROUTE_TRACE);
	cr_assert_eq(r.pid, 7);
	cr_assert_eq(http_route("GET", "/api/v1/processes/7/trace", &r), 405);
	cr_assert_str_eq(r.allow, "POST");
	cr_assert_eq(http_route("POST", "/metrics", &r), 405);
	cr_assert_str_eq(r.allow, "GET, HEAD");
	cr_assert_eq(http_route("PUT", "/", &r), 405);
	/* one spelling per pid: no sign, zero, leading zero or overflow */
	cr_assert_eq(http_route("GET", "/api/v1/processes/2147483648/report", &r), 404);
	cr_assert_eq(http_route("GET", "/api/v1/processes/0/report", &r), 404);
	cr_assert_eq(http_route("GET", "/api/v1/processes/07/report", &r), 404);
	cr_assert_eq(http_route("GET", "/api/v1/processes/-7/report", &r), 404);
	cr_assert_eq(http_route("GET", "/api/v1/processes//report", &r), 404);
	cr_assert_eq(http_route("GET", "/api/v1/processes/7/report/", &r), 404);
	cr_assert_eq(http_route("GET", "/processes/", &r), 404);
	cr_assert_eq(http_route("GET", "/processes/1x", &r), 404);
	cr_assert_eq(http_route("GET", "/metrics/", &r), 404);
	cr_assert_eq(http_route("GET", "", &r), 404);
	cr_assert_eq(http_route("GET", "/api/v1/processes/99999999999999999999/trace", &r), 404);
}

static struct json_object *reply_json_of(struct http_handler *h, const char *method,
					 const char *path, const char *seconds, int status)
{
	struct http_reply rep;
	struct json_tokener *tok;
	struct json_object *o;

	cr_assert_eq(http_handler__handle(h, method, path, seconds, &rep), 0);
	cr_assert_eq(rep.status, status, "%s %s: %d, not %d: %.*s", method, path, rep.status,
		     status, (int)rep.len, rep.body);
	cr_assert_str_eq(rep.content_type, "application/json");
	/* a reply's body is len bytes, not a C string */
	tok = json_tokener_new();
	cr_assert(tok);
	o = json_tokener_parse_ex(tok, rep.body, (int)rep.len);
	json_tokener_free(tok);
	cr_assert(o, "%.*s", (int)rep.len, rep.body);
	http_reply_clear(&rep);
	return o;
}

Test(handler, trace_answers)
{
	struct http_handler *h = fake_handler(5);
	struct json_object *o;

	o = reply_json_of(h, "POST", "/api/v1/processes/300/trace", "30", 202);
	cr_assert_eq(last_trace_pid, 300);
	cr_assert_eq(last_trace_seconds, 30);
	cr_assert_eq(json_object_get_int(json_object_object_get(o, "seconds")), 30);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "report")),
			 "/api/v1/processes/300/report");
	json_object_put(o);
	/* no seconds: the daemon's default, passed as 0 */
	o = reply_json_of(h, "POST", "/api/v1/processes/200/trace", NULL, 202);
	cr_assert_eq(last_trace_seconds, 0);
	cr_assert(json_object_is_type(json_object_object_get(o, "seconds"), json_type_null));
	json_object_put(o);
	o = reply_json_of(h, "POST", "/api/v1/processes/100/trace", "5", 429);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(o, "reason")),
			 "over the CPU budget: 2.5% of 2%");
	json_object_put(o);
	json_object_put(reply_json_of(h, "POST", "/api/v1/processes/555/trace", "5", 404));
	last_trace_pid = 0;
	json_object_put(reply_json_of(h, "POST", "/api/v1/processes/300/trace", "0", 400));
	json_object_put(reply_json_of(h, "POST", "/api/v1/processes/300/trace", "601", 400));
	json_object_put(reply_json_of(h, "POST", "/api/v1/processes/300/trace", "", 400));
	json_object_put(reply_json_of(h, "POST", "/api/v1/processes/300/trace", "5s", 400));
	json_object_put(reply_json_of(h, "POST", "/api/v1/processes/300/trace", "-1", 400));
	json_object_put(reply_json_of(h, "POST", "/api/v1/processes/300/trace",
				      "99999999999999999999", 400));
	/* a bad request never reaches the daemon */
	cr_assert_eq(last_trace_pid, 0);
	http_handler__free(h);
}

Test(handler, processes_and_reports)
{
	struct http_handler *h = fake_handler(5);
	struct json_object *o, *p, *m;
	struct http_reply rep;

	o = reply_json_of(h, "GET", "/api/v1/processes", NULL, 200);
	cr_assert_eq(json_object_array_length(o), 4);
	p = json_object_array_get_idx(o, 2);
	cr_assert_eq(json_object_get_int(json_object_object_get(p, "pid")), 300);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(p, "cgroup")), "/app.slice");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(p, "container_id")), "ab");
	cr_assert_eq(json_object_get_int64(json_object_object_get(p, "rss_anon_bytes")), 5);
	cr_assert_float_eq(json_object_get_double(json_object_object_get(p,
			   "growth_bytes_per_second")), 1048576.5, 1e-9);
	cr_assert(json_object_get_boolean(json_object_object_get(p, "suspect")));
	cr_assert_str_eq(json_object_get_string(json_object_object_get(p, "report")),
			 "/api/v1/processes/300/report");
	m = json_object_object_get(p, "memory");
	cr_assert_eq(json_object_get_int64(json_object_object_get(m, "retained_bytes")), 100);
	p = json_object_array_get_idx(o, 0);
	cr_assert(json_object_is_type(json_object_object_get(p, "report"), json_type_null));
	cr_assert(json_object_is_type(json_object_object_get(p, "namespace"), json_type_null));
	json_object_put(o);

	/* the report: the daemon's -f json document, byte for byte */
	cr_assert_eq(http_handler__handle(h, "GET", "/api/v1/processes/300/report", NULL, &rep), 0);
	{
		size_t len;
		const char *want = canned_report_json(&len);

		cr_assert_eq(rep.len, len);
		cr_assert_eq(memcmp(rep.body, want, len), 0);
	}
	http_reply_clear(&rep);
	o = reply_json_of(h, "GET", "/api/v1/processes/300/report", NULL, 200);
	p = json_object_array_get_idx(json_object_object_get(o, "processes"), 0);
	cr_assert_eq(json_object_get_int(json_object_object_get(p, "pid")), 300);
	json_object_put(o);
	json_object_put(reply_json_of(h, "GET", "/api/v1/processes/100/report", NULL, 404));

	/* the pages: the -f html page of the same model */
	cr_assert_eq(http_handler__handle(h, "GET", "/processes/300", NULL, &rep), 0);
	cr_assert_eq(rep.status, 200);
	cr_assert_str_eq(rep.content_type, "text/html; charset=utf-8");
	cr_assert(rep.len > 1000 && memmem(rep.body, rep.len, "grow_cache", 10));
	http_reply_clear(&rep);
	cr_assert_eq(http_handler__handle(h, "GET", "/processes/100", NULL, &rep), 0);
	cr_assert_eq(rep.status, 404);
	http_reply_clear(&rep);
	cr_assert_eq(http_handler__handle(h, "HEAD", "/", NULL, &rep), 0);
	cr_assert_eq(rep.status, 200);
	cr_assert(memmem(rep.body, rep.len, "leaky --rate 1M", 15));
	http_reply_clear(&rep);
	cr_assert_eq(http_handler__handle(h, "GET", "/healthz", NULL, &rep), 0);
	cr_assert_eq(rep.status, 200);
	cr_assert_eq(rep.len, 3);
	cr_assert_eq(memcmp(rep.body, "ok\n", 3), 0);
	http_reply_clear(&rep);
	cr_assert_eq(http_handler__handle(h, "OPTIONS", "/metrics", NULL, &rep), 0);
	cr_assert_eq(rep.status, 405);
	cr_assert_str_eq(rep.allow, "GET, HEAD");
	http_reply_clear(&rep);
	cr_assert_eq(http_handler__handle(h, "GET", "/etc/passwd", NULL, &rep), 0);
	cr_assert_eq(rep.status, 404);
	http_reply_clear(&rep);
	http_handler__free(h);
}

Test(server, listen_addresses)
{
	struct sockaddr_storage ss;
	socklen_t len;

	cr_assert_eq(http_parse_listen("127.0.0.1:9464", &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET);
	cr_assert_eq(http_parse_listen("[::1]:0", &ss, &len), 0);
	cr_assert_eq(ss.ss_family, AF_INET6);
	cr_assert_eq(http_parse_listen("0.0.0.0:65535", &ss, &len), 0);
	cr_assert_eq(http_parse_listen("0.0.0.0:65536", &ss, &len), -EINVAL);
	cr_assert_eq(http_parse_listen("localhost:80", &ss, &len), -EINVAL);
	cr_assert_eq(http_parse_listen("127.0.0.1", &ss, &len), -EINVAL);
	cr_assert_eq(http_parse_listen("127.0.0.1:", &ss, &len), -EINVAL);
	cr_assert_eq(http_parse_listen(":80", &ss, &len), -EINVAL);
	cr_assert_eq(http_parse_listen("::1:80", &ss, &len), -EINVAL);
	cr_assert_eq(http_parse_listen("[::1]80", &ss, &len), -EINVAL);
	cr_assert_eq(http_parse_listen("127.0.0.1:+80", &ss, &len), -EINVAL);
}

/* ---- the node's page: two reports merged ---- */

static struct report_process rproc2 = {
	.pid = 301, .comm = "other", .outstanding_bytes = 8192, .outstanding_allocs = 2,
	.stacks_total = 1, .nstacks = 1, .stacks = canned_stacks,
};
static struct report rep2 = {
	.timestamp = "2026-12-06T00:00:01Z", .duration_s = 10, .nprocs = 1, .procs = &rproc2,
};
static struct watch_process table2[] = {
	{ .pid = 300, .comm = "leaky", .suspect = true, .has_report = true },
	{ .pid = 301, .comm = "other", .traced = true, .has_report = true },
	/* traced before, neither suspect nor traced now: on the page too */
	{ .pid = 302, .comm = "old", .has_report = true },
	/* no report: not on the page */
	{ .pid = 303, .comm = "none", .suspect = true },
};

static int fp2_processes(void *ctx, const struct watch_process **procs, size_t *n)
{
	*procs = table2;
	*n = 4;
	return 0;
}

static int fp2_report(void *ctx, int pid, const char **json, size_t *len)
{
	static char *buf2;
	static size_t n2;

	if (pid == 302) {
		/* a daemon's document as it may be: one report of pid 302 */
		static const char doc[] = "{\"version\": 1, \"processes\": [{\"pid\": 302, "
					  "\"outstanding_bytes\": 100, \"outstanding_allocs\": 1}]}";

		*json = doc;
		*len = sizeof(doc) - 1;
		return 0;
	}
	if (pid != 301)
		return canned_report_op(ctx, pid, json, len);
	*json = canned_json(&rep2, &buf2, &n2);
	*len = n2;
	return 0;
}

Test(handler, node_page_merges_every_report)
{
	static const struct watch_provider_ops ops2 = {
		.processes = fp2_processes,
		.report = fp2_report,
	};
	struct http_handler_opts o = { .ops = &ops2, .top_k = 5 };
	struct http_handler *h = http_handler__new(&o);
	struct http_reply rep;
	char *body;

	cr_assert(h);
	cr_assert_eq(http_handler__handle(h, "GET", "/", NULL, &rep), 0);
	cr_assert_eq(rep.status, 200);
	body = strndup(rep.body, rep.len);
	cr_assert(body);
	/* the three reports, the first one's header, the summary of all */
	cr_assert(strstr(body, "\"pid\":300") && strstr(body, "\"pid\":301") &&
		  strstr(body, "\"pid\":302"), "%.400s", body);
	cr_assert_null(strstr(body, "\"pid\":303"));
	cr_assert(strstr(body, "\"timestamp\":\"2026-12-06T00:00:00Z\""));
	cr_assert(strstr(body, "\"summary\":{\"processes\":3,\"outstanding_bytes\":12388,"
			       "\"outstanding_allocs\":7}"), "%s", strstr(body, "\"summary\""));
	free(body);
	http_reply_clear(&rep);
	http_handler__free(h);
}
