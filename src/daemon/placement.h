/*
 * Placement: whether this host can take another instance or volume.  The
 * host's capacity (online CPUs, RAM, the storage pool's filesystem) times
 * an overcommit ratio is what may be allocated -- OpenStack's defaults: CPU
 * 16.0, RAM 1.5, disk 1.0 (nimbusd --cpu-ratio, --ram-ratio, --disk-ratio).
 * Allocated is what every VM reserved at launch (running or not, as quotas
 * count) and the sizes of all volumes.  Containers are counted against
 * their project's quotas but not placed: their reservations are not
 * enforced (no cgroup limits from them yet), and a host runs far more of
 * them than 16 per core.  A request that does not fit
 * is refused with -ENOSPC (HTTP 507) naming the resource and the figures.
 * A VM launch is also refused when the host is measurably too busy
 * (host_load.h: its load average per CPU, and CPU and memory pressure
 * where the kernel has PSI), whatever it reserved.
 * Callers hold the service's lock, so two launches cannot both take the
 * last of the host.
 */
#ifndef NIMBUS_DAEMON_PLACEMENT_H
#define NIMBUS_DAEMON_PLACEMENT_H

#include "daemon/db.h"
#include "daemon/host_load.h"
#include "daemon/quota.h"

enum placement_res { PLACE_CPUS, PLACE_MEMORY, PLACE_DISK, PLACE_N };

struct placement {
	double ratio[PLACE_N];     /* 0: the default */
	const char *pool;          /* the storage pool (its filesystem's size is the disk) */
	struct load_limits load;   /* measured limits for CPU and memory requests */
	struct vm_cpu_measure vm_cpu;   /* the running VMs' CPU use, as last measured */
};

/* The host's load as host_load_read reads it, with the VMs' measured CPU
 * use from p. */
int placement_load(const struct placement *p, struct host_load *out, struct err *e);

#define PLACEMENT_CPU_RATIO 16.0
#define PLACEMENT_RAM_RATIO 1.5
#define PLACEMENT_DISK_RATIO 1.0

struct placement_view {
	long long total[PLACE_N];      /* the host's */
	double ratio[PLACE_N];
	long long allocatable[PLACE_N];
	long long allocated[PLACE_N];
};

int placement_view(struct db *db, const struct placement *p, struct placement_view *out,
		   struct err *e);
/* need: QUOTA_CPUS, QUOTA_MEMORY and QUOTA_DISK are looked at; a request
 * for CPUs or memory is also measured against p->load. */
int placement_check(struct db *db, const struct placement *p, const struct quota *need,
		    struct err *e);
const char *placement_name(enum placement_res r);

#endif
