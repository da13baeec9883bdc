// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * --kernel: the kernel's own allocations, system-wide, from the kmem and
 * percpu tracepoints (raw tracepoints: no tracefs, no kprobes; not
 * tp_btf, whose verifier before 6.18 refuses reads of the tracepoints'
 * void * arguments).  Every allocation
 * is sent with its kernel stack, every free with its address only; the
 * ledger in userspace matches them by address.  A kernel object belongs
 * to no process and is often freed in another context (RCU callbacks,
 * workqueues, softirqs), so nothing here filters by task.
 *
 * What is recorded, and under which key:
 *  - slab (kmalloc, kmem_cache_alloc, their _node variants before 6.1):
 *    the object's address, bytes requested (kmalloc's bytes_req, the
 *    cache's object_size), not the bucket's rounded size;
 *  - pages (mm_page_alloc / mm_page_free): the struct page pointer,
 *    PAGE_SIZE << order bytes.  Pages for user data (GFP_USER family:
 *    anonymous memory, page cache) are skipped: they are the processes'
 *    memory, not the kernel's, and would drown everything else.
 *    mm_page_free_batched is not needed: free_unref_folios runs
 *    free_pages_prepare, which fires mm_page_free, for every page first;
 *  - percpu (percpu_alloc_percpu / percpu_free_percpu): the __percpu
 *    pointer, the size asked for (one CPU's share).
 * The three kinds of keys live in disjoint address ranges (direct map,
 * vmemmap, per-CPU offsets), so one ledger holds them all.
 *
 * Tracepoint layouts differ across kernels; CO-RE checks on the kernel's
 * trace_event_raw_* types choose the arguments at load time:
 *  - kmem_cache_alloc passed (call_site, ptr, bytes_req, bytes_alloc, gfp)
 *    while its event class was kmem_alloc (before 6.1); since, it passes
 *    (call_site, ptr, struct kmem_cache *s, gfp, node);
 *  - kmalloc kept ptr and bytes_req in the same places when it gained
 *    node and absorbed kmalloc_node (6.1); kmalloc_node and
 *    kmem_cache_alloc_node are loaded only where they exist;
 *  - percpu_alloc_percpu gained call_site first (6.2), moving size and ptr.
 * Userspace leaves out the programs whose tracepoint this kernel lacks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "events.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Kernel stacks, apart from the user ones: another id space, and a burst
 * of kernel stacks must not fill the table the processes need. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, LW_MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);	/* resized from userspace */
} lw_kstacks SEC(".maps");

/* Kernel records, apart from the processes' (see struct lw_kevent). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* resized from userspace */
} lw_kevents SEC(".maps");

/* Page allocations with any of these gfp bits are for user data; set by
 * userspace from this kernel's BTF (___GFP_HARDWALL). */
const volatile __u64 lw_kpage_skip_gfp = 0;
const volatile __u64 lw_page_size = 4096;	/* set from userspace */

/* The layouts before 6.1 and 6.2 (see above), as type probes. */
struct trace_event_raw_kmem_alloc___lw {
	unsigned long call_site;
} __attribute__((preserve_access_index));

struct trace_event_raw_percpu_alloc_percpu___lw {
	unsigned long call_site;
} __attribute__((preserve_access_index));

/* Wake the consumer only once enough is pending, as lw_submit does. */
static __always_inline void kevent_submit(void *e)
{
	bpf_ringbuf_submit(e, bpf_ringbuf_query(&lw_kevents, BPF_RB_AVAIL_DATA) >= lw_wakeup_bytes ?
				      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void kfree_record(__u64 addr, enum lw_ksource src)
{
	struct lw_kevent *e;

	/* kfree(NULL) and kfree(ZERO_SIZE_PTR) are common and free nothing */
	if (addr <= 16)
		return;
	e = bpf_ringbuf_reserve(&lw_kevents, sizeof(*e), 0);
	if (!e) {
		lw_count(LW_DROP_KERNEL_RINGBUF_FREE);
		return;
	}
	e->type = LW_REC_KFREE;
	e->stack_id = -1;
	e->ts_ns = 0;
	e->addr = addr;
	e->size = 0;
	e->source = src;
	e->nips = 0;
	kevent_submit(e);
}

static __always_inline void kalloc_fill(struct lw_kevent *e, __s32 id, __u64 addr, __u64 size,
					enum lw_ksource src)
{
	e->type = LW_REC_KALLOC;
	e->stack_id = id;
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->size = size;
	e->source = src;
	e->nips = 0;
}

/* ctx: the tracepoint's, for the stack walk. */
static __always_inline void kalloc_record(void *ctx, __u64 addr, __u64 size,
					  enum lw_ksource src)
{
	struct lw_kevent_stack *r;
	struct lw_kevent *e;
	__s32 id;
	long n;

	if (addr <= 16)		/* a failed allocation, or ZERO_SIZE_PTR */
		return;
	id = bpf_get_stackid(ctx, &lw_kstacks, 0);
	if (id >= 0) {
		e = bpf_ringbuf_reserve(&lw_kevents, sizeof(*e), 0);
		if (!e) {
			lw_count(LW_DROP_KERNEL_RINGBUF_ALLOC);
			return;
		}
		kalloc_fill(e, id, addr, size, src);
		kevent_submit(e);
		return;
	}
	/* the table refused it (collision or full): frames inline */
	r = bpf_ringbuf_reserve(&lw_kevents, sizeof(*r), 0);
	if (!r) {
		lw_count(LW_DROP_KERNEL_RINGBUF_ALLOC);
		return;
	}
	kalloc_fill(&r->e, id, addr, size, src);
	n = bpf_get_stack(ctx, r->ips, sizeof(r->ips), 0);
	if (n > 0)
		r->e.nips = n / sizeof(__u64);
	else
		lw_count(LW_DROP_KERNEL_STACK);
	kevent_submit(&r->e);
}

/* kmalloc(call_site, ptr, bytes_req, bytes_alloc, gfp[, node]): the same
 * places for ptr and bytes_req on every kernel, and for kmalloc_node. */
SEC("raw_tp/kmalloc")
int lw_kmalloc(unsigned long long *ctx)
{
	kalloc_record(ctx, ctx[1], ctx[2], LW_KSRC_SLAB);
	return 0;
}

SEC("raw_tp/kmalloc_node")
int lw_kmalloc_node(unsigned long long *ctx)
{
	kalloc_record(ctx, ctx[1], ctx[2], LW_KSRC_SLAB);
	return 0;
}

static __always_inline void cache_alloc(unsigned long long *ctx)
{
	struct kmem_cache *s;

	if (bpf_core_type_exists(struct trace_event_raw_kmem_alloc___lw)) {
		/* before 6.1: (call_site, ptr, bytes_req, bytes_alloc, gfp) */
		kalloc_record(ctx, ctx[1], ctx[2], LW_KSRC_SLAB);
		return;
	}
	/* (call_site, ptr, s, gfp, node): what the caller asked the cache
	 * for is its object_size; s->size adds alignment and debug data */
	s = (struct kmem_cache *)ctx[2];
	kalloc_record(ctx, ctx[1], BPF_CORE_READ(s, object_size), LW_KSRC_SLAB);
}

SEC("raw_tp/kmem_cache_alloc")
int lw_kmem_cache_alloc(unsigned long long *ctx)
{
	cache_alloc(ctx);
	return 0;
}

SEC("raw_tp/kmem_cache_alloc_node")
int lw_kmem_cache_alloc_node(unsigned long long *ctx)
{
	cache_alloc(ctx);
	return 0;
}

/* kfree(call_site, ptr), kmem_cache_free(call_site, ptr[, name | s]) */
SEC("raw_tp/kfree")
int lw_kfree(unsigned long long *ctx)
{
	kfree_record(ctx[1], LW_KSRC_SLAB);
	return 0;
}

SEC("raw_tp/kmem_cache_free")
int lw_kmem_cache_free(unsigned long long *ctx)
{
	kfree_record(ctx[1], LW_KSRC_SLAB);
	return 0;
}

/* mm_page_alloc(page, order, gfp, migratetype); page is NULL on failure */
SEC("raw_tp/mm_page_alloc")
int lw_page_alloc(unsigned long long *ctx)
{
	__u64 page = ctx[0], gfp = ctx[2];
	__u32 order = (__u32)ctx[1];

	if (gfp & lw_kpage_skip_gfp || order >= 32)
		return 0;
	kalloc_record(ctx, page, lw_page_size << order, LW_KSRC_PAGE);
	return 0;
}

/* mm_page_free(page, order) */
SEC("raw_tp/mm_page_free")
int lw_page_free(unsigned long long *ctx)
{
	kfree_record(ctx[0], LW_KSRC_PAGE);
	return 0;
}

/* percpu_alloc_percpu([call_site,] reserved, is_atomic, size, align,
 * base_addr, off, ptr[, bytes_alloc, gfp]) */
SEC("raw_tp/percpu_alloc_percpu")
int lw_percpu_alloc(unsigned long long *ctx)
{
	if (bpf_core_field_exists(struct trace_event_raw_percpu_alloc_percpu___lw, call_site))
		kalloc_record(ctx, ctx[7], ctx[3], LW_KSRC_PERCPU);
	else
		kalloc_record(ctx, ctx[6], ctx[2], LW_KSRC_PERCPU);
	return 0;
}

/* percpu_free_percpu(base_addr, off, ptr) */
SEC("raw_tp/percpu_free_percpu")
int lw_percpu_free(unsigned long long *ctx)
{
	kfree_record(ctx[2], LW_KSRC_PERCPU);
	return 0;
}
