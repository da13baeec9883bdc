// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "reaper.h"

/* Items are ints, done in order into done[]; each takes a while, as a
 * link's removal does. */
static int done[1000];
static atomic_int ndone;
static pthread_t caller;
static atomic_int on_caller;

static void work(void *item)
{
	struct timespec ts = { 0, 200 * 1000 };

	nanosleep(&ts, NULL);
	if (pthread_equal(pthread_self(), caller))
		on_caller++;
	done[ndone++] = *(int *)item;
	free(item);
}

static void give(struct reaper *r, int v)
{
	int *item = malloc(sizeof(*item));

	cr_assert_not_null(item);
	*item = v;
	cr_assert_eq(reaper__give(r, item), 0);
}

static void reset(void)
{
	ndone = 0;
	on_caller = 0;
	caller = pthread_self();
}

Test(reaper, in_order_on_its_thread)
{
	struct reaper *r = reaper__new(work);
	int i;

	reset();
	cr_assert_not_null(r);
	cr_assert_eq(reaper__pending(r), 0);
	reaper__drain(r);	/* nothing given, no thread: returns */
	for (i = 0; i < 1000; i++)
		give(r, i);
	/* the caller does not wait for the work */
	cr_assert_gt(reaper__pending(r), 0);
	reaper__drain(r);
	cr_assert_eq(reaper__pending(r), 0);
	cr_assert_eq(ndone, 1000);
	cr_assert_eq(on_caller, 0, "work was done on the caller's thread");
	for (i = 0; i < 1000; i++)
		cr_assert_eq(done[i], i, "item %d done as %d-th", done[i], i);
	reaper__free(r);
}

/* free does what was given before it returns, and gives the room at the
 * front of the queue back while items keep coming */
Test(reaper, free_finishes_the_work)
{
	struct reaper *r = reaper__new(work);
	int i;

	reset();
	for (i = 0; i < 500; i++)
		give(r, i);
	reaper__drain(r);
	for (i = 500; i < 1000; i++)
		give(r, i);
	reaper__free(r);
	cr_assert_eq(ndone, 1000);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(done[i], i);
	reaper__free(NULL);
}
