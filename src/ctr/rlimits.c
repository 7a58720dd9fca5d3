/* See rlimits.h. */
#include "ctr/rlimits.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ctr/util.h"

/* "unlimited" or the number, as a message should show a limit. */
static const char *limit_str(uint64_t v, char *buf, size_t n)
{
	if (v == UINT64_MAX)
		return "unlimited";
	snprintf(buf, n, "%llu", (unsigned long long)v);
	return buf;
}

int rlimits_apply(const struct oci_process *p, struct err *e)
{
	for (size_t i = 0; i < p->nrlimits; i++) {
		const struct oci_rlimit *r = &p->rlimits[i];
		struct rlimit rl = { r->soft == UINT64_MAX ? RLIM_INFINITY : r->soft,
				     r->hard == UINT64_MAX ? RLIM_INFINITY : r->hard };
		if (setrlimit(r->resource, &rl) == 0)
			continue;
		int err = errno;
		struct rlimit cur;
		getrlimit(r->resource, &cur);
		char sb[24], hb[24], cb[24], nr_open[32];
		const char *soft = limit_str(r->soft, sb, sizeof sb), *hard = limit_str(r->hard, hb, sizeof hb);
		/* Even root cannot pass the kernel's own ceiling for open files
		 * (and "unlimited" is above it). */
		if (err == EPERM && r->resource == RLIMIT_NOFILE &&
		    read_small("/proc/sys/fs/nr_open", nr_open, sizeof nr_open) == 0 &&
		    r->hard > strtoull(nr_open, NULL, 10))
			return err_set(e, -err,
				       "setrlimit RLIMIT_NOFILE hard=%s: above the kernel's maximum fs.nr_open %s",
				       hard, nr_open);
		if (err == EPERM)
			return err_set(e, -err,
				       "setrlimit %s soft=%s hard=%s: above the current hard limit %s and CAP_SYS_RESOURCE is not available",
				       r->name, soft, hard,
				       limit_str(cur.rlim_max == RLIM_INFINITY ? UINT64_MAX : cur.rlim_max, cb, sizeof cb));
		return err_set(e, -err, "setrlimit %s soft=%s hard=%s: %s", r->name, soft, hard,
			       strerror(err));
	}
	return 0;
}
