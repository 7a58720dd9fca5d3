/*
 * How an instance of one kind is run: the seam between the daemon's
 * lifecycle (service.c) and the processes behind it.  A driver starts the
 * instance's supervisor and reports it as (pid, start time); stops it
 * (cleanly within a timeout, then forcibly); and removes what it left on
 * disk.  Containers: ctr_driver.c (conmon + nimbus-runtime).  VMs:
 * vmm_client.c (`nimbus vm run`).  Liveness is not the driver's business:
 * a running instance is one whose supervisor is alive (proc_alive).
 */
#ifndef NIMBUS_DAEMON_DRIVER_H
#define NIMBUS_DAEMON_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/db.h"
#include "daemon/instance.h"
#include "daemon/watch.h"
#include "lib/err.h"

struct exec_req;
struct exec_client;

struct driver_ctx {
	const char *state_dir;   /* instances live in state_dir/instances/NAME */
	const char *runtime;     /* nimbus-runtime */
	const char *conmon;      /* conmon */
	const char *self_exe;    /* the `nimbus` binary, for `vm run` */
	struct watches *watches; /* the service's watchers (watch.h), or NULL */
	const char *guest_dir;   /* the default guest: the kernel for disk images, or NULL */
	bool mem_merge;          /* VMs' RAM offered to KSM (`nimbus daemon --mem-merge`) */
	/* The VMs' weighted parent cgroup (`vm run --cgroup-parent`), or NULL:
	 * VMs run without groups (`--vm-cgroup-parent none`, or the host has
	 * none we may write; docs/vm-cgroup.md). */
	const char *vm_cgroup_parent;
};

/* What must be ready before an instance's own code runs, waited for as
 * late as the driver can (a container's DHCP leases, network.h: after the
 * runtime made the container, before it starts its process, so the two
 * overlap).  wait NULL: nothing. */
struct start_gate {
	int (*wait)(void *arg, struct err *e);
	void *arg;
};

struct driver {
	/* Starts in (stopped) from im, once gate is open; fills in->pid and
	 * in->pid_start. */
	int (*start)(const struct driver_ctx *c, struct instance *in, const struct image *im,
		     const struct start_gate *gate, struct err *e);
	/* Stops a running in: unless force, asks for a clean stop and waits up to
	 * timeout_s; then kills.  Returns once the supervisor is gone. */
	int (*stop)(const struct driver_ctx *c, const struct instance *in, int timeout_s,
		    bool force, struct err *e);
	/* Makes a stopped instance really stopped: anything a daemon killed in
	 * the middle of a start or stop left running for it (a monitor, a VMM,
	 * a half-created container) is killed and forgotten.  Returns how many
	 * processes it killed, or a negative errno with e set. */
	int (*rollback)(const struct driver_ctx *c, const struct instance *in, struct err *e);
	/* Runs argv in the running instance within timeout_s; its exit status,
	 * with stdout and stderr (merged) in out.  -ENOSYS where not possible. */
	int (*exec)(const struct driver_ctx *c, const struct instance *in, char *const argv[],
		    int timeout_s, char *out, size_t outlen, struct err *e);
	/* Removes the stopped instance's files (and cancels its watcher). */
	int (*remove)(const struct driver_ctx *c, const struct instance *in, struct err *e);
	/* Freezes (pause) or thaws the running instance.  -EALREADY if it is not
	 * running, -ETIMEDOUT if it would not stop. */
	int (*pause)(const struct driver_ctx *c, const struct instance *in, bool pause,
		     struct err *e);
	/* Watches the running instance (re-adopted after a daemon restart;
	 * start does this itself).  Best effort: without a watcher, reads still
	 * find a dead supervisor. */
	void (*watch)(const struct driver_ctx *c, const struct instance *in);
	/* Runs r in the running instance as an interactive session with the
	 * client x (exec_session.h): its input from x, its output to x, on a
	 * terminal if r asks for one.  Returns the command's exit status
	 * (0-255, 128+N after signal N), or a negative errno with e set; the
	 * caller tells the client which. */
	int (*exec_stream)(const struct driver_ctx *c, const struct instance *in,
			   const struct exec_req *r, struct exec_client *x, struct err *e);
};

/* The exec_stream of each (ctr_exec_stream.c, vmm_exec_stream.c). */
int ctr_exec_stream(const struct driver_ctx *c, const struct instance *in,
		    const struct exec_req *r, struct exec_client *x, struct err *e);
int vmm_exec_stream(const struct driver_ctx *c, const struct instance *in,
		    const struct exec_req *r, struct exec_client *x, struct err *e);

/* A running container's terminal to rows x cols (ctr_driver.c: conmon's
 * window-size FIFO); -ENOTTY for one started without a terminal. */
int ctr_console_resize(const struct driver_ctx *c, const struct instance *in, unsigned rows,
		       unsigned cols, struct err *e);

extern const struct driver ctr_driver;
extern const struct driver vmm_driver;

static inline const struct driver *driver_for(enum instance_kind k)
{
	return k == KIND_VM ? &vmm_driver : &ctr_driver;
}

/* Kills, until none is left, every process whose command line names the
 * instance's directory: the monitor, the VMM, a runtime command in flight.
 * Each round calls between(arg) (may be NULL) after the kills.  Returns
 * how many it killed, or -EBUSY (e set) if they keep coming back. */
int instance_kill_all(const struct driver_ctx *c, const char *name,
		      void (*between)(const struct driver_ctx *c, const char *name),
		      struct err *e);

/* state_dir/instances/NAME[/leaf] into buf; -ENAMETOOLONG if it does not fit. */
int instance_path(const struct driver_ctx *c, const char *name, const char *leaf,
		  char *buf, unsigned long len, struct err *e);

#endif
