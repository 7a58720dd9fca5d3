/*
 * libFuzzer target: the request bodies of a move between daemons
 * (daemon/migrate_parse.c), on arbitrary bytes as a local client can send
 * them.  Checked besides ASan/UBSan: an accepted body yields a target that
 * is an absolute path short enough for a Unix socket, or a VM request with
 * names that pass name_check and CPUs and memory in range; a refused one
 * says why; nothing crashes or leaks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct err e = { 0 };
	struct migrate_req mr;
	int rc = migrate_req_parse(body, size, &mr, &e);
	if (rc == 0 && (mr.target[0] != '/' || strnlen(mr.target, sizeof mr.target) == sizeof mr.target))
		abort();
	if (rc != 0 && ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]))
		abort();
	memset(&e, 0, sizeof e);
	struct incoming_req *ir = NULL;
	rc = incoming_req_parse(body, size, &ir, &e);
	if (rc == 0) {
		const struct create_req *c = &ir->cr;
		if (name_check("image", c->image, NULL) < 0 ||
		    (c->project[0] && name_check("project", c->project, NULL) < 0) ||
		    c->cpus < 0 || c->cpus > INSTANCE_CPUS_MAX || c->memory_mib < 0 ||
		    c->memory_mib > INSTANCE_MEMORY_MIB_MAX || c->ndisks > DISKS_MAX || c->kind != KIND_VM)
			abort();
		free(ir);
	} else if ((rc != -EINVAL && rc != -E2BIG && rc != -ENOMEM) || !e.msg[0] || ir) {
		abort();
	}
	return 0;
}
