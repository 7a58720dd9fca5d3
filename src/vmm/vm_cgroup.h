/*
 * A cgroup per VM (`nimbus vm run --cpu-weight/--cpu-max/--mem-limit/
 * --io-weight`; docs/vm-cgroup.md): the whole VMM process, every thread,
 * in one group whose CPU weight and quota, memory limit and block I/O
 * weight the user chose.
 *
 * Where: on every host kind (lib/cgroup_host.h), each controller goes to
 * its v1 hierarchy when the host has one and to the unified (v2) hierarchy
 * when that has it; a controller the host has nowhere is skipped with a
 * warning, as crun does.  The group is created below the cgroup the launcher
 * is in (so a limit on the caller still covers its VMs), named
 * nimbus-vm-<launcher PID>; in v2, whose non-root groups may not hold both
 * processes and child groups with controllers, it becomes a sibling of the
 * caller's group when the caller's group holds processes.
 *
 * The parent (`--cgroup-parent`, default VM_CGROUP_PARENT): the CPU and
 * block I/O groups go below one group for all VMs at the root of each
 * hierarchy, made on first use with a weight above a task's
 * (VM_CGROUP_PARENT_WEIGHT), as libvirt's machine.slice is: a cap is not a
 * reservation, and VMs competing at the caller's level with every other busy
 * task on the host got far less than their caps (docs/vm-cgroup.md).  The
 * memory group stays below the caller's on v1 and hybrid hosts, where
 * memory has its own hierarchy: a memory limit has no weight to gain, and a
 * limit on the caller (a job's) keeps covering its VMs.  On v2 one group
 * holds every controller, so it goes below the parent.
 *
 * Units are cgroup v2's: CPU weight 1..10000 (default 100), converted for v1
 * as systemd does (cpu.shares = weight * 1024 / 100; blkio.weight =
 * weight * 5, clamped to 10..1000, so that 100 is v1's default 500; BFQ's
 * weight, 1..1000 with default 100, is the weight up to 100 and grows
 * linearly to 1000 at 10000).
 */
#ifndef NIMBUS_VMM_VM_CGROUP_H
#define NIMBUS_VMM_VM_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/cgroup_host.h"
#include "lib/err.h"

struct vm_cgroup_limits {
	unsigned cpu_weight;       /* 1..10000; 0 = not set */
	uint64_t cpu_quota_us;     /* CPU time per period; 0 = not set */
	uint64_t cpu_period_us;    /* 1000..1000000 (default 100000) */
	uint64_t mem_max;          /* bytes; 0 = not set */
	unsigned io_weight;        /* 1..10000; 0 = not set */
	/* The group for all VMs, from each hierarchy's root ("/nimbus-vms");
	 * NULL: the VM's group goes below the caller's. */
	const char *parent;
	/* The parent's CPU and I/O weight, written when the parent is made, or
	 * to an existing one too when parent_weight_given (an explicit
	 * --cgroup-parent-weight): an administrator's own setting stays. */
	unsigned parent_weight;
	bool parent_weight_given;
};

#define VM_CGROUP_PARENT "/nimbus-vms"
#define VM_CGROUP_PARENT_WEIGHT 1000   /* ten tasks' worth: 10240 v1 cpu.shares */
#define VM_CGROUP_PREFIX "nimbus-vm-"  /* + the launcher's PID */

#define VM_CGROUP_MAX_DIRS 4

struct vm_cgroup {
	struct cgroup host;        /* mounts; host.warn lists limits skipped */
	unsigned ndirs;
	char dir[VM_CGROUP_MAX_DIRS][PATH_MAX + 512];    /* the groups made, absolute */
	char back[VM_CGROUP_MAX_DIRS][PATH_MAX + 512];   /* where the launcher was, to return to */
};

/* True if any limit is set (a cgroup is wanted). */
bool vm_cgroup_wanted(const struct vm_cgroup_limits *l);

/*
 * Parses --cpu-max: "max", CPUS ("0.5", "2": that many CPUs' worth per
 * 100 ms period, as docker's --cpus) or QUOTA/PERIOD in microseconds
 * ("50000/100000", cgroup v2's cpu.max).  0 or -EINVAL naming the flag.
 */
int vm_cgroup_parse_cpu_max(const char *s, struct vm_cgroup_limits *l, struct err *err);

/*
 * Makes the group (name: its directory name) and writes the limits.  The
 * caller is not moved.  0, or -errno with err (nothing left behind).
 */
int vm_cgroup_create(struct vm_cgroup *vc, const struct vm_cgroup_limits *l, const char *name,
		     struct err *err);
/* The same from given /proc/self/mountinfo and /proc/self/cgroup texts
 * (the unit tests build a fake hierarchy in a temporary directory). */
int vm_cgroup_create_from(struct vm_cgroup *vc, const struct vm_cgroup_limits *l,
			  const char *name, const char *mountinfo, const char *proc_cgroup,
			  struct err *err);

/*
 * Checks a --cgroup-parent value: an absolute path without "." or ".."
 * components, not the root.  0 or -EINVAL naming the flag.
 */
int vm_cgroup_parse_parent(const char *s, struct err *err);

/*
 * Makes the parent (and writes its weight, as vm_cgroup_create would) in
 * every hierarchy that has the cpu or blkio/io controller, for the daemon to
 * check at its start that VMs can have groups.  0 or -errno with err.
 */
int vm_cgroup_make_parent(const struct vm_cgroup_limits *l, struct err *err);
int vm_cgroup_make_parent_from(const struct vm_cgroup_limits *l, const char *mountinfo,
			       struct err *err);

/*
 * Removes the groups VMMs that died by SIGKILL left behind: every empty
 * VM_CGROUP_PREFIX<PID> group whose PID is not a live process, below the
 * parent (if any) and below the caller's group, in every hierarchy.  A group
 * still holding a process is never removed (rmdir refuses), nor one whose
 * launcher lives (it may be joining it).  Returns how many were removed.
 */
int vm_cgroup_sweep(const char *parent);
int vm_cgroup_sweep_from(const char *parent, const char *mountinfo, const char *proc_cgroup);

/* Moves the calling process (all its threads) into the group. */
int vm_cgroup_enter_self(const struct vm_cgroup *vc, struct err *err);
/* Moves the calling process back where it was (leave_self) and removes the
 * group; a group still holding processes (a VMM that outlived us) stays. */
void vm_cgroup_destroy(struct vm_cgroup *vc, bool leave_self);

#endif
