/*
 * Live migration of a VM between two daemons (docs/daemon.md, "Moving a
 * VM"): `nimbus move NAME --to SOCKET`.  The source daemon asks the target
 * daemon (its API, at SOCKET) to make an instance of the same name, image,
 * CPUs, memory and disks that waits for the VM (POST /1.0/incoming/NAME: its VMM
 * started with `--incoming unix:...`, jailed, and listening before it
 * answers); connects to that socket itself and passes the connection to
 * its own jailed VMM with the `migrate` verb (a jail connects nowhere:
 * docs/sandbox.md); follows the VMM's progress events into the operation's
 * progress; and, once the VMM has handed the VM over, deletes the instance
 * here.  The disks go with the stream (--copy-storage): two daemons share
 * no state directory, so the target writes them into its own.
 *
 * What fails before the hand-over leaves the VM running here and the
 * target's instance deleted.  Refused up front: a container, an instance
 * that is not running or is paused, and a VM on networks or with volumes
 * attached (those belong to this daemon's host setup; detach them first).
 */
#ifndef NIMBUS_DAEMON_MIGRATE_H
#define NIMBUS_DAEMON_MIGRATE_H

#include <stddef.h>

#include "daemon/instance.h"
#include "daemon/request.h"
#include "daemon/service.h"
#include "lib/err.h"

struct operation;

/* POST /1.0/instances/NAME/migrate: {"target": SOCKET} (the target
 * daemon's Unix socket path, absolute). */
struct migrate_req {
	char target[108];
};
/* The parsers (migrate_parse.c): 0, or -EINVAL/-ENOMEM with e naming the
 * field.  *out of incoming_req_parse is malloc'ed (service_incoming takes it). */
int migrate_req_parse(const char *body, size_t len, struct migrate_req *out, struct err *e);

/* POST /1.0/incoming/NAME: {"image", "project"?, "cpus"?,
 * "memory_mib"?, "disks"?: {"D": "SIZE"}} (what the source instance has). */
struct incoming_req {
	struct create_req cr;      /* a VM, not started; name and disks as given */
};
int incoming_req_parse(const char *body, size_t len, struct incoming_req **out, struct err *e);

/* The source: starts moving name to r->target, as an operation (out). */
int service_migrate(struct service *s, const char *name, const struct migrate_req *r,
		    struct operation *out, struct err *e);
/* The target: makes the instance name from r (taken) and starts its VMM
 * waiting for the VM, as an operation (out) that ends once the VM runs here
 * (or fails: the instance is then deleted); uri receives where the source's
 * VMM is to connect ("unix:" and a socket path). */
/* The record of a move under way (migrate_recover.c), in the instance's
 * directory: written once the target has answered, before the VMM is asked
 * to send; dropped when the move's end is known.  0 or -errno (e set). */
int migrate_record(struct service *s, const char *key, const char *target, const char *top,
		   struct err *e);
void migrate_record_drop(struct service *s, const char *key);
/* At the daemon's start: each move a killed daemon left is settled with its
 * target, in a thread of its own, its instance claimed until then
 * (migrate_recover.c); *found counts them.  0 or -errno (e set). */
int service_migrate_recover(struct service *s, int *found, struct err *e);

#define MIGRATE_URI_MAX 120
int service_incoming(struct service *s, const char *name, struct incoming_req *r, char *uri,
		     size_t urilen, struct operation *out, struct err *e);

/* Connects to the target VMM's "unix:" uri once it listens, waiting up to
 * wait_ms for it to: for its socket to appear, then, since the VMM binds it
 * before it listens, past a refused connection.  The socket, or -errno. */
int migrate_connect_target(const char *uri, int wait_ms, struct err *e);

#endif
