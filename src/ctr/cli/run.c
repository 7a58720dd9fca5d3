/* nimbus-runtime run: see the help text. */
#include <stdio.h>
#include <stdlib.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime run [OPTIONS] ID\n"
"\n"
"Creates and starts container ID.  Without --detach it waits for the\n"
"container's process, forwards signals to it, deletes the container when it\n"
"exits and exits with its status (128+N when killed by signal N).\n"
"\n"
"Options:\n"
"  --bundle, -b DIR        bundle directory (default: the current directory)\n"
"  --detach, -d            return once the process is started\n"
"  --pid-file FILE         write the container process's pid to FILE\n"
"  --console-socket PATH   AF_UNIX socket receiving the pty master\n"
"  --no-pivot              use MS_MOVE and chroot instead of pivot_root\n"
"  --no-new-keyring        accepted; no session keyring is created anyway\n"
"  --preserve-fds N        pass N descriptors beyond stdio\n"
"  --keep                  accepted for compatibility\n";

int cmd_run(struct cli *g, int argc, char **argv)
{
	struct create_opts o = { .bundle = ".", .run = true };
	bool keep = false;
	struct opt opts[] = {
		{ "bundle", 'b', OPT_STR, &o.bundle },
		{ "detach", 'd', OPT_FLAG, &o.detach },
		{ "pid-file", 0, OPT_STR, &o.pid_file },
		{ "console-socket", 0, OPT_STR, &o.console_socket },
		{ "no-pivot", 0, OPT_FLAG, &o.no_pivot },
		{ "no-new-keyring", 0, OPT_FLAG, &o.no_new_keyring },
		{ "preserve-fds", 0, OPT_INT, &o.preserve_fds },
		{ "keep", 0, OPT_FLAG, &keep },
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
	return st;
}
