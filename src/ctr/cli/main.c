/*
 * nimbus-runtime: an OCI runtime (runtime-spec 1.x).  Global flags come
 * before the verb, as with runc and crun; see cli.h and docs/ctr-runtime.md.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctr/cli/cli.h"
#include "ctr/util.h"

#define VERSION "0.1.0"

static const char help[] =
"Usage: nimbus-runtime [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n"
"\n"
"An OCI runtime: runs containers from OCI bundles (a directory with\n"
"config.json and a root filesystem), as container engines such as Podman\n"
"(--runtime), containerd and CRI-O expect.\n"
"\n"
"Commands:\n"
"  create     create a container from a bundle; its process waits for start\n"
"  start      run the user process of a created container\n"
"  run        create and start a container (waits unless --detach)\n"
"  state      print the container's state as JSON\n"
"  kill       send a signal to the container's init (or all its processes)\n"
"  delete     delete a stopped (or, with --force, any) container\n"
"  exec       run a new process in a running container\n"
"  list       list containers\n"
"  ps         list the processes in a container\n"
"  pause      freeze all processes of a container\n"
"  resume     thaw a paused container\n"
"  events     print resource statistics and OOM events\n"
"  update     change a running container's resource limits\n"
"  features   print the features this runtime supports as JSON\n"
"  spec       write a template config.json\n"
"  checkpoint, restore  (not supported: no CRIU)\n"
"\n"
"Global options:\n"
"  --root DIR            state directory (default " DEFAULT_ROOT ")\n"
"  --log FILE            write messages to FILE instead of stderr\n"
"  --log-format FORMAT   text (default) or json: one JSON object per line\n"
"  --debug               also log debug messages\n"
"  --systemd-cgroup      linux.cgroupsPath is slice:prefix:name\n"
"  --version, -v         print the version\n"
"  --help, -h            this help; COMMAND --help for a command's options\n"
"\n"
"Exit status: 0 on success, 1 on a runtime failure, 2 on bad usage or a bad\n"
"bundle; run and exec without --detach exit with the process's status.\n";

static const struct { const char *name; int (*fn)(struct cli *, int, char **); } verbs[] = {
	{ "create", cmd_create }, { "start", cmd_start }, { "run", cmd_run },
	{ "state", cmd_state }, { "kill", cmd_kill }, { "delete", cmd_delete },
	{ "exec", cmd_exec }, { "list", cmd_list }, { "ps", cmd_ps }, { "pause", cmd_pause },
	{ "resume", cmd_resume }, { "features", cmd_features }, { "spec", cmd_spec },
	{ "events", cmd_events }, { "checkpoint", cmd_checkpoint }, { "restore", cmd_restore },
	{ "update", cmd_update },
};

int main(int argc, char **argv)
{
	struct cli g;
	memset(&g, 0, sizeof g);
	g.log.fd = -1;
	const char *root = NULL, *logf = NULL, *fmt = NULL, *rootless = NULL, *criu = NULL;
	bool debug = false, version = false, sysd = false;
	struct opt opts[] = {
		{ "root", 0, OPT_STR, &root },
		{ "log", 0, OPT_STR, &logf },
		{ "log-format", 0, OPT_STR, &fmt },
		{ "debug", 0, OPT_FLAG, &debug },
		{ "systemd-cgroup", 0, OPT_FLAG, &sysd },
		{ "rootless", 0, OPT_STR, &rootless },
		{ "criu", 0, OPT_STR, &criu },
		{ "version", 'v', OPT_FLAG, &version },
		{ 0 },
	};
	signal(SIGPIPE, SIG_IGN);
	int i = 1;
	int rc = cli_parse(&g, argc, argv, &i, opts, help);
	if (rc == 3)
		return 0;
	if (rc)
		return rc;
	if (log_open(&g.log, logf, fmt, debug) < 0) {
		fprintf(stderr, "nimbus-runtime: --log %s / --log-format %s: cannot use\n",
			logf ? logf : "-", fmt ? fmt : "-");
		return 2;
	}
	if (version) {
		printf("nimbus-runtime version " VERSION "\nspec: 1.1.0\n"
		       "+SECCOMP +CAP +CGROUPV1 +CGROUPV2\n");
		return 0;
	}
	if (i >= argc) {
		fputs(help, stderr);
		return 2;
	}
	char xdg_root[PATH_MAX];
	g.ctx.root = root && *root ? root : default_state_root(xdg_root, sizeof xdg_root);
	g.ctx.log = &g.log;
	g.ctx.systemd_cgroup = sysd;
	g.verb = argv[i];
	for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
		if (!strcmp(verbs[k].name, argv[i]))
			return verbs[k].fn(&g, argc - i, argv + i);
	g.verb = NULL;
	return cli_usage(&g, "unknown command \"%s\"", argv[i]);
}
