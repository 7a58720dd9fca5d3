/* nimbus-runtime state: see the help text. */
#include <stdio.h>
#include <stdlib.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime state ID\n"
"\n"
"Prints the OCI state of container ID as JSON: ociVersion, id, status\n"
"(created, running, paused or stopped), pid, bundle, annotations, plus\n"
"rootfs, created, owner and oomKills (OOM kills in its memory cgroup).\n";

int cmd_state(struct cli *g, int argc, char **argv)
{
	int i = 1, rc = cli_parse(g, argc, argv, &i, NULL, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	struct err e = { 0 };
	char *js;
	if (ctr_state_json(&g->ctx, argv[i], &js, &e))
		return cli_fail(g, &e);
	printf("%s\n", js);
	free(js);
	return 0;
}
