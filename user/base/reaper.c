// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reaper.h"
#include "vec.h"

struct reaper {
	void (*fn)(void *item);
	pthread_mutex_t lock;
	pthread_cond_t more;	/* an item came, or stop */
	pthread_cond_t done;	/* an item was done */
	void **items;		/* a queue: items[head..n) */
	size_t head, n, cap;
	size_t busy;		/* taken by the thread, not done */
	bool stop, started;
	pthread_t thread;
};

static void *run(void *arg)
{
	struct reaper *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		void *item;

		while (r->head == r->n && !r->stop)
			pthread_cond_wait(&r->more, &r->lock);
		if (r->head == r->n)
			break;
		item = r->items[r->head++];
		if (r->head == r->n)
			r->head = r->n = 0;
		r->busy++;
		pthread_mutex_unlock(&r->lock);
		r->fn(item);
		pthread_mutex_lock(&r->lock);
		r->busy--;
		pthread_cond_broadcast(&r->done);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct reaper *reaper__new(void (*fn)(void *item))
{
	struct reaper *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fn = fn;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->more, NULL);
	pthread_cond_init(&r->done, NULL);
	return r;
}

/* The thread, with every signal blocked: they are the event loop's
 * (signalfd).  Called with r->lock held.  0 or -errno. */
static int start(struct reaper *r)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->thread, NULL, run, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	r->started = true;
	return 0;
}

int reaper__give(struct reaper *r, void *item)
{
	int err = 0;

	pthread_mutex_lock(&r->lock);
	if (!r->started)
		err = start(r);
	if (!err && r->n == r->cap && r->head) {	/* room at the front */
		memmove(r->items, r->items + r->head, (r->n - r->head) * sizeof(*r->items));
		r->n -= r->head;
		r->head = 0;
	}
	if (!err && lw_vec_reserve(r->items, r->cap, r->n + 1))
		err = -ENOMEM;
	if (!err) {
		r->items[r->n++] = item;
		pthread_cond_signal(&r->more);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

size_t reaper__pending(struct reaper *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->n - r->head + r->busy;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void reaper__drain(struct reaper *r)
{
	pthread_mutex_lock(&r->lock);
	while (r->n != r->head || r->busy)
		pthread_cond_wait(&r->done, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

void reaper__free(struct reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->more);
	pthread_mutex_unlock(&r->lock);
	/* the thread does what is queued before it sees stop */
	if (r->started)
		pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->done);
	pthread_cond_destroy(&r->more);
	pthread_mutex_destroy(&r->lock);
	free(r->items);
	free(r);
}
