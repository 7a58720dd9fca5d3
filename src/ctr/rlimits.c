/* See rlimits.h. */
#include "ctr/rlimits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ctr/util.h"

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
		/* Even root cannot pass the kernel's own ceiling for open files. */
		char nr_open[32];
		if (err == EPERM && r->resource == RLIMIT_NOFILE &&
		    read_small("/proc/sys/fs/nr_open", nr_open, sizeof nr_open) == 0 &&
		    r->hard != UINT64_MAX && r->hard > strtoull(nr_open, NULL, 10))
			return err_set(e, -err,
				       "setrlimit RLIMIT_NOFILE hard=%llu: above the kernel's maximum fs.nr_open %s",
				       (unsigned long long)r->hard, nr_open);
		if (err == EPERM)
			return err_set(e, -err,
				       "setrlimit %s soft=%llu hard=%llu: above the current hard limit %llu and CAP_SYS_RESOURCE is not available",
				       r->name, (unsigned long long)r->soft,
				       (unsigned long long)r->hard, (unsigned long long)cur.rlim_max);
		return err_set(e, -err, "setrlimit %s soft=%llu hard=%llu: %s", r->name,
			       (unsigned long long)r->soft, (unsigned long long)r->hard,
			       strerror(err));
	}
	return 0;
}
