/*
 * The host's measured load, for placement (placement.h): besides what VMs
 * reserved, a launch is refused when the host is measurably too busy to
 * give a new guest its share.  Two measures, both the kernel's own
 * averages, so nothing needs sampling:
 *
 *   load average   /proc/loadavg's 1-minute figure per online CPU (tasks
 *                  running or waiting to run); refused above --cpu-load-max;
 *   PSI            /proc/pressure/{cpu,memory,io} (Linux 4.20+, when the
 *                  kernel has CONFIG_PSI and psi is not off at boot): the
 *                  share of the last minute in which some task waited for a
 *                  CPU (cpu "some avg60"), or all tasks stalled on memory
 *                  (memory "full avg60", i.e. thrashing); refused above
 *                  --psi-cpu-max and --psi-memory-max, in percent.
 *
 * A third measure is the VMs' own: the CPU time their processes (VMM,
 * console relay) used over the last round of the memory-pressure loop
 * (mem_pressure.h), summed over the running VMs; refused above
 * --vm-cpu-max, a share of the online CPUs.  Unlike the load average it
 * does not count the host's other work, so a host busy with builds still
 * takes VMs while one whose VMs are CPU-bound does not.
 *
 * A host without PSI (the files missing, or reads refused with EOPNOTSUPP
 * when it is off) is judged by its load average alone, and says so.  Each
 * limit is off at 0.  Parsing and the verdict are pure functions
 * (host_load_test.c); host_load_read only reads the files.
 */
#ifndef NIMBUS_DAEMON_HOST_LOAD_H
#define NIMBUS_DAEMON_HOST_LOAD_H

#include <stdbool.h>

#include "lib/err.h"

/* One /proc/pressure file: percentages; full is absent for cpu on kernels
 * before 5.13 (has_full false). */
struct psi {
	double some_avg10, some_avg60, full_avg10, full_avg60;
	bool has_full;
};

enum psi_res { PSI_CPU, PSI_MEMORY, PSI_IO, PSI_N };

struct host_load {
	int cpus;                  /* online */
	double loadavg1, loadavg5;
	bool has_psi;
	struct psi psi[PSI_N];
	/* The running VMs' measured CPU use (vm_cpu_measure), when known. */
	bool has_vm_cpu;
	double vm_cpus;            /* CPUs' worth used, summed over the VMs */
	int vms;
	double vm_window_s;        /* over how long */
};

/* What the memory-pressure loop last measured of the running VMs' CPU use
 * (placement.h keeps it for the checks, under the service's lock). */
struct vm_cpu_measure {
	bool valid;                /* a round saw the VMs twice */
	double cpus;
	int vms;
	double window_s;
};

/* Limits; 0 is off. */
struct load_limits {
	double cpu_load;           /* 1-minute load average per online CPU */
	double psi_cpu;            /* % of time some task waited for a CPU (avg60) */
	double psi_memory;         /* % of time all tasks stalled on memory (avg60) */
	double vm_cpu;             /* the VMs' measured CPU use, a share (0-1) of the CPUs */
};

/* The default for psi_memory: a host thrashing a fifth of the time takes
 * no new guest.  The CPU limits are off by default: a busy host still
 * shares its CPUs fairly among VMs (cgroup weights), and shared CI hosts
 * are busy all the time. */
#define LOAD_PSI_MEMORY_DEFAULT 20.0

/* "some avg10=1.00 avg60=2.00 avg300=3.00 total=4\nfull ..." into out. */
int psi_parse(const char *text, struct psi *out, struct err *e);
/* "0.52 0.58 0.59 1/467 12345" into the 1- and 5-minute averages. */
int loadavg_parse(const char *text, double *one, double *five, struct err *e);
/* Reads /proc/loadavg, the online CPUs and, where the host has it, PSI. */
int host_load_read(struct host_load *out, struct err *e);
/* 0 when l is within lim; else -ENOSPC with the measure, its value and its
 * limit, worded for a refused launch. */
int host_load_admit(const struct host_load *l, const struct load_limits *lim, struct err *e);
const char *psi_name(enum psi_res r);

#endif
