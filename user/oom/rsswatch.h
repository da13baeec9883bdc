/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * RSS of traced processes over time, for postmortems: a sample per process
 * every interval from /proc/PID/statm (one small read), the newest
 * max_samples kept per process (5 minutes at 1 s by default).  Also the
 * parsers of /proc/PID/statm and /proc/PID/status.  No libbpf.
 */
#ifndef LW_RSSWATCH_H
#define LW_RSSWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rss_sample {
	uint64_t ts_ns;		/* CLOCK_MONOTONIC */
	uint64_t rss_bytes;	/* resident */
	uint64_t anon_bytes;	/* resident, neither file-backed nor shmem */
};

/* From /proc/PID/status, in bytes. */
struct rss_status {
	uint64_t anon;		/* RssAnon */
	uint64_t file;		/* RssFile */
	uint64_t shmem;		/* RssShmem */
	uint64_t swap;		/* VmSwap */
	uint64_t vm_size;	/* VmSize */
	int64_t uid;		/* real uid (Uid:); -1 when absent */
};

struct rsswatch;

/* NULL + errno. */
struct rsswatch *rsswatch__new(size_t max_samples, uint64_t interval_ns);
void rsswatch__free(struct rsswatch *w);	/* accepts NULL */

/* Append a sample of pid; the oldest goes when max_samples are kept.
 * 0 or -ENOMEM. */
int rsswatch__add(struct rsswatch *w, pid_t pid, const struct rss_sample *s);
/* Sample pid from /proc/PID/statm at now_ns, unless its newest sample is
 * younger than the interval.  0 or -Exxx (-ENOENT: pid is gone). */
int rsswatch__sample(struct rsswatch *w, pid_t pid, uint64_t now_ns);
/* pid's samples, oldest first: *out malloc'd (NULL when *n is 0). */
int rsswatch__get(const struct rsswatch *w, pid_t pid, struct rss_sample **out, size_t *n);
/* Drop the samples of every pid for which keep(pid, ctx) is false. */
void rsswatch__prune(struct rsswatch *w, bool (*keep)(pid_t pid, void *ctx), void *ctx);
uint64_t rsswatch__interval_ns(const struct rsswatch *w);

/* "size resident shared text lib data dt" in pages: resident bytes, and
 * resident minus shared (file and shmem) as anon.  0 or -EINVAL. */
int rss_parse_statm(const char *text, uint64_t page_size, uint64_t *rss, uint64_t *anon);
/* The Rss and Vm lines of /proc/PID/status that struct rss_status names;
 * -EINVAL when RssAnon is missing (kernels before 4.5, or not a status). */
int rss_parse_status(const char *text, struct rss_status *out);
int rss_read_status(pid_t pid, struct rss_status *out);

#endif /* LW_RSSWATCH_H */
