/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libFuzzer targets for the parsers of untrusted input (make fuzz).  Each
 * target is one file defining LLVMFuzzerTestOneInput; this header gives
 * them the input as a NUL-terminated string, which is how /proc and
 * cgroup text reaches the parsers (a NUL inside ends it early, as a C
 * string read from a file would).
 */
#ifndef LW_FUZZ_H
#define LW_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* data as a malloc'd C string; NULL when memory runs out. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = 0;
	}
	return s;
}

#endif /* LW_FUZZ_H */
