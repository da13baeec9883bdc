// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "counters.h"

static const struct lw_counter_def defs[LW_COUNTER__COUNT] = {
#define LW_COUNTER_DEF(id, n, k, s, l, h) \
	[LW_COUNTER_##id] = { .name = n, .help = h, .kind = LW_COUNTER_##k, \
			      .source = LW_SOURCE_##s, .lost_event = l },
	LW_COUNTERS(LW_COUNTER_DEF)
#undef LW_COUNTER_DEF
};

/* A BPF counter's id is its enum lw_drop's, in the same order. */
#define LW_COUNTER_CHECK_BPF(id, n, k, s, l, h) \
	_Static_assert(LW_SOURCE_##s != LW_SOURCE_BPF || \
		       (int)LW_COUNTER_##id == (int)LW_DROP_##id, \
		       "BPF counter " n " is not at its lw_drop index");
#define LW_DROP_STRAY_EVENTS 0
#define LW_DROP_BAD_RECORDS 0
#define LW_DROP_LEDGER_NOMEM 0
#define LW_DROP_STACK_FETCH 0
#define LW_DROP_UNWIND_OVER_BOUND 0
#define LW_DROP_MISSED_FREES 0
#define LW_DROP_KERNEL_MISSED_FREES 0
#define LW_DROP_UNMATCHED_REALLOCS 0
#define LW_DROP_LEAKWATCH_NOT_TRACED 0
#define LW_DROP_PROCESSES_NOT_TRACED 0
LW_COUNTERS(LW_COUNTER_CHECK_BPF)
_Static_assert(LW_COUNTER_MAP_RETURN + 1 == LW_DROP__COUNT,
	       "every BPF counter is in LW_COUNTERS, first");

const struct lw_counter_def *lw_counter_def(enum lw_counter_id id)
{
	return &defs[id];
}

const char *lw_counter_source_name(enum lw_counter_source source)
{
	switch (source) {
	case LW_SOURCE_BPF:
		return "bpf";
	case LW_SOURCE_USER:
		return "userspace";
	case LW_SOURCE_LEDGER:
		return "ledger";
	}
	return "?";
}

const char *lw_counter_kind_name(enum lw_counter_kind kind)
{
	return kind == LW_COUNTER_GAUGE ? "gauge" : "counter";
}

void lw_counters_gather(struct lw_counters *c, const struct lw_counter_inputs *in)
{
	struct ledger_counters lc;
	uint64_t untraced = 0;
	size_t i;

	for (i = 0; i < LW_DROP__COUNT; i++)
		c->v[i] = in->bpf_drops[i];
	c->v[LW_COUNTER_STRAY_EVENTS] = in->user->stray_events;
	c->v[LW_COUNTER_BAD_RECORDS] = in->user->bad_records;
	c->v[LW_COUNTER_LEDGER_NOMEM] = in->user->ledger_nomem;
	c->v[LW_COUNTER_STACK_FETCH] = in->user->stack_fetch;
	c->v[LW_COUNTER_UNWIND_OVER_BOUND] = in->user->unwind_over_bound;
	c->v[LW_COUNTER_LEAKWATCH_NOT_TRACED] = in->user->leakwatch_skipped;

	procs__ledger_counters(in->procs, &lc);
	c->v[LW_COUNTER_MISSED_FREES] = lc.replaced_blocks;
	c->v[LW_COUNTER_UNMATCHED_REALLOCS] = lc.unmatched_reallocs;
	c->v[LW_COUNTER_KERNEL_MISSED_FREES] =
		in->kernel ? ledger__counters(in->kernel->ledger)->replaced_blocks : 0;

	for (i = 0; i < procs__count(in->procs); i++) {
		const struct lw_proc *p = procs__at(in->procs, i);

		untraced += !p->attached && !p->skipped;
	}
	c->v[LW_COUNTER_PROCESSES_NOT_TRACED] = untraced;
}

void lw_counters_add_ledgers(struct lw_counters *c, const struct ledger_counters *lc)
{
	c->v[LW_COUNTER_MISSED_FREES] += lc->replaced_blocks;
	c->v[LW_COUNTER_UNMATCHED_REALLOCS] += lc->unmatched_reallocs;
}

uint64_t lw_counters_lost_events(const struct lw_counters *c)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < LW_COUNTER__COUNT; i++)
		sum += defs[i].lost_event ? c->v[i] : 0;
	return sum;
}

int lw_counters_each(const struct lw_counters *c,
		     int (*fn)(const struct lw_counter_def *d, uint64_t value, void *ctx),
		     void *ctx)
{
	size_t i;
	int ret;

	for (i = 0; i < LW_COUNTER__COUNT; i++) {
		ret = fn(&defs[i], c->v[i], ctx);
		if (ret)
			return ret;
	}
	return 0;
}
