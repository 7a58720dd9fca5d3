/*
 * A running VM moved to another daemon's VMM, as the daemon drives it
 * (migrate.h): the control `migrate` verb with a connection to the target
 * passed (docs/control.md, "fds"), since a daemon VM is jailed and connects
 * nowhere itself (docs/sandbox.md), and its progress read from the VM's
 * events stream (`migration` events) while it runs.  Implemented in
 * vmm_client.c, the one file that speaks the control protocol.
 *
 * The receiving side: a start of an instance whose directory has a file
 * `incoming` naming a URI runs the VMM with `--incoming URI` (read once),
 * and counts it started when the VM has arrived and serves its control
 * socket.
 */
#ifndef NIMBUS_DAEMON_VMM_MIGRATE_H
#define NIMBUS_DAEMON_VMM_MIGRATE_H

#include <stdint.h>

#include "daemon/driver.h"

#define VMM_INCOMING_FILE "incoming"
#define VMM_MIGRATE_WAIT_MS 600000     /* it sends all of guest RAM, and the disks */

struct vmm_migration_progress {
	const char *stage;                 /* first-pass, round, stop-copy */
	unsigned round;
	uint64_t pages_sent, pages_left;
	double dirty_pages_per_s, expected_downtime_ms;
};

struct vmm_migration_result {
	unsigned rounds;
	uint64_t bytes_sent;
	double total_ms, downtime_ms;
};

typedef void vmm_progress_fn(void *arg, const struct vmm_migration_progress *p);

/* Sends the running in over conn (a connected stream socket to the target
 * at uri, which names it in messages), copying its disks when
 * copy_storage; progress (may be NULL) is called with each progress event.
 * 0 once the VMM has handed the VM over (it then ends), or -errno with e
 * set (the VM runs on here). */
int vmm_migrate_send(const struct driver_ctx *c, const struct instance *in, const char *uri,
		     int conn, bool copy_storage, vmm_progress_fn *progress, void *arg,
		     struct vmm_migration_result *res, struct err *e);

#endif
