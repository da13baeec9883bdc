/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Report writers: a plain model (filled by report_build.c from the ledgers
 * and the symbolizer) written as text for people or JSON for programs.
 * No libbpf, no /proc: golden-tested without root.
 *
 * JSON schema (version 1), the machine contract documented in README.md:
 * {"version": 1, "timestamp": "...", "final": true, "duration_s": D,
 *  "lost_events": N, "mapping_hooks": "fentry" or null, "drops": {"name": N, ...},
 *  "processes": [{"pid": P, "comm": "...", "cmdline": "...", "namespace": "...",
 *     "pod": "...", "container": "...", "container_id": "...", "exited": bool,
 *     "exit_code": C (only when exited), "outstanding_bytes": B,
 *     "outstanding_allocs": A, "kinds": {"heap": {"bytes": B, "allocs": A,
 *     "leak": true}, ...} (when nkinds), "unknown_frees": F, "stacks_total": S,
 *     "stacks": [{"bytes": B, "allocs": A, "kind": "heap",
 *        "file": "..." (file-backed mappings only), "oldest_age_ms": T,
 *        "truncated": true (only when the stack is cut),
 *        "frames": [{"address": "0x...", "function": "...", "offset": O,
 *                    "file": "...", "line": L, "module": "...",
 *                    "module_offset": "0x...", "build_id": "...",
 *                    "inlined": false}]}]}],
 *  "summary": {"processes": N, "outstanding_bytes": B,
 *              "outstanding_allocs": A}}
 * Unknown function/file/module/module_offset/build_id are null; unknown
 * line is 0.  module_offset is the address in the module's ELF file (for
 * addr2line -e MODULE), given when the module is a file.  Also null: a
 * NULL comm, cmdline or kind, an empty timestamp, a non-finite duration_s
 * (written with 3 decimals).  Strings are UTF-8: ill-formed bytes become
 * U+FFFD.  Output: pretty-printed, 2-space indent, then a newline.
 */
#ifndef LW_REPORT_H
#define LW_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_JSON_VERSION 1

struct json_object;

struct report_frame {
	uint64_t address;
	const char *function;	/* NULL: unknown */
	uint64_t offset;
	const char *file;	/* NULL: unknown */
	int line;		/* 0: unknown */
	const char *module;	/* NULL: unknown */
	bool inlined;
	const char *build_id;	/* hex; NULL: unknown or none */
	uint64_t module_offset;	/* when has_module_offset */
	bool has_module_offset;
};

struct report_stack {
	uint64_t bytes;
	uint64_t allocs;	/* blocks; for mappings, the calls that made them */
	const char *kind;	/* "heap", or a mapping kind (maptrack.h) */
	uint64_t oldest_age_ms;
	size_t nframes;
	struct report_frame *frames;	/* innermost first */
	uint64_t samples;	/* when sampling: blocks behind the estimate; else 0 */
	const char *file;	/* a file-backed mapping's file; NULL: none */
	/* the stack goes on past its last frame, its outer callers unknown:
	 * cut at LW_MAX_STACK_DEPTH, or the walk hit an address that is no
	 * code (zero, non-canonical, or in no executable mapping) */
	bool truncated;
	uint64_t reserved;	/* a mapping's PROT_NONE bytes, not in bytes */
};

/* -i: a stack's change since the previous report (a stack new since then
 * has its whole bytes and allocs): JSON "bytes_delta" and "allocs_delta",
 * and a note in the text report. */
struct report_growth {
	int64_t bytes_delta;
	int64_t allocs_delta;
};

/* What a process holds of one kind.  leak: counted in outstanding_*. */
struct report_kind {
	const char *kind;
	uint64_t bytes;		/* accessible */
	uint64_t allocs;
	bool leak;
	uint64_t reserved;	/* mappings: PROT_NONE bytes, not in bytes */
};

#define REPORT_MAX_KINDS 8

/* A module a process maps, for pprof's mappings: [start, limit) holds the
 * file from offset `offset` on; build_id in hex, NULL when unknown. */
struct report_mapping {
	uint64_t start;
	uint64_t limit;
	uint64_t offset;
	const char *file;
	const char *build_id;
};

struct report_process {
	int pid;
	const char *comm;
	const char *cmdline;	/* NULL: unknown */
	/* its container (identity.h); all NULL outside containers */
	const char *namespace, *pod, *container, *container_id;
	bool exited;
	int exit_code;		/* meaningful when exited */
	/* every outstanding block and leak-kind mapping, unfiltered */
	uint64_t outstanding_bytes;
	uint64_t outstanding_allocs;
	/* by kind, heap first: JSON "kinds" and a text line when there is
	 * more than heap; 0 kinds: heap only, as outstanding_* */
	size_t nkinds;
	struct report_kind kinds[REPORT_MAX_KINDS];
	uint64_t unknown_frees;	/* frees of blocks never seen allocated, but */
	uint64_t thread_cache_frees;	/* glibc emptying exiting threads' caches */
	size_t stacks_total;	/* stacks before --top truncation */
	size_t nstacks;
	struct report_stack *stacks;	/* by bytes, descending */
	/* a process sharing another's address space (CLONE_VM): the pid
	 * whose entry counts their one heap and mappings; 0: none */
	int memory_of;
	/* the modules the frames of stacks[] fall in, by start */
	size_t nmappings;
	struct report_mapping *mappings;
	/* -i: per stack, as stacks[] (NULL: no growth shown) */
	struct report_growth *growth;
};

/* Whether a stack of p counts in p's outstanding_* (its kind is a leak
 * kind, see report_kind): what pprof and folded output carry, so that
 * their totals are the report's. */
bool report_stack_is_leak(const struct report_process *p, const struct report_stack *s);

struct report_counter {
	const char *name;
	uint64_t value;
	const char *meaning;	/* one line for the text report */
};

struct report {
	bool final;
	char timestamp[32];	/* UTC, ISO 8601 */
	double duration_s;
	uint64_t lost_events;
	/* -s N: bytes and allocs are estimates from byte-weighted samples;
	 * JSON then adds "sample_bytes": N and "estimated": true at the top
	 * and "samples" per stack.  0: exact. */
	uint64_t sample_bytes;
	/* the hooks carrying the mapping syscalls ("fentry", "kprobe",
	 * "tracepoint"); NULL: mappings not traced.  JSON "mapping_hooks". */
	const char *mapping_hooks;
	/* leakwatch's own memory: its ledgers and stacks (user_bytes) and
	 * the kernel's buffers and tables (kernel_bytes).  JSON adds
	 * "tracer_memory": {"user_bytes", "kernel_bytes", "blocks"} and text
	 * a line, both only when user_bytes is non-zero. */
	uint64_t tracer_user_bytes;
	uint64_t tracer_kernel_bytes;
	uint64_t tracer_blocks;		/* blocks the ledgers hold */
	/* leakwatch's resident memory, all of it (symbols, libraries, heap
	 * overhead), from /proc/self/statm: JSON "rss_bytes" in
	 * "tracer_memory".  0: unknown. */
	uint64_t tracer_rss_bytes;
	size_t ndrops;
	struct report_counter *drops;
	size_t nprocs;
	struct report_process *procs;
};

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_PPROF, REPORT_FOLDED, REPORT_HTML };

struct report_opts {
	enum report_format format;
	/* text: stacks shown per process; 0 means all */
	size_t top;
	/* text: frames shown per stack; 0 means all */
	size_t max_frames;
};

/* Write r to f.  Returns 0 or -Exxx (-EIO when f fails). */
int report_write(FILE *f, const struct report *r, const struct report_opts *o);
int report_write_text(FILE *f, const struct report *r, const struct report_opts *o);
int report_write_json(FILE *f, const struct report *r, const struct report_opts *o);
/* The other writers, each in a module of its own: report_pprof.c,
 * report_folded.c, report_html.c. */
int report_write_pprof(FILE *f, const struct report *r, const struct report_opts *o);
int report_write_folded(FILE *f, const struct report *r, const struct report_opts *o);
int report_write_html(FILE *f, const struct report *r, const struct report_opts *o);
/* The page of a report already in the JSON schema (a -f json document, or
 * several processes' merged, as --watch serves them). */
int report_write_html_doc(FILE *f, struct json_object *root);
/* The JSON report as a json-c object (NULL + errno): what -f json writes,
 * and what the page of -f html carries. */
struct json_object *report_json(const struct report *r, const struct report_opts *o);
/* 0 when r can be written, -EINVAL when the model is inconsistent. */
int report_check(const struct report *r);

/* Human-readable size: "1.5 MiB", "812 B".  buf of at least 16 bytes. */
const char *report_fmt_bytes(uint64_t bytes, char *buf, size_t len);
/* A change of size: "+1.0 KiB (+1024 B)", "-24 B", "0 B".  buf of at
 * least 64 bytes. */
const char *report_fmt_delta(int64_t delta, char *buf, size_t len);

/* For the diff of two reports (diff.c): one frame in the JSON schema
 * (NULL + errno); a stack's frames as the text report writes them (0 or
 * -EIO); an untrusted string, escaped as the text report does. */
struct json_object *report_json_frame(const struct report_frame *fr);
int report_write_frames_text(FILE *f, const struct report_stack *st, size_t max_frames);
void report_write_str_text(FILE *f, const char *s);

/* For documents that embed one process in the report's schema (OOM
 * postmortems): its processes[] entry as a json-c object (NULL + errno),
 * and its section of the text report (0 or -Exxx). */
struct json_object *report_json_process(const struct report_process *p);
int report_write_process_text(FILE *f, const struct report_process *p,
			      const struct report_opts *o);

#endif /* LW_REPORT_H */
