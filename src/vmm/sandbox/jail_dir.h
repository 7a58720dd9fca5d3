/*
 * The sandbox's jail directory on the host (/tmp/nimbus-jail.XXXXXX): an
 * empty directory the VMM mounts its jail's tmpfs on, in its own mount
 * namespace.  The launcher removes it when the VMM ends; a launcher killed
 * by SIGKILL cannot, so every launcher holds an exclusive flock(2) on its
 * jail directory for as long as it lives, and the next sandboxed start
 * removes any jail directory nobody holds (the lock goes with the process,
 * whatever PID namespace it was in).
 */
#ifndef NIMBUS_VMM_SANDBOX_JAIL_DIR_H
#define NIMBUS_VMM_SANDBOX_JAIL_DIR_H

#include <stddef.h>

#include "lib/err.h"

#define JAIL_DIR_PREFIX "nimbus-jail."
/* A jail directory younger than this is never swept: its launcher may be
 * between making it and locking it. */
#define JAIL_DIR_MIN_AGE_S 10

/*
 * Makes a fresh jail directory in tmp (its path into out) and locks it;
 * *lock_fd holds the lock (close it in a child that must not keep the host's
 * directory open).  0 or -errno with err (nothing left behind).
 */
int jail_dir_make(const char *tmp, char *out, size_t n, int *lock_fd, struct err *err);

/*
 * Removes the jail directories in tmp that no live launcher holds, older
 * than min_age_s, empty and ours (owned by our uid, not symbolic links).
 * Returns how many it removed.
 */
int jail_dir_sweep(const char *tmp, int min_age_s);

#endif
