/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the postmortem writers share and no one else (postmortem.h is the
 * contract):
 *   postmortem.c        the mappings' summary, names, and the files: written
 *                       atomically, pruned to the newest N
 *   postmortem_json.c   the JSON document (jsonout)
 *   postmortem_text.c   the text document, for people
 */
#ifndef LW_POSTMORTEM_INT_H
#define LW_POSTMORTEM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "postmortem.h"

/* Big enough for a size or a time in the text and JSON documents. */
#define FMT_LEN 32

/* postmortem.c */
const char *pm_kind_name(enum pm_kind k);
void pm_fmt_time(const struct timespec *ts, bool basic, char *buf, size_t len);

#endif /* LW_POSTMORTEM_INT_H */
