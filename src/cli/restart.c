/* `nimbus restart [--timeout S] [--force] NAME...`: stop (if running) and start. */
#include "cli/cli.h"


static const char usage[] =
	"Usage: nimbus restart [--timeout SECONDS] [--force] [--socket PATH] NAME...\n"
	"\n"
	"Restart instances: stop each (as `nimbus stop`) if it runs, then start it.\n"
	"\n"
	"Options:\n"
	"  --timeout S      seconds to wait for a clean stop (default 10)\n"
	"  -f, --force      kill at once\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

int cmd_restart(int argc, char **argv)
{
	return cli_stop_verb("restart", usage, argc, argv);
}
