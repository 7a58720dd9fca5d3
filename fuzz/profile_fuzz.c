/*
 * libFuzzer target: profile request bodies (POST and PATCH /1.0/profiles,
 * profile.h) and the "disks" object they and `config set` share (disks.h),
 * on arbitrary bytes, as any local client can send them.  Checked besides
 * ASan/UBSan: a body is accepted with every field in range (names that
 * pass name_check, cpus 0-8, at most 4 disks of 1M-1T) or refused with
 * -EINVAL/-E2BIG and a message; a PATCH onto a full profile keeps it valid.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/profile.h"

static void check(const struct profile *p)
{
	if (p->cpus < 0 || p->cpus > INSTANCE_CPUS_MAX || p->ndisks > DISKS_MAX ||
	    (p->network[0] && name_check("network", p->network, NULL) < 0))
		abort();
	for (size_t i = 0; i < p->ndisks; i++)
		if (name_check("disk", p->disks[i].name, NULL) < 0 ||
		    p->disks[i].size_mib < DISK_SIZE_MIN_MIB || p->disks[i].size_mib > DISK_SIZE_MAX_MIB)
			abort();
	cJSON_Delete(profile_json(p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct err e = { 0 };
	struct profile p = { 0 };
	int rc = profile_parse(body, size, true, &p, &e);
	if (rc == 0) {
		if (name_check("profile", p.name, NULL) < 0)
			abort();
		check(&p);
	} else if ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0]) {
		abort();
	}
	struct profile full = { .name = "full", .cpus = 2, .memory_mib = 512, .network = "n",
				.ndisks = DISKS_MAX };
	for (size_t i = 0; i < DISKS_MAX; i++) {
		full.disks[i].name[0] = (char)('a' + i);
		full.disks[i].size_mib = 1024;
	}
	memset(&e, 0, sizeof e);
	rc = profile_parse(body, size, false, &full, &e);
	if (rc == 0)
		check(&full);
	else if ((rc != -EINVAL && rc != -E2BIG) || !e.msg[0])
		abort();
	return 0;
}
