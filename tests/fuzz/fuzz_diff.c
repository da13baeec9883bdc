// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reports `leakwatch diff` reads (user/report/diff_read.c, then
 * diff.c): any JSON text into the model, and a model that was accepted
 * compared with itself, as text and as JSON, and given its growth as -i
 * would.
 */
#include <stdio.h>

#include <json-c/json.h>

#include "diff.h"
#include "fuzz.h"
#include "report_build.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	struct json_object *json = text ? json_tokener_parse(text) : NULL;
	struct diff_opts o = { .old_name = "a", .new_name = "b" };
	struct growth *g;
	struct report r;
	const char *why;
	FILE *null;

	free(text);
	if (!json || diff_report_from_json(json, &r, &why)) {
		json_object_put(json);
		return 0;
	}
	null = fopen("/dev/null", "w");
	if (null) {
		o.format = REPORT_TEXT;
		diff_write(null, &r, &r, &o);
		o.format = REPORT_JSON;
		o.top = 2;
		diff_write(null, &r, &r, &o);
		fclose(null);
	}
	g = growth__new();
	if (g) {
		growth__update(g, &r);
		growth__update(g, &r);
		growth__free(g);
	}
	report_release(&r);
	json_object_put(json);
	return 0;
}
