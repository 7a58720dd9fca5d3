/* See rlimits.h. */
#include "ctr/rlimits.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

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
