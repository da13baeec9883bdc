// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kallsyms.h"
#include "vec.h"

#define KERNEL_MODULE "[kernel]"

/* How far the last function of the kernel or of a module may extend:
 * kernel functions are far smaller, and the space past a module's text
 * is another module's, or a BPF program's. */
#define KALLSYMS_MAX_LAST_SPAN (64 << 10)

struct kallsyms {
	struct ksym *syms;	/* by address */
	size_t n;
	/* names and module names, each malloc'd once: a module name is
	 * shared by all its symbols */
	char **strings;
	size_t nstrings, cap_strings;
};

static int keep_string(struct kallsyms *k, char *s)
{
	/* doubling: one more slot per string copied the whole array each
	 * time wherever realloc cannot grow in place (200,000 symbols) */
	if (lw_vec_reserve(k->strings, k->cap_strings, k->nstrings + 1))
		return -ENOMEM;
	k->strings[k->nstrings++] = s;
	return 0;
}

void kallsyms__free(struct kallsyms *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->nstrings; i++)
		free(k->strings[i]);
	free(k->strings);
	free(k->syms);
	free(k);
}

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* aliases at one address: the first by name, for stable output */
	return strcmp(x->name, y->name);
}

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* The module of a line's tail ("\t[nf_tables]"), or NULL for the kernel's
 * own symbols.  Consecutive symbols share one copy. */
static const char *module_of(struct kallsyms *k, const char *tail, const char **last)
{
	const char *open = strchr(tail, '['), *close;
	char *m;

	if (!open)
		return KERNEL_MODULE;
	close = strchr(open, ']');
	if (!close || close == open + 1)
		return KERNEL_MODULE;
	if (*last && strlen(*last) == (size_t)(close - open - 1) &&
	    !strncmp(*last, open + 1, close - open - 1))
		return *last;
	m = strndup(open + 1, close - open - 1);
	if (!m || keep_string(k, m)) {
		free(m);
		return NULL;
	}
	*last = m;
	return m;
}

struct kallsyms *kallsyms__parse(FILE *f)
{
	struct kallsyms *k = calloc(1, sizeof(*k));
	const char *last_module = NULL;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	bool nonzero = false, any = false;
	int err = 0;

	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		unsigned long long addr;
		char type, *name, *end;
		int used = 0;
		struct ksym *s;

		/* "ffffffff81000000 T _text" or "... t fn\t[module]" */
		if (sscanf(line, "%llx %c %n", &addr, &type, &used) < 2 || !used)
			continue;
		any = true;
		if (addr)
			nonzero = true;
		if (!is_text(type) || !addr)
			continue;
		name = line + used;
		end = name + strcspn(name, " \t\n");
		if (end == name)
			continue;
		if (lw_vec_reserve(k->syms, alloc, k->n + 1)) {
			err = -ENOMEM;
			break;
		}
		s = &k->syms[k->n];
		s->addr = addr;
		s->module = module_of(k, end, &last_module);
		*end = '\0';
		s->name = strdup(name);
		if (!s->module || !s->name || keep_string(k, (char *)s->name)) {
			free((char *)s->name);
			err = -ENOMEM;
			break;
		}
		k->n++;
	}
	free(line);
	if (!err && ferror(f))
		err = -EIO;
	/* without the privilege to see them, every address reads as 0 */
	if (!err && any && !nonzero)
		err = -EPERM;
	if (!err && !k->n)
		err = -ENOENT;
	if (err) {
		kallsyms__free(k);
		errno = -err;
		return NULL;
	}
	qsort(k->syms, k->n, sizeof(*k->syms), cmp_addr);
	return k;
}

struct kallsyms *kallsyms__load(void)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	struct kallsyms *k;
	int err;

	if (!f)
		return NULL;
	k = kallsyms__parse(f);
	err = errno;
	fclose(f);
	errno = err;
	return k;
}

size_t kallsyms__count(const struct kallsyms *k)
{
	return k->n;
}

const struct ksym *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = k->n;

	/* the first symbol above addr; the one before it contains addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	/* the last symbol of the kernel or of a module has no end: beyond
	 * this, addr is in code the table does not name (BPF programs when
	 * bpf_jit_kallsyms is off, modules loaded since) */
	if ((lo == k->n || k->syms[lo].module != k->syms[lo - 1].module) &&
	    addr - k->syms[lo - 1].addr >= KALLSYMS_MAX_LAST_SPAN)
		return NULL;
	/* of aliases at one address, the first (sorted by name) */
	while (lo > 1 && k->syms[lo - 2].addr == k->syms[lo - 1].addr)
		lo--;
	if (offset)
		*offset = addr - k->syms[lo - 1].addr;
	return &k->syms[lo - 1];
}
