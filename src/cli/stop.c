/* `nimbus stop [--timeout S] [--force] NAME...`: stop running instances. */
#include "cli/cli.h"


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
	return cli_stop_verb("stop", usage, argc, argv);
}
