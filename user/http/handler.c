// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "handler.h"
#include "jsonout.h"
#include "metrics.h"

#define GET_HEAD "GET, HEAD"

struct http_handler {
	struct watch_provider_ops ops;
	void *ctx;
	struct metrics_state metrics;
};

/* A PID in a path: a plain decimal of 1 to INT_MAX, no sign or leading
 * zero (one spelling per process, so that no two URLs name it). */
static int parse_pid(const char *s, size_t len, int *pid)
{
	long long v = 0;
	size_t i;

	if (!len || len > 10 || s[0] == '0')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT_MAX)
		return -EINVAL;
	*pid = (int)v;
	return 0;
}

static bool is_get(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

int http_route(const char *method, const char *path, struct http_route *r)
{
	static const char procs[] = "/api/v1/processes/", page[] = "/processes/";
	const char *rest, *slash;
	bool post = false;

	memset(r, 0, sizeof(*r));
	r->allow = GET_HEAD;
	if (!strcmp(path, "/metrics")) {
		r->id = ROUTE_METRICS;
	} else if (!strcmp(path, "/healthz")) {
		r->id = ROUTE_HEALTHZ;
	} else if (!strcmp(path, "/api/v1/processes")) {
		r->id = ROUTE_PROCESSES;
	} else if (!strcmp(path, "/")) {
		r->id = ROUTE_NODE_PAGE;
	} else if (!strncmp(path, page, sizeof(page) - 1)) {
		rest = path + sizeof(page) - 1;
		if (parse_pid(rest, strlen(rest), &r->pid))
			return 404;
		r->id = ROUTE_PROCESS_PAGE;
	} else if (!strncmp(path, procs, sizeof(procs) - 1)) {
		rest = path + sizeof(procs) - 1;
		slash = strchr(rest, '/');
		if (!slash || parse_pid(rest, (size_t)(slash - rest), &r->pid))
			return 404;
		if (!strcmp(slash, "/report")) {
			r->id = ROUTE_REPORT;
		} else if (!strcmp(slash, "/trace")) {
			r->id = ROUTE_TRACE;
			r->allow = "POST";
			post = true;
		} else {
			return 404;
		}
	} else {
		return 404;
	}
	if (post ? strcmp(method, "POST") : !is_get(method))
		return 405;
	r->allow = NULL;
	return 0;
}

void http_reply_clear(struct http_reply *rep)
{
	if (!rep)
		return;
	free(rep->body);
	memset(rep, 0, sizeof(*rep));
}

static int reply_text(struct http_reply *rep, int status, const char *text)
{
	rep->status = status;
	rep->content_type = "text/plain; charset=utf-8";
	rep->body = strdup(text);
	if (!rep->body)
		return -ENOMEM;
	rep->len = strlen(text);
	return 0;
}

/* A JSON reply, taking obj (NULL: its constructor failed). */
static int reply_json(struct http_reply *rep, int status, struct json_object *obj)
{
	const char *s;
	int err = 0;

	if (!obj)
		return -ENOMEM;
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					   JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	rep->status = status;
	rep->content_type = "application/json";
	rep->body = s ? malloc(strlen(s) + 2) : NULL;
	if (!rep->body) {
		err = -ENOMEM;
	} else {
		rep->len = strlen(s) + 1;
		memcpy(rep->body, s, rep->len - 1);
		memcpy(rep->body + rep->len - 1, "\n", 2);
	}
	json_object_put(obj);
	return err;
}

/* {"error": what, "reason": reason (when given)} */
static int reply_error(struct http_reply *rep, int status, const char *what, const char *reason)
{
	struct json_object *o = json_object_new_object();
	int err;

	if (!o)
		return -ENOMEM;
	err = json_out_add_str(o, "error", what);
	if (!err && reason)
		err = json_out_add_str(o, "reason", reason);
	if (err) {
		json_object_put(o);
		return err;
	}
	return reply_json(rep, status, o);
}

/* What write(f, ...) writes, as the body of a reply. */
static int reply_stream(struct http_reply *rep, const char *type,
			int (*write)(FILE *f, const void *arg, const void *arg2),
			const void *arg, const void *arg2)
{
	FILE *f;
	int err;

	rep->body = NULL;
	rep->len = 0;
	f = open_memstream(&rep->body, &rep->len);
	if (!f)
		return -ENOMEM;
	err = write(f, arg, arg2);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(rep->body);
		rep->body = NULL;
		rep->len = 0;
		return err;
	}
	rep->status = 200;
	rep->content_type = type;
	return 0;
}

static int write_metrics(FILE *f, const void *h, const void *unused)
{
	return http_handler__write_metrics((struct http_handler *)h, f);
}

static struct json_object *process_json(const struct watch_process *p)
{
	struct json_object *o = json_object_new_object(), *split;
	char url[64];
	int err;

	if (!o)
		return NULL;
	err = json_out_add(o, "pid", json_object_new_int(p->pid));
	err = err ?: json_out_add_str(o, "comm", p->comm);
	err = err ?: json_out_add_str(o, "cmdline", p->cmdline);
	err = err ?: json_out_add_str(o, "cgroup", p->cgroup);
	err = err ?: json_out_add_str(o, "namespace", p->namespace);
	err = err ?: json_out_add_str(o, "pod", p->pod);
	err = err ?: json_out_add_str(o, "container", p->container);
	err = err ?: json_out_add_str(o, "container_id", p->container_id);
	err = err ?: json_out_add_u64(o, "rss_anon_bytes", p->anon_bytes);
	err = err ?: json_out_add(o, "growth_bytes_per_second",
				  json_object_new_double(p->growth_bytes_per_second));
	err = err ?: json_out_add(o, "suspect", json_object_new_boolean(p->suspect));
	err = err ?: json_out_add(o, "traced", json_object_new_boolean(p->traced));
	if (!err && p->has_report) {
		snprintf(url, sizeof(url), "/api/v1/processes/%d/report", p->pid);
		err = json_out_add_str(o, "report", url);
		/* the "leak or not" split of rss_anon_bytes */
		split = json_object_new_object();
		err = err ?: json_out_add(o, "memory", split);
		err = err ?: json_out_add_u64(split, "live_bytes", p->split.live);
		err = err ?: json_out_add_u64(split, "retained_bytes", p->split.retained);
		err = err ?: json_out_add_u64(split, "runtime_bytes", p->split.runtime);
		err = err ?: json_out_add_u64(split, "other_bytes", p->split.other);
	} else if (!err) {
		err = json_out_add_null(o, "report");
		err = err ?: json_out_add_null(o, "memory");
	}
	if (err) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int handle_processes(struct http_handler *h, struct http_reply *rep)
{
	const struct watch_process *procs;
	struct json_object *arr;
	size_t n, i;
	int err;

	err = h->ops.processes(h->ctx, &procs, &n);
	if (err)
		return reply_error(rep, 503, "the process table cannot be read now", strerror(-err));
	arr = json_object_new_array();
	if (!arr)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = json_out_push(arr, process_json(&procs[i]));
		if (err) {
			json_object_put(arr);
			return err;
		}
	}
	return reply_json(rep, 200, arr);
}

/* A report's text as a json-c document; NULL when it is none. */
static struct json_object *parse_report(const char *json, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *o = NULL;

	if (tok && len <= INT_MAX)
		o = json_tokener_parse_ex(tok, json, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  !json_object_is_type(json_object_object_get(o, "processes"), json_type_array))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* The reports the daemon keeps (of the processes traced now or before:
 * suspects, and those traced on request) in one document: the first
 * one's header, every one's processes, the summary added up again.  With
 * none, the document of an empty report.  NULL + errno. */
static struct json_object *node_document(struct http_handler *h)
{
	struct report_opts ro = { .format = REPORT_JSON };
	const struct watch_process *procs;
	struct json_object *root = NULL, *doc, *all, *sum;
	struct report empty = { 0 };
	uint64_t bytes = 0, allocs = 0;
	const char *json;
	size_t n, i, j, len;
	int err;

	err = h->ops.processes(h->ctx, &procs, &n);
	if (err) {
		errno = -err;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (!procs[i].has_report || h->ops.report(h->ctx, procs[i].pid, &json, &len))
			continue;
		doc = parse_report(json, len);
		if (!doc)
			continue;	/* the daemon's own output: cannot happen */
		if (!root) {
			root = doc;
			continue;
		}
		all = json_object_object_get(doc, "processes");
		for (j = 0; j < json_object_array_length(all); j++)
			json_object_array_add(json_object_object_get(root, "processes"),
					      json_object_get(json_object_array_get_idx(all, j)));
		json_object_put(doc);
	}
	if (!root)
		return report_json(&empty, &ro);
	all = json_object_object_get(root, "processes");
	for (j = 0; j < json_object_array_length(all); j++) {
		struct json_object *p = json_object_array_get_idx(all, j);

		bytes += (uint64_t)json_object_get_int64(json_object_object_get(p, "outstanding_bytes"));
		allocs += (uint64_t)json_object_get_int64(json_object_object_get(p,
							  "outstanding_allocs"));
	}
	sum = json_object_new_object();
	err = json_out_add(root, "summary", sum);
	err = err ?: json_out_add_u64(sum, "processes", json_object_array_length(all));
	err = err ?: json_out_add_u64(sum, "outstanding_bytes", bytes);
	err = err ?: json_out_add_u64(sum, "outstanding_allocs", allocs);
	if (err) {
		json_object_put(root);
		errno = -err;
		return NULL;
	}
	return root;
}

static int write_page(FILE *f, const void *doc, const void *unused)
{
	return report_write_html_doc(f, (struct json_object *)doc);
}

static int handle_report(struct http_handler *h, const struct http_route *r, bool html,
			 struct http_reply *rep)
{
	struct json_object *doc = NULL;
	const char *json = NULL;
	size_t len = 0;
	int err;

	if (r->id == ROUTE_NODE_PAGE) {
		doc = node_document(h);
		if (!doc)
			return errno == ENOMEM ? -ENOMEM
			       : reply_error(rep, 503, "the reports cannot be read now",
					     strerror(errno));
	} else {
		err = h->ops.report(h->ctx, r->pid, &json, &len);
		if (err == -ENOENT)
			return html ? reply_text(rep, 404, "no report of this process\n")
				    : reply_error(rep, 404, "no report of this process", NULL);
		if (err)
			return reply_error(rep, 503, "the report cannot be read now",
					   strerror(-err));
		if (!html) {
			/* the daemon's document as it is (NUL-terminated too,
			 * as every body here) */
			rep->body = malloc(len + 1);
			if (!rep->body)
				return -ENOMEM;
			memcpy(rep->body, json, len);
			rep->body[len] = 0;
			rep->len = len;
			rep->status = 200;
			rep->content_type = "application/json";
			return 0;
		}
		doc = parse_report(json, len);
		if (!doc)
			return reply_error(rep, 500, "the report is not JSON", NULL);
	}
	err = reply_stream(rep, "text/html; charset=utf-8", write_page, doc, NULL);
	json_object_put(doc);
	if (err && err != -ENOMEM)
		return reply_error(rep, 500, "the page cannot be written", strerror(-err));
	return err;
}

static int handle_trace(struct http_handler *h, const struct http_route *r, const char *seconds,
			struct http_reply *rep)
{
	unsigned int max = h->ops.max_trace_seconds ? h->ops.max_trace_seconds : 3600;
	char reason[WATCH_REASON_MAX] = "", msg[96], url[64];
	struct json_object *o;
	long long n = 0;
	size_t i;
	int err;

	/* seconds: absent for the daemon's default (--trace-seconds), else
	 * a plain decimal of 1 to max */
	if (seconds) {
		for (i = 0; seconds[i] >= '0' && seconds[i] <= '9' && i < 10; i++)
			n = n * 10 + (seconds[i] - '0');
		if (!i || seconds[i] || n < 1 || n > max) {
			snprintf(msg, sizeof(msg), "seconds must be a whole number of 1 to %u", max);
			return reply_error(rep, 400, msg, NULL);
		}
	}
	err = h->ops.trace ? h->ops.trace(h->ctx, r->pid, (unsigned int)n, reason) : -EOPNOTSUPP;
	reason[sizeof(reason) - 1] = 0;
	if (err == -ESRCH)
		return reply_error(rep, 404, "no such process", NULL);
	if (err == -EBUSY)
		return reply_error(rep, 429, "not traced now", reason[0] ? reason : NULL);
	if (err == -EINVAL)
		return reply_error(rep, 400, "seconds out of range", reason[0] ? reason : NULL);
	if (err == -EOPNOTSUPP)
		return reply_error(rep, 503, "this leakwatch cannot trace processes on request",
				   reason[0] ? reason : NULL);
	if (err)
		return reply_error(rep, 500, "the trace could not start", strerror(-err));
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	snprintf(url, sizeof(url), "/api/v1/processes/%d/report", r->pid);
	err = json_out_add(o, "pid", json_object_new_int(r->pid));
	err = err ?: (n ? json_out_add_u64(o, "seconds", (uint64_t)n)
			: json_out_add_null(o, "seconds"));
	err = err ?: json_out_add_str(o, "report", url);
	if (err) {
		json_object_put(o);
		return err;
	}
	return reply_json(rep, 202, o);
}

int http_handler__handle(struct http_handler *h, const char *method, const char *path,
			 const char *seconds, struct http_reply *rep)
{
	struct http_route r;
	int status, err;

	memset(rep, 0, sizeof(*rep));
	status = http_route(method, path, &r);
	if (status == 405) {
		err = reply_text(rep, 405, "method not allowed\n");
		rep->allow = r.allow;
		return err;
	}
	if (status)
		return reply_text(rep, 404, "not found\n");
	switch (r.id) {
	case ROUTE_METRICS:
		err = reply_stream(rep, "text/plain; version=0.0.4; charset=utf-8", write_metrics,
				   h, NULL);
		if (err && err != -ENOMEM)
			err = reply_error(rep, 500, "the metrics cannot be written", strerror(-err));
		return err;
	case ROUTE_HEALTHZ:
		return reply_text(rep, 200, "ok\n");
	case ROUTE_PROCESSES:
		return handle_processes(h, rep);
	case ROUTE_REPORT:
		return handle_report(h, &r, false, rep);
	case ROUTE_NODE_PAGE:
	case ROUTE_PROCESS_PAGE:
		return handle_report(h, &r, true, rep);
	case ROUTE_TRACE:
		return handle_trace(h, &r, seconds, rep);
	}
	return reply_text(rep, 404, "not found\n");
}

struct http_handler *http_handler__new(const struct http_handler_opts *o)
{
	struct http_handler *h;

	if (!o || !o->ops || !o->ops->processes || !o->ops->report) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ops = *o->ops;
	h->ctx = o->ctx;
	h->metrics.top_k = o->top_k;
	return h;
}

void http_handler__free(struct http_handler *h)
{
	free(h);
}

int http_handler__write_metrics(struct http_handler *h, FILE *f)
{
	const struct watch_process *procs;
	size_t n;
	int err;

	err = h->ops.processes(h->ctx, &procs, &n);
	if (err)
		return err;
	return metrics_write(f, &h->metrics, procs, n, &h->ops, h->ctx);
}
