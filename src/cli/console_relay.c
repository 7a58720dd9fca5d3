/* `nimbus console-relay SOCKET LOG -- COMMAND...`: the daemon's holder of a
 * VM's console (src/daemon/console_relay.h); not for people. */
#include "cli/cli.h"
#include "daemon/console_relay.h"

#include <string.h>

int cmd_console_relay(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[3], "--")) {
		cli_error("console-relay: the daemon's; usage: SOCKET LOG -- COMMAND...");
		return 2;
	}
	struct err e = { 0 };
	int rc = console_relay_run(argv[1], argv[2], argv + 4, &e);
	if (rc < 0) {
		cli_error("console-relay: %s", e.msg);
		return 1;
	}
	return rc;
}
