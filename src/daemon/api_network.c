/* The network routes (rows in api.c's table), scoped as api_cloud.h says:
 * a token sees and makes networks of its own project only. */
#include "daemon/api_cloud.h"
#include "daemon/driver.h"
#include "daemon/network.h"
#include "daemon/network_live.h"
#include "daemon/proc.h"
#include "daemon/project.h"
#include "daemon/request_cloud.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *network_json(struct db *db, const struct network *n)
{
	char sub[32], gw[16];
	long long users = 0;
	network_nic_count(db, n->key, &users, NULL);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "name", n->name);
	cJSON_AddStringToObject(j, "project", n->project);
	cJSON_AddStringToObject(j, "subnet", subnet_str(&n->subnet, sub, sizeof sub));
	cJSON_AddStringToObject(j, "gateway", ip_str(subnet_host(&n->subnet, 1), gw, sizeof gw));
	cJSON_AddBoolToObject(j, "nat", n->nat);
	cJSON_AddBoolToObject(j, "isolated", n->isolated);
	cJSON_AddStringToObject(j, "bridge", n->bridge);
	cJSON_AddNumberToObject(j, "dnsmasq_pid", (double)n->dns_pid);
	cJSON_AddNumberToObject(j, "instances", (double)users);
	cJSON_AddNumberToObject(j, "created_at", (double)n->created_at);
	return j;
}

/* One instance's "networks" from views (eth order), those of key. */
static void add_networks(cJSON *instance_json, const struct nic_view *v, size_t n,
			 const char *key)
{
	cJSON *a = cJSON_AddArrayToObject(instance_json, "networks");
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].nic.instance, key))
			continue;
		char ip[16], eth[16];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "network", v[i].network_name);
		cJSON_AddStringToObject(j, "ip", ip_str(v[i].nic.ip, ip, sizeof ip));
		cJSON_AddStringToObject(j, "mac", v[i].nic.mac);
		snprintf(eth, sizeof eth, "eth%d", v[i].nic.idx);
		cJSON_AddStringToObject(j, "interface", eth);
		cJSON_AddItemToArray(a, j);
	}
}

void api_instance_networks(struct service *s, cJSON *instance_json, const char *key)
{
	api_instances_networks(s, instance_json, &key, 1);
}

void api_instances_networks(struct service *s, cJSON *json, const char *const *keys, size_t n)
{
	struct nic_view *v = NULL;
	size_t count = 0;
	struct db *db = service_lock(s);
	/* one query for a list, however long */
	int rc = network_nic_views(db, n == 1 ? keys[0] : NULL, &v, &count, NULL);
	service_unlock(s);
	if (rc < 0)
		count = 0;
	if (n == 1 && cJSON_IsObject(json)) {
		add_networks(json, v, count, keys[0]);
	} else {
		cJSON *item = json ? json->child : NULL;
		for (size_t i = 0; i < n && item; i++, item = item->next)
			add_networks(item, v, count, keys[i]);
	}
	free(v);
}

static int fail(struct api_resp *out, const struct err *e)
{
	api_error_from(out, e);
	return 0;
}

API_HANDLER(api_network_list)
{
	(void)name;
	struct err e = { 0 };
	struct network *v;
	size_t n;
	struct db *db = service_lock(s);
	int rc = network_list(db, service_net(s), api_scope(r), &v, &n, &e);
	if (rc < 0) {
		service_unlock(s);
		return fail(out, &e);
	}
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(out->json, network_json(db, &v[i]));
	service_unlock(s);
	free(v);
	return 0;
}

API_HANDLER(api_network_create)
{
	(void)name;
	struct err e = { 0 };
	struct network_req nr;
	if (request_parse_network(r->body, r->body_len, &nr, &e) < 0)
		return fail(out, &e);
	const char *own = r->who && !r->who->host_admin ? r->who->project : NULL;
	if (own && nr.project[0] && strcmp(nr.project, own)) {
		err_set(&e, -ENOENT, "project \"%s\": no such project", nr.project);
		return fail(out, &e);
	}
	if (!nr.project[0])
		snprintf(nr.project, sizeof nr.project, "%s", own ? own : PROJECT_DEFAULT);
	struct network n;
	struct db *db = service_lock(s);
	int rc = network_create(db, service_net(s), &nr, &n, &e);
	if (rc == 0) {
		out->status = 201;
		out->json = network_json(db, &n);
	}
	service_unlock(s);
	return rc < 0 ? fail(out, &e) : 0;
}

API_HANDLER(api_network_get)
{
	struct err e = { 0 };
	struct network n;
	struct db *db = service_lock(s);
	int rc = network_get(db, service_net(s), name, api_scope(r), &n, &e);
	if (rc == 0) {
		out->status = 200;
		out->json = network_json(db, &n);
	}
	service_unlock(s);
	return rc < 0 ? fail(out, &e) : 0;
}

API_HANDLER(api_network_delete)
{
	struct err e = { 0 };
	struct network n;
	if (request_parse_empty(r->body, r->body_len, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = network_get(db, service_net(s), name, api_scope(r), &n, &e);
	if (rc == 0 || rc == -EIO)   /* a network whose host side is broken can still go */
		rc = network_delete(db, service_net(s), n.key, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}

API_HANDLER(api_rules_get)
{
	(void)r;
	struct err e = { 0 };
	struct instance in;
	struct ingress_rule v[INGRESS_RULES_MAX];
	size_t n = 0;
	if (service_get(s, name, &in, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = network_rules_get(db, name, v, &n, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(out->json, "rules");
	for (size_t i = 0; i < n; i++) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "protocol", v[i].protocol);
		if (strcmp(v[i].protocol, "icmp"))
			cJSON_AddNumberToObject(j, "port", v[i].port);
		cJSON_AddStringToObject(j, "source", v[i].source);
		cJSON_AddItemToArray(a, j);
	}
	return 0;
}

API_HANDLER(api_rules_put)
{
	struct err e = { 0 };
	struct instance in;
	struct ingress_rule v[INGRESS_RULES_MAX];
	size_t n;
	if (request_parse_rules(r->body, r->body_len, v, &n, &e) < 0 ||
	    service_get(s, name, &in, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = network_rules_set(db, service_net(s), name, v, n, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	return api_rules_get(s, r, name, out);
}

static cJSON *forward_json(const struct network *n, const struct forward *f)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "network", n->name);
	cJSON_AddStringToObject(j, "protocol", f->protocol);
	cJSON_AddNumberToObject(j, "port", f->port);
	cJSON_AddStringToObject(j, "instance", f->instance);
	cJSON_AddNumberToObject(j, "target_port", f->target_port);
	return j;
}

API_HANDLER(api_forward_list)
{
	struct err e = { 0 };
	struct network n;
	struct forward *v = NULL;
	size_t count = 0;
	struct db *db = service_lock(s);
	int rc = network_get(db, service_net(s), name, api_scope(r), &n, &e);
	if (rc == 0)
		rc = network_forward_list(db, &n, &v, &count, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateArray();
	for (size_t i = 0; i < count; i++)
		cJSON_AddItemToArray(out->json, forward_json(&n, &v[i]));
	free(v);
	return 0;
}

API_HANDLER(api_forward_add)
{
	struct err e = { 0 };
	struct forward f;
	struct network n;
	if (request_parse_forward(r->body, r->body_len, &f, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = network_get(db, service_net(s), name, api_scope(r), &n, &e);
	if (rc == 0) {
		snprintf(f.network, sizeof f.network, "%s", n.key);
		rc = network_forward_add(db, service_net(s), &f, &e);
	}
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 201;
	out->json = forward_json(&n, &f);
	return 0;
}

API_HANDLER(api_forward_delete)
{
	struct err e = { 0 };
	struct network n;
	const char *proto = r->query ? r->query(r->q, "protocol") : NULL;
	const char *port = r->query ? r->query(r->q, "port") : NULL;
	char *end = NULL;
	long p = port ? strtol(port, &end, 10) : 0;
	if (!proto || (strcmp(proto, "tcp") && strcmp(proto, "udp")) || !port || *end || p < 1 ||
	    p > 65535) {
		err_set(&e, -EINVAL, "query: expected protocol=tcp|udp and port=1..65535");
		return fail(out, &e);
	}
	if (request_parse_empty(r->body, r->body_len, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = network_get(db, service_net(s), name, api_scope(r), &n, &e);
	if (rc == 0)
		rc = network_forward_del(db, service_net(s), &n, proto, (int)p, &e);
	service_unlock(s);
	if (rc < 0)
		return fail(out, &e);
	out->status = 200;
	out->json = cJSON_CreateObject();
	return 0;
}

/* POST /1.0/instances/NAME/networks {"network"} joins a network, DELETE
 * ...?network=NET leaves one (network_join, network_leave); the reply is
 * the instance's networks and, for a join, when the guest has the NIC. */
static int join_or_leave(struct service *s, const struct api_req *r, const char *name,
			 const char *network, bool join, struct api_resp *out)
{
	struct err e = { 0 };
	struct instance in;
	char dir[4096];
	if (service_get(s, name, &in, &e) < 0 ||
	    instance_path(service_driver_ctx(s), name, NULL, dir, sizeof dir, &e) < 0)
		return fail(out, &e);
	struct db *db = service_lock(s);
	int rc = db_instance_get(db, name, &in, &e);
	bool running = rc == 0 && in.state == STATE_RUNNING &&
		       proc_alive((pid_t)in.pid, in.pid_start), now = false;
	/* A running VM leaves a network it joined while running at once: its
	 * NIC sits in a hot-plug slot, which the VMM empties (its link drops)
	 * before the address is given back. */
	bool ejected = false;
	if (rc == 0 && !join && running && in.kind == KIND_VM &&
	    (rc = network_leave_check(db, service_net(s), &in, network, &e)) == 0) {
		service_unlock(s);
		rc = network_live_leave(s, &in, network, &e);
		ejected = rc == 1;
		db = service_lock(s);
		if (rc >= 0)
			rc = db_instance_get(db, name, &in, &e);
	}
	struct nic_leases pending = { 0 };
	if (rc == 0)
		rc = join ? network_join(db, service_net(s), &in, dir, running, network, &now,
					 &pending, &e)
			  : network_leave(db, service_net(s), &in, dir, running, ejected, network, &e);
	service_unlock(s);
	/* A running container's new NIC: its lease, without the lock (at most
	 * DHCP_WAIT_S when the network's dnsmasq does not answer). */
	if (rc == 0 && pending.n && (rc = network_dhcp_wait(dir, &pending, &e)) < 0) {
		db = service_lock(s);
		network_join_undo(db, service_net(s), &in, dir, network);
		service_unlock(s);
	}
	if (rc < 0)
		return fail(out, &e);
	char note[600] = "";
	if (join && running && !now && in.kind == KIND_VM)
		now = network_live_join(s, &in, network, note, sizeof note) == 1;
	(void)r;
	out->status = 200;
	out->json = cJSON_CreateObject();
	cJSON_AddStringToObject(out->json, "name", in.name);
	api_instance_networks(s, out->json, name);
	if (join) {
		cJSON_AddStringToObject(out->json, "takes_effect", now ? "now" : "next_start");
		if (running && !now)
			cJSON_AddStringToObject(out->json, "note", in.kind == KIND_VM
				? note
				: "the instance is running without a network namespace of nimbus's "
				  "(it was started on no network): it joins at its next start (restart it)");
	}
	return 0;
}

API_HANDLER(api_instance_network_join)
{
	struct err e = { 0 };
	char net[INSTANCE_NAME_MAX + 1];
	if (request_parse_one_name(r->body, r->body_len, "network", "network", net, &e) < 0)
		return fail(out, &e);
	return join_or_leave(s, r, name, net, true, out);
}

API_HANDLER(api_instance_network_leave)
{
	struct err e = { 0 };
	const char *net = r->query ? r->query(r->q, "network") : NULL;
	if (!net) {
		err_set(&e, -EINVAL, "query: expected network=NAME");
		return fail(out, &e);
	}
	if (name_check("network", net, &e) < 0 ||
	    request_parse_empty(r->body, r->body_len, &e) < 0)
		return fail(out, &e);
	return join_or_leave(s, r, name, net, false, out);
}
