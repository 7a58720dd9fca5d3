/*
 * NIC hot-plug into a running VM, within what virtio-mmio allows (the same
 * bargain as disks, vm_hotplug.c).
 *
 * virtio-mmio has no bus to announce a device on: a guest learns its
 * devices from the device tree it booted with and probes each slot once.
 * So a VM that is to join networks later is started with empty virtio-net
 * devices (vm_config.net_slots, `vm run --net-slots N`): the guest sees an
 * ethN with no carrier for each, its MAC fixed then (Linux's virtio_net
 * reads the MAC once, at probe).  Inserting a TAP puts it behind the first
 * empty one and raises the link (a configuration change with STATUS,
 * virtio 1.2, 5.1.4): the guest's carrier comes up and DHCP on ethN works.
 * Ejecting drops the link and closes the TAP.
 *
 * The TAP comes as an open descriptor, so a sandboxed VMM (which may open
 * no path) can take it.  A snapshot records which slots hold a TAP
 * (vm_snapshot.c, "nic-slots"); a restore or a migration's target must be
 * started with a TAP in each of those (vm_config.slot_taps, `--slot-nic`).
 * Fork is refused while one is in (its children would share the TAP).
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vmm/net/tap.h"
#include "vmm/virtio/net.h"

int vm_nic_insert(struct vm *vm, int fd, const char *ifname, unsigned *slot, uint8_t mac[6],
		  struct err *err)
{
	if (!vm_nic_slot(vm, 0))
		return err_set(err, -ENOSPC, "tap %.16s: this VM has no hot-plug NIC slots (start it "
			       "with --net-slots N)", ifname);
	int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (mine < 0)
		return err_set(err, -errno, "tap %.16s: %s", ifname, strerror(errno));
	struct net_backend *be;
	int rc = net_tap_adopt(mine, ifname, &be, err);   /* takes mine */
	if (rc)
		return rc;
	struct virtio_device *d;
	for (unsigned i = 0; (d = vm_nic_slot(vm, i)); i++) {
		/* A slot filled meanwhile answers -EBUSY: try the next. */
		struct err e = { 0 };
		rc = virtio_net_insert(d, be, &e);
		if (rc == 0) {
			*slot = i;
			virtio_net_mac(d, mac);
			return 0;
		}
		if (rc != -EBUSY) {
			be->ops->close(be);
			return err_set(err, rc, "tap %.16s: %s", ifname, e.msg);
		}
	}
	be->ops->close(be);
	return err_set(err, -ENOSPC, "tap %.16s: every hot-plug NIC slot holds a NIC", ifname);
}

int vm_nic_eject(struct vm *vm, const uint8_t mac[6], unsigned *slot, struct err *err)
{
	struct virtio_device *d;
	for (unsigned i = 0; (d = vm_nic_slot(vm, i)); i++) {
		uint8_t m[6];
		virtio_net_mac(d, m);
		if (memcmp(m, mac, 6) || !virtio_net_loaded(d))
			continue;
		*slot = i;
		return virtio_net_eject(d, err);
	}
	return err_set(err, -ENOENT, "NIC %02x:%02x:%02x:%02x:%02x:%02x: not in any hot-plug slot",
		       mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int vm_nic_slots_check_empty(struct vm *vm, const char *doing, struct err *err)
{
	unsigned loaded = 0;
	struct virtio_device *d;
	for (unsigned i = 0; (d = vm_nic_slot(vm, i)); i++)
		loaded += virtio_net_loaded(d);
	if (loaded)
		return err_set(err, -EBUSY, "%s: %u hot-plugged NIC%s in", doing, loaded,
			       loaded == 1 ? " is" : "s are");
	return 0;
}
