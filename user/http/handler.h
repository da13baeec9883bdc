/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The HTTP API of --watch as plain functions, without libmicrohttpd: a
 * request (method, path, the seconds query argument) in, a reply (status,
 * content type, body) out.  server.c puts it on the network; the unit
 * tests and the fuzzer call it directly.
 *
 *   GET  /metrics                          Prometheus text format
 *   GET  /healthz                          200 "ok"
 *   GET  /api/v1/processes                 the watched processes, JSON
 *   GET  /api/v1/processes/PID/report      PID's latest report (-f json)
 *   POST /api/v1/processes/PID/trace?seconds=N
 *                                          202, 429 + reason, 404, 400
 *   GET  /                                 the node's page (-f html): every
 *                                          report the daemon keeps
 *   GET  /processes/PID                    PID's page (-f html)
 *
 * HEAD is answered as GET (libmicrohttpd sends no body).  Another method
 * on a known path: 405 with Allow; an unknown path: 404; a PID that is
 * not a plain decimal in 1..2^31-1: 404 (no such resource); a bad N: 400.
 */
#ifndef LW_HANDLER_H
#define LW_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "provider.h"

enum http_route_id {
	ROUTE_METRICS,
	ROUTE_HEALTHZ,
	ROUTE_PROCESSES,
	ROUTE_REPORT,
	ROUTE_TRACE,
	ROUTE_NODE_PAGE,
	ROUTE_PROCESS_PAGE,
};

struct http_route {
	enum http_route_id id;
	int pid;		/* ROUTE_REPORT, ROUTE_TRACE, ROUTE_PROCESS_PAGE */
	const char *allow;	/* the methods the path takes (405's Allow) */
};

/* The route of method and path (without the query): 0, 404 or 405 (with
 * r->allow set). */
int http_route(const char *method, const char *path, struct http_route *r);

struct http_reply {
	int status;
	const char *content_type;
	const char *allow;	/* 405: the Allow header; else NULL */
	char *body;		/* malloc'd, len bytes and a NUL; http_reply_clear frees it */
	size_t len;
};

void http_reply_clear(struct http_reply *rep);	/* accepts NULL */

struct http_handler;

struct http_handler_opts {
	const struct watch_provider_ops *ops;
	void *ctx;
	/* per-process series: the suspects, the traced, and the top_k
	 * others by anon memory; the rest are cut and counted */
	size_t top_k;
};

/* NULL + errno. */
struct http_handler *http_handler__new(const struct http_handler_opts *o);
void http_handler__free(struct http_handler *h);	/* accepts NULL */

/* Answer one request; seconds is the query argument (NULL when absent).
 * 0 with *rep filled (whatever its status), or -ENOMEM. */
int http_handler__handle(struct http_handler *h, const char *method, const char *path,
			 const char *seconds, struct http_reply *rep);

/* What /metrics writes, to f: 0 or -Exxx. */
int http_handler__write_metrics(struct http_handler *h, FILE *f);

#endif /* LW_HANDLER_H */
