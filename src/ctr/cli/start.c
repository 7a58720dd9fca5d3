/* nimbus-runtime start: see the help text. */
#include <stdio.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime start ID\n"
"\n"
"Lets the process of created container ID run its program (the poststart\n"
"hooks run after it started).\n";

int cmd_start(struct cli *g, int argc, char **argv)
{
	int i = 1, rc = cli_parse(g, argc, argv, &i, NULL, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	struct err e = { 0 };
	if (ctr_start(&g->ctx, argv[i], &e))
		return cli_fail(g, &e);
	return 0;
}
