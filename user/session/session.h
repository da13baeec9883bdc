/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One tracing session: attach or launch, consume records into the
 * ledgers, follow forks/execs/exits, write reports.
 */
#ifndef LW_SESSION_H
#define LW_SESSION_H

#include "options.h"

/* Run the session described by o; returns leakwatch's exit code (errors
 * are printed, once, with their cause and remedy). */
int session_run(const struct lw_options *o);

#endif /* LW_SESSION_H */
