/*
 * The last steps in the container process before execve (config.md
 * "Process", "User"; runtime.md "start"): supplementary groups, uid/gid,
 * capabilities, cwd, umask, no_new_privileges, seccomp, descriptors above
 * the preserved ones closed on exec, then execve.  Also the PATH lookup of
 * args[0], done before `create` reports success so a missing program fails
 * there, with the wording engines map to exit status 127.
 */
#ifndef NIMBUS_CTR_PROCESS_H
#define NIMBUS_CTR_PROCESS_H

#include <stddef.h>

#include "ctr/config.h"
#include "lib/err.h"

int proc_find_exe(const struct oci_process *p, char *out, size_t n, struct err *e);
/* Returns only on failure. */
int proc_exec(const struct oci_process *p, void *seccomp, int preserve_fds, const char *exe,
	      struct err *e);

#endif
