/*
 * `nimbus project create|list|info|quota|delete`: the projects that own
 * instances, and their quotas.  Creating, deleting and setting quotas is
 * the host admin's (the Unix socket without a token); a token sees its own
 * project only.
 */
#include "cli/cli.h"
#include "daemon/instance.h"
#include "daemon/quota.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/size.h"

static const char usage[] =
	"Usage: nimbus project create NAME [QUOTA=VALUE...]\n"
	"       nimbus project list [--format table|json]\n"
	"       nimbus project info NAME [--format table|json]\n"
	"       nimbus project quota NAME QUOTA=VALUE...\n"
	"       nimbus project delete NAME\n"
	"\n"
	"Projects own instances; tokens (`nimbus token`) act within one project.\n"
	"QUOTA is instances, cpus, memory, disk or networks; VALUE a number, a size for\n"
	"memory and disk (4G), or unlimited.  A new project may hold 10 instances,\n"
	"20 vCPUs, 50G of memory, 1T of disk and 10 networks unless told otherwise.\n"
	"A project is deleted only when it owns nothing; its tokens go with it.\n"
	"\n"
	"Options:\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket or https:// URL (default $NIMBUS_SOCKET)\n"
	"  --token T        act as token T (default $NIMBUS_TOKEN)\n"
	"  -h, --help       show this help\n";

static int parse_quotas(int argc, char **argv, cJSON *into)
{
	for (int i = 0; i < argc; i++) {
		enum quota_kind k;
		long long v;
		struct err e = { 0 };
		if (quota_parse_assignment(argv[i], &k, &v, &e) < 0) {
			cli_error("project: %s", e.msg);
			return 2;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(into, quota_name(k));
		cJSON_AddNumberToObject(into, quota_name(k), (double)v);
	}
	return 0;
}

static const char *amount(const cJSON *o, const char *key, bool size, char *buf, size_t len)
{
	long long v = cli_json_num(o, key);
	if (v < 0)
		return "unlimited";
	if (size)
		return format_size((uint64_t)v, buf, len);
	snprintf(buf, len, "%lld", v);
	return buf;
}

static void print_info(const cJSON *p)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(p, "quota");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(p, "usage");
	printf("project %s\n", cli_json_str(p, "name"));
	printf("  %-10s %-12s %s\n", "QUOTA", "USED", "LIMIT");
	for (int k = 0; k < QUOTA_N; k++) {
		const char *n = quota_name((enum quota_kind)k);
		char a[32], b[32];
		bool size = quota_is_size((enum quota_kind)k);
		printf("  %-10s %-12s %s\n", n, amount(u, n, size, a, sizeof a),
		       amount(q, n, size, b, sizeof b));
	}
}

static void print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);
	printf("%s\n", s ? s : "null");
	cJSON_free(s);
}

int cmd_project(int argc, char **argv)
{
	const char *sock, *verb;
	bool json;
	int rc0 = cli_subverb("project", usage, "create, list, info, quota or delete", argc, argv,
			      &sock, &json, &verb);
	if (rc0 >= 0)
		return rc0;
	int nargs = argc - optind;
	char **args = argv + optind;
	char path[160];
	cJSON *reply = NULL;
	int rc;
	if (!strcmp(verb, "list")) {
		if (nargs) {
			cli_error("project list: unexpected argument %s", args[0]);
			return 2;
		}
		if ((rc = cli_call("project list", sock, "GET", "/1.0/projects", NULL, &reply)))
			return rc;
		if (json) {
			print_json(reply);
		} else {
			printf("%-24s %-10s %-10s %s\n", "NAME", "INSTANCES", "CPUS", "MEMORY");
			const cJSON *p;
			cJSON_ArrayForEach(p, reply) {
				const cJSON *u = cJSON_GetObjectItemCaseSensitive(p, "usage");
				const cJSON *q = cJSON_GetObjectItemCaseSensitive(p, "quota");
				char a[32], b[32], x[32], y[32], m[32], l[32];
				char ins[80], cpu[80], mem[80];
				snprintf(ins, sizeof ins, "%s/%s", amount(u, "instances", false, a, sizeof a),
					 amount(q, "instances", false, b, sizeof b));
				snprintf(cpu, sizeof cpu, "%s/%s", amount(u, "cpus", false, x, sizeof x),
					 amount(q, "cpus", false, y, sizeof y));
				snprintf(mem, sizeof mem, "%s/%s", amount(u, "memory", true, m, sizeof m),
					 amount(q, "memory", true, l, sizeof l));
				printf("%-24s %-10s %-10s %s\n", cli_json_str(p, "name"), ins, cpu, mem);
			}
		}
		cJSON_Delete(reply);
		return 0;
	}
	if (nargs < 1) {
		cli_error("project %s: need a project NAME (try --help)", verb);
		return 2;
	}
	const char *name = args[0];
	struct err e = { 0 };
	if (name_check("project", name, &e) < 0) {
		cli_error("project %s: %s", verb, e.msg);
		return 2;
	}
	snprintf(path, sizeof path, "/1.0/projects/%s", name);
	if (!strcmp(verb, "create") || !strcmp(verb, "quota")) {
		bool create = !strcmp(verb, "create");
		if (!create && nargs < 2) {
			cli_error("project quota: need at least one QUOTA=VALUE (instances, cpus, memory, "
				  "disk, networks)");
			return 2;
		}
		cJSON *q = cJSON_CreateObject();
		if ((rc = parse_quotas(nargs - 1, args + 1, q))) {
			cJSON_Delete(q);
			return rc;
		}
		cJSON *body = q;
		if (create) {
			body = cJSON_CreateObject();
			cJSON_AddStringToObject(body, "name", name);
			if (q->child)
				cJSON_AddItemToObject(body, "quota", q);
			else
				cJSON_Delete(q);
			rc = cli_call("project create", sock, "POST", "/1.0/projects", body, &reply);
		} else {
			char qpath[192];
			snprintf(qpath, sizeof qpath, "%s/quota", path);
			rc = cli_call("project quota", sock, "PATCH", qpath, body, &reply);
		}
		cJSON_Delete(body);
		if (rc == 0 && json)
			print_json(reply);
		else if (rc == 0 && create)
			printf("Created project %s\n", name);
		else if (rc == 0)
			print_info(reply);
		cJSON_Delete(reply);
		return rc;
	}
	if (nargs > 1) {
		cli_error("project %s: unexpected argument %s", verb, args[1]);
		return 2;
	}
	if (!strcmp(verb, "info")) {
		if ((rc = cli_call("project info", sock, "GET", path, NULL, &reply)))
			return rc;
		if (json)
			print_json(reply);
		else
			print_info(reply);
		cJSON_Delete(reply);
		return 0;
	}
	if (!strcmp(verb, "delete")) {
		if ((rc = cli_call("project delete", sock, "DELETE", path, NULL, NULL)) == 0)
			printf("Deleted project %s\n", name);
		return rc;
	}
	cli_error("project %s: unknown verb (create, list, info, quota, delete)", verb);
	return 2;
}
