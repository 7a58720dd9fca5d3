/*
 * A running VM's balloon, as the daemon's memory-pressure loop
 * (mem_pressure.h) sees it: one sample of what the VMM and its guest report
 * (control verbs `status` and `balloon-stats`, docs/control.md), and the
 * verb that sets the balloon's target.  Implemented in vmm_client.c, the
 * one file that speaks the control protocol.
 */
#ifndef NIMBUS_DAEMON_VMM_BALLOON_H
#define NIMBUS_DAEMON_VMM_BALLOON_H

#include <stdbool.h>

#include "daemon/driver.h"

struct vmm_balloon_sample {
	long long ram;          /* guest RAM, bytes */
	long long instret;      /* instructions retired, summed over the vCPUs */
	long long uptime_ms;    /* host time the VM has run */
	int vcpus;
	bool paused;
	long long target;       /* the balloon's target */
	long long actual;       /* what the guest has handed over */
	long long guest_avail;  /* the guest's MemAvailable; -1 when not fresh (paused, no report) */
};

/* -EPROTO with code "no-balloon" in e's message for a VM started without one
 * (before nimbusd gave every VM a balloon). */
int vmm_balloon_sample(const struct driver_ctx *c, const struct instance *in,
		       struct vmm_balloon_sample *out, struct err *e);
int vmm_balloon_set(const struct driver_ctx *c, const struct instance *in, long long bytes,
		    struct err *e);

#endif
