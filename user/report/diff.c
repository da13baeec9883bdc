// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What changed between two reports (see diff.h).
 *
 * Both sides become a list of (key, bytes, allocs) sorted by key, stacks
 * of one side with the same key added up; a walk through the two lists
 * then pairs them.  The reports read by `leakwatch diff` are untrusted
 * files: every member is checked for its type before use, and a report
 * that is not schema version 1 is refused with what is wrong.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include <json-c/json.h>

#include "diff.h"
#include "jsonout.h"
#include "log.h"
#include "options.h"
#include "report_build.h"
#include "vec.h"

/* ---------------------------------------------------------------------- */
/* Keys                                                                   */

struct keybuf {
	char *s;
	size_t len, cap;
	int err;
};

static void key_put(struct keybuf *k, const char *s, size_t n)
{
	if (k->err)
		return;
	if (lw_vec_reserve(k->s, k->cap, k->len + n + 1)) {
		k->err = -ENOMEM;
		return;
	}
	memcpy(k->s + k->len, s, n);
	k->len += n;
	k->s[k->len] = '\0';
}

/* A string as "LENGTH:BYTES" (or "-" for none): no name can pass for
 * two, whatever bytes it holds. */
static void key_str(struct keybuf *k, const char *s)
{
	char len[24];

	if (!s) {
		key_put(k, "-", 1);
		return;
	}
	snprintf(len, sizeof(len), "%zu:", strlen(s));
	key_put(k, len, strlen(len));
	key_put(k, s, strlen(s));
}

static void key_num(struct keybuf *k, const char *fmt, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), fmt, v);
	key_put(k, buf, strlen(buf));
}

char *diff_stack_key(const struct report_process *p, const struct report_stack *s, bool by_pid)
{
	struct keybuf k = {};
	size_t i;

	if (by_pid)
		key_num(&k, "p%" PRIu64, (uint64_t)(uint32_t)p->pid);
	else
		key_str(&k, p->comm);
	key_str(&k, s->kind);
	key_str(&k, s->file);
	for (i = 0; i < s->nframes; i++) {
		const struct report_frame *f = &s->frames[i];

		if (f->function) {
			key_put(&k, f->inlined ? "I" : "F", 1);
			key_str(&k, f->function);
			key_str(&k, f->file);
			key_num(&k, "%" PRIu64, (uint64_t)(uint32_t)f->line);
		} else {
			/* across runs an address moves with its module (ASLR):
			 * the module alone says where it was */
			key_put(&k, "A", 1);
			key_str(&k, f->module);
			if (by_pid)
				key_num(&k, "%" PRIx64, f->address);
		}
	}
	key_put(&k, "", 0);
	if (k.err) {
		free(k.s);
		errno = -k.err;
		return NULL;
	}
	return k.s;
}

/* One side's stacks with their keys. */
struct entry {
	char *key;
	uint64_t bytes, allocs;
	bool leak;		/* counted in its process's outstanding_* */
	const struct report_process *p;
	struct report_stack *s;	/* one of the stacks with this key */
};

static int cmp_key(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;

	return strcmp(a->key, b->key);
}

static void entries_free(struct entry *e, size_t n)
{
	size_t i;

	for (i = 0; e && i < n; i++)
		free(e[i].key);
	free(e);
}

/* r's stacks, sorted by key, duplicates added up.  0 or -ENOMEM. */
static int entries(const struct report *r, bool by_pid, struct entry **out, size_t *nout)
{
	struct entry *e;
	size_t n = 0, i, j, k;

	for (i = 0; i < r->nprocs; i++)
		n += r->procs[i].nstacks;
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0, k = 0; i < r->nprocs; i++) {
		for (j = 0; j < r->procs[i].nstacks; j++, k++) {
			struct report_stack *s = &r->procs[i].stacks[j];

			e[k] = (struct entry){ .key = diff_stack_key(&r->procs[i], s, by_pid),
					       .bytes = s->bytes, .allocs = s->allocs,
					       .leak = report_stack_is_leak(&r->procs[i], s),
					       .p = &r->procs[i], .s = s };
			if (!e[k].key) {
				entries_free(e, k);
				return -ENOMEM;
			}
		}
	}
	qsort(e, n, sizeof(*e), cmp_key);
	for (i = 0, k = 0; i < n; i++) {
		if (k && !strcmp(e[k - 1].key, e[i].key)) {
			e[k - 1].bytes += e[i].bytes;
			e[k - 1].allocs += e[i].allocs;
			free(e[i].key);
			continue;
		}
		e[k++] = e[i];
	}
	*out = e;
	*nout = k;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* -i: the growth since the previous report                               */

struct growth {
	struct entry *prev;
	size_t nprev;
};

struct growth *growth__new(void)
{
	return calloc(1, sizeof(struct growth));
}

void growth__free(struct growth *g)
{
	if (!g)
		return;
	entries_free(g->prev, g->nprev);
	free(g);
}

int growth__update(struct growth *g, struct report *r)
{
	struct entry *cur = NULL;
	size_t ncur = 0, i, j, k;
	int err;

	err = entries(r, true, &cur, &ncur);
	for (i = 0; !err && i < r->nprocs; i++) {
		struct report_process *p = &r->procs[i];

		free(p->growth);
		p->growth = calloc(p->nstacks ? p->nstacks : 1, sizeof(*p->growth));
		if (!p->growth) {
			err = -ENOMEM;
			break;
		}
		for (j = 0; j < p->nstacks; j++) {
			struct report_stack *s = &p->stacks[j];
			struct entry want = { .key = diff_stack_key(p, s, true) }, *was = NULL, *now;

			if (!want.key) {
				err = -ENOMEM;
				break;
			}
			now = bsearch(&want, cur, ncur, sizeof(*cur), cmp_key);
			if (g->nprev)
				was = bsearch(&want, g->prev, g->nprev, sizeof(*g->prev), cmp_key);
			free(want.key);
			/* stacks of one key are compared as one: the change
			 * goes to one of them, 0 to the others */
			if (now && now->s == s) {
				p->growth[j].bytes_delta = (int64_t)now->bytes -
							   (int64_t)(was ? was->bytes : 0);
				p->growth[j].allocs_delta = (int64_t)now->allocs -
							    (int64_t)(was ? was->allocs : 0);
			}
		}
	}
	if (err) {
		for (i = 0; i < r->nprocs; i++) {
			free(r->procs[i].growth);
			r->procs[i].growth = NULL;
		}
		entries_free(cur, ncur);
		return err;
	}
	/* kept without their stacks, which go with r */
	for (k = 0; k < ncur; k++) {
		cur[k].p = NULL;
		cur[k].s = NULL;
	}
	entries_free(g->prev, g->nprev);
	g->prev = cur;
	g->nprev = ncur;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The diff                                                               */

enum status { ST_GROWN, ST_SHRUNK, ST_SAME, ST_NEW, ST_VANISHED };

static const char *const status_names[] = {
	[ST_GROWN] = "grown", [ST_SHRUNK] = "shrunk", [ST_SAME] = "same",
	[ST_NEW] = "new", [ST_VANISHED] = "vanished",
};

struct change {
	const struct entry *old, *new;	/* NULL: absent on that side */
	int64_t bytes_delta, allocs_delta;
	enum status status;
};

static bool change_is_leak(const struct change *c)
{
	return (c->new ? c->new : c->old)->leak;
}

/* Leaks first, as in a report: an arena the allocator grew by 128 KiB must
 * not push the 2 KiB a program leaked out of the top N.  Then the largest
 * growth first. */
static int cmp_change(const void *pa, const void *pb)
{
	const struct change *a = pa, *b = pb;
	uint64_t ab = a->new ? a->new->bytes : 0, bb = b->new ? b->new->bytes : 0;

	if (change_is_leak(a) != change_is_leak(b))
		return change_is_leak(a) ? -1 : 1;
	if (a->bytes_delta != b->bytes_delta)
		return a->bytes_delta > b->bytes_delta ? -1 : 1;
	if (a->allocs_delta != b->allocs_delta)
		return a->allocs_delta > b->allocs_delta ? -1 : 1;
	if (ab != bb)
		return ab > bb ? -1 : 1;
	return strcmp(a->new ? a->new->key : a->old->key, b->new ? b->new->key : b->old->key);
}

static void totals(const struct report *r, uint64_t *bytes, uint64_t *allocs)
{
	size_t i;

	*bytes = *allocs = 0;
	for (i = 0; i < r->nprocs; i++) {
		*bytes += r->procs[i].outstanding_bytes;
		*allocs += r->procs[i].outstanding_allocs;
	}
}

/* "2.8 KiB (2816 B)"; "812 B" */
static const char *exact(uint64_t bytes, char *buf, size_t len)
{
	char human[32];

	if (bytes < 1024)
		return report_fmt_bytes(bytes, buf, len);
	snprintf(buf, len, "%s (%" PRIu64 " B)", report_fmt_bytes(bytes, human, sizeof(human)),
		 bytes);
	return buf;
}

static int write_text(FILE *f, const struct report *old, const struct report *new,
		      const struct change *c, size_t n, const struct diff_opts *o)
{
	uint64_t ob, oa, nb, na;
	char b1[64], b2[64], d[64];
	size_t i, shown = o->top && o->top < n ? o->top : n;

	totals(old, &ob, &oa);
	totals(new, &nb, &na);
	fputs("leakwatch diff: ", f);
	report_write_str_text(f, o->old_name);
	fprintf(f, " (%s) -> ", old->timestamp[0] ? old->timestamp : "?");
	report_write_str_text(f, o->new_name);
	fprintf(f, " (%s)\n", new->timestamp[0] ? new->timestamp : "?");
	fprintf(f, "outstanding: %s in %" PRIu64 " blocks -> %s in %" PRIu64 " blocks: %s, %+" PRId64
		" blocks\n", exact(ob, b1, sizeof(b1)), oa, exact(nb, b2, sizeof(b2)), na,
		report_fmt_delta((int64_t)(nb - ob), d, sizeof(d)), (int64_t)(na - oa));
	for (i = 0; i < shown; i++) {
		const struct entry *e = c[i].new ? c[i].new : c[i].old;

		if (!e->leak && (!i || change_is_leak(&c[i - 1])))
			fputs("  not leaks (the allocator's own memory, thread stacks, libraries):\n",
			      f);
		fprintf(f, "  #%zu  %s, %+" PRId64 " %s  %s", i + 1,
			report_fmt_delta(c[i].bytes_delta, d, sizeof(d)), c[i].allocs_delta,
			c[i].allocs_delta == 1 || c[i].allocs_delta == -1 ? "block" : "blocks",
			status_names[c[i].status]);
		if (c[i].old && c[i].new)
			fprintf(f, ": %s in %" PRIu64 " -> %s in %" PRIu64,
				report_fmt_bytes(c[i].old->bytes, b1, sizeof(b1)), c[i].old->allocs,
				report_fmt_bytes(c[i].new->bytes, b2, sizeof(b2)), c[i].new->allocs);
		fputs("  [", f);
		report_write_str_text(f, e->s->kind ? e->s->kind : "heap");
		fputs("] ", f);
		report_write_str_text(f, e->p->comm ? e->p->comm : "?");
		fputc('\n', f);
		report_write_frames_text(f, e->s, 0);
	}
	if (shown < n)
		fprintf(f, "  ... %zu more stacks (-T N shows more; -f json shows all)\n", n - shown);
	if (ferror(f) || fflush(f) == EOF)
		return -EIO;
	return 0;
}

static struct json_object *json_side(const char *name, const struct report *r)
{
	struct json_object *obj = json_object_new_object();
	uint64_t b, a;
	int err;

	if (!obj)
		return NULL;
	totals(r, &b, &a);
	err = json_out_add_str(obj, "file", name);
	err = err ?: json_out_add_str(obj, "timestamp", r->timestamp[0] ? r->timestamp : NULL);
	err = err ?: json_out_add_u64(obj, "outstanding_bytes", b);
	err = err ?: json_out_add_u64(obj, "outstanding_allocs", a);
	if (err) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *json_values(const struct entry *e)
{
	struct json_object *obj = json_object_new_object();
	int err;

	if (!obj)
		return NULL;
	err = json_out_add_u64(obj, "bytes", e ? e->bytes : 0);
	err = err ?: json_out_add_u64(obj, "allocs", e ? e->allocs : 0);
	if (err) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *json_change(const struct change *c)
{
	const struct entry *e = c->new ? c->new : c->old;
	struct json_object *obj = json_object_new_object(), *frames;
	size_t i;
	int err;

	if (!obj)
		return NULL;
	err = json_out_add_str(obj, "status", status_names[c->status]);
	err = err ?: json_out_add_str(obj, "comm", e->p->comm);
	err = err ?: json_out_add_str(obj, "kind", e->s->kind);
	err = err ?: json_out_add(obj, "leak", json_object_new_boolean(e->leak));
	if (!err && e->s->file)
		err = json_out_add_str(obj, "file", e->s->file);
	err = err ?: json_out_add(obj, "bytes_delta", json_object_new_int64(c->bytes_delta));
	err = err ?: json_out_add(obj, "allocs_delta", json_object_new_int64(c->allocs_delta));
	err = err ?: json_out_add(obj, "old", json_values(c->old));
	err = err ?: json_out_add(obj, "new", json_values(c->new));
	frames = err ? NULL : json_object_new_array();
	err = err ?: json_out_add(obj, "frames", frames);
	for (i = 0; !err && i < e->s->nframes; i++)
		err = json_out_push(frames, report_json_frame(&e->s->frames[i]));
	if (err) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static int write_json(FILE *f, const struct report *old, const struct report *new,
		      const struct change *c, size_t n, const struct diff_opts *o)
{
	struct json_object *root = json_object_new_object(), *stacks;
	uint64_t ob, oa, nb, na;
	size_t i, shown = o->top && o->top < n ? o->top : n;
	int err;

	if (!root)
		return -ENOMEM;
	totals(old, &ob, &oa);
	totals(new, &nb, &na);
	err = json_out_add(root, "version", json_object_new_int(1));
	err = err ?: json_out_add(root, "old", json_side(o->old_name, old));
	err = err ?: json_out_add(root, "new", json_side(o->new_name, new));
	err = err ?: json_out_add(root, "bytes_delta", json_object_new_int64((int64_t)(nb - ob)));
	err = err ?: json_out_add(root, "allocs_delta", json_object_new_int64((int64_t)(na - oa)));
	err = err ?: json_out_add_u64(root, "stacks_total", n);
	stacks = err ? NULL : json_object_new_array();
	err = err ?: json_out_add(root, "stacks", stacks);
	for (i = 0; !err && i < shown; i++)
		err = json_out_push(stacks, json_change(&c[i]));
	err = err ?: json_out_write(f, root);
	json_object_put(root);
	return err;
}

int diff_write(FILE *f, const struct report *old, const struct report *new,
	       const struct diff_opts *o)
{
	struct entry *eo = NULL, *en = NULL;
	size_t no = 0, nn = 0, i = 0, j = 0, n = 0;
	struct change *c = NULL;
	int err;

	if (!f || !old || !new || !o || (o->format != REPORT_TEXT && o->format != REPORT_JSON))
		return -EINVAL;
	err = entries(old, false, &eo, &no);
	err = err ?: entries(new, false, &en, &nn);
	if (err)
		goto cleanup;
	c = calloc(no + nn ? no + nn : 1, sizeof(*c));
	if (!c) {
		err = -ENOMEM;
		goto cleanup;
	}
	while (i < no || j < nn) {
		int cmp = i == no ? 1 : j == nn ? -1 : strcmp(eo[i].key, en[j].key);
		struct change *ch = &c[n++];

		ch->old = cmp <= 0 ? &eo[i++] : NULL;
		ch->new = cmp >= 0 ? &en[j++] : NULL;
		ch->bytes_delta = (int64_t)(ch->new ? ch->new->bytes : 0) -
				  (int64_t)(ch->old ? ch->old->bytes : 0);
		ch->allocs_delta = (int64_t)(ch->new ? ch->new->allocs : 0) -
				   (int64_t)(ch->old ? ch->old->allocs : 0);
		ch->status = !ch->old ? ST_NEW : !ch->new ? ST_VANISHED :
			     ch->bytes_delta > 0 ? ST_GROWN : ch->bytes_delta < 0 ? ST_SHRUNK :
			     ch->allocs_delta > 0 ? ST_GROWN : ch->allocs_delta < 0 ? ST_SHRUNK :
			     ST_SAME;
	}
	qsort(c, n, sizeof(*c), cmp_change);
	err = o->format == REPORT_TEXT ? write_text(f, old, new, c, n, o) :
					 write_json(f, old, new, c, n, o);
cleanup:
	free(c);
	entries_free(eo, no);
	entries_free(en, nn);
	return err;
}

/* ---------------------------------------------------------------------- */
/* leakwatch diff                                                         */

static const char diff_usage[] =
"Usage: leakwatch diff [OPTIONS] OLD.json NEW.json\n"
"\n"
"What changed between two JSON reports of leakwatch (-f json): each stack's\n"
"bytes_delta and allocs_delta with both sides' values.  Leaks come first,\n"
"the largest growth first; then what is not a leak (the allocator's own\n"
"memory, thread stacks, libraries).  Stacks only in NEW are \"new\", stacks\n"
"only in OLD \"vanished\".\n"
"Stacks are matched by process name, kind and frames (function, file and\n"
"line), so the two reports may come from two runs.  Write the reports\n"
"without -T, or a stack left out of one looks new or vanished.\n"
"\n"
"  -f, --format FMT   text (default) or json\n"
"  -T, --top N        stacks listed (text default 10; json lists all)\n"
"  -h, --help         this help\n"
"\n"
"Exit status: 0 done; 1 a report could not be read; 2 bad command line.\n";

static int load(const char *path, struct json_object **json, struct report *r)
{
	const char *why;
	int err;

	*json = json_object_from_file(path);
	if (!*json) {
		const char *why = json_util_get_last_err();

		lw_err("cannot read %s: %.*s\n", path, why ? (int)strcspn(why, "\n") : 8,
		       why ? why : "not JSON");
		return -EINVAL;
	}
	err = diff_report_from_json(*json, r, &why);
	if (err == -EINVAL)
		lw_err("%s is not a report leakwatch diff can read: %s; give two reports of "
		       "leakwatch -f json\n", path, why ? why : "malformed");
	else if (err)
		lw_err("cannot read %s: %s\n", path, strerror(-err));
	return err;
}

int diff_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct diff_opts o = { .format = REPORT_TEXT };
	struct json_object *jold = NULL, *jnew = NULL;
	struct report old = {}, new = {};
	bool top_set = false;
	char *end;
	int c, err, code = LW_EXIT_FAILURE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+f:T:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "text") || !strcmp(optarg, "json")) {
				o.format = optarg[0] == 't' ? REPORT_TEXT : REPORT_JSON;
				break;
			}
			fprintf(stderr, "leakwatch diff: bad --format '%s': expected text or json\n",
				optarg);
			return LW_EXIT_USAGE;
		case 'T':
			errno = 0;
			o.top = strtoul(optarg, &end, 10);
			if (errno || *end || !o.top || optarg[0] == '-') {
				fprintf(stderr, "leakwatch diff: bad --top '%s': expected a number "
					"of stacks, at least 1\n", optarg);
				return LW_EXIT_USAGE;
			}
			top_set = true;
			break;
		case 'h':
			fputs(diff_usage, stdout);
			return LW_EXIT_OK;
		default:
			fprintf(stderr, "Try 'leakwatch diff --help' for more information.\n");
			return LW_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "leakwatch diff: give two JSON reports, OLD.json NEW.json\n"
			"Try 'leakwatch diff --help' for more information.\n");
		return LW_EXIT_USAGE;
	}
	if (!top_set && o.format == REPORT_TEXT)
		o.top = 10;
	o.old_name = argv[optind];
	o.new_name = argv[optind + 1];
	if (load(o.old_name, &jold, &old) || load(o.new_name, &jnew, &new))
		goto cleanup;
	err = diff_write(stdout, &old, &new, &o);
	if (err)
		lw_err("cannot write the diff: %s\n", strerror(-err));
	else
		code = LW_EXIT_OK;
cleanup:
	report_release(&old);
	report_release(&new);
	json_object_put(jold);
	json_object_put(jnew);
	return code;
}
