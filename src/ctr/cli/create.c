/* nimbus-runtime create: see the help text. */
#include <stdio.h>
#include <stdlib.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime create [OPTIONS] ID\n"
"\n"
"Creates container ID from an OCI bundle: namespaces, cgroup, root\n"
"filesystem, then holds the container's process until `start ID`.\n"
"The pid file is written before create returns.\n"
"\n"
"Options:\n"
"  --bundle, -b DIR        bundle directory (default: the current directory)\n"
"  --pid-file FILE         write the container process's pid to FILE\n"
"  --console-socket PATH   AF_UNIX socket receiving the pty master when\n"
"                          process.terminal is true\n"
"  --no-pivot              use MS_MOVE and chroot instead of pivot_root\n"
"  --no-new-keyring        accepted; no session keyring is created anyway\n"
"  --preserve-fds N        pass N descriptors beyond stdio (3 .. 3+N-1)\n";

int cmd_create(struct cli *g, int argc, char **argv)
{
	struct create_opts o = { .bundle = "." };
	struct opt opts[] = {
		{ "bundle", 'b', OPT_STR, &o.bundle },
		{ "pid-file", 0, OPT_STR, &o.pid_file },
		{ "console-socket", 0, OPT_STR, &o.console_socket },
		{ "no-pivot", 0, OPT_FLAG, &o.no_pivot },
		{ "no-new-keyring", 0, OPT_FLAG, &o.no_new_keyring },
		{ "preserve-fds", 0, OPT_INT, &o.preserve_fds },
		{ 0 },
	};
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	o.id = argv[i];
	const char *lf = getenv("LISTEN_FDS");
	if (lf && atoi(lf) > o.preserve_fds)
		o.preserve_fds = atoi(lf);
	struct err e = { 0 };
	int st = 0;
	if ((rc = ctr_create(&g->ctx, &o, &st, &e)))
		return cli_fail(g, &e);
	return 0;
}
