/* See caps.h. */
#include "ctr/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctr/util.h"

int caps_last_cap(void)
{
	char v[16];
	if (read_small("/proc/sys/kernel/cap_last_cap", v, sizeof v) == 0)
		return atoi(v);
	return CAP_LAST_CAP;
}

int caps_drop_bounding(const struct oci_caps *c, struct err *e)
{
	int last = caps_last_cap();
	for (int i = 0; i <= last && i < 64; i++) {
		if (c->bounding & (1ULL << i))
			continue;
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			return err_set(e, -errno, "dropping capability %d from the bounding set: %s",
				       i, strerror(errno));
	}
	return 0;
}

int caps_set(const struct oci_caps *c, struct err *e)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	for (int k = 0; k < 2; k++) {
		d[k].effective = (uint32_t)(c->effective >> (32 * k));
		d[k].permitted = (uint32_t)(c->permitted >> (32 * k));
		d[k].inheritable = (uint32_t)(c->inheritable >> (32 * k));
	}
	if (syscall(SYS_capset, &h, d) < 0)
		return err_set(e, -errno, "capset: %s (effective must be a subset of permitted)",
			       strerror(errno));
	int last = caps_last_cap();
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_set(e, -errno, "clearing ambient capabilities: %s", strerror(errno));
	for (int i = 0; i <= last && i < 64; i++) {
		if (!(c->ambient & (1ULL << i)))
			continue;
		/* Ambient needs the cap in permitted and inheritable; the spec
		 * leaves a mismatch to the runtime: skip it, as others do. */
		if (!(c->permitted & c->inheritable & (1ULL << i)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			return err_set(e, -errno, "raising ambient capability %d: %s", i,
				       strerror(errno));
	}
	return 0;
}
