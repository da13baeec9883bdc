/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The command line, turned into one options struct.
 *
 * Every option is declared once, in a table of specs in options.c (the
 * engine is optspec.h): its long and short name, its argument, its help
 * text and the field it sets, so parsing and --help cannot drift apart.
 * Options that only make sense together are checked afterwards, in one
 * function (check_options), each conflict with its own message.
 *
 * To add a group of options (say, a daemon's --watch and --listen):
 *   1. the fields in struct lw_options, and their defaults in options_defaults;
 *   2. a table in options.c, one spec per option (long name, short name
 *      or 0, argument or NULL, help lines, then where the value goes):
 *        static const struct opt_spec watch_opts[] = {
 *                { "watch", 0, NULL, "run until stopped, tracing what\n"
 *                  "the rules select", SET(watch) },
 *                { "listen", 0, "ADDR:PORT", "serve /metrics on ADDR:PORT",
 *                  CUSTOM(parse_listen) },
 *                { "rescan", 0, "SEC", "look for new processes every SEC\n"
 *                  "seconds", SECONDS(rescan_s) },
 *                { "max-procs", 0, "N", "trace at most N processes",
 *                  NUMBER(OPT_SIZE, max_procs, 1, 100000) },
 *        };
 *      (SET, CLEAR, NUMBER, SECONDS, STRING, PATH and CUSTOM are options.c's
 *      shorthands for the kinds of optspec.h; a CUSTOM parser logs with
 *      optspec_bad and returns -EINVAL);
 *   3. one line in groups[]: OPT_GROUP("Watching", watch_opts), which is
 *      where --help shows them;
 *   4. their conflicts with other options in check_options.
 * Unit tests: tests/unit/cli/test_options.c and test_optspec.c; the
 * fuzzer: fuzz_options.
 */
#ifndef LW_OPTIONS_H
#define LW_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "maphooks.h"
#include "optspec.h"
#include "report.h"

#define LW_VERSION "0.1.0"

/* Exit codes (documented in --help and README.md). */
enum lw_exit {
	LW_EXIT_OK = 0,
	LW_EXIT_FAILURE = 1,	/* could not trace: permissions, no such pid, ... */
	LW_EXIT_USAGE = 2,	/* bad command line */
	LW_EXIT_CANNOT_EXEC = 126,
	LW_EXIT_NOT_FOUND = 127,
};

struct lw_options {
	pid_t *pids;		/* -p */
	size_t npids;
	char **argv;		/* -- COMMAND ARGS... (NULL-terminated) */
	bool follow;
	bool maps;		/* mmap/munmap/mremap/brk too (--no-mappings clears) */
	enum map_hook map_hook;	/* --mapping-hooks */
	double interval_s;	/* 0: no periodic reports */
	double duration_s;	/* 0: until the end */
	size_t top;
	bool top_explicit;
	enum report_format format;
	const char *output;	/* NULL: stdout */
	uint64_t min_size, max_size, older_than_ms;
	size_t ringbuf_bytes;
	size_t stack_entries;
	size_t unwind_bytes;	/* --unwind-memory; 0: frame pointers only */
	bool entry_probes;	/* probe at function entry, never move the site */
	const char *allocator_prefix;	/* --allocator-prefix; NULL: none */
	bool legacy_uprobes;	/* perf-event uprobes even with uprobe sessions */
	uint64_t sample_bytes;	/* -s: byte-weighted sampling period, 0: off */
	size_t sample_entries;
	const char *postmortem_dir;	/* OOM postmortems go there; NULL: none */
	size_t postmortem_keep;
	bool oom_only;		/* no tracing: OOM postmortems of any process */
	bool kernel;		/* --kernel: the kernel's allocations too */
	unsigned int snapshot_pct;	/* --snapshot-at; 0: off */
	const char *host_root;	/* --host-root; NULL: "/" */
	bool verbose;
};

#define LW_DEFAULT_STACK_ENTRIES 16384
/* Kernel memory per entry of the stack tables (LW_MAX_STACK_DEPTH frames
 * and the hash map's own bookkeeping) and of the sampled-block table. */
#define LW_STACK_ENTRY_BYTES (64 * 8 + 16)
#define LW_SAMPLE_ENTRY_BYTES 64
/* The largest ring buffer: a power of two the kernel's u32 map size holds,
 * below its record limit. */
#define RINGBUF_MAX (1ull << 30)
/* --older-than, kept well clear of overflow once in nanoseconds. */
#define OLDER_THAN_MAX_MS 1000000000000ull

/* What leakwatch does with no option at all (a front end that builds its
 * options without a command line starts from these). */
void options_defaults(struct lw_options *o);

/*
 * Parse argv.  Returns 0 to run, 1 when it only had to print (--help,
 * --version), or -EINVAL after printing what is wrong with the command
 * line to stderr.  o->pids is malloc'd (options_free).
 */
int options_parse(int argc, char **argv, struct lw_options *o);
void options_free(struct lw_options *o);

#endif /* LW_OPTIONS_H */
