/*
 * Metering (pay as you go): when each instance ran with which reservation,
 * and how big each volume was for how long, kept in SQLite as intervals
 * (milliseconds since the epoch; an open interval has no end), so usage
 * survives daemon restarts and can be asked for any window.  From them:
 * vCPU-seconds and memory GiB-hours per instance (while running) and disk
 * GiB-hours per volume (while it exists), summed per project.
 *
 * Intervals open when an instance starts or a volume is made, and close
 * when it stops (or is found dead: then at the moment the daemon noticed,
 * which over-counts by at most the time the daemon was away) or the volume
 * goes; a resize closes one and opens the next.  Every function expects the
 * service's lock held.
 *
 * Network bytes: an instance's NIC on the host (its TAP, or the host end of
 * its veth, network.h) is made at each start and removed at each stop, so
 * its kernel counters are exactly that interval's traffic.  They are read
 * over rtnetlink when the NIC is removed and whenever usage is asked for
 * (meter_sample_network), and kept with the interval as the guest sees
 * them (what the host end sent, the guest received).  A window that cuts an
 * interval gets its bytes pro rata of the time.
 *
 * Measured CPU time: what the instance's process tree used in the run
 * (cpu_time.h), read every few seconds (the memory-pressure loop), when the
 * NIC is removed and whenever usage is asked for, and kept as the largest
 * reading (a reading after the processes ended finds nothing and changes
 * nothing).  It is reported as cpu_seconds beside the reserved
 * vcpu_seconds; a window that cuts a run gets it pro rata, as bytes.  What
 * a run used after its last reading (at most the loop's period) is lost.
 */
#ifndef NIMBUS_DAEMON_METER_H
#define NIMBUS_DAEMON_METER_H

#include <stddef.h>

#include "daemon/db.h"
#include "daemon/instance.h"

long long meter_now_ms(void);

int meter_instance_start(struct db *db, const struct instance *in, struct err *e);
int meter_instance_stop(struct db *db, const char *name, struct err *e);
/* Reads the counters of the NIC of every instance with an open interval
 * (of name alone, if not NULL) into its interval; an instance without a
 * NIC is skipped. */
void meter_sample_network(struct db *db, const char *name);
/* Reads the CPU time of every running instance with an open interval (of
 * name alone, if not NULL) into its interval. */
void meter_sample_cpu(struct db *db, const char *name);

int meter_volume_open(struct db *db, const char *name, const char *project, long long size,
		      struct err *e);
int meter_volume_close(struct db *db, const char *name, struct err *e);

struct usage_line {
	char name[INSTANCE_NAME_MAX + 1];     /* an instance or volume */
	char project[INSTANCE_NAME_MAX + 1];
	int volume;                           /* 1: a volume's disk line */
	double vcpu_seconds, memory_gib_hours, disk_gib_hours;
	double net_rx_bytes, net_tx_bytes;    /* as the guest sees them */
	double cpu_seconds;                   /* measured (cpu_time.h) */
};

/* The usage in [since_ms, until_ms) of project (NULL: all), one line per
 * instance and volume that has any; owned by the caller. */
int meter_usage(struct db *db, const char *project, long long since_ms, long long until_ms,
		struct usage_line **out, size_t *n, struct err *e);

#endif
