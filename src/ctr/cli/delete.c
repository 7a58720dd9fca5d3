/* nimbus-runtime delete: see the help text. */
#include <errno.h>
#include <stdio.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime delete [--force] ID\n"
"\n"
"Deletes container ID: kills what is left of it, removes its cgroup, runs\n"
"the poststop hooks and removes its state.  Only a stopped container is\n"
"deleted without --force; a created, running or paused one needs it.\n"
"\n"
"Options:\n"
"  --force, -f   delete even if not stopped (SIGKILL first); a container\n"
"                that does not exist is then no error\n";

int cmd_delete(struct cli *g, int argc, char **argv)
{
	bool force = false;
	struct opt opts[] = { { "force", 'f', OPT_FLAG, &force }, { 0 } };
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	struct err e = { 0 };
	if (ctr_delete(&g->ctx, argv[i], force, &e))
		return cli_fail(g, &e);
	return 0;
}
