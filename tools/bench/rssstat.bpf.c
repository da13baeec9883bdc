// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The rss_stat tracepoint as --watch would have used it: per mm, the last
 * anon count reported, and an event only when it moved by more than a
 * threshold (Android's 512 KiB).  Nothing is sent anywhere: the cost is the
 * program run on every RSS counter change of every process, which is what
 * rssstat measures against a page-fault loop.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define THRESHOLD_PAGES 128	/* 512 KiB */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __s64);
	__uint(max_entries, 65536);
} last SEC(".maps");

__u64 hits, crossings;

SEC("tp_btf/rss_stat")
int BPF_PROG(rssstat, struct mm_struct *mm, int member)
{
	__u64 key = (__u64)mm;
	__s64 now, *was;

	__sync_fetch_and_add(&hits, 1);
	if (member != MM_ANONPAGES)
		return 0;
	now = BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count);
	was = bpf_map_lookup_elem(&last, &key);
	if (was && now - *was < THRESHOLD_PAGES && *was - now < THRESHOLD_PAGES)
		return 0;
	bpf_map_update_elem(&last, &key, &now, BPF_ANY);
	__sync_fetch_and_add(&crossings, 1);
	return 0;
}
