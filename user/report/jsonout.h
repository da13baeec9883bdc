/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building JSON documents with json-c, for the report and postmortem
 * writers: adding members that take ownership of their value, strings
 * that are always valid UTF-8, and JSON null for what is unknown.
 * All return 0 or -ENOMEM.
 */
#ifndef LW_JSONOUT_H
#define LW_JSONOUT_H

#include <stddef.h>
#include <stdint.h>

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
/* Appends val to the array arr, taking ownership as json_out_add. */
int json_out_push(struct json_object *arr, struct json_object *val);

#endif /* LW_JSONOUT_H */
