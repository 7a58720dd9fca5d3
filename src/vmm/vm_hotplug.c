/*
 * Disk hot-plug into a running VM, within what virtio-mmio allows.
 *
 * virtio-mmio has no bus to announce a device on: a guest learns its
 * devices from the device tree it booted with and probes each slot once.
 * So a VM that is to take disks later is started with empty virtio-blk
 * devices (vm_config.disk_slots, `vm run --disk-slots N`): the guest sees
 * a vdX of no sectors for each.  Inserting an image puts it behind the
 * first empty one and raises its configuration-change interrupt (virtio
 * 1.2, 4.2.2.1 and 5.2.6); Linux's virtio_blk re-reads the capacity and
 * the disk is there with its size, its serial the one given.  Ejecting
 * flushes the image and puts the empty backend back: the guest sees the
 * disk shrink to nothing (a filesystem still mounted on it gets I/O
 * errors, which is why the daemon checks first, docs/cloud.md).
 *
 * The image comes as an open file, so a sandboxed VMM (which may open no
 * path) can take it.  A snapshot records what each slot holds (its serial
 * and image, vm_snapshot.c), and a restore or a migration's target must
 * hold the same (vm_config.slot_disks, `--slot-disk`); only what copies
 * disk contents (snapshot --disks, migrate --copy-storage) and fork (whose
 * children would share the writable image) are refused while one is in.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/virtio/blk.h"
#include "vmm/virtio/block.h"

/* The slot holding serial, or -1. */
static int find_serial(struct vm *vm, const char *serial)
{
	char id[VIRTIO_BLK_ID_BYTES + 1];
	struct virtio_device *d;
	for (unsigned i = 0; (d = vm_disk_slot(vm, i)); i++)
		if (virtio_blk_loaded(d, id) && !strcmp(id, serial))
			return (int)i;
	return -1;
}

static int check_serial(const char *serial, struct err *err)
{
	size_t n = strlen(serial);
	if (n == 0 || n > VIRTIO_BLK_ID_BYTES)
		return err_set(err, -EINVAL, "disk serial \"%.40s\": 1 to %u bytes", serial,
			       VIRTIO_BLK_ID_BYTES);
	for (size_t i = 0; i < n; i++)
		if (serial[i] <= ' ' || serial[i] > '~')
			return err_set(err, -EINVAL, "disk serial \"%.40s\": printable ASCII "
				       "without spaces only", serial);
	return 0;
}

int vm_disk_insert(struct vm *vm, int fd, const char *serial, unsigned *slot,
		   struct err *err)
{
	int rc = check_serial(serial, err);
	if (rc)
		return rc;
	if (!vm_disk_slot(vm, 0))
		return err_set(err, -ENOSPC, "disk %s: this VM has no hot-plug slots (start it "
			       "with --disk-slots N)", serial);
	if (find_serial(vm, serial) >= 0)
		return err_set(err, -EEXIST, "disk %s: inserted already", serial);
	int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (mine < 0)
		return err_set(err, -errno, "disk %s: %s", serial, strerror(errno));
	struct block_backend *be;
	char name[48];
	snprintf(name, sizeof name, "disk %s", serial);
	if ((rc = block_qcow2_open_fd(mine, name, false, &be, err)))   /* takes mine */
		return rc;
	struct virtio_device *d;
	for (unsigned i = 0; (d = vm_disk_slot(vm, i)); i++) {
		/* A slot filled meanwhile answers -EBUSY: try the next. */
		struct err e = { 0 };
		rc = virtio_blk_insert(d, be, serial, &e);
		if (rc == 0) {
			*slot = i;
			return 0;
		}
		if (rc != -EBUSY) {
			block_backend_close(be);
			return err_set(err, rc, "disk %s: %s", serial, e.msg);
		}
	}
	block_backend_close(be);
	return err_set(err, -ENOSPC, "disk %s: every hot-plug slot holds a disk", serial);
}

int vm_disk_eject(struct vm *vm, const char *serial, unsigned *slot, struct err *err)
{
	int i = find_serial(vm, serial);
	if (i < 0)
		return err_set(err, -ENOENT, "disk %.40s: not in any hot-plug slot", serial);
	*slot = (unsigned)i;
	return virtio_blk_eject(vm_disk_slot(vm, (unsigned)i), err);
}

void vm_disk_slots(struct vm *vm, unsigned *total, unsigned *loaded)
{
	struct virtio_device *d;
	*total = *loaded = 0;
	for (unsigned i = 0; (d = vm_disk_slot(vm, i)); i++, ++*total)
		*loaded += virtio_blk_loaded(d, NULL);
}

int vm_disk_slots_check_empty(struct vm *vm, const char *doing, struct err *err)
{
	unsigned total, loaded;
	vm_disk_slots(vm, &total, &loaded);
	if (loaded)
		return err_set(err, -EBUSY, "%s: %u hot-plugged disk%s in (eject %s first, or "
			       "restart the VM with %s as --disk)", doing, loaded,
			       loaded == 1 ? " is" : "s are", loaded == 1 ? "it" : "them",
			       loaded == 1 ? "it" : "them");
	return 0;
}
