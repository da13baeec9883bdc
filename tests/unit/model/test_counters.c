// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <string.h>

#include "counters.h"

/* Names are unique snake_case, every counter has help, and the report
 * order starts with the BPF side's, at their lw_drop indexes. */
Test(counters, definitions)
{
	size_t i, j;

	cr_assert_eq(LW_COUNTER__COUNT, 23);
	for (i = 0; i < LW_COUNTER__COUNT; i++) {
		const struct lw_counter_def *d = lw_counter_def(i);

		cr_assert(d->name && d->help && *d->help, "counter %zu", i);
		cr_assert_eq(strspn(d->name, "abcdefghijklmnopqrstuvwxyz_"), strlen(d->name),
			     "%s", d->name);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(d->name, lw_counter_def(j)->name);
		cr_assert_eq(d->source == LW_SOURCE_BPF, i < LW_DROP__COUNT, "%s", d->name);
	}
	cr_assert_str_eq(lw_counter_def(LW_COUNTER_RINGBUF_FREE)->name, "ringbuf_full_free");
	cr_assert_str_eq(lw_counter_def(LW_COUNTER_MISSED_FREES)->name, "missed_frees");
	cr_assert_eq(lw_counter_def(LW_COUNTER_PROCESSES_NOT_TRACED)->kind, LW_COUNTER_GAUGE);
	cr_assert_eq(lw_counter_def(LW_COUNTER_STRAY_EVENTS)->kind, LW_COUNTER_COUNTER);
	cr_assert_str_eq(lw_counter_source_name(LW_SOURCE_BPF), "bpf");
	cr_assert_str_eq(lw_counter_source_name(LW_SOURCE_USER), "userspace");
	cr_assert_str_eq(lw_counter_source_name(LW_SOURCE_LEDGER), "ledger");
	cr_assert_str_eq(lw_counter_kind_name(LW_COUNTER_GAUGE), "gauge");
}

struct seen {
	size_t n;
	uint64_t sum;
	const char *stop_at;
};

static int visit(const struct lw_counter_def *d, uint64_t value, void *ctx)
{
	struct seen *s = ctx;

	s->n++;
	s->sum += value;
	return s->stop_at && !strcmp(d->name, s->stop_at) ? 7 : 0;
}

/* Each source lands in its counter; ledgers count once per address space
 * and go on counting once their processes are evicted. */
Test(counters, gather_every_source)
{
	uint64_t bpf[LW_DROP__COUNT];
	struct user_drops user = { .stray_events = 100, .ledger_nomem = 200, .stack_fetch = 300,
				   .leakwatch_skipped = 400, .unwind_over_bound = 500,
				   .bad_records = 600 };
	struct procs *procs = procs__new(), *kprocs = procs__new();
	struct lw_proc *a, *b, *c, *k;
	struct lw_counters v;
	struct seen seen = {};
	size_t i;

	cr_assert(procs && kprocs);
	for (i = 0; i < LW_DROP__COUNT; i++)
		bpf[i] = i + 1;
	a = procs__add(procs, 1, "a", NULL);
	b = procs__add(procs, 2, "b", NULL);
	c = procs__add(procs, 3, "c", NULL);
	k = procs__add(kprocs, 0, "[kernel]", NULL);
	cr_assert(a && b && c && k);
	cr_assert_eq(lw_proc__share_vm(b, a), 0);
	a->attached = b->attached = true;	/* c: not traced */
	/* a missed free in a's (and b's) ledger, two in c's, one in the
	 * kernel's; a realloc end without its beginning in c's */
	cr_assert_eq(ledger__alloc(a->ledger, 0x10, 1, 1, 1), 0);
	cr_assert_eq(ledger__alloc(b->ledger, 0x10, 1, 1, 1), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(ledger__alloc(c->ledger, 0x20, 1, 1, 1), 0);
	cr_assert_eq(ledger__alloc(k->ledger, 0x30, 1, 1, 1), 0);
	cr_assert_eq(ledger__alloc(k->ledger, 0x30, 1, 1, 1), 0);
	cr_assert_eq(ledger__realloc_end(c->ledger, 9, 0, 0x40, 8, 1, 1), 0);

	lw_counters_gather(&v, &(struct lw_counter_inputs){
		.bpf_drops = bpf, .user = &user, .procs = procs, .kernel = k });
	for (i = 0; i < LW_DROP__COUNT; i++)
		cr_assert_eq(v.v[i], i + 1);
	cr_assert_eq(v.v[LW_COUNTER_STRAY_EVENTS], 100);
	cr_assert_eq(v.v[LW_COUNTER_LEDGER_NOMEM], 200);
	cr_assert_eq(v.v[LW_COUNTER_STACK_FETCH], 300);
	cr_assert_eq(v.v[LW_COUNTER_LEAKWATCH_NOT_TRACED], 400);
	cr_assert_eq(v.v[LW_COUNTER_UNWIND_OVER_BOUND], 500);
	cr_assert_eq(v.v[LW_COUNTER_BAD_RECORDS], 600);
	cr_assert_eq(v.v[LW_COUNTER_MISSED_FREES], 3);
	cr_assert_eq(v.v[LW_COUNTER_KERNEL_MISSED_FREES], 1);
	cr_assert_eq(v.v[LW_COUNTER_UNMATCHED_REALLOCS], 0);
	cr_assert_eq(v.v[LW_COUNTER_PROCESSES_NOT_TRACED], 1);
	/* ringbuf_full_alloc, _free, _other, kernel_ringbuf_full_alloc, _free,
	 * bad_records */
	cr_assert_eq(lw_counters_lost_events(&v), 1 + 2 + 3 + 10 + 11 + 600);

	/* every one visited; a non-zero return stops the walk */
	cr_assert_eq(lw_counters_each(&v, visit, &seen), 0);
	cr_assert_eq(seen.n, LW_COUNTER__COUNT);
	seen = (struct seen){ .stop_at = "fork_not_held" };
	cr_assert_eq(lw_counters_each(&v, visit, &seen), 7);
	cr_assert_eq(seen.n, LW_DROP_FORK_UNHELD + 1);

	/* all exited and evicted: the ledger counters stay, the gauge goes */
	a->exited = b->exited = c->exited = true;
	cr_assert_eq(procs__evict_reported(procs, 0, NULL, NULL), 3);
	lw_counters_gather(&v, &(struct lw_counter_inputs){
		.bpf_drops = bpf, .user = &user, .procs = procs, .kernel = NULL });
	cr_assert_eq(v.v[LW_COUNTER_MISSED_FREES], 3);
	cr_assert_eq(v.v[LW_COUNTER_KERNEL_MISSED_FREES], 0);
	cr_assert_eq(v.v[LW_COUNTER_PROCESSES_NOT_TRACED], 0);
	procs__free(procs);
	procs__free(kprocs);
}
