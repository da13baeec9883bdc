// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The command line (user/cli/options.c): the input split at NUL bytes into
 * arguments.  Whatever it accepts must be within the bounds it documents.
 */
#include "fuzz.h"
#include "options.h"

#define MAX_ARGS 64

/* make fuzz runs this target with -close_fd_mask=3: the messages of bad
 * command lines are expected, and libFuzzer's own go to its copy of
 * stderr. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *argv[MAX_ARGS + 2], *p;
	struct lw_options o;
	int argc = 0;

	if (!text)
		return 0;
	argv[argc++] = "leakwatch";
	for (p = text; argc <= MAX_ARGS && p <= text + size; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	if (!options_parse(argc, argv, &o)) {
		if (!o.top || o.ringbuf_bytes > RINGBUF_MAX || o.stack_entries < 16 ||
		    (o.interval_s && o.interval_s < 1e-3) || (!o.npids && !o.argv && !o.kernel &&
							      !o.oom_only))
			__builtin_trap();
		for (size_t i = 0; i < o.npids; i++) {
			if (o.pids[i] <= 0)
				__builtin_trap();
			for (size_t j = i + 1; j < o.npids; j++)
				if (o.pids[i] == o.pids[j])
					__builtin_trap();
		}
		options_free(&o);
	}
	free(text);
	return 0;
}
