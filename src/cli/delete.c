/* `nimbus delete [--force] NAME...`: remove instances. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>

static const char usage[] =
	"Usage: nimbus delete [--force] [--socket PATH] NAME...\n"
	"\n"
	"Delete instances and everything the daemon keeps for them.  A running\n"
	"instance is refused unless --force, which kills it first.\n"
	"\n"
	"Options:\n"
	"  -f, --force      delete even if running\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_delete(int argc, char **argv)
{
	enum { OPT_SOCKET = 256 };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	int force = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case 'f': force = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind >= argc) {
		cli_error("delete: need a NAME (try `nimbus delete --help`)");
		return 2;
	}
	int status = 0;
	for (int i = optind; i < argc; i++) {
		char path[256];
		int rc = cli_instance_path("delete", argv[i], force ? "?force=true" : NULL, path,
					   sizeof path);
		if (rc == 0)
			rc = cli_call("delete", sock, "DELETE", path, NULL, NULL);
		if (rc && !status)
			status = rc;
	}
	return status;
}
