/*
 * GET /metrics: the host's instances and the daemon itself in the
 * Prometheus text exposition format (version 0.0.4), for a Prometheus to
 * scrape (`promtool check metrics` accepts it; tests/exec-profiles).
 *
 * Per instance (labels instance, type, project): whether it runs, its CPU
 * seconds, memory bytes and disk bytes read and written (a container's
 * cgroup; a VM's VMM process, which has no cgroup of its own under the
 * daemon), and its NIC's bytes as the guest sees them (meter.h).  The daemon: HTTP
 * requests by status code and their latency (a histogram), operations by
 * type and status, instances by type and status, and its resident memory.
 *
 * The request figures are counted by the HTTP server (http.c) into a
 * struct http_stats of its own: atomics, so counting takes no lock.
 */
#ifndef NIMBUS_DAEMON_METRICS_H
#define NIMBUS_DAEMON_METRICS_H

#include <stdatomic.h>

#include "daemon/service.h"
#include "lib/err.h"

#define METRICS_LATENCY_BUCKETS 9

struct http_stats {
	atomic_ullong by_status[600];          /* requests answered with each status */
	atomic_ullong latency[METRICS_LATENCY_BUCKETS];   /* at most each bucket's bound */
	atomic_ullong latency_count;
	atomic_ullong latency_sum_us;
};

/* One request answered with status after seconds. */
void metrics_record(struct http_stats *st, int status, double seconds);

/* A cgroup's disk bytes read and written, from the text of cgroup2's
 * io.stat ("MAJ:MIN rbytes=N wbytes=N ...", a line per device) or of cgroup
 * v1's blkio.throttle.io_service_bytes ("MAJ:MIN Read N" ..., "Total N"). */
void metrics_io_stat_sum(const char *text, double *rd, double *wr);
void metrics_blkio_sum(const char *text, double *rd, double *wr);

/* The exposition text into *out (malloc'ed, NUL-terminated). */
int metrics_render(struct service *s, const struct http_stats *st, char **out, struct err *e);

#endif
