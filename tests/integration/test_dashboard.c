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
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

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
	const char *text = NULL, *missing = "";
	const char *args[] = { "--watch", "--listen", "127.0.0.1:0", "--sample-interval", "1",
			       NULL };
	struct timespec nap = { 0, 200 * 1000 * 1000 };
	int port, i, checked = 0;
	struct lw_proc *lw;
	char line[512];
	FILE *list;

	lw_require_bpf();
	lw_loopback_up();
	lw = lw_leakwatch_start(args, NULL);
	lw_wait_ready(lw);
	port = lw_watch_port(lw);

	/* the first sample taken: processes watched */
	for (i = 0; i < 300; i++) {
		struct lw_http_reply m = lw_http(port, "GET", "/metrics");

		cr_assert_eq(m.status, 200, "GET /metrics: %d %.200s", m.status, m.body);
		text = m.body;
		if (sample(text, "leakwatch_processes_watched") > 0)
			break;
		nanosleep(&nap, NULL);
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
