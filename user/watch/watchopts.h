/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `leakwatch --watch [OPTIONS]`'s command line, declared as a table of
 * specs for the option engine (optspec.h): parsing and --help come from it.
 */
#ifndef LW_WATCHOPTS_H
#define LW_WATCHOPTS_H

#include "watch.h"

/*
 * Parse argv (its "--watch" included, anywhere among the options) into o,
 * defaults first.  Returns 0 to run, 1 after --help, -EINVAL after saying
 * what is wrong (the engine's messages), -ENOMEM.  o->select is to be
 * cleared with selector__clear whatever it returns.
 */
int watch_options_parse(int argc, char **argv, struct watch_options *o);

#endif /* LW_WATCHOPTS_H */
