// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "options.h"

/* the struct the specs' values go into (optspec.h) */
#define OPT_TARGET lw_options

static int parse_pids(const struct opt_spec *s, const char *arg, void *target);
static int parse_hooks(const struct opt_spec *s, const char *arg, void *target);
static int parse_format(const struct opt_spec *s, const char *arg, void *target);
static int parse_top(const struct opt_spec *s, const char *arg, void *target);
static int parse_ringbuf(const struct opt_spec *s, const char *arg, void *target);
static int parse_unwind(const struct opt_spec *s, const char *arg, void *target);
static int parse_prefix(const struct opt_spec *s, const char *arg, void *target);
static int print_version(const struct opt_spec *s, const char *arg, void *target);

static const char usage_head[] =
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
"A process that exits shows what it still held at exit: its leaks.\n";

static const char usage_tail[] =
"\n"
"Needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) and a kernel with BTF.\n"
"Prints a line containing \"ready\" to stderr once every probe is live.\n"
"\n"
"Exit status: 0 done; 1 tracing failed (permissions, no such process, no\n"
"allocator found, kernel feature missing); 2 bad command line, or an -o FILE or\n"
"--postmortem-dir that cannot be written; with -- COMMAND,\n"
"COMMAND's own status (128+N if killed by signal N, 126 not executable,\n"
"127 not found).\n";

static const struct opt_usage usage = { usage_head, usage_tail };

static const struct opt_spec trace_opts[] = {
	{ "pid", 'p', "PID[,PID...]", "attach to running processes (all their threads);\n"
	  "ends when they all exit, on SIGINT/SIGTERM or -d", SPEC_CUSTOM(parse_pids) },
	{ "-- COMMAND [ARGS...]", 0, NULL, "run COMMAND with probes live from its first\n"
	  "instruction; ends when it exits, and leakwatch\n"
	  "exits with its exit status", SPEC_NOTE },
	{ "no-follow", 0, NULL, "do not trace the processes they fork",
	  SPEC_CLEAR(follow) },
	{ "allocator-prefix", 0, "P", "also probe P-prefixed allocator functions (Pmalloc,\n"
	  "Pcalloc, Pfree, Pmallocx...) in whichever mapped\n"
	  "file defines them, e.g. je_ for a jemalloc built\n"
	  "with a prefix into the executable (jemalloc,\n"
	  "tcmalloc and mimalloc libraries need no option)", SPEC_CUSTOM(parse_prefix) },
	{ "no-mappings", 0, NULL, "trace only the malloc family, not mmap, munmap,\n"
	  "mremap, brk and mprotect (traced by default, raw\n"
	  "syscalls included; see README.md)", SPEC_CLEAR(maps) },
	{ "mapping-hooks", 0, "HOOK", "the kernel hooks that see those syscalls:\n"
	  "auto (default): fentry where the kernel has BPF\n"
	  "  trampolines, else tracepoint\n"
	  "fentry: fentry/fexit on the five syscalls; costs\n"
	  "  nothing to other syscalls\n"
	  "tracepoint: the sys_enter/sys_exit raw tracepoints;\n"
	  "  work everywhere, cost every syscall of the\n"
	  "  machine ~150 ns while leakwatch runs\n"
	  "kprobe: kprobes/kretprobes on the five syscalls;\n"
	  "  cheap, but a return is missed when more threads\n"
	  "  are in one of them at once than the kretprobe's\n"
	  "  pool holds (counted: mapping_return_missed)", SPEC_CUSTOM(parse_hooks) },
	{ "oom-only", 0, NULL, "trace no allocations: write a postmortem for every\n"
	  "OOM kill on the machine (needs --postmortem-dir);\n"
	  "ends on SIGINT/SIGTERM or -d", SPEC_SET(oom_only) },
	{ "kernel", 0, NULL, "also trace the kernel's own allocations, system-wide\n"
	  "(kmalloc, kmem_cache, pages not for user data,\n"
	  "percpu): reported as process 0 \"[kernel]\" with\n"
	  "kernel stacks of kind \"kernel\".  Alone, it runs\n"
	  "until SIGINT/SIGTERM or -d; with -p or --, while\n"
	  "they run.  Costs every CPU ~1 us per kernel\n"
	  "allocation; not with -s or --oom-only", SPEC_SET(kernel) },
};

static const struct opt_spec when_opts[] = {
	{ "interval", 'i', "SEC", "also print a report every SEC seconds (to stdout);\n"
	  "each stack then shows its growth since the last\n"
	  "report (JSON: bytes_delta, allocs_delta)", SPEC_SECONDS(interval_s, 0, 0) },
	{ "duration", 'd', "SEC", "stop tracing SEC seconds after the ready line (a\n"
	  "command goes on, untraced)", SPEC_SECONDS(duration_s, 0, 0) },
};

static const struct opt_spec what_opts[] = {
	{ "format", 'f', "FMT", "text (default); json (schema in README.md);\n"
	  "pprof: a gzip'd profile.proto for go tool pprof\n"
	  "(needs -o, e.g. -o heap.pb.gz; not with -i);\n"
	  "folded: \"frame;frame;... BYTES\" lines, root first,\n"
	  "for flamegraph.pl, inferno and speedscope;\n"
	  "html: one self-contained page with a flame graph\n"
	  "and the top stacks (needs -o; not with -i)", SPEC_CUSTOM(parse_format) },
	{ "output", 'o', "FILE", "write the final report to FILE (status lines go\n"
	  "to stderr either way): mode 0600, renamed into\n"
	  "place, never through a symlink; its directory is\n"
	  "checked before anything is traced", SPEC_STRING(output) },
	{ "top", 'T', "N", "stacks per process (text default 10; the other\n"
	  "formats carry every stack unless -T is given)", SPEC_CUSTOM(parse_top) },
	{ "min-size", 0, "BYTES", "only blocks of at least BYTES",
	  SPEC_NUMBER(OPT_U64, min_size, 0, UINT64_MAX) },
	{ "max-size", 0, "BYTES", "only blocks of at most BYTES",
	  SPEC_NUMBER(OPT_U64, max_size, 1, UINT64_MAX) },
	{ "older-than", 0, "MS", "only blocks older than MS milliseconds at report time\n"
	  "(per-process totals always count every block)",
	  SPEC_NUMBER(OPT_U64, older_than_ms, 0, OLDER_THAN_MAX_MS) },
	{ "postmortem-dir", 0, "DIR", "when the OOM killer kills a process, write what it\n"
	  "held (stacks, RSS, memory cgroup) to\n"
	  "DIR/TIME-PID-COMM.json and .txt before it is gone",
	  SPEC_PATH(postmortem_dir) },
	{ "postmortem-keep", 0, "N", "keep the newest N postmortems in DIR (default 20)",
	  SPEC_NUMBER(OPT_SIZE, postmortem_keep, 1, 1000000) },
	{ "snapshot-at", 0, "PCT", "also write one when a traced process's memory cgroup\n"
	  "passes PCT percent of its limit (1-100)", SPEC_NUMBER(OPT_UINT, snapshot_pct, 1, 100) },
	{ "host-root", 0, "DIR", "where the host's / is, for a leakwatch in a container\n"
	  "with the host mounted at DIR (default /): the\n"
	  "container, pod and namespace of each process are\n"
	  "read from DIR/proc, DIR/sys/fs/cgroup and the\n"
	  "runtimes' state under DIR/run and DIR/var/lib", SPEC_PATH(host_root) },
};

static const struct opt_spec cost_opts[] = {
	{ "sample-bytes", 's', "N", "sample: each allocated byte is kept with probability\n"
	  "1/N (a block of S bytes with min(1, S/N)); reported\n"
	  "bytes and blocks are scaled back and marked as\n"
	  "estimates.  Much cheaper; e.g. -s 524288",
	  SPEC_NUMBER(OPT_U64, sample_bytes, 2, UINT32_MAX) },
	{ "sample-table", 0, "N", "sampled blocks the kernel keeps (default 1048576)",
	  SPEC_NUMBER(OPT_SIZE, sample_entries, 16, 1 << 26) },
};

static const struct opt_spec capacity_opts[] = {
	/* the kernel takes a power of two of at least a page that fits its
	 * u32 map size */
	{ "ringbuf-size", 0, "BYTES", "kernel-to-leakwatch buffer (default 64 MiB; a power of\n"
	  "2, at most 1 GiB)", SPEC_CUSTOM(parse_ringbuf) },
	{ "stack-table", 0, "N", "distinct stacks the kernel keeps (default 16384,\n"
	  "528 B each); more arrive inline, at a higher cost.\n"
	  "The kernel buffers may take at most a quarter of\n"
	  "the machine's memory", SPEC_NUMBER(OPT_SIZE, stack_entries, 16, UINT32_MAX) },
	{ "unwind-memory", 0, "BYTES", "kernel memory for the tables that unwind code built\n"
	  "without frame pointers (default 16 MiB); files whose\n"
	  "table does not fit are walked by frame pointers\n"
	  "(counted: unwind_tables_over_bound); 0: frame\n"
	  "pointers only", SPEC_CUSTOM(parse_unwind) },
	{ "entry-probes", 0, NULL, "probe each function at its first instruction, even\n"
	  "where the kernel must single-step it (~30x slower;\n"
	  "by default probes move past test/cmp to the next\n"
	  "emulated instruction, see -v)", SPEC_SET(entry_probes) },
	{ "legacy-uprobes", 0, NULL, "one perf-event uprobe per probe, as on kernels before\n"
	  "6.13, even where uprobe sessions exist (slower to\n"
	  "attach and detach; unsampled calls still pay their\n"
	  "return probe)", SPEC_SET(legacy_uprobes) },
};

static const struct opt_spec other_opts[] = {
	{ "verbose", 'v', NULL, "debug output: probe sites, libbpf messages",
	  SPEC_SET(verbose) },
	{ "help", 'h', NULL, "this help", SPEC_HELP(usage) },
	{ "version", 0, NULL, "print the version", SPEC_CUSTOM(print_version) },
};

static const struct opt_group groups[] = {
	OPT_GROUP("What to trace", trace_opts),
	OPT_GROUP("When to report", when_opts),
	OPT_GROUP("What to report", what_opts),
	OPT_GROUP("Cost", cost_opts),
	OPT_GROUP("Capacity", capacity_opts),
	OPT_GROUP("Other", other_opts),
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static int print_version(const struct opt_spec *s, const char *arg, void *target)
{
	printf("leakwatch %s\n", LW_VERSION);
	return 1;
}

static int parse_pids(const struct opt_spec *s, const char *arg, void *target)
{
	struct lw_options *o = target;
	const char *tok = arg;
	int err = 0;

	for (;;) {
		size_t len = strcspn(tok, ","), i;
		char *one = strndup(tok, len);
		uint64_t v;
		pid_t *p;

		if (!one)
			return -ENOMEM;
		err = optspec_number(s, one, 1, INT_MAX, &v);
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

static int parse_hooks(const struct opt_spec *s, const char *arg, void *target)
{
	struct lw_options *o = target;

	if (map_hook_parse(arg, &o->map_hook))
		return optspec_bad(s->name, arg, "expected auto, fentry, kprobe or tracepoint");
	return 0;
}

static int parse_format(const struct opt_spec *s, const char *arg, void *target)
{
	static const struct {
		const char *name;
		enum report_format format;
	} formats[] = {
		{ "text", REPORT_TEXT }, { "json", REPORT_JSON }, { "pprof", REPORT_PPROF },
		{ "folded", REPORT_FOLDED }, { "html", REPORT_HTML },
	};
	struct lw_options *o = target;

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (!strcmp(arg, formats[i].name)) {
			o->format = formats[i].format;
			return 0;
		}
	}
	return optspec_bad(s->name, arg, "expected text, json, pprof, folded or html");
}

static int parse_top(const struct opt_spec *s, const char *arg, void *target)
{
	struct lw_options *o = target;
	uint64_t v;
	int err = optspec_number(s, arg, 1, SIZE_MAX, &v);

	if (err)
		return err;
	o->top = v;
	o->top_explicit = true;
	return 0;
}

static int parse_ringbuf(const struct opt_spec *s, const char *arg, void *target)
{
	struct lw_options *o = target;
	uint64_t v;
	int err = optspec_number(s, arg, 4096, RINGBUF_MAX, &v);

	if (err)
		return err;
	if (v & (v - 1))
		return optspec_bad(s->name, arg, "must be a power of two");
	o->ringbuf_bytes = v;
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
	return optspec_bad(opt, arg, why);
}

static int parse_unwind(const struct opt_spec *s, const char *arg, void *target)
{
	struct lw_options *o = target;
	uint64_t v;
	int err = optspec_number(s, arg, 0, 1ull << 32, &v);

	err = err ?: check_table(s->name, arg, v, 1);
	if (!err)
		o->unwind_bytes = v;
	return err;
}

static int parse_prefix(const struct opt_spec *s, const char *arg, void *target)
{
	struct lw_options *o = target;

	/* a C identifier's start: it is glued to "malloc" */
	if (!*arg || strlen(arg) > 64 ||
	    strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
	    strlen(arg) || (*arg >= '0' && *arg <= '9'))
		return optspec_bad(s->name, arg, "letters, digits and '_', at most 64, e.g. je_");
	o->allocator_prefix = arg;
	return 0;
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
		lw_info("--stack-table %zu takes %s of kernel memory%s\n", o->stack_entries, cost,
			bytes >= (1ull << 30) ?
			"; the kernel may take a while to allocate it" : "");
	}
	return 0;
}

/* The defaults of every option the table leaves at zero. */
void options_defaults(struct lw_options *o)
{
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
}

/*
 * The options that only make sense together, once all are known: the
 * first conflict is logged and gives -EINVAL.  --oom-only's small kernel
 * buffers are set here, as defaults that an explicit size overrides.
 */
static int check_options(struct lw_options *o, const bool *given, bool explicit_command)
{
	if (o->npids && o->argv && !explicit_command)
		lw_err("unexpected argument '%s' after the options: -p traces running "
		       "processes; to run a command give it after --, without -p\n", o->argv[0]);
	else if (o->kernel && o->oom_only)
		lw_err("--kernel traces allocations and --oom-only traces none: give one or "
		       "the other\n");
	/* a sampled kernel ledger would need a sampled-address set on every
	 * CPU's hot path; the kernel's records are exact */
	else if (o->kernel && o->sample_bytes)
		lw_err("--kernel cannot be sampled: give no -s with it\n");
	else if (!o->maps && o->map_hook != MAP_HOOK_AUTO)
		lw_err("--mapping-hooks chooses how mappings are traced and --no-mappings "
		       "traces none: give one or the other\n");
	else if (o->oom_only && !o->postmortem_dir)
		lw_err("--oom-only needs --postmortem-dir DIR, where the postmortems go\n");
	else if (o->oom_only && (o->npids || o->argv))
		lw_err("--oom-only traces no process: give no -p PID or -- COMMAND with it\n");
	else if (o->snapshot_pct && (!o->postmortem_dir || o->oom_only))
		lw_err("--snapshot-at needs --postmortem-dir DIR and traced processes "
		       "(-p PID or -- COMMAND)\n");
	else if (o->oom_only) {
		/* only OOM records: small kernel buffers, cheap to leave running */
		if (!optspec_given(groups, NGROUPS, given, "ringbuf-size"))
			o->ringbuf_bytes = 256 << 10;
		if (!optspec_given(groups, NGROUPS, given, "stack-table"))
			o->stack_entries = 16;
		o->unwind_bytes = 0;
		return 0;
	} else if (!o->npids && !o->argv && !o->kernel)
		lw_err("nothing to trace: give -p PID, -- COMMAND or --kernel\n");
	else if (o->npids && o->argv)
		lw_err("give either -p PID or -- COMMAND, not both\n");
	else if (o->min_size && o->max_size && o->min_size > o->max_size)
		lw_err("--min-size is larger than --max-size\n");
	/* one binary profile or page is a file, not a stream on a terminal */
	else if ((o->format == REPORT_PPROF || o->format == REPORT_HTML) &&
		 (!o->output || o->interval_s))
		lw_err("-f %s writes one file: give -o FILE, and no -i\n",
		       o->format == REPORT_PPROF ? "pprof" : "html");
	else
		return 0;
	return -EINVAL;
}

void options_free(struct lw_options *o)
{
	free(o->pids);
	o->pids = NULL;
	o->npids = 0;
}

int options_parse(int argc, char **argv, struct lw_options *o)
{
	bool given[optspec_count(groups, NGROUPS)], explicit_command;
	int err, rest;

	options_defaults(o);
	err = optspec_parse(groups, NGROUPS, argc, argv, o, given, &rest);
	if (err == 1) {		/* --help or --version */
		options_free(o);	/* -p may have come first */
		return 1;
	}
	if (!err) {
		if (rest < argc)
			o->argv = &argv[rest];
		/* whether the command came after "--" (getopt leaves it before) */
		explicit_command = o->argv && rest > 0 && !strcmp(argv[rest - 1], "--");
		err = check_options(o, given, explicit_command);
	}
	if (!err)
		err = check_capacity(o);
	if (!err)
		return 0;
	fputs("Try 'leakwatch --help' for more information.\n", stderr);
	options_free(o);
	return err == -ENOMEM ? -ENOMEM : -EINVAL;
}
