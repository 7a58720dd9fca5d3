/*
 * A NIC into a running VM (network_live.h): the TAP made and bridged as at
 * a start (network_plug.c), opened here and handed to the jailed VMM, then
 * the NIC's row takes the MAC the guest has for the slot.
 */
#include "daemon/network_live.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/netlink.h"
#include "daemon/network.h"
#include "daemon/vmm_hotplug.h"

/* Tells the network that ip is at mac now (a gratuitous ARP request, sent
 * from the bridge): a hot-plugged NIC has its slot's MAC, not the one that
 * follows its address, and a peer that spoke to the address's previous
 * holder would otherwise go on sending to that MAC until its neighbour
 * entry failed its probes (seconds, more on a busy host).  Linux updates
 * an entry it has from any ARP naming the address.  Best effort. */
static void announce(const struct network *n, uint32_t ip, const char *mac)
{
	unsigned m[6];
	if (sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return;
	uint8_t f[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	for (int i = 0; i < 6; i++)
		f[6 + i] = f[22 + i] = (uint8_t)m[i];   /* Ethernet source, ARP sender */
	static const uint8_t arp[] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
	memcpy(f + 12, arp, sizeof arp);   /* ARP, Ethernet/IPv4, request */
	uint32_t be = htonl(ip);
	memcpy(f + 28, &be, 4);            /* sender IP = target IP: gratuitous */
	memcpy(f + 38, &be, 4);
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
				  .sll_ifindex = (int)if_nametoindex(n->bridge), .sll_halen = 6 };
	memset(to.sll_addr, 0xff, 6);
	if (fd >= 0 && to.sll_ifindex > 0)
		(void)!sendto(fd, f, sizeof f, 0, (struct sockaddr *)&to, sizeof to);
	if (fd >= 0)
		close(fd);
}

/* Makes the TAP on the bridge and inserts it; the MAC it got in mac. */
static int insert(struct service *s, const struct instance *hv, const struct network *n,
		  const char *tap, char mac[18], struct err *e)
{
	nl_link_del(tap, NULL);
	int rc, fd;
	if ((rc = nl_tap_add(tap, e)) < 0 || (rc = nl_link_set_master(tap, n->bridge, e)) < 0 ||
	    (rc = nl_link_up(tap, e)) < 0)
		return rc;
	if ((fd = nl_tap_open(tap, e)) < 0)
		return fd;
	rc = vmm_nic_insert(service_driver_ctx(s), hv, fd, tap, mac, e);
	close(fd);   /* the VMM has its own copy */
	return rc;
}

int network_live_leave(struct service *s, const struct instance *in, const char *network,
		       struct err *e)
{
	struct instance hv = *in;
	if (in->key[0])
		memcpy(hv.name, in->key, sizeof hv.name);
	struct network n;
	struct nic nic;
	struct db *db = service_lock(s);
	int rc = network_get(db, service_net(s), network, in->project, &n, e);
	if (rc == 0)
		rc = network_nic_on(db, hv.name, n.key, &nic, NULL) < 0 ? 1 : 0;
	service_unlock(s);
	if (rc != 0)
		return rc < 0 ? rc : 0;   /* not on it: network_leave says so */
	struct err ee = { 0 };
	rc = vmm_nic_eject(service_driver_ctx(s), &hv, nic.mac, &ee);
	if (rc == -ENOENT || rc == -ENOTSUP)
		return 0;
	if (rc < 0)
		return err_set(e, rc, "instance \"%s\": its NIC on \"%s\" could not be taken out: %s",
			       in->name, network, ee.msg);
	char tap[16];
	network_nic_ifname("nt", hv.name, nic.idx, tap);
	nl_link_del(tap, NULL);
	return 1;
}

int network_live_join(struct service *s, const struct instance *in, const char *network,
		      char *note, size_t notelen)
{
	struct instance hv = *in;   /* the host knows it by its key */
	if (in->key[0])
		memcpy(hv.name, in->key, sizeof hv.name);
	struct network n;
	struct nic nic;
	struct err e = { 0 };
	struct db *db = service_lock(s);
	int rc = network_get(db, service_net(s), network, in->project, &n, &e);
	if (rc == 0)
		rc = network_nic_on(db, hv.name, n.key, &nic, &e);
	service_unlock(s);
	if (rc < 0) {
		snprintf(note, notelen, "%s", e.msg);
		return 0;
	}
	char tap[16], mac[18];
	network_nic_ifname("nt", hv.name, nic.idx, tap);
	rc = insert(s, &hv, &n, tap, mac, &e);
	if (rc < 0) {
		nl_link_del(tap, NULL);
		/* Its first NIC, and no slot: it has none at all (a VM on no
		 * network started by an older nimbusd). */
		snprintf(note, notelen, "the instance is running and its guest has the NIC from its "
			 "next start (restart it): %s", rc == -ENOSPC && nic.idx == 0
			 ? "it was started with no empty NIC (by an older nimbusd)"
			 : rc == -ENOSPC
			 ? "its empty NIC slots are taken (virtio-mmio announces no new devices, so "
			   "a VM gets its spare NICs at boot: one per network it may still join, up "
			   "to half the board's free slots)"
			 : rc == -ENOTSUP ? "its VMM takes no NIC while it runs (started by an older "
					    "nimbusd)" : e.msg);
		return 0;
	}
	db = service_lock(s);
	rc = network_nic_set_mac(db, service_net(s), hv.name, n.key, mac, &e);
	service_unlock(s);
	if (rc < 0) {
		snprintf(note, notelen, "the guest has the NIC, but DHCP does not know its MAC %s: %s",
			 mac, e.msg);
		return 0;
	}
	announce(&n, nic.ip, mac);
	return 1;
}
