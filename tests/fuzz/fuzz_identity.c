// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container identity's parsers (user/sys/identity_parse.c): /proc/PID/cgroup and the
 * cgroup paths it names, and the runtimes' state files (an OCI
 * config.json, runc's state.json, Docker's config.v2.json), whose
 * annotations come from whoever made the pod.  Every parser gets the same
 * input; the JSON parsers get its exact length, NULs included.
 */
#include "fuzz.h"
#include "identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), *path = NULL, *hierarchy = NULL, *bundle = NULL;
	char id[IDENTITY_ID_LEN + 1], uid[IDENTITY_UID_LEN + 1];
	struct identity ident = { 0 };

	if (!text)
		return 0;
	if (!identity_parse_proc_cgroup(text, &path, &hierarchy)) {
		identity_parse_cgroup_path(path, id, uid);
		free(path);
		free(hierarchy);
	}
	identity_parse_cgroup_path(text, id, uid);
	identity_parse_oci_config((const char *)data, size, &ident);
	identity__clear(&ident);
	identity_parse_runc_state((const char *)data, size, &ident, &bundle);
	free(bundle);
	identity__clear(&ident);
	identity_parse_docker_config((const char *)data, size, &ident);
	identity__clear(&ident);
	free(text);
	return 0;
}
