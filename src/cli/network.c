/*
 * `nimbus network create|list|info|delete|forward|attach|detach`: a
 * project's networks (see docs/cloud.md).  Instances join one with `nimbus
 * launch --network NET`, or later with `network attach`.
 */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus network create NAME [--subnet CIDR] [--nat | --isolated]\n"
	"       nimbus network list [--format table|json]\n"
	"       nimbus network info NAME [--format table|json]\n"
	"       nimbus network delete NAME\n"
	"       nimbus network forward NAME tcp|udp:PORT INSTANCE[:PORT]\n"
	"       nimbus network unforward NAME tcp|udp:PORT\n"
	"       nimbus network forwards NAME [--format table|json]\n"
	"       nimbus network attach INSTANCE NAME\n"
	"       nimbus network detach INSTANCE NAME\n"
	"\n"
	"A network is a bridge on this host with DHCP and DNS (dnsmasq) for the\n"
	"instances on it, which reach each other by name.  --nat masquerades it to\n"
	"the host's uplink; --isolated cuts it off from every other network and the\n"
	"uplink (the gateway, DHCP and DNS still answer).  Without --subnet the first\n"
	"free 10.20.N.0/24 is taken; a subnet must be private and /16 to /29.\n"
	"A network is deleted only when no instance is on it.  `forward` sends a port\n"
	"of the host's addresses to an instance on the network (its port, default the\n"
	"same).  Instances accept traffic from beyond their network only as their\n"
	"rules allow (`nimbus rule`).  `attach` joins an instance to a network after\n"
	"its launch (a NIC with the next free address, its name in the network's DNS):\n"
	"a running container gets the new ethN at once, and so does a running VM\n"
	"(into a spare NIC it boots with: its link comes up, and the default guest\n"
	"leases that ethN's address by DHCP); a stopped instance, a container\n"
	"started on no network or a VM whose spare NICs are taken, at the next\n"
	"start.  `detach` takes the NIC away, at once for a running container, a\n"
	"stopped instance, and a running VM's NIC it got while running (its link\n"
	"drops, and the default guest drops the address); a running VM keeps\n"
	"the NICs it started with until it stops, and a port forward to the\n"
	"instance on that network must go first.\n"
	"\n"
	"Options:\n"
	"  --subnet CIDR    e.g. 10.30.0.0/24; the gateway is its first address\n"
	"  --nat            reach the uplink through NAT\n"
	"  --isolated       reach nothing beyond this network\n"
	"  --project P      host admin only: the owning project at create, else whose\n"
	"                   NAME is meant (default $NIMBUS_PROJECT; names are unique\n"
	"                   per project); a token's project is its own\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket or https:// URL (default $NIMBUS_SOCKET)\n"
	"  --token T        act as token T (default $NIMBUS_TOKEN)\n"
	"  -h, --help       show this help\n";

static void print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);
	printf("%s\n", s ? s : "null");
	cJSON_free(s);
}

static const char *mode(const cJSON *n)
{
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "isolated")))
		return "isolated";
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "nat")) ? "nat" : "routed";
}

/* "tcp:8080" into proto and port; 2 (printed) when it is not one. */
static int parse_hostport(const char *verb, const char *s, char proto[8], long *port)
{
	char *end;
	const char *colon = strchr(s, ':');
	if (colon && (size_t)(colon - s) == 3 && (!strncmp(s, "tcp", 3) || !strncmp(s, "udp", 3))) {
		*port = strtol(colon + 1, &end, 10);
		if (colon[1] && !*end && *port >= 1 && *port <= 65535) {
			snprintf(proto, 8, "%.3s", s);
			return 0;
		}
	}
	cli_error("network %s: %s: expected tcp:PORT or udp:PORT (1-65535)", verb, s);
	return 2;
}

static int forward_verb(const char *verb, const char *sock, const char *project, bool json,
			int nargs, char **args)
{
	bool add = !strcmp(verb, "forward");
	if (nargs != (add ? 3 : 2)) {
		cli_error("network %s: expected NAME %s (try --help)", verb,
			  add ? "tcp|udp:PORT INSTANCE[:PORT]" : "tcp|udp:PORT");
		return 2;
	}
	struct err e = { 0 };
	char proto[8], path[256], what[32], suffix[64];
	long port;
	snprintf(what, sizeof what, "network %s", verb);
	int rc = parse_hostport(verb, args[1], proto, &port);
	if (rc)
		return rc;
	if (!add) {
		snprintf(suffix, sizeof suffix, "/forwards?protocol=%s&port=%ld", proto, port);
		if ((rc = cli_named_path(what, "network", args[0], suffix, project, path,
					 sizeof path)))
			return rc;
		if ((rc = cli_call("network unforward", sock, "DELETE", path, NULL, NULL)) == 0)
			printf("Removed forward %s:%ld on network %s\n", proto, port, args[0]);
		return rc;
	}
	char inst[INSTANCE_NAME_MAX + 1];
	long target = port;
	const char *colon = strchr(args[2], ':');
	snprintf(inst, sizeof inst, "%.*s", (int)(colon ? (size_t)(colon - args[2]) : strlen(args[2])),
		 args[2]);
	if (colon) {
		char *end;
		target = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || target < 1 || target > 65535) {
			cli_error("network forward: %s: expected INSTANCE or INSTANCE:PORT", args[2]);
			return 2;
		}
	}
	if (name_check("instance", inst, &e) < 0) {
		cli_error("network forward: %s", e.msg);
		return 2;
	}
	if ((rc = cli_named_path(what, "network", args[0], "/forwards", project, path,
				 sizeof path)))
		return rc;
	cJSON *body = cJSON_CreateObject(), *reply = NULL;
	cJSON_AddStringToObject(body, "protocol", proto);
	cJSON_AddNumberToObject(body, "port", (double)port);
	cJSON_AddStringToObject(body, "instance", inst);
	cJSON_AddNumberToObject(body, "target_port", (double)target);
	rc = cli_call("network forward", sock, "POST", path, body, &reply);
	cJSON_Delete(body);
	if (rc == 0 && json)
		print_json(reply);
	else if (rc == 0)
		printf("Forwarding %s:%ld to %s:%ld\n", proto, port, inst, target);
	cJSON_Delete(reply);
	return rc;
}

/* attach|detach INSTANCE NAME: POST /1.0/instances/I/networks, DELETE ...?network=N. */
static int join_verb(const char *verb, const char *sock, const char *project, bool json,
		     int nargs, char **args)
{
	if (nargs != 2) {
		cli_error("network %s: expected INSTANCE NAME (try --help)", verb);
		return 2;
	}
	bool attach = !strcmp(verb, "attach");
	struct err e = { 0 };
	if (name_check("network", args[1], &e) < 0) {
		cli_error("network %s: %s", verb, e.msg);
		return 2;
	}
	char path[256], what[32], suffix[96];
	snprintf(what, sizeof what, "network %s", verb);
	snprintf(suffix, sizeof suffix, attach ? "/networks" : "/networks?network=%s", args[1]);
	int rc = cli_named_path(what, "instance", args[0], suffix, project, path, sizeof path);
	if (rc)
		return rc;
	cJSON *body = NULL, *reply = NULL;
	if (attach) {
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "network", args[1]);
	}
	rc = cli_call(what, sock, attach ? "POST" : "DELETE", path, body, &reply);
	cJSON_Delete(body);
	if (rc == 0 && json) {
		print_json(reply);
	} else if (rc == 0 && attach) {
		const char *when = cli_json_str(reply, "takes_effect"), *note = cli_json_str(reply, "note");
		printf("Attached %s to network %s%s%s\n", args[0], args[1],
		       when && !strcmp(when, "now") ? ": it has its NIC now"
		       : note ? ": " : " (from its next start)", note && !(when && !strcmp(when, "now"))
		       ? note : "");
	} else if (rc == 0) {
		printf("Detached %s from network %s\n", args[0], args[1]);
	}
	cJSON_Delete(reply);
	return rc;
}

int cmd_network(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT, OPT_SUBNET, OPT_NAT, OPT_ISOLATED, OPT_PROJECT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "subnet", required_argument, NULL, OPT_SUBNET },
		{ "nat", no_argument, NULL, OPT_NAT },
		{ "isolated", no_argument, NULL, OPT_ISOLATED },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *format = "table", *subnet = NULL, *project = NULL;
	int nat = 0, isolated = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_SUBNET: subnet = optarg; break;
		case OPT_NAT: nat = 1; break;
		case OPT_ISOLATED: isolated = 1; break;
		case OPT_PROJECT: project = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	bool json;
	if (cli_format("network", format, &json))
		return 2;
	if (optind >= argc) {
		cli_error("network: need a verb: create, list, info or delete (try --help)");
		return 2;
	}
	const char *verb = argv[optind++];
	cJSON *reply = NULL;
	int rc;
	if (!strcmp(verb, "list")) {
		if (optind < argc) {
			cli_error("network list: unexpected argument %s", argv[optind]);
			return 2;
		}
		char lpath[128] = "/1.0/networks";
		if (project)   /* the host admin's look at one project */
			snprintf(lpath, sizeof lpath, "/1.0/networks?project=%s", project);
		if ((rc = cli_call("network list", sock, "GET", lpath, NULL, &reply)))
			return rc;
		if (json) {
			print_json(reply);
		} else {
			printf("%-20s %-16s %-18s %-9s %s\n", "NAME", "PROJECT", "SUBNET", "MODE",
			       "INSTANCES");
			const cJSON *n;
			cJSON_ArrayForEach(n, reply)
				printf("%-20s %-16s %-18s %-9s %lld\n", cli_json_str(n, "name"),
				       cli_json_str(n, "project"), cli_json_str(n, "subnet"), mode(n),
				       cli_json_num(n, "instances"));
		}
		cJSON_Delete(reply);
		return 0;
	}
	if (!strcmp(verb, "forward") || !strcmp(verb, "unforward"))
		return forward_verb(verb, sock, project, json, argc - optind, argv + optind);
	if (!strcmp(verb, "attach") || !strcmp(verb, "detach"))
		return join_verb(verb, sock, project, json, argc - optind, argv + optind);
	if (argc - optind != 1) {
		cli_error("network %s: need exactly one NAME (try --help)", verb);
		return 2;
	}
	const char *name = argv[optind];
	char path[256], what[32];
	snprintf(what, sizeof what, "network %s", verb);
	/* create names the project in its body */
	if ((rc = cli_named_path(what, "network", name, NULL,
				 strcmp(verb, "create") ? project : "", path, sizeof path)))
		return rc;
	if (!strcmp(verb, "create")) {
		if (nat && isolated) {
			cli_error("network create: --nat and --isolated exclude each other");
			return 2;
		}
		cJSON *body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "name", name);
		if (subnet)
			cJSON_AddStringToObject(body, "subnet", subnet);
		if (project)
			cJSON_AddStringToObject(body, "project", project);
		cJSON_AddBoolToObject(body, "nat", nat);
		cJSON_AddBoolToObject(body, "isolated", isolated);
		rc = cli_call("network create", sock, "POST", "/1.0/networks", body, &reply);
		cJSON_Delete(body);
		if (rc == 0 && json)
			print_json(reply);
		else if (rc == 0)
			printf("Created network %s (%s, gateway %s, %s)\n", name,
			       cli_json_str(reply, "subnet"), cli_json_str(reply, "gateway"), mode(reply));
		cJSON_Delete(reply);
		return rc;
	}
	if (!strcmp(verb, "info")) {
		if ((rc = cli_call("network info", sock, "GET", path, NULL, &reply)))
			return rc;
		if (json) {
			print_json(reply);
		} else {
			printf("network %s\n  project    %s\n  subnet     %s\n  gateway    %s\n"
			       "  mode       %s\n  bridge     %s\n  instances  %lld\n",
			       name, cli_json_str(reply, "project"), cli_json_str(reply, "subnet"),
			       cli_json_str(reply, "gateway"), mode(reply), cli_json_str(reply, "bridge"),
			       cli_json_num(reply, "instances"));
		}
		cJSON_Delete(reply);
		return 0;
	}
	if (!strcmp(verb, "forwards")) {
		char fpath[256];
		if ((rc = cli_named_path(what, "network", name, "/forwards", project, fpath,
					 sizeof fpath)) ||
		    (rc = cli_call("network forwards", sock, "GET", fpath, NULL, &reply)))
			return rc;
		if (json) {
			print_json(reply);
		} else {
			printf("%-10s %-24s %s\n", "HOST", "INSTANCE", "PORT");
			const cJSON *f;
			cJSON_ArrayForEach(f, reply) {
				char host[32];
				snprintf(host, sizeof host, "%s:%lld", cli_json_str(f, "protocol"),
					 cli_json_num(f, "port"));
				printf("%-10s %-24s %lld\n", host, cli_json_str(f, "instance"),
				       cli_json_num(f, "target_port"));
			}
		}
		cJSON_Delete(reply);
		return 0;
	}
	if (!strcmp(verb, "delete")) {
		if ((rc = cli_call("network delete", sock, "DELETE", path, NULL, NULL)) == 0)
			printf("Deleted network %s\n", name);
		return rc;
	}
	cli_error("network %s: unknown verb (create, list, info, delete, forward, unforward, "
		  "forwards, attach, detach)", verb);
	return 2;
}
