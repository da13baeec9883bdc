// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `leakwatch --watch [OPTIONS]`: its command line, then the daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "safefile.h"
#include "server.h"
#include "watch.h"
#include "watchhttp.h"

static const char watch_usage[] =
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
"allocator-retained, runtime-managed and the rest.  See README.md, \"--watch\".\n"
"\n"
"Detection:\n"
"      --sample-interval SEC  read the memory of every process every SEC\n"
"                           seconds (default 5)\n"
"      --window SEC         judge the growth over the last SEC seconds\n"
"                           (default 45): a leak is a suspect one window after\n"
"                           it starts; a warm-up or a sawtooth shorter than\n"
"                           half of it never is\n"
"      --min-growth BYTES   bytes per second of anon growth that make a suspect\n"
"                           (default 65536)\n"
"\n"
"Tracing:\n"
"      --trace-seconds SEC  how long a suspect is traced (default 10)\n"
"      --max-traced N       suspects traced at once (default 1; 0: none)\n"
"      --cpu-budget PCT     CPU of the whole daemon, its traces included, in\n"
"                           percent of one core over the last 60 s (default\n"
"                           2): over it, traces stop early and no new one\n"
"                           starts until it is back within it\n"
"  -s, --sample-bytes N     sampling of the traces (default 65536; 0: every\n"
"                           allocation)\n"
"      --namespace GLOB, --pod GLOB, --container GLOB\n"
"                           trace only processes of matching Kubernetes\n"
"                           containers (every process is still watched);\n"
"                           several of one option: any of them\n"
"      --comm GLOB          trace only processes whose name (comm) matches\n"
"      --no-trace           suspects only, never traced\n"
"      --report-dir DIR     also write each trace's report to DIR/PID.json\n"
"      --postmortem-dir DIR a postmortem of every OOM kill on the machine in DIR,\n"
"                           with its stacks if the process was being traced\n"
"                           (see leakwatch --help)\n"
"\n"
"Serving:\n"
"      --listen ADDR:PORT   HTTP: /metrics, /api/v1/... (default 127.0.0.1:9464;\n"
"                           [::1]:PORT for IPv6; port 0: any free port, said on\n"
"                           stderr).  Whoever can connect reads the process table\n"
"                           and starts traces: keep it on loopback or a trusted\n"
"                           network\n"
"      --top K              per-process series in /metrics: suspects and the top\n"
"                           K by anon memory (default 20)\n"
"\n"
"Other:\n"
"      --host-root DIR      where the host's / is, for a leakwatch in a container\n"
"  -v, --verbose            debug output\n"
"  -h, --help               this help\n"
"\n"
"Exit status: 0 after SIGTERM or SIGINT; 1 could not start; 2 bad command line.\n";

enum {
	OPT_WATCH = 256, OPT_INTERVAL, OPT_WINDOW, OPT_MIN_GROWTH, OPT_TRACE_SECONDS,
	OPT_MAX_TRACED, OPT_CPU_BUDGET, OPT_NAMESPACE, OPT_POD, OPT_CONTAINER, OPT_NO_TRACE,
	OPT_REPORT_DIR, OPT_POSTMORTEM_DIR, OPT_LISTEN, OPT_TOP, OPT_HOST_ROOT, OPT_COMM,
};

static const struct option long_opts[] = {
	{ "watch", no_argument, NULL, OPT_WATCH },
	{ "sample-interval", required_argument, NULL, OPT_INTERVAL },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "min-growth", required_argument, NULL, OPT_MIN_GROWTH },
	{ "trace-seconds", required_argument, NULL, OPT_TRACE_SECONDS },
	{ "max-traced", required_argument, NULL, OPT_MAX_TRACED },
	{ "cpu-budget", required_argument, NULL, OPT_CPU_BUDGET },
	{ "sample-bytes", required_argument, NULL, 's' },
	{ "namespace", required_argument, NULL, OPT_NAMESPACE },
	{ "pod", required_argument, NULL, OPT_POD },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "no-trace", no_argument, NULL, OPT_NO_TRACE },
	{ "report-dir", required_argument, NULL, OPT_REPORT_DIR },
	{ "postmortem-dir", required_argument, NULL, OPT_POSTMORTEM_DIR },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "host-root", required_argument, NULL, OPT_HOST_ROOT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int bad(const char *opt, const char *arg, const char *what)
{
	fprintf(stderr, "leakwatch: --%s %s: %s (see leakwatch --watch --help)\n", opt, arg, what);
	return -EINVAL;
}

/* --namespace, --pod, --container: one more glob of that kind (select.h). */
static int add_glob(struct watch_options *o, enum select_kind kind, const char *glob)
{
	int err = selector__add(&o->select, kind, glob);

	if (err == -ENOMEM)
		fprintf(stderr, "leakwatch: --%s: %s\n", select_kind_name(kind), strerror(ENOMEM));
	else if (err)
		return bad(select_kind_name(kind), glob,
			   "a glob: not empty, no control characters, at most 1024 bytes");
	return err;
}

/* One option of getopt_long (name: as given): 0, 1 after --help, -EINVAL
 * after saying what is wrong, -ENOMEM. */
static int parse_option(int c, const char *name, struct watch_options *o)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint64_t v;
	double d;
	int err;

	switch (c) {
	case OPT_WATCH:
		break;
	case OPT_INTERVAL:
		if (options_parse_seconds(optarg, &d) || d < 0.1 || d > 3600)
			return bad("sample-interval", optarg, "seconds from 0.1 to 3600");
		o->sample_interval_s = d;
		break;
	case OPT_WINDOW:
		if (options_parse_seconds(optarg, &d) || d < 1 || d > 86400)
			return bad("window", optarg, "seconds from 1 to 86400");
		o->detector.window_s = d;
		break;
	case OPT_MIN_GROWTH:
		if (options_parse_number(optarg, 1, 1ull << 40, &v))
			return bad("min-growth", optarg, "bytes per second, 1 to 2^40");
		o->detector.min_growth = (double)v;
		break;
	case OPT_TRACE_SECONDS:
		if (options_parse_seconds(optarg, &d) || d < 1 || d > 3600)
			return bad("trace-seconds", optarg, "seconds from 1 to 3600");
		o->trace_seconds = d;
		break;
	case OPT_MAX_TRACED:
		if (options_parse_number(optarg, 0, 64, &v))
			return bad("max-traced", optarg, "a number from 0 to 64");
		o->max_traced = v;
		break;
	case OPT_CPU_BUDGET:
		if (options_parse_seconds(optarg, &d) || d > 100)
			return bad("cpu-budget", optarg,
				   "percent of one core, from 0.001 to 100");
		o->cpu_budget_pct = d;
		break;
	case 's':
		if (options_parse_number(optarg, 0, 1ull << 40, &v))
			return bad("sample-bytes", optarg, "bytes, 0 to 2^40");
		o->sample_bytes = v;
		break;
	case OPT_NAMESPACE:
		if ((err = add_glob(o, SELECT_NAMESPACE, optarg)))
			return err;
		break;
	case OPT_POD:
		if ((err = add_glob(o, SELECT_POD, optarg)))
			return err;
		break;
	case OPT_CONTAINER:
		if ((err = add_glob(o, SELECT_CONTAINER, optarg)))
			return err;
		break;
	case OPT_COMM:
		o->comm_glob = optarg;
		break;
	case OPT_NO_TRACE:
		o->no_trace = true;
		break;
	case OPT_REPORT_DIR:
		o->report_dir = optarg;
		break;
	case OPT_POSTMORTEM_DIR:
		o->postmortem_dir = optarg;
		break;
	case OPT_LISTEN:
		if (http_parse_listen(optarg, &ss, &sslen))
			return bad("listen", optarg, "ADDR:PORT with a numeric address, e.g. "
				   "127.0.0.1:9464, 0.0.0.0:9464 or [::1]:9464");
		o->listen = optarg;
		break;
	case OPT_TOP:
		if (options_parse_number(optarg, 1, 100000, &v))
			return bad("top", optarg, "a number from 1 to 100000");
		o->top = v;
		break;
	case OPT_HOST_ROOT:
		o->host_root = optarg;
		break;
	case 'v':
		o->verbose = true;
		break;
	case 'h':
		fputs(watch_usage, stdout);
		return 1;
	case ':':
		fprintf(stderr, "leakwatch: %s needs a value (see leakwatch --watch --help)\n",
			name);
		return -EINVAL;
	default:
		fprintf(stderr,
			"leakwatch: %s: not an option of --watch (see leakwatch --watch "
			"--help)\n",
			name);
		return -EINVAL;
	}	return 0;
}

/* 0 to run, 1 after --help, -EINVAL after saying what is wrong, -ENOMEM. */
static int parse(int argc, char **argv, struct watch_options *o)
{
	int c;

	*o = (struct watch_options){
		.sample_interval_s = 5,
		.trace_seconds = 10,
		.max_traced = 1,
		.cpu_budget_pct = 2,
		.top = 20,
		.sample_bytes = 65536,
		.listen = "127.0.0.1:9464",
	};
	slope_params_default(&o->detector);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:vh", long_opts, NULL)) != -1) {
		const char *name = optind > 1 ? argv[optind - 1] : "";
		int err = parse_option(c, name, o);

		if (err)
			return err;
	}
	if (optind < argc) {
		fprintf(stderr, "leakwatch: --watch takes no PID or command: %s\n", argv[optind]);
		return -EINVAL;
	}
	if (o->detector.window_s < 4 * o->sample_interval_s) {
		fprintf(stderr, "leakwatch: --window %g must hold at least 4 samples of "
				"--sample-interval %g\n",
			o->detector.window_s, o->sample_interval_s);
		return -EINVAL;
	}
	return 0;
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

	err = parse(argc, argv, &o);
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
