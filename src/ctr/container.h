/*
 * Container lifecycle (runtime.md "Operations" and "Lifecycle") on top of the
 * pieces in this directory.  Process structure of create/run/exec:
 *
 *   runtime (P) --fork--> C1 --clone(CLONE_PARENT)--> C2 (container init)
 *
 * C1 joins namespaces given by path, creates the user namespace (P writes
 * its id maps), unshares the rest and clones C2 as P's child, so C2 is pid 1
 * of a new pid namespace and P can wait for it (`run`, `exec`).  C2 sets up
 * the rootfs and reports READY over a SOCK_SEQPACKET pair (or an error
 * message, which P prints).  Between `create` and `start` C2 blocks reading
 * the exec fifo in the state directory; `start` writes one byte and removes
 * the fifo.  When P exits, C2 is re-parented to the nearest subreaper
 * (conmon, containerd-shim) as OCI engines expect.
 */
#ifndef NIMBUS_CTR_CONTAINER_H
#define NIMBUS_CTR_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "ctr/cgroup.h"
#include "ctr/config.h"
#include "ctr/log.h"
#include "ctr/state.h"
#include "lib/err.h"

struct ctr_ctx {
	const char *root;          /* state root, default /run/nimbus-runtime */
	const struct ctr_log *log;
	bool systemd_cgroup;
};

struct create_opts {
	const char *id, *bundle, *pid_file, *console_socket;
	bool no_pivot, no_new_keyring;
	int preserve_fds;
	bool run;       /* start right away (the `run` verb) */
	bool detach;    /* run: return once started */
};

struct exec_opts {
	const char *id;
	const char *process_file;          /* --process JSON, or NULL */
	struct oci_process *proc;          /* built from flags when no --process */
	const char *pid_file, *console_socket;
	bool detach;
	int preserve_fds;
	const char *cgroup_sub;            /* --cgroup: a sub-cgroup to join */
	/* Flags that override the --process file (runc does the same). */
	bool tty_set, tty;
};

#define DEFAULT_ROOT "/run/nimbus-runtime"

/* create / run: *exit_status gets the container's status for foreground run. */
int ctr_create(const struct ctr_ctx *x, const struct create_opts *o, int *exit_status,
	       struct err *e);
int ctr_start(const struct ctr_ctx *x, const char *id, struct err *e);
enum ctr_status ctr_status(const struct ctr_ctx *x, const struct ctr_state *s);
int ctr_state_json(const struct ctr_ctx *x, const char *id, char **out, struct err *e);
int ctr_kill(const struct ctr_ctx *x, const char *id, int sig, bool all, struct err *e);
int ctr_delete(const struct ctr_ctx *x, const char *id, bool force, struct err *e);
int ctr_pause(const struct ctr_ctx *x, const char *id, bool pause, struct err *e);
int ctr_exec(const struct ctr_ctx *x, const struct exec_opts *o, int *exit_status,
	     struct err *e);
/* Applies new limits to a running container's cgroup. */
int ctr_update(const struct ctr_ctx *x, const char *id, const struct oci_resources *r,
	       struct err *e);
/* The container's cgroup (host detection + stored path). */
int ctr_cgroup(const struct ctr_state *s, struct cgroup *cg, struct err *e);
/* Waits for pid (a child) forwarding signals; returns the shell-style status. */
int ctr_wait_forward(pid_t pid);

#endif
