// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The report as one self-contained HTML page: an icicle flame graph of the
 * outstanding bytes by stack (kinds coloured, search, click to zoom, a
 * tooltip with bytes, blocks and age) and the table of the top stacks.
 *
 * The page (tools/html/page.html) and the libraries it draws with, d3 and
 * d3-flame-graph, are compiled into leakwatch (build/gen/report_page.h,
 * made by tools/html/embed.js), so the file needs nothing from the network
 * when it is viewed.  The report goes into the page as the JSON report of
 * -f json, which the page's script turns into the graph and the table.
 *
 * The JSON sits inside a <script> element, whose text ends at the first
 * "</script" and changes meaning at "<!--": so every '<' of it, which can
 * only be inside a string, is written \u003c.  Names from traced files
 * reach the page's DOM as text, never as markup (the page escapes them).
 */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "gen/report_page.h"
#include "log.h"
#include "report.h"

int report_write_html_doc(FILE *f, struct json_object *root)
{
	const char *s;

	if (!f || !root)
		return -EINVAL;
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	if (!s)
		return -ENOMEM;
	fputs(report_page_head, f);
	for (; *s; s++) {
		if (*s == '<')
			fputs("\\u003c", f);
		else
			fputc(*s, f);
	}
	fputs(report_page_tail, f);
	if (ferror(f) || fflush(f) == EOF) {
		lw_debug("report: write failed: %s\n", strerror(errno));
		return -EIO;
	}
	return 0;
}

int report_write_html(FILE *f, const struct report *r, const struct report_opts *o)
{
	struct json_object *root;
	int err;

	if (!f || !o)
		return -EINVAL;
	root = report_json(r, o);
	if (!root)
		return -errno;
	err = report_write_html_doc(f, root);
	json_object_put(root);
	return err;
}
