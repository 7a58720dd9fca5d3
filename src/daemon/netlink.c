/* See netlink.h.  Messages follow rtnetlink(7). */
#include "daemon/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <net/if.h>   /* before the linux/ headers, which then skip their copy */
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* libmnl's MNL_SOCKET_BUFFER_SIZE is a sysconf() call; a page is plenty here. */
#define NL_BUF 8192

/* Sends the request and waits for its ACK; the kernel's errno, or 0. */
static int talk(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	int rc = 0;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	unsigned seq = (unsigned)time(NULL);
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	char buf[NL_BUF];
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		rc = -errno;
out:
	mnl_socket_close(nl);
	return rc;
}

static struct ifinfomsg *link_msg(char *buf, int type, unsigned flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)flags;
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	return ifm;
}

static int fail(struct err *e, int rc, const char *what, const char *name)
{
	return err_set(e, rc, "%s %s: %s", what, name, strerror(-rc));
}

static int index_of(const char *name, struct err *e)
{
	unsigned i = if_nametoindex(name);
	if (!i)
		return err_set(e, -ENODEV, "interface %s: no such interface", name);
	return (int)i;
}

int nl_bridge_add(const char *name, struct err *e)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, li);
	int rc = talk(nlh);
	return rc ? fail(e, rc, "creating bridge", name) : 0;
}

int nl_veth_add(const char *name, const char *peer, struct err *e)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *pm = mnl_nlmsg_put_extra_header(nlh, sizeof *pm);
	pm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, li);
	int rc = talk(nlh);
	return rc ? fail(e, rc, "creating veth pair", name) : 0;
}

int nl_tap_add(const char *name, struct err *e)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "creating tap %s: /dev/net/tun: %s", name, strerror(errno));
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	int rc = 0;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0)
		rc = -errno;
	close(fd);
	return rc ? fail(e, rc, "creating tap", name) : 0;
}

int nl_tap_open(const char *name, struct err *e)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "opening tap %s: /dev/net/tun: %s", name, strerror(errno));
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	int hdr = 12;   /* struct virtio_net_hdr with num_buffers (virtio 1.x) */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int rc = -errno;
		close(fd);
		return fail(e, rc, "opening tap", name);
	}
	return fd;
}

struct link_bytes {
	uint64_t rx, tx;
	bool found;
};

static int stats_attr(const struct nlattr *a, void *data)
{
	struct link_bytes *b = data;
	if (mnl_attr_get_type(a) != IFLA_STATS64)
		return MNL_CB_OK;
	struct rtnl_link_stats64 st;
	if (mnl_attr_get_payload_len(a) < sizeof st)
		return MNL_CB_OK;   /* an older kernel's shorter struct: not ours to guess */
	memcpy(&st, mnl_attr_get_payload(a), sizeof st);
	b->rx = st.rx_bytes;
	b->tx = st.tx_bytes;
	b->found = true;
	return MNL_CB_OK;
}

static int stats_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), stats_attr, data);
}

int nl_link_bytes(const char *name, uint64_t *rx, uint64_t *tx, struct err *e)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	link_msg(buf, RTM_GETLINK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return fail(e, -errno, "counters of", name);
	int rc = 0;
	struct link_bytes b = { 0 };
	unsigned seq = (unsigned)time(NULL);
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ssize_t n;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ||
	    (n = mnl_socket_recvfrom(nl, buf, sizeof buf)) < 0 ||
	    mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), stats_msg, &b) < 0)
		rc = -errno;
	mnl_socket_close(nl);
	if (rc == 0 && !b.found)
		rc = -EIO;
	if (rc < 0)
		return rc == -ENODEV ? err_set(e, rc, "interface %s: no such interface", name)
				     : fail(e, rc, "counters of", name);
	*rx = b.rx;
	*tx = b.tx;
	return 0;
}

bool nl_link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

int nl_link_del(const char *name, struct err *e)
{
	char buf[NL_BUF];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	link_msg(buf, RTM_DELLINK, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int rc = talk(nlh);
	if (rc == -ENODEV)
		return 0;
	return rc ? fail(e, rc, "deleting interface", name) : 0;
}

/* An RTM_NEWLINK on an existing link, with one attribute added by fn. */
static int change(const char *name, const char *what, struct err *e,
		  void (*fn)(struct nlmsghdr *, struct ifinfomsg *, const void *), const void *arg)
{
	int idx = index_of(name, e);
	if (idx < 0)
		return idx;
	char buf[NL_BUF];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct ifinfomsg *ifm = link_msg(buf, RTM_NEWLINK, 0);
	ifm->ifi_index = idx;
	fn(nlh, ifm, arg);
	int rc = talk(nlh);
	return rc ? fail(e, rc, what, name) : 0;
}

static void put_master(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)ifm;
	mnl_attr_put_u32(nlh, IFLA_MASTER, *(const uint32_t *)arg);
}

int nl_link_set_master(const char *name, const char *master, struct err *e)
{
	int m = index_of(master, e);
	if (m < 0)
		return m;
	uint32_t mi = (uint32_t)m;
	return change(name, "attaching to its bridge", e, put_master, &mi);
}

static void put_up(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)nlh, (void)arg;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = IFF_UP;
}

int nl_link_up(const char *name, struct err *e)
{
	return change(name, "bringing up", e, put_up, NULL);
}

static void put_mac(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)ifm;
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, arg);
}

int nl_link_set_mac(const char *name, const uint8_t mac[6], struct err *e)
{
	return change(name, "setting the MAC address of", e, put_mac, mac);
}

static void put_name(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)ifm;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, arg);
}

int nl_link_rename(const char *name, const char *to, struct err *e)
{
	return change(name, "renaming", e, put_name, to);
}

static void put_netns(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)ifm;
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)*(const int *)arg);
}

int nl_link_set_netns(const char *name, int nsfd, struct err *e)
{
	return change(name, "moving into a namespace", e, put_netns, &nsfd);
}

/* RTM_NEWADDR or RTM_DELADDR of addr/prefix on name; with lifetime
 * seconds (0: forever) as IFA_CACHEINFO, so the kernel drops an address
 * whose lease was not renewed. */
static int addr_msg(const char *name, int type, unsigned flags, uint32_t addr, unsigned prefix,
		    uint32_t lifetime, const char *what, struct err *e)
{
	int idx = index_of(name, e);
	if (idx < 0)
		return idx;
	char buf[NL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)flags;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_index = (uint32_t)idx;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
	if (lifetime) {
		struct ifa_cacheinfo ci = { .ifa_prefered = lifetime, .ifa_valid = lifetime };
		mnl_attr_put(nlh, IFA_CACHEINFO, sizeof ci, &ci);
	}
	int rc = talk(nlh);
	if (rc == -EADDRNOTAVAIL && type == RTM_DELADDR)
		return 0;   /* not there: nothing to delete */
	return rc ? fail(e, rc, what, name) : 0;
}

int nl_addr_add(const char *name, uint32_t addr, unsigned prefix, struct err *e)
{
	return addr_msg(name, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, addr, prefix, 0,
			"adding an address to", e);
}

int nl_addr_set(const char *name, uint32_t addr, unsigned prefix, uint32_t lifetime,
		struct err *e)
{
	return addr_msg(name, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, addr, prefix, lifetime,
			"setting an address on", e);
}

int nl_addr_del(const char *name, uint32_t addr, unsigned prefix, struct err *e)
{
	return addr_msg(name, RTM_DELADDR, 0, addr, prefix, 0, "removing an address from", e);
}

int nl_route_default(const char *name, uint32_t gw, struct err *e)
{
	int idx = index_of(name, e);
	if (idx < 0)
		return idx;
	char buf[NL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	rtm->rtm_family = AF_INET;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_DHCP;   /* only DHCP sets it (dhcp_hook.h) */
	rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
	int rc = talk(nlh);
	return rc ? fail(e, rc, "adding the default route via", name) : 0;
}
