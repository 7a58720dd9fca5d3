/*
 * An instance joins or leaves a network after its launch (network.h,
 * network_join and network_leave; docs/cloud.md, "Joining and leaving").
 *
 * The rows are the truth, as at launch: a NIC row gives the instance its
 * address, MAC and DNS name on the network (network_refresh), and the host
 * side follows from the rows at every start.  What this adds is the live
 * part for a running container: its namespace is nimbus's own file
 * (STATE/instances/KEY/netns), so a veth can go in or out while it runs.
 * A VM's NICs are virtio-net devices fixed at boot, so joining waits for
 * its next start, and leaving waits until it stops.
 */
#include "daemon/network.h"
#include "daemon/netlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The instance as the host knows it: named by its key (instance.h). */
static struct instance host_view(const struct instance *in)
{
	struct instance hv = *in;
	if (in->key[0])
		memcpy(hv.name, in->key, sizeof hv.name);
	return hv;
}

/* A running container's live NIC nic on n goes: its DHCP client (which
 * releases the lease first), its veth (the container's ethN goes with it),
 * its row, and its resolv.conf entry. */
static int unplug_live(struct db *db, const struct net_ctx *c, const struct instance *hv,
		       const char *inst_dir, const struct network *n, const struct nic *nic,
		       struct err *e)
{
	char ifname[16];
	network_dhcp_stop(inst_dir, nic->idx);
	network_nic_ifname("nv", hv->name, nic->idx, ifname);
	nl_link_del(ifname, NULL);
	int rc = network_nic_remove(db, c, hv->name, n->key, e);
	return rc < 0 ? rc : network_write_resolv(db, c, hv, inst_dir, e);
}

int network_join(struct db *db, const struct net_ctx *c, const struct instance *in,
		 const char *inst_dir, bool running, const char *network, bool *now,
		 struct nic_leases *pending, struct err *e)
{
	*now = false;
	pending->n = 0;
	struct network n;
	struct instance hv = host_view(in);
	int rc = network_get(db, c, network, in->project, &n, e);
	if (rc < 0 || (rc = network_nic_add(db, c, hv.name, in->project, network, e)) < 0)
		return rc;
	if (!running || in->kind != KIND_CONTAINER)
		return 0;
	struct nic nic;
	if ((rc = network_nic_on(db, hv.name, n.key, &nic, e)) < 0)
		return rc;
	struct err pe = { 0 };
	rc = network_plug_container_nic(db, c, &hv, inst_dir, &nic, pending, &pe);
	if (rc == -ENOENT)   /* no namespace of ours to join: at the next start */
		return 0;
	if (rc < 0) {
		network_dhcp_abandon(pending);
		unplug_live(db, c, &hv, inst_dir, &n, &nic, NULL);
		return err_set(e, rc, "network \"%s\": %s", network, pe.msg);
	}
	*now = true;
	return 0;
}

void network_join_undo(struct db *db, const struct net_ctx *c, const struct instance *in,
		       const char *inst_dir, const char *network)
{
	struct network n;
	struct nic nic;
	struct instance hv = host_view(in);
	if (network_get(db, c, network, in->project, &n, NULL) == 0 &&
	    network_nic_on(db, hv.name, n.key, &nic, NULL) == 0)
		unplug_live(db, c, &hv, inst_dir, &n, &nic, NULL);
}

/* -EBUSY naming a forward on network n to the instance called name. */
static int forwarded(struct db *db, const struct network *n, const char *name, struct err *e)
{
	struct forward *f = NULL;
	size_t count = 0;
	int rc = network_forward_list(db, n, &f, &count, e);
	for (size_t i = 0; rc == 0 && i < count; i++)
		if (!strcmp(f[i].instance, name))
			rc = err_set(e, -EBUSY, "network \"%s\": port forward %s:%d goes to instance "
				     "\"%s\" (remove it first: nimbus network unforward %s %s:%d)",
				     n->name, f[i].protocol, f[i].port, name, n->name,
				     f[i].protocol, f[i].port);
	free(f);
	return rc;
}

int network_leave_check(struct db *db, const struct net_ctx *c, const struct instance *in,
			const char *network, struct err *e)
{
	struct network n;
	struct nic nic;
	struct instance hv = host_view(in);
	int rc = network_get(db, c, network, in->project, &n, e);
	if (rc < 0)
		return rc;
	if (network_nic_on(db, hv.name, n.key, &nic, NULL) < 0)
		return err_set(e, -ENOENT, "instance \"%s\": not on network \"%s\"", in->name, network);
	return forwarded(db, &n, in->name, e);
}

int network_leave(struct db *db, const struct net_ctx *c, const struct instance *in,
		  const char *inst_dir, bool running, bool ejected, const char *network,
		  struct err *e)
{
	struct network n;
	struct nic nic;
	struct instance hv = host_view(in);
	int rc = network_leave_check(db, c, in, network, e);
	if (rc < 0 || (rc = network_get(db, c, network, in->project, &n, e)) < 0 ||
	    (rc = network_nic_on(db, hv.name, n.key, &nic, e)) < 0)
		return rc;
	if (running && in->kind == KIND_VM && !ejected)
		return err_set(e, -EBUSY, "instance \"%s\": a running VM keeps its NICs until it stops "
			       "(its address would be given back while it uses it): stop it first",
			       in->name);
	if (running && in->kind == KIND_VM)   /* its slot's link is down, its TAP gone */
		return network_nic_remove(db, c, hv.name, n.key, e);
	if (running)
		return unplug_live(db, c, &hv, inst_dir, &n, &nic, e);
	if ((rc = network_nic_remove(db, c, hv.name, n.key, e)) < 0)
		return rc;
	return network_nics_renumber(db, hv.name, e);
}
