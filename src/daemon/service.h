/*
 * The instance lifecycle, one for VMs and containers: create, start, stop,
 * delete, get, list, and the reconciliation that runs when the daemon
 * starts.  This is the daemon's logic without HTTP: the API handlers
 * (routes.c) translate requests into these calls, and tests can call them
 * directly.
 *
 * The truth about whether an instance runs is its supervisor process: the
 * database records (pid, start time), and every read checks that process,
 * so an instance that died (or a daemon that was killed) is noticed and its
 * row corrected.  One lock guards the database; slow work (starting,
 * stopping) runs outside it with the instance marked busy, and another
 * operation on a busy instance is refused (-EBUSY) rather than queued.
 */
#ifndef NIMBUS_DAEMON_SERVICE_H
#define NIMBUS_DAEMON_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/price.h"
#include "daemon/mem_pressure.h"
#include "daemon/host_load.h"
#include "daemon/db.h"
#include "daemon/instance.h"
#include "daemon/request.h"
#include "lib/err.h"

struct service_cfg {
	const char *state_dir;
	const char *guest_dir;     /* the `default` image, or NULL */
	const char *runtime;       /* nimbus-runtime */
	const char *conmon;        /* conmon */
	const char *self_exe;      /* nimbus, for `vm run` */
	const char *dnsmasq;       /* for networks; NULL: /usr/sbin/dnsmasq */
	const char *qemu_img;      /* for volumes; NULL: /usr/bin/qemu-img */
	double ratio[3];           /* overcommit: CPU, RAM, disk; 0: the default (placement.h) */
	struct price_list prices;  /* what usage costs (price.h); none set: no bill */
	struct mem_pressure_cfg pressure;   /* balloon-backed overcommit (mem_pressure.h) */
	struct load_limits load;   /* measured load that refuses a launch (host_load.h) */
	bool mem_merge;            /* every VM started with `vm run --mem-merge` (docs/density.md) */
	/* Every VM in a cgroup of its own below this parent (docs/vm-cgroup.md),
	 * which the service makes at its start with vm_cgroup_weight (1..10000;
	 * 0: VM_CGROUP_PARENT_WEIGHT, and an existing parent keeps its own);
	 * NULL: no cgroups for VMs. */
	const char *vm_cgroup_parent;
	unsigned vm_cgroup_weight;
};

struct service;

/* Opens state_dir (creating it, 0700), its database and images, and
 * reconciles instances with the live processes. */
int service_open(const struct service_cfg *cfg, struct service **out, struct err *e);
void service_close(struct service *s);

/* What the start-up reconciliation did: instances found running
 * (re-adopted), found dead (marked stopped), and half-started ones whose
 * process was killed (rolled back to stopped). */
void service_reconcile_counts(const struct service *s, int *adopted, int *lost,
			      int *rolled_back);
/* Instance operations a killed daemon left in its journal (journal.h):
 * finished, and undone (a launch removed, a start left stopped). */
void service_journal_counts(const struct service *s, int *finished, int *undone);
/* Operations a killed daemon left running, marked failed at this start. */
int service_interrupted_operations(const struct service *s);

int service_create(struct service *s, const struct create_req *r, struct instance *out,
		   struct err *e);
int service_start(struct service *s, const char *name, struct instance *out, struct err *e);
int service_stop(struct service *s, const char *name, const struct stop_req *r,
		 struct instance *out, struct err *e);
/* Stops (as service_stop, if running) and starts again, as one operation. */
int service_restart(struct service *s, const char *name, const struct stop_req *r,
		    struct instance *out, struct err *e);
int service_delete(struct service *s, const char *name, bool force, struct err *e);
int service_get(struct service *s, const char *name, struct instance *out, struct err *e);
int service_list(struct service *s, struct instance **out, size_t *n, struct err *e);
/* Runs r's command in the running instance; its exit status in *status and
 * its output (stdout and stderr merged, at most EXEC_OUTPUT_MAX bytes,
 * valid UTF-8) in *output, owned by the caller. */
#define EXEC_OUTPUT_MAX (1024 * 1024)
int service_exec(struct service *s, const char *name, const struct exec_req *r, int *status,
		 char **output, struct err *e);

/* An interactive exec (api_exec.c): the instance, checked to be running
 * (-EALREADY if not), then r run in it with the client x (driver.h
 * exec_stream): the exit status, or a negative errno with e set. */
struct exec_client;
int service_exec_target(struct service *s, const char *name, struct instance *out,
			struct err *e);
int service_exec_stream(struct service *s, const struct instance *in, const struct exec_req *r,
			struct exec_client *x, struct err *e);

/* The tail of the instance's console log (see logs.h), owned by the caller. */
int service_logs(struct service *s, const char *name, char **out, struct err *e);
int service_images(struct service *s, struct image **out, size_t *n, struct err *e);

/* The database under the service's lock, for the modules with their own
 * tables (projects, tokens); every service_lock is paired with an unlock. */
struct db *service_lock(struct service *s);
void service_unlock(struct service *s);
/* Where networks live and how their dnsmasq runs (network.h). */
const struct net_ctx *service_net(struct service *s);
/* Where volumes live and the qemu-img that makes them (volume.h). */
const struct volume_ctx *service_volumes(struct service *s);
/* How the drivers reach the host (instance directories, the binaries). */
struct driver_ctx;
const struct driver_ctx *service_driver_ctx(struct service *s);
/* The host's capacity and overcommit ratios (placement.h). */
const struct placement *service_placement(struct service *s);
/* The running VMs' CPU use as the memory-pressure loop measured it, for
 * placement (takes the service's lock). */
struct vm_cpu_measure;
void service_vm_cpu_set(struct service *s, const struct vm_cpu_measure *m);
/* The memory-pressure loop (mem_pressure.h). */
struct mem_pressure *service_pressure(struct service *s);
/* The price list the daemon was started with (price.h). */
const struct price_list *service_prices(struct service *s);

/* Freezes (pause) or thaws a running instance: -EALREADY if it is not
 * running or already in that state. */
int service_pause(struct service *s, const char *name, bool pause, struct instance *out,
		  struct err *e);
/* `config set`: records cpus and memory, used from the next start. */
int service_config(struct service *s, const char *name, const struct config_req *r,
		   struct instance *out, struct err *e);

/* Starts importing source (an absolute path on this host) as image name:
 * the operation (operations.h) that does it, in *out. */
struct operation;
int service_image_import(struct service *s, const char *source, const char *name,
			 struct operation *out, struct err *e);
/* Deletes an image no instance uses, and its files once no name has them. */
int service_image_delete(struct service *s, const char *name, struct err *e);
struct operations *service_operations(struct service *s);

/* The Unix socket of the running instance's console: a VM's console relay
 * (a byte stream), or a container's conmon attach socket (*seqpacket set:
 * messages of a stream byte and data). */
int service_console_socket(struct service *s, const char *name, char *path, size_t len,
			   bool *seqpacket, struct err *e);

/* A VM's snapshots (snapshot.h): create (of the running VM) and restore
 * (stop it, start it from the snapshot) run as operations (out); list and
 * delete answer at once.  A container's: -ENOSYS. */
struct snapshot;
int service_snapshot_create(struct service *s, const char *name, const char *snap,
			    struct operation *out, struct err *e);
int service_snapshot_restore(struct service *s, const char *name, const char *snap,
			     struct operation *out, struct err *e);
int service_snapshot_list(struct service *s, const char *name, struct snapshot **out,
			  size_t *n, struct err *e);
int service_snapshot_delete(struct service *s, const char *name, const char *snap,
			    struct err *e);

/* Long jobs kept in files of their own (a migration, migrate.h): claim
 * the instance (as every operation on it does: another is refused with
 * -EBUSY) and read it, refreshed; release it when done.  The service waits
 * for claimed jobs when it closes. */
struct driver_ctx;
int service_job_claim(struct service *s, const char *name, struct instance *out, struct err *e);
void service_job_release(struct service *s, const char *key);
/* Where instances live and how their processes start (driver.h). */
const struct driver_ctx *service_driver(struct service *s);

/* The event bus (events.h) for GET /1.0/events. */
struct events *service_events(struct service *s);
/* Ends the event streams (before the HTTP server stops). */
void service_shutdown(struct service *s);

#endif
