// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "rsswatch.h"
#include "vec.h"

/* One process's samples: a ring of max_samples. */
struct rss_track {
	pid_t pid;
	size_t head;		/* next slot to write */
	size_t n;
	struct rss_sample *ring;
};

struct rsswatch {
	size_t max_samples;
	uint64_t interval_ns;
	uint64_t page_size;
	struct rss_track *t;
	size_t n, cap;
};

struct rsswatch *rsswatch__new(size_t max_samples, uint64_t interval_ns)
{
	struct rsswatch *w;
	long ps = sysconf(_SC_PAGESIZE);

	if (!max_samples) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->max_samples = max_samples;
	w->interval_ns = interval_ns;
	w->page_size = ps > 0 ? (uint64_t)ps : 4096;
	return w;
}

void rsswatch__free(struct rsswatch *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->n; i++)
		free(w->t[i].ring);
	free(w->t);
	free(w);
}

uint64_t rsswatch__interval_ns(const struct rsswatch *w)
{
	return w->interval_ns;
}

static struct rss_track *find(const struct rsswatch *w, pid_t pid)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (w->t[i].pid == pid)
			return &w->t[i];
	}
	return NULL;
}

static struct rss_track *find_or_add(struct rsswatch *w, pid_t pid)
{
	struct rss_track *t = find(w, pid);

	if (t)
		return t;
	if (lw_vec_reserve(w->t, w->cap, w->n + 1))
		return NULL;
	t = &w->t[w->n];
	memset(t, 0, sizeof(*t));
	t->ring = calloc(w->max_samples, sizeof(*t->ring));
	if (!t->ring)
		return NULL;
	t->pid = pid;
	w->n++;
	return t;
}

int rsswatch__add(struct rsswatch *w, pid_t pid, const struct rss_sample *s)
{
	struct rss_track *t = find_or_add(w, pid);

	if (!t)
		return -ENOMEM;
	t->ring[t->head] = *s;
	t->head = (t->head + 1) % w->max_samples;
	if (t->n < w->max_samples)
		t->n++;
	return 0;
}

int rsswatch__sample(struct rsswatch *w, pid_t pid, uint64_t now_ns)
{
	const struct rss_track *t = find(w, pid);
	struct rss_sample s = { .ts_ns = now_ns };
	char path[64], *text = NULL;
	int err;

	if (t && t->n) {
		const struct rss_sample *last = &t->ring[(t->head + w->max_samples - 1) %
							 w->max_samples];

		if (now_ns - last->ts_ns < w->interval_ns)
			return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	err = procfs_read_file(path, &text, NULL);
	if (!err)
		err = rss_parse_statm(text, w->page_size, &s.rss_bytes, &s.anon_bytes);
	free(text);
	return err ?: rsswatch__add(w, pid, &s);
}

int rsswatch__get(const struct rsswatch *w, pid_t pid, struct rss_sample **out, size_t *n)
{
	const struct rss_track *t = find(w, pid);
	size_t i, first;

	*out = NULL;
	*n = 0;
	if (!t || !t->n)
		return 0;
	*out = malloc(t->n * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	first = (t->head + w->max_samples - t->n) % w->max_samples;
	for (i = 0; i < t->n; i++)
		(*out)[i] = t->ring[(first + i) % w->max_samples];
	*n = t->n;
	return 0;
}

void rsswatch__prune(struct rsswatch *w, bool (*keep)(pid_t pid, void *ctx), void *ctx)
{
	size_t i = 0;

	while (i < w->n) {
		if (keep(w->t[i].pid, ctx)) {
			i++;
			continue;
		}
		free(w->t[i].ring);
		w->t[i] = w->t[--w->n];
	}
}

/* A decimal number at *p, after spaces; moves *p past it. */
static int next_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = x;
	return 0;
}

int rss_parse_statm(const char *text, uint64_t page_size, uint64_t *rss, uint64_t *anon)
{
	uint64_t size, resident, shared;
	const char *p = text;

	if (next_u64(&p, &size) || next_u64(&p, &resident) || next_u64(&p, &shared))
		return -EINVAL;
	*rss = resident * page_size;
	/* shared is RssFile + RssShmem (fs/proc/task_mmu.c task_statm) */
	*anon = (resident > shared ? resident - shared : 0) * page_size;
	return 0;
}

int rss_parse_status(const char *text, struct rss_status *out)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "RssAnon:", offsetof(struct rss_status, anon) },
		{ "RssFile:", offsetof(struct rss_status, file) },
		{ "RssShmem:", offsetof(struct rss_status, shmem) },
		{ "VmSwap:", offsetof(struct rss_status, swap) },
		{ "VmSize:", offsetof(struct rss_status, vm_size) },
	};
	struct rss_status st = { .uid = -1 };
	const char *line = text;
	bool have_anon = false;
	size_t i;

	while (*line) {
		const char *eol = strchrnul(line, '\n');

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i].key);
			const char *p = line + kl;
			uint64_t kb;

			if (strncmp(line, keys[i].key, kl) || next_u64(&p, &kb))
				continue;
			*(uint64_t *)((char *)&st + keys[i].off) = kb * 1024;
			have_anon |= i == 0;
		}
		if (!strncmp(line, "Uid:", 4)) {
			const char *p = line + 4;
			uint64_t uid;

			if (!next_u64(&p, &uid))
				st.uid = (int64_t)uid;
		}
		line = *eol ? eol + 1 : eol;
	}
	if (!have_anon)
		return -EINVAL;
	*out = st;
	return 0;
}

int rss_read_status(pid_t pid, struct rss_status *out)
{
	char path[64], *text = NULL;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	err = procfs_read_file(path, &text, NULL);
	if (!err)
		err = rss_parse_status(text, out);
	free(text);
	return err;
}
