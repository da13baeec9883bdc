// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

static const char usage_text[] =
"Usage: leakwatch [OPTIONS] -p PID[,PID...]\n"
"       leakwatch [OPTIONS] -- COMMAND [ARGS...]\n"
"       leakwatch --oom-only --postmortem-dir DIR [OPTIONS]\n"
"       leakwatch --kernel [OPTIONS] [-p PID[,PID...] | -- COMMAND [ARGS...]]\n"
"       leakwatch diff [-f text|json] [-T N] OLD.json NEW.json\n"
"                         what changed between two -f json reports (see\n"
"                         leakwatch diff --help)\n"
"\n"
"Trace the heap allocations (glibc malloc family) of running processes or of\n"
"a command, and report the blocks still outstanding by allocating call stack.\n"
"A process that exits shows what it still held at exit: its leaks.\n"
"\n"
"What to trace:\n"
"  -p, --pid PID[,PID...]   attach to running processes (all their threads);\n"
"                           ends when they all exit, on SIGINT/SIGTERM or -d\n"
"  -- COMMAND [ARGS...]     run COMMAND with probes live from its first\n"
"                           instruction; ends when it exits, and leakwatch\n"
"                           exits with its exit status\n"
"      --no-follow          do not trace the processes they fork\n"
"      --allocator-prefix P also probe P-prefixed allocator functions (Pmalloc,\n"
"                           Pcalloc, Pfree, Pmallocx...) in whichever mapped\n"
"                           file defines them, e.g. je_ for a jemalloc built\n"
"                           with a prefix into the executable (jemalloc,\n"
"                           tcmalloc and mimalloc libraries need no option)\n"
"      --no-mappings        trace only the malloc family, not mmap, munmap,\n"
"                           mremap, brk and mprotect (traced by default, raw\n"
"                           syscalls included; see README.md)\n"
"      --mapping-hooks HOOK the kernel hooks that see those syscalls:\n"
"                           auto (default): fentry where the kernel has BPF\n"
"                             trampolines, else tracepoint\n"
"                           fentry: fentry/fexit on the five syscalls; costs\n"
"                             nothing to other syscalls\n"
"                           tracepoint: the sys_enter/sys_exit raw tracepoints;\n"
"                             work everywhere, cost every syscall of the\n"
"                             machine ~150 ns while leakwatch runs\n"
"                           kprobe: kprobes/kretprobes on the five syscalls;\n"
"                             cheap, but a return is missed when more threads\n"
"                             are in one of them at once than the kretprobe's\n"
"                             pool holds (counted: mapping_return_missed)\n"
"      --oom-only           trace no allocations: write a postmortem for every\n"
"                           OOM kill on the machine (needs --postmortem-dir);\n"
"                           ends on SIGINT/SIGTERM or -d\n"
"      --kernel             also trace the kernel's own allocations, system-wide\n"
"                           (kmalloc, kmem_cache, pages not for user data,\n"
"                           percpu): reported as process 0 \"[kernel]\" with\n"
"                           kernel stacks of kind \"kernel\".  Alone, it runs\n"
"                           until SIGINT/SIGTERM or -d; with -p or --, while\n"
"                           they run.  Costs every CPU ~1 us per kernel\n"
"                           allocation; not with -s or --oom-only\n"
"\n"
"When to report:\n"
"  -i, --interval SEC       also print a report every SEC seconds (to stdout);\n"
"                           each stack then shows its growth since the last\n"
"                           report (JSON: bytes_delta, allocs_delta)\n"
"  -d, --duration SEC       stop tracing SEC seconds after the ready line (a\n"
"                           command goes on, untraced)\n"
"\n"
"What to report:\n"
"  -f, --format FMT         text (default); json (schema in README.md);\n"
"                           pprof: a gzip'd profile.proto for go tool pprof\n"
"                           (needs -o, e.g. -o heap.pb.gz; not with -i);\n"
"                           folded: \"frame;frame;... BYTES\" lines, root first,\n"
"                           for flamegraph.pl, inferno and speedscope;\n"
"                           html: one self-contained page with a flame graph\n"
"                           and the top stacks (needs -o; not with -i)\n"
"  -o, --output FILE        write the final report to FILE (status lines go\n"
"                           to stderr either way): mode 0600, renamed into\n"
"                           place, never through a symlink; its directory is\n"
"                           checked before anything is traced\n"
"  -T, --top N              stacks per process (text default 10; the other\n"
"                           formats carry every stack unless -T is given)\n"
"      --min-size BYTES     only blocks of at least BYTES\n"
"      --max-size BYTES     only blocks of at most BYTES\n"
"      --older-than MS      only blocks older than MS milliseconds at report time\n"
"                           (per-process totals always count every block)\n"
"      --postmortem-dir DIR when the OOM killer kills a process, write what it\n"
"                           held (stacks, RSS, memory cgroup) to\n"
"                           DIR/TIME-PID-COMM.json and .txt before it is gone\n"
"      --postmortem-keep N  keep the newest N postmortems in DIR (default 20)\n"
"      --snapshot-at PCT    also write one when a traced process's memory cgroup\n"
"                           passes PCT percent of its limit (1-100)\n"
"      --host-root DIR      where the host's / is, for a leakwatch in a container\n"
"                           with the host mounted at DIR (default /): the\n"
"                           container, pod and namespace of each process are\n"
"                           read from DIR/proc, DIR/sys/fs/cgroup and the\n"
"                           runtimes' state under DIR/run and DIR/var/lib\n"
"\n"
"Cost:\n"
"  -s, --sample-bytes N     sample: each allocated byte is kept with probability\n"
"                           1/N (a block of S bytes with min(1, S/N)); reported\n"
"                           bytes and blocks are scaled back and marked as\n"
"                           estimates.  Much cheaper; e.g. -s 524288\n"
"      --sample-table N     sampled blocks the kernel keeps (default 1048576)\n"
"\n"
"Capacity:\n"
"      --ringbuf-size BYTES kernel-to-leakwatch buffer (default 64 MiB; a power of\n"
"                           2, at most 1 GiB)\n"
"      --stack-table N      distinct stacks the kernel keeps (default 16384,\n"
"                           528 B each); more arrive inline, at a higher cost.\n"
"                           The kernel buffers may take at most a quarter of\n"
"                           the machine's memory\n"
"      --unwind-memory BYTES  kernel memory for the tables that unwind code built\n"
"                           without frame pointers (default 16 MiB); files whose\n"
"                           table does not fit are walked by frame pointers\n"
"                           (counted: unwind_tables_over_bound); 0: frame\n"
"                           pointers only\n"
"      --entry-probes       probe each function at its first instruction, even\n"
"                           where the kernel must single-step it (~30x slower;\n"
"                           by default probes move past test/cmp to the next\n"
"                           emulated instruction, see -v)\n"
"      --legacy-uprobes     one perf-event uprobe per probe, as on kernels before\n"
"                           6.13, even where uprobe sessions exist (slower to\n"
"                           attach and detach; unsampled calls still pay their\n"
"                           return probe)\n"
"\n"
"Other:\n"
"  -v, --verbose            debug output: probe sites, libbpf messages\n"
"  -h, --help               this help\n"
"      --version            print the version\n"
"\n"
"Needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) and a kernel with BTF.\n"
"Prints a line containing \"ready\" to stderr once every probe is live.\n"
"\n"
"Exit status: 0 done; 1 tracing failed (permissions, no such process, no\n"
"allocator found, kernel feature missing); 2 bad command line, or an -o FILE or\n"
"--postmortem-dir that cannot be written; with -- COMMAND,\n"
"COMMAND's own status (128+N if killed by signal N, 126 not executable,\n"
"127 not found).\n";

enum {
	OPT_NO_FOLLOW = 256,
	OPT_NO_MAPPINGS,
	OPT_MAPPING_HOOKS,
	OPT_MIN_SIZE,
	OPT_MAX_SIZE,
	OPT_OLDER_THAN,
	OPT_RINGBUF,
	OPT_STACK_TABLE,
	OPT_UNWIND_MEMORY,
	OPT_ENTRY_PROBES,
	OPT_SAMPLE_TABLE,
	OPT_LEGACY_UPROBES,
	OPT_POSTMORTEM_DIR,
	OPT_POSTMORTEM_KEEP,
	OPT_OOM_ONLY,
	OPT_KERNEL,
	OPT_SNAPSHOT_AT,
	OPT_VERSION,
	OPT_ALLOCATOR_PREFIX,
	OPT_HOST_ROOT,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "no-follow", no_argument, NULL, OPT_NO_FOLLOW },
	{ "no-mappings", no_argument, NULL, OPT_NO_MAPPINGS },
	{ "mapping-hooks", required_argument, NULL, OPT_MAPPING_HOOKS },
	{ "interval", required_argument, NULL, 'i' },
	{ "duration", required_argument, NULL, 'd' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "top", required_argument, NULL, 'T' },
	{ "min-size", required_argument, NULL, OPT_MIN_SIZE },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "older-than", required_argument, NULL, OPT_OLDER_THAN },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "stack-table", required_argument, NULL, OPT_STACK_TABLE },
	{ "unwind-memory", required_argument, NULL, OPT_UNWIND_MEMORY },
	{ "entry-probes", no_argument, NULL, OPT_ENTRY_PROBES },
	{ "sample-bytes", required_argument, NULL, 's' },
	{ "sample-table", required_argument, NULL, OPT_SAMPLE_TABLE },
	{ "legacy-uprobes", no_argument, NULL, OPT_LEGACY_UPROBES },
	{ "postmortem-dir", required_argument, NULL, OPT_POSTMORTEM_DIR },
	{ "postmortem-keep", required_argument, NULL, OPT_POSTMORTEM_KEEP },
	{ "oom-only", no_argument, NULL, OPT_OOM_ONLY },
	{ "kernel", no_argument, NULL, OPT_KERNEL },
	{ "snapshot-at", required_argument, NULL, OPT_SNAPSHOT_AT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "allocator-prefix", required_argument, NULL, OPT_ALLOCATOR_PREFIX },
	{ "host-root", required_argument, NULL, OPT_HOST_ROOT },
	{}
};

static int bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "leakwatch: invalid %s '%s': %s\n", opt, arg, why);
	return -EINVAL;
}

int options_parse_number(const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *c;

	/* digits only: strtoull would take " -1" and wrap it to 2^64-1, and
	 * "+1", "0x10" or "1 " are no one's idea of a count */
	if (!*arg)
		return -EINVAL;
	for (c = arg; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*c - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* One number option: a whole number in [min, max], or a message naming
 * what is wrong with it. */
static int parse_u64(const char *opt, const char *arg, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	char why[96];
	int err = options_parse_number(arg, min, max, out);

	if (err == -EINVAL)
		return bad(opt, arg, "expected a whole number of digits (no sign or spaces)");
	if (err) {
		uint64_t v;

		/* which end it missed: a value too long to parse is too large */
		if (min && !options_parse_number(arg, 0, UINT64_MAX, &v) && v < min)
			snprintf(why, sizeof(why), "at least %" PRIu64, min);
		else
			snprintf(why, sizeof(why), "at most %" PRIu64, max);
		return bad(opt, arg, why);
	}
	return 0;
}

int options_parse_seconds(const char *arg, double *out)
{
	size_t ints = strspn(arg, "0123456789"), frac = 0;
	double v;

	/* plain decimals: strtod would also take " 1", "1e-12", "inf" and hex */
	if (arg[ints] == '.')
		frac = strspn(arg + ints + 1, "0123456789") + 1;
	if (ints + frac != strlen(arg) || (!ints && frac < 2))
		return -EINVAL;
	v = strtod(arg, NULL);
	/* the loop counts in nanoseconds and polls every few: less than a
	 * millisecond would truncate to nothing or spin */
	if (v < 1e-3 || v > 1e9)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_seconds(const char *opt, const char *arg, double *out)
{
	int err = options_parse_seconds(arg, out);

	if (err == -EINVAL)
		return bad(opt, arg, "expected seconds as a plain decimal, e.g. 5 or 0.5");
	if (err)
		return bad(opt, arg, "expected 0.001 to 1000000000 seconds");
	return 0;
}

/* The machine's memory: kernel buffers larger than a quarter of it are
 * refused before anything is allocated. */
static uint64_t memory_budget(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return UINT64_MAX;
	return (uint64_t)pages * (uint64_t)size / 4;
}

static void fmt_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (1ull << 30))
		snprintf(buf, len, "%.1f GiB", bytes / (double)(1ull << 30));
	else
		snprintf(buf, len, "%.1f MiB", bytes / (double)(1ull << 20));
}

/* A table of entries of entry_bytes each: at most a quarter of memory. */
static int check_table(const char *opt, const char *arg, uint64_t entries, uint64_t entry_bytes)
{
	uint64_t budget = memory_budget();
	char cost[32], mem[32], why[256];

	if (entries <= budget / entry_bytes)
		return 0;
	fmt_size(entries * entry_bytes, cost, sizeof(cost));
	fmt_size(budget * 4, mem, sizeof(mem));
	snprintf(why, sizeof(why), "would take %s of kernel memory, more than a quarter of "
		 "this machine's %s (at most %" PRIu64 ")", cost, mem, budget / entry_bytes);
	return bad(opt, arg, why);
}

static int parse_pids(const char *arg, struct lw_options *o)
{
	const char *tok = arg;
	int err = 0;

	for (;;) {
		size_t len = strcspn(tok, ","), i;
		char *one = strndup(tok, len);
		uint64_t v;
		pid_t *p;

		if (!one)
			return -ENOMEM;
		err = parse_u64("pid", one, 1, INT_MAX, &v);
		free(one);
		if (err)
			break;
		/* "-p P,P" is one process, not two entries for it */
		for (i = 0; i < o->npids && o->pids[i] != (pid_t)v; i++)
			;
		if (i == o->npids) {
			p = realloc(o->pids, (o->npids + 1) * sizeof(*p));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			o->pids = p;
			o->pids[o->npids++] = (pid_t)v;
		}
		if (!tok[len])
			break;
		tok += len + 1;
	}
	return err;
}

/* The kernel buffers against the machine's memory, once every option is
 * known (--kernel doubles them); what a table larger than the default
 * costs is said before it is allocated. */
static int check_capacity(const struct lw_options *o)
{
	uint64_t copies = o->kernel ? 2 : 1, bytes;
	char arg[32], cost[32];
	int err;

	snprintf(arg, sizeof(arg), "%zu", o->stack_entries);
	err = check_table("stack-table", arg, o->stack_entries * copies, LW_STACK_ENTRY_BYTES);
	if (!err) {
		snprintf(arg, sizeof(arg), "%zu", o->ringbuf_bytes);
		err = check_table("ringbuf-size", arg, o->ringbuf_bytes * copies, 1);
	}
	if (!err && o->sample_bytes) {
		snprintf(arg, sizeof(arg), "%zu", o->sample_entries);
		err = check_table("sample-table", arg, o->sample_entries, LW_SAMPLE_ENTRY_BYTES);
	}
	if (err)
		return err;
	bytes = o->stack_entries * copies * LW_STACK_ENTRY_BYTES;
	if (o->stack_entries > LW_DEFAULT_STACK_ENTRIES) {
		fmt_size(bytes, cost, sizeof(cost));
		fprintf(stderr, "leakwatch: --stack-table %zu takes %s of kernel memory%s\n",
			o->stack_entries, cost,
			bytes >= (1ull << 30) ? "; the kernel may take a while to allocate it" : "");
	}
	return 0;
}

void options_free(struct lw_options *o)
{
	free(o->pids);
	o->pids = NULL;
	o->npids = 0;
}

int options_parse(int argc, char **argv, struct lw_options *o)
{
	bool ringbuf_set = false, stacks_set = false, explicit_command;
	uint64_t v;
	int c, err = 0;

	memset(o, 0, sizeof(*o));
	o->follow = true;
	o->maps = true;
	o->top = 10;
	o->format = REPORT_TEXT;
	/* 64 MiB: growing the ledger of a process with 10 million live
	 * blocks pauses the consumer for about a second; the buffer has to
	 * hold what a busy process allocates meanwhile */
	o->ringbuf_bytes = 64 << 20;
	o->stack_entries = LW_DEFAULT_STACK_ENTRIES;
	o->unwind_bytes = 16 << 20;
	o->sample_entries = 1 << 20;
	o->postmortem_keep = 20;

	/* 0 rescans from the start, with getopt's state reset: a parse is a
	 * function of argv alone (the tests and the fuzzer parse many) */
	optind = 0;
	/* '+': stop at the first non-option, COMMAND's own options are its own */
	while ((c = getopt_long(argc, argv, "+p:i:d:f:o:T:s:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			err = parse_pids(optarg, o);
			break;
		case OPT_NO_MAPPINGS:
			o->maps = false;
			break;
		case OPT_MAPPING_HOOKS:
			if (map_hook_parse(optarg, &o->map_hook))
				err = bad("mapping-hooks", optarg,
					  "expected auto, fentry, kprobe or tracepoint");
			break;
		case OPT_NO_FOLLOW:
			o->follow = false;
			break;
		case 'i':
			err = parse_seconds("interval", optarg, &o->interval_s);
			break;
		case 'd':
			err = parse_seconds("duration", optarg, &o->duration_s);
			break;
		case 'f':
			if (!strcmp(optarg, "text"))
				o->format = REPORT_TEXT;
			else if (!strcmp(optarg, "json"))
				o->format = REPORT_JSON;
			else if (!strcmp(optarg, "pprof"))
				o->format = REPORT_PPROF;
			else if (!strcmp(optarg, "folded"))
				o->format = REPORT_FOLDED;
			else if (!strcmp(optarg, "html"))
				o->format = REPORT_HTML;
			else
				err = bad("format", optarg,
					  "expected text, json, pprof, folded or html");
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'T':
			err = parse_u64("top", optarg, 1, SIZE_MAX, &v);
			o->top = v;
			o->top_explicit = true;
			break;
		case OPT_MIN_SIZE:
			err = parse_u64("min-size", optarg, 0, UINT64_MAX, &o->min_size);
			break;
		case OPT_MAX_SIZE:
			err = parse_u64("max-size", optarg, 1, UINT64_MAX, &o->max_size);
			break;
		case OPT_OLDER_THAN:
			err = parse_u64("older-than", optarg, 0, OLDER_THAN_MAX_MS, &o->older_than_ms);
			break;
		case OPT_RINGBUF:
			/* the kernel takes a power of two of at least a page
			 * that fits its u32 map size */
			err = parse_u64("ringbuf-size", optarg, 4096, RINGBUF_MAX, &v);
			if (!err && (v & (v - 1)))
				err = bad("ringbuf-size", optarg, "must be a power of two");
			o->ringbuf_bytes = v;
			ringbuf_set = true;
			break;
		case OPT_STACK_TABLE:
			err = parse_u64("stack-table", optarg, 16, UINT32_MAX, &v);
			o->stack_entries = v;
			stacks_set = true;
			break;
		case OPT_UNWIND_MEMORY:
			err = parse_u64("unwind-memory", optarg, 0, 1ull << 32, &v);
			err = err ?: check_table("unwind-memory", optarg, v, 1);
			o->unwind_bytes = v;
			break;
		case 's':
			err = parse_u64("sample-bytes", optarg, 2, UINT32_MAX, &o->sample_bytes);
			break;
		case OPT_SAMPLE_TABLE:
			err = parse_u64("sample-table", optarg, 16, 1 << 26, &v);
			o->sample_entries = v;
			break;
		case OPT_LEGACY_UPROBES:
			o->legacy_uprobes = true;
			break;
		case OPT_POSTMORTEM_DIR:
			if (!*optarg)
				err = bad("postmortem-dir", optarg, "empty");
			o->postmortem_dir = optarg;
			break;
		case OPT_POSTMORTEM_KEEP:
			err = parse_u64("postmortem-keep", optarg, 1, 1000000, &v);
			o->postmortem_keep = v;
			break;
		case OPT_OOM_ONLY:
			o->oom_only = true;
			break;
		case OPT_KERNEL:
			o->kernel = true;
			break;
		case OPT_SNAPSHOT_AT:
			err = parse_u64("snapshot-at", optarg, 1, 100, &v);
			o->snapshot_pct = v;
			break;
		case OPT_ENTRY_PROBES:
			o->entry_probes = true;
			break;
		case OPT_ALLOCATOR_PREFIX:
			/* a C identifier's start: it is glued to "malloc" */
			if (!*optarg || strlen(optarg) > 64 ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_") != strlen(optarg) || (*optarg >= '0' && *optarg <= '9'))
				err = bad("allocator-prefix", optarg,
					  "letters, digits and '_', at most 64, e.g. je_");
			o->allocator_prefix = optarg;
			break;
		case OPT_HOST_ROOT:
			if (!*optarg)
				err = bad("host-root", optarg, "empty");
			o->host_root = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			options_free(o);	/* -p may have come first */
			return 1;
		case OPT_VERSION:
			printf("leakwatch %s\n", LW_VERSION);
			options_free(o);
			return 1;
		default:	/* getopt printed what it did not understand */
			err = -EINVAL;
			break;
		}
		if (err)
			goto fail;
	}
	if (optind < argc)
		o->argv = &argv[optind];
	/* whether the command came after "--" (getopt leaves it before) */
	explicit_command = o->argv && optind > 0 && !strcmp(argv[optind - 1], "--");
	if (o->npids && o->argv && !explicit_command) {
		fprintf(stderr, "leakwatch: unexpected argument '%s' after the options: -p traces "
			"running processes; to run a command give it after --, without -p\n",
			o->argv[0]);
		err = -EINVAL;
	} else if (o->kernel && o->oom_only) {
		fprintf(stderr, "leakwatch: --kernel traces allocations and --oom-only traces none: "
			"give one or the other\n");
		err = -EINVAL;
	} else if (o->kernel && o->sample_bytes) {
		/* a sampled kernel ledger would need a sampled-address set on
		 * every CPU's hot path; the kernel's records are exact */
		fprintf(stderr, "leakwatch: --kernel cannot be sampled: give no -s with it\n");
		err = -EINVAL;
	} else if (!o->maps && o->map_hook != MAP_HOOK_AUTO) {
		fprintf(stderr, "leakwatch: --mapping-hooks chooses how mappings are traced and "
			"--no-mappings traces none: give one or the other\n");
		err = -EINVAL;
	} else if (o->oom_only && !o->postmortem_dir) {
		fprintf(stderr, "leakwatch: --oom-only needs --postmortem-dir DIR, where the "
			"postmortems go\n");
		err = -EINVAL;
	} else if (o->oom_only && (o->npids || o->argv)) {
		fprintf(stderr, "leakwatch: --oom-only traces no process: give no -p PID or "
			"-- COMMAND with it\n");
		err = -EINVAL;
	} else if (o->snapshot_pct && (!o->postmortem_dir || o->oom_only)) {
		fprintf(stderr, "leakwatch: --snapshot-at needs --postmortem-dir DIR and traced "
			"processes (-p PID or -- COMMAND)\n");
		err = -EINVAL;
	} else if (o->oom_only) {
		/* only OOM records: small kernel buffers, cheap to leave running */
		if (!ringbuf_set)
			o->ringbuf_bytes = 256 << 10;
		if (!stacks_set)
			o->stack_entries = 16;
		o->unwind_bytes = 0;
	} else if (!o->npids && !o->argv && !o->kernel) {
		fprintf(stderr, "leakwatch: nothing to trace: give -p PID, -- COMMAND or --kernel\n");
		err = -EINVAL;
	} else if (o->npids && o->argv) {
		fprintf(stderr, "leakwatch: give either -p PID or -- COMMAND, not both\n");
		err = -EINVAL;
	} else if (o->min_size && o->max_size && o->min_size > o->max_size) {
		fprintf(stderr, "leakwatch: --min-size is larger than --max-size\n");
		err = -EINVAL;
	} else if ((o->format == REPORT_PPROF || o->format == REPORT_HTML) &&
		   (!o->output || o->interval_s)) {
		/* one binary profile or page is a file, not a stream on a terminal */
		fprintf(stderr, "leakwatch: -f %s writes one file: give -o FILE, and no -i\n",
			o->format == REPORT_PPROF ? "pprof" : "html");
		err = -EINVAL;
	}
	if (!err)
		err = check_capacity(o);
	if (!err)
		return 0;
fail:
	fprintf(stderr, "Try 'leakwatch --help' for more information.\n");
	options_free(o);
	return err == -ENOMEM ? -ENOMEM : -EINVAL;
}
