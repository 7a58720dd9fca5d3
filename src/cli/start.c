/* `nimbus start NAME...`: start stopped instances. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>

static const char usage[] =
	"Usage: nimbus start [--socket PATH] NAME...\n"
	"\n"
	"Start stopped instances.\n"
	"\n"
	"Options:\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_start(int argc, char **argv)
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
	if (optind >= argc) {
		cli_error("start: need a NAME (try `nimbus start --help`)");
		return 2;
	}
	int status = 0;
	for (int i = optind; i < argc; i++) {
		char path[256];
		int rc = cli_instance_path("start", argv[i], "/start", path, sizeof path);
		if (rc == 0)
			rc = cli_call("start", sock, "POST", path, NULL, NULL);
		if (rc && !status)
			status = rc;
	}
	return status;
}
