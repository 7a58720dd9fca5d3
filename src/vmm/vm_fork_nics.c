/*
 * A fork's children and their network cards (docs/snapshot.md, "Live
 * fork"): each child must have a MAC address of its own, but its guest
 * learnt the parent's when its driver probed, and keeps it in RAM the child
 * shares.  So a child (vm run --fork-child N) gets a new MAC on every NIC
 * (52:54:00, QEMU's locally administered prefix, and three random bytes)
 * for its devices, and its guest is told to take it: the clone notice
 * (vm_clone_notice.c) sets each interface still holding the parent's MAC
 * to the child's, through the guest agent.  The parent's MACs come from the
 * snapshot's "net-macs" section, written by every snapshot (the MAC of each
 * --net device, in order).  A guest without an agent keeps the parent's
 * MAC: harmless behind the user-mode network, whose NAT is each child's
 * own; a TAP cannot be shared by a fork anyway (vm.c refuses it).
 *
 * Why nothing but the agent can move it: virtio-net has no way for a
 * device to change the driver's MAC.  The config space's `mac` is read by
 * the driver once, at its initialization (virtio 1.2, 5.1.5: with
 * VIRTIO_NET_F_MAC it is the card's address); VIRTIO_NET_F_CTRL_MAC_ADDR carries the
 * driver's MAC to the device, not back; a config change interrupt makes
 * Linux's driver re-read only `status` (virtnet_config_changed_work: link
 * up or down, and VIRTIO_NET_S_ANNOUNCE, which makes it announce the MAC it
 * has).  A link toggle or an announce would leave the interface on the
 * parent's MAC; only a new device (a hot unplug and plug) would probe the
 * child's, as a new interface without the guest's addresses.  So the fork's
 * reply says which (vm_fork_guest_mac).
 */
#include "vmm/vm_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "vmm/net/opts.h"
#include "vmm/snap_stream.h"
#include "vmm/virtio/net.h"

void vm_net_macs_save(const struct vm_parts *p, struct snap_out *o)
{
	if (!p->nnets)
		return;
	snap_begin(o, "net-macs", 1);
	snap_put_u32(o, p->nnets);
	for (unsigned i = 0; i < p->nnets; i++) {
		uint8_t mac[6];
		virtio_net_mac(p->nets[i], mac);
		snap_put_bytes(o, mac, 6);
	}
	snap_end(o);
}

const char *vm_fork_guest_mac(const struct vm_parts *p)
{
	if (!p->nnets)
		return NULL;
	return p->cfg->agent ? "moved" : "kept";
}

int vm_fork_nics_renew(struct vm_config *cfg, struct err *err)
{
	for (unsigned i = 0; i < cfg->nnets; i++) {
		struct net_opts *n = &cfg->nets[i];
		net_default_mac(i, n->mac);
		if (getrandom(n->mac + 3, 3, 0) != 3)
			return err_set(err, -EIO, "fork child: no random MAC: %s", strerror(errno));
		n->has_mac = true;
	}
	return 0;
}

int vm_fork_nics_was(struct snap_in *in, const struct vm_config *cfg,
		     uint8_t was[VM_MAX_NETS][6], unsigned *n, struct err *err)
{
	*n = 0;
	if (!snap_in_has(in, "net-macs"))
		return 0;   /* an older snapshot: the guest keeps what it has */
	int rc = snap_in_section(in, "net-macs", 1, err);
	if (rc)
		return rc;
	uint32_t count = snap_get_u32(in);
	if (!in->overrun && count != cfg->nnets) {
		snap_in_bad(in);
		return snap_in_end(in, err);
	}
	for (uint32_t i = 0; i < count && !in->overrun; i++)
		snap_get_bytes(in, was[i], 6);
	if ((rc = snap_in_end(in, err)))
		return rc;
	*n = count;
	return 0;
}
