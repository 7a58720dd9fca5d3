/* `nimbus logs NAME`: the tail of an instance's console. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus logs [--socket PATH] NAME\n"
	"\n"
	"Print the last 256 KiB of an instance's console: a VM's serial console, a\n"
	"container's stdout and stderr.\n"
	"\n"
	"Options:\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_logs(int argc, char **argv)
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
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (argc - optind != 1) {
		cli_error("logs: need one NAME (try `nimbus logs --help`)");
		return 2;
	}
	char path[256];
	int rc = cli_instance_path("logs", argv[optind], "/logs", path, sizeof path);
	cJSON *reply = NULL;
	if (rc == 0)
		rc = cli_call("logs", sock, "GET", path, NULL, &reply);
	if (rc == 0)
		fputs(cli_json_str(reply, "log"), stdout);
	cJSON_Delete(reply);
	return rc;
}
