/*
 * `nimbus move NAME --to SOCKET`: moves a running VM live to another
 * daemon on this host (its API socket), which runs it from then on; the
 * instance is then gone here.  The daemon's operation (POST
 * /1.0/instances/NAME/migrate) is followed to its end with its progress:
 * each pre-copy round's pages sent and left and the downtime expected.
 */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus move [--socket PATH] NAME --to SOCKET\n"
	"\n"
	"Move the running VM NAME, live, to the daemon whose API socket is SOCKET (another\n"
	"`nimbus daemon --state-dir DIR --socket SOCKET` on this host).  The guest runs on\n"
	"while its memory and disks are copied, stands still for a few milliseconds while\n"
	"the rest and its device state go, and runs on there; the instance then exists\n"
	"only in the target daemon, with the same name, image, CPUs, memory and disks.  If\n"
	"anything fails before the hand-over, the VM runs on here as if nothing happened.\n"
	"The target must have the same image (by name); VMs on networks or with volumes\n"
	"attached are refused.  Progress shows each pre-copy round.  See docs/daemon.md.\n"
	"\n"
	"Options:\n"
	"  --to SOCKET      the target daemon's socket (an absolute path)\n"
	"  --socket PATH    this daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_move(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_TO };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "to", required_argument, NULL, OPT_TO },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *to = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_TO: to = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (argc - optind != 1) {
		cli_error("move: need one NAME (try `nimbus move --help`)");
		return 2;
	}
	if (!to || to[0] != '/') {
		cli_error("move: %s%s: the target daemon's socket, an absolute path (try `nimbus move "
			  "--help`)", to ? "--to " : "--to", to ? to : " is required");
		return 2;
	}
	char path[256];
	int rc = cli_instance_path("move", argv[optind], "/migrate", path, sizeof path);
	if (rc)
		return rc;
	cJSON *body = cJSON_CreateObject(), *op = NULL;
	cJSON_AddStringToObject(body, "target", to);
	rc = cli_call("move", sock, "POST", path, body, &op);
	cJSON_Delete(body);
	if (rc == 0)
		rc = cli_wait_operation("move", sock, op, false);
	cJSON_Delete(op);
	if (rc == 0)
		printf("Moved %s to %s\n", argv[optind], to);
	return rc;
}
