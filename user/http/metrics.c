// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "counters.h"
#include "metrics.h"
#include "options.h"
#include "promtext.h"

/* The series one process has, for the count of those cut. */
static uint64_t process_series(const struct watch_process *p)
{
	return 6 + (p->has_report ? 4 + p->nkinds : 0);
}

static int by_anon_desc(const void *a, const void *b)
{
	const struct watch_process *x = *(const struct watch_process *const *)a;
	const struct watch_process *y = *(const struct watch_process *const *)b;

	if (x->anon_bytes != y->anon_bytes)
		return x->anon_bytes < y->anon_bytes ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The processes that get series: every suspect and traced process, then
 * the top_k others by anon memory.  *out malloc'd, by anon descending. */
static int select_processes(struct metrics_state *st, const struct watch_process *procs, size_t n,
			    const struct watch_process ***out, size_t *nout)
{
	const struct watch_process **sel;
	size_t i, k = 0, others = 0;

	sel = calloc(n ? n : 1, sizeof(*sel));
	if (!sel)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		sel[i] = &procs[i];
	qsort(sel, n, sizeof(*sel), by_anon_desc);
	for (i = 0; i < n; i++) {
		if (sel[i]->suspect || sel[i]->traced || others++ < st->top_k)
			sel[k++] = sel[i];
		else
			st->series_dropped += process_series(sel[i]);
	}
	*out = sel;
	*nout = k;
	return 0;
}

#define PROC_LABELS(p)                                                              \
	{ "pid", pidbuf }, { "comm", (p)->comm }, { "namespace", (p)->namespace },  \
	{ "pod", (p)->pod }, { "container", (p)->container }

enum proc_field { F_ANON, F_FILE, F_SHMEM, F_GROWTH, F_SUSPECT, F_TRACED };

static const struct {
	const char *name;
	const char *help;
} proc_families[] = {
	[F_ANON] = { "leakwatch_process_anon_bytes",
		     "Anonymous resident memory of the process (RssAnon)." },
	[F_FILE] = { "leakwatch_process_file_bytes",
		     "File-backed resident memory of the process (RssFile)." },
	[F_SHMEM] = { "leakwatch_process_shmem_bytes",
		      "Shared-memory resident memory of the process (RssShmem)." },
	[F_GROWTH] = { "leakwatch_process_growth_bytes_per_second",
		       "Robust slope of the process's anonymous memory over the window." },
	[F_SUSPECT] = { "leakwatch_process_suspect",
			"1 when the process's anonymous memory grows steadily (a leak suspect)." },
	[F_TRACED] = { "leakwatch_process_traced",
		       "1 while the process's allocations are traced." },
};

static double proc_value(const struct watch_process *p, enum proc_field f)
{
	switch (f) {
	case F_ANON: return (double)p->anon_bytes;
	case F_FILE: return (double)p->file_bytes;
	case F_SHMEM: return (double)p->shmem_bytes;
	case F_GROWTH: return p->growth_bytes_per_second;
	case F_SUSPECT: return p->suspect;
	case F_TRACED: return p->traced;
	}
	return 0;
}

static int write_processes(struct promtext *w, const struct watch_process **sel, size_t n)
{
	static const char *const parts[] = { "live", "retained", "runtime", "other" };
	char pidbuf[16];
	size_t f, i, j;
	int err = 0;

	for (f = F_ANON; f <= F_TRACED && !err; f++) {
		err = promtext_family(w, proc_families[f].name, PROM_GAUGE, proc_families[f].help);
		for (i = 0; i < n && !err; i++) {
			struct prom_label l[] = { PROC_LABELS(sel[i]) };

			snprintf(pidbuf, sizeof(pidbuf), "%d", sel[i]->pid);
			if (f <= F_SHMEM)
				err = promtext_sample_u64(w, l, 5, f == F_ANON ? sel[i]->anon_bytes :
							  f == F_FILE ? sel[i]->file_bytes :
							  sel[i]->shmem_bytes);
			else
				err = promtext_sample(w, l, 5, proc_value(sel[i], f));
		}
	}
	err = err ?: promtext_family(w, "leakwatch_process_memory_bytes", PROM_GAUGE,
				     "Anonymous memory of a traced process by what holds it: live "
				     "blocks and mappings, allocator retention, a language runtime, "
				     "other.");
	for (i = 0; i < n && !err; i++) {
		const struct watch_split *s = &sel[i]->split;
		uint64_t v[] = { s->live, s->retained, s->runtime, s->other };

		if (!sel[i]->has_report)
			continue;
		snprintf(pidbuf, sizeof(pidbuf), "%d", sel[i]->pid);
		for (j = 0; j < 4 && !err; j++) {
			struct prom_label l[] = { PROC_LABELS(sel[i]), { "part", parts[j] } };

			err = promtext_sample_u64(w, l, 6, v[j]);
		}
	}
	err = err ?: promtext_family(w, "leakwatch_process_outstanding_bytes", PROM_GAUGE,
				     "Outstanding bytes of the process's latest report, by kind.");
	for (i = 0; i < n && !err; i++) {
		if (!sel[i]->has_report)
			continue;
		snprintf(pidbuf, sizeof(pidbuf), "%d", sel[i]->pid);
		for (j = 0; j < sel[i]->nkinds && j < REPORT_MAX_KINDS && !err; j++) {
			struct prom_label l[] = { PROC_LABELS(sel[i]),
						  { "kind", sel[i]->kinds[j].kind } };

			err = promtext_sample_u64(w, l, 6, sel[i]->kinds[j].bytes);
		}
	}
	return err;
}

static int write_counts(struct promtext *w, const struct watch_process *procs, size_t n,
			const struct metrics_state *st, const struct watch_provider_ops *ops,
			void *ctx)
{
	uint64_t traced = 0, suspects = 0;
	struct rusage ru;
	double cpu = 0;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		traced += procs[i].traced;
		suspects += procs[i].suspect;
	}
	if (ops->cpu_seconds)
		cpu = ops->cpu_seconds(ctx);
	else if (!getrusage(RUSAGE_SELF, &ru))
		cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	err = promtext_family(w, "leakwatch_processes_watched", PROM_GAUGE,
			      "Processes whose memory the daemon samples.");
	err = err ?: promtext_sample_u64(w, NULL, 0, n);
	err = err ?: promtext_family(w, "leakwatch_processes_traced", PROM_GAUGE,
				     "Processes whose allocations are traced now.");
	err = err ?: promtext_sample_u64(w, NULL, 0, traced);
	err = err ?: promtext_family(w, "leakwatch_suspects", PROM_GAUGE,
				     "Processes flagged as leak suspects now.");
	err = err ?: promtext_sample_u64(w, NULL, 0, suspects);
	err = err ?: promtext_family(w, "leakwatch_series_dropped_total", PROM_COUNTER,
				     "Per-process series left out of scrapes by the top-K bound.");
	err = err ?: promtext_sample_u64(w, NULL, 0, st->series_dropped);
	err = err ?: promtext_family(w, "leakwatch_cpu_seconds_total", PROM_COUNTER,
				     "CPU time the daemon has used, user and system.");
	err = err ?: promtext_sample(w, NULL, 0, cpu);
	err = err ?: promtext_family(w, "leakwatch_build_info", PROM_GAUGE,
				     "Always 1; the version of leakwatch in its label.");
	if (!err) {
		struct prom_label l[] = { { "version", LW_VERSION } };

		err = promtext_sample_u64(w, l, 1, 1);
	}
	return err;
}

static int write_counter(const struct lw_counter_def *d, uint64_t value, void *ctx)
{
	struct prom_label l[] = { { "source", d->name } };

	/* the registry's gauges (what is listed now) are no drops */
	if (d->kind != LW_COUNTER_COUNTER)
		return 0;
	return promtext_sample_u64(ctx, l, 1, value);
}

/* Every drop counter of the registry, by its name. */
static int write_counters(struct promtext *w, const struct watch_provider_ops *ops, void *ctx)
{
	struct lw_counters c = { 0 };
	int err;

	if (!ops->counters)
		return 0;
	err = ops->counters(ctx, &c);
	err = err ?: promtext_family(w, "leakwatch_events_lost_total", PROM_COUNTER,
				     "Events lost or not recorded, by the drop counter that "
				     "counts them.");
	return err ?: lw_counters_each(&c, write_counter, w);
}

int metrics_write(FILE *f, struct metrics_state *st, const struct watch_process *procs, size_t n,
		  const struct watch_provider_ops *ops, void *ctx)
{
	const struct watch_process **sel = NULL;
	struct promtext w;
	size_t nsel;
	int err;

	promtext_init(&w, f);
	err = select_processes(st, procs, n, &sel, &nsel);
	err = err ?: write_processes(&w, sel, nsel);
	err = err ?: write_counts(&w, procs, n, st, ops, ctx);
	err = err ?: write_counters(&w, ops, ctx);
	if (!err && ops->write_metrics)
		err = ops->write_metrics(ctx, &w);
	free(sel);
	return err ?: promtext_finish(&w);
}
