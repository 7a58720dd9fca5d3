/*
 * nimbus: the command-line entry point.  Dispatches `nimbus GROUP VERB ...`
 * to the verb's file.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus COMMAND [ARGS...]\n"
	"\n"
	"nimbus runs virtual machines (a RISC-V `virt` machine emulated in\n"
	"software) and containers on a Linux host.\n"
	"\n"
	"Commands:\n"
	"  vm run       boot a virtual machine on this terminal\n"
	"  vm control   send a request to a running VM's control socket\n"
	"  daemon       the management daemon (nimbusd); its clients:\n"
	"  launch, list, info, start, stop, restart, pause, resume, delete,\n"
	"  exec, console, logs, config, monitor, image\n"
	"  project      create, list, delete projects and set their quotas\n"
	"  token        create, list and revoke API tokens\n"
	"  network      create, list, delete networks (bridges with DHCP and DNS)\n"
	"  rule         an instance's ingress rules (its security group)\n"
	"  volume       create, attach, snapshot, clone, delete volumes\n"
	"  usage        metered usage per project, instance and volume\n"
	"  placement    the host's room for VMs: capacity, overcommit, measured load\n"
	"  profile      named bundles of cpus, memory, network and disks for launch\n"
	"  snapshot     create, list, restore, delete a VM's snapshots\n"
	"  move         move a running VM live to another daemon\n"
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n"
	"  --version    show the version\n"
	"\n"
	"Run `nimbus COMMAND --help` for a command's options.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} verbs[] = {
	{ "daemon", cmd_daemon },
	{ "launch", cmd_launch },
	{ "list", cmd_list },
	{ "info", cmd_info },
	{ "start", cmd_start },
	{ "stop", cmd_stop },
	{ "delete", cmd_delete },
	{ "logs", cmd_logs },
	{ "restart", cmd_restart },
	{ "exec", cmd_exec },
	{ "pause", cmd_pause },
	{ "resume", cmd_resume },
	{ "monitor", cmd_monitor },
	{ "config", cmd_config },
	{ "image", cmd_image },
	{ "image-import-helper", cmd_image_import_helper },
	{ "console-relay", cmd_console_relay },
	{ "console", cmd_console },
	{ "project", cmd_project },
	{ "token", cmd_token },
	{ "network", cmd_network },
	{ "rule", cmd_rule },
	{ "volume", cmd_volume },
	{ "usage", cmd_usage },
	{ "placement", cmd_placement },
	{ "profile", cmd_profile },
	{ "snapshot", cmd_snapshot },
	{ "move", cmd_move },
};

/* `--token T` (or --token=T) is every daemon verb's option: taken out of
 * argv here, before the verb parses its own, and handed to the client as
 * $NIMBUS_TOKEN.  Arguments after "--" (a command for exec) are left alone.
 * Returns the new argc, or -1 (printed) when T is missing. */
static int take_token_option(int argc, char **argv)
{
	int out = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		const char *t = NULL;
		if (!strcmp(argv[i], "--token")) {
			if (i + 1 >= argc) {
				cli_error("--token: needs a value (a token from `nimbus token create`)");
				return -1;
			}
			t = argv[++i];
		} else if (!strncmp(argv[i], "--token=", 8)) {
			t = argv[i] + 8;
		}
		if (t)
			setenv("NIMBUS_TOKEN", t, 1);
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	if (!strcmp(base ? base + 1 : argv[0], "nimbusd"))
		return cmd_daemon(argc, argv);
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "daemon") && strcmp(argv[1], "vm") &&
	    (argc = take_token_option(argc, argv)) < 0)
		return 2;
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("nimbus %s\n", NIMBUS_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "vm")) {
		if (argc < 3) {
			cli_error("vm: missing verb (try `nimbus vm run --help`)");
			return 2;
		}
		if (!strcmp(argv[2], "run"))
			return cmd_vm_run(argc - 2, argv + 2);
		if (!strcmp(argv[2], "control"))
			return cmd_vm_control(argc - 2, argv + 2);
		cli_error("vm %s: unknown verb (try `nimbus --help`)", argv[2]);
		return 2;
	}
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (!strcmp(cmd, verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	cli_error("%s: unknown command (try `nimbus --help`)", cmd);
	return 2;
}
