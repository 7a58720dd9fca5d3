/* `nimbus pause NAME...` and `nimbus resume NAME...`: freeze and thaw
 * running instances (a VM's vCPUs and devices; a container's cgroup). */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char pause_usage[] =
	"Usage: nimbus pause [--socket PATH] NAME...\n"
	"\n"
	"Freeze running instances: a VM's vCPUs stop at an instruction boundary and its\n"
	"clock stands still; a container's processes are frozen in their cgroup.\n"
	"`nimbus resume` thaws them.  A paused instance is listed as paused.\n"
	"\n"
	"Options:\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

static const char resume_usage[] =
	"Usage: nimbus resume [--socket PATH] NAME...\n"
	"\n"
	"Thaw instances frozen by `nimbus pause`.\n"
	"\n"
	"Options:\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

static int run(const char *verb, const char *usage, int argc, char **argv)
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
		cli_error("%s: need a NAME (try `nimbus %s --help`)", verb, verb);
		return 2;
	}
	char suffix[16];
	snprintf(suffix, sizeof suffix, "/%s", verb);
	int status = 0;
	for (int i = optind; i < argc; i++) {
		char path[256];
		int rc = cli_instance_path(verb, argv[i], suffix, path, sizeof path);
		if (rc == 0)
			rc = cli_call(verb, sock, "POST", path, NULL, NULL);
		if (rc && !status)
			status = rc;
	}
	return status;
}

int cmd_pause(int argc, char **argv)
{
	return run("pause", pause_usage, argc, argv);
}

int cmd_resume(int argc, char **argv)
{
	return run("resume", resume_usage, argc, argv);
}
