/* See host_load.h.  PSI's format: Documentation/accounting/psi.rst. */
#include "daemon/host_load.h"
#include "daemon/fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[PSI_N] = { "cpu", "memory", "io" };

const char *psi_name(enum psi_res r)
{
	return (unsigned)r < PSI_N ? names[r] : "?";
}

/* One line: "some avg10=X avg60=Y avg300=Z total=N". */
static int psi_line(const char *line, double *avg10, double *avg60)
{
	char *end;
	const char *p = strstr(line, "avg10=");
	const char *q = strstr(line, "avg60=");
	if (!p || !q)
		return -1;
	*avg10 = strtod(p + 6, &end);
	if (end == p + 6)
		return -1;
	*avg60 = strtod(q + 6, &end);
	if (end == q + 6)
		return -1;
	return *avg10 >= 0 && *avg10 <= 100 && *avg60 >= 0 && *avg60 <= 100 ? 0 : -1;
}

int psi_parse(const char *text, struct psi *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	bool some = false;
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		char buf[256];
		snprintf(buf, sizeof buf, "%.*s", (int)strcspn(line, "\n"), line);
		if (!strncmp(buf, "some ", 5)) {
			if (psi_line(buf, &out->some_avg10, &out->some_avg60) < 0)
				break;
			some = true;
		} else if (!strncmp(buf, "full ", 5)) {
			if (psi_line(buf, &out->full_avg10, &out->full_avg60) < 0)
				return err_set(e, -EINVAL, "PSI: cannot read the \"full\" line: %s", buf);
			out->has_full = true;
		}
	}
	return some ? 0 : err_set(e, -EINVAL, "PSI: no \"some avg10=... avg60=...\" line");
}

int loadavg_parse(const char *text, double *one, double *five, struct err *e)
{
	char *end;
	*one = strtod(text, &end);
	if (end == text || *end != ' ')
		return err_set(e, -EINVAL, "loadavg: cannot read \"%.40s\"", text);
	const char *p = end;
	*five = strtod(p, &end);
	if (end == p || *one < 0 || *five < 0)
		return err_set(e, -EINVAL, "loadavg: cannot read \"%.40s\"", text);
	return 0;
}

int host_load_read(struct host_load *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	char buf[512];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		return err_set(e, -EIO, "placement: cannot count the host's CPUs");
	out->cpus = (int)cpus;
	int rc = read_file("/proc/loadavg", buf, sizeof buf);
	if (rc < 0)
		return err_set(e, rc, "placement: /proc/loadavg: %s", strerror(-rc));
	if ((rc = loadavg_parse(buf, &out->loadavg1, &out->loadavg5, e)) < 0)
		return rc;
	/* PSI is optional: every file must read, or the host has none. */
	out->has_psi = true;
	for (int r = 0; r < PSI_N && out->has_psi; r++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/pressure/%s", names[r]);
		out->has_psi = read_file(path, buf, sizeof buf) >= 0 &&
			       psi_parse(buf, &out->psi[r], NULL) == 0;
	}
	if (!out->has_psi)
		memset(out->psi, 0, sizeof out->psi);
	return 0;
}

int host_load_admit(const struct host_load *l, const struct load_limits *lim, struct err *e)
{
	double per_cpu = l->cpus > 0 ? l->loadavg1 / l->cpus : 0;
	if (lim->cpu_load > 0 && per_cpu > lim->cpu_load)
		return err_set(e, -ENOSPC, "this host is too busy: cpu: load average %.2f over the "
			       "last minute on %d CPUs (%.2f per CPU) is above --cpu-load-max %g",
			       l->loadavg1, l->cpus, per_cpu, lim->cpu_load);
	if (lim->vm_cpu > 0 && l->has_vm_cpu && l->cpus > 0 && l->vm_cpus > lim->vm_cpu * l->cpus)
		return err_set(e, -ENOSPC, "this host's VMs are too busy: cpu: its %d running VM%s "
			       "used %.2f of its %d CPUs over the last %.1f s (measured from their "
			       "processes), above --vm-cpu-max %g", l->vms, l->vms == 1 ? "" : "s",
			       l->vm_cpus, l->cpus, l->vm_window_s, lim->vm_cpu);
	if (!l->has_psi)
		return 0;
	const struct psi *c = &l->psi[PSI_CPU], *m = &l->psi[PSI_MEMORY];
	if (lim->psi_cpu > 0 && c->some_avg60 > lim->psi_cpu)
		return err_set(e, -ENOSPC, "this host is too busy: cpu pressure: tasks waited for a "
			       "CPU %.1f%% of the last minute (PSI some avg60), above --psi-cpu-max %g",
			       c->some_avg60, lim->psi_cpu);
	if (lim->psi_memory > 0 && m->has_full && m->full_avg60 > lim->psi_memory)
		return err_set(e, -ENOSPC, "this host is short of memory: memory pressure: every "
			       "task stalled on memory %.1f%% of the last minute (PSI full avg60), "
			       "above --psi-memory-max %g", m->full_avg60, lim->psi_memory);
	return 0;
}
