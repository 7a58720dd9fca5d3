/*
 * Terminals (config.md "process.terminal", runc's console-socket protocol):
 * when the process wants a terminal, the runtime opens a pty master inside
 * the container's /dev/pts, sends it over the AF_UNIX socket named by
 * --console-socket with SCM_RIGHTS, and makes the slave the process's
 * controlling terminal and stdio.
 */
#ifndef NIMBUS_CTR_CONSOLE_H
#define NIMBUS_CTR_CONSOLE_H

#include "lib/err.h"

int console_connect(const char *path, int *fd, struct err *e);
/* In the container process: ptmx, send master, slave → 0,1,2 + ctty. */
int console_setup(int sock, unsigned rows, unsigned cols, struct err *e);
int console_send_fd(int sock, int fd, const char *name);
/* Receives one fd (tests and `nimbus-runtime` helpers). */
int console_recv_fd(int sock, int *fd);

#endif
