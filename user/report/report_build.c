// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kallsyms.h"
#include "report_build.h"
#include "vec.h"

void report_release(struct report *r)
{
	size_t i, j;

	if (!r)
		return;
	for (i = 0; i < r->nprocs; i++) {
		for (j = 0; j < r->procs[i].nstacks; j++)
			free(r->procs[i].stacks[j].frames);
		free(r->procs[i].stacks);
		free(r->procs[i].mappings);
		free(r->procs[i].growth);
	}
	free(r->procs);
	free(r->drops);
	memset(r, 0, sizeof(*r));
}

/* The earlier entry holding entry i's ledger, when processes share one
 * address space (CLONE_VM): that one counts it.  NULL: none. */
static const struct lw_proc *vm_holder(struct procs *procs, size_t i)
{
	const struct lw_proc *p = procs__at(procs, i);
	size_t j;

	for (j = 0; p->vm_refs && j < i; j++)
		if (procs__at(procs, j)->ledger == p->ledger)
			return procs__at(procs, j);
	return NULL;
}

void report_truncate(struct report *r, size_t max_stacks)
{
	size_t i, j;

	for (i = 0; max_stacks && i < r->nprocs; i++) {
		struct report_process *p = &r->procs[i];

		for (j = max_stacks; j < p->nstacks; j++)
			free(p->stacks[j].frames);
		if (p->nstacks > max_stacks)
			p->nstacks = max_stacks;
	}
}

/* The counters (counters.h), in the report's drops. */
static int fill_drops(struct report *r, struct procs *procs, const struct report_build_opts *o)
{
	struct lw_counters c;
	size_t i;

	lw_counters_gather(&c, &(struct lw_counter_inputs){
		.bpf_drops = o->bpf_drops, .user = &o->user, .procs = procs, .kernel = o->kernel });
	r->drops = calloc(LW_COUNTER__COUNT, sizeof(*r->drops));
	if (!r->drops)
		return -ENOMEM;
	for (i = 0; i < LW_COUNTER__COUNT; i++) {
		const struct lw_counter_def *d = lw_counter_def(i);

		r->drops[i] = (struct report_counter){ d->name, c.v[i], d->help };
	}
	r->ndrops = LW_COUNTER__COUNT;
	r->lost_events = lw_counters_lost_events(&c);
	return 0;
}

/*
 * The addresses of a user stack that are code: a frame-pointer walk that
 * left the stack ends in a zero or non-canonical address, a return
 * address into the stack or ASCII text; such an address and everything
 * after it is no frame (*truncated set).  The first address is where the
 * allocator returned to, so it is code even outside every mapping known
 * (code unmapped before leakwatch read the maps): only zero or a
 * non-canonical address ends the stack there.
 */
static size_t code_frames(struct symbolizer *sym, pid_t pid, int32_t stack_id,
			  const uint64_t *ips, size_t n, bool *truncated)
{
	size_t i;

	for (i = 0; i < n; i++) {
		enum sym_addr a = symbolizer__classify(sym, pid, stack_id, ips[i]);

		if (a == SYM_ADDR_END || (a == SYM_ADDR_JUNK && i > 0))
			break;
	}
	/* the kernel keeps LW_MAX_STACK_DEPTH frames: a stack that fills
	 * them was most likely cut, its outer callers lost */
	*truncated = i < n || n >= LW_MAX_STACK_DEPTH;
	return i;
}

/* Resolve every address of a stack into frames (inline chains expanded),
 * each in the generation of the process's code the stack was taken in. */
static int fill_frames(struct report_stack *rs, const struct lw_proc *proc,
		       struct symbolizer *sym, int32_t stack_id, const uint64_t *ips, size_t n)
{
	size_t cap = 0, i;

	for (i = 0; i < n; i++) {
		const struct sym_frame *sf;
		int k, nf;

		/* every captured address is a return address: the stack is
		 * taken when the allocator returns to its caller */
		nf = symbolizer__resolve_in(sym, proc->pid, stack_id, ips[i], true, &sf);
		if (nf < 1) {
			static const struct sym_frame unknown;

			sf = &unknown;
			nf = 1;
		}
		if (lw_vec_reserve(rs->frames, cap, rs->nframes + nf))
			return -ENOMEM;
		for (k = 0; k < nf; k++) {
			struct report_frame *f = &rs->frames[rs->nframes++];

			f->address = ips[i];
			f->function = sf[k].function;
			f->offset = sf[k].offset;
			f->file = sf[k].file;
			f->line = sf[k].line;
			f->module = sf[k].module;
			f->build_id = sf[k].build_id;
			f->module_offset = sf[k].module_offset;
			f->has_module_offset = sf[k].has_module_offset;
			f->inlined = sf[k].inlined;
		}
	}
	return 0;
}

/* The frames a kernel stack starts with that are the tracing itself: the
 * BPF program (unnamed, or bpf_prog_*), bpf_trace_runN and, before 6.x
 * inlined it, __bpf_trace_<tracepoint>.  The stack starts after the last
 * of them, among the first few. */
static size_t ktrace_frames(const struct kallsyms *ks, const uint64_t *ips, size_t n)
{
	size_t i, skip = 0;

	for (i = 0; i < n && i < 4 && ks; i++) {
		const struct ksym *k = kallsyms__lookup(ks, ips[i] - (i ? 1 : 0), NULL);

		if (!k || !strncmp(k->name, "bpf_trace_run", 13) ||
		    !strncmp(k->name, "__bpf_trace_", 12) || !strncmp(k->name, "bpf_prog_", 9))
			skip = i + 1;
		else if (skip)
			break;
	}
	return skip < n ? skip : 0;
}

/* A kernel stack's frames, named from /proc/kallsyms: no file, no line,
 * no inlining.  Every address but the first is a return address; a call
 * at a function's end returns into the next, so those are looked up at
 * address - 1. */
static int fill_kframes(struct report_stack *rs, const struct report_build_opts *o,
			int32_t stack_id)
{
	const uint64_t *ips;
	size_t i;
	int n;

	n = stackstore__get(o->kstacks, stack_id, &ips);
	if (n <= 0)
		return 0;
	rs->truncated = n >= LW_MAX_STACK_DEPTH;
	rs->frames = calloc(n, sizeof(*rs->frames));
	if (!rs->frames)
		return -ENOMEM;
	for (i = ktrace_frames(o->ksyms, ips, n); i < (size_t)n; i++) {
		struct report_frame *f = &rs->frames[rs->nframes++];
		uint64_t back = i ? 1 : 0, off = 0;
		const struct ksym *k = o->ksyms ? kallsyms__lookup(o->ksyms, ips[i] - back, &off) :
				       NULL;

		f->address = ips[i];
		if (k) {
			f->function = k->name;
			f->offset = off + back;
			f->module = k->module;
		}
	}
	return 0;
}

/* Estimated totals of a sampled process: the sum over all its stacks. */
static int sampled_totals(const struct ledger *l, uint64_t sample_bytes,
			  struct report_process *rp)
{
	struct ledger_filter all = { .sample_bytes = sample_bytes };
	struct ledger_stack *ls = NULL;
	size_t n = 0, i;
	int err;

	err = ledger__stacks(l, &all, &ls, &n);
	if (err)
		return err;
	rp->outstanding_bytes = rp->outstanding_allocs = 0;
	for (i = 0; i < n; i++) {
		rp->outstanding_bytes += ls[i].bytes;
		rp->outstanding_allocs += ls[i].allocs;
	}
	free(ls);
	return 0;
}

/* One stack of the report, heap or mapping, while they are ordered. */
struct entry {
	bool leak;
	bool map;
	bool truncated;
	bool merged;		/* counted in an earlier entry */
	uint64_t bytes;
	uint64_t allocs;
	uint64_t samples;
	uint64_t reserved;	/* a mapping's PROT_NONE bytes */
	uint64_t oldest_ts_ns;
	int32_t stack_id;
	unsigned int gen;	/* of the process's code, for its addresses */
	const char *kind;
	const char *file;
	const uint64_t *ips;	/* the code part of the stack */
	size_t nips;
	size_t idx;
};

/* Leaks first, by bytes; then what is not a leak (the allocator's own
 * mappings, thread stacks, libraries), by bytes. */
static int cmp_entry(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	if (a->merged != b->merged)
		return a->merged ? 1 : -1;
	if (a->leak != b->leak)
		return a->leak ? -1 : 1;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	if (a->map != b->map)
		return a->map ? 1 : -1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int cmp_str(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* Entries that are one site: same kind and file, the same code addresses
 * in the same generation. */
static int cmp_site(const void *pa, const void *pb)
{
	const struct entry *a = *(const struct entry *const *)pa;
	const struct entry *b = *(const struct entry *const *)pb;
	int c;

	if (a->map != b->map)
		return a->map ? 1 : -1;
	if ((c = cmp_str(a->kind, b->kind)) || (c = cmp_str(a->file, b->file)))
		return c;
	if (a->gen != b->gen)
		return a->gen < b->gen ? -1 : 1;
	if (a->nips != b->nips)
		return a->nips < b->nips ? -1 : 1;
	if (a->nips && (c = memcmp(a->ips, b->ips, a->nips * sizeof(*a->ips))))
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/*
 * Stacks that differ only in what follows their code (the junk a
 * frame-pointer walk picks up past the end of the stack differs from call
 * to call) are one site: merged into the first.  Stacks without frames
 * stay apart.
 */
static int merge_sites(struct entry *order, size_t n)
{
	struct entry **by = malloc((n ? n : 1) * sizeof(*by));
	size_t i, first = 0;

	if (!by)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		by[i] = &order[i];
	qsort(by, n, sizeof(*by), cmp_site);
	for (i = 1; i < n; i++) {
		struct entry *f = by[first], *e = by[i];

		if (!e->nips || e->map != f->map || cmp_str(e->kind, f->kind) ||
		    cmp_str(e->file, f->file) || e->gen != f->gen || e->nips != f->nips ||
		    memcmp(e->ips, f->ips, e->nips * sizeof(*e->ips))) {
			first = i;
			continue;
		}
		f->bytes += e->bytes;
		f->allocs += e->allocs;
		f->samples += e->samples;
		f->reserved += e->reserved;
		f->truncated |= e->truncated;
		if (e->oldest_ts_ns < f->oldest_ts_ns)
			f->oldest_ts_ns = e->oldest_ts_ns;
		e->merged = true;
	}
	free(by);
	return 0;
}

/* Totals by kind: heap (as computed so far) then each mapping kind held;
 * mmap and brk count in outstanding_*. */
static int map_kinds(struct report_process *rp, const struct lw_proc *proc,
		     const struct report_build_opts *o)
{
	enum map_kind k;

	rp->kinds[0] = (struct report_kind){
		.kind = proc == o->kernel ? "kernel" : "heap",
		.bytes = rp->outstanding_bytes,
		.allocs = rp->outstanding_allocs,
		.leak = true,
	};
	rp->nkinds = 1;
	for (k = 0; proc->maps && k < MAP_KIND__COUNT && rp->nkinds < REPORT_MAX_KINDS; k++) {
		uint64_t origins = maptrack__origins(proc->maps, k);
		uint64_t bytes = maptrack__bytes(proc->maps, k);

		if (!origins)
			continue;
		rp->kinds[rp->nkinds++] = (struct report_kind){
			.kind = map_kind_name(k),
			.bytes = bytes,
			.allocs = origins,
			.leak = map_kind_is_leak(k),
			.reserved = maptrack__reserved(proc->maps, k),
		};
		if (map_kind_is_leak(k)) {
			rp->outstanding_bytes += bytes;
			rp->outstanding_allocs += origins;
		}
	}
	return 0;
}

static int cmp_mapping(const void *pa, const void *pb)
{
	const struct report_mapping *a = pa, *b = pb;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* The modules the frames fall in, once each, by start: pprof's mappings. */
static int fill_mappings(struct report_process *rp, const struct lw_proc *proc,
			 struct symbolizer *sym)
{
	size_t cap = 0, i, j, k;

	for (i = 0; i < rp->nstacks; i++) {
		for (j = 0; j < rp->stacks[i].nframes; j++) {
			uint64_t ip = rp->stacks[i].frames[j].address;
			struct sym_mapping sm;
			int err;

			for (k = 0; k < rp->nmappings; k++)
				if (ip >= rp->mappings[k].start && ip < rp->mappings[k].limit)
					break;
			if (k < rp->nmappings || !rp->stacks[i].frames[j].module)
				continue;
			err = symbolizer__mapping(sym, proc->pid, ip, &sm);
			if (err == -ENOENT || (!err && sm.limit <= sm.start))
				continue;
			if (err)
				return err;
			if (lw_vec_reserve(rp->mappings, cap, rp->nmappings + 1))
				return -ENOMEM;
			rp->mappings[rp->nmappings++] = (struct report_mapping){
				.start = sm.start, .limit = sm.limit, .file = sm.file,
				.build_id = sm.build_id,
			};
		}
	}
	if (rp->nmappings)
		qsort(rp->mappings, rp->nmappings, sizeof(*rp->mappings), cmp_mapping);
	return 0;
}

/* A process's identity and totals, which every stack filter leaves whole. */
static int fill_totals(struct report_process *rp, const struct lw_proc *proc,
		       const struct report_build_opts *o)
{
	rp->pid = proc->pid;
	rp->comm = proc->comm;
	rp->cmdline = proc->cmdline;
	if (proc->identity) {
		rp->namespace = proc->identity->namespace;
		rp->pod = proc->identity->pod;
		rp->container = proc->identity->container;
		rp->container_id = proc->identity->container_id;
	}
	rp->exited = proc->exited;
	rp->exit_code = proc->exit_code;
	rp->outstanding_bytes = ledger__bytes(proc->ledger);
	rp->outstanding_allocs = ledger__blocks(proc->ledger);
	/* the ledger counts every free of an unknown block; those of
	 * exiting threads' caches are told apart */
	rp->unknown_frees = ledger__counters(proc->ledger)->unknown_frees;
	rp->thread_cache_frees = proc->thread_cache_frees;
	if (rp->thread_cache_frees > rp->unknown_frees)
		rp->thread_cache_frees = rp->unknown_frees;
	rp->unknown_frees -= rp->thread_cache_frees;
	if (o->filter.sample_bytes)
		return sampled_totals(proc->ledger, o->filter.sample_bytes, rp);
	return 0;
}

/* The entry of a heap stack (l) or a mapping stack (m), and its frames. */
static void fill_entry(struct entry *e, size_t i, const struct ledger_stack *l,
		       const struct maptrack_stack *m, const struct lw_proc *proc,
		       const struct stackstore *stacks, struct symbolizer *sym,
		       const struct report_build_opts *o)
{
	int nips;

	*e = (struct entry){ .idx = i, .map = m != NULL };
	if (m) {
		e->leak = map_kind_is_leak(m->kind);
		e->bytes = m->bytes;
		e->allocs = m->origins;
		e->oldest_ts_ns = m->oldest_ts_ns;
		e->stack_id = m->stack_id;
		e->kind = map_kind_name(m->kind);
		e->file = m->file;
		e->reserved = m->reserved;
	} else {
		e->leak = true;
		e->bytes = l->bytes;
		e->allocs = l->allocs;
		e->samples = o->filter.sample_bytes ? l->samples : 0;
		e->oldest_ts_ns = l->oldest_ts_ns;
		e->stack_id = l->stack_id;
		e->kind = proc == o->kernel ? "kernel" : "heap";
	}
	if (proc == o->kernel)
		return;	/* its frames are the kernel's */
	nips = stackstore__get(stacks, e->stack_id, &e->ips);
	if (nips <= 0)
		return;
	e->nips = code_frames(sym, proc->pid, e->stack_id, e->ips, nips, &e->truncated);
	/* the walker says when it stopped short of the stack's end */
	e->truncated |= stackstore__truncated(stacks, e->stack_id);
	e->gen = symbolizer__generation(sym, proc->pid, e->stack_id);
}

static int fill_process(struct report_process *rp, const struct lw_proc *proc,
			const struct stackstore *stacks, struct symbolizer *sym,
			const struct report_build_opts *o)
{
	struct ledger_stack *ls = NULL;
	struct maptrack_stack *ms = NULL;
	struct entry *order = NULL;
	size_t n = 0, nm = 0, i, keep, total;
	int err;

	err = fill_totals(rp, proc, o);
	err = err ?: ledger__stacks(proc->ledger, &o->filter, &ls, &n);
	err = err ?: maptrack__stacks(proc->maps, &o->filter, &ms, &nm);
	err = err ?: map_kinds(rp, proc, o);
	if (err)
		goto cleanup;
	order = malloc((n + nm ? n + nm : 1) * sizeof(*order));
	if (!order) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n + nm; i++)
		fill_entry(&order[i], i, i < n ? &ls[i] : NULL, i >= n ? &ms[i - n] : NULL, proc,
			   stacks, sym, o);
	err = proc == o->kernel ? 0 : merge_sites(order, n + nm);
	if (err)
		goto cleanup;
	qsort(order, n + nm, sizeof(*order), cmp_entry);
	for (total = 0; total < n + nm && !order[total].merged; total++)
		;
	rp->stacks_total = total;
	keep = o->max_stacks && o->max_stacks < total ? o->max_stacks : total;
	rp->stacks = calloc(keep ? keep : 1, sizeof(*rp->stacks));
	if (!rp->stacks) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < keep; i++) {
		struct report_stack *rs = &rp->stacks[rp->nstacks++];
		const struct entry *e = &order[i];

		rs->oldest_age_ms = o->now_ns > e->oldest_ts_ns ?
				    (o->now_ns - e->oldest_ts_ns) / 1000000 : 0;
		rs->bytes = e->bytes;
		rs->allocs = e->allocs;
		rs->kind = e->kind;
		rs->file = e->file;
		rs->reserved = e->reserved;
		rs->samples = e->samples;
		rs->truncated = e->truncated;
		err = proc == o->kernel ? fill_kframes(rs, o, e->stack_id) :
					  fill_frames(rs, proc, sym, e->stack_id, e->ips, e->nips);
		if (err)
			goto cleanup;
	}
	if (proc != o->kernel)
		err = fill_mappings(rp, proc, sym);
cleanup:
	free(order);
	free(ms);
	free(ls);
	return err;
}

int report_build(struct report *r, struct procs *procs, const struct stackstore *stacks,
		 struct symbolizer *sym, const struct report_build_opts *o)
{
	size_t i, n = procs__count(procs);
	time_t now = time(NULL);
	struct tm tm;
	int err;

	memset(r, 0, sizeof(*r));
	r->final = o->final;
	r->duration_s = o->duration_s;
	r->sample_bytes = o->filter.sample_bytes;
	r->mapping_hooks = o->mapping_hooks;
	gmtime_r(&now, &tm);
	strftime(r->timestamp, sizeof(r->timestamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	err = fill_drops(r, procs, o);
	if (err)
		goto cleanup;
	r->procs = calloc(n + 1, sizeof(*r->procs));	/* + [kernel] */
	if (!r->procs) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		const struct lw_proc *proc = procs__at(procs, i);
		const struct lw_proc *holder = vm_holder(procs, i);

		if (proc->skipped)	/* leakwatch: counted, not reported */
			continue;
		if (holder) {
			struct report_process *rp = &r->procs[r->nprocs++];

			*rp = (struct report_process){
				.pid = proc->pid, .comm = proc->comm, .cmdline = proc->cmdline,
				.exited = proc->exited, .exit_code = proc->exit_code,
				.memory_of = holder->pid,
			};
			continue;
		}
		err = fill_process(&r->procs[r->nprocs++], proc, stacks, sym, o);
		if (err)
			goto cleanup;
		r->tracer_user_bytes += ledger__footprint(proc->ledger);
		r->tracer_blocks += ledger__blocks(proc->ledger);
	}
	if (o->kernel) {
		err = fill_process(&r->procs[r->nprocs++], o->kernel, stacks, sym, o);
		if (err)
			goto cleanup;
		r->tracer_user_bytes += ledger__footprint(o->kernel->ledger) +
					stackstore__footprint(o->kstacks);
		r->tracer_blocks += ledger__blocks(o->kernel->ledger);
	}
	r->tracer_user_bytes += o->store_bytes;
	r->tracer_rss_bytes = o->rss_bytes;
	r->tracer_kernel_bytes = o->kernel_bytes;
	return 0;
cleanup:
	report_release(r);
	return err;
}

void report_process_release(struct report_process *rp)
{
	size_t j;

	if (!rp)
		return;
	for (j = 0; j < rp->nstacks; j++)
		free(rp->stacks[j].frames);
	free(rp->stacks);
	free(rp->mappings);
	free(rp->growth);
	memset(rp, 0, sizeof(*rp));
}

int report_build_process(struct report_process *rp, const struct lw_proc *proc,
			 const struct stackstore *stacks, struct symbolizer *sym,
			 const struct report_build_opts *o)
{
	int err;

	memset(rp, 0, sizeof(*rp));
	err = fill_process(rp, proc, stacks, sym, o);
	if (err)
		report_process_release(rp);
	return err;
}
