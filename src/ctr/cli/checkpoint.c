/* nimbus-runtime checkpoint: not supported (no CRIU integration). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime checkpoint [OPTIONS] ID\n"
"\n"
"Not supported: nimbus-runtime has no CRIU integration, so checkpoint\n"
"always fails (engines probe this with `checkpoint --help`).\n";

int cmd_checkpoint(struct cli *g, int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return 0;
		}
		i++;
	}
	struct err e;
	err_set(&e, -ENOTSUP, "checkpoint is not supported by nimbus-runtime (no CRIU)");
	return cli_fail(g, &e);
}
