/*
 * A VM's control socket: a Unix stream socket on which the host asks a
 * running VM to do things, one line per request and one line per reply
 * ("ok ..." or "error: ...").  Requests:
 *
 *   balloon SIZE       ask the guest to hold SIZE (e.g. 64M, 0) in its balloon
 *   balloon-stats      "ok target=B actual=B inflated=B reported=B free=B available=B ..."
 *   stop               end the VM (as C-a x)
 *
 * The `nimbus vm control SOCKET REQUEST` verb is its client; the daemon will
 * be another.  The socket file is removed when the VM ends.
 */
#ifndef NIMBUS_VMM_CONTROL_H
#define NIMBUS_VMM_CONTROL_H

#include "lib/err.h"

struct vm;
struct vm_control;

/* Listens on path and serves requests on a thread.  An existing path is
 * refused, unless it is a stale socket (no one listens: a killed VM's),
 * which is replaced. */
int vm_control_start(struct vm *vm, const char *path, struct vm_control **out, struct err *err);
void vm_control_stop(struct vm_control *c);

/* Handles one request line (no newline) into reply; exposed for tests. */
void vm_control_handle(struct vm *vm, const char *request, char *reply, unsigned long len);

#endif
