// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "fexitprobe.h"
#include "log.h"
#include "maphooks.h"

/* The mmap syscall's entry point, as bpf/mmap.bpf.c names it. */
#if defined(__x86_64__)
#define MMAP_FN "__x64_sys_mmap"
#elif defined(__aarch64__)
#define MMAP_FN "__arm64_sys_mmap"
#else
#error "leakwatch: the syscall entry points of this architecture are missing"
#endif

static const char *const names[] = {
	[MAP_HOOK_AUTO] = "auto",
	[MAP_HOOK_FENTRY] = "fentry",
	[MAP_HOOK_KPROBE] = "kprobe",
	[MAP_HOOK_TRACEPOINT] = "tracepoint",
};

const char *map_hook_name(enum map_hook h)
{
	return h < sizeof(names) / sizeof(names[0]) ? names[h] : "?";
}

int map_hook_parse(const char *name, enum map_hook *h)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i])) {
			*h = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* fentry/fexit on the mmap syscall: fexit_probe says. */
static int try_fexit(const char **why)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int err;

	if (!btf) {
		*why = "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
		return -ENOTSUP;
	}
	err = fexit_probe(btf, MMAP_FN);
	btf__free(btf);
	if (err == -ENOENT)
		*why = "the kernel's BTF has no function " MMAP_FN;
	else if (err)
		*why = "the kernel refuses fentry/fexit programs (no BPF trampolines here)";
	return err == -ENOENT ? -ENOTSUP : err;
}

/* A kretprobe on the mmap syscall, opened and closed: kprobe-type BPF
 * programs load wherever BPF does, the probe itself is the question. */
static int try_kretprobe(const char **why)
{
	struct perf_event_attr attr = { .size = sizeof(attr) };
	unsigned int bit = 0;
	int type, fd;
	FILE *f;

	f = fopen("/sys/bus/event_source/devices/kprobe/type", "re");
	if (!f) {
		*why = "this kernel has no kprobes (no kprobe PMU: CONFIG_KPROBES unset?)";
		return -ENOTSUP;
	}
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	/* the retprobe flag's bit: "config:0" on every kernel so far */
	f = fopen("/sys/bus/event_source/devices/kprobe/format/retprobe", "re");
	if (f) {
		if (fscanf(f, "config:%u", &bit) != 1 || bit > 63)
			bit = 0;
		fclose(f);
	}
	if (type < 0) {
		*why = "the kprobe PMU's type is unreadable";
		return -ENOTSUP;
	}
	attr.type = type;
	attr.config = 1ULL << bit;
	attr.config1 = (__u64)(unsigned long)MMAP_FN;
	fd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		*why = "a kretprobe cannot be placed on " MMAP_FN;
		return -errno;
	}
	close(fd);
	return 0;
}

int map_hook_choose(enum map_hook wanted, const char **why)
{
	int err;

	*why = NULL;
	switch (wanted) {
	case MAP_HOOK_AUTO:
		err = try_fexit(why);
		if (!err)
			return MAP_HOOK_FENTRY;
		lw_debug("mapping syscalls: no fentry/fexit (%s: %s), the syscall tracepoints "
			 "instead\n", *why, strerror(-err));
		*why = NULL;
		return MAP_HOOK_TRACEPOINT;
	case MAP_HOOK_FENTRY:
		err = try_fexit(why);
		return err ?: MAP_HOOK_FENTRY;
	case MAP_HOOK_KPROBE:
		err = try_kretprobe(why);
		return err ?: MAP_HOOK_KPROBE;
	case MAP_HOOK_TRACEPOINT:
		/* BTF raw tracepoints: loading them is the test */
		return MAP_HOOK_TRACEPOINT;
	}
	*why = "unknown hook";
	return -EINVAL;
}
