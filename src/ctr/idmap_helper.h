/*
 * newuidmap(1)/newgidmap(1), the setuid helpers of shadow (Debian's uidmap
 * package): an unprivileged runtime may write only a one-line map of its own
 * id into a new user namespace; the helpers check /etc/subuid and
 * /etc/subgid and write the ranges the user was granted.  runc and crun use
 * them the same way for rootless containers with several mapped ranges.
 */
#ifndef NIMBUS_CTR_IDMAP_HELPER_H
#define NIMBUS_CTR_IDMAP_HELPER_H

#include <stddef.h>
#include <sys/types.h>

#include "ctr/config.h"
#include "lib/err.h"

/* Runs HELPER ("newuidmap" or "newgidmap") PID CTR HOST SIZE... found on
 * $PATH; 0, -ENOENT if it is not installed, or -EPERM with its complaint
 * (first line of its stderr) in e. */
int idmap_helper_run(const char *helper, pid_t pid, const struct oci_idmap *m, size_t n,
		     struct err *e);

#endif
