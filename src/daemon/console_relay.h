/*
 * A VM's console holder (`nimbus console-relay`, one process per VM, as
 * conmon is for a container): it runs the VMM on a pseudo-terminal, keeps
 * the last CONSOLE_LOG_KEEP bytes of its output in the instance's
 * console.log, and serves the terminal on a Unix socket (mode 0600) that
 * `nimbus console` reaches through the daemon: bytes in are typed into the
 * console, the console's output goes to every attached client.  It outlives
 * the daemon, so a console can be re-attached after a daemon restart, and
 * ends when the VMM does, with its exit status (the VMM is killed if the
 * relay is: it is the VM's supervisor).  SIGTERM, SIGINT and SIGHUP
 * are passed to the VMM (which stops cleanly on them).
 *
 * A client that does not keep up loses output rather than holding up the
 * VM.
 */
#ifndef NIMBUS_DAEMON_CONSOLE_RELAY_H
#define NIMBUS_DAEMON_CONSOLE_RELAY_H

#include "lib/err.h"

/* At least this much of the latest output is kept: the log is cut back to
 * it whenever it grows to twice as much. */
#define CONSOLE_LOG_KEEP (1024 * 1024)
#define CONSOLE_CLIENTS_MAX 8

/* Runs argv (a path, then its arguments) under the relay; returns its exit
 * status (128 + signal if killed), or a negative errno with e set if it
 * could not start. */
int console_relay_run(const char *sock_path, const char *log_path, char *const argv[],
		      struct err *e);

#endif
