// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ELF symbol reading (user/attach/elfsym.c) and probe-site choice on what it
 * finds, and Go's function table (user/symbolize/gopclntab.c): the files of traced
 * processes, which their owners may craft.  The input becomes a file (a
 * memfd) opened by path, as leakwatch opens /proc/PID/root/... files.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "fuzz.h"
#include "gopclntab.h"
#include "probesite.h"

static const char *const names[] = { "malloc", "free", "calloc", "realloc", "je_malloc",
				      "_Znwm", "posix_memalign" };

/* Function names at a few addresses, from the input as an ELF image. */
static void go_table(const uint8_t *data, size_t size)
{
	static const uint64_t addrs[] = { 0, 0x401000, 0x45cddc, UINT64_MAX };
	char *copy = malloc(size ? size : 1);
	const char *name;
	Elf *elf;
	size_t i;

	if (!copy)
		return;
	memcpy(copy, data, size);
	elf_version(EV_CURRENT);
	elf = elf_memory(copy, size);
	for (i = 0; elf && i < sizeof(addrs) / sizeof(*addrs); i++)
		if (!gopclntab_function(elf, addrs[i], &name))
			(void)strlen(name);
	elf_end(elf);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_file *ef;
	struct elf_func fn;
	char path[64];
	uint8_t code[64];
	size_t i;
	int fd;

	fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ef = elf_file__open(path);
	if (ef) {
		for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
			if (elf_file__find_func(ef, names[i], &fn))
				continue;
			elf_file__read(ef, fn.file_offset, code, sizeof(code));
			probe_site_choose(ef, &fn);
		}
		for (i = 0; elf_file__needed(ef, i) && i < 1000; i++)
			;
		elf_file__is_dynamic(ef);
		elf_file__is_go(ef);
		elf_file__read(ef, size / 2, code, sizeof(code));
		elf_file__read(ef, UINT64_MAX - 8, code, sizeof(code));
		elf_file__close(ef);
	}
	close(fd);
	go_table(data, size);
	return 0;
}
