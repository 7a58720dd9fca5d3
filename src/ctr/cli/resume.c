/* nimbus-runtime resume: see the help text. */
#include <stdio.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime resume ID\n"
"\n"
"Thaws paused container ID.\n";

int cmd_resume(struct cli *g, int argc, char **argv)
{
	int i = 1, rc = cli_parse(g, argc, argv, &i, NULL, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	struct err e = { 0 };
	if (ctr_pause(&g->ctx, argv[i], false, &e))
		return cli_fail(g, &e);
	return 0;
}
