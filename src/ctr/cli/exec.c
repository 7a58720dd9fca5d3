/* nimbus-runtime exec: see the help text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime exec [OPTIONS] ID [COMMAND [ARG...]]\n"
"\n"
"Runs a new process in running container ID: it joins the container's\n"
"namespaces and cgroup and gets its seccomp filter.  The process is\n"
"described by --process (an OCI process object, as config.json's\n"
"\"process\") or by COMMAND and the flags below; without --process, the\n"
"environment and capabilities default to the container's.  Without\n"
"--detach, exec waits and exits with the process's status.\n"
"\n"
"Options:\n"
"  --process, -p FILE        process JSON (the flags below then override\n"
"                            only --tty)\n"
"  --detach, -d              return once the process is started\n"
"  --pid-file FILE           write the process's pid to FILE\n"
"  --tty, -t                 give it a terminal (needs --console-socket\n"
"                            with --detach)\n"
"  --console-socket PATH     AF_UNIX socket receiving the pty master\n"
"  --cwd DIR                 working directory (default /)\n"
"  --env, -e NAME=VALUE      set a variable (repeatable)\n"
"  --user, -u UID[:GID]      run as this user\n"
"  --additional-gids, -g GID supplementary group (repeatable)\n"
"  --cap, -c CAP             add a capability to all sets (repeatable)\n"
"  --no-new-privs            set no_new_privileges\n"
"  --preserve-fds N          pass N descriptors beyond stdio\n"
"  --cgroup PATH             join this sub-cgroup of the container\n"
"  --apparmor, --process-label PROFILE  accepted; ignored with a warning\n";

/* A user or group id as config.json accepts it: decimal 0..2147483647
 * ((uid_t)-1 would mean "leave unchanged", i.e. stay root). */
static int parse_id(const char *s, uint32_t *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return -1;
	unsigned long long v = strtoull(s, NULL, 10);
	if (v > 2147483647ULL)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int cmd_exec(struct cli *g, int argc, char **argv)
{
	struct exec_opts o = { 0 };
	const char *cwd = NULL, *user = NULL, *aa = NULL, *label = NULL;
	bool tty = false, nnp = false, ignore_paused = false;
	struct strlist env = { 0 }, gids = { 0 }, caps = { 0 };
	struct opt opts[] = {
		{ "process", 'p', OPT_STR, &o.process_file },
		{ "detach", 'd', OPT_FLAG, &o.detach },
		{ "pid-file", 0, OPT_STR, &o.pid_file },
		{ "tty", 't', OPT_FLAG, &tty },
		{ "console-socket", 0, OPT_STR, &o.console_socket },
		{ "cwd", 0, OPT_STR, &cwd },
		{ "env", 'e', OPT_LIST, &env },
		{ "user", 'u', OPT_STR, &user },
		{ "additional-gids", 'g', OPT_LIST, &gids },
		{ "cap", 'c', OPT_LIST, &caps },
		{ "no-new-privs", 0, OPT_FLAG, &nnp },
		{ "preserve-fds", 0, OPT_INT, &o.preserve_fds },
		{ "cgroup", 0, OPT_STR, &o.cgroup_sub },
		{ "apparmor", 0, OPT_STR, &aa },
		{ "process-label", 0, OPT_STR, &label },
		{ "ignore-paused", 0, OPT_FLAG, &ignore_paused },
		{ 0 },
	};
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i < 1)
		return cli_usage(g, "expected a container ID");
	o.id = argv[i++];
	struct oci_process p;
	memset(&p, 0, sizeof p);
	uint32_t gidv[256];
	if (o.process_file) {
		if (i < argc)
			return cli_usage(g, "give either --process or a command, not both");
		if (tty) {
			o.tty_set = true;
			o.tty = true;
		}
	} else {
		if (i >= argc)
			return cli_usage(g, "expected a command to run (or --process FILE)");
		p.args = argv + i;
		p.nargs = (size_t)(argc - i);
		p.cwd = cwd ? cwd : "/";
		if (p.cwd[0] != '/')
			return cli_usage(g, "--cwd %s: not an absolute path", p.cwd);
		p.terminal = tty;
		p.nnp = nnp;
		if (user) {
			const char *gid = strchr(user, ':');
			char uid[24];
			snprintf(uid, sizeof uid, "%.*s", gid ? (int)(gid - user) : (int)strlen(user), user);
			if (parse_id(uid, &p.uid) || (gid && parse_id(gid + 1, &p.gid)))
				return cli_usage(g, "--user %s: expected UID[:GID], each 0..2147483647", user);
		}
		if (gids.n > (int)(sizeof gidv / sizeof gidv[0]))
			return cli_usage(g, "--additional-gids: at most %zu groups",
					 sizeof gidv / sizeof gidv[0]);
		for (int k = 0; k < gids.n; k++)
			if (parse_id(gids.v[k], &gidv[k]))
				return cli_usage(g, "--additional-gids %s: expected a group id 0..2147483647",
						 gids.v[k]);
		for (int k = 0; k < env.n; k++)
			if (!strchr(env.v[k], '='))
				return cli_usage(g, "--env %s: expected NAME=VALUE", env.v[k]);
		p.gids = gids.n ? gidv : NULL;
		p.ngids = (size_t)gids.n;
		if (env.n) {
			/* PATH first so a user value overrides it (later wins in lookup). */
			static char *base[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
			char **ev = calloc((size_t)env.n + 2, sizeof *ev);
			ev[0] = base[0];
			for (int k = 0; k < env.n; k++)
				ev[k + 1] = (char *)env.v[k];
			p.env = ev;
			p.nenv = (size_t)env.n + 1;
		}
		if (caps.n) {
			p.caps.set = true;
			for (int k = 0; k < caps.n; k++) {
				int c = cap_from_name_str(caps.v[k]);
				if (c < 0)
					return cli_usage(g, "--cap %s: unknown capability", caps.v[k]);
				uint64_t b = 1ULL << c;
				p.caps.bounding |= b;
				p.caps.effective |= b;
				p.caps.permitted |= b;
				p.caps.inheritable |= b;
				p.caps.ambient |= b;
			}
		}
		o.proc = &p;
	}
	if (aa || label)
		log_msg(&g->log, LOG_WARN, "--apparmor/--process-label ignored: not supported");
	struct err e = { 0 };
	int st = 0;
	if (ctr_exec(&g->ctx, &o, &st, &e))
		return cli_fail(g, &e);
	free(o.proc ? p.env : NULL);
	return st;
}
