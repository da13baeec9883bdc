// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* leakwatch: argv to options, options to a session; or `leakwatch diff`, or
 * `leakwatch --watch`. */
#include <string.h>

#include "diff.h"
#include "log.h"
#include "options.h"
#include "session.h"
#include "watch.h"

int main(int argc, char **argv)
{
	struct lw_options opts;
	int err, code;

	if (argc > 1 && !strcmp(argv[1], "diff"))
		return diff_main(argc - 1, argv + 1);
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--watch"))
			return watch_main(argc, argv);
	err = options_parse(argc, argv, &opts);
	if (err)
		return err > 0 ? LW_EXIT_OK : LW_EXIT_USAGE;
	lw_log_set_level(opts.verbose ? LW_LOG_DEBUG : LW_LOG_INFO);
	code = session_run(&opts);
	options_free(&opts);
	return code;
}
