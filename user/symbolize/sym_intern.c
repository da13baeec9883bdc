// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The symbolizer's chained hash table of intrusive nodes, and its strings:
 * every name in a result is interned once (C++ names demangled first), so
 * results hold plain pointers that live as long as the symbolizer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "symbolizer_int.h"

int htab_add(struct lw_htab *h, struct hnode *node)
{
	return lw_htab_add(h, node->hash, (uintptr_t)node);
}

void htab_del(struct lw_htab *h, struct hnode *node)
{
	lw_htab_del(h, node->hash, (uintptr_t)node);
}

/* Empty h, passing each node to release (which must not change h). */
void htab_clear(struct lw_htab *h, void (*release)(struct hnode *))
{
	struct lw_htab_slot *slot;

	lw_htab_for_each(h, slot)
		release((struct hnode *)slot->val);
	lw_htab_release(h);
}

void free_interned(struct hnode *node)
{
	free(container_of(node, struct interned, node));
}

void free_cache_entry(struct hnode *node)
{
	free(container_of(node, struct cache_entry, node));
}

/* *out = the symbolizer's copy of str (NULL for NULL). */
int intern(struct symbolizer *s, const char *str, const char **out)
{
	struct interned *is;
	struct lw_htab_slot *slot;
	struct hnode *node;
	uint64_t hash;
	size_t len;

	*out = NULL;
	if (!str)
		return 0;
	hash = lw_hash_str(str);
	lw_htab_for_each_match(&s->strings, hash, slot) {
		node = (struct hnode *)slot->val;
		is = container_of(node, struct interned, node);
		if (node->hash == hash && !strcmp(is->str, str)) {
			*out = is->str;
			return 0;
		}
	}
	len = strlen(str);
	is = malloc(sizeof(*is) + len + 1);
	if (!is)
		return -ENOMEM;
	memcpy(is->str, str, len + 1);
	is->node.hash = hash;
	if (htab_add(&s->strings, &is->node)) {
		free(is);
		return -ENOMEM;
	}
	*out = is->str;
	return 0;
}

/* Intern a symbol name, demangled when it is a mangled C++ name. */
int intern_function(struct symbolizer *s, const char *name, const char **out)
{
	char *demangled;
	int status, err;

	if (!name || strncmp(name, "_Z", 2))
		return intern(s, name, out);
	demangled = __cxa_demangle(name, NULL, NULL, &status);
	if (!demangled)
		/* Not every "_Z..." name is mangled: keep it as it is. */
		return intern(s, name, out);
	err = intern(s, demangled, out);
	free(demangled);
	return err;
}
