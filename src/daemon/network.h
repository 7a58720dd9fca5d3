/*
 * Networks (issue 9): a project's private layer-2 segment on this host.
 * Each is a Linux bridge (made over rtnetlink, netlink.h) whose first host
 * address is the gateway; a dnsmasq process per network, started and
 * supervised by the daemon, answers DHCP (a fixed address per instance,
 * by MAC) and DNS (every instance on it by name); an nftables table per
 * network (libnftables) masquerades it to the uplink (--nat) or cuts it
 * off from every other interface (--isolated).
 *
 * A network's name is unique within its project; on the host it is its
 * host key (host_key.h): its bridge (a hash of the key), STATE/networks/KEY,
 * its nftables table, and the rows of nics and forwards.
 *
 * An instance joins up to NICS_MAX networks, a NIC on each (an address and
 * a MAC kept in the database; idx its order: eth0, eth1, ...).  A container gets a network namespace the daemon makes
 * (bind-mounted at STATE/instances/NAME/netns, handed to the runtime in the
 * OCI config) with the inner end of a veth pair as eth0, whose address a
 * DHCP client the daemon runs in that namespace asks dnsmasq for before the
 * container starts (network_dhcp.c); a VM gets a persistent TAP on the
 * bridge that `vm run --net tap` opens, and its guest asks dnsmasq by DHCP.
 * The host side follows the instance: made at start, removed at stop.
 *
 * Host state is rebuilt from the database: network_reconcile() at daemon
 * start recreates what is missing (after a reboot), and every read of a
 * network restarts a dnsmasq that died.  Every function expects the
 * service's lock held.
 */
#ifndef NIMBUS_DAEMON_NETWORK_H
#define NIMBUS_DAEMON_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/db.h"
#include "daemon/instance.h"
#include "daemon/subnet.h"

struct net_ctx {
	const char *state_dir;     /* networks in STATE/networks/NAME */
	const char *dnsmasq;       /* /usr/sbin/dnsmasq */
	const char *busybox;       /* /bin/busybox: containers' DHCP client, udhcpc */
	const char *dhcp_hook;     /* nimbus-dhcp-hook, udhcpc's script (dhcp_hook.h) */
};

struct network {
	char name[INSTANCE_NAME_MAX + 1];      /* unique in its project */
	char key[INSTANCE_NAME_MAX + 1];       /* unique on the host (host_key.h) */
	char project[INSTANCE_NAME_MAX + 1];
	struct subnet subnet;
	bool nat, isolated;
	char bridge[16];
	long long dns_pid, dns_start;    /* its dnsmasq */
	long long created_at;
};

struct network_req {
	char name[INSTANCE_NAME_MAX + 1];
	char project[INSTANCE_NAME_MAX + 1];   /* "": the caller's */
	bool has_subnet;
	struct subnet subnet;      /* default: the first free 10.20.N.0/24 */
	bool nat, isolated;
};

struct nic {
	char instance[INSTANCE_NAME_MAX + 1];
	char network[INSTANCE_NAME_MAX + 1];   /* its host key */
	uint32_t ip;               /* host order */
	char mac[18];
	int idx;                   /* eth0, eth1, ... in the instance */
};

/* The most networks an instance joins (the VMM's virtio-net devices). */
#define NICS_MAX 4

/* Checks the project's networks quota, picks or checks the subnet, makes
 * the bridge, its table and its dnsmasq; nothing is left on failure. */
int network_create(struct db *db, const struct net_ctx *c, const struct network_req *r,
		   struct network *out, struct err *e);
/* By host key; -EBUSY while instances are on it. */
int network_delete(struct db *db, const struct net_ctx *c, const char *key, struct err *e);
/* The network name of project (NULL: the one of that name on the host,
 * host_key_find's 409 when several projects have one); a dead dnsmasq is
 * restarted. */
int network_get(struct db *db, const struct net_ctx *c, const char *name, const char *project,
		struct network *out, struct err *e);
/* The same by host key (a NIC's network). */
int network_by_key(struct db *db, const struct net_ctx *c, const char *key,
		   struct network *out, struct err *e);
int network_list(struct db *db, const struct net_ctx *c, const char *project,
		 struct network **out, size_t *n, struct err *e);
/* How many instances are on the network with host key key. */
int network_nic_count(struct db *db, const char *key, long long *out, struct err *e);
int network_reconcile(struct db *db, const struct net_ctx *c, struct err *e);

/* Gives instance (a host key) a NIC on network (a name of project): the
 * next free address, after the NICs it has (-EEXIST if it is on that
 * network already, -E2BIG beyond NICS_MAX). */
int network_nic_add(struct db *db, const struct net_ctx *c, const char *instance,
		    const char *project, const char *network, struct err *e);
/* The instance's first NIC (eth0); -ENOENT if it has none. */
int network_nic_get(struct db *db, const char *instance, struct nic *out, struct err *e);
/* All its NICs, eth0 first (at most NICS_MAX). */
int network_nics(struct db *db, const char *instance, struct nic out[NICS_MAX], size_t *n,
		 struct err *e);
/* For showing: the NICs of instance (a host key; NULL: of every
 * instance, by instance then eth order), each with its network's name. */
struct nic_view {
	struct nic nic;
	char network_name[INSTANCE_NAME_MAX + 1];
};
int network_nic_views(struct db *db, const char *instance, struct nic_view **out, size_t *n,
		      struct err *e);
/* Its NIC on the network with host key network; -ENOENT if none. */
int network_nic_on(struct db *db, const char *instance, const char *network, struct nic *out,
		   struct err *e);
/* Its NIC on network (a host key) has the MAC mac from now on (a NIC
 * hot-plugged into a slot whose MAC the guest had from boot), and the
 * network's DHCP hears of it. */
int network_nic_set_mac(struct db *db, const struct net_ctx *c, const char *instance,
			const char *network, const char *mac, struct err *e);
/* The host-side interface of an instance's NIC idx: prefix and a hash of
 * its key (eth0's as before several networks, so running instances keep
 * theirs), or of KEY/idx. */
void network_nic_ifname(const char *prefix, const char *key, int idx, char out[16]);
/* Its NIC on network (a host key) goes, and the network forgets its name. */
int network_nic_remove(struct db *db, const struct net_ctx *c, const char *instance,
		       const char *network, struct err *e);
/* Its NICs numbered eth0, eth1, ... again in their order, closing the gaps
 * that leaving a network while running left (at a start: nothing is live). */
int network_nics_renumber(struct db *db, const char *instance, struct err *e);
/* Forgets the instance's NICs and its DNS names (the rows go with the instance). */
int network_nic_forget(struct db *db, const struct net_ctx *c, const char *instance,
		       struct err *e);

/* A container NIC's DHCP client (network_dhcp.c): busybox udhcpc in the
 * container's namespace on its ethN, whose hook (dhcp_hook.h) applies the
 * lease; after the first lease it stays in the background to renew it, and
 * releases it when it is stopped.  It runs as nobody with the network
 * capabilities alone, in its own directory inst_dir/dhcp-ethN/ (udhcpc.pid,
 * lease: the hook's report, log). */
struct nic_lease {
	pid_t pid;                 /* udhcpc until its first lease, then 0 */
	int idx;
	uint32_t ip;               /* what the NIC's row says */
	unsigned prefix;
	char network[INSTANCE_NAME_MAX + 1];   /* its name, for messages */
};
struct nic_leases {
	size_t n;
	struct nic_lease v[NICS_MAX];
};
/* Starts udhcpc for nic on n in the namespace inst_dir/netns (its ethN up). */
int network_dhcp_begin(const struct net_ctx *c, const char *inst_dir, const struct network *n,
		       const struct nic *nic, struct nic_lease *out, struct err *e);
/* Waits until each has its lease applied (a few ms; at most DHCP_WAIT_S):
 * -ETIMEDOUT, -EPERM (a lease not the NIC's) or -EIO naming the network
 * and ethN otherwise.  The lock need not be held (service.c waits through
 * the driver's start gate, driver.h, while the runtime makes the container). */
#define DHCP_WAIT_S 5
int network_dhcp_wait(const char *inst_dir, struct nic_leases *l, struct err *e);
/* A start that failed before network_dhcp_wait: the clients' first
 * processes killed and reaped (network_unplug then ends the rest). */
void network_dhcp_abandon(struct nic_leases *l);
/* Stops ethN's DHCP client (it releases its lease), if it runs. */
void network_dhcp_stop(const char *inst_dir, int idx);

/* Before an instance starts: its host side (a netns with eth0 for a
 * container, a TAP for a VM) in inst_dir; nothing for one without a NIC.
 * A container's NICs are then waiting for their leases (*pending): the
 * caller lets go of the lock and calls network_dhcp_wait before the
 * container's process runs, and network_dhcp_abandon and network_unplug
 * if the start fails. */
int network_plug(struct db *db, const struct net_ctx *c, const struct instance *in,
		 const char *inst_dir, struct nic_leases *pending, struct err *e);
/* After it stopped (or failed to start): removes the host side. */
void network_unplug(const struct instance *in, const char *inst_dir);

/*
 * Joining and leaving a network after launch (network_join.c).  in: the
 * instance (its name for messages, its key for the host), running or not.  A
 * stopped instance gets (loses) the NIC at its next start.  A running
 * container gets a veth into its network namespace at once (*now), and
 * loses it at once; a running VM gets its NIC at the next start (virtio-mmio
 * announces no new devices; network_live.h gets it one at once where it
 * can) and cannot leave while it runs (-EBUSY: it would keep using an
 * address given back) unless its NIC was in a hot-plug slot and has been
 * taken out (ejected: network_live_leave).  Leaving is refused while a
 * port forward on the network targets the instance.
 */
int network_join(struct db *db, const struct net_ctx *c, const struct instance *in,
		 const char *inst_dir, bool running, const char *network, bool *now,
		 struct nic_leases *pending, struct err *e);
/* A running container's join leaves its NIC's lease pending: the caller
 * lets go of the lock, calls network_dhcp_wait, and if that fails takes
 * the lock again and calls network_join_undo (the NIC goes, as it came). */
void network_join_undo(struct db *db, const struct net_ctx *c, const struct instance *in,
		       const char *inst_dir, const char *network);
int network_leave(struct db *db, const struct net_ctx *c, const struct instance *in,
		  const char *inst_dir, bool running, bool ejected, const char *network,
		  struct err *e);
/* What network_leave refuses before anything changes: no such network, not
 * on it, a port forward to the instance there. */
int network_leave_check(struct db *db, const struct net_ctx *c, const struct instance *in,
			const char *network, struct err *e);
/* network_plug.c, in named by its key: for a running container, a veth for nic into its
 * namespace inst_dir/netns, its DHCP client begun (pending: 1), and its
 * resolv.conf rewritten for all of its networks; -ENOENT when it has no
 * namespace of its own. */
int network_plug_container_nic(struct db *db, const struct net_ctx *c, const struct instance *in,
			       const char *inst_dir, const struct nic *nic,
			       struct nic_leases *pending, struct err *e);
/* Its resolv.conf, for the networks it is on now. */
int network_write_resolv(struct db *db, const struct net_ctx *c, const struct instance *in,
			 const char *inst_dir, struct err *e);

/* After its instances, rules or forwards changed: the network's dnsmasq
 * files (re-read on SIGHUP) and its nftables table. */
int network_refresh(struct db *db, const struct net_ctx *c, const char *key, struct err *e);

/* Security groups: an instance's ingress rules, replaced as a whole. */
struct ingress_rule {
	char protocol[8];          /* tcp, udp, icmp */
	int port;                  /* 1-65535; 0: every port (and always for icmp) */
	char source[20];           /* CIDR */
};
#define INGRESS_RULES_MAX 64
int network_rules_get(struct db *db, const char *instance, struct ingress_rule *out, size_t *n,
		      struct err *e);
int network_rules_set(struct db *db, const struct net_ctx *c, const char *instance,
		      const struct ingress_rule *v, size_t n, struct err *e);

/* Port forwards: host port (protocol, port) to instance:target_port. */
struct forward {
	char network[INSTANCE_NAME_MAX + 1];   /* its host key */
	char protocol[8];
	int port;
	char instance[INSTANCE_NAME_MAX + 1];
	int target_port;
};
int network_forward_add(struct db *db, const struct net_ctx *c, const struct forward *f,
			struct err *e);
int network_forward_del(struct db *db, const struct net_ctx *c, const struct network *n,
			const char *protocol, int port, struct err *e);
/* n's forwards; each names its instance by name. */
int network_forward_list(struct db *db, const struct network *n, struct forward **out,
			 size_t *count, struct err *e);

/* Interface names (at most 15 characters) derived from a name. */
void network_ifname(const char *prefix, const char *name, char out[16]);

#endif
