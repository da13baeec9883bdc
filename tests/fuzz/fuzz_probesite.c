// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Probe-site decoding (user/attach/probesite.c): the first bytes of an allocator
 * function, from a file the traced process maps.  The offset chosen must
 * stay inside the code it was given.
 */
#include "fuzz.h"
#include "probesite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = probe_site_in_code(data, size);

	if (off && off >= size)
		__builtin_trap();
	return 0;
}
