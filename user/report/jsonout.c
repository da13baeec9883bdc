// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonout.h"

/* U+FFFD REPLACEMENT CHARACTER */
#define REPLACEMENT "\xef\xbf\xbd"

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0 when it is ill-formed.
 * Never reads past a NUL: every continuation test fails on it. */
size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0], lo, hi;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c < 0xf5) {
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		       (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/*
 * A JSON string must be UTF-8 (RFC 8259) but cmdlines, paths and symbols
 * are bytes; json-c copies them as they are.  Ill-formed bytes become
 * U+FFFD so that strict parsers accept the document.  NULL: not enough
 * memory (errno set).
 */
struct json_object *json_out_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct json_object *val;
	size_t n, len = 0;
	char *clean;

	while (*p && (n = utf8_seq_len(p)))
		p += n;
	if (!*p)
		return json_object_new_string(s);

	/* each bad byte grows to 3 */
	clean = malloc(3 * strlen(s) + 1);
	if (!clean)
		return NULL;
	for (p = (const unsigned char *)s; *p;) {
		n = utf8_seq_len(p);
		if (n) {
			memcpy(clean + len, p, n);
			len += n;
			p += n;
		} else {
			memcpy(clean + len, REPLACEMENT, 3);
			len += 3;
			p++;
		}
	}
	val = json_object_new_string_len(clean, (int)len);
	free(clean);
	return val;
}

int json_out_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

int json_out_add_null(struct json_object *obj, const char *key)
{
	return json_object_object_add(obj, key, NULL) ? -ENOMEM : 0;
}

int json_out_add_str(struct json_object *obj, const char *key, const char *s)
{
	return s ? json_out_add(obj, key, json_out_string(s)) : json_out_add_null(obj, key);
}

int json_out_add_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return json_out_add(obj, key, json_object_new_uint64(v));
}

int json_out_add_i64(struct json_object *obj, const char *key, int64_t v)
{
	return json_out_add(obj, key, json_object_new_int64(v));
}

int json_out_add_bool(struct json_object *obj, const char *key, bool v)
{
	return json_out_add(obj, key, json_object_new_boolean(v));
}

int json_out_add_u64_or_null(struct json_object *obj, const char *key, bool known, uint64_t v)
{
	return known ? json_out_add_u64(obj, key, v) : json_out_add_null(obj, key);
}

int json_out_add_milli(struct json_object *obj, const char *key, double v)
{
	char d[64];

	if (!isfinite(v))
		return json_out_add_null(obj, key);
	snprintf(d, sizeof(d), "%.3f", v);
	return json_out_add(obj, key, json_object_new_double_s(v, d));
}

struct json_object *json_out_add_object(struct json_object *obj, const char *key)
{
	struct json_object *o = json_object_new_object();

	return json_out_add(obj, key, o) ? NULL : o;
}

int json_out_push(struct json_object *arr, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_array_add(arr, val)) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

/* The layout of every document (json_out_write). */
#define LAYOUT (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)
/* Stands for the elements of a streamed array while its document is laid
 * out: found as the first element of the array under its key, where no
 * other string of the document can be (a string's quotes are escaped). */
#define PLACEHOLDER "streamed elements"

static int write_error(void)
{
	return errno > 0 ? -errno : -EIO;
}

int json_out_write(FILE *f, struct json_object *root)
{
	const char *s = json_object_to_json_string_ext(root, LAYOUT);

	if (!s)
		return -ENOMEM;
	if (fputs(s, f) == EOF || fputc('\n', f) == EOF || fflush(f) == EOF)
		return write_error();
	return 0;
}

/* s, a laid-out element, each line after indent spaces of its array's
 * depth; json-c lays out a nested value as it does a whole one, shifted. */
static int write_indented(FILE *f, const char *s, int indent)
{
	for (;;) {
		size_t len = strcspn(s, "\n");

		if (fprintf(f, "%*s%.*s", indent, "", (int)len, s) < 0)
			return write_error();
		if (!s[len])
			return 0;
		if (fputc('\n', f) == EOF)
			return write_error();
		s += len + 1;
	}
}

int json_out_write_streamed(FILE *f, struct json_object *root, const char *key, size_t n,
			    json_out_next_fn next, void *ctx)
{
	const char *doc, *mark, *line, *rest, *text;
	struct json_object *arr, *el;
	char *pattern = NULL;
	int err = 0, indent;

	if (!n)
		return json_out_write(f, root);
	/* lay the document out around one placeholder, written up to its
	 * line, the elements in its place, then the rest */
	if (!json_object_object_get_ex(root, key, &arr) ||
	    json_out_push(arr, json_object_new_string(PLACEHOLDER)))
		return -ENOMEM;
	doc = json_object_to_json_string_ext(root, LAYOUT);
	if (!doc || asprintf(&pattern, "\"%s\": [\n", key) < 0) {
		pattern = NULL;
		err = -ENOMEM;
		goto out;
	}
	for (mark = strstr(doc, pattern); mark; mark = strstr(mark + 1, pattern)) {
		line = mark + strlen(pattern);
		indent = (int)strspn(line, " ");
		if (!strncmp(line + indent, "\"" PLACEHOLDER "\"", strlen(PLACEHOLDER) + 2))
			break;
	}
	if (!mark) {	/* not laid out as json-c always has */
		err = -EINVAL;
		goto out;
	}
	rest = line + strcspn(line, "\n");
	if (fwrite(doc, 1, (size_t)(line - doc), f) != (size_t)(line - doc)) {
		err = write_error();
		goto out;
	}
	for (size_t i = 0; !err && i < n; i++) {
		el = next(ctx, i);
		text = el ? json_object_to_json_string_ext(el, LAYOUT) : NULL;
		err = !text ? -ENOMEM : write_indented(f, text, indent);
		if (!err && i + 1 < n && fputs(",\n", f) == EOF)
			err = write_error();
		json_object_put(el);
	}
	if (!err && (fputs(rest, f) == EOF || fputc('\n', f) == EOF || fflush(f) == EOF))
		err = write_error();
out:
	free(pattern);
	json_object_array_del_idx(arr, json_object_array_length(arr) - 1, 1);
	return err;
}
