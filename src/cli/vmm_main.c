/*
 * `nimbus`, the lean front: it runs a VMM (`vm run`), its control client
 * (`vm control`) and the daemon's console relay itself, and execs `nimbusd`
 * (the whole of nimbus: daemon, API clients, images; main.c) for every other
 * command, with the same arguments.
 *
 * Why two programs: a VMM process is started per VM (by a user, the daemon,
 * the `fork` verb, --restore and --incoming), and the daemon's libraries
 * (curl, gnutls, krb5, ldap, libarchive with ICU, sqlite, nftables: 48 shared
 * objects) cost every one of them tens of milliseconds of dynamic linking and
 * over a megabyte of private dirty memory it never uses.  This program links
 * only what the VMM needs (libfdt, libcjson, libseccomp), so the start-up and
 * footprint of a VM are the VMM's own (docs/density.md).
 *
 * Invariant: the front and nimbusd accept the same command line; a user
 * never needs to know which of the two ran.  nimbusd is looked for beside
 * this binary (/proc/self/exe, symlinks resolved), as the daemon looks for
 * nimbus-runtime.
 */
#include "cli/cli.h"
#include "lib/tmark.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The full program's path: nimbusd in this binary's directory. */
static int full_program(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -errno;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	int w = snprintf(buf, len, "%s/nimbusd", self);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

int main(int argc, char **argv)
{
	tmark("main");
	const char *base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	/* Run as `nimbusd` (a link to this file), the daemon is wanted. */
	if (strcmp(base, "nimbusd") && argc >= 2) {
		if (!strcmp(argv[1], "vm") && argc >= 3 && !strcmp(argv[2], "run"))
			return cmd_vm_run(argc - 2, argv + 2);
		if (!strcmp(argv[1], "vm") && argc >= 3 && !strcmp(argv[2], "control"))
			return cmd_vm_control(argc - 2, argv + 2);
		if (!strcmp(argv[1], "console-relay"))
			return cmd_console_relay(argc - 1, argv + 1);
	}
	char full[PATH_MAX];
	int rc = full_program(full, sizeof full);
	if (rc == 0) {
		execv(full, argv);
		rc = -errno;
	}
	cli_error("%s: the rest of nimbus is nimbusd, which should be beside this binary: %s",
		  argc >= 2 ? argv[1] : "nimbus", strerror(-rc));
	return 1;
}
