/* See network.h.  This file: the rows, the bridge, the nftables table and
 * dnsmasq.  network_plug.c: an instance's NIC on the host. */
#include "daemon/network.h"
#include "daemon/fsutil.h"
#include "daemon/host_key.h"
#include "daemon/netlink.h"
#include "daemon/proc.h"
#include "daemon/project.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void network_ifname(const char *prefix, const char *name, char out[16])
{
	uint32_t h = 2166136261u;   /* FNV-1a: stable across daemons and hosts */
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, 16, "%.2s%08x", prefix, h);
}

#define NET_COLS \
	"host_key, project, subnet, nat, isolated, bridge, dns_pid, dns_pid_start, created_at, name"

static void read_net(sqlite3_stmt *st, struct network *n)
{
	memset(n, 0, sizeof *n);
	char sub[32];
	db_copy_text(n->key, sizeof n->key, st, 0);
	db_copy_text(n->project, sizeof n->project, st, 1);
	db_copy_text(sub, sizeof sub, st, 2);
	subnet_parse(sub, &n->subnet, NULL);
	n->nat = sqlite3_column_int(st, 3);
	n->isolated = sqlite3_column_int(st, 4);
	db_copy_text(n->bridge, sizeof n->bridge, st, 5);
	n->dns_pid = sqlite3_column_int64(st, 6);
	n->dns_start = sqlite3_column_int64(st, 7);
	n->created_at = sqlite3_column_int64(st, 8);
	db_copy_text(n->name, sizeof n->name, st, 9);
}

static void read_net_row(sqlite3_stmt *st, void *item)
{
	read_net(st, item);
}

static int net_rows(struct db *db, const char *project, struct network **out, size_t *n,
		    struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " NET_COLS " FROM networks WHERE ?1 IS NULL OR project = ?1 "
			 "ORDER BY name, project", &st, e);
	if (rc < 0)
		return rc;
	if (project)
		sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
	void *items;
	rc = db_collect(db, st, sizeof **out, read_net_row, &items, n, "listing networks", e);
	if (rc == 0)
		*out = items;
	return rc;
}

/* The network whose host key is key. */
static int net_row(struct db *db, const char *key, struct network *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT " NET_COLS " FROM networks WHERE host_key = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	char thing[96];
	snprintf(thing, sizeof thing, "network \"%s\"", key);
	return db_one(db, st, read_net_row, out, thing, "network", e);
}

/* The network name of project (NULL: the one of that name on the host). */
static int net_named(struct db *db, const char *name, const char *project, struct network *out,
		     struct err *e)
{
	char key[INSTANCE_NAME_MAX + 1];
	int rc = host_key_find(db, "networks", "network", project, name, key, sizeof key, e);
	return rc < 0 ? rc : net_row(db, key, out, e);
}

static int set_dns_pid(struct db *db, const struct network *n, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "UPDATE networks SET dns_pid = ?2, dns_pid_start = ?3 WHERE host_key = ?1",
			 &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, n->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n->dns_pid);
	sqlite3_bind_int64(st, 3, n->dns_start);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "updating a network");
	sqlite3_finalize(st);
	return rc;
}

static void net_dir(const struct net_ctx *c, const struct network *n, const char *leaf, char *buf,
		    size_t len)
{
	snprintf(buf, len, "%s/networks/%s%s%s", c->state_dir, n->key, leaf ? "/" : "",
		 leaf ? leaf : "");
}

/* ---- the host side ------------------------------------------------------ */

static int nft(const char *cmd, const char *what, struct err *e)
{
	struct nft_ctx *n = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n)
		return err_set(e, -ENOMEM, "%s: libnftables: out of memory", what);
	nft_ctx_buffer_output(n);
	nft_ctx_buffer_error(n);
	int rc = nft_run_cmd_from_buffer(n, cmd);
	if (rc != 0) {
		const char *msg = nft_ctx_get_error_buffer(n);
		char first[200];
		snprintf(first, sizeof first, "%s", msg ? msg : "");
		first[strcspn(first, "\n")] = 0;
		rc = err_set(e, -EIO, "%s: nftables: %s", what, first[0] ? first : "refused");
	}
	nft_ctx_free(n);
	return rc;
}

static void table_name(const struct network *n, char *buf, size_t len)
{
	snprintf(buf, len, "nimbus_%s", n->bridge);
}

/* The network's table, replaced whole in one transaction (no moment
 * without it): isolation, security groups (default deny of ingress from
 * beyond the bridge; traffic inside it is bridged and never filtered
 * here), port forwards and NAT.  Rule data comes from the database, where
 * the API checked every field; nothing a request sent is pasted unchecked. */
static int nft_apply(struct db *db, const struct network *n, struct err *e)
{
	char t[32], sub[32], gw[16], what[96];
	table_name(n, t, sizeof t);
	subnet_str(&n->subnet, sub, sizeof sub);
	ip_str(subnet_host(&n->subnet, 1), gw, sizeof gw);
	snprintf(what, sizeof what, "network \"%s\"", n->name);
	const char *br = n->bridge;
	char *cmd = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&cmd, &len);
	if (!f)
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	fprintf(f, "add table inet %s\ndelete table inet %s\ntable inet %s {\n", t, t, t);
	fprintf(f, " chain forward {\n  type filter hook forward priority 0; policy accept;\n"
		"  ct state established,related accept\n"
		"  oifname \"%s\" ct status dnat accept\n", br);
	if (n->isolated)
		fprintf(f, "  iifname \"%s\" oifname != \"%s\" drop\n", br, br);
	sqlite3_stmt *st = NULL;
	int rc = db_prepare(db, "SELECT n.ip, r.protocol, r.port, r.source FROM ingress_rules r "
			 "JOIN nics n ON n.instance = r.instance WHERE n.network = ?1 "
			 "ORDER BY n.ip, r.protocol, r.port", &st, e);
	if (rc == 0 && !n->isolated) {
		sqlite3_bind_text(st, 1, n->key, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char ip[16], proto[8], src[40];
			ip_str((uint32_t)sqlite3_column_int64(st, 0), ip, sizeof ip);
			db_copy_text(proto, sizeof proto, st, 1);
			int port = sqlite3_column_int(st, 2);
			db_copy_text(src, sizeof src, st, 3);
			fprintf(f, "  oifname \"%s\" ip daddr %s ip saddr %s ", br, ip, src);
			if (!strcmp(proto, "icmp"))
				fprintf(f, "ip protocol icmp accept\n");
			else if (port)
				fprintf(f, "%s dport %d accept\n", proto, port);
			else
				fprintf(f, "ip protocol %s accept\n", proto);
		}
	}
	sqlite3_finalize(st);
	fprintf(f, "  oifname \"%s\" iifname != \"%s\" drop\n }\n", br, br);
	if (n->isolated)
		fprintf(f, " chain input {\n  type filter hook input priority 0; policy accept;\n"
			"  iifname \"%s\" ip daddr != { %s, 255.255.255.255 } drop\n }\n", br, gw);
	/* Port forwards: to a local address of the host, from outside
	 * (prerouting) and from the host itself (output). */
	char *fw = NULL;
	size_t fwlen = 0;
	FILE *g = open_memstream(&fw, &fwlen);
	if (rc == 0 && g &&
	    (rc = db_prepare(db, "SELECT f.protocol, f.port, n.ip, f.target_port FROM forwards f "
			  "JOIN nics n ON n.instance = f.instance WHERE f.network = ?1 "
			  "ORDER BY f.protocol, f.port", &st, e)) == 0) {
		sqlite3_bind_text(st, 1, n->key, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char proto[8], ip[16];
			db_copy_text(proto, sizeof proto, st, 0);
			ip_str((uint32_t)sqlite3_column_int64(st, 2), ip, sizeof ip);
			fprintf(g, "  fib daddr type local %s dport %d dnat ip to %s:%d\n", proto,
				sqlite3_column_int(st, 1), ip, sqlite3_column_int(st, 3));
		}
		sqlite3_finalize(st);
	}
	if (g)
		fclose(g);
	fprintf(f, " chain prerouting {\n  type nat hook prerouting priority -100; policy accept;\n"
		"%s }\n chain output {\n  type nat hook output priority -100; policy accept;\n%s }\n",
		fw ? fw : "", fw ? fw : "");
	free(fw);
	fprintf(f, " chain postrouting {\n  type nat hook postrouting priority 100; policy accept;\n");
	if (n->nat && !n->isolated)
		fprintf(f, "  ip saddr %s oifname != \"%s\" masquerade\n", sub, br);
	fprintf(f, " }\n}\n");
	if (fclose(f) != 0 || !cmd) {
		free(cmd);
		return err_set(e, -ENOMEM, "%s: out of memory", what);
	}
	if (rc == 0)
		rc = nft(cmd, what, e);
	free(cmd);
	return rc;
}

static void nft_remove(const struct network *n)
{
	char t[32], cmd[128];
	table_name(n, t, sizeof t);
	snprintf(cmd, sizeof cmd, "add table inet %s\ndelete table inet %s\n", t, t);
	nft(cmd, "network", NULL);
}

static int write_text(const char *path, const char *text, struct err *e)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return err_set(e, -errno, "%s: %s", tmp, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		int rc = -errno;
		unlink(tmp);
		return err_set(e, rc, "%s: cannot write it", path);
	}
	return 0;
}

/* A lease in dnsmasq's leases file (EXPIRY MAC IP NAME CLIENTID a line). */
struct lease {
	char mac[18], ip[16];
};

/* The leases in path, in *out (to free); how many (0 without the file). */
static size_t read_leases(const char *path, struct lease **out)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char *line = NULL;
	size_t cap = 0, n = 0, room = 0;
	while (getline(&line, &cap, f) > 0) {
		struct lease l;
		if (sscanf(line, "%*s %17s %15s", l.mac, l.ip) != 2)
			continue;
		if (n == room) {
			room = room ? 2 * room : 64;
			struct lease *more = realloc(*out, room * sizeof **out);
			if (!more)
				break;
			*out = more;
		}
		(*out)[n++] = l;
	}
	free(line);
	fclose(f);
	return n;
}

/* The MAC that holds ip's lease when it is not mac and no NIC on the network
 * has it now ("" else).  A NIC's MAC follows its address, so a recycled
 * address comes back to the MAC that held it; a NIC hot-plugged into a
 * running VM has its slot's MAC instead, and the VM's guest releases
 * nothing when the VM is deleted.  dnsmasq refuses an address leased to
 * another MAC until that lease ends (an hour) unless the host's entry names
 * that MAC too: it then abandons the lease to whichever of them asks. */
static const char *stale_holder(const struct lease *l, size_t nl, sqlite3_stmt *mine,
				const char *ip, const char *mac)
{
	for (size_t i = 0; i < nl; i++) {
		if (strcmp(l[i].ip, ip) || !strcasecmp(l[i].mac, mac))
			continue;
		sqlite3_reset(mine);
		sqlite3_bind_text(mine, 2, l[i].mac, -1, SQLITE_STATIC);
		if (sqlite3_step(mine) != SQLITE_ROW)
			return l[i].mac;
	}
	return "";
}

/* dnsmasq's two files from the NICs: MAC[,STALE MAC],IP,NAME for DHCP and
 * IP NAME for DNS. */
static int write_hosts(struct db *db, const struct net_ctx *c, const struct network *n,
		       struct err *e)
{
	sqlite3_stmt *st, *mine;
	/* nics are keyed by host key; DNS and DHCP know instances by name
	 * (unique on the network: a network is one project's). */
	int rc = db_prepare(db, "SELECT i.name, n.ip, n.mac FROM nics n JOIN instances i ON "
			 "i.host_key = n.instance WHERE n.network = ?1 ORDER BY n.ip", &st, e);
	if (rc < 0)
		return rc;
	if ((rc = db_prepare(db, "SELECT 1 FROM nics WHERE network = ?1 AND mac = ?2 COLLATE "
			     "NOCASE", &mine, e)) < 0) {
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_bind_text(st, 1, n->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(mine, 1, n->key, -1, SQLITE_STATIC);
	char path[4200];
	net_dir(c, n, "leases", path, sizeof path);
	struct lease *leases;
	size_t nleases = read_leases(path, &leases);
	size_t cap = 4096, dl = 0, hl = 0;
	char *dhcp = calloc(1, cap), *hosts = calloc(1, cap);
	while (dhcp && hosts && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char name[INSTANCE_NAME_MAX + 1], mac[18], ip[16];
		db_copy_text(name, sizeof name, st, 0);
		ip_str((uint32_t)sqlite3_column_int64(st, 1), ip, sizeof ip);
		db_copy_text(mac, sizeof mac, st, 2);
		const char *stale = stale_holder(leases, nleases, mine, ip, mac);
		if (dl + 160 > cap || hl + 160 > cap) {
			cap *= 2;
			char *a = realloc(dhcp, cap), *b = a ? realloc(hosts, cap) : NULL;
			if (a)
				dhcp = a;
			if (b)
				hosts = b;
			if (!a || !b)
				break;
		}
		dl += (size_t)sprintf(dhcp + dl, "%s%s%s,%s,%s\n", mac, *stale ? "," : "", stale, ip,
				      name);
		hl += (size_t)sprintf(hosts + hl, "%s %s\n", ip, name);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(mine);
	free(leases);
	if (!dhcp || !hosts || (rc != SQLITE_DONE && rc != SQLITE_ROW)) {
		rc = err_set(e, -ENOMEM, "network \"%s\": cannot list its instances", n->name);
	} else {
		net_dir(c, n, "dhcp-hosts", path, sizeof path);
		rc = write_text(path, dhcp, e);
		net_dir(c, n, "hosts", path, sizeof path);
		if (rc == 0)
			rc = write_text(path, hosts, e);
	}
	free(dhcp);
	free(hosts);
	return rc;
}

static bool dns_alive(const struct network *n)
{
	return n->dns_pid > 0 && proc_alive((pid_t)n->dns_pid, n->dns_start);
}

static int dns_start(struct db *db, const struct net_ctx *c, struct network *n, struct err *e)
{
	if (dns_alive(n))
		return 0;
	char dir[4200], iface[64], range[96], hostsfile[4300], addn[4300], leases[4300], pidf[4300];
	char logp[4300], gw[16], mask[16], base[16];
	net_dir(c, n, NULL, dir, sizeof dir);
	ip_str(subnet_host(&n->subnet, 1), gw, sizeof gw);
	ip_str(n->subnet.base, base, sizeof base);
	ip_str(~0u << (32 - n->subnet.prefix), mask, sizeof mask);
	snprintf(iface, sizeof iface, "--interface=%s", n->bridge);
	/* static: addresses only for the MACs in dhcp-hosts, so a guest's
	 * address is the one the daemon chose (and its DNS name points at). */
	snprintf(range, sizeof range, "--dhcp-range=%s,static,%s,1h", base, mask);
	snprintf(hostsfile, sizeof hostsfile, "--dhcp-hostsfile=%s/dhcp-hosts", dir);
	snprintf(addn, sizeof addn, "--addn-hosts=%s/hosts", dir);
	snprintf(leases, sizeof leases, "--dhcp-leasefile=%s/leases", dir);
	snprintf(pidf, sizeof pidf, "--pid-file=%s/dnsmasq.pid", dir);
	snprintf(logp, sizeof logp, "%s/dnsmasq.log", dir);
	char *argv[] = { (char *)c->dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null",
			 "--log-facility=-", "--user=root", "--group=root", "--bind-interfaces",
			 iface, "--except-interface=lo", "--no-hosts", range, hostsfile, addn,
			 leases, pidf, "--dhcp-authoritative", "--strict-order",
			 n->isolated || !n->nat ? "--no-resolv" : "--domain-needed", NULL };
	struct spawn_opts o = { .log_path = logp, .keep_fd = -1, .new_session = true };
	pid_t pid;
	char pidpath[4300];
	snprintf(pidpath, sizeof pidpath, "%s/dnsmasq.pid", dir);
	unlink(pidpath);
	int rc = proc_spawn(argv, &o, &pid, e);
	if (rc < 0)
		return rc;
	long long start = proc_start_time(pid);
	/* dnsmasq checks its options and binds its sockets, then writes its pid
	 * file: serving once that is there; an exit before it is a refusal
	 * whose reason is in its log. */
	struct stat pst;
	for (int i = 0; i < 500 && proc_alive(pid, start) && stat(pidpath, &pst) != 0; i++)
		usleep(2000);
	if (!proc_alive(pid, start)) {
		char buf[512] = "";
		read_file(logp, buf, sizeof buf);
		buf[strcspn(buf, "\n")] = 0;
		return err_set(e, -EIO, "network \"%s\": dnsmasq ended at once: %s", n->name,
			       buf[0] ? buf : "(no message)");
	}
	n->dns_pid = pid;
	n->dns_start = start;
	return set_dns_pid(db, n, e);
}

static void dns_stop(struct network *n)
{
	if (dns_alive(n)) {
		kill((pid_t)n->dns_pid, SIGTERM);
		if (!proc_wait_gone((pid_t)n->dns_pid, n->dns_start, 3000))
			kill((pid_t)n->dns_pid, SIGKILL);
		proc_wait_gone((pid_t)n->dns_pid, n->dns_start, 3000);
	}
	n->dns_pid = n->dns_start = 0;
}

/* Makes whatever of the network's host side is missing; idempotent. */
static int host_up(struct db *db, const struct net_ctx *c, struct network *n, struct err *e)
{
	char dir[4200];
	net_dir(c, n, NULL, dir, sizeof dir);
	int rc = mkdir_p(dir, 0700, e);
	if (rc < 0)
		return rc;
	if (!nl_link_exists(n->bridge)) {
		/* A bridge takes the lowest MAC of its ports unless given one: it
		 * would change as instances come and go, and the others' ARP
		 * entries for the gateway (their DNS server) would go stale. */
		uint32_t h = (uint32_t)strtoul(n->bridge + 2, NULL, 16);
		uint8_t mac[6] = { 0x52, 0x54, 0x01, (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h };
		if ((rc = nl_bridge_add(n->bridge, e)) < 0 ||
		    (rc = nl_link_set_mac(n->bridge, mac, e)) < 0 ||
		    (rc = nl_addr_add(n->bridge, htonl(subnet_host(&n->subnet, 1)), n->subnet.prefix,
				      e)) < 0 ||
		    (rc = nl_link_up(n->bridge, e)) < 0)
			return rc;
	}
	if ((rc = nft_apply(db, n, e)) < 0)
		return rc;
	/* Routing between networks and out through NAT needs forwarding on, as
	 * libvirt turns it on for its NAT networks. */
	if (!n->isolated) {
		FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "we");
		if (f) {
			fputs("1\n", f);
			fclose(f);
		}
	}
	if ((rc = write_hosts(db, c, n, e)) < 0)
		return rc;
	return dns_start(db, c, n, e);
}

static void host_down(const struct net_ctx *c, struct network *n)
{
	dns_stop(n);
	nft_remove(n);
	nl_link_del(n->bridge, NULL);
	char dir[4200], path[4300];
	net_dir(c, n, NULL, dir, sizeof dir);
	static const char *const files[] = { "dhcp-hosts", "hosts", "leases", "dnsmasq.pid",
					     "dnsmasq.log", NULL };
	for (const char *const *f = files; *f; f++) {
		snprintf(path, sizeof path, "%s/%s", dir, *f);
		unlink(path);
	}
	rmdir(dir);
}

/* ---- the API's operations ----------------------------------------------- */

static int pick_subnet(struct network *all, size_t n, const struct network_req *r,
		       struct subnet *out, struct err *e)
{
	char a[32], b[32];
	if (r->has_subnet) {
		for (size_t i = 0; i < n; i++) {
			if (!subnet_overlap(&r->subnet, &all[i].subnet))
				continue;
			subnet_str(&r->subnet, a, sizeof a);
			/* Subnets are the host's; another project's network is
			 * not named (no existence leak beyond the address range). */
			if (strcmp(all[i].project, r->project))
				return err_set(e, -EEXIST, "subnet %s: overlaps a subnet in use on "
					       "this host", a);
			return err_set(e, -EEXIST, "subnet %s: overlaps network \"%s\" (%s)", a,
				       all[i].name, subnet_str(&all[i].subnet, b, sizeof b));
		}
		*out = r->subnet;
		return 0;
	}
	for (uint32_t k = 0; k < 256; k++) {
		struct subnet s = { 0x0a140000u | (k << 8), 24 };   /* 10.20.k.0/24 */
		bool used = false;
		for (size_t i = 0; i < n && !used; i++)
			used = subnet_overlap(&s, &all[i].subnet);
		if (!used) {
			*out = s;
			return 0;
		}
	}
	return err_set(e, -ENOSPC, "network \"%s\": no free 10.20.N.0/24 left; give --subnet",
		       r->name);
}

int network_create(struct db *db, const struct net_ctx *c, const struct network_req *r,
		   struct network *out, struct err *e)
{
	struct quota need = { { [QUOTA_NETWORKS] = 1 } };
	int rc = project_admit(db, r->project, &need, e);
	if (rc < 0)
		return rc;
	struct network n;
	char key[INSTANCE_NAME_MAX + 1];
	if (host_key_find(db, "networks", "network", r->project, r->name, key, sizeof key,
			  NULL) == 0)
		return err_set(e, -EEXIST, "network \"%s\": already exists", r->name);
	struct network *all;
	size_t count;
	if ((rc = net_rows(db, NULL, &all, &count, e)) < 0)
		return rc;
	memset(&n, 0, sizeof n);
	n.nat = r->nat;
	n.isolated = r->isolated;
	rc = pick_subnet(all, count, r, &n.subnet, e);
	snprintf(n.name, sizeof n.name, "%s", r->name);
	snprintf(n.project, sizeof n.project, "%s", r->project);
	if (rc == 0)
		rc = host_key_pick(db, "networks", n.name, n.key, sizeof n.key, e);
	network_ifname("nb", n.key, n.bridge);
	for (size_t i = 0; rc == 0 && i < count; i++)
		if (!strcmp(all[i].bridge, n.bridge))
			rc = err_set(e, -EEXIST, "network \"%s\": its bridge name %s is taken on this "
				     "host; choose another name", n.name, n.bridge);
	free(all);
	if (rc < 0)
		return rc;
	if (nl_link_exists(n.bridge))
		return err_set(e, -EEXIST, "network \"%s\": an interface %s exists already on this "
			       "host", n.name, n.bridge);
	n.created_at = (long long)time(NULL);
	sqlite3_stmt *st;
	char sub[32];
	if ((rc = db_prepare(db, "INSERT INTO networks (" NET_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
			  "0, 0, ?7, ?8)", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, n.key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, n.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n.project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, subnet_str(&n.subnet, sub, sizeof sub), -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, n.nat);
	sqlite3_bind_int(st, 5, n.isolated);
	sqlite3_bind_text(st, 6, n.bridge, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, n.created_at);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "saving a network");
	sqlite3_finalize(st);
	if (rc < 0)
		return rc;
	if ((rc = host_up(db, c, &n, e)) < 0) {
		host_down(c, &n);
		network_delete(db, c, n.key, NULL);
		return rc;
	}
	*out = n;
	return 0;
}

int network_nic_count(struct db *db, const char *key, long long *out, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT count(*) FROM nics WHERE network = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : db_sql_err(db, e, "counting a network's instances");
	*out = rc == 0 ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc;
}

int network_delete(struct db *db, const struct net_ctx *c, const char *key, struct err *e)
{
	struct network n;
	long long users;
	int rc;
	if ((rc = net_row(db, key, &n, e)) < 0 ||
	    (rc = network_nic_count(db, key, &users, e)) < 0)
		return rc;
	if (users)
		return err_set(e, -EBUSY, "network \"%s\": %lld instance%s on it (delete them first)",
			       n.name, users, users == 1 ? " is" : "s are");
	host_down(c, &n);
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "DELETE FROM networks WHERE host_key = ?1", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting a network");
	sqlite3_finalize(st);
	return rc;
}

int network_get(struct db *db, const struct net_ctx *c, const char *name, const char *project,
		struct network *out, struct err *e)
{
	int rc = net_named(db, name, project, out, e);
	if (rc == 0 && !dns_alive(out))
		rc = host_up(db, c, out, e);   /* supervision: a dnsmasq that died comes back */
	return rc;
}

int network_by_key(struct db *db, const struct net_ctx *c, const char *key,
		   struct network *out, struct err *e)
{
	int rc = net_row(db, key, out, e);
	if (rc == 0 && !dns_alive(out))
		rc = host_up(db, c, out, e);
	return rc;
}

int network_list(struct db *db, const struct net_ctx *c, const char *project,
		 struct network **out, size_t *n, struct err *e)
{
	int rc = net_rows(db, project, out, n, e);
	for (size_t i = 0; rc == 0 && i < *n; i++)
		if (!dns_alive(&(*out)[i]))
			rc = host_up(db, c, &(*out)[i], e);
	if (rc < 0 && *out) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int network_reconcile(struct db *db, const struct net_ctx *c, struct err *e)
{
	struct network *v;
	size_t n;
	int rc = net_rows(db, NULL, &v, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = host_up(db, c, &v[i], e);
	if (rc == 0)
		free(v);
	else if (v)
		free(v);
	return rc;
}

int network_refresh(struct db *db, const struct net_ctx *c, const char *key, struct err *e)
{
	struct network n;
	int rc = net_row(db, key, &n, e);
	if (rc == 0)
		rc = write_hosts(db, c, &n, e);
	if (rc == 0)
		rc = nft_apply(db, &n, e);
	if (rc == 0 && dns_alive(&n))
		kill((pid_t)n.dns_pid, SIGHUP);   /* dnsmasq re-reads both files on SIGHUP */
	return rc;
}

void network_nic_ifname(const char *prefix, const char *key, int idx, char out[16])
{
	char name[INSTANCE_NAME_MAX + 8];
	snprintf(name, sizeof name, idx ? "%s/%d" : "%s", key, idx);
	network_ifname(prefix, name, out);
}

int network_nic_add(struct db *db, const struct net_ctx *c, const char *instance,
		    const char *project, const char *network, struct err *e)
{
	struct network n;
	struct nic have[NICS_MAX];
	size_t count;
	int rc = net_named(db, network, project, &n, e);
	if (rc < 0 || (rc = network_nics(db, instance, have, &count, e)) < 0)
		return rc;
	for (size_t i = 0; i < count; i++)
		if (!strcmp(have[i].network, n.key))
			return err_set(e, -EEXIST, "network \"%s\": named twice (an instance joins a "
				       "network once)", network);
	if (count == NICS_MAX)
		return err_set(e, -E2BIG, "network \"%s\": at most %d networks per instance",
			       network, NICS_MAX);
	/* Its eth: the lowest index free (a running container that left a
	 * network keeps a gap until its next start, network_nics_renumber). */
	int idx = 0;
	for (bool taken = true; taken; idx += taken) {
		taken = false;
		for (size_t i = 0; i < count; i++)
			taken |= have[i].idx == idx;
	}
	/* The lowest free address after the gateway. */
	sqlite3_stmt *st;
	if ((rc = db_prepare(db, "SELECT ip FROM nics WHERE network = ?1 ORDER BY ip", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, n.key, -1, SQLITE_STATIC);
	uint32_t ip = subnet_host(&n.subnet, 2);
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint32_t used = (uint32_t)sqlite3_column_int64(st, 0);
		if (used == ip)
			ip++;
		else if (used > ip)
			break;
	}
	sqlite3_finalize(st);
	if (ip > subnet_host(&n.subnet, subnet_hosts(&n.subnet)) || ip < n.subnet.base)
		return err_set(e, -ENOSPC, "network \"%s\": no free address left", network);
	/* The MAC follows from the address (QEMU's and libvirt's 52:54:00 prefix,
	 * then the address's low 24 bits): unique on the network, and an address
	 * given again (after its instance was deleted) comes with the MAC that
	 * dnsmasq still holds a lease for, so the new instance gets it at once
	 * instead of being refused until the old lease runs out. */
	char mac[18];
	snprintf(mac, sizeof mac, "52:54:00:%02x:%02x:%02x", (ip >> 16) & 255, (ip >> 8) & 255,
		 ip & 255);
	if ((rc = db_prepare(db, "INSERT INTO nics (instance, network, ip, mac, idx) VALUES (?1, ?2, "
			  "?3, ?4, ?5)", &st, e)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n.key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ip);
	sqlite3_bind_text(st, 4, mac, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, idx);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "saving a NIC");
	sqlite3_finalize(st);
	return rc == 0 ? network_refresh(db, c, n.key, e) : rc;
}

int network_nic_set_mac(struct db *db, const struct net_ctx *c, const char *instance,
			const char *network, const char *mac, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "UPDATE nics SET mac = ?3 WHERE instance = ?1 AND network = ?2",
			    &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, mac, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "saving a NIC's MAC");
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(db_sqlite(db)) != 1)
		rc = err_set(e, -ENOENT, "instance \"%s\": no NIC on that network", instance);
	return rc == 0 ? network_refresh(db, c, network, e) : rc;
}

static void read_nic(sqlite3_stmt *st, struct nic *out)
{
	db_copy_text(out->instance, sizeof out->instance, st, 0);
	db_copy_text(out->network, sizeof out->network, st, 1);
	out->ip = (uint32_t)sqlite3_column_int64(st, 2);
	db_copy_text(out->mac, sizeof out->mac, st, 3);
	out->idx = sqlite3_column_int(st, 4);
}

static void read_nic_view(sqlite3_stmt *st, void *item)
{
	struct nic_view *v = item;
	read_nic(st, &v->nic);
	db_copy_text(v->network_name, sizeof v->network_name, st, 5);
}

int network_nic_views(struct db *db, const char *instance, struct nic_view **out, size_t *n,
		      struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "SELECT n.instance, n.network, n.ip, n.mac, n.idx, w.name FROM nics n "
			    "JOIN networks w ON w.host_key = n.network WHERE ?1 IS NULL OR "
			    "n.instance = ?1 ORDER BY n.instance, n.idx", &st, e);
	if (rc < 0)
		return rc;
	if (instance)
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	void *items;
	rc = db_collect(db, st, sizeof **out, read_nic_view, &items, n, "listing NICs", e);
	if (rc == 0)
		*out = items;
	return rc;
}

int network_nics(struct db *db, const char *instance, struct nic out[NICS_MAX], size_t *n,
		 struct err *e)
{
	sqlite3_stmt *st;
	*n = 0;
	int rc = db_prepare(db, "SELECT instance, network, ip, mac, idx FROM nics WHERE instance = ?1 "
			 "ORDER BY idx", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	while (*n < NICS_MAX && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_nic(st, &out[(*n)++]);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_sql_err(db, e, "reading NICs");
	return 0;
}

int network_nic_get(struct db *db, const char *instance, struct nic *out, struct err *e)
{
	struct nic v[NICS_MAX];
	size_t n;
	int rc = network_nics(db, instance, v, &n, e);
	if (rc < 0)
		return rc;
	if (n == 0)
		return err_set(e, -ENOENT, "instance \"%s\": no NIC", instance);
	*out = v[0];
	return 0;
}

int network_nic_on(struct db *db, const char *instance, const char *network, struct nic *out,
		   struct err *e)
{
	struct nic v[NICS_MAX];
	size_t n;
	int rc = network_nics(db, instance, v, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (!strcmp(v[i].network, network)) {
			*out = v[i];
			return 0;
		}
	return rc < 0 ? rc : err_set(e, -ENOENT, "instance \"%s\": not on that network", instance);
}

int network_nic_forget(struct db *db, const struct net_ctx *c, const char *instance,
		       struct err *e)
{
	struct nic v[NICS_MAX];
	size_t n;
	if (network_nics(db, instance, v, &n, NULL) < 0 || n == 0)
		return 0;
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM nics WHERE instance = ?1", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting a NIC");
	sqlite3_finalize(st);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = network_refresh(db, c, v[i].network, e);
	return rc;
}

int network_nic_remove(struct db *db, const struct net_ctx *c, const char *instance,
		       const char *network, struct err *e)
{
	sqlite3_stmt *st;
	int rc = db_prepare(db, "DELETE FROM nics WHERE instance = ?1 AND network = ?2", &st, e);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, network, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "deleting a NIC");
	sqlite3_finalize(st);
	return rc == 0 ? network_refresh(db, c, network, e) : rc;
}

int network_nics_renumber(struct db *db, const char *instance, struct err *e)
{
	/* Through negatives, so no step makes two NICs share an index. */
	static const char *const sql[] = {
		"UPDATE nics SET idx = -1 - (SELECT count(*) FROM nics o WHERE o.instance = "
		"nics.instance AND o.idx < nics.idx) WHERE instance = ?1",
		"UPDATE nics SET idx = -1 - idx WHERE instance = ?1",
	};
	for (int i = 0; i < 2; i++) {
		sqlite3_stmt *st;
		int rc = db_prepare(db, sql[i], &st, e);
		if (rc < 0)
			return rc;
		sqlite3_bind_text(st, 1, instance, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_sql_err(db, e, "numbering NICs");
		sqlite3_finalize(st);
		if (rc < 0)
			return rc;
	}
	return 0;
}
