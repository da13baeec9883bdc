/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building JSON documents with json-c, the one way leakwatch writes JSON
 * (reports, postmortems, diffs): adding members that take ownership of
 * their value, strings that are always valid UTF-8, JSON null for what is
 * unknown, and one layout for the document on its stream.
 * The add functions return 0 or -ENOMEM.
 */
#ifndef LW_JSONOUT_H
#define LW_JSONOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct json_object;

/* Length of the well-formed UTF-8 sequence at s, or 0 when ill-formed. */
size_t utf8_seq_len(const unsigned char *s);

/* A json-c string of s; bytes that are not UTF-8 become U+FFFD.  NULL
 * when out of memory. */
struct json_object *json_out_string(const char *s);

/* Adds val under key (copied), taking ownership: released on failure.
 * val NULL means its constructor failed. */
int json_out_add(struct json_object *obj, const char *key, struct json_object *val);
int json_out_add_null(struct json_object *obj, const char *key);
/* A string, or null when s is NULL. */
int json_out_add_str(struct json_object *obj, const char *key, const char *s);
int json_out_add_u64(struct json_object *obj, const char *key, uint64_t v);
int json_out_add_i64(struct json_object *obj, const char *key, int64_t v);
int json_out_add_bool(struct json_object *obj, const char *key, bool v);
/* v, or null when it is not known. */
int json_out_add_u64_or_null(struct json_object *obj, const char *key, bool known, uint64_t v);
/* v with three decimals ("0.100", where json-c's "%.17g" would print
 * 0.10000000000000001); null when v is not finite (JSON has no NaN). */
int json_out_add_milli(struct json_object *obj, const char *key, double v);
/* A new empty object added under key: the object, or NULL (out of memory). */
struct json_object *json_out_add_object(struct json_object *obj, const char *key);
/* Appends val to the array arr, taking ownership as json_out_add. */
int json_out_push(struct json_object *arr, struct json_object *val);

/*
 * Writes root to f and a newline, then flushes: pretty with two-space
 * indentation, "key": value, and "/" not escaped so paths read as paths.
 * That layout is part of the output contract of every JSON document
 * leakwatch writes: keep it stable.  0, -ENOMEM or the write's -errno
 * (-EIO when there is none).
 */
int json_out_write(FILE *f, struct json_object *root);

/* The next element of a streamed array, or NULL when out of memory. */
typedef struct json_object *(*json_out_next_fn)(void *ctx, size_t i);

/*
 * Writes root as json_out_write does, with the array that root has under
 * key (empty; added by the caller) holding n elements made by next(ctx,
 * 0..n-1), each written and freed before the next is made: the same bytes
 * as if they were in the tree, while holding one at a time (a report of
 * every process, every second, under -i).  0, -ENOMEM or the write's
 * -errno.
 */
int json_out_write_streamed(FILE *f, struct json_object *root, const char *key, size_t n,
			    json_out_next_fn next, void *ctx);

#endif /* LW_JSONOUT_H */
