/* See metrics.h. */
#include "daemon/metrics.h"
#include "daemon/meter.h"
#include "lib/cgroup_host.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Upper bounds of the latency buckets, seconds (the last is +Inf). */
static const double bounds[METRICS_LATENCY_BUCKETS - 1] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
							    1, 5 };

void metrics_record(struct http_stats *st, int status, double seconds)
{
	if (status >= 100 && status < 600)
		atomic_fetch_add(&st->by_status[status], 1);
	int b = 0;
	while (b < METRICS_LATENCY_BUCKETS - 1 && seconds > bounds[b])
		b++;
	atomic_fetch_add(&st->latency[b], 1);
	atomic_fetch_add(&st->latency_count, 1);
	atomic_fetch_add(&st->latency_sum_us, (unsigned long long)(seconds * 1e6));
}

struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void put(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = t->oom ? -1 : vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0,
						 fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if (t->p && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 8192) + (size_t)n;
		char *np = realloc(t->p, cap);
		if (!np) {
			t->oom = true;
			return;
		}
		t->p = np;
		t->cap = cap;
	}
}

/* The first child of pid (the VMM under its console relay; a container's
 * init under conmon), or 0. */
static long first_child(long pid)
{
	char path[64], buf[64] = "";
	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long child = fscanf(f, "%63s", buf) == 1 ? atol(buf) : 0;
	fclose(f);
	return child;
}

/* What /metrics says of one instance; -1: unknown. */
struct usage {
	double cpu_s, mem;
	double disk_rd, disk_wr;      /* bytes to and from the host's block devices */
};

void metrics_io_stat_sum(const char *text, double *rd, double *wr)
{
	*rd = *wr = 0;
	/* Only the keys rbytes and wbytes: dbytes (discards) and the like differ
	 * in the letter before "bytes=", and a key starts after a space. */
	for (const char *p = text; (p = strstr(p, "bytes=")); p += 6) {
		if (p - text < 2 || p[-2] != ' ')
			continue;
		if (p[-1] == 'r')
			*rd += atof(p + 6);
		else if (p[-1] == 'w')
			*wr += atof(p + 6);
	}
}

void metrics_blkio_sum(const char *text, double *rd, double *wr)
{
	*rd = *wr = 0;
	for (const char *p = text; p && *p;) {
		char op[8];
		double v;
		if (sscanf(p, "%*s %7s %lf", op, &v) == 2 && !strcmp(op, "Read"))
			*rd += v;
		else if (sscanf(p, "%*s %7s %lf", op, &v) == 2 && !strcmp(op, "Write"))
			*wr += v;
		if ((p = strchr(p, '\n')))
			p++;
	}
}

/* The CPU seconds, memory bytes (v1: cpuacct and memory; v2: the unified
 * one) and disk bytes (v1: blkio; v2: io.stat; what the cgroup read and
 * wrote, its exited processes too) of pid's cgroup. */
static void cgroup_usage(const struct cgroup *host, long pid, struct usage *u)
{
	double *cpu_s = &u->cpu_s, *mem = &u->mem;
	char path[64], line[PATH_MAX + 64];
	snprintf(path, sizeof path, "/proc/%ld/cgroup", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	struct cgroup cg = *host;
	char dir[PATH_MAX + 300], file[PATH_MAX + 400], val[256];
	while (fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		line[strcspn(line, "\n")] = 0;
		c2[1 + strcspn(c2 + 1, "\n")] = 0;
		snprintf(cg.path, sizeof cg.path, "%s", c2 + 1);
		if (!strcmp(cg.path, "/"))
			continue;   /* the root's figures are the host's, not the instance's */
		const char *ctls = c1 + 1;
		if (!*ctls && cg.unified[0]) {   /* the cgroup2 line */
			cg_v2_dir(&cg, dir, sizeof dir);
			snprintf(file, sizeof file, "%s/cpu.stat", dir);
			char *stat = NULL;
			if (*cpu_s < 0 && cg_read_whole(file, &stat) == 0) {
				const char *u = strstr(stat, "usage_usec ");
				if (u)
					*cpu_s = atof(u + 11) / 1e6;
			}
			free(stat);
			snprintf(file, sizeof file, "%s/memory.current", dir);
			if (*mem < 0 && cg_read_small(file, val, sizeof val) == 0)
				*mem = atof(val);
			snprintf(file, sizeof file, "%s/io.stat", dir);
			char *io = NULL;
			if (u->disk_rd < 0 && cg_read_whole(file, &io) == 0)
				metrics_io_stat_sum(io, &u->disk_rd, &u->disk_wr);
			free(io);
			continue;
		}
		if (cg_has_word(ctls, "cpuacct", ',')) {
			cg_v1_dir(&cg, "cpuacct", dir, sizeof dir);
			snprintf(file, sizeof file, "%s/cpuacct.usage", dir);
			if (cg_read_small(file, val, sizeof val) == 0)
				*cpu_s = atof(val) / 1e9;
		}
		if (cg_has_word(ctls, "memory", ',')) {
			cg_v1_dir(&cg, "memory", dir, sizeof dir);
			snprintf(file, sizeof file, "%s/memory.usage_in_bytes", dir);
			if (cg_read_small(file, val, sizeof val) == 0)
				*mem = atof(val);
		}
		if (cg_has_word(ctls, "blkio", ',')) {
			cg_v1_dir(&cg, "blkio", dir, sizeof dir);
			snprintf(file, sizeof file, "%s/blkio.throttle.io_service_bytes_recursive", dir);
			char *io = NULL;
			if (cg_read_whole(file, &io) == 0)
				metrics_blkio_sum(io, &u->disk_rd, &u->disk_wr);
			free(io);
		}
	}
	fclose(f);
}

/* Adds the CPU seconds (all its threads), resident bytes and block I/O
 * bytes (/proc/PID/io's read_bytes and write_bytes: what reached the host's
 * storage, page-cache hits not) of process pid and of its descendants: a
 * VMM's (under its jail's helper), which runs in no cgroup of its own under
 * the daemon.  depth bounds a hostile tree.  u's fields start at 0. */
static void process_usage(long pid, struct usage *u, int depth)
{
	double *cpu_s = &u->cpu_s, *mem = &u->mem;
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')');   /* the command may hold spaces and ')' */
	unsigned long long utime, stime;
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			&utime, &stime) == 2)
		*cpu_s += (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	f = fopen(path, "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			*mem += atof(line + 6) * 1024;
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/io", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "read_bytes:", 11))
			u->disk_rd += atof(line + 11);
		else if (!strncmp(line, "write_bytes:", 12))
			u->disk_wr += atof(line + 12);
	if (f)
		fclose(f);
	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
	f = depth < 8 ? fopen(path, "r") : NULL;
	long child;
	while (f && fscanf(f, "%ld", &child) == 1)
		process_usage(child, u, depth + 1);
	if (f)
		fclose(f);
}

static long self_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb * 1024;
}

static void header(struct text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* From the database (lock held): operations by type and status, and each
 * running instance's NIC bytes (its open metering interval, just sampled). */
static void from_db(struct db *db, struct text *t)
{
	sqlite3_stmt *st;
	header(t, "nimbus_operations", "gauge", "Operations kept (the last 24 h) by type and status");
	if (db_prepare(db, "SELECT type, status, COUNT(*) FROM operations GROUP BY type, status",
		       &st, NULL) == 0) {
		while (sqlite3_step(st) == SQLITE_ROW)
			put(t, "nimbus_operations{type=\"%s\",status=\"%s\"} %lld\n",
			    (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
			    (long long)sqlite3_column_int64(st, 2));
		sqlite3_finalize(st);
	}
	meter_sample_network(db, NULL);
	static const char *const dirs[2][2] = {
		{ "nimbus_instance_network_receive_bytes_total", "net_rx_bytes" },
		{ "nimbus_instance_network_transmit_bytes_total", "net_tx_bytes" } };
	for (int d = 0; d < 2; d++) {
		header(t, dirs[d][0], "counter", d ? "Bytes the instance's NIC sent since its start"
						   : "Bytes the instance's NIC received since its start");
		char sql[200];
		snprintf(sql, sizeof sql, "SELECT instance, project, %s FROM usage_instances WHERE "
			 "end_ms IS NULL", dirs[d][1]);
		if (db_prepare(db, sql, &st, NULL) < 0)
			continue;
		while (sqlite3_step(st) == SQLITE_ROW)
			put(t, "%s{instance=\"%s\",project=\"%s\"} %lld\n", dirs[d][0],
			    (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
			    (long long)sqlite3_column_int64(st, 2));
		sqlite3_finalize(st);
	}
}

int metrics_render(struct service *s, const struct http_stats *hs, char **out, struct err *e)
{
	struct instance *ins = NULL;
	size_t n = 0;
	int rc = service_list(s, &ins, &n, e);
	if (rc < 0)
		return rc;
	struct text t = { 0 };
	struct cgroup host;
	bool cg = cg_detect(&host, NULL) == 0;
	/* Instance names, types and projects are [a-z0-9-]: no label escaping needed. */
	header(&t, "nimbus_instance_up", "gauge", "1 while the instance runs (paused too), else 0");
	for (size_t i = 0; i < n; i++)
		put(&t, "nimbus_instance_up{instance=\"%s\",type=\"%s\",project=\"%s\"} %d\n",
		    ins[i].name, kind_str(ins[i].kind), ins[i].project, ins[i].state == STATE_RUNNING);
	struct usage *use = calloc(n + 1, sizeof *use);
	for (size_t i = 0; use && i < n; i++) {
		struct usage *u = &use[i];
		*u = (struct usage){ -1, -1, -1, -1 };
		long child = ins[i].state == STATE_RUNNING ? first_child(ins[i].pid) : 0;
		if (child && cg && ins[i].kind == KIND_CONTAINER)
			cgroup_usage(&host, child, u);
		if (child && (u->cpu_s < 0 || u->mem < 0 || u->disk_rd < 0)) {
			struct usage p = { 0 };
			process_usage(child, &p, 0);
			u->cpu_s = u->cpu_s < 0 ? p.cpu_s : u->cpu_s;
			u->mem = u->mem < 0 ? p.mem : u->mem;
			if (u->disk_rd < 0) {
				u->disk_rd = p.disk_rd;
				u->disk_wr = p.disk_wr;
			}
		}
	}
	static const struct {
		const char *name, *type, *help;
		bool seconds;                 /* printed to the microsecond, else whole */
		size_t off;
	} figs[] = {
		{ "nimbus_instance_cpu_seconds_total", "counter",
		  "CPU time of the instance: its container's cgroup, or its VMM process", true,
		  offsetof(struct usage, cpu_s) },
		{ "nimbus_instance_memory_bytes", "gauge",
		  "Memory of the instance: in use by its container's cgroup, or its VMM's resident set",
		  false, offsetof(struct usage, mem) },
		{ "nimbus_instance_disk_read_bytes_total", "counter",
		  "Bytes the instance read from the host's block devices (its container's cgroup, or "
		  "its VMM's processes), page-cache hits not counted", false,
		  offsetof(struct usage, disk_rd) },
		{ "nimbus_instance_disk_written_bytes_total", "counter",
		  "Bytes the instance wrote to the host's block devices (its container's cgroup, or "
		  "its VMM's processes)", false, offsetof(struct usage, disk_wr) },
	};
	for (size_t f = 0; f < sizeof figs / sizeof figs[0]; f++) {
		header(&t, figs[f].name, figs[f].type, figs[f].help);
		for (size_t i = 0; use && i < n; i++) {
			double v = *(const double *)((const char *)&use[i] + figs[f].off);
			if (v < 0)
				continue;
			put(&t, "%s{instance=\"%s\",type=\"%s\",project=\"%s\"} ", figs[f].name,
			    ins[i].name, kind_str(ins[i].kind), ins[i].project);
			if (figs[f].seconds)
				put(&t, "%.6f\n", v);
			else
				put(&t, "%.0f\n", v);
		}
	}
	header(&t, "nimbus_instances", "gauge", "Instances by type and status");
	for (int k = 0; k < 2; k++)
		for (int r = 0; r < 2; r++) {
			size_t c = 0;
			for (size_t i = 0; i < n; i++)
				c += (int)ins[i].kind == k && (ins[i].state == STATE_RUNNING) == r;
			put(&t, "nimbus_instances{type=\"%s\",status=\"%s\"} %zu\n",
			    kind_str((enum instance_kind)k), r ? "running" : "stopped", c);
		}
	free(use);
	free(ins);
	struct db *db = service_lock(s);
	from_db(db, &t);
	service_unlock(s);
	header(&t, "nimbus_http_requests_total", "counter", "API requests answered, by status code");
	for (int c = 100; c < 600; c++) {
		unsigned long long v = atomic_load(&hs->by_status[c]);
		if (v)
			put(&t, "nimbus_http_requests_total{code=\"%d\"} %llu\n", c, v);
	}
	header(&t, "nimbus_http_request_duration_seconds", "histogram",
	       "Time from a request's arrival to its answer (upgraded connections: to the 101)");
	unsigned long long cum = 0;
	for (int b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
		cum += atomic_load(&hs->latency[b]);
		if (b < METRICS_LATENCY_BUCKETS - 1)
			put(&t, "nimbus_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[b],
			    cum);
		else
			put(&t, "nimbus_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cum);
	}
	put(&t, "nimbus_http_request_duration_seconds_sum %.6f\n",
	    atomic_load(&hs->latency_sum_us) / 1e6);
	put(&t, "nimbus_http_request_duration_seconds_count %llu\n", atomic_load(&hs->latency_count));
	header(&t, "nimbus_daemon_resident_bytes", "gauge", "The daemon's resident memory");
	put(&t, "nimbus_daemon_resident_bytes %ld\n", self_rss());
	if (t.oom) {
		free(t.p);
		return err_set(e, -ENOMEM, "metrics: out of memory");
	}
	*out = t.p;
	return 0;
}
