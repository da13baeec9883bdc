// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mallocbench: the cost of one malloc+free pair, measured inside the
 * process so that a tracer's start-up and tear-down are not counted.
 *
 *   loop         malloc then free at once, sizes cycling 16..4096 bytes
 *   working-set  LIVE objects per thread; each step frees a random live one
 *                and puts a new one of random size in its place
 *
 * Each thread warms up (the working set is filled then churned) before it
 * waits at a barrier for the others; only the timed loop after it counts.
 * Prints one line: "mallocbench: mode=M threads=T pairs=N ns_per_pair=X
 * cpu_ns_per_pair=Y", where X is the mean over threads of the hot loop's
 * wall time / thread pairs (what one pair costs the thread that makes it,
 * also with two threads), and Y the same with the thread's CPU time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

enum bench_mode { MODE_LOOP, MODE_WORKING_SET };

struct bench_opts {
	enum bench_mode mode;
	unsigned int threads;
	uint64_t pairs;		/* timed pairs per thread */
	uint64_t warmup;	/* untimed pairs per thread, before the barrier */
	uint64_t live;		/* working-set objects per thread */
	uint64_t seed;
	unsigned int linger;	/* seconds to stay after printing */
	unsigned int depth;	/* loop: frames between the loop and malloc */
};

struct worker {
	const struct bench_opts *o;
	pthread_barrier_t *start;
	unsigned int index;
	uint64_t ns;		/* time of the timed loop */
	uint64_t cpu_ns;	/* the thread's CPU time in it */
	int err;
};

/* Keep the compiler from pairing malloc with free and deleting both. */
static inline void escape(void *p)
{
	asm volatile("" : : "r"(p) : "memory");
}

/* Start timing the hot loop: wall time, and the thread's CPU time, which
 * leaves out the time other processes had the CPU (probe handling runs in
 * the thread and is counted). */
static void timer_start(struct worker *w)
{
	w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	w->ns = clock_ns(CLOCK_MONOTONIC);
}

static void timer_stop(struct worker *w)
{
	w->ns = clock_ns(CLOCK_MONOTONIC) - w->ns;
	w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - w->cpu_ns;
}

/* xorshift64*: cheap next to malloc, and the same sequence every run */
static inline uint64_t next_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/*
 * -D: malloc called depth frames below the loop, as in real programs, so
 * that a stack walk has frames to walk.  Not a tail call (escape after
 * it), not cloned or inlined (noipa): one frame per level.
 */
static __attribute__((noipa)) char *deep_malloc(unsigned int depth, size_t size)
{
	char *p;

	if (!depth)
		return malloc(size);
	p = deep_malloc(depth - 1, size);
	escape(p);
	return p;
}

static inline size_t loop_size(uint64_t i)
{
	return 16 + (i % 256) * 16;	/* 16, 32, ..., 4096 */
}

static int run_loop(struct worker *w)
{
	uint64_t i;

	for (i = 0; i < w->o->warmup; i++) {
		char *p = w->o->depth ? deep_malloc(w->o->depth - 1, loop_size(i)) :
					malloc(loop_size(i));

		if (!p)
			return -ENOMEM;
		p[0] = (char)i;
		escape(p);
		free(p);
	}
	pthread_barrier_wait(w->start);
	timer_start(w);
	for (i = 0; i < w->o->pairs; i++) {
		char *p = w->o->depth ? deep_malloc(w->o->depth - 1, loop_size(i)) :
					malloc(loop_size(i));

		if (!p)
			return -ENOMEM;
		p[0] = (char)i;
		escape(p);
		free(p);
	}
	timer_stop(w);
	return 0;
}

/* Replace one random live object; -ENOMEM when malloc fails. */
static inline int churn_one(char **slots, uint64_t live, uint64_t *rng)
{
	uint64_t r = next_rand(rng);
	uint64_t k = r % live;
	size_t size = 16 + (r >> 32) % 4081;

	free(slots[k]);
	slots[k] = malloc(size);
	if (!slots[k])
		return -ENOMEM;
	slots[k][0] = (char)r;
	escape(slots[k]);
	return 0;
}

static int run_working_set(struct worker *w)
{
	uint64_t rng = w->o->seed * 2 + w->index + 1;
	uint64_t i, live = w->o->live;
	char **slots = calloc(live, sizeof(*slots));
	int err = 0;

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < live && !err; i++) {
		slots[i] = malloc(16 + next_rand(&rng) % 4081);
		if (!slots[i])
			err = -ENOMEM;
	}
	for (i = 0; i < w->o->warmup && !err; i++)
		err = churn_one(slots, live, &rng);
	/* the barrier counts every thread, also one that failed */
	pthread_barrier_wait(w->start);
	timer_start(w);
	for (i = 0; i < w->o->pairs && !err; i++)
		err = churn_one(slots, live, &rng);
	timer_stop(w);
	for (i = 0; i < live; i++)
		free(slots[i]);
	free(slots);
	return err;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->err = w->o->mode == MODE_LOOP ? run_loop(w) : run_working_set(w);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mallocbench [-m loop|working-set] [-t THREADS] [-n PAIRS] [-w WARMUP]\n"
		"                   [-l LIVE] [-s SEED] [-z SEC] [-D DEPTH]\n"
		"  -m  loop (default): malloc+free at once, sizes 16..4096;\n"
		"      working-set: free a random one of LIVE objects, allocate its successor\n"
		"  -t  threads, each doing the pairs (default 1)\n"
		"  -n  timed pairs per thread (default 1000000)\n"
		"  -w  untimed warm-up pairs per thread (default: PAIRS / 10)\n"
		"  -l  live objects per thread in working-set mode (default 100000)\n"
		"  -s  random seed (default 1)\n"
		"  -z  stay SEC seconds after printing, so that the tracer's program\n"
		"      statistics can be read while it is still attached\n"
		"  -D  loop: call malloc DEPTH frames below the loop (default 0: in it)\n");
}

static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
	bool warmup_set = false;
	uint64_t v;
	int c;

	*o = (struct bench_opts){ MODE_LOOP, 1, 1000000, 0, 100000, 1, 0, 0 };
	while ((c = getopt(argc, argv, "m:t:n:w:l:s:z:D:h")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "loop"))
				o->mode = MODE_LOOP;
			else if (!strcmp(optarg, "working-set") || !strcmp(optarg, "ws"))
				o->mode = MODE_WORKING_SET;
			else
				return -EINVAL;
			break;
		case 't':
			if (parse_u64(optarg, &v) || !v || v > 64)
				return -EINVAL;
			o->threads = v;
			break;
		case 'n':
			if (parse_u64(optarg, &o->pairs) || !o->pairs)
				return -EINVAL;
			break;
		case 'w':
			if (parse_u64(optarg, &o->warmup))
				return -EINVAL;
			warmup_set = true;
			break;
		case 'l':
			if (parse_u64(optarg, &o->live) || !o->live)
				return -EINVAL;
			break;
		case 's':
			if (parse_u64(optarg, &o->seed))
				return -EINVAL;
			break;
		case 'z':
			if (parse_u64(optarg, &v) || v > 3600)
				return -EINVAL;
			o->linger = v;
			break;
		case 'D':
			if (parse_u64(optarg, &v) || v > 1000)
				return -EINVAL;
			o->depth = v;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)
		return -EINVAL;
	if (!warmup_set)
		o->warmup = o->pairs / 10 < 1000 ? 1000 : o->pairs / 10;
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t *tids = NULL;
	struct worker *w = NULL;
	pthread_barrier_t start;
	struct bench_opts o;
	unsigned int i, started = 0;
	double sum = 0, cpu_sum = 0;
	int err, code = 1;

	err = parse_opts(argc, argv, &o);
	if (err) {
		if (err < 0)
			usage(stderr);
		return err < 0 ? 2 : 0;
	}
	w = calloc(o.threads, sizeof(*w));
	tids = calloc(o.threads, sizeof(*tids));
	if (!w || !tids || pthread_barrier_init(&start, NULL, o.threads)) {
		fprintf(stderr, "mallocbench: out of memory\n");
		goto cleanup;
	}
	for (i = 0; i < o.threads; i++) {
		w[i] = (struct worker){ .o = &o, .start = &start, .index = i };
		err = pthread_create(&tids[i], NULL, worker_main, &w[i]);
		if (err) {
			/* the threads already started would wait at the barrier
			 * for ever: nothing to measure, leave at once */
			fprintf(stderr, "mallocbench: pthread_create: %s\n", strerror(err));
			exit(1);
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; i < o.threads; i++) {
		if (w[i].err) {
			fprintf(stderr, "mallocbench: thread %u: %s\n", i, strerror(-w[i].err));
			goto cleanup;
		}
		sum += (double)w[i].ns / o.pairs;
		cpu_sum += (double)w[i].cpu_ns / o.pairs;
	}
	printf("mallocbench: mode=%s threads=%u pairs=%" PRIu64 " ns_per_pair=%.1f "
	       "cpu_ns_per_pair=%.1f\n", o.mode == MODE_LOOP ? "loop" : "working-set",
	       o.threads, o.pairs, sum / o.threads, cpu_sum / o.threads);
	fflush(stdout);
	if (o.linger)
		sleep(o.linger);
	code = 0;
cleanup:
	free(tids);
	free(w);
	return code;
}
