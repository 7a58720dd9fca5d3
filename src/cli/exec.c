/* `nimbus exec NAME -- COMMAND...`: run a command in a container or a VM (through its guest
 * agent) and wait. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus exec [--timeout S] [--socket PATH] NAME -- COMMAND [ARG...]\n"
	"\n"
	"Run COMMAND in the running container or VM NAME, print its output (stdout and\n"
	"stderr together) and exit with its status.  In a VM it runs through the guest\n"
	"agent (docs/guest-agent.md), which the default guest has.  Not interactive.\n"
	"\n"
	"Options:\n"
	"  --timeout S      kill it after S seconds (default 60)\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_exec(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_TIMEOUT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	long timeout = -1;
	int c;
	optind = 1;
	/* "+": options end at NAME, so the command's own options stay its own. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			timeout = strtol(optarg, &end, 10);
			if (*end || end == optarg || timeout < 0 || timeout > 3600) {
				cli_error("exec: --timeout %s: expected whole seconds from 0 to 3600",
					  optarg);
				return 2;
			}
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind >= argc) {
		cli_error("exec: need NAME and a COMMAND (try `nimbus exec --help`)");
		return 2;
	}
	const char *name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc) {
		cli_error("exec: need a COMMAND after NAME (nimbus exec %s -- COMMAND)", name);
		return 2;
	}
	char path[256];
	int rc = cli_instance_path("exec", name, "/exec", path, sizeof path);
	if (rc)
		return rc;
	cJSON *body = cJSON_CreateObject();
	cJSON *cmd = cJSON_AddArrayToObject(body, "command");
	for (int i = optind; i < argc; i++)
		cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
	if (timeout >= 0)
		cJSON_AddNumberToObject(body, "timeout", (double)timeout);
	cJSON *reply = NULL;
	rc = cli_call("exec", sock, "POST", path, body, &reply);
	cJSON_Delete(body);
	if (rc == 0) {
		fputs(cli_json_str(reply, "output"), stdout);
		long long st = cli_json_num(reply, "exit_code");
		rc = st >= 0 && st <= 255 ? (int)st : 1;
	}
	cJSON_Delete(reply);
	return rc;
}
