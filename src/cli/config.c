/* `nimbus config set NAME KEY=VALUE...`: an instance's cpus, memory and (a
 * VM's) disks, used from its next start. */
#include "cli/cli.h"
#include "daemon/disks.h"
#include "daemon/request.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus config set [--socket PATH] NAME KEY=VALUE...\n"
	"\n"
	"Change an instance's configuration; a running instance gets it at its next\n"
	"start (`nimbus restart NAME`).  `nimbus info NAME` shows it.\n"
	"\n"
	"Keys:\n"
	"  cpus=N           a VM's vCPUs (1 to 8); a container's CPU limit (a CFS quota\n"
	"                   of N CPUs); 0 puts the default back\n"
	"  memory=SIZE      a VM's RAM; a container's memory limit: 512M, 2G (a bare\n"
	"                   number is MiB); 0 puts the default back\n"
	"  disk.D=SIZE      a VM's own disk D (serial D: /dev/disk/by-id/virtio-D in the\n"
	"                   guest): added, or grown (never shrunk), e.g. disk.data=10G;\n"
	"                   4 at most, 1M to 1T each\n"
	"  disk.D=none      remove disk D: its data is deleted at the next start\n"
	"\n"
	"Options:\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_config(int argc, char **argv)
{
	enum { OPT_SOCKET = 256 };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "set")) {
		cli_error("config: %s%s (try `nimbus config --help`)",
			  optind < argc ? "unknown subcommand " : "need a subcommand: set",
			  optind < argc ? argv[optind] : "");
		return 2;
	}
	/* Options may also follow `set`. */
	argc -= optind;
	argv += optind;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (argc - optind < 2) {
		cli_error("config set: need NAME and at least one KEY=VALUE (try `nimbus config --help`)");
		return 2;
	}
	char path[256];
	int rc = cli_instance_path("config set", argv[optind], NULL, path, sizeof path);
	if (rc)
		return rc;
	cJSON *body = cJSON_CreateObject();
	for (int i = optind + 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t klen = eq ? (size_t)(eq - argv[i]) : 0;
		const char *v = eq ? eq + 1 : "";
		struct err e = { 0 };
		if (eq && klen == 4 && !strncmp(argv[i], "cpus", 4)) {
			char *end;
			long n = strtol(v, &end, 10);
			if (!*v || *end || n < 0 || n > CONFIG_CPUS_MAX) {
				cli_error("config set: cpus=%s: expected a whole number from 0 to %d", v,
					  CONFIG_CPUS_MAX);
				rc = 2;
				break;
			}
			cJSON_AddNumberToObject(body, "cpus", (double)n);
		} else if (eq && klen == 6 && !strncmp(argv[i], "memory", 6)) {
			long long mib;
			if (request_parse_size_mib("memory=", v, &mib, &e) < 0) {
				cli_error("config set: %s", e.msg);
				rc = 2;
				break;
			}
			cJSON_AddStringToObject(body, "memory", v);
		} else if (eq && klen > 5 && !strncmp(argv[i], "disk.", 5)) {
			char disk[INSTANCE_NAME_MAX + 1], what[128];
			long long mib;
			snprintf(disk, sizeof disk, "%.*s", (int)(klen - 5), argv[i] + 5);
			snprintf(what, sizeof what, "disk.%s=", disk);
			if (klen - 5 > INSTANCE_NAME_MAX || name_check("disk", disk, &e) < 0 ||
			    disk_size_parse(what, v, true, &mib, &e) < 0) {
				cli_error("config set: %s", e.msg[0] ? e.msg : "disk name too long");
				rc = 2;
				break;
			}
			cJSON *disks = cJSON_GetObjectItemCaseSensitive(body, "disks");
			if (!disks)
				disks = cJSON_AddObjectToObject(body, "disks");
			cJSON_DeleteItemFromObjectCaseSensitive(disks, disk);
			cJSON_AddItemToObject(disks, disk, mib ? cJSON_CreateString(v) : cJSON_CreateNull());
		} else {
			cli_error("config set: %s: expected cpus=N, memory=SIZE or disk.NAME=SIZE", argv[i]);
			rc = 2;
			break;
		}
	}
	if (rc == 0)
		rc = cli_call("config set", sock, "PATCH", path, body, NULL);
	cJSON_Delete(body);
	return rc;
}
