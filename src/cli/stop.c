/* `nimbus stop [--timeout S] [--force] NAME...`: stop running instances. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
	"Usage: nimbus stop [--timeout SECONDS] [--force] [--socket PATH] NAME...\n"
	"\n"
	"Stop running instances: ask each to stop cleanly (a container's process gets\n"
	"SIGTERM; a VM's VMM is asked to stop) and kill it if it has not within the\n"
	"timeout.\n"
	"\n"
	"Options:\n"
	"  --timeout S      seconds to wait for a clean stop (default 10)\n"
	"  -f, --force      kill at once\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_stop(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_TIMEOUT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	long timeout = -1;
	int force = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			timeout = strtol(optarg, &end, 10);
			if (*end || end == optarg || timeout < 0 || timeout > 3600) {
				cli_error("stop: --timeout %s: expected whole seconds from 0 to 3600",
					  optarg);
				return 2;
			}
			break;
		}
		case 'f': force = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind >= argc) {
		cli_error("stop: need a NAME (try `nimbus stop --help`)");
		return 2;
	}
	cJSON *body = cJSON_CreateObject();
	if (timeout >= 0)
		cJSON_AddNumberToObject(body, "timeout", (double)timeout);
	cJSON_AddBoolToObject(body, "force", force);
	int status = 0;
	for (int i = optind; i < argc; i++) {
		char path[256];
		int rc = cli_instance_path("stop", argv[i], "/stop", path, sizeof path);
		if (rc == 0)
			rc = cli_call("stop", sock, "POST", path, body, NULL);
		if (rc && !status)
			status = rc;
	}
	cJSON_Delete(body);
	return status;
}
