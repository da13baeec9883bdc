// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Grafana dashboard and the alert rules against a live daemon: every
 * metric of tools/k8s/metrics.txt (the list that make test-rules holds
 * every query of tools/k8s/dashboard.json and tools/k8s/alerts.yaml to) is
 * in the /metrics of a running leakwatch --watch, with the listed type: a
 * "# TYPE" line, with or without series.  So every metric the dashboard
 * and the rules name is one the daemon exports.
 *
 * Built into the suite once leakwatch serves /metrics (the Makefile looks
 * for it in user/); a machine where the daemon cannot run fails it under
 * CI=true.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* A free TCP port on loopback, for --listen. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind: %s", strerror(errno));
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* GET path from 127.0.0.1:port: the body of a 200 answer (owned by the
 * harness), or NULL when nothing listens yet. */
static const char *http_get(int port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct lw_buf b = {};
	const char *req, *body;
	char chunk[4096];
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return NULL;
	}
	req = lw_fmt("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path,
		     port);
	cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b.len + n + 1 > b.cap) {
			b.cap = (b.len + n + 1) * 2;
			b.data = realloc(b.data, b.cap);
			cr_assert(b.data);
		}
		memcpy(b.data + b.len, chunk, n);
		b.len += n;
		b.data[b.len] = '\0';
	}
	close(fd);
	cr_assert(b.data, "GET %s: an empty answer", path);
	cr_assert(!strncmp(b.data, "HTTP/1.1 200", 12) || !strncmp(b.data, "HTTP/1.0 200", 12),
		  "GET %s: %.200s", path, b.data);
	body = strstr(b.data, "\r\n\r\n");
	cr_assert(body, "GET %s: no end of headers", path);
	body = lw_fmt("%s", body + 4);
	free(b.data);
	return body;
}

/* The value of an unlabelled sample NAME in an exposition, or -1. */
static double sample(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *line;

	for (line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		if (!strncmp(line, name, n) && line[n] == ' ')
			return strtod(line + n + 1, NULL);
	return -1;
}

LW_TEST(dashboard, live_metrics_are_the_listed_ones)
{
	const char *list_path = lw_fmt("%s/tests/k8s/metrics.txt", getenv("LW_BUILD_DIR"));
	const char *text = NULL, *args[8], *missing = "";
	struct timespec nap = { 0, 200 * 1000 * 1000 };
	int port = free_port(), i, checked = 0;
	struct lw_proc *lw;
	char line[512];
	FILE *list;

	lw_require_bpf();
	args[0] = "--watch";
	args[1] = "--listen";
	args[2] = lw_fmt("127.0.0.1:%d", port);
	args[3] = "--sample-interval";
	args[4] = "1";
	args[5] = NULL;
	lw = lw_leakwatch_start(args, NULL);

	/* the first sample taken: processes watched */
	for (i = 0; i < 300; i++) {
		text = http_get(port, "/metrics");
		if ((text && sample(text, "leakwatch_processes_watched") > 0) ||
		    (!text && lw_pid_exited(lw->pid)))
			break;
		nanosleep(&nap, NULL);
	}
	if (!text) {
		lw_signal(lw, SIGTERM);
		lw_wait_exit(lw);
		lw_cannot_run(lw_fmt("leakwatch --watch never listened on 127.0.0.1:%d: %s", port,
				     lw_tail(&lw->err)));
	}
	cr_assert_gt(sample(text, "leakwatch_processes_watched"), 0,
		     "no processes watched after 60 s:\n%.2000s", text);

	list = fopen(list_path, "r");
	cr_assert(list, "%s: %s", list_path, strerror(errno));
	while (fgets(line, sizeof(line), list)) {
		char name[128], type[16];
		const char *want;

		if (line[0] == '#' || sscanf(line, "%127s %15s", name, type) != 2)
			continue;
		want = lw_fmt("\n# TYPE %s %s\n", name, type);
		if (!strstr(lw_fmt("\n%s", text), want))
			missing = lw_fmt("%s\n  %s %s", missing, name, type);
		checked++;
	}
	fclose(list);
	cr_assert_gt(checked, 20, "%s lists %d metrics", list_path, checked);
	cr_expect_str_empty(missing, "/metrics has no \"# TYPE\" line of:%s\n/metrics:\n%.4000s",
			    missing, text);

	lw_signal(lw, SIGTERM);
	cr_assert_eq(lw_wait_exit(lw), 0, "%s", lw_tail(&lw->err));
}
