/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Every counter leakwatch keeps, declared once: its name, its help text,
 * its kind and where it is counted.  The reports' "drops" are these, in
 * this order; a metrics endpoint reads the same list.
 *
 * Three sources feed them: the BPF programs (lw_drops[] in their .bss,
 * enum lw_drop), the session (struct user_drops), and the ledgers (summed
 * over the processes, those evicted included: procs__ledger_counters).
 */
#ifndef LW_COUNTERS_H
#define LW_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "leakwatch.h"
#include "procs.h"

/* Failures counted in userspace, shown beside the BPF-side ones. */
struct user_drops {
	uint64_t stray_events;	/* records of a process no longer known */
	uint64_t ledger_nomem;	/* blocks not recorded: out of memory */
	uint64_t stack_fetch;	/* stacks that could not be read back */
	uint64_t leakwatch_skipped;	/* followed processes that exec'd leakwatch */
	uint64_t unwind_over_bound;	/* files walked by frame pointers: their
					 * unwind table did not fit */
	uint64_t bad_records;	/* records the decoder dropped (intake.h) */
};

enum lw_counter_kind {
	LW_COUNTER_COUNTER,	/* only grows */
	LW_COUNTER_GAUGE,	/* goes up and down */
};

enum lw_counter_source {
	LW_SOURCE_BPF,		/* the BPF programs: lost in the kernel */
	LW_SOURCE_USER,		/* leakwatch's userspace */
	LW_SOURCE_LEDGER,	/* what the ledgers saw in the records */
};

/*
 * X(id, name, kind, source, lost, help): the counters in report order.
 * BPF counters have the id of their enum lw_drop (LW_DROP_<id>); lost
 * marks those whose records were lost: their sum is a report's
 * lost_events.
 */
#define LW_COUNTERS(X)								\
	X(RINGBUF_ALLOC, "ringbuf_full_alloc", COUNTER, BPF, true,		\
	  "allocations not recorded: ring buffer full (raise --ringbuf-size)")	\
	X(RINGBUF_FREE, "ringbuf_full_free", COUNTER, BPF, true,		\
	  "frees not recorded: their blocks show as false leaks (raise --ringbuf-size)") \
	X(RINGBUF_OTHER, "ringbuf_full_other", COUNTER, BPF, true,		\
	  "realloc/fork/exec/exit/OOM records lost: ring buffer full")		\
	X(STACK, "stack_unavailable", COUNTER, BPF, false,			\
	  "allocations without a stack: stack table full or stack unreadable "	\
	  "(raise --stack-table)")						\
	X(THREAD_STATE, "thread_state", COUNTER, BPF, false,			\
	  "allocator calls untracked: no per-thread state (kernel memory)")	\
	X(UNMATCHED_RET, "unmatched_return", COUNTER, BPF, false,		\
	  "allocator returns without their entry")				\
	X(MEMPTR_READ, "posix_memalign_unreadable", COUNTER, BPF, false,	\
	  "posix_memalign results that could not be read")			\
	X(FORK_UNHELD, "fork_not_held", COUNTER, BPF, false,			\
	  "children not held at fork: their first allocations may be missed")	\
	X(SAMPLE_TABLE, "sample_table_full", COUNTER, BPF, false,		\
	  "sampled blocks not kept: sampled-address table full (raise --sample-table)") \
	X(KERNEL_RINGBUF_ALLOC, "kernel_ringbuf_full_alloc", COUNTER, BPF, true, \
	  "--kernel: kernel allocations not recorded: ring buffer full (raise --ringbuf-size)") \
	X(KERNEL_RINGBUF_FREE, "kernel_ringbuf_full_free", COUNTER, BPF, true,	\
	  "--kernel: kernel frees not recorded: their objects show as false leaks " \
	  "(raise --ringbuf-size)")						\
	X(KERNEL_STACK, "kernel_stack_unavailable", COUNTER, BPF, false,	\
	  "--kernel: kernel allocations without a stack")			\
	X(MAP_RETURN, "mapping_return_missed", COUNTER, BPF, false,		\
	  "mapping syscalls whose return a kretprobe missed: their mappings are untracked " \
	  "(--mapping-hooks tracepoint loses none)")				\
	X(STRAY_EVENTS, "stray_events", COUNTER, USER, false,			\
	  "records of processes leakwatch no longer tracks")			\
	X(BAD_RECORDS, "bad_records", COUNTER, USER, true,			\
	  "records dropped by leakwatch's decoder: malformed, or of an unknown type " \
	  "(a BPF object and a leakwatch of different builds)")		\
	X(LEDGER_NOMEM, "ledger_out_of_memory", COUNTER, USER, false,		\
	  "blocks not recorded: leakwatch ran out of memory")			\
	X(STACK_FETCH, "stack_fetch_failed", COUNTER, USER, false,		\
	  "stacks that could not be read back from the kernel")			\
	X(UNWIND_OVER_BOUND, "unwind_tables_over_bound", COUNTER, USER, false,	\
	  "files whose unwind table did not fit --unwind-memory: their frames are " \
	  "walked by frame pointers, and stacks through them may stop early")	\
	X(MISSED_FREES, "missed_frees", COUNTER, LEDGER, false,		\
	  "allocations at an address still outstanding: the earlier block's free was " \
	  "missed (it was replaced, not reported as a leak)")			\
	/* the kernel frees some objects where no tracepoint fires (bulk	\
	 * frees): expected with --kernel, so apart from the processes' */	\
	X(KERNEL_MISSED_FREES, "kernel_missed_frees", COUNTER, LEDGER, false,	\
	  "--kernel: kernel objects allocated at an address still outstanding: the " \
	  "kernel freed the earlier one without a tracepoint (bulk frees)")	\
	X(UNMATCHED_REALLOCS, "unmatched_reallocs", COUNTER, LEDGER, false,	\
	  "realloc records without their other half")				\
	X(LEAKWATCH_NOT_TRACED, "leakwatch_not_traced", COUNTER, USER, false,	\
	  "followed processes that exec'd leakwatch: leakwatch never traces leakwatch, " \
	  "they are left out from the exec on")					\
	/* the processes listed now: an evicted one leaves the count */	\
	X(PROCESSES_NOT_TRACED, "processes_not_traced", GAUGE, USER, false,	\
	  "processes listed whose allocator could not be probed: their numbers are " \
	  "not real (the cause is on stderr)")

enum lw_counter_id {
#define LW_COUNTER_ENUM(id, name, kind, source, lost, help) LW_COUNTER_##id,
	LW_COUNTERS(LW_COUNTER_ENUM)
#undef LW_COUNTER_ENUM
	LW_COUNTER__COUNT
};

struct lw_counter_def {
	const char *name;	/* snake_case, unique */
	const char *help;	/* one line */
	enum lw_counter_kind kind;
	enum lw_counter_source source;
	bool lost_event;	/* counts in lost_events */
};

/* The definition of counter id (id < LW_COUNTER__COUNT). */
const struct lw_counter_def *lw_counter_def(enum lw_counter_id id);
/* "bpf", "userspace" or "ledger": a label for the source. */
const char *lw_counter_source_name(enum lw_counter_source source);
const char *lw_counter_kind_name(enum lw_counter_kind kind);	/* "counter", "gauge" */

/* The values of every counter at one time. */
struct lw_counters {
	uint64_t v[LW_COUNTER__COUNT];
};

struct lw_counter_inputs {
	const uint64_t *bpf_drops;	/* [LW_DROP__COUNT]: tracer__drops */
	const struct user_drops *user;
	struct procs *procs;		/* the processes traced */
	const struct lw_proc *kernel;	/* --kernel's pseudo-process; NULL: none */
};

/* Read every counter from its source. */
void lw_counters_gather(struct lw_counters *c, const struct lw_counter_inputs *in);
/* Add the ledger counters of processes outside in->procs (a daemon's
 * targets, live or freed) to c. */
void lw_counters_add_ledgers(struct lw_counters *c, const struct ledger_counters *lc);
/* Sum of the counters of lost records. */
uint64_t lw_counters_lost_events(const struct lw_counters *c);

/* fn(definition, value, ctx) for each counter, in order, until fn returns
 * non-zero, which is returned; 0 when all were visited. */
int lw_counters_each(const struct lw_counters *c,
		     int (*fn)(const struct lw_counter_def *d, uint64_t value, void *ctx),
		     void *ctx);

#endif /* LW_COUNTERS_H */
