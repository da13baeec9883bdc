/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ABI between leakwatch's BPF programs and its userspace: the only
 * header both sides include.  Fixed-width types, explicit padding, enums
 * stored in __u32 fields, names prefixed with lw_/LW_ (they share a
 * namespace with all of vmlinux.h).
 */
#ifndef LEAKWATCH_H
#define LEAKWATCH_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Deepest user stack kept per allocation. */
#define LW_MAX_STACK_DEPTH 64
#define LW_COMM_LEN 16

/* Every ring-buffer record starts with one of these. */
enum lw_rec_type {
	LW_REC_ALLOC = 1,	/* a block was handed out: addr, size, stack_id */
	LW_REC_FREE,		/* a block is being released: addr */
	LW_REC_REALLOC_BEGIN,	/* realloc of block addr has started */
	LW_REC_REALLOC_END,	/* realloc returned addr (0: failed or freed), size */
	LW_REC_FORK,		/* pid was forked from aux (parent tgid) */
	LW_REC_EXEC,		/* pid replaced its image; comm is the new name */
	LW_REC_EXIT,		/* the last thread of pid exited; aux = exit code */
	LW_REC_OOM_KILL,	/* the OOM killer chose pid: struct lw_oom_event */
	/* mapping syscalls that succeeded: struct lw_map_event */
	LW_REC_MMAP,		/* addr = mapping, size = length */
	LW_REC_MUNMAP,		/* addr, size = length */
	LW_REC_MREMAP,		/* old_addr/old_len became addr/size */
	LW_REC_BRK,		/* the break moved from old_addr to addr */
	LW_REC_MPROTECT,	/* addr, size = length, prot */
	LW_REC_HOLD,		/* LW_EV_HELD at the entry of an allocator call */
	/* --kernel (bpf/kernel.bpf.c): struct lw_kevent */
	LW_REC_KALLOC = 16,	/* the kernel allocated addr: size, stack_id */
	LW_REC_KFREE,		/* the kernel freed addr */
};

/* Allocator entry points; also the index of their BPF programs. */
enum lw_fn {
	LW_FN_MALLOC,
	LW_FN_CALLOC,
	LW_FN_REALLOC,
	LW_FN_REALLOCARRAY,
	LW_FN_FREE,
	LW_FN_POSIX_MEMALIGN,
	LW_FN_MEMALIGN,		/* also aligned_alloc: one address in glibc */
	LW_FN_VALLOC,
	LW_FN_PVALLOC,
	LW_FN_XALLOCX,		/* jemalloc's in-place resize: (ptr, size, extra, flags) */
	LW_FN__COUNT,
};

/* Failures counted on the BPF side, in lw_drops[]. */
enum lw_drop {
	LW_DROP_RINGBUF_ALLOC,	/* allocation not recorded: ring buffer full */
	LW_DROP_RINGBUF_FREE,	/* free not recorded: its block becomes a false leak */
	LW_DROP_RINGBUF_OTHER,	/* realloc/fork/exec/exit/OOM record lost */
	LW_DROP_STACK,		/* user stack not captured (stack table full or fault) */
	LW_DROP_THREAD_STATE,	/* no per-thread state: a call went untracked */
	LW_DROP_UNMATCHED_RET,	/* a return probe without its entry */
	LW_DROP_MEMPTR_READ,	/* posix_memalign result unreadable */
	LW_DROP_FORK_UNHELD,	/* child could not be held until its probes were live */
	LW_DROP_SAMPLE_TABLE,	/* sampled block not kept: sampled-address table full */
	LW_DROP_KERNEL_RINGBUF_ALLOC,	/* --kernel: allocation lost, kernel ring full */
	LW_DROP_KERNEL_RINGBUF_FREE,	/* --kernel: free lost: a false kernel leak */
	LW_DROP_KERNEL_STACK,	/* --kernel: allocation without its kernel stack */
	LW_DROP_MAP_RETURN,	/* a mapping syscall's return unseen (kretprobe pool empty) */
	LW_DROP__COUNT,
};

struct lw_event {
	__u32 type;		/* enum lw_rec_type */
	__u32 pid;		/* process (tgid) */
	__u32 tid;		/* thread */
	__s32 stack_id;		/* LW_REC_ALLOC/REALLOC_END: < 0 when unavailable */
	__u64 ts_ns;		/* CLOCK_MONOTONIC; 0 on FREE/REALLOC_BEGIN */
	__u64 addr;
	__u64 size;
	__u64 aux;		/* REALLOC_END: old block; FORK: parent; EXIT: code;
				 * FREE: free's return address (0: unknown) */
	__u32 flags;		/* enum lw_event_flags */
	__u32 nips;		/* LW_EV_INLINE_STACK: frames following the record */
	char comm[LW_COMM_LEN];	/* FORK/EXEC only */
};

enum lw_event_flags {
	/* The process is stopped (SIGSTOP) until userspace continues it:
	 * FORK, so its probes are live before it runs; EXEC, so that a
	 * static executable's own malloc is probed before it runs; HOLD, at
	 * the first allocation after exec or after code was mapped, so its
	 * modules, command line and unwind tables are read while it lives,
	 * however short its life, and before that allocation's stack. */
	LW_EV_HELD = 1,
	/* The stack table could not take this stack (hash collision, or
	 * full): its nips frames (__u64 each) follow the record instead. */
	LW_EV_INLINE_STACK = 2,
	/* FORK before 6.13: the child stops itself before its first
	 * instruction and sends a second FORK record then (HELD if it could
	 * stop): probe it at that one. */
	LW_EV_FORK_PENDING = 4,
	/* FORK: the child shares its parent's address space (CLONE_VM
	 * without CLONE_THREAD): one heap, so one ledger */
	LW_EV_SHARED_VM = 8,
	/* FORK: the parent was LW_PID_COVERED, so the per-file probes serve
	 * the child from its first instruction: it was not held. */
	LW_EV_FORK_COVERED = 16,
	/* The frames (nips) follow and define stack_id: later records name
	 * the same stack by stack_id alone (bpf/unwind.bpf.h). */
	LW_EV_STACK_DEFINE = 32,
	/* The stack is deeper than LW_MAX_STACK_DEPTH: its outer frames are
	 * missing. */
	LW_EV_STACK_TRUNCATED = 64,
};

/*
 * lw_pids values: how the probes reach a traced process.  Its own
 * (per-process) links serve a process traced by -p or as the command, or
 * a child that came slowly; per-file links, one set per allocator file for
 * the whole session, fire in every process that maps the file and do
 * their work only for the LW_PID_SHARED ones (every process of the session
 * once children come fast).  So a forked child needs no uprobe
 * registration, which would stall fork() on the whole machine
 * (uprobe_register takes the global dup_mmap lock).
 */
enum lw_pid_flags {
	LW_PID_TRACED = 1,
	LW_PID_SHARED = 2,	/* served by the per-file links */
	/* every allocator file it maps has its per-file links: a child it
	 * forks is traced from its first instruction, without a hold.
	 * Cleared when it execs or maps new code. */
	LW_PID_COVERED = 4,
};

/* lw_pids value: how a traced process is probed, and its sampling. */
struct lw_pid {
	__u32 flags;		/* enum lw_pid_flags */
	__u32 sample_bytes;	/* its -s: each byte kept with probability 1/N;
				 * 0 keeps every block */
};

/* Attach cookie bit of a per-file link (the low bits say which function
 * for the session program). */
#define LW_COOKIE_SHARED (1ULL << 32)
/* A perf-event return probe's cookie carries its function (enum lw_fn)
 * above the pid or LW_COOKIE_SHARED. */
#define LW_COOKIE_FN_SHIFT 40
#define LW_COOKIE_FN_MASK (0xffULL << LW_COOKIE_FN_SHIFT)

/* Holds in flight (sent, not yet continued) past which a forked child is
 * not held but continues at once, counted in fork_not_held: a fork storm
 * never builds a backlog of stopped processes. */
#define LW_HOLD_LIMIT 64

/* The argument of the lw_unhold syscall program: a held process that
 * userspace has continued. */
struct lw_unhold_args {
	__u32 pid;
	__u32 pad;
};

/* Key of the sampled-block set: a forked child's copy of a block has the
 * parent's address, so the process is part of the key. */
struct lw_sample_key {
	__u32 pid;
	__u32 pad;
	__u64 addr;
};

/* A record with its stack inline. */
struct lw_event_stack {
	struct lw_event e;
	__u64 ips[LW_MAX_STACK_DEPTH];
};

/* User stack words copied at a mapping syscall: enough for the frame of
 * libc's wrappers (mremap's is 96 bytes), whose caller userspace finds
 * from the wrapper's CFI, since glibc keeps no frame pointer. */
#define LW_STACK_TOP_WORDS 32

enum lw_map_flags {
	LW_MAP_IN_ALLOCATOR = 1,	/* made inside a traced allocator call */
	LW_MAP_TOP_VALID = 2,		/* top[] holds the words at sp */
	LW_MAP_WALKED = 4,		/* the frames are the CFI walk's, from the
					 * syscall's own pc (bpf/unwind.bpf.h) */
};

/*
 * LW_REC_MMAP..LW_REC_MPROTECT (bpf/mmap.bpf.c), sent when the call
 * succeeded.
 * The stack (LW_EV_INLINE_STACK, e.nips frames) follows for the calls
 * that create memory: mmap, mremap, a growing brk.
 */
struct lw_map_event {
	struct lw_event e;	/* addr, size: see enum lw_rec_type */
	__u64 old_addr;		/* MREMAP: old mapping; BRK: old break */
	__u64 old_len;		/* MREMAP */
	__u64 sp;		/* user stack pointer at the syscall */
	__u32 prot;		/* MMAP, MPROTECT */
	__u32 mflags;		/* MMAP: MAP_*; MREMAP: MREMAP_* */
	__s32 fd;		/* MMAP */
	__u32 map_flags;	/* enum lw_map_flags */
	__u64 top[LW_STACK_TOP_WORDS];
};

/* A mapping record with room for its stack. */
struct lw_map_event_stack {
	struct lw_map_event m;
	__u64 ips[LW_MAX_STACK_DEPTH];
};

/* What a kernel allocation came from (bpf/kernel.bpf.c). */
enum lw_ksource {
	LW_KSRC_SLAB,		/* kmalloc, kmem_cache_alloc: addr is the object */
	LW_KSRC_PAGE,		/* the page allocator: addr is the struct page */
	LW_KSRC_PERCPU,		/* alloc_percpu: addr is the __percpu pointer */
};

/*
 * LW_REC_KALLOC / LW_REC_KFREE, on their own ring buffer (lw_kevents): the
 * kernel allocates far more often than a traced process, so its records
 * are small and cannot crowd out the processes' records.  Kernel objects
 * belong to no process: there is no pid.  When the kernel stack table
 * refuses a stack, nips frames (__u64 each) follow the record.
 */
struct lw_kevent {
	__u32 type;		/* LW_REC_KALLOC or LW_REC_KFREE */
	__s32 stack_id;		/* KALLOC: id in lw_kstacks; < 0: inline or none */
	__u64 ts_ns;		/* KALLOC: CLOCK_MONOTONIC; 0 on KFREE */
	__u64 addr;		/* object, struct page pointer or __percpu pointer */
	__u64 size;		/* KALLOC: bytes requested (pages: PAGE_SIZE << order) */
	__u32 source;		/* enum lw_ksource */
	__u32 nips;		/* frames following the record */
};

struct lw_kevent_stack {
	struct lw_kevent e;
	__u64 ips[LW_MAX_STACK_DEPTH];
};

/*
 * CFI unwinding: user/unwind/unwind_table.c compiles a file's .eh_frame into
 * rows, bpf/unwind.bpf.h walks them.  A row holds from its pc to the next
 * row's.  Rows of one file are consecutive in lw_urows; lw_upages says,
 * per "page" of 256 bytes of the file's code, which short run of them to
 * search: the row covering the page's first byte, then those starting in
 * it (2 to 8 in compiled code: a search of 1 to 3 steps).
 */
#define LW_UNWIND_PAGE_SHIFT 8

enum lw_urow_kind {
	LW_UROW_NONE,		/* no CFI here: walk by the frame pointer */
	LW_UROW_RSP,		/* CFA = rsp + cfa_off */
	LW_UROW_RBP,		/* CFA = rbp + cfa_off */
	LW_UROW_PLT,		/* a 16-byte PLT entry: CFA = rsp + cfa_off, plus 8 from
				 * byte plt_cut of the entry on (binutils' expression) */
	LW_UROW_SIGNAL,		/* the signal trampoline: the interrupted registers
				 * are in the ucontext at rsp */
	LW_UROW_END,		/* the return address is undefined: the outermost
				 * frame (_start, clone3) */
};

/* The return address is always at CFA - 8 (x86-64 CFI as compilers and
 * glibc write it; the compiler leaves rows that say otherwise NONE). */
struct lw_urow {
	__u32 pc;		/* file address - the table's base */
	__s32 cfa_off;
	__s16 rbp_off;		/* the caller's rbp is at CFA + rbp_off; 0: unchanged */
	__u8 kind;		/* enum lw_urow_kind */
	__u8 plt_cut;		/* LW_UROW_PLT */
};

struct lw_upage {
	__u32 first;		/* index in lw_urows */
	__u32 count;		/* 0: no rows, frame pointers */
};

/* lw_umaps, a longest-prefix-match trie: a process's executable mappings
 * that have a table, as aligned blocks.  pid and addr are big-endian, as
 * the trie compares bytes. */
struct lw_umap_key {
	__u32 prefixlen;	/* 32 + bits of addr */
	__u32 pid;
	__u64 addr;
};

struct lw_umap {
	__u64 base;		/* address - base = the table's pc */
	__u64 start;		/* the whole mapping, for a cache of one entry */
	__u64 end;
	__u32 page_base;	/* the file's first page in lw_upages */
	__u32 npages;
};

/* OOM kills (bpf/oom.bpf.c): the memory cgroup path kept per record. */
#define LW_CGROUP_DEPTH 8	/* components, innermost first */
#define LW_CGROUP_NAME 256	/* bytes per component, NUL included: NAME_MAX + 1, so
				 * that no name is cut (a container id is 64
				 * characters, "cri-containerd-<id>.scope" 85) */

/* The victim's mm counters, in the kernel's MM_* order. */
enum lw_rss {
	LW_RSS_FILE,
	LW_RSS_ANON,
	LW_RSS_SWAP,
	LW_RSS_SHMEM,
	LW_RSS__COUNT,
};

enum lw_oom_flags {
	LW_OOM_HAVE_MM = 1,		/* total_vm, rss[], *_vm, map_count were read */
	LW_OOM_HAVE_MEMCG = 2,		/* memcg_* and cgroup[] were read */
	LW_OOM_PATH_TRUNCATED = 4,	/* cgroup[] lacks the outer components */
	LW_OOM_AT_LIMIT = 8,		/* limit_* name a memcg at its limit */
	LW_OOM_HAVE_CONTEXT = 16,	/* oom_kill_process told scope, order */
	LW_OOM_MEMCG_SCOPE = 32,	/* with HAVE_CONTEXT: a memcg OOM */
	LW_OOM_PID_ONLY = 64,		/* the victim's task was not readable */
};

/*
 * LW_REC_OOM_KILL, sent once per victim with a forced wake-up.  It starts
 * with the same __u32 type as struct lw_event; the consumer tells the two
 * apart by type, then checks the size.  Page counts are in pages.
 */
struct lw_oom_event {
	__u32 type;		/* LW_REC_OOM_KILL */
	__u32 pid;		/* victim process (tgid) */
	__u32 tid;		/* victim thread the tracepoint named */
	__u32 uid;
	__u64 ts_ns;		/* CLOCK_MONOTONIC when the victim was marked */
	__u32 trigger_pid;	/* task whose allocation ran the OOM killer */
	__u32 trigger_tid;
	__u32 flags;		/* enum lw_oom_flags */
	__u32 depth;		/* components in cgroup[] */
	__u64 total_vm;		/* pages */
	__u64 rss[LW_RSS__COUNT];	/* pages; see bpf/oom.bpf.c on precision */
	__u64 exec_vm;		/* pages mapped executable */
	__u64 data_vm;		/* pages mapped private writable, not stack */
	__u64 stack_vm;		/* pages of stacks */
	__u64 heap_bytes;	/* brk - start_brk */
	__u32 map_count;	/* mappings */
	__u32 pad;
	__u64 memcg_id;		/* kernfs id of the victim's memory cgroup */
	__u64 memcg_usage;	/* pages charged to the victim's memory cgroup */
	__u64 memcg_max;	/* its limit in pages (huge: none) */
	__u32 limit_level;	/* AT_LIMIT: ancestors between the two (0: itself) */
	__u32 order;		/* HAVE_CONTEXT: order of the failed allocation */
	__u64 limit_usage;	/* AT_LIMIT: pages charged to that memcg */
	__u64 limit_max;	/* AT_LIMIT: its limit in pages */
	__u64 totalpages;	/* HAVE_CONTEXT: pages the OOM killer weighed */
	char comm[LW_COMM_LEN];
	char trigger_comm[LW_COMM_LEN];
	/* names of the memory cgroup and its parents up to (not including)
	 * the hierarchy's root: "/a/b" is {"b", "a"} */
	char cgroup[LW_CGROUP_DEPTH][LW_CGROUP_NAME];
};

#endif /* LEAKWATCH_H */
