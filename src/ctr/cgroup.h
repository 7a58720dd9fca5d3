/*
 * Control groups for containers on every kind of host:
 *   - v1:      controllers mounted one (or a few) per hierarchy under
 *              /sys/fs/cgroup/NAME, no cgroup2 mount;
 *   - hybrid:  v1 controllers plus a cgroup2 mount (usually
 *              /sys/fs/cgroup/unified) holding whatever controllers v1 does
 *              not (often none, on some hosts hugetlb);
 *   - v2:      one cgroup2 hierarchy at /sys/fs/cgroup.
 * cg_detect() reads /proc/self/mountinfo, so nothing is assumed about where
 * things are mounted.  A container's cgroup is the same relative path in each
 * hierarchy; limits go to v1 controllers when the host has them and to the
 * unified hierarchy otherwise (per controller: a hybrid host's hugetlb).
 * Spec: config-linux.md "Control groups"; kernel Documentation/admin-guide/cgroup-v1 and cgroup-v2.rst.
 */
#ifndef NIMBUS_CTR_CGROUP_H
#define NIMBUS_CTR_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctr/config.h"
#include "lib/cgroup_host.h"
#include "lib/err.h"

/* linux.cgroupsPath (maybe NULL) to a path below each hierarchy root.
 * systemd: "slice:prefix:name" → "/slice/prefix-name.scope" (slices
 * expanded as systemd does: a-b.slice → /a.slice/a-b.slice). */
int cg_resolve_path(const char *cgroups_path, const char *id, bool systemd, char *out,
		    size_t n, struct err *e);

/* Creates the cgroup in every hierarchy and applies the limits; on error
 * removes what it made.  Fails with -EEXIST if the leaf has processes. */
int cg_create(struct cgroup *cg, const struct oci_resources *r, struct err *e);
/* Moves pid into the cgroup everywhere it was created (but the unified
 * hierarchy when skip_unified: the process was cloned into it). */
int cg_enter(const struct cgroup *cg, pid_t pid, bool skip_unified, struct err *e);
/* Writes pids.max (limit < 0: "max") where the pids controller is. */
int cg_set_pids_limit(const struct cgroup *cg, int64_t limit, struct err *e);
/* Kills what is left (SIGKILL), thaws, waits, and removes the cgroup. */
int cg_destroy(const struct cgroup *cg, struct err *e);
int cg_freeze(const struct cgroup *cg, bool freeze, struct err *e);
int cg_is_frozen(const struct cgroup *cg);   /* 1, 0 or -errno */
/* Pids in the cgroup (malloc'd array). */
int cg_pids(const struct cgroup *cg, pid_t **out, size_t *n);
int cg_kill_all(const struct cgroup *cg, int sig);
/* OOM kills seen so far (memory.oom_control / memory.events oom_kill). */
int cg_oom_kills(const struct cgroup *cg, uint64_t *n);
/* Memory usage and pids count, for `events --stats`. */
int cg_stats(const struct cgroup *cg, uint64_t *mem_usage, uint64_t *mem_limit, uint64_t *pids,
	     uint64_t *cpu_ns);
bool cg_exists(const struct cgroup *cg);

/* v1 and v2 halves (cgroup_v1.c / cgroup_v2.c).  A limit whose knob the
 * host's kernel does not have (v1 kernel/kernelTCP memory, blkio leaf
 * weights, a hugepage size the host lacks, or any of them on v2) is skipped
 * and noted in cg->warn; a knob that exists but refuses the value fails. */
int cg1_apply(struct cgroup *cg, const struct oci_resources *r, struct err *e);
int cg2_apply(const char *dir, const struct oci_resources *r, bool only_missing_v1,
	      struct cgroup *cg, struct err *e);
/* Appends "WHAT ignored: WHY" to cg->warn. */
void cg_note_ignored(struct cgroup *cg, const char *what, const char *why);
/* True if the host has hugepages of this size ("2MB", "1GB", "64KB"):
 * /sys/kernel/mm/hugepages/hugepages-<kB>kB exists. */
bool cg_host_has_hugepages(const char *size);
/* True if DIR/FILE exists (a knob this kernel has). */
bool cg_knob_exists(const char *dir, const char *file);
/* linux.resources.devices in order to devices.allow/devices.deny (v1). */
int cg1_devices(struct cgroup *cg, const struct oci_resources *r, struct err *e);
/* Device rules where the host keeps them (v1 devices or the v2 eBPF
 * program).  create applies them after the rootfs is populated, as runc
 * does: the rules govern mknod too, and linux.devices must be made. */
int cg_apply_devices(struct cgroup *cg, const struct oci_resources *r, struct err *e);
/* linux.resources.devices as an eBPF device program on a v2 cgroup. */
int cg2_devices(const char *dir, const struct oci_resources *r, struct err *e);
int cg2_enable_controllers(const struct cgroup *cg, struct err *e);
/* OCI cpu.shares (2..262144) to cgroup2 cpu.weight (1..10000). */
uint64_t cg2_shares_to_weight(uint64_t shares);
/* blkio weight (10..1000) to io.weight (1..10000). */
uint64_t cg2_blkio_to_io_weight(uint64_t w);

#endif
