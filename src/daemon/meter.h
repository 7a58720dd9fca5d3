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
 */
#ifndef NIMBUS_DAEMON_METER_H
#define NIMBUS_DAEMON_METER_H

#include <stddef.h>

#include "daemon/db.h"
#include "daemon/instance.h"

long long meter_now_ms(void);

int meter_instance_start(struct db *db, const struct instance *in, struct err *e);
int meter_instance_stop(struct db *db, const char *name, struct err *e);
int meter_volume_open(struct db *db, const char *name, const char *project, long long size,
		      struct err *e);
int meter_volume_close(struct db *db, const char *name, struct err *e);

struct usage_line {
	char name[INSTANCE_NAME_MAX + 1];     /* an instance or volume */
	char project[INSTANCE_NAME_MAX + 1];
	int volume;                           /* 1: a volume's disk line */
	double vcpu_seconds, memory_gib_hours, disk_gib_hours;
};

/* The usage in [since_ms, until_ms) of project (NULL: all), one line per
 * instance and volume that has any; owned by the caller. */
int meter_usage(struct db *db, const char *project, long long since_ms, long long until_ms,
		struct usage_line **out, size_t *n, struct err *e);

#endif
