/* nimbus-runtime kill: see the help text. */
#include <signal.h>
#include <stdio.h>

#include "ctr/cli/cli.h"
#include "ctr/util.h"

static const char help[] =
"Usage: nimbus-runtime kill [--all] ID [SIGNAL]\n"
"\n"
"Sends SIGNAL (a number, or a name with or without SIG; default TERM) to\n"
"the init process of container ID.\n"
"\n"
"Options:\n"
"  --all, -a   signal every process in the container's cgroup\n";

int cmd_kill(struct cli *g, int argc, char **argv)
{
	bool all = false;
	const char *pid = NULL;
	struct opt opts[] = { { "all", 'a', OPT_FLAG, &all }, { "pid", 'p', OPT_STR, &pid }, { 0 } };
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i < 1 || argc - i > 2)
		return cli_usage(g, "expected ID [SIGNAL]");
	int sig = SIGTERM;
	if (argc - i == 2 && (sig = signal_parse(argv[i + 1])) < 0)
		return cli_usage(g, "unknown signal \"%s\"", argv[i + 1]);
	struct err e = { 0 };
	if (ctr_kill(&g->ctx, argv[i], sig, all, &e))
		return cli_fail(g, &e);
	return 0;
}
