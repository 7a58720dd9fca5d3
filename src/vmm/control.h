/*
 * A VM's control socket: the nimbus control protocol, version 1, on a Unix
 * stream socket (docs/control.md is the reference: every request, reply,
 * error and event).  One JSON object per line each way:
 *
 *   -> {"id":1,"verb":"status"}
 *   <- {"id":1,"ok":true,"state":"running","vcpus":1,...}
 *   -> {"id":2,"verb":"balloon","size":"64M"}
 *   <- {"id":2,"ok":false,"error":{"code":"no-balloon","message":"..."}}
 *   -> {"id":3,"verb":"events"}
 *   <- {"id":3,"ok":true}  then  {"event":"paused","time_ns":...,"detail":""} ...
 *
 * The control layer only translates: each verb is one call of the VM API
 * (vm.h).  The socket serves many clients at once from one thread polling
 * non-blocking sockets with bounded buffers; a verb that waits (pause,
 * balloon-stats) runs on a worker thread, so no client, idle, slow or
 * waiting, holds up another.  Only the socket's owner may connect (mode
 * 0600 and the peer's uid, SO_PEERCRED).  `nimbus vm control` is its client.
 * The socket file is removed when the VM ends.
 */
#ifndef NIMBUS_VMM_CONTROL_H
#define NIMBUS_VMM_CONTROL_H

#include "lib/err.h"

struct vm;
struct vm_control;

#define VM_CONTROL_PROTOCOL 1
#define VM_CONTROL_MAX_LINE 4096      /* a request line, newline included */
#define VM_CONTROL_MAX_CLIENTS 32

/* Listens on path and serves requests on a thread.  An existing path is
 * refused, unless it is a stale socket (no one listens: a killed VM's),
 * which is replaced. */
int vm_control_start(struct vm *vm, const char *path, struct vm_control **out, struct err *err);
void vm_control_stop(struct vm_control *c);

/*
 * Handles one request line (no newline) and returns the reply line (no
 * newline; malloc'ed, never NULL unless out of memory).  Any input gets a
 * reply: malformed JSON, a wrong type or an unknown verb is an error reply.
 * `events` is the socket's own (it needs the connection): here it is refused.
 * vm may be NULL (tests of the parser): verbs then fail with "not-running".
 */
char *vm_control_handle(struct vm *vm, const char *request, unsigned long len);

#endif
