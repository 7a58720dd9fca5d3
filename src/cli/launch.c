/* `nimbus launch [--container|--vm] IMAGE NAME`: create an instance and start it. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus launch [--container|--vm] [OPTIONS] IMAGE NAME [-- COMMAND...]\n"
	"\n"
	"Create the instance NAME from IMAGE and start it: a VM or a container, as the\n"
	"image is.  Built-in images: `default` (the default guest, VMs) and `bb`\n"
	"(busybox, containers); `nimbus image import` adds more.  Names: 1-63 of a-z,\n"
	"0-9 and '-'.  A container runs COMMAND in place of the image's.\n"
	"\n"
	"Options:\n"
	"  --container      insist on a container (an error if IMAGE is a VM image)\n"
	"  --vm             insist on a VM\n"
	"  --no-start       create it stopped\n"
	"  -t, --terminal   a container's process on a terminal: `nimbus console` then\n"
	"                   has a prompt, echo and line editing (a VM's always has)\n"
	"  --cpus N         vCPUs, 1 to 8 (default 1); counted against the project's quota\n"
	"  --memory SIZE    memory, e.g. 512M (default 256M); counted against the quota\n"
	"  --network NET    join network NET; repeat for more (up to 4: eth0, eth1, ...)\n"
	"  --profile P      take cpus, memory, network and disks from profile P where\n"
	"                   these options give none (default: the profile default;\n"
	"                   see `nimbus profile --help`)\n"
	"  --project P      the project that owns it (host admin only; a token's is its own)\n"
	"  --token T        act as token T (default $NIMBUS_TOKEN); every verb takes it\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_launch(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_CONTAINER, OPT_VM, OPT_NOSTART, OPT_CPUS, OPT_MEMORY,
	       OPT_PROJECT, OPT_NETWORK, OPT_PROFILE };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "container", no_argument, NULL, OPT_CONTAINER },
		{ "vm", no_argument, NULL, OPT_VM },
		{ "no-start", no_argument, NULL, OPT_NOSTART },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "terminal", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *memory = NULL, *project = NULL, *profile = NULL;
	const char *networks[4] = { 0 };
	int nnetworks = 0;
	long cpus = 0;
	int container = 0, vm = 0, start = 1, terminal = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+ht", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_CONTAINER: container = 1; break;
		case OPT_VM: vm = 1; break;
		case OPT_NOSTART: start = 0; break;
		case OPT_CPUS: {
			char *end;
			cpus = strtol(optarg, &end, 10);
			if (*end || end == optarg || cpus < 1 || cpus > 8) {
				cli_error("launch: --cpus %s: expected a whole number from 1 to 8", optarg);
				return 2;
			}
			break;
		}
		case OPT_MEMORY: memory = optarg; break;
		case OPT_PROJECT: project = optarg; break;
		case OPT_NETWORK:
			if (nnetworks == 4) {
				cli_error("launch: --network %s: at most 4 networks per instance", optarg);
				return 2;
			}
			networks[nnetworks++] = optarg;
			break;
		case OPT_PROFILE: profile = optarg; break;
		case 't': terminal = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	/* getopt stops at "--" (and "+" stops it at the first operand): what
	 * follows IMAGE NAME is the command. */
	int cmd_at = optind + 2;
	if (cmd_at < argc && !strcmp(argv[cmd_at], "--"))
		cmd_at++;
	if (argc - optind < 2 || (cmd_at == optind + 2 && argc > cmd_at)) {
		cli_error("launch: need IMAGE and NAME, then optionally -- COMMAND (try `nimbus launch "
			  "--help`)");
		return 2;
	}
	if (container && vm) {
		cli_error("launch: --container and --vm: choose one");
		return 2;
	}
	const char *image = argv[optind], *name = argv[optind + 1];
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", name);
	cJSON_AddStringToObject(body, "image", image);
	if (container || vm)
		cJSON_AddStringToObject(body, "type", container ? "container" : "vm");
	cJSON_AddBoolToObject(body, "start", start);
	if (cpus)
		cJSON_AddNumberToObject(body, "cpus", (double)cpus);
	if (memory)   /* the daemon parses and checks it: one rule, one message */
		cJSON_AddStringToObject(body, "memory", memory);
	if (project)
		cJSON_AddStringToObject(body, "project", project);
	if (nnetworks == 1)
		cJSON_AddStringToObject(body, "network", networks[0]);
	else if (nnetworks > 1)   /* a NIC on each, eth0 first */
		cJSON_AddItemToObject(body, "network",
				      cJSON_CreateStringArray((const char *const *)networks, nnetworks));
	if (profile)
		cJSON_AddStringToObject(body, "profile", profile);
	if (terminal)
		cJSON_AddBoolToObject(body, "terminal", 1);
	if (cmd_at < argc) {
		cJSON *cmd = cJSON_AddArrayToObject(body, "command");
		for (int i = cmd_at; i < argc; i++)
			cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	}
	cJSON *reply = NULL;
	int rc = cli_call("launch", sock, "POST", "/1.0/instances", body, &reply);
	cJSON_Delete(body);
	if (rc == 0)
		printf("%s %s %s (image %s)\n", start ? "Launched" : "Created",
		       cli_json_str(reply, "type"), name, image);
	cJSON_Delete(reply);
	return rc;
}
