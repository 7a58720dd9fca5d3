/* nimbus-runtime update: not supported yet. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime update [OPTIONS] ID\n"
"\n"
"Not supported: limits are set at create time only.\n";

int cmd_update(struct cli *g, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(help, stdout);
			return 0;
		}
	struct err e;
	err_set(&e, -ENOTSUP, "update is not supported by nimbus-runtime");
	return cli_fail(g, &e);
}
