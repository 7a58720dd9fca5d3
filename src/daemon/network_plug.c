/* See network.h: an instance's NIC on the host.  A container's network
 * namespace is made and configured in short-lived forked children (setns
 * and unshare change only the calling process, and the daemon's threads
 * must stay in the host's namespace); each child reports its error through
 * a pipe.  Its NICs' addresses come by DHCP (network_dhcp.c): the caller
 * waits for them without the lock, at a start and at a join alike. */
#include "daemon/network.h"
#include "daemon/fsutil.h"
#include "daemon/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn(arg, e) in a child process; its result and message come back. */
static int in_child(int (*fn)(const void *arg, struct err *e), const void *arg, struct err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(e, -errno, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_set(e, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		struct err ce = { 0 };
		int rc = fn(arg, &ce);
		ce.code = rc;
		(void)!write(p[1], &ce, sizeof ce);
		_exit(rc ? 1 : 0);
	}
	close(p[1]);
	struct err ce = { 0 };
	ssize_t n = read(p[0], &ce, sizeof ce);
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof ce)
		return err_set(e, -EIO, "network setup: the helper process died");
	if (ce.code < 0)
		return err_set(e, ce.code, "%s", ce.msg);
	return 0;
}

static int make_netns(const void *arg, struct err *e)
{
	const char *path = arg;
	if (unshare(CLONE_NEWNET) < 0)
		return err_set(e, -errno, "unshare(CLONE_NEWNET): %s", strerror(errno));
	if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
		return err_set(e, -errno, "%s: bind mount: %s", path, strerror(errno));
	return nl_link_up("lo", e);
}

struct inner {
	const char *netns, *peer;
	char eth[16];         /* its name inside: eth0, eth1, ... */
	uint8_t mac[6];
};

/* Its name and MAC, up; its address comes by DHCP (network_dhcp.c). */
static int configure_inside(const void *arg, struct err *e)
{
	const struct inner *in = arg;
	int fd = open(in->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return err_set(e, -errno, "%s: entering it: %s", in->netns, strerror(errno));
	close(fd);
	int rc;
	if ((rc = nl_link_rename(in->peer, in->eth, e)) < 0 ||
	    (rc = nl_link_set_mac(in->eth, in->mac, e)) < 0)
		return rc;
	return nl_link_up(in->eth, e);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* One veth pair: its host end on n's bridge, its other end ethIDX in netns. */
static int plug_veth(const struct network *n, const struct nic *nic, const char *netns,
		     const char *key, struct err *e)
{
	char host[16], peer[16];
	network_nic_ifname("nv", key, nic->idx, host);
	network_nic_ifname("np", key, nic->idx, peer);
	nl_link_del(host, NULL);   /* what a killed daemon may have left */
	struct inner in = { .netns = netns, .peer = peer };
	snprintf(in.eth, sizeof in.eth, "eth%d", nic->idx);
	int rc = parse_mac(nic->mac, in.mac) < 0
		? err_set(e, -EINVAL, "instance \"%s\": bad MAC %s", key, nic->mac) : 0;
	if (rc == 0 && (rc = nl_veth_add(host, peer, e)) == 0 &&
	    (rc = nl_link_set_master(host, n->bridge, e)) == 0 && (rc = nl_link_up(host, e)) == 0) {
		int nsfd = open(netns, O_RDONLY | O_CLOEXEC);
		rc = nsfd < 0 ? err_set(e, -errno, "%s: %s", netns, strerror(errno))
			      : nl_link_set_netns(peer, nsfd, e);
		if (nsfd >= 0)
			close(nsfd);
	}
	return rc == 0 ? in_child(configure_inside, &in, e) : rc;
}

/* A resolv.conf in the container's own layer naming each network's DNS
 * server (eth0's first): a name on any of its networks resolves.  Written
 * in place, so a running container reads the new one at its next lookup. */
static int write_resolv(const struct network *n, size_t count, const char *dir, struct err *e)
{
	char upper[4200], resolv[4300];
	snprintf(upper, sizeof upper, "%s/upper/etc", dir);
	int rc = mkdir_p(upper, 0755, e);
	if (rc < 0)
		return rc;
	snprintf(resolv, sizeof resolv, "%s/resolv.conf", upper);
	FILE *f = fopen(resolv, "we");
	for (size_t i = 0; f && i < count; i++) {
		char gw[16];
		fprintf(f, "nameserver %s\n", ip_str(subnet_host(&n[i].subnet, 1), gw, sizeof gw));
	}
	if (!f || fclose(f) != 0)
		return err_set(e, -EIO, "%s: cannot write it", resolv);
	return 0;
}

/* A container's network namespace with a veth per NIC, each NIC's DHCP
 * client asking (pending), and its resolv.conf. */
static int plug_container(const struct net_ctx *c, const struct network *n,
			  const struct nic *nics, size_t count, const char *dir, const char *key,
			  struct nic_leases *pending, struct err *e)
{
	char netns[4200];
	snprintf(netns, sizeof netns, "%s/netns", dir);
	int fd = open(netns, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, -errno, "%s: %s", netns, strerror(errno));
	close(fd);
	int rc = in_child(make_netns, netns, e);
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = plug_veth(&n[i], &nics[i], netns, key, e);
	/* All veths first: the clients then ask side by side. */
	for (size_t i = 0; rc == 0 && i < count; i++)
		if ((rc = network_dhcp_begin(c, dir, &n[i], &nics[i], &pending->v[i], e)) == 0)
			pending->n = i + 1;
	return rc == 0 ? write_resolv(n, count, dir, e) : rc;
}

/* A TAP per NIC on its bridge, and the `vm run --net` options for them
 * (inst_dir/nic, a line each, eth0 first) that vmm_client.c hands on. */
static int plug_vm(const struct network *n, const struct nic *nics, size_t count,
		   const char *dir, const char *key, struct err *e)
{
	char path[4200], text[NICS_MAX * 64] = "";
	size_t used = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < count; i++) {
		char tap[16];
		network_nic_ifname("nt", key, nics[i].idx, tap);
		nl_link_del(tap, NULL);
		if ((rc = nl_tap_add(tap, e)) < 0 ||
		    (rc = nl_link_set_master(tap, n[i].bridge, e)) < 0 || (rc = nl_link_up(tap, e)) < 0)
			break;
		used += (size_t)snprintf(text + used, sizeof text - used, "tap,ifname=%s,mac=%s\n", tap,
					 nics[i].mac);
	}
	if (rc < 0)
		return rc;
	snprintf(path, sizeof path, "%s/nic", dir);
	FILE *f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return err_set(e, -EIO, "%s: cannot write it", path);
	return 0;
}

int network_plug(struct db *db, const struct net_ctx *c, const struct instance *in,
		 const char *inst_dir, struct nic_leases *pending, struct err *e)
{
	pending->n = 0;
	struct nic nics[NICS_MAX];
	struct network n[NICS_MAX];
	size_t count = 0;
	/* Nothing of it is live: gaps a run's leaving left close now. */
	int rc = network_nics_renumber(db, in->name, e);
	if (rc < 0)
		return rc;
	if (network_nics(db, in->name, nics, &count, NULL) < 0 || count == 0)
		return 0;
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = network_by_key(db, c, nics[i].network, &n[i], e);
	if (rc == 0)
		rc = mkdir_p(inst_dir, 0700, e);
	if (rc == 0)
		rc = in->kind == KIND_VM ? plug_vm(n, nics, count, inst_dir, in->name, e)
					 : plug_container(c, n, nics, count, inst_dir, in->name,
							  pending, e);
	if (rc < 0) {
		network_dhcp_abandon(pending);   /* the clients begun, and their files: */
		network_unplug(in, inst_dir);
	}
	return rc;
}

/* The networks of in's NICs, eth order. */
static int nic_networks(struct db *db, const struct net_ctx *c, const struct instance *in,
			struct network n[NICS_MAX], size_t *count, struct err *e)
{
	struct nic nics[NICS_MAX];
	int rc = network_nics(db, in->name, nics, count, e);
	for (size_t i = 0; rc == 0 && i < *count; i++)
		rc = network_by_key(db, c, nics[i].network, &n[i], e);
	return rc;
}

int network_write_resolv(struct db *db, const struct net_ctx *c, const struct instance *in,
			 const char *inst_dir, struct err *e)
{
	struct network n[NICS_MAX];
	size_t count = 0;
	int rc = nic_networks(db, c, in, n, &count, e);
	return rc < 0 ? rc : write_resolv(n, count, inst_dir, e);
}

int network_plug_container_nic(struct db *db, const struct net_ctx *c, const struct instance *in,
			       const char *inst_dir, const struct nic *nic,
			       struct nic_leases *pending, struct err *e)
{
	char netns[4200];
	snprintf(netns, sizeof netns, "%s/netns", inst_dir);
	if (access(netns, F_OK) < 0)
		return err_set(e, -ENOENT, "instance \"%s\": started without a network, it has no "
			       "network namespace of nimbus's to join", in->name);
	struct network n;
	int rc = network_by_key(db, c, nic->network, &n, e);
	if (rc == 0)
		rc = plug_veth(&n, nic, netns, in->name, e);
	if (rc == 0 && (rc = network_dhcp_begin(c, inst_dir, &n, nic, &pending->v[0], e)) == 0)
		pending->n = 1;
	if (rc == 0)
		rc = network_write_resolv(db, c, in, inst_dir, e);
	return rc;
}

void network_unplug(const struct instance *in, const char *inst_dir)
{
	char ifname[16], path[4200];
	/* Their DHCP clients release the leases while the veths are there. */
	for (int i = 0; in->kind != KIND_VM && i < NICS_MAX; i++)
		network_dhcp_stop(inst_dir, i);
	for (int i = 0; i < NICS_MAX; i++) {
		network_nic_ifname(in->kind == KIND_VM ? "nt" : "nv", in->name, i, ifname);
		nl_link_del(ifname, NULL);
	}
	snprintf(path, sizeof path, "%s/%s", inst_dir, in->kind == KIND_VM ? "nic" : "netns");
	if (in->kind != KIND_VM)
		umount2(path, MNT_DETACH);   /* the last user gone, the namespace and its eths go */
	unlink(path);
}
