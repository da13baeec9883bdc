// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "uprobe_multi.h"

/* union bpf_attr's link_create for uprobe_multi, as the kernel lays it out */
struct lw_link_create_uprobe_multi {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
};

int uprobe_multi_link(int prog_fd, __u32 attach_type, const char *path, const __u64 *offsets,
		      const __u64 *cookies, __u32 cnt, pid_t pid)
{
	union {
		union bpf_attr attr;
		struct lw_link_create_uprobe_multi um;
	} a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.um.prog_fd = prog_fd;
	a.um.attach_type = attach_type;
	a.um.path = (__u64)(unsigned long)path;
	a.um.offsets = (__u64)(unsigned long)offsets;
	a.um.cookies = (__u64)(unsigned long)cookies;
	a.um.cnt = cnt;
	a.um.pid = pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}

bool have_uprobe_session(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool found = false;
	__s32 id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "bpf_attach_type", BTF_KIND_ENUM);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		const struct btf_enum *e = btf_enum(t);
		__u16 i;

		for (i = 0; i < btf_vlen(t); i++) {
			if (!strcmp(btf__name_by_offset(btf, e[i].name_off),
				    "BPF_TRACE_UPROBE_SESSION"))
				found = e[i].val == LW_BPF_TRACE_UPROBE_SESSION;
		}
	}
	btf__free(btf);
	return found;
}
