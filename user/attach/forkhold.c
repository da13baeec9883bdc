// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>

#include "fexitprobe.h"
#include "forkhold.h"
#include "log.h"

const char *fork_hold_name(enum fork_hold h)
{
	switch (h) {
	case FORK_HOLD_SIGNAL_TASK:
		return "signal_task";
	case FORK_HOLD_FEXIT:
		return "fexit";
	case FORK_HOLD_SYS_EXIT:
		return "sys_exit";
	}
	return "?";
}

enum fork_hold fork_hold_choose(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	enum fork_hold h = FORK_HOLD_SYS_EXIT;
	int err;

	/* without BTF nothing loads: leakwatch says so elsewhere */
	if (!btf)
		return FORK_HOLD_SIGNAL_TASK;
	if (btf__find_by_name_kind(btf, "bpf_send_signal_task", BTF_KIND_FUNC) > 0) {
		h = FORK_HOLD_SIGNAL_TASK;
	} else {
		err = fexit_probe(btf, "schedule_tail");
		if (!err)
			h = FORK_HOLD_FEXIT;
		else
			lw_debug("forked children: no fexit on schedule_tail (%s), they stop "
				 "at their first sys_exit\n", strerror(-err));
	}
	btf__free(btf);
	return h;
}
