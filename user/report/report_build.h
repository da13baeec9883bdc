/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Assemble a report model from the ledgers, the stacks and the symbolizer.
 */
#ifndef LW_REPORT_BUILD_H
#define LW_REPORT_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "counters.h"
#include "leakwatch.h"
#include "kallsyms.h"
#include "ledger.h"
#include "procs.h"
#include "report.h"
#include "stackstore.h"
#include "symbolizer.h"

struct report_build_opts {
	struct ledger_filter filter;
	size_t max_stacks;	/* stacks per process kept; 0: all */
	uint64_t now_ns;	/* CLOCK_MONOTONIC, for ages */
	bool final;
	double duration_s;
	uint64_t bpf_drops[LW_DROP__COUNT];
	uint64_t kernel_bytes;	/* leakwatch's kernel buffers and tables */
	uint64_t store_bytes;	/* leakwatch's stack store */
	const char *mapping_hooks;	/* see struct report */
	uint64_t rss_bytes;	/* leakwatch's resident memory; 0: unknown */
	struct user_drops user;	/* counters.h */
	/* --kernel: the kernel's allocations, reported after the processes
	 * as a pseudo-process (pid 0, comm "[kernel]") whose stacks have kind
	 * "kernel", their ids in kstacks, their frames named by ksyms.  NULL:
	 * none. */
	const struct lw_proc *kernel;
	const struct stackstore *kstacks;
	const struct kallsyms *ksyms;
};

/* Fill r; strings point into procs and the symbolizer, which must outlive
 * it.  Returns 0 or -ENOMEM. */
int report_build(struct report *r, struct procs *procs, const struct stackstore *stacks,
		 struct symbolizer *sym, const struct report_build_opts *o);
void report_release(struct report *r);	/* frees what report_build allocated */
/* Keep the first max_stacks stacks of each process (0: all); stacks_total
 * stays. */
void report_truncate(struct report *r, size_t max_stacks);

/* One process's entry of the report (its stacks symbolized), for
 * postmortems; 0 or -ENOMEM.  Release with report_process_release. */
int report_build_process(struct report_process *rp, const struct lw_proc *proc,
			 const struct stackstore *stacks, struct symbolizer *sym,
			 const struct report_build_opts *o);
void report_process_release(struct report_process *rp);

#endif /* LW_REPORT_BUILD_H */
