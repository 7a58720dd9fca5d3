/*
 * `nimbus network create|list|info|delete`: a project's networks (see
 * docs/cloud.md).  Instances join one with `nimbus launch --network NET`.
 */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus network create NAME [--subnet CIDR] [--nat | --isolated]\n"
	"       nimbus network list [--format table|json]\n"
	"       nimbus network info NAME [--format table|json]\n"
	"       nimbus network delete NAME\n"
	"\n"
	"A network is a bridge on this host with DHCP and DNS (dnsmasq) for the\n"
	"instances on it, which reach each other by name.  --nat masquerades it to\n"
	"the host's uplink; --isolated cuts it off from every other network and the\n"
	"uplink (the gateway, DHCP and DNS still answer).  Without --subnet the first\n"
	"free 10.20.N.0/24 is taken; a subnet must be private and /16 to /29.\n"
	"A network is deleted only when no instance is on it.\n"
	"\n"
	"Options:\n"
	"  --subnet CIDR    e.g. 10.30.0.0/24; the gateway is its first address\n"
	"  --nat            reach the uplink through NAT\n"
	"  --isolated       reach nothing beyond this network\n"
	"  --project P      the owning project (host admin only; a token's is its own)\n"
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
	if (strcmp(format, "table") && strcmp(format, "json")) {
		cli_error("network: --format %s: expected table or json", format);
		return 2;
	}
	bool json = !strcmp(format, "json");
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
		if ((rc = cli_call("network list", sock, "GET", "/1.0/networks", NULL, &reply)))
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
	if (argc - optind != 1) {
		cli_error("network %s: need exactly one NAME (try --help)", verb);
		return 2;
	}
	const char *name = argv[optind];
	struct err e = { 0 };
	if (name_check("network", name, &e) < 0) {
		cli_error("network %s: %s", verb, e.msg);
		return 2;
	}
	char path[128];
	snprintf(path, sizeof path, "/1.0/networks/%s", name);
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
	if (!strcmp(verb, "delete")) {
		if ((rc = cli_call("network delete", sock, "DELETE", path, NULL, NULL)) == 0)
			printf("Deleted network %s\n", name);
		return rc;
	}
	cli_error("network %s: unknown verb (create, list, info, delete)", verb);
	return 2;
}
