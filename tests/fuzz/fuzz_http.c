// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The HTTP API of --watch (user/http/): whatever a client sends reaches
 * the router and the handler as a method, a path and a seconds argument
 * (libmicrohttpd has split and %-decoded them), and --listen reaches the
 * address parser.  The input is cut at its first two NULs into method,
 * path and seconds.  Every answer must be a status the API gives, with a
 * body; the per-process labels (comm, namespace...) come from the input
 * too, and every line of /metrics must stay one sample or comment.
 */
#include <errno.h>
#include <stdio.h>

#include "fuzz.h"
#include "unit/http/canned_report.h"
#include "handler.h"
#include "promtext.h"
#include "server.h"

static struct watch_process table[2];

static int fp_processes(void *ctx, const struct watch_process **procs, size_t *n)
{
	*procs = table;
	*n = 2;
	return 0;
}

static int fp_trace(void *ctx, int pid, unsigned int seconds, char *reason)
{
	if (pid == 300)
		return 0;
	if (pid == 1) {
		snprintf(reason, WATCH_REASON_MAX, "over budget");
		return -EBUSY;
	}
	return -ESRCH;
}

static const struct watch_provider_ops ops = {
	.processes = fp_processes,
	.report = canned_report_op,
	.trace = fp_trace,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_handler_opts o = { .ops = &ops, .top_k = 1 };
	char *text = fuzz_text(data, size), *path, *seconds, *m = NULL;
	struct sockaddr_storage ss;
	struct http_handler *h;
	struct http_reply r;
	struct http_route route;
	socklen_t slen;
	size_t mlen = 0, at;
	FILE *f;

	if (!text)
		return 0;
	at = strlen(text);
	path = at < size ? text + at + 1 : text + at;
	at = (size_t)(path - text) + strlen(path);
	seconds = at < size ? text + at + 1 : NULL;
	http_route(text, path, &route);
	http_parse_listen(text, &ss, &slen);
	table[0] = (struct watch_process){ .pid = 300, .comm = text, .namespace = path,
					   .pod = seconds, .anon_bytes = 7, .has_report = true,
					   .nkinds = 1, .kinds = { { .kind = path, .bytes = 1 } } };
	table[1] = (struct watch_process){ .pid = 2, .comm = path, .suspect = true };
	h = http_handler__new(&o);
	if (h && !http_handler__handle(h, text, path, seconds, &r)) {
		if (r.status != 200 && r.status != 202 && r.status != 400 && r.status != 404 &&
		    r.status != 405 && r.status != 429 && r.status != 503)
			__builtin_trap();
		if (!r.body || !r.content_type || (r.status == 405) != !!r.allow)
			__builtin_trap();
		http_reply_clear(&r);
	}
	/* /metrics: every line a comment or "name{labels} value" */
	f = h ? open_memstream(&m, &mlen) : NULL;
	if (f) {
		int err = http_handler__write_metrics(h, f);

		fclose(f);
		for (char *line = m; !err && line && *line; ) {
			char *nl = strchr(line, '\n');

			if (!nl || (*line != '#' && strncmp(line, "leakwatch_", 10)))
				__builtin_trap();
			line = nl + 1;
		}
		free(m);
	}
	http_handler__free(h);
	free(text);
	return 0;
}
