/*
 * What the VM's own modules beyond vm.c (vm_snapshot.c) see of a struct vm:
 * its parts, lent for the duration of a call made while every vCPU is
 * parked or not started.  Not for devices or the CLI.
 */
#ifndef NIMBUS_VMM_VM_INTERNAL_H
#define NIMBUS_VMM_VM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/vm.h"

struct bus;
struct vclock;
struct hart;
struct device_list;
struct virtio_device;

/*
 * What an incremental snapshot builds on: the last snapshot this VM wrote
 * (or was restored from), whose pages dirty logging has tracked since.
 * Under the VM's api_lock.
 */
struct vm_snap_chain {
	/* A migration owns the dirty log: snapshots (which restart it) and a
	 * second migration wait their turn. */
	atomic_bool migrating;
	bool valid;                   /* dirty logging has run since `dir` was written,
					 or RAM is `dir`'s memory mapped (from_file) */
	/* Restored from `dir` and no snapshot since: the pages written since
	 * are the private copies of the file mapping (bus_ram_changed_from_file),
	 * so restore needs no dirty logging (arming every page, and a slow
	 * path on the first store to each). */
	bool from_file;
	uint64_t id;                  /* that snapshot's random id */
	char dir[4096];
	/* The last fork's directory (write_fork), "" for none: not a base (a
	 * fork starts no log), said so when an incremental snapshot is refused. */
	char forked[4096];
};

struct vm_parts {
	struct bus *bus;
	struct vclock *clock;
	struct hart **harts;          /* ncpus of them */
	unsigned ncpus;
	struct device_list *devs;
	const struct vm_config *cfg;
	int64_t paused_at_ns;         /* host monotonic time of the pause (paused VM) */
	struct vm_snap_chain *chain;
	/* The virtio-blk devices, in --disk order (none before the devices
	 * exist: a VM built ahead of a migration). */
	struct virtio_device *disks[VM_MAX_DISKS];
	unsigned ndisks;
	/* The virtio-net devices, in --net order (likewise). */
	struct virtio_device *nets[VM_MAX_NETS];
	unsigned nnets;
};

void vm_parts(struct vm *vm, struct vm_parts *out);
/* vm.c: fn(parts, ctx) with the VM paused (as a snapshot pauses it: its
 * events say so) and no other API call under way; a VM paused already
 * stays paused.  fn's result, or -errno with err set (not running). */
int vm_call_paused(struct vm *vm, int (*fn)(struct vm_parts *p, void *ctx), void *ctx,
		   struct err *err);
/* vm.c: fn(parts, ctx) with no other API call under way (what changes the
 * VM's RAM mapping is one), the VM running or not; fn's result. */
int vm_call_locked(struct vm *vm, int (*fn)(struct vm_parts *p, void *ctx), void *ctx);

/* vm_snapshot.c: loads a snapshot into a VM just created (harts and devices
 * reset, nothing run yet), in place of loading its boot images. */
int vm_restore_state(struct vm *vm, const char *dir, struct err *err);
/* vm_snapshot.c: the same for a VM migrated in: RAM and state from the
 * stream (cfg->incoming); the RAM mapping moves into the VM. */
int vm_restore_incoming(struct vm *vm, struct vm_incoming *inc, struct err *err);
/* The state file of a paused VM into o (snap_out_init'd here): base NULL
 * for a full snapshot. */
struct snap_out;
struct vm_fork_disks;
int vm_state_build(struct vm *vm, uint64_t id, const char *base, uint64_t base_id,
		   bool with_disks, const struct vm_fork_disks *frozen, struct snap_out *o,
		   struct err *err);
uint64_t vm_snapshot_new_id(void);
/* vm_snapshot.c: writes the snapshot of a paused VM (vm_snapshot holds it
 * paused).  A fork's (opts->fork_children) puts what its children map in
 * *fork_image (vm_fork_image_take), and leaves dir/memory to be written
 * from it. */
struct vm_fork_image;
int vm_snapshot_write(struct vm *vm, const char *dir, const struct vm_snapshot_opts *opts,
		      const struct vm_fork_disks *frozen, struct vm_snapshot_info *info,
		      struct vm_fork_image *fork_image, struct err *err);
/* vm_snapshot.c: before an incremental snapshot of a fork's child pauses
 * it: waits (at most VM_BASE_WAIT_MS) until its base, the fork's directory,
 * has its memory, which it gets only after the fork (vm_fork_image.c).  0,
 * or -errno with err set (not there in time). */
#define VM_BASE_WAIT_MS 10000
int vm_snapshot_base_wait(struct vm *vm, struct err *err);
/* vm_snapshot.c: guest RAM into fd from its start, its zero pages holes
 * (sandboxed: without a kept page map, every page is read); *written: the
 * bytes of data.  0 or -errno. */
struct bus;
int vm_ram_write_sparse(int fd, const struct bus *bus, bool sandboxed, uint64_t *written);
/* vm_snapshot.c: the RAM pages whose byte in data (one per page) is not 0
 * into fd at their offsets, nothing else; *written: their bytes.  0 or
 * -errno. */
int vm_ram_write_pages(int fd, const struct bus *bus, const uint8_t *data, uint64_t *written);
/* vm_snapshot.c: the RAM pages set in the bitmap `pages` into fd from its
 * start, as a memory.diff (docs/snapshot.md); *written: their bytes.  0 or
 * -errno. */
int vm_ram_write_diff(int fd, const struct bus *bus, const uint64_t *pages, uint64_t *written);
/* vm_snapshot.c: before a restore builds the devices: when the snapshot
 * holds its disks, points cfg's disks at them (or at new copies of them,
 * for writable disks); paths[] keeps the strings.  0 or -errno. */
int vm_restore_disks(struct vm_config *cfg, const char *dir, char *paths[VM_MAX_DISKS],
		     struct err *err);

/* vm.c: disk i's image from now on (a fork moving it onto an overlay, or
 * back): the configuration names path (copied), format and confinement.
 * 0 or -ENOMEM (nothing changed). */
int vm_disk_set_image(struct vm *vm, unsigned i, const char *path, const char *format,
		      bool confine_backing);

/*
 * vm_fork_disks.c: a fork's writable disks (docs/snapshot.md, "Live fork").
 * prepare, the VM running: makes a new qcow2 overlay over each writable
 * disk's image, DIR.parent-diskI.qcow2, synced (refused if a child's
 * overlay DIR/child-N-diskI.qcow2, N < children, exists already); *out NULL
 * when the VM has no writable disk.  freeze, the VM paused: moves each disk
 * onto its overlay, its image now a frozen base (undone on failure).  thaw
 * undoes a freeze (the snapshot failed; still paused), appending to err
 * what it could not undo.  free removes the overlays no disk is on.  save
 * writes the "fork-disks" section; base is disk i's frozen image (NULL: not
 * frozen), whose identity the "vm" section records.
 */
int vm_fork_disks_prepare(struct vm *vm, const char *dir, unsigned children,
			  struct vm_fork_disks **out, struct err *err);
int vm_fork_disks_freeze(struct vm *vm, struct vm_fork_disks *f, struct err *err);
void vm_fork_disks_thaw(struct vm *vm, struct vm_fork_disks *f, struct err *err);
void vm_fork_disks_free(struct vm_fork_disks *f);
const char *vm_fork_disks_base(const struct vm_fork_disks *f, unsigned i);
void vm_fork_disks_save(const struct vm_fork_disks *f, struct snap_out *o);
/* Restoring a snapshot with a "fork-disks" section (in positioned
 * anywhere): a frozen disk opened writable must be a fork child's
 * (cfg->fork_index), which gets a new overlay DIR/child-N-diskI.qcow2 over
 * the base (paths[i] owns the strings; the disk's frozen_base names the
 * base); anything else writable is refused.  0 or -errno. */
struct snap_in;
int vm_fork_disks_restore(struct snap_in *in, struct vm_config *cfg, const char *dir,
			  char *paths[VM_MAX_DISKS], struct err *err);

/*
 * vm_fork_nics.c: a fork child's own MACs.  save writes the "net-macs"
 * section (each --net device's MAC); renew gives every NIC of a fork
 * child's configuration a new MAC before its devices are made; was reads
 * the MACs the snapshot's NICs had (n = 0 for a snapshot without them).
 * vm.c keeps them (vm_set_fork_macs) for the clone notice.
 */
struct snap_out;
void vm_net_macs_save(const struct vm_parts *p, struct snap_out *o);
/* vm_fork_nics.c: what a fork's children's guests use as MAC
 * (vm_snapshot_info.guest_mac): NULL, "moved" or "kept". */
const char *vm_fork_guest_mac(const struct vm_parts *p);
int vm_fork_nics_renew(struct vm_config *cfg, struct err *err);
int vm_fork_nics_was(struct snap_in *in, const struct vm_config *cfg,
		     uint8_t was[VM_MAX_NETS][6], unsigned *n, struct err *err);
void vm_set_fork_macs(struct vm *vm, uint8_t was[VM_MAX_NETS][6], unsigned n);

#endif
