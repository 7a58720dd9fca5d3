/*
 * Memory overcommit made safe: a thread of the daemon that, every few
 * seconds, reads the host's MemAvailable, samples each running VM (its
 * instructions retired, its balloon, its guest's MemAvailable:
 * vmm_balloon.h), decides with balloon_policy.h which balloons to inflate or
 * let down, and sets them through the VMMs' control sockets.  Every VM the
 * daemon starts has a balloon with free-page reporting (vmm_client.c), so
 * what a guest frees goes back to the host as well.
 *
 * Idle: a VM whose vCPUs retired fewer than `idle_ips` instructions per
 * second each since the last round (a guest waiting in WFI retires almost
 * none); a VM seen for the first time, or paused, is not idle.  Each change
 * is an `instance-balloon` event of the instance's project and a line on
 * the daemon's stderr.  The watermarks default to 5% of the host's RAM (at
 * least 256 MiB) and twice that; `nimbusd --mem-low/--mem-high` set them,
 * which is also how the tests make a host look short.
 */
#ifndef NIMBUS_DAEMON_MEM_PRESSURE_H
#define NIMBUS_DAEMON_MEM_PRESSURE_H

#include <stdbool.h>

#include "daemon/balloon_policy.h"
#include "lib/err.h"

struct mem_pressure_cfg {
	long long low, high;    /* watermarks of the host's MemAvailable; 0: the defaults */
	int interval_ms;        /* between rounds; 0: 2000 */
	long long idle_ips;     /* instructions per second per vCPU; 0: MEM_PRESSURE_IDLE_IPS */
	/* PSI memory "some avg10" (%) at which the host counts as short
	 * (balloon_effective_avail); 0: MEM_PRESSURE_PSI_STALL, < 0: off */
	double psi_stall;
};

#define MEM_PRESSURE_INTERVAL_MS 2000
#define MEM_PRESSURE_IDLE_IPS 10000000LL
#define MEM_PRESSURE_KEEP (32LL << 20)
#define MEM_PRESSURE_FLOOR (64LL << 20)
#define MEM_PRESSURE_PSI_STALL 10.0

/* What the last round saw and did (GET /1.0/placement). */
struct mem_pressure_view {
	long long host_avail;   /* MemAvailable at the last round */
	long long low, high;
	enum balloon_verdict verdict;
	long long ballooned;    /* the running VMs' balloon targets, summed */
	long long unmet;        /* what idle VMs could not give at the last inflation */
	int vms, idle;          /* running VMs sampled, of which idle */
	double psi_some10;      /* PSI memory some avg10 (%), -1: the host has no PSI */
	double psi_stall;       /* the limit; 0: off */
	long long rounds;
};

struct service;
struct driver_ctx;
struct mem_pressure;

/* Starts the thread; the service and ctx must outlive mem_pressure_stop. */
int mem_pressure_start(struct service *s, const struct driver_ctx *ctx,
		       const struct mem_pressure_cfg *cfg, struct mem_pressure **out,
		       struct err *e);
void mem_pressure_stop(struct mem_pressure *p);
void mem_pressure_get(struct mem_pressure *p, struct mem_pressure_view *out);

/* MemAvailable from /proc/meminfo, bytes; -1 if it cannot be read. */
long long mem_host_available(void);

#endif
