// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * leakwatch --watch over HTTP, from the outside: a real Prometheus (Debian's
 * prometheus, on loopback) scrapes it and its HTTP API is queried for the
 * leakwatch_ series; promtool checks /metrics; raw sockets send what no
 * well-behaved client sends (garbage, huge heads, half requests, responses
 * never read) and the daemon goes on answering and sampling.
 *
 * Ground truth: the holder fixture maps and touches a known amount of
 * memory and sleeps, so its RssAnon and RssFile, read here from
 * /proc/PID/status, are what the daemon must have sampled and Prometheus
 * stored.  Its comm has a quote and a backslash: Prometheus must give it
 * back as it is.
 *
 * No BPF is loaded yet (nothing is traced): these tests need no kernel
 * feature, but under CI=true a missing prometheus fails them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"

#define PROMETHEUS "/usr/bin/prometheus"
#define PROMTOOL "/usr/bin/promtool"
/* the holder's name: a quote and a backslash for the label escaping */
#define HOLDER_COMM "ho\"ld\\er"

static void require(const char *path, const char *package)
{
	if (access(path, X_OK))
		lw_cannot_run(lw_fmt("%s is not installed (Debian package %s; "
				     "tools/install-deps.sh installs it)", path, package));
}

/* A free port of loopback now (the kernel's choice; free again at once). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* leakwatch --watch on a port of the kernel's choice: its port.  No
 * suspect is traced by itself (--no-trace: the machine is shared, and
 * processes of others may grow); requests are, with a CPU budget that
 * software emulation does not exhaust (the budget has tests of its own). */
static int start_watch_in(const char *top, const char *report_dir, struct lw_proc **lwp)
{
	const char *args[] = { "--watch", "--listen", "127.0.0.1:0", "--sample-interval", "0.2",
			       "--top", top, "--no-trace", "--cpu-budget", "100",
			       report_dir ? "--report-dir" : NULL, report_dir, NULL };
	struct lw_proc *p;
	int port;

	lw_loopback_up();
	p = lw_leakwatch_start(args, NULL);
	lw_wait_ready(p);
	port = lw_watch_port(p);
	if (lwp)
		*lwp = p;
	return port;
}

static int start_watch(const char *top, struct lw_proc **lwp)
{
	return start_watch_in(top, NULL, lwp);
}

/* RssAnon or RssFile of pid, in bytes. */
static int64_t proc_status_bytes(pid_t pid, const char *key)
{
	FILE *f = fopen(lw_fmt("/proc/%d/status", (int)pid), "r");
	char line[256];
	long long kb = -1;

	cr_assert(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			sscanf(line + strlen(key) + 1, "%lld", &kb);
	fclose(f);
	cr_assert(kb >= 0, "no %s in /proc/%d/status", key, (int)pid);
	return kb * 1024;
}

/* The number of lines of text that start with prefix. */
static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

/* The number of lines of text that start with prefix and end with suffix. */
static int count_suffix(const char *text, const char *prefix, const char *suffix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		size_t len = strcspn(p, "\n");

		n += !strncmp(p, prefix, strlen(prefix)) && len >= strlen(suffix) &&
		     !strncmp(p + len - strlen(suffix), suffix, strlen(suffix));
	}
	return n;
}

/* The value on the line of text that starts with series (+ " "). */
static const char *value_of(const char *text, const char *series)
{
	const char *want = lw_fmt("%s ", series), *p;

	for (p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, want, strlen(want)))
			return lw_fmt("%.*s", (int)strcspn(p + strlen(want), "\n"),
				      p + strlen(want));
	cr_assert_fail("no series %s in:\n%s", series, text);
	return NULL;
}

static const char *urlencode(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;
	const char *res;

	cr_assert(out);
	for (; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("-_.~", *s))
			*o++ = *s;
		else
			o += sprintf(o, "%%%02X", (unsigned char)*s);
	}
	*o = 0;
	res = lw_fmt("%s", out);
	free(out);
	return res;
}

/* Prometheus's instant query: data.result, an array. */
static json_object *prom_query(int port, const char *query)
{
	struct lw_http_reply r = lw_http(port, "GET", lw_fmt("/api/v1/query?query=%s", urlencode(query)));
	json_object *o = json_tokener_parse(r.body);

	cr_assert_eq(r.status, 200, "query %s: %d %s", query, r.status, r.body);
	cr_assert(o && !strcmp(lw_str(o, "status"), "success"), "query %s: %s", query, r.body);
	return lw_get(lw_get(o, "data"), "result");
}

/* The one sample of a query: its value as Prometheus gives it (a string). */
static const char *prom_value(int port, const char *query, json_object **metric)
{
	json_object *res = prom_query(port, query), *v;

	cr_assert_eq(json_object_array_length(res), 1, "%s: %s", query,
		     json_object_to_json_string(res));
	v = lw_get(json_object_array_get_idx(res, 0), "value");
	if (metric)
		*metric = lw_get(json_object_array_get_idx(res, 0), "metric");
	return json_object_get_string(json_object_array_get_idx(v, 1));
}

/* Prometheus on a free port of loopback, scraping 127.0.0.1:target every
 * second; returns its port once it has scraped the target and found it
 * up. */
static int start_prometheus(int target)
{
	const char *config = lw_tmp("prometheus.yml"), *argv[6];
	struct lw_proc *p;
	int64_t deadline;
	int port = free_port();
	FILE *f;

	f = fopen(config, "w");
	cr_assert(f);
	fprintf(f, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		"scrape_configs:\n  - job_name: leakwatch\n    static_configs:\n"
		"      - targets: ['127.0.0.1:%d']\n", target);
	fclose(f);
	argv[0] = PROMETHEUS;
	argv[1] = lw_fmt("--config.file=%s", config);
	argv[2] = lw_fmt("--storage.tsdb.path=%s", lw_tmp("tsdb"));
	argv[3] = lw_fmt("--web.listen-address=127.0.0.1:%d", port);
	/* quiet: nobody reads its stderr while the test polls */
	argv[4] = "--log.level=warn";
	argv[5] = NULL;
	p = lw_spawn(argv, NULL);
	deadline = lw_now_ms() + 60000;
	for (;;) {
		json_object *o = NULL, *t;
		int fd;

		cr_assert(lw_now_ms() < deadline, "Prometheus never found the target up:\n%s",
			  lw_tail(&p->err));
		usleep(200 * 1000);
		/* not listening yet: try again */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		{
			struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
				close(fd);
				continue;
			}
		}
		close(fd);
		o = json_tokener_parse(lw_http(port, "GET", "/api/v1/targets").body);
		t = o ? json_object_array_get_idx(lw_get(lw_get(o, "data"), "activeTargets"), 0)
		      : NULL;
		if (t && !strcmp(lw_str(t, "health"), "up"))
			break;
		if (t && !strcmp(lw_str(t, "health"), "down"))
			cr_assert_fail("Prometheus finds the target down: %s", lw_str(t, "lastError"));
	}
	return port;
}

/*
 * What Prometheus scraped: the holder's memory (exact, from its
 * /proc/PID/status), its comm with a quote and a backslash, the node's
 * counts, and every per-process series of a --top that cuts none.
 */
LW_TEST(http, prometheus_scrapes_watch)
{
	const char *holder_args[] = { "48", HOLDER_COMM, NULL };
	struct lw_proc *holder, *lw;
	json_object *metric, *res;
	int port, prom;
	const char *pid;

	require(PROMETHEUS, "prometheus");
	holder = lw_start_target("holder", holder_args);
	pid = lw_fmt("%d", (int)holder->pid);
	port = start_watch("100000", &lw);
	prom = start_prometheus(port);

	cr_assert_str_eq(prom_value(prom, "leakwatch_build_info", &metric), "1");
	cr_assert(strlen(lw_str(metric, "version")) > 0);
	/* suspects: processes of others may grow here; the count is theirs */
	cr_assert_str_eq(prom_value(prom, "sum(leakwatch_suspects) - "
				    "(count(leakwatch_process_suspect == 1) or vector(0))", NULL), "0");
	cr_assert_str_eq(prom_value(prom, "leakwatch_processes_traced", NULL), "0");
	cr_assert_str_eq(prom_value(prom, "up{job=\"leakwatch\"}", NULL), "1");

	cr_assert_str_eq(prom_value(prom, lw_fmt("leakwatch_process_anon_bytes{pid=\"%s\"}", pid),
				    &metric),
			 lw_fmt("%lld", (long long)proc_status_bytes(holder->pid, "RssAnon")));
	/* 48 MiB touched, plus its stack and libc's few pages */
	cr_assert_geq(proc_status_bytes(holder->pid, "RssAnon"), 48ll << 20);
	cr_assert_str_eq(lw_str(metric, "comm"), HOLDER_COMM);
	cr_assert_str_eq(lw_str(metric, "job"), "leakwatch");
	cr_assert_str_eq(prom_value(prom, lw_fmt("leakwatch_process_file_bytes{pid=\"%s\"}", pid),
				    NULL),
			 lw_fmt("%lld", (long long)proc_status_bytes(holder->pid, "RssFile")));
	cr_assert_str_eq(prom_value(prom, lw_fmt("leakwatch_process_suspect{pid=\"%s\"}", pid),
				    NULL), "0");
	cr_assert_str_eq(prom_value(prom, lw_fmt("leakwatch_process_growth_bytes_per_second"
						 "{pid=\"%s\"}", pid), NULL), "0");
	cr_assert_str_eq(prom_value(prom, lw_fmt("leakwatch_process_traced{pid=\"%s\"}", pid),
				    NULL), "0");
	/* no bound reached: a series per watched process, none dropped */
	cr_assert_str_eq(prom_value(prom, "count(leakwatch_process_anon_bytes) - "
				    "sum(leakwatch_processes_watched)", NULL), "0");
	cr_assert_str_eq(prom_value(prom, "leakwatch_series_dropped_total", NULL), "0");
	cr_assert_str_eq(prom_value(prom, "sum(leakwatch_traces_total)", NULL), "0");
	/* every family of the server's own, with the leakwatch_ prefix */
	res = prom_query(prom, "count by (__name__) ({__name__=~\"leakwatch_.+\"})");
	cr_assert_geq(json_object_array_length(res), 11, "%s", json_object_to_json_string(res));
	cr_assert(lw->running);
}

/* /metrics as Prometheus's own linter sees it, and the top-K bound. */
LW_TEST(http, metrics_lint_and_bound)
{
	const char *file = lw_tmp("metrics.txt"), *argv[4], *watched, *dropped;
	const char *holder_args[] = { "8", HOLDER_COMM, NULL };
	struct lw_proc *lint;
	struct lw_http_reply r;
	int port, n;
	FILE *f;

	require(PROMTOOL, "prometheus");
	lw_start_target("holder", holder_args);
	port = start_watch("2", NULL);
	r = lw_http(port, "GET", "/metrics");
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.head, "Content-Type: text/plain; version=0.0.4"), "%s", r.head);
	f = fopen(file, "w");
	cr_assert(f);
	fputs(r.body, f);
	fclose(f);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = lw_fmt("exec " PROMTOOL " check metrics < '%s'", file);
	argv[3] = NULL;
	lint = lw_spawn(argv, NULL);
	cr_assert_eq(lw_wait_exit(lint), 0, "promtool check metrics:\n%s%s", lint->out.data,
		     lint->err.data);

	/* every suspect (of others: this machine is shared) and two others,
	 * the largest; the rest's 6 series each cut */
	n = count_lines(r.body, "leakwatch_process_anon_bytes{");
	cr_assert_eq(count_suffix(r.body, "leakwatch_process_suspect{", "} 0"), 2, "%s", r.body);
	cr_assert_eq(count_suffix(r.body, "leakwatch_process_suspect{", "} 1"),
		     atoll(value_of(r.body, "leakwatch_suspects")), "%s", r.body);
	cr_assert_eq(n, count_lines(r.body, "leakwatch_process_suspect{"));
	cr_assert_eq(count_lines(r.body, "leakwatch_process_traced{"), n);
	watched = value_of(r.body, "leakwatch_processes_watched");
	dropped = value_of(r.body, "leakwatch_series_dropped_total");
	cr_assert_eq(atoll(dropped), 6 * (atoll(watched) - n), "watched %s, dropped %s", watched,
		     dropped);
}

/* Bad requests get a 4xx and the daemon goes on. */
LW_TEST(http, bad_requests)
{
	static const char huge_head_start[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ";
	char *huge;
	struct lw_http_reply r;
	int port = start_watch("20", NULL), fd;
	size_t n;

	r = lw_http(port, "DELETE", "/metrics");
	cr_assert_eq(r.status, 405);
	cr_assert(strstr(r.head, "Allow: GET, HEAD"), "%s", r.head);
	cr_assert_eq(lw_http(port, "GET", "/api/v1/processes/1/trace").status, 405);
	cr_assert_eq(lw_http(port, "GET", "/nothing").status, 404);
	cr_assert_eq(lw_http(port, "GET", "/api/v1/processes/abc/report").status, 404);
	cr_assert_eq(lw_http(port, "GET", "/api/v1/processes/-1/report").status, 404);
	cr_assert_eq(lw_http(port, "GET", "/processes/99999999999").status, 404);
	cr_assert_eq(lw_http(port, "POST", "/api/v1/processes/1/trace?seconds=abc").status, 400);
	cr_assert_eq(lw_http(port, "POST", "/api/v1/processes/1/trace?seconds=0").status, 400);
	cr_assert_eq(lw_http(port, "POST", "/api/v1/processes/1/trace?seconds=1e3").status, 400);
	/* a pid that no process has (pid_max is at most 2^22) */
	r = lw_http(port, "POST", "/api/v1/processes/2147483647/trace?seconds=5");
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert(strstr(r.body, "\"no such process\""), "%s", r.body);
	/* no report: nothing traced yet */
	cr_assert_eq(lw_http(port, "GET", lw_fmt("/api/v1/processes/%d/report", (int)getpid())).status,
		     404);
	/* no HTTP at all: libmicrohttpd closes without an answer (nothing
	 * to answer in a protocol the client does not speak) */
	fd = lw_http_connect(port);
	lw_send_all(fd, "BLAH\r\n\r\n", 8);
	{
		char buf[64];

		cr_assert_leq(recv(fd, buf, sizeof(buf), 0), 0);
	}
	close(fd);
	r = lw_http_raw(port, "GET /metrics HTTP/9.9\r\n\r\n", 25);
	cr_assert(r.status >= 400 && r.status < 600, "%d", r.status);
	/* a head larger than a connection's memory: refused, not read on */
	n = strlen(huge_head_start);
	huge = malloc(n + 100000 + 5);
	cr_assert(huge);
	memcpy(huge, huge_head_start, n);
	memset(huge + n, 'a', 100000);
	memcpy(huge + n + 100000, "\r\n\r\n", 5);
	fd = lw_http_connect(port);
	/* the server may close before it has read it all */
	send(fd, huge, n + 100004, MSG_NOSIGNAL);
	{
		char buf[256] = "";
		ssize_t got = recv(fd, buf, sizeof(buf) - 1, 0);

		cr_assert(got <= 0 || !strncmp(buf, "HTTP/1.1 4", 10), "%s", buf);
	}
	close(fd);
	free(huge);
	/* a POST with a body no route takes */
	{
		const char *post = "POST /api/v1/processes/1/trace?seconds=x HTTP/1.0\r\n"
				   "Content-Length: 5\r\n\r\nhello";

		cr_assert_eq(lw_http_raw(port, post, strlen(post)).status, 400);
	}
	r = lw_http(port, "GET", "/healthz");
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "ok\n");
	r = lw_http(port, "HEAD", "/healthz");
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, "");
}

/* The node's page: the -f html page (no process has a report yet). */
LW_TEST(http, node_page)
{
	int port = start_watch("20", NULL);
	struct lw_http_reply r = lw_http(port, "GET", "/");

	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.head, "Content-Type: text/html; charset=utf-8"), "%s", r.head);
	cr_assert(strstr(r.body, "<html") && strstr(r.body, "\"processes\":[]"), "%.300s", r.body);
	cr_assert_eq(lw_http(port, "GET", lw_fmt("/processes/%d", (int)getpid())).status, 404);
}

/*
 * Clients that never finish: one sends half a request, one asks for the
 * page (300 KB) and never reads it, and more hold connections open doing
 * nothing.  Meanwhile a new process starts: the daemon must sample it
 * (its loop is not waiting on anyone) and answer others; the half request
 * is closed at the connection timeout (10 s).
 */
LW_TEST(http, stuck_clients_never_stall)
{
	const char *holder_args[] = { "4", "stuckcheck", NULL };
	int port = start_watch("20", NULL), half, unread, idle[8];
	const char *page_req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct lw_proc *holder;
	int64_t deadline, t0;
	bool seen = false;
	char c;

	half = lw_http_connect(port);
	lw_send_all(half, "GET /metr", 9);
	/* four pages pipelined, 1.2 MB: more than the socket buffers hold */
	unread = lw_http_connect(port);
	for (int i = 0; i < 4; i++)
		lw_send_all(unread, page_req, strlen(page_req));
	for (int i = 0; i < 8; i++)
		idle[i] = lw_http_connect(port);
	t0 = lw_now_ms();

	holder = lw_start_target("holder", holder_args);
	deadline = lw_now_ms() + 8000;
	while (!seen && lw_now_ms() < deadline) {
		struct lw_http_reply r = lw_http(port, "GET", "/api/v1/processes");

		cr_assert_eq(r.status, 200);
		seen = strstr(r.body, lw_fmt("\"pid\": %d,", (int)holder->pid)) != NULL;
		if (!seen)
			usleep(100 * 1000);
	}
	cr_assert(seen, "the daemon did not sample a new process while clients were stuck");
	cr_assert_eq(lw_http(port, "GET", "/healthz").status, 200);
	/* the half request: closed by the server at its timeout, not held
	 * forever (recv gives 0, or the reset) */
	{
		struct timeval tv = { .tv_sec = 20 };

		setsockopt(half, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		cr_assert(recv(half, &c, 1, 0) <= 0 && lw_now_ms() - t0 < 20000,
			  "a half request was kept open %lld ms", (long long)(lw_now_ms() - t0));
	}
	close(half);
	close(unread);
	for (int i = 0; i < 8; i++)
		close(idle[i]);
}

/* The leaker's blocks: 64 KiB, 16 a second (tests/fixtures/leaker.c);
 * -s 65536, --watch's default, keeps each one. */
#define LEAK_BLOCK 65536
#define LEAK_BLOCKS_PER_S 16
#define TRACE_S 4

/*
 * A trace on request, end to end, while clients stall: POST .../trace
 * (202; again at once: 429, already traced), the ring buffers drained
 * while one client holds half a request and another a page it never
 * reads (no event lost), then the report (-f json, leak_slowly's blocks
 * as the seconds traced make them), its page, the node's page, and the
 * process's series (the split, the bytes by kind, a completed trace).
 */
LW_TEST(http, trace_request_while_clients_stall)
{
	const char *leaker_argv[] = { NULL, NULL }, *page_req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	json_object *o, *doc, *proc;
	struct lw_proc *leak, *lw;
	struct lw_sum s;
	struct lw_http_reply r;
	int64_t deadline, expect;
	int port, half, unread;
	const char *pid, *series;

	lw_require_bpf();
	leaker_argv[0] = lw_fixture("leaker");
	leak = lw_spawn(leaker_argv, NULL);
	pid = lw_fmt("%d", (int)leak->pid);
	cr_assert_eq(mkdir(lw_tmp("reports"), 0700), 0);
	port = start_watch_in("100000", lw_tmp("reports"), &lw);
	/* sampled: the daemon knows it */
	deadline = lw_now_ms() + 20000;
	while (!strstr(lw_http(port, "GET", "/api/v1/processes").body,
		       lw_fmt("\"pid\": %s,", pid)))
		cr_assert(lw_now_ms() < deadline, "the leaker was never sampled");

	half = lw_http_connect(port);
	lw_send_all(half, "POST /api/v1/proc", 17);
	unread = lw_http_connect(port);
	for (int i = 0; i < 4; i++)
		lw_send_all(unread, page_req, strlen(page_req));

	r = lw_http(port, "POST", lw_fmt("/api/v1/processes/%s/trace?seconds=%d", pid, TRACE_S));
	cr_assert_eq(r.status, 202, "%s", r.body);
	o = json_tokener_parse(r.body);
	cr_assert(o, "%s", r.body);
	cr_assert_eq(lw_int(o, "pid"), leak->pid);
	cr_assert_eq(lw_int(o, "seconds"), TRACE_S);
	cr_assert_str_eq(lw_str(o, "report"), lw_fmt("/api/v1/processes/%s/report", pid));
	json_object_put(o);
	r = lw_http(port, "POST", lw_fmt("/api/v1/processes/%s/trace?seconds=%d", pid, TRACE_S));
	cr_assert_eq(r.status, 429, "%s", r.body);
	o = json_tokener_parse(r.body);
	cr_assert(o && !strcmp(lw_str(o, "reason"), "already traced"), "%s", r.body);
	json_object_put(o);

	/* the report, once the trace has ended */
	deadline = lw_now_ms() + 60000;
	while ((r = lw_http(port, "GET", lw_fmt("/api/v1/processes/%s/report", pid))).status == 404) {
		cr_assert(lw_now_ms() < deadline, "no report 60 s after the request:\n%s",
			  lw_tail(&lw->err));
		usleep(200 * 1000);
	}
	cr_assert_eq(r.status, 200, "%s", r.body);
	/* the daemon's report, byte for byte: the one it wrote to --report-dir */
	{
		FILE *f = fopen(lw_fmt("%s/%s.json", lw_tmp("reports"), pid), "r");
		char *kept = NULL;
		size_t cap = 0;
		ssize_t n;

		cr_assert(f, "no %s.json in --report-dir", pid);
		n = getdelim(&kept, &cap, 0, f);
		fclose(f);
		cr_assert(n > 0 && (size_t)n == strlen(r.body) && !memcmp(kept, r.body, (size_t)n),
			  "the report served is not the one kept");
		free(kept);
	}
	doc = json_tokener_parse(r.body);
	cr_assert(doc, "%.300s", r.body);
	lw_check_report(doc, true);
	lw_expect_no_loss(doc);
	proc = lw_process_by_pid(doc, leak->pid);
	cr_assert(proc, "the report has no process %s", pid);
	/* every block of the seconds traced (give or take one at each edge),
	 * and no more than the trace's whole duration, its attach included
	 * (under software emulation it is long, and the leaker, on an
	 * absolute schedule, catches up meanwhile) */
	s = lw_sum_function(proc, "leak_slowly");
	expect = TRACE_S * LEAK_BLOCKS_PER_S;
	cr_assert(s.allocs >= expect - 2 &&
		  s.allocs <= (int64_t)(json_object_get_double(lw_get(doc, "duration_s")) *
					LEAK_BLOCKS_PER_S) + 2,
		  "leak_slowly: %lld blocks in %d s of tracing (%.3f s with the attach), "
		  "expected %lld or a little more\n%s", (long long)s.allocs, TRACE_S,
		  json_object_get_double(lw_get(doc, "duration_s")), (long long)expect,
		  lw_describe(proc));
	cr_assert_eq(s.bytes, s.allocs * LEAK_BLOCK);

	/* the pages: the process's and the node's */
	r = lw_http(port, "GET", lw_fmt("/processes/%s", pid));
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "leak_slowly"), "the page has no leak_slowly");
	r = lw_http(port, "GET", "/");
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "leak_slowly") && strstr(r.body, lw_fmt("\"pid\":%s", pid)));

	/* its series: the bytes by kind are the report's, the split is there */
	r = lw_http(port, "GET", "/metrics");
	series = lw_fmt("leakwatch_process_outstanding_bytes{pid=\"%s\",comm=\"leaker\","
			"namespace=\"\",pod=\"\",container=\"\",kind=\"heap\"}", pid);
	cr_assert_eq(atoll(value_of(r.body, series)),
		     lw_int(lw_get(lw_get(proc, "kinds"), "heap"), "bytes"));
	cr_assert_eq(count_lines(r.body, lw_fmt("leakwatch_process_memory_bytes{pid=\"%s\",", pid)),
		     4);
	cr_assert_str_eq(value_of(r.body, "leakwatch_traces_total{outcome=\"completed\"}"), "1");
	o = json_tokener_parse(lw_http(port, "GET", "/api/v1/processes").body);
	cr_assert(o);
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		json_object *p = json_object_array_get_idx(o, i);

		if (lw_int(p, "pid") != leak->pid)
			continue;
		cr_assert_str_eq(lw_str(p, "report"), lw_fmt("/api/v1/processes/%s/report", pid));
		cr_assert(json_object_is_type(lw_get(p, "memory"), json_type_object));
	}
	json_object_put(o);
	json_object_put(doc);
	close(half);
	close(unread);
	cr_assert(lw->running);
	lw_expect_not_stopped(leak);
}
