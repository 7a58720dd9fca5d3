/*
 * A fork's child waits for its snapshot (vm_fork): the parent starts its
 * children first and writes the snapshot while they start (their exec and
 * set-up overlap the parent's pause), so a child (vm run --fork-child N)
 * reads nothing of DIR before DIR/state, the snapshot's commit point (it is
 * renamed into place after the memory file), is there.  The parent removes
 * an earlier state file before it starts them.
 *
 * It looks every quarter millisecond: the wait is a few ms at most.  Not
 * inotify: closing an inotify instance waits for an SRCU grace period, 4-9
 * ms here, longer than the whole wait.
 */
#include "vmm/vm_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "vmm/clock.h"

#define WAIT_MS 30000   /* a parent that has not written it by then is gone */

int vm_fork_wait_snapshot(const char *dir, struct err *err)
{
	char state[PATH_MAX];
	if (snprintf(state, sizeof state, "%s/state", dir) >= (int)sizeof state)
		return err_set(err, -ENAMETOOLONG, "%s: name too long", dir);
	int64_t deadline = vclock_host_ns() + (int64_t)WAIT_MS * 1000000;
	const struct timespec step = { 0, 250000 };
	while (access(state, F_OK) != 0) {
		if (vclock_host_ns() > deadline)
			return err_set(err, -ETIMEDOUT, "%s: the fork's snapshot did not come within "
				       "%d s (its parent ended?)", dir, WAIT_MS / 1000);
		nanosleep(&step, NULL);
	}
	return 0;
}
