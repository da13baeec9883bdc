// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `leakwatch --watch [OPTIONS]`: its command line, then the daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "safefile.h"
#include "server.h"
#include "watch.h"
#include "watchhttp.h"
#include "watchopts.h"

static const char usage_head[] =
"Usage: leakwatch --watch [OPTIONS]\n"
"\n"
"Watch every process of the machine and its memory cgroup, until SIGTERM or\n"
"SIGINT.  Every sample interval, read each process's RssAnon, RssFile and\n"
"RssShmem (/proc/PID/status) and each memory cgroup's memory.stat and\n"
"memory.events; no probe, no per-syscall hook while nothing is traced.  A\n"
"process whose anon memory keeps growing over the window (a robust slope\n"
"of at least --min-growth that gives nothing back and is not levelling off)\n"
"is a suspect, and is traced by itself with sampled allocator probes for\n"
"--trace-seconds, within a CPU budget for the whole daemon.  Its report (the\n"
"-f json schema) is kept, with its anon memory split into live blocks,\n"
"allocator-retained, runtime-managed and the rest.  See README.md, \"--watch\".\n";

static const char usage_tail[] =
"\n"
"Exit status: 0 after SIGTERM or SIGINT; 1 could not start; 2 bad command line.\n";

static const struct opt_usage usage = { usage_head, usage_tail };

/* What the table fills: the daemon's options, and --watch itself (which
 * may come anywhere among them). */
struct watch_cli {
	struct watch_options o;
	bool watch;
};

/* the struct the specs' values go into (optspec.h) */
#define OPT_TARGET watch_cli

static int parse_min_growth(const struct opt_spec *s, const char *arg, void *target);
static int parse_cpu_budget(const struct opt_spec *s, const char *arg, void *target);
static int parse_glob(const struct opt_spec *s, const char *arg, void *target);
static int parse_listen(const struct opt_spec *s, const char *arg, void *target);

static const struct opt_spec detect_opts[] = {
	{ "sample-interval", 0, "SEC", "read the memory of every process every SEC\n"
	  "seconds, 0.1 to 3600 (default 5)", SPEC_SECONDS(o.sample_interval_s, 0.1, 3600) },
	{ "window", 0, "SEC", "judge the growth over the last SEC seconds, 1 to\n"
	  "86400 and at least 4 sample intervals (default 45):\n"
	  "a leak is a suspect one window after it starts; a\n"
	  "warm-up or a sawtooth shorter than half of it\n"
	  "never is", SPEC_SECONDS(o.detector.window_s, 1, 86400) },
	{ "min-growth", 0, "BYTES", "bytes per second of anon growth that make a suspect,\n"
	  "1 to 2^40 (default 65536)", SPEC_CUSTOM(parse_min_growth) },
};

static const struct opt_spec trace_opts[] = {
	{ "trace-seconds", 0, "SEC", "how long a suspect is traced, 1 to 3600 (default\n"
	  "10)", SPEC_SECONDS(o.trace_seconds, 1, 3600) },
	{ "max-traced", 0, "N", "suspects traced at once, 0 to 64 (default 1; 0:\n"
	  "none)", SPEC_NUMBER(OPT_SIZE, o.max_traced, 0, 64) },
	{ "cpu-budget", 0, "PCT", "CPU of the whole daemon, its traces included, in\n"
	  "percent of one core over the last 60 s, 0.001 to\n"
	  "100 (default 2): over it, traces stop early and no\n"
	  "new one starts until it is back within it", SPEC_CUSTOM(parse_cpu_budget) },
	{ "sample-bytes", 's', "N", "sampling of the traces, 0 to 2^40 (default 65536;\n"
	  "0: every allocation)", SPEC_NUMBER(OPT_U64, o.sample_bytes, 0, 1ull << 40) },
	{ "namespace", 0, "GLOB", "trace only processes of matching Kubernetes\n"
	  "namespaces (every process is still watched);\n"
	  "several --namespace: any of them", SPEC_CUSTOM(parse_glob) },
	{ "pod", 0, "GLOB", "trace only processes of matching pods; several\n"
	  "--pod: any of them", SPEC_CUSTOM(parse_glob) },
	{ "container", 0, "GLOB", "trace only processes of matching containers;\n"
	  "several --container: any of them.  --namespace,\n"
	  "--pod and --container together: all of them", SPEC_CUSTOM(parse_glob) },
	{ "comm", 0, "GLOB", "trace only processes whose name (comm) matches",
	  SPEC_STRING(o.comm_glob) },
	{ "no-trace", 0, NULL, "suspects only, never traced", SPEC_SET(o.no_trace) },
	{ "report-dir", 0, "DIR", "also write each trace's report to DIR/PID.json",
	  SPEC_PATH(o.report_dir) },
	{ "postmortem-dir", 0, "DIR", "a postmortem of every OOM kill on the machine in\n"
	  "DIR, with its stacks if the process was being\n"
	  "traced (see leakwatch --help)", SPEC_PATH(o.postmortem_dir) },
	{ "postmortem-keep", 0, "N", "keep the newest N postmortems in DIR, 1 to 1000000\n"
	  "(default 20)", SPEC_NUMBER(OPT_SIZE, o.postmortem_keep, 1, 1000000) },
};

static const struct opt_spec serve_opts[] = {
	{ "listen", 0, "ADDR:PORT", "HTTP: /metrics, /healthz, /api/v1/... (default\n"
	  "127.0.0.1:9464; [::1]:PORT for IPv6; port 0: any\n"
	  "free port, said on stderr).  Whoever can connect\n"
	  "reads the process table and starts traces: keep it\n"
	  "on loopback or a trusted network", SPEC_CUSTOM(parse_listen) },
	{ "top", 0, "K", "per-process series in /metrics: suspects and the top\n"
	  "K by anon memory, 1 to 100000 (default 20)", SPEC_NUMBER(OPT_SIZE, o.top, 1, 100000) },
};

static const struct opt_spec other_opts[] = {
	{ "watch", 0, NULL, "this mode (anywhere among the options)", SPEC_SET(watch) },
	{ "host-root", 0, "DIR", "where the host's / is, for a leakwatch in a container",
	  SPEC_PATH(o.host_root) },
	{ "verbose", 'v', NULL, "debug output", SPEC_SET(o.verbose) },
	{ "help", 'h', NULL, "this help", SPEC_HELP(usage) },
};

static const struct opt_group groups[] = {
	OPT_GROUP("Detection", detect_opts),
	OPT_GROUP("Tracing", trace_opts),
	OPT_GROUP("Serving", serve_opts),
	OPT_GROUP("Other", other_opts),
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static int parse_min_growth(const struct opt_spec *s, const char *arg, void *target)
{
	struct watch_cli *c = target;
	uint64_t v;
	int err = optspec_number(s, arg, 1, 1ull << 40, &v);

	if (!err)
		c->o.detector.min_growth = (double)v;
	return err;
}

static int parse_cpu_budget(const struct opt_spec *s, const char *arg, void *target)
{
	struct watch_cli *c = target;
	double d;

	/* a percentage with the seconds' syntax: plain decimals from 0.001 */
	if (options_parse_seconds(arg, &d) || d > 100)
		return optspec_bad(s->name, arg, "expected percent of one core, from 0.001 "
				   "to 100");
	c->o.cpu_budget_pct = d;
	return 0;
}

/* --namespace, --pod, --container: one more glob of that kind (select.h). */
static int parse_glob(const struct opt_spec *s, const char *arg, void *target)
{
	struct watch_cli *c = target;
	enum select_kind kind = !strcmp(s->name, "namespace") ? SELECT_NAMESPACE :
				!strcmp(s->name, "pod") ? SELECT_POD : SELECT_CONTAINER;
	int err = selector__add(&c->o.select, kind, arg);

	if (err && err != -ENOMEM)
		return optspec_bad(s->name, arg, "expected a glob: not empty, no control "
				   "characters, at most 1024 bytes");
	return err;
}

static int parse_listen(const struct opt_spec *s, const char *arg, void *target)
{
	struct watch_cli *c = target;
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (http_parse_listen(arg, &ss, &sslen))
		return optspec_bad(s->name, arg, "expected ADDR:PORT with a numeric address, "
				   "e.g. 127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464");
	c->o.listen = arg;
	return 0;
}

/* What only the whole command line can say: 0 or -EINVAL after saying it. */
static int check_watch(const struct watch_options *o, int argc, char **argv, int rest)
{
	if (rest < argc)
		lw_err("--watch takes no PID or command: %s\n", argv[rest]);
	else if (o->detector.window_s < 4 * o->sample_interval_s)
		lw_err("--window %g must hold at least 4 samples of --sample-interval %g\n",
		       o->detector.window_s, o->sample_interval_s);
	else
		return 0;
	return -EINVAL;
}

int watch_options_parse(int argc, char **argv, struct watch_options *o)
{
	bool given[optspec_count(groups, NGROUPS)];
	struct watch_cli c = {
		.o = {
			.sample_interval_s = 5,
			.trace_seconds = 10,
			.max_traced = 1,
			.cpu_budget_pct = 2,
			.top = 20,
			.sample_bytes = 65536,
			.postmortem_keep = 20,
			.listen = "127.0.0.1:9464",
		},
	};
	int err, rest;

	slope_params_default(&c.o.detector);
	err = optspec_parse(groups, NGROUPS, argc, argv, &c, given, &rest);
	if (!err)
		err = check_watch(&c.o, argc, argv, rest);
	*o = c.o;
	if (err == -ENOMEM)
		lw_err("--watch: %s\n", strerror(ENOMEM));
	else if (err < 0)
		fputs("Try 'leakwatch --watch --help' for more information.\n", stderr);
	return err;
}

static int check_dir(const char *opt, const char *dir)
{
	int err = safefile_check_dir(dir);

	if (err)
		fprintf(stderr, "leakwatch: --%s %s: cannot write there: %s\n", opt, dir,
			strerror(-err));
	return err;
}

static int attach_http(struct loop *l, void *ctx)
{
	return watch_http__attach(ctx, l);
}

static void detach_http(void *ctx)
{
	watch_http__detach(ctx);
}

int watch_main(int argc, char **argv)
{
	struct watch_options o;
	struct watch_http *http;
	struct watch *w;
	int err, code;

	err = watch_options_parse(argc, argv, &o);
	if (err) {
		selector__clear(&o.select);
		return err > 0 ? LW_EXIT_OK : err == -ENOMEM ? LW_EXIT_FAILURE : LW_EXIT_USAGE;
	}
	lw_log_set_level(o.verbose ? LW_LOG_DEBUG : LW_LOG_INFO);
	if ((o.report_dir && check_dir("report-dir", o.report_dir)) ||
	    (o.postmortem_dir && check_dir("postmortem-dir", o.postmortem_dir))) {
		code = LW_EXIT_USAGE;
		goto cleanup;
	}
	w = watch__new(&o);
	if (!w) {
		lw_err("cannot start watching: %s", strerror(errno));
		code = LW_EXIT_FAILURE;
		goto cleanup;
	}
	http = watch_http__new(w, &(struct watch_http_opts){ .listen = o.listen, .top = o.top });
	if (!http) {
		lw_err("cannot listen on %s: %s\n", o.listen, strerror(errno));
		watch__free(w);
		return LW_EXIT_USAGE;
	}
	/* the port the kernel chose for port 0, for whoever started us */
	lw_info("serving http://%.*s:%u/\n", (int)(strrchr(o.listen, ':') - o.listen), o.listen,
		watch_http__port(http));
	code = watch__run(w, &(struct watch_frontend){ .attach = attach_http,
							 .detach = detach_http, .ctx = http });
	watch_http__free(http);
	watch__free(w);
cleanup:
	/* the daemon shares the selectors' globs: freed after it */
	selector__clear(&o.select);
	return code;
}
