/* `nimbus launch [--container|--vm] IMAGE NAME`: create an instance and start it. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
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
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_launch(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_CONTAINER, OPT_VM, OPT_NOSTART };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "container", no_argument, NULL, OPT_CONTAINER },
		{ "vm", no_argument, NULL, OPT_VM },
		{ "no-start", no_argument, NULL, OPT_NOSTART },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	int container = 0, vm = 0, start = 1, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_CONTAINER: container = 1; break;
		case OPT_VM: vm = 1; break;
		case OPT_NOSTART: start = 0; break;
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
