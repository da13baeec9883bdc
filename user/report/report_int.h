/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the report writers share and no one else (report.h is the
 * contract):
 *   report.c        the model's checks, and report_write's choice of writer
 *   report_text.c   the text writer, for people
 *   report_json.c   the JSON writer (jsonout), for programs
 */
#ifndef LW_REPORT_INT_H
#define LW_REPORT_INT_H

#include <stdio.h>

#include "report.h"



/* report.c */
int check_model(FILE *f, const struct report *r, const struct report_opts *o);
int check_process_model(FILE *f, const struct report_process *p,
			const struct report_opts *o);

#endif /* LW_REPORT_INT_H */
