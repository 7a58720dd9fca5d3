/*
 * Live migration (docs/migration.md): the source sends a running VM to a
 * nimbus started with `vm run --incoming URI` and the same options.
 *
 * Source (vm_migrate): pre-copy rounds send guest RAM while the guest runs,
 * then the pages dirtied since, until what is left would take no longer
 * than downtime_ms to send at the rate measured so far (or 30 rounds ran:
 * a guest dirtying faster than the link converges no further); then the VM is
 * paused, the last pages and the device state (the snapshot state file) go,
 * the disks' locks are handed over, and the target's answer decides: the
 * source stops (the VM lives on there) or resumes as if nothing happened.
 *
 * Target (vm_migrate_receive, then vm_create with cfg.incoming, then
 * vm_migrate_answer): accepts one connection, takes pages into a mapping
 * that becomes the VM's RAM, and answers once the VM is built.
 *
 * URIs: unix:PATH or tcp:HOST:PORT.
 */
#ifndef NIMBUS_VMM_VM_MIGRATE_H
#define NIMBUS_VMM_VM_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/vm.h"

struct vm_migrate_info {
	unsigned rounds;            /* pre-copy rounds after the first pass */
	uint64_t pages_sent;        /* including pages sent more than once */
	uint64_t bytes_sent;
	int64_t total_ns;
	int64_t downtime_ns;        /* paused: last pages, state, the target's answer */
	int64_t stop_copy_ns;       /* of which: pausing and sending the rest (what QEMU
				       reports as its downtime) */
	uint64_t disk_bytes_sent;   /* copy_storage: disk data sent (zero ranges not counted) */
};

struct vm_migrate_opts {
	unsigned downtime_ms;       /* 0: VM_MIGRATE_DOWNTIME_MS */
	/* Also send a hash of every page, taken with the VM paused after the
	 * last page went; the target compares its RAM page by page and
	 * refuses the VM naming the pages that differ.  A check of dirty
	 * logging, not of the link (the frames have CRCs): it costs downtime
	 * (hashing the pages the guest has touched). */
	bool verify;
	/* Also send the disks' contents (what the guest sees of each --disk),
	 * tracking the chunks it writes meanwhile and sending them again, so
	 * the target needs no shared storage: it writes them into its own
	 * --disk images (of the same sizes). */
	bool copy_storage;
	/* Post-copy (vm_postcopy.h): no page before the state; the target runs
	 * at once and fetches pages as they are touched, the rest follow.  The
	 * guest stands still only while the target builds the VM, whatever it
	 * writes; but a connection lost after the switch loses the VM.  Not
	 * with copy_storage or verify. */
	bool postcopy;
	/* A connection to the target the client made and passed (a sandboxed
	 * VMM can make none: docs/sandbox.md): used instead of connecting to
	 * the URI, which then only names the target in messages.  Not closed. */
	bool have_conn;
	int conn;
};

/* 0 (the VM is stopping: it lives on in the target), or -errno with err set
 * (the VM runs on here).  opts may be NULL (the defaults). */
int vm_migrate(struct vm *vm, const char *uri, const struct vm_migrate_opts *opts,
	       struct vm_migrate_info *info, struct err *err);
#define VM_MIGRATE_DOWNTIME_MS 30   /* the default budget for the paused round */

/* Target: listens on uri, accepts one source and reads the stream up to the
 * state.  *conn is the connection to answer on.  0 or -errno. */
int vm_migrate_receive(const char *uri, uint64_t ram_size, struct vm_incoming *out, int *conn,
		       struct err *err);
/* The same into a VM built ahead (vm_create with cfg.incoming and no state):
 * pages go straight into its guest RAM, so nothing is moved at switch-over. */
int vm_migrate_receive_into(struct vm *vm, const char *uri, struct vm_incoming *out, int *conn,
			    struct err *err);
/* Tells the source whether the VM was built (rc 0) or why not; closes conn
 * and frees what receive allocated (the RAM only if vm_create did not take it). */
void vm_migrate_answer(int conn, int rc, const char *msg, struct vm_incoming *in);

/* Parses a URI: 0, or -EINVAL with err naming it. */
int vm_migrate_uri_check(const char *uri, struct err *err);
/* Connects to a target as the source would (what a client passes to a
 * sandboxed VMM, opts.conn): the socket, or -errno with err naming uri. */
int vm_migrate_connect(const char *uri, struct err *err);

#endif
