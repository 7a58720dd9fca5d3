/*
 * `nimbus profile list|show|create|set|delete`: named bundles of an
 * instance's configuration (cpus, memory, network, disks) that `nimbus
 * launch --profile NAME` applies; `default` is applied to every launch that
 * names none.  Changing profiles is the host admin's.
 */
#include "cli/cli.h"
#include "daemon/disks.h"
#include "daemon/instance.h"
#include "daemon/request.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus profile list [--format table|json]\n"
	"       nimbus profile show NAME [--format table|json]\n"
	"       nimbus profile create NAME [KEY=VALUE...]\n"
	"       nimbus profile set NAME KEY=VALUE...\n"
	"       nimbus profile delete NAME\n"
	"\n"
	"A profile is a named bundle of configuration that `nimbus launch --profile\n"
	"NAME IMAGE INSTANCE` copies into the new instance, where the launch gives no\n"
	"value of its own (--cpus, --memory, --network win).  The profile `default`\n"
	"is applied to every launch that names none; it starts empty and cannot be\n"
	"deleted.  Changing a profile changes no instance launched before; `nimbus\n"
	"config set` changes an instance.\n"
	"\n"
	"Keys (set: `KEY=` or `KEY=none` unsets one):\n"
	"  cpus=N            vCPUs (a container's CPU limit), 1 to 8\n"
	"  memory=SIZE       memory, e.g. 512M or 2G\n"
	"  network=NET       the network its instances join\n"
	"  disk.D=SIZE       a VM disk named D of SIZE (e.g. 10G), 4 at most; set\n"
	"                    disk.D=none removes it\n"
	"  description=TEXT  one line saying what it is for\n"
	"\n"
	"Options:\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket or https:// URL (default $NIMBUS_SOCKET)\n"
	"  -h, --help       show this help\n";

/* KEY=VALUE arguments into a ProfileRequest body; 2 (printed) for a bad one. */
static int parse_keys(const char *verb, int argc, char **argv, bool create, cJSON *body)
{
	cJSON *disks = NULL;
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i]) {
			cli_error("profile %s: %s: expected KEY=VALUE (try --help)", verb, argv[i]);
			return 2;
		}
		char key[80];
		snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]) < 79 ? (int)(eq - argv[i]) : 79,
			 argv[i]);
		const char *v = eq + 1;
		bool unset = !*v || !strcmp(v, "none");
		struct err e = { 0 };
		if (unset && create) {
			cli_error("profile create: %s: give a value (a new profile has nothing to unset)",
				  argv[i]);
			return 2;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(body, key);
		if (!strcmp(key, "cpus")) {
			char *end;
			long n = unset ? 0 : strtol(v, &end, 10);
			if (!unset && (*end || n < 1 || n > INSTANCE_CPUS_MAX)) {
				cli_error("profile %s: cpus=%s: expected a whole number from 1 to %d", verb,
					  v, INSTANCE_CPUS_MAX);
				return 2;
			}
			cJSON_AddItemToObject(body, "cpus", unset ? cJSON_CreateNull()
								  : cJSON_CreateNumber((double)n));
		} else if (!strcmp(key, "memory")) {
			long long mib;
			if (!unset && request_parse_size_mib("memory=", v, &mib, &e) < 0) {
				cli_error("profile %s: %s", verb, e.msg);
				return 2;
			}
			cJSON_AddItemToObject(body, "memory", unset ? cJSON_CreateNull()
								    : cJSON_CreateString(v));
		} else if (!strcmp(key, "network")) {
			if (!unset && name_check("network", v, &e) < 0) {
				cli_error("profile %s: %s", verb, e.msg);
				return 2;
			}
			cJSON_AddItemToObject(body, "network", unset ? cJSON_CreateNull()
								     : cJSON_CreateString(v));
		} else if (!strcmp(key, "description")) {
			cJSON_AddStringToObject(body, "description", unset ? "" : v);
		} else if (!strncmp(key, "disk.", 5)) {
			long long mib;
			char what[128];
			snprintf(what, sizeof what, "%s=", key);
			if (name_check("disk", key + 5, &e) < 0 ||
			    (!unset && disk_size_parse(what, v, false, &mib, &e) < 0)) {
				cli_error("profile %s: %s", verb, e.msg);
				return 2;
			}
			if (!disks)
				disks = cJSON_AddObjectToObject(body, "disks");
			cJSON_DeleteItemFromObjectCaseSensitive(disks, key + 5);
			cJSON_AddItemToObject(disks, key + 5, unset ? cJSON_CreateNull()
								    : cJSON_CreateString(v));
		} else {
			cli_error("profile %s: %s: unknown key (cpus, memory, network, disk.NAME, "
				  "description)", verb, key);
			return 2;
		}
	}
	return 0;
}

static void print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);
	printf("%s\n", s ? s : "null");
	cJSON_free(s);
}

/* "cpus=2 memory=512M disk.data=10240M": what the profile sets. */
static void summary(const cJSON *p, char *buf, size_t len)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(p, "config");
	size_t used = 0;
	buf[0] = 0;
	long long cpus = cli_json_num(cfg, "cpus"), mem = cli_json_num(cfg, "memory_mib");
	const char *net = cli_json_str(cfg, "network");
	if (cpus)
		used += (size_t)snprintf(buf + used, len - used, "cpus=%lld ", cpus);
	if (mem && used < len)
		used += (size_t)snprintf(buf + used, len - used, "memory=%lldM ", mem);
	if (*net && used < len)
		used += (size_t)snprintf(buf + used, len - used, "network=%s ", net);
	const cJSON *d;
	cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(cfg, "disks"))
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "disk.%s=%.0fM ", d->string,
						 d->valuedouble);
	if (used && used < len)
		buf[used - 1] = 0;
}

int cmd_profile(int argc, char **argv)
{
	const char *sock, *verb;
	bool json;
	int rc0 = cli_subverb("profile", usage, "list, show, create, set or delete", argc, argv,
			      &sock, &json, &verb);
	if (rc0 >= 0)
		return rc0;
	int nargs = argc - optind;
	char **args = argv + optind;
	char path[160], what[64];
	snprintf(what, sizeof what, "profile %.20s", verb);
	cJSON *reply = NULL, *body = NULL;
	int rc;
	if (!strcmp(verb, "list")) {
		if (nargs) {
			cli_error("profile list: unexpected argument %s", args[0]);
			return 2;
		}
		if ((rc = cli_call(what, sock, "GET", "/1.0/profiles", NULL, &reply)))
			return rc;
		if (json) {
			print_json(reply);
		} else {
			printf("%-20s %-40s %s\n", "NAME", "CONFIG", "DESCRIPTION");
			const cJSON *p;
			cJSON_ArrayForEach(p, reply) {
				char s[512];
				summary(p, s, sizeof s);
				printf("%-20s %-40s %s\n", cli_json_str(p, "name"), *s ? s : "-",
				       cli_json_str(p, "description"));
			}
		}
		cJSON_Delete(reply);
		return 0;
	}
	bool known = !strcmp(verb, "show") || !strcmp(verb, "create") || !strcmp(verb, "set") ||
		     !strcmp(verb, "delete");
	if (!known) {
		cli_error("profile: unknown verb %s (list, show, create, set or delete)", verb);
		return 2;
	}
	if (nargs < 1) {
		cli_error("profile %s: need a profile NAME", verb);
		return 2;
	}
	struct err e = { 0 };
	if (name_check("profile", args[0], &e) < 0) {
		cli_error("profile %s: %s", verb, e.msg);
		return 2;
	}
	snprintf(path, sizeof path, "/1.0/profiles/%s", args[0]);
	if (!strcmp(verb, "show") || !strcmp(verb, "delete")) {
		if (nargs > 1) {
			cli_error("profile %s: unexpected argument %s", verb, args[1]);
			return 2;
		}
		bool show = !strcmp(verb, "show");
		if ((rc = cli_call(what, sock, show ? "GET" : "DELETE", path, NULL, &reply)))
			return rc;
		if (show && json) {
			print_json(reply);
		} else if (show) {
			char s[512];
			summary(reply, s, sizeof s);
			printf("profile %s\n  description: %s\n  config: %s\n", cli_json_str(reply, "name"),
			       cli_json_str(reply, "description"), *s ? s : "(nothing set)");
		}
		cJSON_Delete(reply);
		return 0;
	}
	bool create = !strcmp(verb, "create");
	if (!create && nargs < 2) {
		cli_error("profile set: need NAME and at least one KEY=VALUE (try --help)");
		return 2;
	}
	body = cJSON_CreateObject();
	if (create)
		cJSON_AddStringToObject(body, "name", args[0]);
	rc = parse_keys(verb, nargs - 1, args + 1, create, body);
	if (rc == 0)
		rc = cli_call(what, sock, create ? "POST" : "PATCH", create ? "/1.0/profiles" : path,
			      body, &reply);
	cJSON_Delete(body);
	if (rc == 0 && json)
		print_json(reply);
	cJSON_Delete(reply);
	return rc;
}
