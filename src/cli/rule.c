/*
 * `nimbus rule list|add|delete INSTANCE ...`: an instance's security group,
 * the ingress it accepts from beyond its own network (everything from its
 * network is always accepted; everything else is dropped unless a rule lets
 * it in).  The daemon keeps the list whole (PUT /1.0/instances/NAME/rules);
 * add and delete read it, change it, and write it back.
 */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus rule list INSTANCE [--format table|json]\n"
	"       nimbus rule add INSTANCE tcp|udp:PORT|icmp [--from CIDR]\n"
	"       nimbus rule delete INSTANCE tcp|udp:PORT|icmp [--from CIDR]\n"
	"\n"
	"Ingress rules of an instance on a network: traffic from its own network is\n"
	"always let in; from anywhere else (other networks, the uplink) only what a\n"
	"rule allows.  PORT 0 means every port.  --from defaults to 0.0.0.0/0.\n"
	"\n"
	"Options:\n"
	"  --from CIDR      the sources the rule lets in\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket or https:// URL (default $NIMBUS_SOCKET)\n"
	"  --token T        act as token T (default $NIMBUS_TOKEN)\n"
	"  -h, --help       show this help\n";

/* "tcp:80" / "icmp" into a rule object (without source); NULL (printed). */
static cJSON *parse_rule(const char *verb, const char *s)
{
	cJSON *r = cJSON_CreateObject();
	if (!strcmp(s, "icmp")) {
		cJSON_AddStringToObject(r, "protocol", "icmp");
		return r;
	}
	char *end;
	long port = -1;
	if ((!strncmp(s, "tcp:", 4) || !strncmp(s, "udp:", 4)) && s[4]) {
		port = strtol(s + 4, &end, 10);
		if (*end)
			port = -1;
	}
	if (port < 0 || port > 65535) {
		cli_error("rule %s: %s: expected tcp:PORT, udp:PORT (0-65535, 0: all) or icmp", verb, s);
		cJSON_Delete(r);
		return NULL;
	}
	char proto[4];
	snprintf(proto, sizeof proto, "%.3s", s);
	cJSON_AddStringToObject(r, "protocol", proto);
	cJSON_AddNumberToObject(r, "port", (double)port);
	return r;
}

static bool same_rule(const cJSON *a, const cJSON *b)
{
	return !strcmp(cli_json_str(a, "protocol"), cli_json_str(b, "protocol")) &&
	       cli_json_num(a, "port") == cli_json_num(b, "port") &&
	       !strcmp(cli_json_str(a, "source"), cli_json_str(b, "source"));
}

int cmd_rule(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT, OPT_FROM };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *format = "table", *from = "0.0.0.0/0";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_FROM: from = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	bool json;
	if (cli_format("rule", format, &json))
		return 2;
	if (argc - optind < 2) {
		cli_error("rule: need a verb (list, add, delete) and an INSTANCE (try --help)");
		return 2;
	}
	const char *verb = argv[optind], *inst = argv[optind + 1];
	bool list = !strcmp(verb, "list"), add = !strcmp(verb, "add"), del = !strcmp(verb, "delete");
	if (!list && !add && !del) {
		cli_error("rule %s: unknown verb (list, add, delete)", verb);
		return 2;
	}
	if (argc - optind != (list ? 2 : 3)) {
		cli_error("rule %s: expected INSTANCE%s (try --help)", verb, list ? "" : " RULE");
		return 2;
	}
	char path[128];
	int rc = cli_instance_path("rule", inst, "/rules", path, sizeof path);
	if (rc)
		return rc;
	cJSON *want = NULL;
	if (!list) {
		if (!(want = parse_rule(verb, argv[optind + 2])))
			return 2;
		cJSON_AddStringToObject(want, "source", from);
	}
	cJSON *reply = NULL;
	if ((rc = cli_call("rule", sock, "GET", path, NULL, &reply))) {
		cJSON_Delete(want);
		return rc;
	}
	cJSON *rules = cJSON_GetObjectItemCaseSensitive(reply, "rules");
	if (list) {
		if (json) {
			char *s = cJSON_Print(reply);
			printf("%s\n", s ? s : "{}");
			cJSON_free(s);
		} else {
			printf("%-8s %-6s %s\n", "PROTO", "PORT", "FROM");
			const cJSON *r;
			cJSON_ArrayForEach(r, rules) {
				char port[16] = "-";
				if (strcmp(cli_json_str(r, "protocol"), "icmp"))
					snprintf(port, sizeof port, "%lld", cli_json_num(r, "port"));
				printf("%-8s %-6s %s\n", cli_json_str(r, "protocol"),
				       cli_json_num(r, "port") || !strcmp(port, "-") ? port : "all",
				       cli_json_str(r, "source"));
			}
		}
		cJSON_Delete(reply);
		return 0;
	}
	cJSON *r = rules ? rules->child : NULL;
	bool found = false;
	while (r) {
		cJSON *next = r->next;
		if (same_rule(r, want)) {
			found = true;
			if (del)
				cJSON_Delete(cJSON_DetachItemViaPointer(rules, r));
		}
		r = next;
	}
	if (del && !found) {
		cli_error("rule delete: instance \"%s\" has no rule %s from %s", inst,
			  argv[optind + 2], from);
		cJSON_Delete(want);
		cJSON_Delete(reply);
		return 1;
	}
	if (add && !found)
		cJSON_AddItemToArray(rules, want);
	else
		cJSON_Delete(want);
	rc = cli_call("rule", sock, "PUT", path, reply, NULL);
	cJSON_Delete(reply);
	if (rc == 0)
		printf("%s rule %s from %s on %s\n", add ? "Added" : "Deleted", argv[optind + 2], from,
		       inst);
	return rc;
}
