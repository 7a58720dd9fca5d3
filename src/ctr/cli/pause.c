/* nimbus-runtime pause: see the help text. */
#include <stdio.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime pause ID\n"
"\n"
"Freezes every process of container ID with the cgroup freezer (v1\n"
"freezer.state or v2 cgroup.freeze); state then reports \"paused\".\n";

int cmd_pause(struct cli *g, int argc, char **argv)
{
	int i = 1, rc = cli_parse(g, argc, argv, &i, NULL, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	struct err e = { 0 };
	if (ctr_pause(&g->ctx, argv[i], true, &e))
		return cli_fail(g, &e);
	return 0;
}
