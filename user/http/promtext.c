// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "jsonout.h"
#include "promtext.h"

static const char *const type_names[] = { [PROM_GAUGE] = "gauge", [PROM_COUNTER] = "counter" };

void promtext_init(struct promtext *w, FILE *f)
{
	w->f = f;
	w->family[0] = 0;
	w->err = 0;
}

static bool name_ok(const char *s, bool colon)
{
	const char *c;

	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || (colon && *c == ':')))
			return false;
	return true;
}

bool prom_valid_metric_name(const char *s)
{
	return name_ok(s, true);
}

bool prom_valid_label_name(const char *s)
{
	/* names starting with __ are Prometheus's own */
	return name_ok(s, false) && strncmp(s, "__", 2);
}

/* s escaped for a label value (quote too) or HELP text (no quote); bytes
 * that are no UTF-8 become U+FFFD, so that one odd comm never makes
 * Prometheus refuse the whole scrape. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n;

	while (*p) {
		n = utf8_seq_len(p);
		if (!n) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '"' && quote)
			fputs("\\\"", f);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
}

int promtext_family(struct promtext *w, const char *name, enum prom_type type, const char *help)
{
	if (w->err)
		return w->err;
	if (!prom_valid_metric_name(name) || strlen(name) >= sizeof(w->family) ||
	    (type != PROM_GAUGE && type != PROM_COUNTER))
		return w->err = -EINVAL;
	strcpy(w->family, name);
	fprintf(w->f, "# HELP %s ", name);
	put_escaped(w->f, help, false);
	fprintf(w->f, "\n# TYPE %s %s\n", name, type_names[type]);
	return 0;
}

static int put_series(struct promtext *w, const struct prom_label *labels, size_t nlabels)
{
	size_t i;

	if (w->err)
		return w->err;
	if (!w->family[0])
		return w->err = -EINVAL;
	for (i = 0; i < nlabels; i++)
		if (!prom_valid_label_name(labels[i].name))
			return w->err = -EINVAL;
	fputs(w->family, w->f);
	if (nlabels) {
		fputc('{', w->f);
		for (i = 0; i < nlabels; i++) {
			fprintf(w->f, "%s%s=\"", i ? "," : "", labels[i].name);
			put_escaped(w->f, labels[i].value, true);
			fputc('"', w->f);
		}
		fputc('}', w->f);
	}
	fputc(' ', w->f);
	return 0;
}

int promtext_sample(struct promtext *w, const struct prom_label *labels, size_t nlabels,
		    double value)
{
	int err = put_series(w, labels, nlabels);

	if (err)
		return err;
	if (isnan(value))
		fputs("NaN\n", w->f);
	else if (isinf(value))
		fputs(value > 0 ? "+Inf\n" : "-Inf\n", w->f);
	else if (fabs(value) < 9007199254740992.0 && value == (double)(int64_t)value)
		/* whole numbers without an exponent: easier to read and grep */
		fprintf(w->f, "%" PRId64 "\n", (int64_t)value);
	else
		fprintf(w->f, "%.17g\n", value);
	return 0;
}

int promtext_sample_u64(struct promtext *w, const struct prom_label *labels, size_t nlabels,
			uint64_t value)
{
	int err = put_series(w, labels, nlabels);

	if (err)
		return err;
	fprintf(w->f, "%" PRIu64 "\n", value);
	return 0;
}

int promtext_finish(struct promtext *w)
{
	if (w->err)
		return w->err;
	if (ferror(w->f) || fflush(w->f) == EOF)
		return w->err = -EIO;
	return 0;
}
